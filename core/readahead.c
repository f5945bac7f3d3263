/* A reader run ahead on its own thread (xport/readahead.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/readahead.h"
#include "xport/record.h"
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
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct slot s[NSLOT];
    size_t head, tail, full;
    int stop;
    int holding; /* the caller has s[tail] */
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

static void *producer(void *arg)
{
    struct ra *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        while (r->full == NSLOT && !r->stop)
            pthread_cond_wait(&r->cond, &r->lock);
        int stop = r->stop;
        struct slot *sl = &r->s[r->head];
        pthread_mutex_unlock(&r->lock);
        if (stop)
            return NULL;
        const struct xp_record *rec;
        int rc = r->inner->next(r->inner, &rec);
        sl->end = rc != 0;
        sl->borrowed = 0;
        if (rc) {
            sl->rc = rc;
            snprintf(sl->msg, sizeof(sl->msg), "%s",
                     rc == XP_ITEROVER ? "" : xp_error_last()->message);
        } else if (rec->kind == XP_REC_POINTS) {
            copy_points(sl, rec->u.points.v, rec->u.points.n);
        } else {
            sl->rec = *rec;
            sl->borrowed = 1;
        }
        pthread_mutex_lock(&r->lock);
        r->head = (r->head + 1) % NSLOT;
        r->full++;
        pthread_cond_broadcast(&r->cond);
        /* a borrowed record lives until the caller asks for the next one */
        while (sl->borrowed && r->full > 0 && !r->stop)
            pthread_cond_wait(&r->cond, &r->lock);
        pthread_mutex_unlock(&r->lock);
        if (sl->end)
            return NULL;
    }
}

static int ra_next(struct xp_reader *base, const struct xp_record **out)
{
    struct ra *r = (struct ra *)base;
    pthread_mutex_lock(&r->lock);
    if (r->holding && !r->s[r->tail].end) {
        r->tail = (r->tail + 1) % NSLOT;
        r->full--;
        r->holding = 0;
        pthread_cond_broadcast(&r->cond);
    }
    while (r->full == 0)
        pthread_cond_wait(&r->cond, &r->lock);
    r->holding = 1;
    struct slot *sl = &r->s[r->tail];
    pthread_mutex_unlock(&r->lock);
    if (sl->end) /* stays: every later call says the same */
        return sl->rc == XP_ITEROVER ? XP_ITEROVER : xp_error_set(sl->rc, "%s", sl->msg);
    *out = &sl->rec;
    return 0;
}

static void ra_free(struct xp_reader *base)
{
    struct ra *r = (struct ra *)base;
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    r->inner->free(r->inner);
    for (int i = 0; i < NSLOT; i++) {
        free(r->s[i].pts);
        free(r->s[i].fields);
        xp_arena_release(&r->s[i].arena);
    }
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
}

int xp_readahead_wrap(struct xp_reader **out, struct xp_reader *inner)
{
    struct ra *r = xp_calloc(1, sizeof(*r));
    r->base.next = ra_next;
    r->base.free = ra_free;
    r->inner = inner;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    if (pthread_create(&r->thread, NULL, producer, r)) {
        pthread_mutex_destroy(&r->lock);
        pthread_cond_destroy(&r->cond);
        free(r);
        return xp_error_set(XP_ERROR, "cannot start a reading thread");
    }
    *out = &r->base;
    return 0;
}
