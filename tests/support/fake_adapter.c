/* The fake adapter of tests/support/fake_adapter.h: records built in memory,
 * methods switched off per spec, every call counted. */
#include "fake_adapter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xport/progress.h"
#include "xport/buf.h"
#include "xport/error.h"

struct fake {
    struct xp_adapter base;
    struct xp_adapter_type type; /* per instance: methods switched by spec */
    struct fake_spec spec;
    struct fake_counts *counts;
};

struct fake_reader {
    struct xp_reader base;
    struct fake *f;
    int idx, step;
    char name[32];
    struct xp_point pts[4];
    struct xp_field fields[4][2];
    struct xp_record rec;
};

static int idx_of(const char *name)
{
    return strncmp(name, "exp-", 4) ? -1 : atoi(name + 4);
}

static int fk_list(struct xp_adapter *a, xp_experiment_cb cb, void *payload)
{
    struct fake *f = (struct fake *)a;
    atomic_fetch_add(&f->counts->lists, 1);
    char name[32];
    for (int i = 0; i < f->spec.nexp; i++) {
        snprintf(name, sizeof(name), "exp-%03d", i);
        struct xp_experiment_ref r = {"ws", "p", name, name, -1};
        int rc = cb(&r, payload);
        if (rc)
            return rc;
    }
    for (size_t i = 0; f->spec.existing && f->spec.existing[i]; i++) {
        struct xp_experiment_ref r = {"ws", "p", f->spec.existing[i], f->spec.existing[i], -1};
        int rc = cb(&r, payload);
        if (rc)
            return rc;
    }
    return 0;
}

/* The sequence: EXPERIMENT, SERIES_BEGIN, POINTS (npoints, in batches of 4),
 * SERIES_END, END; out_of_order swaps the first two of the series. */
static int fr_next(struct xp_reader *rd, const struct xp_record **out)
{
    struct fake_reader *r = (struct fake_reader *)rd;
    int n = r->f->spec.npoints, nb = (n + 3) / 4;
    int swap = r->idx == r->f->spec.out_of_order;
    int s = r->step++;
    memset(&r->rec, 0, sizeof(r->rec));
    if (r->f->spec.gate) {
        xp_progress_set(s, 4 + nb);
        for (int waited = 0; s == 3 && !atomic_load(r->f->spec.gate); waited++) {
            if (waited == 3000)
                return xp_error_set(XP_ERROR, "fake: the gate stayed shut for 30 s");
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (s == 0) {
        r->rec.kind = XP_REC_EXPERIMENT;
        r->rec.u.exp.workspace = "ws";
        r->rec.u.exp.project = "p";
        r->rec.u.exp.name = r->name;
    } else if (s == 1 && !swap) {
        r->rec.kind = XP_REC_SERIES_BEGIN;
        r->rec.u.series.name = "loss";
        r->rec.u.series.kind = XP_SERIES_METRIC;
        r->rec.u.series.expected_points = n;
    } else if (s >= 1 && s < 2 + nb) {
        int b = s - 1 - !swap;
        size_t k = 0;
        for (int i = b * 4; i < n && k < 4; i++, k++) {
            r->fields[k][0] = (struct xp_field){"value", {.type = XP_V_FLOAT, .u.d = i * 0.5}};
            r->fields[k][1] = (struct xp_field){"step", {.type = XP_V_INT, .u.i = i}};
            r->pts[k] = (struct xp_point){i, NULL, r->fields[k], 2};
        }
        r->rec.kind = XP_REC_POINTS;
        r->rec.u.points.v = r->pts;
        r->rec.u.points.n = k;
    } else if (s == 2 + nb) {
        r->rec.kind = XP_REC_SERIES_END;
    } else if (s == 3 + nb) {
        r->rec.kind = XP_REC_END;
    } else {
        return XP_ITEROVER;
    }
    *out = &r->rec;
    return 0;
}

static void fr_free(struct xp_reader *rd)
{
    free(rd);
}

static int fk_read(struct xp_reader **out, struct xp_adapter *a,
                   const struct xp_experiment_ref *ref, const struct xp_read_opts *ro)
{
    (void)ro;
    struct fake *f = (struct fake *)a;
    atomic_fetch_add(&f->counts->reads, 1);
    if (f->spec.read_delay_ms) {
        struct timespec ts = {0, (long)f->spec.read_delay_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    int idx = idx_of(ref->name);
    if (idx == f->spec.auth_fail)
        return xp_error_set(XP_EAUTH, "fake: credentials refused for '%s'", ref->name);
    struct fake_reader *r = xp_calloc(1, sizeof(*r));
    r->base.version = f->spec.reader_version ? f->spec.reader_version : XP_READER_VERSION;
    r->base.next = fr_next;
    r->base.free = fr_free;
    r->f = f;
    r->idx = idx;
    snprintf(r->name, sizeof(r->name), "%s", ref->name);
    *out = &r->base;
    return 0;
}

struct fake_sink {
    struct xp_sink base;
    struct fake *f;
    int idx;
};

static int fs_put(struct xp_sink *s, const struct xp_record *rec)
{
    struct fake_sink *k = (struct fake_sink *)s;
    if (rec->kind == XP_REC_SERIES_BEGIN && k->idx == k->f->spec.drop)
        xp_sink_drop(s, k->f->base.ctx, "fake: cannot hold series '%s'", rec->u.series.name);
    return 0;
}

static int fs_finish(struct xp_sink *s, int commit)
{
    struct fake_sink *k = (struct fake_sink *)s;
    atomic_fetch_add(commit ? &k->f->counts->commits : &k->f->counts->aborts, 1);
    return 0;
}

static void fs_free(struct xp_sink *s)
{
    free(s);
}

static int fk_write(struct xp_sink **out, struct xp_adapter *a,
                    const struct xp_experiment_meta *meta, const struct xp_write_opts *wo)
{
    (void)wo;
    struct fake *f = (struct fake *)a;
    atomic_fetch_add(&f->counts->writes, 1);
    struct fake_sink *k = xp_calloc(1, sizeof(*k));
    k->base.version = XP_SINK_VERSION;
    k->base.put = fs_put;
    k->base.finish = fs_finish;
    k->base.free = fs_free;
    k->f = f;
    k->idx = idx_of(meta->name);
    *out = &k->base;
    return 0;
}

static int fk_delete(struct xp_adapter *a, const struct xp_experiment_ref *ref)
{
    struct fake *f = (struct fake *)a;
    int n = atomic_fetch_add(&f->counts->deletes, 1);
    if (n < 8)
        snprintf(f->counts->deleted[n], sizeof(f->counts->deleted[n]), "%s", ref->name);
    return 0;
}

static void fk_close(struct xp_adapter *a)
{
    free(a);
}

int fake_open(struct xp_adapter **out, const struct fake_spec *spec,
              struct fake_counts *counts, struct xp_ctx *ctx)
{
    struct fake *f = xp_calloc(1, sizeof(*f));
    f->spec = *spec;
    f->counts = counts;
    f->type = (struct xp_adapter_type){
        .abi = XP_ADAPTER_ABI,
        .name = "fake",
        .summary = "engine test double",
        .caps = (spec->no_read ? 0 : XP_CAP_READ) | (spec->no_write ? 0 : XP_CAP_WRITE) |
                XP_CAP_NO_NETWORK,
        .close = fk_close,
        .list_experiments = spec->no_list ? NULL : fk_list,
        .read_experiment = spec->no_read ? NULL : fk_read,
        .write_experiment = spec->no_write ? NULL : fk_write,
        .delete_experiment = spec->no_delete ? NULL : fk_delete,
    };
    f->base.type = &f->type;
    f->base.ctx = ctx;
    *out = &f->base;
    return 0;
}

struct fake_spec fake_plain(int n, int npoints)
{
    return (struct fake_spec){.nexp = n, .npoints = npoints, .out_of_order = -1,
                              .auth_fail = -1, .drop = -1};
}
