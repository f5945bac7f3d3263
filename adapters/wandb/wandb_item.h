/* The item of history, summary, config and stats records, on the wire
 * {key = 1; repeated nested_key = 2; value_json = 16}, read in place: the
 * path parts and the value point into the record's bytes. */
#ifndef XPORT_WANDB_ITEM_H
#define XPORT_WANDB_ITEM_H

#include <stddef.h>

struct xp_pb_field;

#define WITEM_MAX_DEPTH 32

struct witem {
    const char *path[WITEM_MAX_DEPTH];
    size_t plen[WITEM_MAX_DEPTH];
    size_t depth;
    const char *value;
    size_t vlen;
    int has_value;
};

/* Read the item in f: 0, or -1 when it is not a valid item (not a message,
 * key and nested_key both, no key, more than WITEM_MAX_DEPTH parts, or,
 * when check_keys, a part that holds a NUL or is not UTF-8). A caller that
 * passes check_keys 0 checks the parts itself (witem_key_ok). */
int witem_get(struct witem *it, const struct xp_pb_field *f, int check_keys);
/* A key part can name a series: UTF-8 without NUL. */
int witem_key_ok(const char *s, size_t n);
/* The item's path is the one key `key`. */
int witem_is(const struct witem *it, const char *key);

#endif
