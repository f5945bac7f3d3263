/* Walking one experiment's records: the read side every pipeline shares
 * (copy, sync's comparison, verify). It opens the source's reader through
 * the dispatch, runs it one step ahead on a second thread when allowed,
 * checks the record order, and stops at a cancel request.
 *
 * Ownership: the walk owns its reader; records it yields are borrowed until
 * the next call, as the reader interface says. */
#ifndef XPORT_WALK_H
#define XPORT_WALK_H

#include "sys/adapter.h"

struct xp_walk {
    struct xp_reader *rd;
    struct xp_ctx *ctx;
    int state; /* xp_reader_check_order's */
};

/* Open ref of a for reading with ro. readahead != 0 decodes on a second
 * thread (never when ro->have_item is set: that callback must stay on the
 * caller's thread). */
int xp_walk_open(struct xp_walk *w, struct xp_adapter *a,
                 const struct xp_experiment_ref *ref, const struct xp_read_opts *ro,
                 int readahead);
/* The next record, checked for order; XP_ITEROVER after END, and an
 * "adapter bug" error when the reader ends before END. */
int xp_walk_next(struct xp_walk *w, const struct xp_record **out);
void xp_walk_close(struct xp_walk *w);

/* Check that rec may follow the records seen so far; *state starts at 0.
 * Returns XP_EINVALID naming the record when it is out of order. */
int xp_reader_check_order(const struct xp_record *rec, int *state);

#endif
