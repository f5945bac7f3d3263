/* The thread-bound progress counter (include/xport/progress.h). */
#include "xport/progress.h"

static _Thread_local struct xp_progress *bound;

struct xp_progress *xp_progress_bind(struct xp_progress *p)
{
    struct xp_progress *old = bound;
    bound = p;
    return old;
}

struct xp_progress *xp_progress_bound(void)
{
    return bound;
}

void xp_progress_set(int64_t done, int64_t total)
{
    struct xp_progress *p = bound;
    if (!p || total <= 0)
        return;
    atomic_store_explicit(&p->done, done < 0 ? 0 : done > total ? total : done,
                          memory_order_relaxed);
    atomic_store_explicit(&p->total, total, memory_order_relaxed);
}
