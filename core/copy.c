/* The copy pipeline (include/xport/copy.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xport/buf.h"
#include "xport/copy.h"
#include "xport/error.h"
#include "xport/journal.h"
#include "xport/progress.h"
#include "xport/shard.h"
#include "xport/stream.h"
#include "xport/verify.h"

/* ---- shared state ---- */

struct ref_item {
    char *workspace, *project, *name, *key;
    int64_t size_hint;
    const char *skip_note; /* sync: skip without reading, with this note */
};

struct ref_list {
    struct ref_item *v;
    size_t n, cap;
};

/* One worker's experiment in flight: counted batch by batch by the worker,
 * read by the progress thread. `it` and the reset to zero change under the
 * run's lock, together with the finished totals, so a snapshot taken under
 * the lock never counts a batch twice or loses one. */
struct live {
    _Atomic int64_t series, points, logs, files, bytes;
    struct xp_progress reading; /* bound to the worker while it reads */
    const struct ref_item *it;  /* NULL when idle */
};

struct copy_run {
    struct xp_adapter *src, *dst;
    const struct xp_copy_opts *o;
    unsigned resources;
    struct ref_item *refs;
    size_t nrefs, cap;
    struct ref_list dstrefs; /* sync, resume: what the destination has, sorted */
    int dst_listed; /* dstrefs is what the destination has */
    atomic_size_t next;
    pthread_mutex_t lock; /* guards stats, first_err and callbacks */
    struct xp_copy_stats st;
    int first_err;
    atomic_int auth_failed;
    atomic_int running;
    pthread_cond_t done; /* signalled as each worker ends */
    struct live *live;   /* one per worker */
    atomic_int nlive;
};

#define LIVE_ADD(lv, f, n) atomic_fetch_add_explicit(&(lv)->f, (n), memory_order_relaxed)
#define LIVE_GET(lv, f) atomic_load_explicit(&(lv)->f, memory_order_relaxed)

static int collect_ref(const struct xp_experiment_ref *ref, void *payload)
{
    struct copy_run *run = payload;
    run->st.listed_all++;
    const struct xp_copy_opts *o = run->o;
    if (o->shard_n > 1 &&
        xp_shard_of(ref->workspace, ref->project,
                    xp_shard_key(o->scope ? o->scope->path : NULL, ref->key),
                    o->shard_n) != o->shard_k)
        return 0; /* another shard's */
    if (run->nrefs == run->cap) {
        run->cap = run->cap ? run->cap * 2 : 64;
        run->refs = xp_realloc(run->refs, run->cap * sizeof(*run->refs));
    }
    struct ref_item *it = &run->refs[run->nrefs++];
    it->workspace = xp_strdup(ref->workspace);
    it->project = xp_strdup(ref->project);
    it->name = xp_strdup(ref->name);
    it->key = xp_strdup(ref->key);
    it->size_hint = ref->size_hint;
    it->skip_note = NULL;
    return 0;
}

static int ref_cmp(const void *a, const void *b)
{
    const struct ref_item *x = a, *y = b;
    int c = strcmp(x->workspace, y->workspace);
    if (!c)
        c = strcmp(x->project, y->project);
    if (!c)
        c = strcmp(x->name, y->name);
    return c;
}

static int collect_dst(const struct xp_experiment_ref *ref, void *payload)
{
    struct ref_list *l = payload;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xp_realloc(l->v, l->cap * sizeof(*l->v));
    }
    struct ref_item *it = &l->v[l->n++];
    memset(it, 0, sizeof(*it));
    it->workspace = xp_strdup(ref->workspace);
    it->project = xp_strdup(ref->project);
    it->name = xp_strdup(ref->name);
    it->key = xp_strdup(ref->key);
    it->size_hint = ref->size_hint;
    return 0;
}

/* Where the destination puts a source experiment's workspace/project. */
#define DST_WS(o, ws) ((o)->dst_workspace ? (o)->dst_workspace : (ws))
#define DST_PROJ(o, proj) ((o)->dst_project ? (o)->dst_project : (proj))

/* First destination ref with the given names (name NULL: any in project,
 * project NULL: any in workspace): a binary search of the sorted list, ""
 * standing for "any" as the least name. */
static const struct ref_item *dst_find(const struct ref_list *l, const char *ws,
                                       const char *proj, const char *name)
{
    struct ref_item key = {(char *)ws, (char *)(proj ? proj : ""),
                           (char *)(proj && name ? name : ""), NULL, 0, NULL};
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ref_cmp(&l->v[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == l->n)
        return NULL;
    const struct ref_item *d = &l->v[lo];
    if (!strcmp(d->workspace, ws) && (!proj || !strcmp(d->project, proj)) &&
        (!name || !strcmp(d->name, name)))
        return d;
    return NULL;
}

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

static void add_stats(struct copy_run *run, const struct xp_exp_result *r)
{
    run->st.series += r->series;
    run->st.points += r->points;
    run->st.logs += r->logs;
    run->st.files += r->files;
    run->st.bytes += r->bytes;
}

#define MSG_CAP sizeof(((struct xp_error *)0)->message)

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
         dst_find(&x->run->dstrefs, DST_WS(o, it->workspace), DST_PROJ(o, it->project),
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
    const struct ref_item *d = dst_find(&run->dstrefs, DST_WS(run->o, x->it->workspace),
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
    struct xp_write_opts wo = {run->resources, run->o->overwrite, run->o->resume};
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
static int copy_one(struct copy_run *run, struct ref_item *it, struct live *lv,
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

/* sync --delete: rclone's delete-after, gated by the journal's provenance
 * (only what xport copied) and the source's scope. */
static void delete_missing(struct copy_run *run)
{
    const struct xp_copy_opts *o = run->o;
    if (!o->journal) {
        xp_ctx_warn(run->src->ctx, "--delete needs a journal; nothing was deleted");
        return;
    }
    struct ref_list srcs = {run->refs, run->nrefs, run->nrefs};
    if (srcs.n)
        qsort(srcs.v, srcs.n, sizeof(*srcs.v), ref_cmp);
    for (size_t i = 0; i < run->dstrefs.n; i++) {
        struct ref_item *d = &run->dstrefs.v[i];
        if (srcs.n && bsearch(d, srcs.v, srcs.n, sizeof(*srcs.v), ref_cmp))
            continue;
        if (!xp_journal_created(o->journal, d->workspace, d->project, d->name))
            continue; /* not ours: never touched */
        if (o->scope && !xp_location_selects(o->scope, d->workspace, d->project, d->name))
            continue;
        struct xp_exp_result res = {0};
        res.workspace = d->workspace;
        res.project = d->project;
        res.name = d->name;
        res.outcome = XP_EXP_DELETED;
        int rc = 0;
        if (!o->dry_run) {
            struct xp_experiment_ref ref = {d->workspace, d->project, d->name, d->key, -1};
            rc = xp_adapter_delete(run->dst, &ref);
            if (!rc)
                rc = xp_journal_record(o->journal, d->workspace, d->project, d->name,
                                       NULL, d->key, "deleted", NULL);
        }
        char msg[sizeof(((struct xp_error *)0)->message)];
        if (rc) {
            res.outcome = XP_EXP_FAILED;
            res.code = rc;
            snprintf(msg, sizeof(msg), "cannot delete: %.900s", xp_error_last()->message);
            res.message = msg;
        }
        pthread_mutex_lock(&run->lock);
        if (rc) {
            run->st.failed++;
            if (!run->first_err)
                run->first_err = rc;
        } else {
            run->st.deleted++;
        }
        if (o->experiment_done)
            o->experiment_done(o->payload, &res);
        pthread_mutex_unlock(&run->lock);
    }
}

/* The live counts of lv to zero, as its experiment's totals join the run's
 * (under the run's lock). */
static void live_reset(struct live *lv, const struct ref_item *it)
{
    atomic_store(&lv->series, 0);
    atomic_store(&lv->points, 0);
    atomic_store(&lv->logs, 0);
    atomic_store(&lv->files, 0);
    atomic_store(&lv->bytes, 0);
    atomic_store(&lv->reading.done, 0);
    atomic_store(&lv->reading.total, 0);
    lv->it = it;
}

static void *worker(void *arg)
{
    struct copy_run *run = arg;
    struct live *lv = &run->live[atomic_fetch_add(&run->nlive, 1)];
    struct xp_progress *was = xp_progress_bind(&lv->reading);
    for (;;) {
        size_t i = atomic_fetch_add(&run->next, 1);
        if (i >= run->nrefs)
            break;
        struct ref_item *it = &run->refs[i];
        struct xp_exp_result res = {0};
        res.workspace = it->workspace;
        res.project = it->project;
        res.name = it->name;
        if ((run->src->ctx && xp_ctx_cancelled(run->src->ctx)) ||
            atomic_load(&run->auth_failed))
            break; /* refused credentials will not get better for any worker */
        xp_error_clear();
        pthread_mutex_lock(&run->lock);
        live_reset(lv, it);
        pthread_mutex_unlock(&run->lock);
        char msg[MSG_CAP];
        int rc = copy_one(run, it, lv, &res, msg);
        if (rc) {
            res.outcome = XP_EXP_FAILED;
            res.code = rc;
            strcpy(msg, xp_error_last()->message[0] ? xp_error_last()->message
                                                     : xp_strerror(rc));
            res.message = msg;
        }
        if (rc && rc != XP_ECANCEL && run->o->journal)
            xp_journal_record(run->o->journal, it->workspace, it->project, it->name,
                              it->key, NULL, "failed", msg);
        pthread_mutex_lock(&run->lock);
        add_stats(run, &res);
        live_reset(lv, NULL);
        run->st.experiments_done++;
        if (res.outcome == XP_EXP_FAILED) {
            run->st.failed++;
            if (!run->first_err || run->first_err == XP_ECANCEL)
                run->first_err = rc;
            if (rc == XP_EAUTH)
                run->auth_failed = 1;
        } else if (res.outcome == XP_EXP_SKIPPED) {
            run->st.skipped++;
        } else if (res.outcome == XP_EXP_PARTIAL) {
            run->st.partial++;
        } else {
            run->st.copied++;
        }
        if (run->o->experiment_done)
            run->o->experiment_done(run->o->payload, &res);
        pthread_mutex_unlock(&run->lock);
        if (rc == XP_EAUTH)
            break; /* the credentials will not get better */
    }
    xp_progress_bind(was);
    pthread_mutex_lock(&run->lock);
    atomic_fetch_sub(&run->running, 1);
    pthread_cond_broadcast(&run->done);
    pthread_mutex_unlock(&run->lock);
    return NULL;
}

/* What the destination has, for the sync modes, --delete, and resume's
 * trust in the journal; marks what project/workspace sync skips. */
static int list_destination(struct copy_run *run)
{
    const struct xp_copy_opts *o = run->o;
    struct xp_adapter *dst = run->dst;
    int need_dst = dst && (o->sync != XP_SYNC_EXPERIMENT || o->delete_missing);
    /* resume trusts the journal's "done" only for what the destination has */
    int check_dst = dst && !o->dry_run && o->resume && o->journal &&
                    xp_adapter_can(dst->type, XP_CAP_LIST_PROJECTS);
    if (!need_dst && !check_dst)
        return 0;
    if (need_dst && dst->type->publish)
        return xp_error_set(XP_ENOTSUP, "'%s' is written whole by each run: it cannot be "
                            "synced by project or workspace, nor have experiments deleted",
                            dst->type->name);
    int drc = xp_adapter_list(dst, collect_dst, &run->dstrefs);
    if (drc == XP_ENOTSUP)
        return xp_error_wrap(drc, "cannot sync or delete");
    if (drc == XP_ENOTFOUND || (drc && !need_dst))
        xp_error_clear(); /* empty; or, for resume, what was not listed is read again */
    else if (drc)
        return drc;
    if (run->dstrefs.n)
        qsort(run->dstrefs.v, run->dstrefs.n, sizeof(*run->dstrefs.v), ref_cmp);
    run->dst_listed = 1;
    for (size_t i = 0; i < run->nrefs; i++) {
        struct ref_item *r = &run->refs[i];
        if (o->sync == XP_SYNC_PROJECT &&
            dst_find(&run->dstrefs, DST_WS(o, r->workspace), DST_PROJ(o, r->project), NULL))
            r->skip_note = "project exists";
        else if (o->sync == XP_SYNC_WORKSPACE &&
                 dst_find(&run->dstrefs, DST_WS(o, r->workspace), NULL, NULL))
            r->skip_note = "workspace exists";
    }
    return 0;
}

/* The run's totals with what the experiments in flight have moved so far
 * (under the run's lock). */
static void snapshot(struct copy_run *run, int jobs, struct xp_copy_stats *snap)
{
    *snap = run->st;
    snap->nactive = 0;
    for (int i = 0; i < jobs; i++) {
        struct live *lv = &run->live[i];
        if (!lv->it)
            continue;
        struct xp_copy_active a = {lv->it->workspace, lv->it->project, lv->it->name,
                                   LIVE_GET(lv, series), LIVE_GET(lv, points),
                                   LIVE_GET(lv, logs), LIVE_GET(lv, files),
                                   LIVE_GET(lv, bytes), LIVE_GET(&lv->reading, done),
                                   LIVE_GET(&lv->reading, total)};
        snap->series += a.series;
        snap->points += a.points;
        snap->logs += a.logs;
        snap->files += a.files;
        snap->bytes += a.bytes;
        if (snap->nactive < XP_COPY_ACTIVE_MAX)
            snap->active[snap->nactive] = a;
        snap->nactive++;
    }
}

/* -j workers over the listed experiments; this thread reports progress
 * about every 200 ms until they are done. */
static void run_workers(struct copy_run *run)
{
    const struct xp_copy_opts *o = run->o;
    int jobs = o->jobs > 0 ? o->jobs : 1;
    if ((size_t)jobs > run->nrefs)
        jobs = run->nrefs ? (int)run->nrefs : 1;
    pthread_t *th = xp_calloc((size_t)jobs, sizeof(*th));
    run->live = xp_calloc((size_t)jobs, sizeof(*run->live));
    atomic_store(&run->running, jobs);
    for (int i = 0; i < jobs; i++)
        pthread_create(&th[i], NULL, worker, run);
    pthread_mutex_lock(&run->lock);
    while (atomic_load(&run->running) > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&run->done, &run->lock, &ts);
        if (o->progress && atomic_load(&run->running) > 0) {
            struct xp_copy_stats snap;
            snapshot(run, jobs, &snap);
            pthread_mutex_unlock(&run->lock);
            o->progress(o->payload, &snap, 0);
            pthread_mutex_lock(&run->lock);
        }
    }
    pthread_mutex_unlock(&run->lock);
    for (int i = 0; i < jobs; i++)
        pthread_join(th[i], NULL);
    free(th);
    free(run->live);
    run->live = NULL;
    if (o->progress)
        o->progress(o->payload, &run->st, 1);
}

/* The run's result, most serious first; --delete runs only after a clean
 * pass (rclone's delete-after). */
static int conclude(struct copy_run *run, int list_rc, const char *list_msg)
{
    const struct xp_copy_opts *o = run->o;
    int cancelled = run->src->ctx && xp_ctx_cancelled(run->src->ctx);
    if (o->delete_missing && !cancelled && !run->st.failed && !run->st.partial && !list_rc)
        delete_missing(run);
    if (cancelled)
        return xp_error_set(XP_ECANCEL, "interrupted");
    if (run->auth_failed)
        return xp_error_set(XP_EAUTH, "credentials were refused");
    if (run->st.failed)
        return xp_error_set(run->first_err ? run->first_err : XP_ERROR,
                            "%lld experiment(s) failed", (long long)run->st.failed);
    if (list_rc)
        return xp_error_set(list_rc, "%s", list_msg);
    if (run->st.partial)
        return xp_error_set(XP_EINVALID, "%lld experiment(s) are partial",
                            (long long)run->st.partial);
    if (run->st.experiments_done < (int64_t)run->nrefs)
        return xp_error_set(XP_ERROR, "%lld experiment(s) were not attempted",
                            (long long)((int64_t)run->nrefs - run->st.experiments_done));
    return 0;
}

static void refs_free(struct ref_item *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].workspace);
        free(v[i].project);
        free(v[i].name);
        free(v[i].key);
    }
    free(v);
}

int xp_copy(struct xp_adapter *src, struct xp_adapter *dst,
            const struct xp_copy_opts *o, struct xp_copy_stats *stats)
{
    struct copy_run run;
    memset(&run, 0, sizeof(run));
    run.src = src;
    run.dst = dst;
    run.o = o;
    run.resources = o->resources ? o->resources : XP_RES_ALL;
    pthread_mutex_init(&run.lock, NULL);
    pthread_cond_init(&run.done, NULL);
    char list_msg[MSG_CAP] = "";
    int rc = 0, list_rc = 0;
    if (!o->dry_run && !dst) {
        rc = xp_error_set(XP_EINVALID, "no destination");
        goto out;
    }
    if (!o->dry_run && dst->type->publish && (o->resume || o->shard_n > 1)) {
        /* written whole by one run: a resumed run would publish only what it
         * carried itself, a shard only its share over the others' */
        rc = xp_error_set(XP_ENOTSUP, "'%s' is written whole by each run: %s (run again "
                          "without it to build it anew)", dst->type->name,
                          o->resume ? "--resume cannot continue it"
                                    : "--shard cannot write a part of it");
        goto out;
    }
    list_rc = xp_adapter_list(src, collect_ref, &run);
    if (list_rc && (list_rc == XP_ENOTSUP || list_rc == XP_EAUTH ||
                    list_rc == XP_ECANCEL || run.nrefs == 0)) {
        rc = list_rc;
        goto out;
    }
    if (list_rc) /* keep going with what was listed; report the listing failure */
        snprintf(list_msg, sizeof(list_msg), "%s", xp_error_last()->message);
    run.st.experiments_listed = (int64_t)run.nrefs;
    if (!list_rc && o->journal && !o->dry_run &&
        xp_journal_listed(o->journal, run.st.experiments_listed, run.st.listed_all))
        xp_error_clear(); /* only xport status reads it: "remaining" stays unknown */
    if (o->resume && dst && !o->dry_run && !xp_adapter_can(dst->type, XP_CAP_RESUME))
        xp_ctx_warn(src->ctx, "adapter '%s' keeps no items of an interrupted attempt: "
                    "unfinished experiments are written again whole", dst->type->name);
    if ((rc = list_destination(&run)))
        goto out;
    run_workers(&run);
    rc = conclude(&run, list_rc, list_msg);
out:
    if (dst && !o->dry_run && dst->type->publish) {
        /* a destination written whole (an archive): now, or nothing */
        int prc = dst->type->publish(dst, rc == 0);
        if (!rc && prc)
            rc = prc;
    }
    if (stats)
        *stats = run.st;
    refs_free(run.refs, run.nrefs);
    refs_free(run.dstrefs.v, run.dstrefs.n);
    pthread_mutex_destroy(&run.lock);
    pthread_cond_destroy(&run.done);
    return rc;
}
