/* The copy pipeline (include/xport/copy.h): the run, its listing, workers,
 * progress snapshots and deletion; one experiment's stages are in
 * core/copy_one.c. */
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

#include "copy_int.h"

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


static void add_stats(struct copy_run *run, const struct xp_exp_result *r)
{
    run->st.series += r->series;
    run->st.points += r->points;
    run->st.logs += r->logs;
    run->st.files += r->files;
    run->st.bytes += r->bytes;
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
        qsort(srcs.v, srcs.n, sizeof(*srcs.v), copy_ref_cmp);
    for (size_t i = 0; i < run->dstrefs.n; i++) {
        struct ref_item *d = &run->dstrefs.v[i];
        if (srcs.n && bsearch(d, srcs.v, srcs.n, sizeof(*srcs.v), copy_ref_cmp))
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
        int cut = rc == XP_ECANCEL && run->src->ctx && xp_ctx_cancelled(run->src->ctx);
        if (rc) {
            res.outcome = cut ? XP_EXP_INTERRUPTED : XP_EXP_FAILED;
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
        int cut = rc == XP_ECANCEL && run->src->ctx && xp_ctx_cancelled(run->src->ctx);
        if (rc) {
            res.outcome = cut ? XP_EXP_INTERRUPTED : XP_EXP_FAILED;
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
        if (res.outcome == XP_EXP_INTERRUPTED) {
            run->st.interrupted++;
        } else if (res.outcome == XP_EXP_FAILED) {
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
        qsort(run->dstrefs.v, run->dstrefs.n, sizeof(*run->dstrefs.v), copy_ref_cmp);
    run->dst_listed = 1;
    for (size_t i = 0; i < run->nrefs; i++) {
        struct ref_item *r = &run->refs[i];
        if (o->sync == XP_SYNC_PROJECT &&
            copy_dst_find(&run->dstrefs, DST_WS(o, r->workspace), DST_PROJ(o, r->project), NULL))
            r->skip_note = "project exists";
        else if (o->sync == XP_SYNC_WORKSPACE &&
                 copy_dst_find(&run->dstrefs, DST_WS(o, r->workspace), NULL, NULL))
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
    if (dst && !o->dry_run && dst->type->publish && run.nrefs > 1)
        /* written whole, in this order (the sink's xp_write_opts.ordinal):
         * the same experiments give the same destination, whatever order
         * the source lists them in */
        qsort(run.refs, run.nrefs, sizeof(*run.refs), copy_ref_order);
    if (!list_rc && o->journal && !o->dry_run &&
        xp_journal_listed(o->journal, run.st.experiments_listed, run.st.listed_all)) {
        /* only xport status reads it: nothing is lost, "remaining" stays unknown */
        xp_ctx_warn(src->ctx, "%s (xport status will not know how many remain)",
                    xp_error_last()->message);
        xp_error_clear();
    }
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
