/* History records made compact on the prefetch thread, so that the
 * decoder neither walks their protobuf nor parses their numbers: a row is
 * its HistoryStep and its items in order, each a key number and a value,
 * parsed (wval_scalar) or left as text (strings, JSON, and whatever the
 * packer was told not to parse). Keys are numbered 0, 1, 2 ... as they
 * first appear; the packer announces each new one before the row using it.
 *
 * Only records the decoder would read exactly as the row says are packed:
 * one HistoryRecord beside fields the decoder ignores, every item a single
 * valid key with a value, the protobuf intact. Anything else (nested keys,
 * damage, other records) goes to the decoder as it is, which then does
 * what it always did, so both ways give the same points, series (in the
 * same order) and warnings.
 *
 * Ownership: the caller owns the packer (wrows_release); a packed row
 * lives in the packer until the next call. */
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
        struct {
            uint32_t off, len; /* in the row's text */
        } t;
    } u;
};

/* A row: this header, nitems struct wrow_item, then the items' text. */
struct wrow {
    int64_t record_step;
    uint32_t nitems;
    uint32_t has_record_step;
};

static inline const struct wrow_item *wrow_items(const struct wrow *w)
{
    return (const struct wrow_item *)(const void *)(w + 1);
}

static inline const char *wrow_text(const struct wrow *w)
{
    return (const char *)(wrow_items(w) + w->nitems);
}

/* A parsed item's value (type is not WROW_TEXT). */
void wrow_value(struct xp_value *v, const struct wrow_item *it);

typedef void (*wrows_key_cb)(void *arg, uint32_t id, const char *name,
                             size_t len);

struct wrows {
    struct wnames keys;
    uint32_t *order; /* the key number at each position of the last row */
    size_t norder;
    struct wrow_item *items; /* the row being packed, reused */
    size_t capitems;
    struct xp_buf text;
    struct xp_buf row; /* the packed row */
};

void wrows_init(struct wrows *p);
void wrows_release(struct wrows *p);

/* Pack the record data[0..len): 1 with the row in p->row (its first
 * `parse` items parsed where they are scalars; new keys announced to
 * new_key first), 0 when the record is not one to pack. */
int wrows_pack(struct wrows *p, const unsigned char *data, size_t len,
               size_t parse, wrows_key_cb new_key, void *arg);

#endif
