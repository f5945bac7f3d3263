/* A .wandb log read ahead on a second thread (wandb_prefetch.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wandb_log.h"
#include "wandb_prefetch.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/ring.h"

#define NBATCH 4
#define BATCH_BYTES (1u << 20) /* a batch closes past this; one record may exceed it */

struct rechdr {
    int64_t off;
    uint64_t len;
};

struct batch {
    struct xp_buf bytes; /* rechdr, payload, rechdr, payload ... */
    int end;             /* the last batch: rc says why */
    int rc;
    char msg[1024];
};

struct wpre {
    struct wlog *l;
    struct xp_ring *ring;
    struct batch *cur; /* the caller's batch and position in it */
    size_t pos;
};

static int fill(void *slot, void *arg)
{
    struct wpre *p = arg;
    struct batch *b = slot;
    if (!b->bytes.ptr) /* slots start zeroed */
        xp_buf_init(&b->bytes);
    xp_buf_reset(&b->bytes);
    while (b->bytes.len < BATCH_BYTES) {
        const unsigned char *d;
        size_t n;
        int rc = wlog_next(p->l, &d, &n);
        if (rc) {
            b->end = 1;
            b->rc = rc;
            snprintf(b->msg, sizeof(b->msg), "%s",
                     rc == XP_ITEROVER ? "" : xp_error_last()->message);
            return XP_RING_LAST;
        }
        struct rechdr h = {p->l->rec_off, n};
        xp_buf_put(&b->bytes, &h, sizeof(h));
        xp_buf_put(&b->bytes, d, n);
    }
    return XP_RING_MORE;
}

int wpre_start(struct wpre **out, struct wlog *l)
{
    struct wpre *p = xp_calloc(1, sizeof(*p));
    p->l = l;
    int rc = xp_ring_start(&p->ring, NBATCH, sizeof(struct batch), fill, p);
    if (rc) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int wpre_next(struct wpre *p, const unsigned char **data, size_t *len,
              int64_t *off)
{
    for (;;) {
        if (!p->cur) {
            p->cur = xp_ring_next(p->ring);
            p->pos = 0;
        }
        struct batch *b = p->cur;
        if (p->pos + sizeof(struct rechdr) <= b->bytes.len) {
            struct rechdr h;
            memcpy(&h, b->bytes.ptr + p->pos, sizeof(h));
            *data = (const unsigned char *)b->bytes.ptr + p->pos + sizeof(h);
            *len = (size_t)h.len;
            *off = h.off;
            p->pos += sizeof(h) + (size_t)h.len;
            return 0;
        }
        if (b->end) /* stays on this batch: every later call says the same */
            return b->rc == XP_ITEROVER ? XP_ITEROVER : xp_error_set(b->rc, "%s", b->msg);
        p->cur = NULL; /* the next xp_ring_next hands this batch back */
    }
}

static void release_batch(void *slot)
{
    struct batch *b = slot;
    if (b->bytes.ptr)
        xp_buf_release(&b->bytes);
}

void wpre_stop(struct wpre *p)
{
    if (!p)
        return;
    xp_ring_stop(p->ring, release_batch);
    free(p);
}
