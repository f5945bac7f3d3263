/* Test layout generator (gen_layout.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "gen_layout.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/location.h"
#include "xport/sys/adapter.h"

struct mem_stream {
    struct xp_stream base;
    const char *data;
    size_t len, off;
};

static ssize_t mem_read(struct xp_stream *s, void *buf, size_t len)
{
    struct mem_stream *m = (struct mem_stream *)s;
    size_t n = m->len - m->off < len ? m->len - m->off : len;
    memcpy(buf, m->data + m->off, n);
    m->off += n;
    return (ssize_t)n;
}

static int put(struct xp_sink *s, struct xp_record *r)
{
    int rc = s->put(s, r);
    if (rc)
        fprintf(stderr, "gen: %s\n", xp_error_last()->message);
    return rc;
}

static int open_sink(struct xp_adapter **a, struct xp_sink **s, const char *root,
                     const struct xp_experiment_meta *m)
{
    struct xp_location loc;
    static struct xp_ctx ctx;
    xp_location_from(&loc, "local", root);
    int rc = xp_adapter_open(a, &loc, NULL, &ctx);
    xp_location_release(&loc);
    if (rc)
        return rc;
    struct xp_write_opts wo = {XP_RES_ALL, 0, 0, -1};
    return (*a)->type->write_experiment(s, *a, m, &wo);
}

static int series(struct xp_sink *s, const char *name, enum xp_series_kind kind,
                  int64_t n, int edge)
{
    struct xp_record r = {.kind = XP_REC_SERIES_BEGIN};
    r.u.series.name = name;
    r.u.series.kind = kind;
    r.u.series.expected_points = n;
    int rc = put(s, &r);
    static struct xp_point pts[XP_POINTS_BATCH];
    static struct xp_field fl[XP_POINTS_BATCH][3];
    for (int64_t i = 0; i < n && !rc;) {
        size_t k = 0;
        for (; k < XP_POINTS_BATCH && i < n; k++, i++) {
            struct xp_value v = {.type = XP_V_FLOAT};
            v.u.d = sin((double)i) * 1e3 + (double)i / 7.0;
            if (edge) {
                switch (i % 12) {
                case 0: v.u.d = NAN; break;
                case 1: v.u.d = INFINITY; break;
                case 2: v.u.d = -INFINITY; break;
                case 3: v.u.d = -0.0; break;
                case 4: v.u.d = 1e-300; break;
                case 5: v.type = XP_V_INT; v.u.i = INT64_MAX; break;
                case 6: v.type = XP_V_UINT; v.u.u = UINT64_MAX; break;
                case 7: v.type = XP_V_STRING; v.u.s.ptr = "NaN"; v.u.s.len = 3; break;
                case 8: v.type = XP_V_JSON; v.u.s.ptr = "{\"_type\":\"histogram\",\"bins\":[0.1,2.5e-8]}";
                        v.u.s.len = strlen(v.u.s.ptr); break;
                case 9: v.type = XP_V_BOOL; v.u.b = 1; break;
                case 10: v.type = XP_V_NULL; break;
                default: v.u.d = 5e-324; break;
                }
            }
            fl[k][0] = (struct xp_field){"value", v};
            fl[k][1] = (struct xp_field){"step", {.type = XP_V_INT, .u.i = i * 10}};
            fl[k][2] = (struct xp_field){"timestamp",
                                         {.type = XP_V_FLOAT, .u.d = 1.7e9 + (double)i * 0.001}};
            pts[k].index = i;
            pts[k].created_at = NULL;
            pts[k].fields = fl[k];
            pts[k].nfields = 3;
        }
        struct xp_record p = {.kind = XP_REC_POINTS};
        p.u.points.v = pts;
        p.u.points.n = k;
        rc = put(s, &p);
    }
    struct xp_record e = {.kind = XP_REC_SERIES_END};
    return rc ? rc : put(s, &e);
}

int gen_edge_layout(const char *root, int64_t npoints)
{
    static const char *tags[] = {"edge", "ünï"};
    struct xp_experiment_meta m = {
        .workspace = "wörkspace", .project = "proj/with/slash",
        .name = "exp ünï/../x", .description = "edge cases", .tags = tags,
        .ntags = 2, .status = "COMPLETED", .started_at = "2026-01-02T03:04:05Z",
        .source_vendor = "test", .source_id = "edge-1"};
    struct xp_adapter *a = NULL;
    struct xp_sink *s = NULL;
    int rc = open_sink(&a, &s, root, &m);
    if (rc)
        goto done;
    struct xp_record r = {.kind = XP_REC_EXPERIMENT};
    r.u.exp = m;
    if ((rc = put(s, &r)))
        goto done;
    struct json_object *params = json_tokener_parse(
        "{\"lr\":0.001,\"big\":9223372036854775807,\"nested\":{\"a\":[1,2.5,\"x\"],"
        "\"dot.key\":true},\"nan\":NaN,\"none\":null}");
    r.kind = XP_REC_DOCUMENT;
    r.u.doc.kind = XP_DOC_PARAMETERS;
    r.u.doc.doc = params;
    rc = put(s, &r);
    json_object_put(params);
    struct json_object *summary = json_tokener_parse("{\"loss\":0.125,\"best\":-Infinity}");
    r.u.doc.kind = XP_DOC_SUMMARY;
    r.u.doc.doc = summary;
    if (!rc)
        rc = put(s, &r);
    json_object_put(summary);
    if (!rc)
        rc = series(s, "train/loss", XP_SERIES_METRIC, npoints, 1);
    if (!rc)
        rc = series(s, "名前 ../acc", XP_SERIES_METRIC, 5, 0);
    if (!rc)
        rc = series(s, "gpu.0.util", XP_SERIES_SYSTEM, 3, 0);
    struct xp_log_entry logs[3] = {
        {0, "2026-01-02T03:04:05Z", "info", "stdout", "hello\tworld", 11, NULL},
        {1, NULL, "error", "stderr", "quote \" backslash \\ ünï", 26, NULL},
        {2, "2026-01-02T03:04:06Z", NULL, NULL, "", 0, NULL},
    };
    r.kind = XP_REC_LOGS;
    r.u.logs.v = logs;
    r.u.logs.n = 3;
    if (!rc)
        rc = put(s, &r);
    const char *body = "file body\n";
    struct mem_stream ms = {{mem_read, NULL}, body, strlen(body), 0};
    r.kind = XP_REC_FILE;
    memset(&r.u.file, 0, sizeof(r.u.file));
    r.u.file.meta.path = "media/images/a b.png";
    r.u.file.meta.size = (int64_t)strlen(body);
    r.u.file.meta.vendor_checksum_algo = "md5";
    r.u.file.meta.vendor_checksum = "not-checked-here";
    r.u.file.body = &ms.base;
    if (!rc)
        rc = put(s, &r);
    /* an artifact file with the same relative path as a run file */
    const char *abody = "artifact bytes";
    struct mem_stream as = {{mem_read, NULL}, abody, strlen(abody), 0};
    memset(&r.u.file, 0, sizeof(r.u.file));
    r.kind = XP_REC_FILE;
    r.u.file.meta.path = "media/images/a b.png";
    r.u.file.meta.size = -1;
    r.u.file.meta.artifact = "model/../x:v3";
    r.u.file.body = &as.base;
    if (!rc)
        rc = put(s, &r);
    r.kind = XP_REC_END;
    if (!rc)
        rc = put(s, &r);
    if (!rc)
        rc = s->finish(s, 1);
done:
    if (rc && s)
        s->finish(s, 0);
    if (s)
        s->free(s);
    xp_adapter_close(a);
    return rc;
}

int gen_many_layout(const char *root, int n, int64_t npoints)
{
    int rc = 0;
    for (int i = 1; i <= n && !rc; i++) {
        char name[32], id[32];
        snprintf(name, sizeof(name), "run-%03d", i);
        snprintf(id, sizeof(id), "id-%d", i);
        struct xp_experiment_meta m = {.workspace = "ws", .project = "proj",
                                       .name = name, .source_vendor = "test",
                                       .source_id = id};
        struct xp_adapter *a = NULL;
        struct xp_sink *s = NULL;
        rc = open_sink(&a, &s, root, &m);
        struct xp_record r = {.kind = XP_REC_EXPERIMENT};
        r.u.exp = m;
        if (!rc)
            rc = put(s, &r);
        if (!rc)
            rc = series(s, "loss", XP_SERIES_METRIC, npoints, 0);
        r.kind = XP_REC_END;
        if (!rc)
            rc = put(s, &r);
        if (!rc)
            rc = s->finish(s, 1);
        else if (s)
            s->finish(s, 0);
        if (s)
            s->free(s);
        xp_adapter_close(a);
    }
    return rc;
}

int gen_wide_layout(const char *root, int nseries, int64_t npoints, int nfiles)
{
    struct xp_experiment_meta m = {.workspace = "ws", .project = "proj", .name = "wide",
                                   .source_vendor = "test", .source_id = "wide-1"};
    struct xp_adapter *a = NULL;
    struct xp_sink *s = NULL;
    int rc = open_sink(&a, &s, root, &m);
    struct xp_record r = {.kind = XP_REC_EXPERIMENT};
    r.u.exp = m;
    if (!rc)
        rc = put(s, &r);
    for (int i = 0; i < nseries && !rc; i++) {
        char name[16];
        snprintf(name, sizeof(name), "m%02d", i);
        rc = series(s, name, XP_SERIES_METRIC, npoints, 0);
    }
    static char body[65536];
    for (int i = 0; i < nfiles && !rc; i++) {
        char path[32];
        snprintf(path, sizeof(path), "blobs/f%03d.bin", i);
        memset(body, 'a' + i % 26, sizeof(body));
        struct mem_stream ms = {{mem_read, NULL}, body, sizeof(body), 0};
        memset(&r.u.file, 0, sizeof(r.u.file));
        r.kind = XP_REC_FILE;
        r.u.file.meta.path = path;
        r.u.file.meta.size = sizeof(body);
        r.u.file.body = &ms.base;
        rc = put(s, &r);
    }
    r.kind = XP_REC_END;
    if (!rc)
        rc = put(s, &r);
    if (!rc)
        rc = s->finish(s, 1);
    else if (s)
        s->finish(s, 0);
    if (s)
        s->free(s);
    xp_adapter_close(a);
    return rc;
}
