/* The shared read loop of one experiment (include/xport/walk.h): dispatch,
 * read-ahead, record order (a libarchive-style state check) and cancel. */
#include "xport/walk.h"

#include "xport/error.h"
#include "xport/readahead.h"

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

int xp_walk_open(struct xp_walk *w, struct xp_adapter *a,
                 const struct xp_experiment_ref *ref, const struct xp_read_opts *ro,
                 int readahead)
{
    w->rd = NULL;
    w->ctx = a->ctx;
    w->state = ORD_START;
    int rc = xp_adapter_read(&w->rd, a, ref, ro);
    struct xp_reader *ahead;
    if (!rc && readahead && !ro->have_item && !xp_readahead_wrap(&ahead, w->rd))
        w->rd = ahead;
    return rc;
}

int xp_walk_next(struct xp_walk *w, const struct xp_record **out)
{
    if (w->ctx && xp_ctx_cancelled(w->ctx))
        return xp_error_set(XP_ECANCEL, "interrupted");
    int rc = xp_reader_next(w->rd, out);
    if (rc == XP_ITEROVER && w->state != ORD_DONE)
        return xp_error_set(XP_EINVALID, "adapter bug: reader ended early");
    if (rc)
        return rc;
    return xp_reader_check_order(*out, &w->state);
}

void xp_walk_close(struct xp_walk *w)
{
    xp_reader_free(w->rd);
    w->rd = NULL;
}
