/* Reads every record of every run under PATH through the wandb-offline
 * adapter (what a download does, without a sink) and prints the history
 * rows per second and the peak resident set size. With --digest it also
 * prints a SHA-256 of everything read (series, every field of every point
 * to the bit, logs, documents), so that a change to the reader can be
 * checked against the one before on the same input. It also prints each
 * thread's CPU time (the reader's own and the prefetch thread's), sampled
 * from /proc every 10 ms since the threads are gone by the end, to show how
 * the work is balanced, and how much of it opening the run took (the
 * offline reader decodes the whole log then, its records come after).
 * usage: xport-bench-wandb-read [--digest] PATH */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/hash.h"
#include "xport/location.h"
#include "xport/sys/adapter.h"

#define MAXTHREADS 16

struct cpu_watch;

struct refs {
    struct xp_adapter *a;
    long long records, points, series, rows;
    int rc;
    struct cpu_watch *cw;
    double open_secs;
    long open_ticks[MAXTHREADS]; /* each thread's CPU once the last run was open */
    struct xp_sha256 *digest; /* NULL: timing only */
};

static void h_bytes(struct xp_sha256 *c, const void *p, size_t n)
{
    uint64_t len = n;
    xp_sha256_update(c, &len, sizeof(len));
    xp_sha256_update(c, p, n);
}

static void h_str(struct xp_sha256 *c, const char *s)
{
    h_bytes(c, s ? s : "\x01(null)", s ? strlen(s) : 7);
}

static void h_json(struct xp_sha256 *c, struct json_object *o)
{
    h_str(c, o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE)
               : NULL);
}

static void h_value(struct xp_sha256 *c, const struct xp_value *v)
{
    unsigned char t = (unsigned char)v->type;
    xp_sha256_update(c, &t, 1);
    switch (v->type) {
    case XP_V_NULL: break;
    case XP_V_BOOL: t = v->u.b != 0; xp_sha256_update(c, &t, 1); break;
    case XP_V_INT:
    case XP_V_UINT:
    case XP_V_FLOAT: xp_sha256_update(c, &v->u.u, 8); break;
    case XP_V_STRING:
    case XP_V_JSON: h_bytes(c, v->u.s.ptr, v->u.s.len); break;
    }
}

static void h_record(struct xp_sha256 *c, const struct xp_record *rec)
{
    unsigned char k = (unsigned char)rec->kind;
    xp_sha256_update(c, &k, 1);
    switch (rec->kind) {
    case XP_REC_EXPERIMENT:
        h_str(c, rec->u.exp.name);
        h_str(c, rec->u.exp.status);
        h_str(c, rec->u.exp.started_at);
        h_json(c, rec->u.exp.vendor);
        break;
    case XP_REC_DOCUMENT: h_json(c, rec->u.doc.doc); break;
    case XP_REC_SERIES_BEGIN:
        h_str(c, rec->u.series.name);
        xp_sha256_update(c, &rec->u.series.kind, sizeof(rec->u.series.kind));
        xp_sha256_update(c, &rec->u.series.expected_points, 8);
        break;
    case XP_REC_POINTS:
        for (size_t i = 0; i < rec->u.points.n; i++) {
            const struct xp_point *p = &rec->u.points.v[i];
            xp_sha256_update(c, &p->index, 8);
            h_str(c, p->created_at);
            for (size_t f = 0; f < p->nfields; f++) {
                h_str(c, p->fields[f].key);
                h_value(c, &p->fields[f].v);
            }
        }
        break;
    case XP_REC_LOGS:
        for (size_t i = 0; i < rec->u.logs.n; i++) {
            const struct xp_log_entry *l = &rec->u.logs.v[i];
            xp_sha256_update(c, &l->seq, 8);
            h_str(c, l->timestamp);
            h_str(c, l->stream);
            h_bytes(c, l->message, l->message_len);
            h_json(c, l->metadata);
        }
        break;
    case XP_REC_FILE:
        h_str(c, rec->u.file.meta.path);
        h_str(c, rec->u.file.meta.sha256);
        break;
    default: break;
    }
}

/* ---- per-thread CPU time ------------------------------------------------ */

struct cpu_watch {
    pthread_t thread;
    pthread_mutex_t lock;
    int stop;
    long self; /* the watcher's own thread, left out */
    long tid[MAXTHREADS];
    long ticks[MAXTHREADS]; /* utime + stime, last seen */
    size_t n;
};

static void sample_threads(struct cpu_watch *w)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        long tid = atol(e->d_name);
        if (tid <= 0 || tid == w->self)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof(path), "/proc/self/task/%ld/stat", tid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *p = strrchr(buf, ')'); /* the name may hold spaces */
        long ut = 0, st = 0;
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld",
                         &ut, &st) != 2)
            continue;
        size_t i = 0;
        while (i < w->n && w->tid[i] != tid)
            i++;
        if (i == w->n) {
            if (w->n == MAXTHREADS)
                continue;
            w->tid[w->n++] = tid;
        }
        w->ticks[i] = ut + st;
    }
    closedir(d);
}

static void *watch(void *arg)
{
    struct cpu_watch *w = arg;
    w->self = (long)syscall(SYS_gettid);
    for (;;) {
        pthread_mutex_lock(&w->lock);
        int stop = w->stop;
        if (!stop)
            sample_threads(w);
        pthread_mutex_unlock(&w->lock);
        if (stop)
            return NULL;
        usleep(10000);
    }
}

static int read_one(const struct xp_experiment_ref *ref, void *payload)
{
    struct refs *s = payload;
    struct xp_reader *r;
    struct xp_read_opts ro = {XP_RES_ALL, NULL};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = s->a->type->read_experiment(&r, s->a, ref, &ro);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s->open_secs += (double)(t1.tv_sec - t0.tv_sec) +
                    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (s->cw) {
        pthread_mutex_lock(&s->cw->lock);
        sample_threads(s->cw);
        memcpy(s->open_ticks, s->cw->ticks, sizeof(s->open_ticks));
        pthread_mutex_unlock(&s->cw->lock);
    }
    if (rc)
        return rc;
    const struct xp_record *rec;
    long long in_series = 0;
    while ((rc = r->next(r, &rec)) == 0) {
        s->records++;
        if (s->digest)
            h_record(s->digest, rec);
        if (rec->kind == XP_REC_SERIES_BEGIN) {
            s->series++;
            in_series = 0;
        } else if (rec->kind == XP_REC_POINTS) {
            s->points += (long long)rec->u.points.n;
            in_series += (long long)rec->u.points.n;
            if (in_series > s->rows)
                s->rows = in_series;
        }
    }
    r->free(r);
    return rc == XP_ITEROVER ? 0 : rc;
}

int main(int argc, char **argv)
{
    struct xp_sha256 digest;
    struct refs s = {0};
    if (argc == 3 && !strcmp(argv[1], "--digest")) {
        xp_sha256_init(&digest);
        s.digest = &digest;
        argv++;
        argc--;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s [--digest] PATH\n", argv[0]);
        return 2;
    }
    struct xp_ctx ctx = {0};
    struct xp_location loc;
    struct timespec t0, t1;
    struct cpu_watch cw;
    memset(&cw, 0, sizeof(cw));
    pthread_mutex_init(&cw.lock, NULL);
    int watching = pthread_create(&cw.thread, NULL, watch, &cw) == 0;
    if (watching)
        s.cw = &cw;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = xp_location_from(&loc, "wandb-offline", argv[1]);
    if (!rc)
        rc = xp_adapter_open(&s.a, &loc, NULL, &ctx);
    if (!rc)
        rc = s.a->type->list_experiments(s.a, read_one, &s);
    xp_adapter_close(s.a);
    xp_location_release(&loc);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (watching) {
        pthread_mutex_lock(&cw.lock);
        sample_threads(&cw); /* the main thread's last figure */
        cw.stop = 1;
        pthread_mutex_unlock(&cw.lock);
        pthread_join(cw.thread, NULL);
    }
    if (s.digest) { /* damaged runs fail at their end: what came before counts */
        unsigned char d[32];
        char hex[65];
        xp_sha256_final(&digest, d);
        xp_hex(hex, d, 32);
        printf("digest %s\n", hex);
    }
    if (rc) {
        fprintf(stderr, "error: %s\n", xp_error_last()->message);
        return 1;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("records %lld, series %lld, points %lld, rows %lld\n", s.records,
           s.series, s.points, s.rows);
    printf("time %.2f s, %.0f rows/s, %.0f points/s, peak RSS %ld MiB\n", secs,
           (double)s.rows / secs, (double)s.points / secs,
           ru.ru_maxrss / 1024);
    long hz = sysconf(_SC_CLK_TCK);
    printf("thread cpu");
    for (size_t i = 0; i < cw.n; i++)
        printf(" %.2f", (double)cw.ticks[i] / (double)hz);
    printf(" s; opening took %.2f s, thread cpu", s.open_secs);
    for (size_t i = 0; i < cw.n; i++)
        printf(" %.2f", (double)s.open_ticks[i] / (double)hz);
    printf(" s\n");
    return 0;
}
