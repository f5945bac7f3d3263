/* A batch of points whose number of fields varies from point to point
 * (the lines of a track file, the joined points of a split series): the
 * fields of all its points in one growing array and each point's count
 * aside; the points' field pointers are set once the batch is complete,
 * since the array may move while it grows.
 *
 * Ownership: the caller owns struct wbatch (wbatch_release). */
#ifndef XPORT_WANDB_BATCH_H
#define XPORT_WANDB_BATCH_H

#include <stddef.h>

#include "xport/record.h"

struct wbatch {
    struct xp_point *pts; /* XP_POINTS_BATCH */
    size_t *nf;           /* each point's number of fields */
    struct xp_field *fields;
    size_t fcap;
};

void wbatch_init(struct wbatch *b);
void wbatch_release(struct wbatch *b);
/* Room for `more` fields after the first `used`. */
void wbatch_room(struct wbatch *b, size_t used, size_t more);
/* Point the first np points at their fields (nf[i] each, in order). */
void wbatch_finish(struct wbatch *b, size_t np);

#endif
