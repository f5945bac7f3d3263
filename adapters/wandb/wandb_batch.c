/* A batch of points with their fields (wandb_batch.h). */
#include <stdlib.h>
#include <string.h>

#include "xport/buf.h"
#include "wandb_batch.h"

void wbatch_init(struct wbatch *b)
{
    memset(b, 0, sizeof(*b));
    b->pts = xp_calloc(XP_POINTS_BATCH, sizeof(*b->pts));
    b->nf = xp_calloc(XP_POINTS_BATCH, sizeof(*b->nf));
}

void wbatch_release(struct wbatch *b)
{
    free(b->pts);
    free(b->nf);
    free(b->fields);
    memset(b, 0, sizeof(*b));
}

void wbatch_room(struct wbatch *b, size_t used, size_t more)
{
    if (used + more <= b->fcap)
        return;
    while (used + more > b->fcap)
        b->fcap = b->fcap ? b->fcap * 2 : 4096;
    b->fields = xp_realloc(b->fields, b->fcap * sizeof(*b->fields));
}

void wbatch_finish(struct wbatch *b, size_t np)
{
    size_t off = 0;
    for (size_t i = 0; i < np; i++) {
        b->pts[i].fields = b->fields + off;
        b->pts[i].nfields = b->nf[i];
        off += b->nf[i];
    }
}
