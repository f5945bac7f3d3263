/* Reads every record of every run under PATH through the wandb-offline
 * adapter (what a download does, without a sink) and prints the history
 * rows per second and the peak resident set size.
 * usage: xport-bench-wandb-read PATH */
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include "xport/error.h"
#include "xport/location.h"
#include "xport/sys/adapter.h"

struct refs {
    struct xp_adapter *a;
    long long records, points, series, rows;
    int rc;
};

static int read_one(const struct xp_experiment_ref *ref, void *payload)
{
    struct refs *s = payload;
    struct xp_reader *r;
    struct xp_read_opts ro = {XP_RES_ALL, NULL};
    int rc = s->a->type->read_experiment(&r, s->a, ref, &ro);
    if (rc)
        return rc;
    const struct xp_record *rec;
    long long in_series = 0;
    while ((rc = r->next(r, &rec)) == 0) {
        s->records++;
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
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH\n", argv[0]);
        return 2;
    }
    struct xp_ctx ctx = {0};
    struct xp_location loc;
    struct refs s = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = xp_location_from(&loc, "wandb-offline", argv[1]);
    if (!rc)
        rc = xp_adapter_open(&s.a, &loc, NULL, &ctx);
    if (!rc)
        rc = s.a->type->list_experiments(s.a, read_one, &s);
    xp_adapter_close(s.a);
    xp_location_release(&loc);
    clock_gettime(CLOCK_MONOTONIC, &t1);
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
    return 0;
}
