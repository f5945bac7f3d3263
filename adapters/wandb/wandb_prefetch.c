/* A .wandb log read ahead on a second thread (wandb_prefetch.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wandb_log.h"
#include "wandb_prefetch.h"
#include "wandb_rows.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/ring.h"

#define NBATCH 4
#define BATCH_BYTES (1u << 20) /* a batch closes past this; one record may exceed it */

/* An entry in a batch: this header, then len bytes padded to 8 so that the
 * next header and a packed row's fields are aligned. */
struct enthdr {
    int64_t off;
    uint64_t len;
    uint32_t kind;
    uint32_t key;
};

struct batch {
    struct xp_buf bytes; /* enthdr, payload, enthdr, payload ... */
    int end;             /* the last batch: rc says why */
    int rc;
    char msg[1024];
};

struct wpre {
    struct wlog *l;
    struct xp_ring *ring;
    int rows;
    struct wrows packer; /* the thread's own */
    struct batch *filling;
    struct batch *cur; /* the caller's batch and position in it */
    size_t pos;
};

static size_t padded(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static void put_entry(struct batch *b, enum wpre_kind kind, int64_t off,
                      uint32_t key, const void *data, size_t len)
{
    static const char zeros[8];
    struct enthdr h = {off, len, (uint32_t)kind, key};
    xp_buf_put(&b->bytes, &h, sizeof(h));
    xp_buf_put(&b->bytes, data, len);
    xp_buf_put(&b->bytes, zeros, padded(len) - len);
}

static void new_key(void *arg, uint32_t id, const char *name, size_t len)
{
    struct wpre *p = arg;
    put_entry(p->filling, WPRE_KEY, 0, id, name, len);
}

static int fill(void *slot, void *arg)
{
    struct wpre *p = arg;
    struct batch *b = slot;
    if (!b->bytes.ptr) /* slots start zeroed */
        xp_buf_init(&b->bytes);
    xp_buf_reset(&b->bytes);
    p->filling = b;
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
        if (p->rows && wrows_pack(&p->packer, d, n, SIZE_MAX, new_key, p))
            put_entry(b, WPRE_ROW, p->l->rec_off, 0, p->packer.row.ptr,
                      p->packer.row.len);
        else
            put_entry(b, WPRE_RECORD, p->l->rec_off, 0, d, n);
    }
    return XP_RING_MORE;
}

int wpre_start(struct wpre **out, struct wlog *l, int rows)
{
    struct wpre *p = xp_calloc(1, sizeof(*p));
    p->l = l;
    p->rows = rows;
    wrows_init(&p->packer);
    int rc = xp_ring_start(&p->ring, NBATCH, sizeof(struct batch), fill, p);
    if (rc) {
        wrows_release(&p->packer);
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int wpre_next(struct wpre *p, struct wpre_entry *e)
{
    for (;;) {
        if (!p->cur) {
            p->cur = xp_ring_next(p->ring);
            p->pos = 0;
        }
        struct batch *b = p->cur;
        if (p->pos + sizeof(struct enthdr) <= b->bytes.len) {
            struct enthdr h;
            memcpy(&h, b->bytes.ptr + p->pos, sizeof(h));
            e->kind = (enum wpre_kind)h.kind;
            e->off = h.off;
            e->key = h.key;
            e->data = (const unsigned char *)b->bytes.ptr + p->pos + sizeof(h);
            e->len = (size_t)h.len;
            p->pos += sizeof(h) + padded((size_t)h.len);
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
    xp_ring_stop(p->ring, release_batch); /* joins: the packer is ours */
    wrows_release(&p->packer);
    free(p);
}
