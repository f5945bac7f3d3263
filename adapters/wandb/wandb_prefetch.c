/* A .wandb log read ahead on a second thread (wandb_prefetch.h).
 *
 * Parsing a row's numbers is the one job either thread can do (the
 * decoder parses what the packer leaves as text), so the thread keeps the
 * two busy alike: before each batch it looks at how many batches the
 * decoder has yet to finish, and parses one item more per row when more
 * than half the ring is full (the decoder is the slower) and one less when
 * less is (it is faster: it finishes each batch soon after it is made). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wandb_log.h"
#include "wandb_prefetch.h"
#include "wandb_rows.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/ring.h"

#define NBATCH 8
#define BATCH_BYTES (256u << 10) /* a batch closes past this; one record may exceed it */
#define MAX_PARSE 4096 /* items per row: beyond any row seen in practice */

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

/* What each thread writes all the time lies apart, so that the two cores
 * do not pass the same cache line back and forth on every entry (the
 * packer's state changes with records, the caller's position with every
 * entry: sharing a line once cost 2.6% of the benchmark's profile). */
#define LINE 64

struct wpre {
    struct wlog *l;
    struct xp_ring *ring;
    int rows;
    char apart0[LINE];
    /* the thread's */
    struct wrows packer;
    size_t parse;  /* items per row this thread parses */
    size_t widest; /* the most items a row has had */
    char apart1[LINE];
    /* the caller's: its batch and position in it */
    struct batch *cur;
    size_t pos;
    char apart2[LINE];
    atomic_uint filled, taken; /* batches, for the balance */
};

static size_t padded(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static void pad(struct xp_buf *b)
{
    static const char zeros[8];
    xp_buf_put(b, zeros, padded(b->len) - b->len);
}

static void put_entry(struct xp_buf *b, enum wpre_kind kind, int64_t off,
                      uint32_t key, const void *data, size_t len)
{
    struct enthdr h = {off, len, (uint32_t)kind, key};
    xp_buf_put(b, &h, sizeof(h));
    xp_buf_put(b, data, len);
    pad(b);
}

/* One record into the batch: packed when it can be (wandb_rows.h), after
 * the names of the keys it numbered first. */
static void put_record(struct wpre *p, struct xp_buf *b,
                       const unsigned char *d, size_t n)
{
    size_t at = b->len;
    struct enthdr h = {p->l->rec_off, 0, WPRE_ROW, 0};
    xp_buf_put(b, &h, sizeof(h));
    int packed = p->rows && wrows_pack(&p->packer, d, n, p->parse, b);
    struct wrows *w = &p->packer;
    if (packed) {
        const struct wrow *row = (const void *)(b->ptr + at + sizeof(h));
        if (row->nitems > p->widest)
            p->widest = row->nitems;
        h.len = b->len - at - sizeof(h);
        memcpy(b->ptr + at, &h, sizeof(h));
    } else {
        xp_buf_setlen(b, at);
    }
    if (w->announced < w->keys.n) {
        /* rare: the names go first, so the row moves behind them */
        struct xp_buf row = XP_BUF_INIT;
        if (packed) {
            xp_buf_put(&row, b->ptr + at + sizeof(h), h.len);
            xp_buf_setlen(b, at);
        }
        for (; w->announced < w->keys.n; w->announced++)
            put_entry(b, WPRE_KEY, 0, (uint32_t)w->announced,
                      w->keys.v[w->announced].s, w->keys.v[w->announced].n);
        if (packed)
            put_entry(b, WPRE_ROW, h.off, 0, row.ptr, row.len);
        xp_buf_release(&row);
    }
    if (packed)
        pad(b);
    else
        put_entry(b, WPRE_RECORD, p->l->rec_off, 0, d, n);
}

static int fill(void *slot, void *arg)
{
    struct wpre *p = arg;
    struct batch *b = slot;
    if (!b->bytes.ptr) /* slots start zeroed */
        xp_buf_init(&b->bytes);
    xp_buf_reset(&b->bytes);
    unsigned waiting = atomic_load(&p->filled) - atomic_load(&p->taken);
    if (p->widest && p->parse > p->widest)
        p->parse = p->widest; /* more would not change a thing */
    if (waiting > NBATCH / 2 && p->parse < MAX_PARSE)
        p->parse++;
    else if (waiting < NBATCH / 2 && p->parse > 0)
        p->parse--;
    int how = XP_RING_MORE;
    while (b->bytes.len < BATCH_BYTES) {
        const unsigned char *d;
        size_t n;
        int rc = wlog_next(p->l, &d, &n);
        if (rc) {
            b->end = 1;
            b->rc = rc;
            snprintf(b->msg, sizeof(b->msg), "%s",
                     rc == XP_ITEROVER ? "" : xp_error_last()->message);
            how = XP_RING_LAST;
            break;
        }
        put_record(p, &b->bytes, d, n);
    }
    atomic_fetch_add(&p->filled, 1);
    return how;
}

int wpre_start(struct wpre **out, struct wlog *l, int rows)
{
    struct wpre *p = xp_calloc(1, sizeof(*p));
    p->l = l;
    p->rows = rows;
    p->parse = MAX_PARSE; /* until the decoder is seen to wait */
    atomic_init(&p->filled, 0);
    atomic_init(&p->taken, 0);
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
        atomic_fetch_add(&p->taken, 1);
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
