/* One experiment through the copy pipeline's stages (core/copy_int.h):
 * decided early (skipped, resumed, synced), its records filtered, counted
 * and put into the destination's sink, committed, and recorded in the
 * journal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy_int.h"
#include "xport/buf.h"
#include "xport/journal.h"
#include "xport/stream.h"
#include "xport/verify.h"

static unsigned resource_of(const struct xp_record *r, enum xp_series_kind cur)
{
    switch (r->kind) {
    case XP_REC_DOCUMENT:
        return r->u.doc.kind == XP_DOC_PARAMETERS ? XP_RES_PARAMETERS : XP_RES_OTHERS;
    case XP_REC_SERIES_BEGIN:
        return r->u.series.kind == XP_SERIES_SYSTEM ? XP_RES_SYSTEM : XP_RES_METRICS;
    case XP_REC_POINTS:
    case XP_REC_SERIES_END:
        return cur == XP_SERIES_SYSTEM ? XP_RES_SYSTEM : XP_RES_METRICS;
    case XP_REC_LOGS: return XP_RES_LOGS;
    case XP_REC_FILE:
        return r->u.file.meta.artifact ? XP_RES_ARTIFACTS : XP_RES_FILES;
    default: return XP_RES_ALL; /* experiment and end always pass */
    }
}

/* The reader's view of the sink during resume (xp_read_opts.have_item). */
struct have_ctx {
    struct xp_sink *sink;
    int64_t *resumed;
};

static int have_item_cb(void *payload, const char *key)
{
    struct have_ctx *h = payload;
    int have = xp_sink_has_item(h->sink, key);
    if (have)
        (*h->resumed)++;
    return have;
}

/* Read a file body to its end, counting bytes (dry run, or a file the
 * filter drops, so the reader's stream is left consumed). */
static int drain(struct xp_stream *s, int64_t *bytes)
{
    return xp_stream_pump(s, NULL, NULL, bytes, NULL);
}

/* Counts bytes of file bodies as the sink reads them (live, too). */
struct counting_stream {
    struct xp_stream base;
    struct xp_stream *inner;
    int64_t bytes;
    struct live *lv;
};

static ssize_t counting_read(struct xp_stream *s, void *buf, size_t len)
{
    struct counting_stream *c = (struct counting_stream *)s;
    ssize_t n = c->inner->read(c->inner, buf, len);
    if (n > 0) {
        c->bytes += n;
        LIVE_ADD(c->lv, bytes, n);
    }
    return n;
}


/* An experiment about to be reported skipped that an earlier run left
 * partial (in resources this run asks for) is reported partial. */
static void check_partial(struct copy_run *run, const struct ref_item *it,
                          struct xp_exp_result *res, char *msg)
{
    unsigned mask = 0;
    int64_t n = 0;
    char first[256];
    if (!run->o->journal || run->o->dry_run ||
        !xp_journal_partial(run->o->journal, it->workspace, it->project, it->name,
                            &mask, &n, first, sizeof(first)) ||
        !(mask & run->resources))
        return;
    res->outcome = XP_EXP_PARTIAL;
    res->note = NULL;
    snprintf(msg, MSG_CAP, "left partial by an earlier run: %lld item(s) could not be "
             "carried to '%s' (--overwrite writes it again); first: %s",
             (long long)n, run->dst ? run->dst->type->name : "?", first);
    res->message = msg;
}

/* xp_sink_put, noting the resources of the items the sink drops. */
static int put_counted(struct xp_sink *sink, const struct xp_record *rec,
                       enum xp_series_kind cur, unsigned *drop_mask)
{
    int64_t before = xp_sink_dropped(sink, NULL);
    int rc = xp_sink_put(sink, rec);
    if (xp_sink_dropped(sink, NULL) > before)
        *drop_mask |= resource_of(rec, cur);
    return rc;
}

static const char *dropped_first(const struct xp_sink *sink)
{
    const char *first;
    xp_sink_dropped(sink, &first);
    return first;
}

/* One experiment on its way: the state its stages share. */
struct one {
    struct copy_run *run;
    struct ref_item *it;
    struct xp_exp_result *res;
    char *msg; /* MSG_CAP bytes, for res->message */
    struct xp_experiment_ref ref;
    struct have_ctx have;
    struct xp_walk walk;
    struct xp_sink *sink;
    int skipping_series, committed, partial;
    unsigned drop_mask; /* resources of the items the sink dropped */
    enum xp_series_kind cur;
    struct xp_buf key;
    struct live *lv;
};

/* Stage 0: experiments decided without reading them. 1 when skipped. */
static int skip_early(struct one *x)
{
    const struct xp_copy_opts *o = x->run->o;
    struct ref_item *it = x->it;
    /* done in an earlier run, and (when the destination can say) still there */
    if (o->journal && o->resume &&
        xp_journal_done(o->journal, it->workspace, it->project, it->name) &&
        (!x->run->dst_listed ||
         copy_dst_find(&x->run->dstrefs, DST_WS(o, it->workspace), DST_PROJ(o, it->project),
                  it->name))) {
        x->res->outcome = XP_EXP_SKIPPED;
        x->res->note = "done in an earlier run";
        return 1;
    }
    if (it->skip_note) {
        x->res->outcome = XP_EXP_SKIPPED;
        x->res->note = it->skip_note;
        check_partial(x->run, it, x->res, x->msg);
        return 1;
    }
    return 0;
}

/* sync all: an experiment the destination has is compared, and kept when
 * equal (1), or rewritten (0 with *overwrite set). */
static int sync_compare(struct one *x, int *overwrite)
{
    struct copy_run *run = x->run;
    const struct ref_item *d = copy_dst_find(&run->dstrefs, DST_WS(run->o, x->it->workspace),
                                        DST_PROJ(run->o, x->it->project), x->it->name);
    if (!d)
        return XP_EEXISTS;
    struct xp_experiment_ref dref = {d->workspace, d->project, d->name, d->key, d->size_hint};
    struct xp_verify_opts vo = {run->resources, NULL, NULL, 1, NULL, NULL,
                                run->o->no_readahead};
    long ndiff = 0;
    int rc = xp_verify_experiment(run->src, &x->ref, run->dst, &dref, &vo, &ndiff);
    if (rc == 0) {
        x->res->outcome = XP_EXP_SKIPPED;
        x->res->note = "up to date";
        return 1;
    }
    if (rc != XP_EINVALID || !ndiff)
        return rc;
    xp_error_clear();
    x->res->note = "updated";
    *overwrite = 1;
    return 0;
}

/* Stage 1: the destination's sink for the experiment record rec; 1 when the
 * destination already has it and it stays (skipped). */
static int open_sink(struct one *x, const struct xp_record *rec)
{
    struct copy_run *run = x->run;
    struct xp_write_opts wo = {run->resources, run->o->overwrite, run->o->resume,
                               run->dst->type->publish ? (int64_t)(x->it - run->refs) : -1};
    int rc = xp_adapter_write(&x->sink, run->dst, &rec->u.exp, &wo);
    if (rc == XP_EEXISTS && run->o->sync == XP_SYNC_ALL) {
        int keep = sync_compare(x, &wo.overwrite);
        if (keep == 0)
            rc = xp_adapter_write(&x->sink, run->dst, &rec->u.exp, &wo);
        else if (keep != XP_EEXISTS)
            return keep;
    }
    if (rc == XP_EEXISTS) {
        xp_error_clear();
        x->res->outcome = XP_EXP_SKIPPED;
        return 1;
    }
    if (rc)
        return rc;
    x->have.sink = x->sink;
    return put_counted(x->sink, rec, x->cur, &x->drop_mask);
}

/* Resume: an item the destination kept from an interrupted attempt is
 * passed over (its series' records, or its file's body). 1 when passed. */
static int kept_item(struct one *x, const struct xp_record *rec, int *rc)
{
    if (!x->sink || !x->sink->has_item ||
        (rec->kind != XP_REC_SERIES_BEGIN && rec->kind != XP_REC_FILE))
        return 0;
    xp_item_key(&x->key, rec);
    if (!xp_sink_has_item(x->sink, x->key.ptr))
        return 0;
    x->res->items_resumed++;
    if (rec->kind == XP_REC_SERIES_BEGIN) {
        x->skipping_series = 1;
    } else {
        int64_t b = 0;
        *rc = drain(rec->u.file.body, &b);
    }
    return 1;
}

/* The experiment's counts, and the live ones the progress line shows. */
#define TALLY(x, f, n) ((x)->res->f += (n), LIVE_ADD((x)->lv, f, (n)))

static void count(struct one *x, const struct xp_record *rec)
{
    switch (rec->kind) {
    case XP_REC_SERIES_BEGIN: TALLY(x, series, 1); break;
    case XP_REC_POINTS: TALLY(x, points, (int64_t)rec->u.points.n); break;
    case XP_REC_LOGS: TALLY(x, logs, (int64_t)rec->u.logs.n); break;
    case XP_REC_FILE: TALLY(x, files, 1); break;
    default: break;
    }
}

/* Stage 2, one record: filtered, counted, and put into the sink (a file's
 * body is read through, whether it is put, dropped or only counted). */
static int route(struct one *x, const struct xp_record *rec)
{
    int rc = 0, dry = x->run->o->dry_run;
    if (rec->kind == XP_REC_SERIES_BEGIN)
        x->cur = rec->u.series.kind;
    int wanted = (resource_of(rec, x->cur) & x->run->resources) != 0;
    if (wanted && kept_item(x, rec, &rc))
        return rc;
    if (x->skipping_series) {
        x->skipping_series = rec->kind != XP_REC_SERIES_END;
        return 0;
    }
    if (wanted)
        count(x, rec);
    if (rec->kind == XP_REC_FILE && (!wanted || dry)) {
        int64_t b = 0;
        if (wanted && dry && rec->u.file.meta.size >= 0)
            b = rec->u.file.meta.size; /* no need to read it */
        else if ((rc = drain(rec->u.file.body, &b)))
            return rc;
        TALLY(x, bytes, wanted ? b : 0);
        return 0;
    }
    if (!wanted || dry)
        return 0;
    if (rec->kind != XP_REC_FILE)
        return put_counted(x->sink, rec, x->cur, &x->drop_mask);
    struct counting_stream cs = {{counting_read, NULL}, rec->u.file.body, 0, x->lv};
    struct xp_record copy = *rec;
    copy.u.file.body = &cs.base;
    rc = put_counted(x->sink, &copy, x->cur, &x->drop_mask);
    x->res->bytes += cs.bytes;
    return rc;
}

/* Stage 2: every record after the experiment's own. */
static int pump(struct one *x)
{
    const struct xp_record *rec;
    int rc;
    while ((rc = xp_walk_next(&x->walk, &rec)) == 0)
        if ((rc = route(x, rec)))
            return rc;
    return rc == XP_ITEROVER ? 0 : rc;
}

/* Stage 3: make it durable; items the sink dropped make it partial, now
 * and in every later run. */
static int commit(struct one *x)
{
    struct xp_exp_result *res = x->res;
    res->outcome = x->run->o->dry_run ? XP_EXP_PLANNED : XP_EXP_COPIED;
    if (!x->sink)
        return 0;
    int64_t seen = xp_sink_dropped(x->sink, NULL);
    int rc = xp_sink_finish(x->sink, 1);
    x->committed = !rc;
    const char *first;
    int64_t dropped = xp_sink_dropped(x->sink, &first);
    if (dropped > seen)
        x->drop_mask |= XP_RES_ALL; /* dropped while committing: no telling which */
    if (!rc && dropped) {
        x->partial = 1;
        res->outcome = XP_EXP_PARTIAL;
        snprintf(x->msg, MSG_CAP, "%lld item(s) could not be carried to '%s' (the "
                 "rest was copied); first: %s", (long long)dropped,
                 x->run->dst->type->name, first);
        res->message = x->msg;
    }
    return rc;
}

/* Stage 4: the outcome into the journal. */
static int record(struct one *x)
{
    const struct xp_copy_opts *o = x->run->o;
    struct ref_item *it = x->it;
    if (x->res->outcome == XP_EXP_SKIPPED)
        check_partial(x->run, it, x->res, x->msg);
    if (!o->journal || o->dry_run)
        return 0;
    const char *did = xp_sink_dest_id(x->sink);
    if (x->partial)
        return xp_journal_record_partial(o->journal, it->workspace, it->project, it->name,
                                         it->key, did, x->drop_mask,
                                         xp_sink_dropped(x->sink, NULL),
                                         dropped_first(x->sink));
    if (x->res->outcome == XP_EXP_PARTIAL) /* an earlier run's: known */
        return 0;
    return xp_journal_record(o->journal, it->workspace, it->project, it->name, it->key,
                             did, x->res->outcome == XP_EXP_SKIPPED ? "skipped" : "copied",
                             NULL);
}

/* One experiment: open the walk and the sink, pump, commit, record. */
int copy_one(struct copy_run *run, struct ref_item *it, struct live *lv,
             struct xp_exp_result *res, char *msg)
{
    struct one x = {run, it, res, msg,
                    {it->workspace, it->project, it->name, it->key, it->size_hint},
                    {NULL, &res->items_resumed}, {0}, NULL, 0, 0, 0, 0,
                    XP_SERIES_METRIC, XP_BUF_INIT, lv};
    if (skip_early(&x))
        return 0;
    struct xp_read_opts ro = {run->resources, NULL, NULL, NULL};
    if (run->o->resume && !run->o->dry_run) {
        ro.have_item = have_item_cb;
        ro.have_payload = &x.have;
    }
    const struct xp_record *rec;
    int rc = xp_walk_open(&x.walk, run->src, &x.ref, &ro, !run->o->no_readahead);
    if (!rc)
        rc = xp_walk_next(&x.walk, &rec);
    int stop = 0;
    if (!rc && !run->o->dry_run)
        stop = rc = open_sink(&x, rec);
    if (!rc)
        rc = pump(&x);
    if (!rc)
        rc = commit(&x);
    if (stop == 1) /* skipped: nothing was read past the experiment record */
        rc = 0;
    if (!rc)
        rc = record(&x);
    xp_buf_release(&x.key);
    if (rc && x.sink && !x.committed)
        xp_sink_finish(x.sink, 0);
    xp_sink_free(x.sink);
    xp_walk_close(&x.walk);
    return rc;
}
