/* A table of names (byte strings, copied) numbered 0, 1, 2 ... in the
 * order they are added, found by hash: the series of a run by their name,
 * and the history keys the prefetch thread numbers for the decoder.
 *
 * Ownership: the caller owns the struct (wnames_release). */
#ifndef XPORT_WANDB_NAMES_H
#define XPORT_WANDB_NAMES_H

#include <stddef.h>

#define WNAMES_NONE ((size_t)-1)

struct wnames {
    struct wname {
        char *s; /* NUL-terminated copy */
        size_t n;
    } *v;
    size_t n, cap;
    size_t *slot; /* id + 1 by hash, 0 when empty */
    size_t nslot;
};

void wnames_init(struct wnames *t);
void wnames_release(struct wnames *t);
/* The id of s[0..n), or WNAMES_NONE. */
size_t wnames_find(const struct wnames *t, const char *s, size_t n);
/* Add s[0..n), which must not be there yet; its id. */
size_t wnames_add(struct wnames *t, const char *s, size_t n);

#endif
