/* A reader run ahead on its own thread (xport/readahead.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/progress.h"
#include "xport/readahead.h"
#include "xport/record.h"
#include "xport/ring.h"
#include "xport/sys/adapter.h"

#define NSLOT 4

struct slot {
    struct xp_record rec;
    struct xp_point *pts;
    size_t cap_pts;
    struct xp_field *fields;
    size_t cap_fields;
    struct xp_arena arena;
    int borrowed; /* rec points into the inner reader's memory */
    int end;      /* inner->next failed or ended: rc says which */
    int rc;
    char msg[1024];
};

struct ra {
    struct xp_reader base;
    struct xp_reader *inner;
    struct xp_progress *progress; /* the caller's, bound on the ring's thread */
    struct xp_ring *ring;
    struct slot *cur; /* the caller's slot */
};

static const char *keep_str(struct xp_arena *a, const char *s, size_t n)
{
    char *d = xp_arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Copy a batch of points into the slot's own memory. */
static void copy_points(struct slot *sl, const struct xp_point *v, size_t n)
{
    size_t nf = 0;
    for (size_t i = 0; i < n; i++)
        nf += v[i].nfields;
    if (n > sl->cap_pts) {
        sl->pts = xp_realloc(sl->pts, n * sizeof(*sl->pts));
        sl->cap_pts = n;
    }
    if (nf > sl->cap_fields) {
        sl->fields = xp_realloc(sl->fields, nf * sizeof(*sl->fields));
        sl->cap_fields = nf;
    }
    xp_arena_reset(&sl->arena);
    struct xp_field *f = sl->fields;
    const struct xp_point *prev_src = NULL;
    const struct xp_field *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct xp_point *p = &v[i];
        struct xp_point *d = &sl->pts[i];
        d->index = p->index;
        d->created_at = p->created_at ? keep_str(&sl->arena, p->created_at,
                                                 strlen(p->created_at))
                                      : NULL;
        d->fields = f;
        d->nfields = p->nfields;
        for (size_t k = 0; k < p->nfields; k++) {
            const struct xp_field *sf = &p->fields[k];
            f[k].v = sf->v;
            /* points of a series mostly repeat their keys: share the copy */
            if (prev && k < prev_src->nfields && !strcmp(prev[k].key, sf->key))
                f[k].key = prev[k].key;
            else
                f[k].key = keep_str(&sl->arena, sf->key, strlen(sf->key));
            if (sf->v.type == XP_V_STRING || sf->v.type == XP_V_JSON)
                f[k].v.u.s.ptr = keep_str(&sl->arena, sf->v.u.s.ptr, sf->v.u.s.len);
        }
        prev_src = p;
        prev = f;
        f += p->nfields;
    }
    memset(&sl->rec, 0, sizeof(sl->rec));
    sl->rec.kind = XP_REC_POINTS;
    sl->rec.u.points.v = sl->pts;
    sl->rec.u.points.n = n;
}

static int fill(void *slotp, void *arg)
{
    struct ra *r = arg;
    struct slot *sl = slotp;
    const struct xp_record *rec;
    xp_progress_bind(r->progress);
    int rc = xp_reader_next(r->inner, &rec);
    sl->end = rc != 0;
    sl->borrowed = 0;
    if (rc) {
        sl->rc = rc;
        snprintf(sl->msg, sizeof(sl->msg), "%s",
                 rc == XP_ITEROVER ? "" : xp_error_last()->message);
        return XP_RING_LAST;
    }
    if (rec->kind == XP_REC_POINTS) {
        copy_points(sl, rec->u.points.v, rec->u.points.n);
        return XP_RING_MORE;
    }
    /* a borrowed record lives until the caller asks for the next one */
    sl->rec = *rec;
    sl->borrowed = 1;
    return XP_RING_HOLD;
}

static int ra_next(struct xp_reader *base, const struct xp_record **out)
{
    struct ra *r = (struct ra *)base;
    if (!r->cur || !r->cur->end)
        r->cur = xp_ring_next(r->ring);
    struct slot *sl = r->cur;
    if (sl->end) /* stays: every later call says the same */
        return sl->rc == XP_ITEROVER ? XP_ITEROVER : xp_error_set(sl->rc, "%s", sl->msg);
    *out = &sl->rec;
    return 0;
}

static void release_slot(void *slotp)
{
    struct slot *sl = slotp;
    free(sl->pts);
    free(sl->fields);
    xp_arena_release(&sl->arena);
}

static void ra_free(struct xp_reader *base)
{
    struct ra *r = (struct ra *)base;
    if (!r)
        return;
    xp_ring_stop(r->ring, release_slot);
    xp_reader_free(r->inner);
    free(r);
}

int xp_readahead_wrap(struct xp_reader **out, struct xp_reader *inner)
{
    struct ra *r = xp_calloc(1, sizeof(*r));
    r->base.version = XP_READER_VERSION;
    r->base.next = ra_next;
    r->base.free = ra_free;
    r->inner = inner;
    r->progress = xp_progress_bound();
    int rc = xp_ring_start(&r->ring, NSLOT, sizeof(struct slot), fill, r);
    if (rc) {
        free(r);
        return rc;
    }
    *out = &r->base;
    return 0;
}
