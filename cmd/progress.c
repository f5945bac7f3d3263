/* The live progress of a copy: a line of totals with rates and an ETA,
 * and under it one line per experiment in flight, redrawn in place on a
 * terminal (rclone --progress); plain lines every 10 s when stderr is not
 * a terminal or TERM=dumb; {"progress": ...} objects every second with
 * --json. Rates are over the last WINDOW seconds; the ETA is "?" unless the
 * readers or the experiment count say how far the run is. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "xport/buf.h"
#include "xport/json.h"

void human_bytes(char *out, size_t n, int64_t b)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    snprintf(out, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

#define WINDOW 5.0        /* seconds of samples behind a rate */
#define PLAIN_EVERY 10.0  /* seconds between plain progress lines */
#define JSON_EVERY 1.0    /* seconds between --json progress objects */

static void human_count(char *out, size_t n, int64_t v)
{
    /* 1234567 -> "1,234,567": counts are read at a glance */
    char d[32];
    int len = snprintf(d, sizeof(d), "%" PRId64, v < 0 ? -v : v), o = 0;
    if (v < 0 && o < (int)n - 1)
        out[o++] = '-';
    for (int i = 0; i < len && o < (int)n - 1; i++) {
        out[o++] = d[i];
        if ((len - i - 1) % 3 == 0 && i != len - 1 && o < (int)n - 1)
            out[o++] = ',';
    }
    out[o] = '\0';
}

static void human_secs(char *out, size_t n, double s)
{
    if (s < 0) {
        snprintf(out, n, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(out, n, "%lds", t);
}

/* How far the whole run is, 0..1, or -1 when nothing says: from the
 * readers of the experiments in flight when each of them can tell, else
 * from finished experiments alone once one has finished. */
static double run_fraction(const struct xp_copy_stats *st)
{
    if (st->experiments_listed <= 0)
        return -1;
    double f = (double)st->experiments_done;
    int all_known = st->nactive <= XP_COPY_ACTIVE_MAX;
    for (int i = 0; i < st->nactive && i < XP_COPY_ACTIVE_MAX; i++) {
        const struct xp_copy_active *a = &st->active[i];
        /* all read is not all written: past the end of its reading an
         * experiment's remaining work is not known */
        if (a->total > 0 && a->done < a->total)
            f += (double)a->done / (double)a->total;
        else
            all_known = 0;
    }
    if (!all_known) {
        if (!st->experiments_done || st->experiments_listed < 2)
            return -1;
        f = (double)st->experiments_done;
    }
    return f / (double)st->experiments_listed;
}

/* Remember this moment; *old becomes the oldest sample within WINDOW. */
static const struct progress_sample *sample(struct progress_view *v, double now,
                                            const struct xp_copy_stats *st)
{
    struct progress_sample s = {now, st->points, st->bytes, run_fraction(st)};
    v->ring[v->head] = s;
    v->head = (v->head + 1) % PROGRESS_SAMPLES;
    if (v->n < PROGRESS_SAMPLES)
        v->n++;
    const struct progress_sample *old = NULL;
    for (int i = 0; i < v->n; i++) {
        const struct progress_sample *c = &v->ring[i];
        if (now - c->t <= WINDOW && (!old || c->t < old->t))
            old = c;
    }
    return old;
}

/* The totals line: counts, rates and ETA. */
static void totals_line(struct xp_buf *b, const struct copy_report *r,
                        const struct xp_copy_stats *st, const struct progress_sample *old,
                        double now, double frac)
{
    char pts[32], rate[48] = "", by[32], brate[48] = "", eta[32] = "?";
    human_count(pts, sizeof(pts), st->points);
    human_bytes(by, sizeof(by), st->bytes);
    double dt = old ? now - old->t : 0;
    if (dt >= 0.5) {
        char n[32];
        human_count(n, sizeof(n), (int64_t)((double)(st->points - old->points) / dt));
        snprintf(rate, sizeof(rate), " (%s/s)", n);
        char bb[32];
        human_bytes(bb, sizeof(bb), (int64_t)((double)(st->bytes - old->bytes) / dt));
        snprintf(brate, sizeof(brate), ", %s/s", bb);
        if (frac >= 0 && old->fraction >= 0 && frac > old->fraction)
            human_secs(eta, sizeof(eta), (1.0 - frac) * dt / (frac - old->fraction));
    }
    xp_buf_printf(b, "%s %" PRId64 "/%" PRId64 " experiments, %s points%s, %" PRId64
                  " log lines, %" PRId64 " files (%s%s)", r->verb, st->experiments_done,
                  st->experiments_listed, pts, rate, st->logs, st->files, by, brate);
    if (frac >= 0)
        xp_buf_printf(b, ", %.0f%%", frac * 100.0);
    xp_buf_printf(b, ", ETA %s", eta);
}

static void active_line(struct xp_buf *b, const struct xp_copy_active *a)
{
    char pts[32];
    human_count(pts, sizeof(pts), a->points);
    xp_buf_printf(b, "  %s/%s/%s: %" PRId64 " series, %s points, %" PRId64 " files",
                  a->workspace, a->project, a->name, a->series, pts, a->files);
    if (a->total > 0)
        xp_buf_printf(b, ", %.0f%% read", 100.0 * (double)a->done / (double)a->total);
}

/* Erase what the last redraw left on the terminal (caller holds the lock). */
void progress_clear(struct copy_report *r)
{
    if (!r->tty || !r->view.drawn)
        return;
    if (r->view.drawn > 1)
        fprintf(stderr, "\033[%dA", r->view.drawn - 1);
    fputs("\r\033[J", stderr);
    r->view.drawn = 0;
}

static void draw_tty(struct copy_report *r, const struct xp_copy_stats *st,
                     const char *totals, int final)
{
    struct xp_buf b = XP_BUF_INIT;
    progress_clear(r);
    xp_buf_puts(&b, totals);
    int lines = 1;
    for (int i = 0; !final && !r->dumb && i < st->nactive && i < XP_COPY_ACTIVE_MAX; i++) {
        xp_buf_putc(&b, '\n');
        active_line(&b, &st->active[i]);
        lines++;
    }
    if (!final && st->nactive > XP_COPY_ACTIVE_MAX && !r->dumb) {
        xp_buf_printf(&b, "\n  ... and %d more", st->nactive - XP_COPY_ACTIVE_MAX);
        lines++;
    }
    if (r->dumb) /* no cursor movement: one line, rewritten with \r */
        fprintf(stderr, "\r%s%s", b.ptr, final ? "\n" : "");
    else
        fprintf(stderr, "%s%s", b.ptr, final ? "\n" : "");
    r->view.drawn = final || r->dumb ? 0 : lines;
    fflush(stderr);
    xp_buf_release(&b);
}

static void emit_json(const struct xp_copy_stats *st, double frac)
{
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "{\"progress\":{\"experiments\":%" PRId64 ",\"done\":%" PRId64
                  ",\"series\":%" PRId64 ",\"points\":%" PRId64 ",\"logs\":%" PRId64
                  ",\"files\":%" PRId64 ",\"bytes\":%" PRId64,
                  st->experiments_listed, st->experiments_done, st->series, st->points,
                  st->logs, st->files, st->bytes);
    if (frac >= 0)
        xp_buf_printf(&b, ",\"fraction\":%.4f", frac);
    xp_buf_puts(&b, ",\"active\":[");
    for (int i = 0; i < st->nactive && i < XP_COPY_ACTIVE_MAX; i++) {
        const struct xp_copy_active *a = &st->active[i];
        xp_buf_puts(&b, i ? ",{\"workspace\":" : "{\"workspace\":");
        xp_json_put_str(&b, a->workspace, strlen(a->workspace), NULL);
        xp_buf_puts(&b, ",\"project\":");
        xp_json_put_str(&b, a->project, strlen(a->project), NULL);
        xp_buf_puts(&b, ",\"name\":");
        xp_json_put_str(&b, a->name, strlen(a->name), NULL);
        xp_buf_printf(&b, ",\"series\":%" PRId64 ",\"points\":%" PRId64 ",\"files\":%" PRId64
                      ",\"bytes\":%" PRId64, a->series, a->points, a->files, a->bytes);
        if (a->total > 0)
            xp_buf_printf(&b, ",\"read\":%" PRId64 ",\"readTotal\":%" PRId64, a->done,
                          a->total);
        xp_buf_putc(&b, '}');
    }
    xp_buf_puts(&b, "]}}\n");
    fputs(b.ptr, stdout);
    fflush(stdout);
    xp_buf_release(&b);
}

void report_progress(void *payload, const struct xp_copy_stats *st, int final)
{
    struct copy_report *r = payload;
    job_progress(st, final);
    if (r->quiet && !r->json)
        return;
    double now = now_seconds();
    pthread_mutex_lock(&r->lock);
    const struct progress_sample *old = sample(&r->view, now, st);
    double frac = run_fraction(st);
    if (r->json) {
        if (!final && now - r->view.last_json >= JSON_EVERY) {
            r->view.last_json = now;
            emit_json(st, frac);
        }
    } else {
        struct xp_buf t = XP_BUF_INIT;
        totals_line(&t, r, st, old, now, frac);
        if (r->tty) {
            draw_tty(r, st, t.ptr, final);
        } else if (!final && now - r->view.last_plain >= PLAIN_EVERY &&
                   now - r->started >= PLAIN_EVERY) {
            r->view.last_plain = now;
            fprintf(stderr, "progress: %s\n", t.ptr);
        }
        xp_buf_release(&t);
    }
    pthread_mutex_unlock(&r->lock);
}
