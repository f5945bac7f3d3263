/* Writes an xport layout holding one experiment with one series of N
 * points (value, step, timestamp), through the local adapter's own sink.
 * Usage: xport-bench-gen DIR N */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "xport/error.h"
#include "xport/location.h"
#include "xport/sys/adapter.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: xport-bench-gen DIR N\n");
        return 2;
    }
    long long n = atoll(argv[2]);
    struct xp_location loc;
    struct xp_ctx ctx = {0};
    xp_location_from(&loc, "local", argv[1]);
    struct xp_adapter *a = NULL;
    struct xp_sink *s = NULL;
    struct xp_experiment_meta m = {.workspace = "bench", .project = "series",
                                   .name = "long", .source_vendor = "bench",
                                   .source_id = "1"};
    struct xp_write_opts wo = {XP_RES_ALL, 1, 0, -1};
    int rc = xp_adapter_open(&a, &loc, NULL, &ctx);
    if (!rc)
        rc = a->type->write_experiment(&s, a, &m, &wo);
    struct xp_record r = {.kind = XP_REC_EXPERIMENT};
    r.u.exp = m;
    if (!rc)
        rc = s->put(s, &r);
    r.kind = XP_REC_SERIES_BEGIN;
    r.u.series = (struct xp_series_meta){.name = "train/loss", .kind = XP_SERIES_METRIC,
                                         .expected_points = n};
    if (!rc)
        rc = s->put(s, &r);
    static struct xp_point pts[XP_POINTS_BATCH];
    static struct xp_field fl[XP_POINTS_BATCH][3];
    for (long long i = 0; i < n && !rc;) {
        size_t k = 0;
        for (; k < XP_POINTS_BATCH && i < n; k++, i++) {
            fl[k][0] = (struct xp_field){"value", {.type = XP_V_FLOAT,
                                                   .u.d = exp(-(double)i / 1e6) + sin((double)i) * 1e-3}};
            fl[k][1] = (struct xp_field){"step", {.type = XP_V_INT, .u.i = i}};
            fl[k][2] = (struct xp_field){"timestamp", {.type = XP_V_FLOAT,
                                                       .u.d = 1.7e9 + (double)i * 0.01}};
            pts[k] = (struct xp_point){i, NULL, fl[k], 3};
        }
        r.kind = XP_REC_POINTS;
        r.u.points.v = pts;
        r.u.points.n = k;
        rc = s->put(s, &r);
    }
    r.kind = XP_REC_SERIES_END;
    if (!rc)
        rc = s->put(s, &r);
    r.kind = XP_REC_END;
    if (!rc)
        rc = s->put(s, &r);
    if (!rc)
        rc = s->finish(s, 1);
    if (rc)
        fprintf(stderr, "error: %s\n", xp_error_last()->message);
    if (s)
        s->free(s);
    xp_adapter_close(a);
    xp_location_release(&loc);
    return rc ? 1 : 0;
}
