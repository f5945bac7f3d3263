/* Numbered names by hash (wandb_names.h): FNV-1a, open addressing with
 * linear probing, at most half full. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xport/buf.h"
#include "wandb_names.h"

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

void wnames_init(struct wnames *t)
{
    memset(t, 0, sizeof(*t));
    t->nslot = 64;
    t->slot = xp_calloc(t->nslot, sizeof(*t->slot));
}

void wnames_release(struct wnames *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].s);
    free(t->v);
    free(t->slot);
    memset(t, 0, sizeof(*t));
}

/* The slot holding s[0..n), or the empty one where it would go. */
static size_t probe(const struct wnames *t, const char *s, size_t n)
{
    size_t i = (size_t)fnv(s, n) & (t->nslot - 1);
    while (t->slot[i]) {
        const struct wname *e = &t->v[t->slot[i] - 1];
        if (e->n == n && !memcmp(e->s, s, n))
            break;
        i = (i + 1) & (t->nslot - 1);
    }
    return i;
}

size_t wnames_find(const struct wnames *t, const char *s, size_t n)
{
    size_t i = probe(t, s, n);
    return t->slot[i] ? t->slot[i] - 1 : WNAMES_NONE;
}

size_t wnames_add(struct wnames *t, const char *s, size_t n)
{
    if ((t->n + 1) * 2 > t->nslot) {
        free(t->slot);
        t->nslot *= 2;
        t->slot = xp_calloc(t->nslot, sizeof(*t->slot));
        for (size_t id = 0; id < t->n; id++)
            t->slot[probe(t, t->v[id].s, t->v[id].n)] = id + 1;
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->v = xp_realloc(t->v, t->cap * sizeof(*t->v));
    }
    size_t id = t->n++;
    t->v[id].s = xp_strndup(s, n);
    t->v[id].n = n;
    t->slot[probe(t, s, n)] = id + 1;
    return id;
}
