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
#include "xport/readahead.h"
#include "xport/stream.h"
#include "xport/verify.h"

/* ---- record order (libarchive-style state check) ---- */

enum { ORD_START, ORD_IN_EXP, ORD_IN_SERIES, ORD_DONE };

int xp_reader_check_order(const struct xp_record *rec, int *state)
{
    int s = *state, ok;
    switch (rec->kind) {
    case XP_REC_EXPERIMENT: ok = s == ORD_START; s = ORD_IN_EXP; break;
    case XP_REC_SERIES_BEGIN: ok = s == ORD_IN_EXP; s = ORD_IN_SERIES; break;
    case XP_REC_POINTS: ok = s == ORD_IN_SERIES; break;
    case XP_REC_SERIES_END: ok = s == ORD_IN_SERIES; s = ORD_IN_EXP; break;
    case XP_REC_DOCUMENT:
    case XP_REC_LOGS:
    case XP_REC_FILE: ok = s == ORD_IN_EXP; break;
    case XP_REC_END: ok = s == ORD_IN_EXP; s = ORD_DONE; break;
    default: ok = 0;
    }
    if (!ok)
        return xp_error_set(XP_EINVALID, "adapter bug: record '%s' out of order",
                            xp_rec_kind_name(rec->kind));
    *state = s;
    return 0;
}

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
};

static int collect_ref(const struct xp_experiment_ref *ref, void *payload)
{
    struct copy_run *run = payload;
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

/* Counts bytes of file bodies as the sink reads them. */
struct counting_stream {
    struct xp_stream base;
    struct xp_stream *inner;
    int64_t bytes;
};

static ssize_t counting_read(struct xp_stream *s, void *buf, size_t len)
{
    struct counting_stream *c = (struct counting_stream *)s;
    ssize_t n = c->inner->read(c->inner, buf, len);
    if (n > 0)
        c->bytes += n;
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

static int copy_one(struct copy_run *run, struct ref_item *it,
                    struct xp_exp_result *res, char *msg)
{
    struct xp_experiment_ref ref = {it->workspace, it->project, it->name,
                                    it->key, it->size_hint};
    struct have_ctx have = {NULL, &res->items_resumed};
    struct xp_read_opts ro = {run->resources, NULL, NULL, NULL};
    struct xp_reader *rd = NULL;
    struct xp_sink *sink = NULL;
    const struct xp_record *rec;
    int state = ORD_START, rc, skipping_series = 0, committed = 0, partial = 0;
    unsigned drop_mask = 0;
    enum xp_series_kind cur = XP_SERIES_METRIC;
    struct xp_ctx *ctx = run->src->ctx;
    struct xp_buf key = XP_BUF_INIT;

    /* done in an earlier run, and (when the destination can say) still there */
    if (run->o->journal && run->o->resume &&
        xp_journal_done(run->o->journal, it->workspace, it->project, it->name) &&
        (!run->dst_listed ||
         dst_find(&run->dstrefs, DST_WS(run->o, it->workspace),
                  DST_PROJ(run->o, it->project), it->name))) {
        res->outcome = XP_EXP_SKIPPED;
        res->note = "done in an earlier run";
        return 0;
    }
    if (it->skip_note) {
        res->outcome = XP_EXP_SKIPPED;
        res->note = it->skip_note;
        check_partial(run, it, res, msg);
        return 0;
    }
    if (run->o->resume && !run->o->dry_run) {
        ro.have_item = have_item_cb;
        ro.have_payload = &have;
    }

    if ((rc = xp_adapter_read(&rd, run->src, &ref, &ro)))
        goto done;
    /* decode on a second thread while this one writes; not when the reader
     * asks the sink about items (resume), which must stay on one thread */
    struct xp_reader *ahead;
    if (!ro.have_item && !getenv("XPORT_NO_READAHEAD") && !xp_readahead_wrap(&ahead, rd))
        rd = ahead;
    if ((rc = xp_reader_next(rd, &rec)))
        goto done;
    if ((rc = xp_reader_check_order(rec, &state)))
        goto done;
    if (!run->o->dry_run) {
        struct xp_write_opts wo = {run->resources, run->o->overwrite, run->o->resume};
        rc = xp_adapter_write(&sink, run->dst, &rec->u.exp, &wo);
        const struct ref_item *d;
        if (rc == XP_EEXISTS && run->o->sync == XP_SYNC_ALL &&
            (d = dst_find(&run->dstrefs, DST_WS(run->o, it->workspace),
                          DST_PROJ(run->o, it->project), it->name))) {
            /* sync all: equal experiments stay; others are rewritten */
            struct xp_experiment_ref dref = {d->workspace, d->project, d->name,
                                             d->key, d->size_hint};
            struct xp_verify_opts vo = {run->resources, NULL, NULL, 1};
            long ndiff = 0;
            rc = xp_verify_experiment(run->src, &ref, run->dst, &dref, &vo, &ndiff);
            if (rc == 0) {
                res->outcome = XP_EXP_SKIPPED;
                res->note = "up to date";
                goto done;
            }
            if (rc != XP_EINVALID || !ndiff)
                goto done;
            xp_error_clear();
            res->note = "updated";
            wo.overwrite = 1;
            rc = xp_adapter_write(&sink, run->dst, &rec->u.exp, &wo);
        }
        if (rc == XP_EEXISTS) {
            res->outcome = XP_EXP_SKIPPED;
            rc = 0;
            goto done;
        }
        if (rc)
            goto done;
        have.sink = sink;
        if ((rc = put_counted(sink, rec, cur, &drop_mask)))
            goto done;
    }
    for (;;) {
        if (ctx && xp_ctx_cancelled(ctx)) {
            rc = xp_error_set(XP_ECANCEL, "interrupted");
            goto done;
        }
        rc = xp_reader_next(rd, &rec);
        if (rc == XP_ITEROVER) {
            if (state != ORD_DONE)
                rc = xp_error_set(XP_EINVALID, "adapter bug: reader ended early");
            else
                rc = 0;
            break;
        }
        if (rc)
            goto done;
        if ((rc = xp_reader_check_order(rec, &state)))
            goto done;
        if (rec->kind == XP_REC_SERIES_BEGIN)
            cur = rec->u.series.kind;
        int wanted = (resource_of(rec, cur) & run->resources) != 0;
        /* resume: items the destination kept from an interrupted attempt */
        if (sink && sink->has_item && wanted &&
            (rec->kind == XP_REC_SERIES_BEGIN || rec->kind == XP_REC_FILE)) {
            xp_item_key(&key, rec);
            if (xp_sink_has_item(sink, key.ptr)) {
                res->items_resumed++;
                if (rec->kind == XP_REC_SERIES_BEGIN) {
                    skipping_series = 1;
                } else {
                    int64_t b = 0;
                    if ((rc = drain(rec->u.file.body, &b)))
                        goto done;
                }
                continue;
            }
        }
        if (skipping_series) {
            if (rec->kind == XP_REC_SERIES_END)
                skipping_series = 0;
            continue;
        }
        if (wanted) {
            switch (rec->kind) {
            case XP_REC_SERIES_BEGIN: res->series++; break;
            case XP_REC_POINTS: res->points += (int64_t)rec->u.points.n; break;
            case XP_REC_LOGS: res->logs += (int64_t)rec->u.logs.n; break;
            case XP_REC_FILE: res->files++; break;
            default: break;
            }
        }
        if (rec->kind == XP_REC_FILE && (!wanted || run->o->dry_run)) {
            int64_t b = 0;
            if (wanted && run->o->dry_run && rec->u.file.meta.size >= 0)
                b = rec->u.file.meta.size; /* no need to read it */
            else if ((rc = drain(rec->u.file.body, &b)))
                goto done;
            if (wanted)
                res->bytes += b;
            continue;
        }
        if (!wanted || run->o->dry_run)
            continue;
        if (rec->kind == XP_REC_FILE) {
            struct counting_stream cs = {{counting_read, NULL}, rec->u.file.body, 0};
            struct xp_record copy = *rec;
            copy.u.file.body = &cs.base;
            rc = put_counted(sink, &copy, cur, &drop_mask);
            res->bytes += cs.bytes;
        } else {
            rc = put_counted(sink, rec, cur, &drop_mask);
        }
        if (rc)
            goto done;
    }
    res->outcome = run->o->dry_run ? XP_EXP_PLANNED : XP_EXP_COPIED;
    if (sink) {
        int64_t seen = xp_sink_dropped(sink, NULL);
        rc = xp_sink_finish(sink, 1);
        committed = !rc;
        const char *first;
        int64_t dropped = xp_sink_dropped(sink, &first);
        if (dropped > seen)
            drop_mask |= XP_RES_ALL; /* dropped while committing: no telling which */
        if (!rc && dropped) {
            /* written, with holes: partial, now and in every later run */
            partial = 1;
            res->outcome = XP_EXP_PARTIAL;
            snprintf(msg, MSG_CAP, "%lld item(s) could not be carried to '%s' (the "
                     "rest was copied); first: %s", (long long)dropped,
                     run->dst->type->name, first);
            res->message = msg;
        }
    }
done:
    if (!rc && res->outcome == XP_EXP_SKIPPED)
        check_partial(run, it, res, msg);
    if (!rc && run->o->journal && !run->o->dry_run) {
        const char *did = xp_sink_dest_id(sink);
        if (partial)
            rc = xp_journal_record_partial(run->o->journal, it->workspace, it->project,
                                           it->name, it->key, did, drop_mask,
                                           xp_sink_dropped(sink, NULL), dropped_first(sink));
        else if (res->outcome != XP_EXP_PARTIAL) /* an earlier run's: known */
            rc = xp_journal_record(run->o->journal, it->workspace, it->project,
                                   it->name, it->key, did,
                                   res->outcome == XP_EXP_SKIPPED ? "skipped" : "copied",
                                   NULL);
    }
    xp_buf_release(&key);
    if (rc && sink && !committed)
        xp_sink_finish(sink, 0);
    xp_sink_free(sink);
    xp_reader_free(rd);
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

static void *worker(void *arg)
{
    struct copy_run *run = arg;
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
        char msg[MSG_CAP];
        int rc = copy_one(run, it, &res, msg);
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
    pthread_mutex_lock(&run->lock);
    atomic_fetch_sub(&run->running, 1);
    pthread_cond_broadcast(&run->done);
    pthread_mutex_unlock(&run->lock);
    return NULL;
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
    int rc = 0, list_rc = 0;
    char list_msg[sizeof(((struct xp_error *)0)->message)] = "";

    if (!o->dry_run && !dst) {
        rc = xp_error_set(XP_EINVALID, "no destination");
        goto out;
    }
    list_rc = xp_adapter_list(src, collect_ref, &run);
    if (list_rc == XP_ENOTSUP) {
        rc = list_rc;
        goto out;
    }
    if (list_rc) {
        if (list_rc == XP_EAUTH || list_rc == XP_ECANCEL || run.nrefs == 0) {
            rc = list_rc;
            goto out;
        }
        /* keep going with what was listed; report the listing failure */
        strcpy(list_msg, xp_error_last()->message);
    }
    run.st.experiments_listed = (int64_t)run.nrefs;
    int need_dst = dst && (o->sync != XP_SYNC_EXPERIMENT || o->delete_missing);
    /* resume trusts the journal's "done" only for what the destination has */
    int check_dst = dst && !o->dry_run && o->resume && o->journal &&
                    xp_adapter_can(dst->type, XP_CAP_LIST_PROJECTS);
    if (need_dst || check_dst) {
        int drc = xp_adapter_list(dst, collect_dst, &run.dstrefs);
        if (drc == XP_ENOTSUP) {
            rc = xp_error_wrap(drc, "cannot sync or delete");
            goto out;
        }
        if (drc == XP_ENOTFOUND) { /* an empty destination */
            xp_error_clear();
        } else if (drc && !need_dst) {
            xp_error_clear(); /* resume: what was not listed is read again */
        } else if (drc) {
            rc = drc;
            goto out;
        }
        if (run.dstrefs.n)
            qsort(run.dstrefs.v, run.dstrefs.n, sizeof(*run.dstrefs.v), ref_cmp);
        run.dst_listed = 1;
        for (size_t i = 0; i < run.nrefs; i++) {
            struct ref_item *r = &run.refs[i];
            if (o->sync == XP_SYNC_PROJECT &&
                dst_find(&run.dstrefs, DST_WS(o, r->workspace), DST_PROJ(o, r->project), NULL))
                r->skip_note = "project exists";
            else if (o->sync == XP_SYNC_WORKSPACE &&
                     dst_find(&run.dstrefs, DST_WS(o, r->workspace), NULL, NULL))
                r->skip_note = "workspace exists";
        }
    }
    int jobs = o->jobs > 0 ? o->jobs : 1;
    if ((size_t)jobs > run.nrefs)
        jobs = run.nrefs ? (int)run.nrefs : 1;
    pthread_t *th = xp_calloc((size_t)jobs, sizeof(*th));
    atomic_store(&run.running, jobs);
    for (int i = 0; i < jobs; i++)
        pthread_create(&th[i], NULL, worker, &run);
    pthread_mutex_lock(&run.lock);
    while (atomic_load(&run.running) > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&run.done, &run.lock, &ts);
        if (o->progress && atomic_load(&run.running) > 0) {
            struct xp_copy_stats snap = run.st;
            pthread_mutex_unlock(&run.lock);
            o->progress(o->payload, &snap, 0);
            pthread_mutex_lock(&run.lock);
        }
    }
    pthread_mutex_unlock(&run.lock);
    for (int i = 0; i < jobs; i++)
        pthread_join(th[i], NULL);
    free(th);
    if (o->progress)
        o->progress(o->payload, &run.st, 1);

    int cancelled = src->ctx && xp_ctx_cancelled(src->ctx);
    if (o->delete_missing && !cancelled && !run.st.failed && !run.st.partial && !list_rc)
        delete_missing(&run);
    if (cancelled)
        rc = xp_error_set(XP_ECANCEL, "interrupted");
    else if (run.auth_failed)
        rc = xp_error_set(XP_EAUTH, "credentials were refused");
    else if (run.st.failed)
        rc = xp_error_set(run.first_err ? run.first_err : XP_ERROR,
                          "%lld experiment(s) failed",
                          (long long)run.st.failed);
    else if (list_rc)
        rc = xp_error_set(list_rc, "%s", list_msg);
    else if (run.st.partial)
        rc = xp_error_set(XP_EINVALID, "%lld experiment(s) are partial",
                          (long long)run.st.partial);
    else if (run.st.experiments_done < (int64_t)run.nrefs)
        rc = xp_error_set(XP_ERROR, "%lld experiment(s) were not attempted",
                          (long long)((int64_t)run.nrefs - run.st.experiments_done));
out:
    if (stats)
        *stats = run.st;
    for (size_t i = 0; i < run.nrefs; i++) {
        free(run.refs[i].workspace);
        free(run.refs[i].project);
        free(run.refs[i].name);
        free(run.refs[i].key);
    }
    free(run.refs);
    for (size_t i = 0; i < run.dstrefs.n; i++) {
        free(run.dstrefs.v[i].workspace);
        free(run.dstrefs.v[i].project);
        free(run.dstrefs.v[i].name);
        free(run.dstrefs.v[i].key);
    }
    free(run.dstrefs.v);
    pthread_mutex_destroy(&run.lock);
    pthread_cond_destroy(&run.done);
    return rc;
}
