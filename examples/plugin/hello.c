/* An example out-of-tree adapter: "hello" reads one experiment,
 * examples/hello/greeting, with a log line and a metric "count" of N
 * points (N from `--opt hello:points=N`, 3 by default). Build it against
 * the installed headers and load it through XPORT_PLUGIN_PATH:
 *
 *   cc $(pkg-config --cflags xport) -shared -fPIC -o plugins/hello.so hello.c
 *   XPORT_PLUGIN_PATH=$PWD/plugins xport adapters hello
 *   XPORT_PLUGIN_PATH=$PWD/plugins xport download --from hello examples -o out \
 *       --opt hello:points=5
 *
 * The interface is include/xport/sys/adapter.h; xport refuses a plugin
 * built for another XP_ADAPTER_ABI. */
#include <stdlib.h>
#include <string.h>

#include "xport/error.h"
#include "xport/sys/adapter.h"

#define MAX_POINTS 1000

struct hello {
    struct xp_adapter base; /* first: xport sees a struct xp_adapter */
    long points;
    int selected; /* does the location select examples/hello/greeting? */
};

/* The reader walks the records of one experiment, one per call. */
enum stage { S_EXPERIMENT, S_LOG, S_BEGIN, S_POINTS, S_SERIES_END, S_END, S_DONE };

struct hello_reader {
    struct xp_reader base;
    enum stage stage;
    long points;
    struct xp_record rec;
    struct xp_log_entry log;
    struct xp_field *fields;
    struct xp_point *pts;
};

static int hello_next(struct xp_reader *r, const struct xp_record **out)
{
    struct hello_reader *h = (struct hello_reader *)r;
    struct xp_record *rec = &h->rec;
    memset(rec, 0, sizeof(*rec));
    switch (h->stage++) {
    case S_EXPERIMENT:
        rec->kind = XP_REC_EXPERIMENT;
        rec->u.exp.workspace = "examples";
        rec->u.exp.project = "hello";
        rec->u.exp.name = "greeting";
        rec->u.exp.status = "COMPLETED";
        rec->u.exp.source_vendor = "hello";
        rec->u.exp.source_id = "greeting-1";
        break;
    case S_LOG:
        h->log.seq = 0;
        h->log.level = "info";
        h->log.message = "hello from a plugin";
        h->log.message_len = strlen(h->log.message);
        rec->kind = XP_REC_LOGS;
        rec->u.logs.v = &h->log;
        rec->u.logs.n = 1;
        break;
    case S_BEGIN:
        rec->kind = XP_REC_SERIES_BEGIN;
        rec->u.series.name = "count";
        rec->u.series.kind = XP_SERIES_METRIC;
        rec->u.series.expected_points = h->points;
        break;
    case S_POINTS:
        /* every point of the series in one batch (XP_POINTS_BATCH at most) */
        for (long i = 0; i < h->points; i++) {
            h->fields[i].key = "value";
            h->fields[i].v.type = XP_V_INT;
            h->fields[i].v.u.i = i + 1;
            h->pts[i].index = i;
            h->pts[i].fields = &h->fields[i];
            h->pts[i].nfields = 1;
        }
        rec->kind = XP_REC_POINTS;
        rec->u.points.v = h->pts;
        rec->u.points.n = (size_t)h->points;
        break;
    case S_SERIES_END: rec->kind = XP_REC_SERIES_END; break;
    case S_END: rec->kind = XP_REC_END; break;
    default: return XP_ITEROVER;
    }
    *out = rec;
    return 0;
}

static void hello_reader_free(struct xp_reader *r)
{
    struct hello_reader *h = (struct hello_reader *)r;
    if (!h)
        return;
    free(h->fields);
    free(h->pts);
    free(h);
}

/* The option this adapter reads; xport checks --opt values against it. */
static const struct xp_option_decl hello_options[] = {
    {"points", XP_OPT_INT, 0, 1, MAX_POINTS, NULL, "points of the metric 'count' (default 3)"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static int hello_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                      const struct xp_location *loc, const struct xp_options *opts,
                      struct xp_ctx *ctx)
{
    *out = NULL;
    long points;
    int rc = xp_option_int(type, opts, "points", 3, &points);
    if (rc)
        return rc;
    struct hello *h = calloc(1, sizeof(*h));
    if (!h)
        return xp_error_set(XP_ENOMEM, "out of memory");
    h->base.type = type;
    h->base.ctx = ctx;
    h->points = points;
    h->selected = xp_location_selects(loc, "examples", "hello", "greeting");
    *out = &h->base;
    return 0;
}

static void hello_close(struct xp_adapter *a)
{
    free(a);
}

static int hello_list(struct xp_adapter *a, xp_experiment_cb cb, void *payload)
{
    if (!((struct hello *)a)->selected)
        return 0;
    struct xp_experiment_ref ref = {"examples", "hello", "greeting", "greeting-1", -1};
    return cb(&ref, payload);
}

static int hello_read(struct xp_reader **out, struct xp_adapter *a,
                      const struct xp_experiment_ref *ref, const struct xp_read_opts *ro)
{
    struct hello *h = (struct hello *)a;
    struct hello_reader *r = calloc(1, sizeof(*r));
    if (r) {
        r->fields = calloc((size_t)h->points, sizeof(*r->fields));
        r->pts = calloc((size_t)h->points, sizeof(*r->pts));
    }
    if (!r || !r->fields || !r->pts) {
        hello_reader_free(r ? &r->base : NULL);
        return xp_error_set(XP_ENOMEM, "out of memory");
    }
    struct xp_reader init = XP_READER_INIT;
    r->base = init;
    r->base.next = hello_next;
    r->base.free = hello_reader_free;
    r->points = h->points;
    *out = &r->base;
    (void)ref;
    (void)ro;
    return 0;
}

static const struct xp_adapter_type hello_type = {
    .abi = XP_ADAPTER_ABI,
    .name = "hello",
    .summary = "example plugin: one experiment with a log line and a metric",
    .caps = XP_CAP_READ | XP_CAP_NO_NETWORK,
    .open = hello_open,
    .close = hello_close,
    .list_experiments = hello_list,
    .read_experiment = hello_read,
    .options = hello_options,
};

/* What xport looks up in every shared object of XPORT_PLUGIN_PATH. */
const struct xp_adapter_type *const *xport_plugin_adapters(unsigned *abi);
const struct xp_adapter_type *const *xport_plugin_adapters(unsigned *abi)
{
    static const struct xp_adapter_type *const list[] = {&hello_type, NULL};
    *abi = XP_ADAPTER_ABI;
    return list;
}
