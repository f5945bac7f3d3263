/* An out-of-tree adapter built as a shared object: "fake" yields one
 * experiment with a three-point series. FAKE_ABI lets the build produce a
 * second copy with a wrong ABI number, which xport must refuse. With
 * `--opt fake:gate=PATH` the reader stops after its points until PATH
 * exists (30 s at most), so that a test can watch a run in flight. */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xport/error.h"
#include "xport/sys/adapter.h"

#ifndef FAKE_ABI
#define FAKE_ABI XP_ADAPTER_ABI
#endif
#ifndef FAKE_NAME
#define FAKE_NAME "fake"
#endif

static char gate[4096]; /* the gate option's path, or "" */

struct fake_reader {
    struct xp_reader base;
    int step;
    struct xp_record rec;
    struct xp_field f[3];
    struct xp_point p[3];
};

static int fake_next(struct xp_reader *r, const struct xp_record **out)
{
    struct fake_reader *f = (struct fake_reader *)r;
    memset(&f->rec, 0, sizeof(f->rec));
    switch (f->step++) {
    case 0:
        f->rec.kind = XP_REC_EXPERIMENT;
        f->rec.u.exp.workspace = "fakews";
        f->rec.u.exp.project = "fakeproj";
        f->rec.u.exp.name = "fake-run";
        f->rec.u.exp.source_vendor = FAKE_NAME;
        f->rec.u.exp.source_id = "f1";
        break;
    case 1:
        f->rec.kind = XP_REC_SERIES_BEGIN;
        f->rec.u.series.name = "acc";
        f->rec.u.series.kind = XP_SERIES_METRIC;
        f->rec.u.series.expected_points = 3;
        break;
    case 2:
        for (int i = 0; i < 3; i++) {
            f->f[i].key = "value";
            f->f[i].v.type = XP_V_FLOAT;
            f->f[i].v.u.d = 0.25 * (i + 1);
            f->p[i].index = i;
            f->p[i].fields = &f->f[i];
            f->p[i].nfields = 1;
        }
        f->rec.kind = XP_REC_POINTS;
        f->rec.u.points.v = f->p;
        f->rec.u.points.n = 3;
        break;
    case 3:
        for (int waited = 0; gate[0] && access(gate, F_OK) != 0 && waited < 3000; waited++) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
        f->rec.kind = XP_REC_SERIES_END;
        break;
    case 4: f->rec.kind = XP_REC_END; break;
    default: return XP_ITEROVER;
    }
    *out = &f->rec;
    return 0;
}

static void fake_free(struct xp_reader *r)
{
    static struct fake_reader *none;
    (void)none;
    __builtin_free(r);
}

static int fake_open(struct xp_adapter **out, const struct xp_adapter_type *t,
                     const struct xp_location *loc, const struct xp_options *o,
                     struct xp_ctx *ctx)
{
    static struct xp_adapter a;
    (void)t, (void)loc, (void)ctx;
    gate[0] = '\0';
    for (size_t i = 0; o && i < o->n; i++)
        if (!strcmp(o->v[i].key, "gate") && strlen(o->v[i].value) < sizeof(gate))
            strcpy(gate, o->v[i].value);
    *out = &a;
    return 0;
}

static void fake_close(struct xp_adapter *a)
{
    (void)a;
}

static int fake_list(struct xp_adapter *a, xp_experiment_cb cb, void *payload)
{
    struct xp_experiment_ref ref = {"fakews", "fakeproj", "fake-run", "f1", -1};
    return cb(&ref, payload);
}

static int fake_read(struct xp_reader **out, struct xp_adapter *a,
                     const struct xp_experiment_ref *ref, const struct xp_read_opts *ro)
{
    struct fake_reader *f = __builtin_calloc(1, sizeof(*f));
    f->base.version = XP_READER_VERSION;
    f->base.next = fake_next;
    f->base.free = fake_free;
    *out = &f->base;
    return 0;
}

/* What a plugin reads is declared like a built-in adapter's options. */
static const struct xp_option_decl fake_options[] = {
    {"greeting", XP_OPT_STRING, 0, 0, 0, NULL, "a word the fake adapter ignores"},
    {"gate", XP_OPT_STRING, 0, 0, 0, NULL, "a file whose existence lets the reader end"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const struct xp_adapter_type fake_type = {
    .abi = FAKE_ABI,
    .name = FAKE_NAME,
    .summary = "test plugin",
    .caps = XP_CAP_READ,
    .open = fake_open,
    .close = fake_close,
    .list_experiments = fake_list,
    .read_experiment = fake_read,
    .options = fake_options,
};

const struct xp_adapter_type *const *xport_plugin_adapters(unsigned *abi);
const struct xp_adapter_type *const *xport_plugin_adapters(unsigned *abi)
{
    static const struct xp_adapter_type *const list[] = {&fake_type, NULL};
    *abi = FAKE_ABI;
    return list;
}
