/* How far the current experiment's reading is, reported by adapters from
 * wherever the work happens (a reader's open that scans a whole file, or
 * its next), without a parameter through every layer: the copy pipeline
 * binds a counter to the thread that reads, as the error message is bound
 * to a thread (error.h). Adapters only call xp_progress_set.
 *
 * Ownership: the binder owns the counter and unbinds it before freeing. */
#ifndef XPORT_PROGRESS_H
#define XPORT_PROGRESS_H

#include <stdatomic.h>
#include <stdint.h>

struct xp_progress {
    /* done of total, in one unit the reader chose (bytes of its file,
     * points of the experiment); total 0: not known */
    _Atomic int64_t done, total;
};

/* Bind p (or NULL) to the calling thread; returns what was bound. */
struct xp_progress *xp_progress_bind(struct xp_progress *p);

/* The counter bound to the calling thread, or NULL. */
struct xp_progress *xp_progress_bound(void);

/* Report done of total (total > 0) to the bound counter, if any. Cheap
 * enough to call per record batch; a no-op on an unbound thread. */
void xp_progress_set(int64_t done, int64_t total);

#endif
