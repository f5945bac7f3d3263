/* A producer thread feeding a caller through fixed slots (xport/ring.h). */
#include <pthread.h>
#include <stdlib.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/ring.h"

struct xp_ring {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned char *mem;
    size_t nslots, slot_size;
    size_t head, tail, full; /* the producer fills head; the caller reads tail */
    int stop, holding;
    int (*fill)(void *slot, void *arg);
    void *arg;
};

static void *slot_at(struct xp_ring *r, size_t i)
{
    return r->mem + i * r->slot_size;
}

static void *producer(void *arg)
{
    struct xp_ring *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        while (r->full == r->nslots && !r->stop)
            pthread_cond_wait(&r->cond, &r->lock);
        int stop = r->stop;
        void *slot = slot_at(r, r->head);
        pthread_mutex_unlock(&r->lock);
        if (stop)
            return NULL;
        int how = r->fill(slot, r->arg);
        pthread_mutex_lock(&r->lock);
        r->head = (r->head + 1) % r->nslots;
        r->full++;
        pthread_cond_broadcast(&r->cond);
        /* a held slot stays valid until the caller moves past it */
        while (how == XP_RING_HOLD && r->full > 0 && !r->stop)
            pthread_cond_wait(&r->cond, &r->lock);
        pthread_mutex_unlock(&r->lock);
        if (how == XP_RING_LAST)
            return NULL;
    }
}

int xp_ring_start(struct xp_ring **out, size_t nslots, size_t slot_size,
                  int (*fill)(void *slot, void *arg), void *arg)
{
    struct xp_ring *r = xp_calloc(1, sizeof(*r));
    r->mem = xp_calloc(nslots, slot_size);
    r->nslots = nslots;
    r->slot_size = slot_size;
    r->fill = fill;
    r->arg = arg;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    if (pthread_create(&r->thread, NULL, producer, r)) {
        pthread_mutex_destroy(&r->lock);
        pthread_cond_destroy(&r->cond);
        free(r->mem);
        free(r);
        return xp_error_set(XP_ERROR, "cannot start a reading thread");
    }
    *out = r;
    return 0;
}

void *xp_ring_next(struct xp_ring *r)
{
    pthread_mutex_lock(&r->lock);
    if (r->holding) {
        r->tail = (r->tail + 1) % r->nslots;
        r->full--;
        r->holding = 0;
        pthread_cond_broadcast(&r->cond);
    }
    while (r->full == 0)
        pthread_cond_wait(&r->cond, &r->lock);
    r->holding = 1;
    void *slot = slot_at(r, r->tail);
    pthread_mutex_unlock(&r->lock);
    return slot;
}

void xp_ring_stop(struct xp_ring *r, void (*release)(void *slot))
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    for (size_t i = 0; release && i < r->nslots; i++)
        release(slot_at(r, i));
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r->mem);
    free(r);
}
