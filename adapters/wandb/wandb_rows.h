/* History records made compact on the prefetch thread, so that the
 * decoder neither walks their protobuf nor parses their numbers: a row is
 * its HistoryStep and its items in order, each a key number and a value,
 * parsed (wval_scalar) or left as text (strings, JSON, and whatever the
 * packer was told not to parse). Keys are numbered 0, 1, 2 ... as they
 * first appear; the caller announces each new one before the row using it.
 *
 * Only records the decoder would read exactly as the row says are packed:
 * one HistoryRecord beside fields the decoder ignores, every item a single
 * valid key with a value, the protobuf intact. Anything else (nested keys,
 * damage, other records) goes to the decoder as it is, which then does
 * what it always did, so both ways give the same points, series (in the
 * same order) and warnings.
 *
 * Ownership: the caller owns the packer (wrows_release). */
#ifndef XPORT_WANDB_ROWS_H
#define XPORT_WANDB_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "xport/buf.h"
#include "xport/record.h"
#include "wandb_names.h"

#define WROW_TEXT 0xff /* wrow_item.type of a value left as text */

struct wrow_item {
    uint32_t key;
    uint8_t type; /* enum xp_vtype, or WROW_TEXT */
    uint8_t pad[3];
    union {
        int64_t i;
        double d;
        int32_t b;
        uint64_t len; /* WROW_TEXT: the text's, which follows the item */
    } u;
};

/* A row: this header, then nitems items, each a struct wrow_item and, for
 * a WROW_TEXT one, its text padded to 8 bytes (in place: one copy). */
struct wrow {
    int64_t record_step;
    uint32_t nitems;
    uint32_t has_record_step;
};

static inline size_t wrow_padded(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static inline const struct wrow_item *wrow_first(const struct wrow *w)
{
    return (const struct wrow_item *)(const void *)(w + 1);
}

/* The text of a WROW_TEXT item. */
static inline const char *wrow_item_text(const struct wrow_item *it)
{
    return (const char *)(it + 1);
}

/* The item after it. */
static inline const struct wrow_item *wrow_next(const struct wrow_item *it)
{
    size_t text = it->type == WROW_TEXT ? wrow_padded((size_t)it->u.len) : 0;
    return (const struct wrow_item *)(const void *)((const char *)(it + 1) +
                                                    text);
}

/* A parsed item's value (type is not WROW_TEXT). */
void wrow_value(struct xp_value *v, const struct wrow_item *it);

struct wrows {
    struct wnames keys;
    size_t announced; /* keys numbered below this are known to the reader */
    uint32_t *order;  /* the key number at each position of the last row */
    size_t norder;
};

void wrows_init(struct wrows *p);
void wrows_release(struct wrows *p);

/* Pack the record data[0..len) onto the end of out, which must end 8-byte
 * aligned: 1 with the row appended (its first `parse` items parsed where
 * they are scalars), 0 with out as it was when the record is not one to
 * pack. Either way, keys numbered for the first time are then those from
 * p->announced to p->keys.n: the caller makes them known before the row
 * and moves p->announced on. */
int wrows_pack(struct wrows *p, const unsigned char *data, size_t len,
               size_t parse, struct xp_buf *out);

#endif
