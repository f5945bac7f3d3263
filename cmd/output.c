/* Per-experiment lines and the closing summary of a copy (the live
 * progress is cmd/progress.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/json.h"

void report_init(struct copy_report *r, const char *verb, int json, int quiet)
{
    memset(r, 0, sizeof(*r));
    r->verb = verb;
    r->json = json;
    r->quiet = quiet;
    r->tty = !json && !quiet && isatty(2);
    /* a dumb terminal gets one line rewritten with \r, no cursor moves */
    const char *term = getenv("TERM");
    r->dumb = r->tty && (!term || !strcmp(term, "dumb"));
    r->dry_run = 0;
    pthread_mutex_init(&r->lock, NULL);
    r->started = now_seconds();
}

/* A kept failure line's kind, from its first byte (report_experiment marks
 * partial and interrupted ones), and its text after the mark. */
static const char *failure_kind(const char *line, const char **text)
{
    *text = line + (line[0] == '\x01' || line[0] == '\x02');
    return line[0] == '\x01' ? "partial" : line[0] == '\x02' ? "interrupted" : "failed";
}

void report_experiment(void *payload, const struct xp_exp_result *res)
{
    struct copy_report *r = payload;
    struct xp_buf line = XP_BUF_INIT;
    pthread_mutex_lock(&r->lock);
    int named = res->outcome == XP_EXP_FAILED || res->outcome == XP_EXP_PARTIAL ||
                res->outcome == XP_EXP_INTERRUPTED;
    if (named) {
        /* named again at the end, marked by their kind (see failure_kind) */
        xp_buf_printf(&line, "%s%s/%s/%s: %s",
                      res->outcome == XP_EXP_PARTIAL       ? "\x01"
                      : res->outcome == XP_EXP_INTERRUPTED ? "\x02"
                                                           : "",
                      res->workspace, res->project, res->name,
                      res->outcome == XP_EXP_INTERRUPTED
                          ? "cut short, not written (--resume finishes it)"
                      : res->message ? res->message
                                     : "failed");
        r->failures = xp_realloc(r->failures, (r->nfailures + 1) * sizeof(char *));
        r->failures[r->nfailures++] = xp_strdup(line.ptr);
        xp_buf_reset(&line);
    }
    if (r->json) {
        /* one JSON object per experiment, then the summary object */
        const char *oc = res->outcome == XP_EXP_COPIED    ? "copied"
                         : res->outcome == XP_EXP_SKIPPED ? "skipped"
                         : res->outcome == XP_EXP_PLANNED ? "planned"
                         : res->outcome == XP_EXP_DELETED ? "deleted"
                         : res->outcome == XP_EXP_PARTIAL ? "partial"
                         : res->outcome == XP_EXP_INTERRUPTED ? "interrupted"
                                                          : "failed";
        xp_buf_puts(&line, "{\"experiment\":{\"workspace\":");
        xp_json_put_str(&line, res->workspace, strlen(res->workspace), NULL);
        xp_buf_puts(&line, ",\"project\":");
        xp_json_put_str(&line, res->project, strlen(res->project), NULL);
        xp_buf_puts(&line, ",\"name\":");
        xp_json_put_str(&line, res->name, strlen(res->name), NULL);
        xp_buf_printf(&line, "},\"outcome\":\"%s\",\"series\":%" PRId64
                      ",\"points\":%" PRId64 ",\"logs\":%" PRId64
                      ",\"files\":%" PRId64 ",\"bytes\":%" PRId64,
                      oc, res->series, res->points, res->logs, res->files,
                      res->bytes);
        if (res->items_resumed)
            xp_buf_printf(&line, ",\"itemsResumed\":%" PRId64, res->items_resumed);
        if (res->note) {
            xp_buf_puts(&line, ",\"note\":");
            xp_json_put_str(&line, res->note, strlen(res->note), NULL);
        }
        if (res->message) {
            xp_buf_puts(&line, ",\"error\":");
            xp_json_put_str(&line, res->message, strlen(res->message), NULL);
        }
        xp_buf_puts(&line, "}\n");
        fputs(line.ptr, stdout);
    } else if (!r->quiet && !named) {
        progress_clear(r);
        const char *oc = res->outcome == XP_EXP_COPIED && !res->note ? r->verb
                         : res->outcome == XP_EXP_DELETED
                             ? (r->dry_run ? "would delete" : "deleted")
                         : res->note                      ? res->note
                         : res->outcome == XP_EXP_SKIPPED ? "exists, skipped"
                                                          : "would copy";
        fprintf(stderr, "%s/%s/%s: %s (%" PRId64 " series, %" PRId64
                " points, %" PRId64 " log lines, %" PRId64 " files)\n",
                res->workspace, res->project, res->name, oc, res->series,
                res->points, res->logs, res->files);
        if (res->items_resumed)
            fprintf(stderr, "  (%" PRId64 " items kept from the interrupted attempt)\n",
                    res->items_resumed);
    }
    pthread_mutex_unlock(&r->lock);
    xp_buf_release(&line);
}

int report_finish(struct copy_report *r, int rc, const struct xp_copy_stats *st,
                  int dry_run)
{
    double secs = now_seconds() - r->started;
    int code;
    if (rc == 0)
        code = XP_EXIT_OK;
    else if (rc == XP_ECANCEL)
        code = cmd_interrupted_exit();
    else if (rc == XP_EAUTH)
        code = XP_EXIT_AUTH;
    else if (st->partial || (st->failed && (st->copied || st->skipped)))
        code = XP_EXIT_PARTIAL;
    else
        code = XP_EXIT_ERROR;
    char b[32];
    human_bytes(b, sizeof(b), st->bytes);
    if (r->json) {
        struct xp_buf o = XP_BUF_INIT;
        xp_buf_printf(&o, "{\"summary\":{\"ok\":%s,\"exit\":%d,\"dryRun\":%s,"
                      "\"experiments\":%" PRId64 ",\"copied\":%" PRId64
                      ",\"skipped\":%" PRId64 ",\"partial\":%" PRId64
                      ",\"failed\":%" PRId64 ",\"unfinished\":%" PRId64
                      ",\"series\":%" PRId64 ",\"points\":%" PRId64
                      ",\"logs\":%" PRId64 ",\"files\":%" PRId64
                      ",\"bytes\":%" PRId64 ",\"deleted\":%" PRId64
                      ",\"seconds\":%.3f",
                      code ? "false" : "true", code, dry_run ? "true" : "false",
                      st->experiments_listed, st->copied, st->skipped, st->partial,
                      st->failed, st->interrupted,
                      st->series, st->points, st->logs, st->files, st->bytes,
                      st->deleted, secs);
        if (r->shard_n)
            xp_buf_printf(&o, ",\"shard\":{\"k\":%d,\"n\":%d,\"listed\":%" PRId64
                          ",\"listedAll\":%" PRId64 "}",
                          r->shard_k, r->shard_n, st->experiments_listed, st->listed_all);
        xp_buf_puts(&o, ",\"failures\":[");
        for (size_t i = 0; i < r->nfailures; i++) {
            if (i)
                xp_buf_putc(&o, ',');
            const char *f;
            failure_kind(r->failures[i], &f);
            xp_json_put_str(&o, f, strlen(f), NULL);
        }
        xp_buf_puts(&o, "]");
        if (rc == XP_ECANCEL)
            xp_buf_puts(&o, ",\"interrupted\":true");
        if (rc && (rc == XP_ECANCEL || (!st->failed && !st->partial))) {
            xp_buf_puts(&o, ",\"error\":");
            const char *m = xp_error_last()->message;
            xp_json_put_str(&o, m, strlen(m), NULL);
        }
        xp_buf_puts(&o, "}}\n");
        fputs(o.ptr, stdout);
        xp_buf_release(&o);
    } else {
        FILE *f = stdout;
        fprintf(f, "%s%s\n", dry_run ? "dry run: nothing was written\n" : "",
                "summary:");
        if (r->shard_n)
            fprintf(f, "  shard %d/%d: %" PRId64 " of %" PRId64 " listed experiments\n",
                    r->shard_k, r->shard_n, st->experiments_listed, st->listed_all);
        char partial[48] = "", cut[48] = "";
        if (st->partial)
            snprintf(partial, sizeof(partial), ", %" PRId64 " partial", st->partial);
        if (st->interrupted)
            snprintf(cut, sizeof(cut), ", %" PRId64 " interrupted", st->interrupted);
        fprintf(f, "  experiments  %" PRId64 " %s, %" PRId64 " skipped%s, %" PRId64
                " failed%s (of %" PRId64 ")\n",
                dry_run ? st->experiments_done - st->failed - st->interrupted : st->copied,
                dry_run ? "to copy" : r->verb, st->skipped, partial, st->failed, cut,
                st->experiments_listed);
        fprintf(f, "  metrics      %" PRId64 " series, %" PRId64 " points\n",
                st->series, st->points);
        fprintf(f, "  logs         %" PRId64 " lines\n", st->logs);
        fprintf(f, "  files        %" PRId64 " (%s)\n", st->files, b);
        if (st->deleted)
            fprintf(f, "  deleted      %" PRId64 " experiment(s)%s\n", st->deleted,
                    dry_run ? " would be" : "");
        fprintf(f, "  time         %.2f s\n", secs);
        for (size_t i = 0; i < r->nfailures; i++) {
            const char *text, *kind = failure_kind(r->failures[i], &text);
            fprintf(stderr, "%s: %s\n", kind, text);
        }
        if (rc == XP_ECANCEL) /* however many experiments it cut short */
            fprintf(stderr, "error: interrupted by %s: rerun the same command with "
                            "--resume to finish\n",
                    code == XP_EXIT_TERMINATED ? "SIGTERM" : "SIGINT");
        else if (rc && !st->failed && !st->partial)
            print_error(rc);
    }
    for (size_t i = 0; i < r->nfailures; i++)
        free(r->failures[i]);
    free(r->failures);
    pthread_mutex_destroy(&r->lock);
    return code;
}
