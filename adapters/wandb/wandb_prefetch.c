/* A .wandb log read ahead on a second thread (wandb_prefetch.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wandb_log.h"
#include "wandb_prefetch.h"
#include "xport/buf.h"
#include "xport/error.h"

#define NBATCH 4
#define BATCH_BYTES (1u << 20) /* a batch closes past this; one record may exceed it */

struct rechdr {
    int64_t off;
    uint64_t len;
};

struct batch {
    struct xp_buf bytes; /* rechdr, payload, rechdr, payload ... */
    int end;             /* the last batch: rc says why */
    int rc;
    char msg[1024];
};

struct wpre {
    struct wlog *l;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct batch b[NBATCH];
    size_t head, tail, full; /* producer fills b[head]; consumer reads b[tail] */
    int stop;
    /* consumer position in b[tail] */
    size_t pos;
    int have;
};

static void *producer(void *arg)
{
    struct wpre *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->full == NBATCH && !p->stop)
            pthread_cond_wait(&p->cond, &p->lock);
        int stop = p->stop;
        struct batch *b = &p->b[p->head];
        pthread_mutex_unlock(&p->lock);
        if (stop)
            return NULL;
        xp_buf_reset(&b->bytes);
        b->end = 0;
        while (b->bytes.len < BATCH_BYTES) {
            const unsigned char *d;
            size_t n;
            int rc = wlog_next(p->l, &d, &n);
            if (rc) {
                b->end = 1;
                b->rc = rc;
                snprintf(b->msg, sizeof(b->msg), "%s",
                         rc == XP_ITEROVER ? "" : xp_error_last()->message);
                break;
            }
            struct rechdr h = {p->l->rec_off, n};
            xp_buf_put(&b->bytes, &h, sizeof(h));
            xp_buf_put(&b->bytes, d, n);
        }
        pthread_mutex_lock(&p->lock);
        p->head = (p->head + 1) % NBATCH;
        p->full++;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        if (b->end)
            return NULL;
    }
}

int wpre_start(struct wpre **out, struct wlog *l)
{
    struct wpre *p = xp_calloc(1, sizeof(*p));
    p->l = l;
    for (int i = 0; i < NBATCH; i++)
        xp_buf_init(&p->b[i].bytes);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    if (pthread_create(&p->thread, NULL, producer, p)) {
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p);
        return xp_error_set(XP_ERROR, "cannot start a reading thread");
    }
    *out = p;
    return 0;
}

int wpre_next(struct wpre *p, const unsigned char **data, size_t *len,
              int64_t *off)
{
    for (;;) {
        if (!p->have) {
            pthread_mutex_lock(&p->lock);
            while (p->full == 0)
                pthread_cond_wait(&p->cond, &p->lock);
            pthread_mutex_unlock(&p->lock);
            p->have = 1;
            p->pos = 0;
        }
        struct batch *b = &p->b[p->tail];
        if (p->pos + sizeof(struct rechdr) <= b->bytes.len) {
            struct rechdr h;
            memcpy(&h, b->bytes.ptr + p->pos, sizeof(h));
            *data = (const unsigned char *)b->bytes.ptr + p->pos + sizeof(h);
            *len = (size_t)h.len;
            *off = h.off;
            p->pos += sizeof(h) + (size_t)h.len;
            return 0;
        }
        if (b->end) {
            /* stay on this batch: every later call says the same */
            if (b->rc == XP_ITEROVER)
                return XP_ITEROVER;
            return xp_error_set(b->rc, "%s", b->msg);
        }
        /* hand the batch back to the producer */
        pthread_mutex_lock(&p->lock);
        p->tail = (p->tail + 1) % NBATCH;
        p->full--;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        p->have = 0;
    }
}

void wpre_stop(struct wpre *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    for (int i = 0; i < NBATCH; i++)
        xp_buf_release(&p->b[i].bytes);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}
