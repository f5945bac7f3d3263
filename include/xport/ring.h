/* A producer thread feeding a caller through a few fixed slots: the shape
 * shared by every read-ahead in xport (core/readahead.c, the .wandb
 * prefetch). Memory is bounded by the slots whatever the data's size.
 *
 * The producer's fill() fills one slot at a time and says how to go on:
 * XP_RING_MORE (the next fill may start now), XP_RING_HOLD (wait until the
 * caller has moved past this slot: it borrows memory the next fill would
 * change) or XP_RING_LAST (no more fills). The caller takes slots in order
 * with xp_ring_next, which hands the previous slot back.
 *
 * Ownership: the ring owns its slots (slot_size bytes each, zeroed at
 * start); xp_ring_stop joins the producer, then hands each slot to
 * release() for what the fills allocated in it, then frees them. */
#ifndef XPORT_RING_H
#define XPORT_RING_H

#include <stddef.h>

enum { XP_RING_MORE = 0, XP_RING_HOLD, XP_RING_LAST };

struct xp_ring;

int xp_ring_start(struct xp_ring **out, size_t nslots, size_t slot_size,
                  int (*fill)(void *slot, void *arg), void *arg);
/* The next filled slot (blocks until there is one). Not to be called again
 * after the slot filled with XP_RING_LAST: the caller stays on that one. */
void *xp_ring_next(struct xp_ring *r);
/* Stop the producer (early or at the end), join it, release and free the
 * slots. release may be NULL. */
void xp_ring_stop(struct xp_ring *r, void (*release)(void *slot));

#endif
