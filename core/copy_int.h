/* Private to the copy pipeline (core/copy.c runs it: listing, workers,
 * progress, deletion; core/copy_one.c moves one experiment through its
 * stages; core/copy_refs.c orders and finds refs): the run's shared state. Ownership: copy.c owns the run and its
 * refs; a worker owns its struct live. */
#ifndef XPORT_CORE_COPY_INT_H
#define XPORT_CORE_COPY_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "xport/copy.h"
#include "xport/error.h"
#include "xport/progress.h"

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

#define DST_WS(o, ws) ((o)->dst_workspace ? (o)->dst_workspace : (ws))
#define DST_PROJ(o, proj) ((o)->dst_project ? (o)->dst_project : (proj))
/* The size of an experiment result's message buffer. */
#define MSG_CAP sizeof(((struct xp_error *)0)->message)

/* copy_refs.c: refs ordered by workspace, project and name (qsort). */
int copy_ref_cmp(const void *a, const void *b);
/* copy_refs.c: copy_ref_cmp, then the source's key: a total order (two
 * experiments of one name are still told apart), the order in which a run
 * into a destination published whole hands experiments out. */
int copy_ref_order(const void *a, const void *b);
/* copy_refs.c: the first destination ref with the given names (name NULL: any in
 * project; project NULL: any in workspace), in the sorted list l. */
const struct ref_item *copy_dst_find(const struct ref_list *l, const char *ws,
                                     const char *proj, const char *name);

/* copy_one.c: one experiment, read, written, committed and recorded; res
 * and msg (MSG_CAP bytes) get its outcome; counted live in lv. */
int copy_one(struct copy_run *run, struct ref_item *it, struct live *lv,
             struct xp_exp_result *res, char *msg);

#endif
