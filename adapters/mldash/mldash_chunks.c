/* A metric's sealed chunks streamed in index order (mldash.h).
 *
 * Each of `window` threads carries every window-th chunk: it runs the
 * request and its bytes go into that chunk's pipe as they arrive, where the
 * reader parses them in place. Why threads: a transfer that waits for room
 * in its pipe must not stall the others, and the HTTP engine runs all the
 * transfers of one call on the calling thread. Each thread keeps its own
 * connections across chunks and metrics.
 *
 * Flow control is what bounds memory: a pipe holds PIPE_CAP bytes and a
 * transfer ahead of the parser waits for room. Waiting holds one of the
 * engine's connection slots, and the parser may itself be waiting for a
 * writer that needs one (a copy into another server), so a transfer that
 * has waited STALL_MAX seconds in all stops waiting: its remaining bytes go
 * to a spill buffer. Memory is then at worst a chunk per thread (what whole
 * bodies cost), never a deadlock, never a transfer timed out by a slow
 * destination. Only past SPILL_MAX (a chunk far larger than ml-dash's)
 * does it wait again; the engine's low-speed limit then ends a transfer
 * that cannot go on, and the chunk is paged. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mldash.h"
#include "xport/error.h"

#define PIPE_CAP ((size_t)1 << 20)
#define STALL_MAX 2.0 /* seconds a transfer may wait for room, in all */
#define SPILL_MAX ((size_t)64 << 20)
#define TICK_MS 100   /* waits wake this often to see a cancel */
#define NO_RESTART SIZE_MAX

enum pstate { P_IDLE, P_READY, P_RUNNING, P_DONE };

struct pipe {
    struct mld_chunks *c;
    pthread_t thread;
    pthread_cond_t cv; /* its thread: a job, room, a stop */
    enum pstate state;
    int64_t chunk;
    char *buf;
    size_t cap, head, tail; /* the reader has used [0, head) */
    size_t restart_at;      /* a retried body starts again here */
    struct xp_buf spill;    /* bytes after buf's once the transfer stalled */
    double stalled;         /* seconds this transfer waited for room */
    int waiting;            /* its thread waits for room */
    int got_data;           /* the next chunk's request may start */
    int released;           /* the reader is done with this chunk */
    int rc;
    char *msg;
};

struct mld_chunks {
    struct mld *m;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* the reader: bytes, an end, a stalled transfer */
    size_t n, started;
    struct pipe *p;
    char *url; /* ".../metrics/NAME" */
    int64_t total, cur;
    size_t left; /* bytes of the last view the reader has not used */
    int reader_waiting, stop, quit;
};

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void wait_tick(pthread_cond_t *cv, pthread_mutex_t *mu)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_nsec += TICK_MS * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, mu, &t);
}

static struct pipe *pipe_of(struct mld_chunks *c, int64_t chunk)
{
    return &c->p[(size_t)chunk % c->n];
}

static void wake_reader(struct mld_chunks *c, struct pipe *p)
{
    if (c->reader_waiting && p->chunk == c->cur)
        pthread_cond_signal(&c->cv);
}

/* Drop what p holds. Under the lock, its transfer over. */
static void empty(struct pipe *p)
{
    p->head = p->tail = 0;
    p->restart_at = NO_RESTART;
    xp_buf_reset(&p->spill);
    p->stalled = 0;
    p->got_data = p->released = 0;
    free(p->msg);
    p->msg = NULL;
    p->rc = 0;
    if (p->cap > PIPE_CAP) { /* a spill or a big point grew it */
        free(p->buf);
        p->buf = xp_malloc(PIPE_CAP);
        p->cap = PIPE_CAP;
    }
}

/* Empty p for its next chunk, or leave it idle. Under the lock. */
static void rearm(struct mld_chunks *c, struct pipe *p)
{
    empty(p);
    p->chunk += (int64_t)c->n;
    p->state = p->chunk < c->total && !c->stop ? P_READY : P_IDLE;
    pthread_cond_signal(&p->cv);
    wake_reader(c, p);
}

/* Where len more bytes of p go now: 1 the pipe, 2 the spill (bytes wait
 * there behind any already spilled), 0 nowhere yet. */
static int room_for(const struct pipe *p, size_t len)
{
    if (!p->spill.len && p->cap - p->tail >= len)
        return 1;
    return p->stalled >= STALL_MAX && p->spill.len + len <= SPILL_MAX ? 2 : 0;
}

/* The transfer's bytes (the engine's on_data, on p's thread). */
static int pipe_put(void *payload, const void *data, size_t len)
{
    struct pipe *p = payload;
    struct mld_chunks *c = p->c;
    pthread_mutex_lock(&c->mu);
    if (!p->got_data) {
        p->got_data = 1;
        pthread_cond_signal(&pipe_of(c, p->chunk + 1)->cv);
    }
    int where = 0;
    while (!c->stop && !c->quit && !p->released && !(where = room_for(p, len)) &&
           !xp_ctx_cancelled(c->m->base.ctx)) {
        double t0 = mono();
        p->waiting = 1;
        wake_reader(c, p); /* a reader holding points lets go of them */
        wait_tick(&p->cv, &c->mu);
        p->waiting = 0;
        p->stalled += mono() - t0;
    }
    int rc = c->stop || c->quit || xp_ctx_cancelled(c->m->base.ctx) ? XP_EUSER : 0;
    if (!rc && !p->released) {
        if (where == 1) {
            memcpy(p->buf + p->tail, data, len);
            p->tail += len;
        } else {
            xp_buf_put(&p->spill, data, len);
        }
        wake_reader(c, p);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* A retry starts the body again (the engine's on_reset). The reader may
 * hold points in what came so far: the new bytes go after them, and the
 * reader skips to restart_at when it next looks. */
static int pipe_restart(void *payload)
{
    struct pipe *p = payload;
    struct mld_chunks *c = p->c;
    pthread_mutex_lock(&c->mu);
    xp_buf_reset(&p->spill);
    if (p->chunk != c->cur)
        p->head = p->tail = 0; /* the reader has not started on it */
    else
        p->restart_at = p->tail;
    p->stalled = 0;
    wake_reader(c, p);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

/* May p's request start? Requests start in chunk order (each once the one
 * before has bytes), so that with fewer connections than chunks in flight
 * the chunk the reader needs gets one first. */
static int may_start(struct mld_chunks *c, struct pipe *p)
{
    if (p->state != P_READY)
        return 0;
    struct pipe *prev = pipe_of(c, p->chunk - 1);
    return p->chunk <= c->cur || prev->chunk != p->chunk - 1 || prev->got_data ||
           prev->state == P_DONE;
}

static void *fetcher(void *arg)
{
    struct pipe *p = arg;
    struct mld_chunks *c = p->c;
    struct xp_buf url = XP_BUF_INIT;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->quit && !may_start(c, p))
            wait_tick(&p->cv, &c->mu);
        if (c->quit)
            break;
        p->state = P_RUNNING;
        xp_buf_reset(&url);
        xp_buf_printf(&url, "%s/chunks/%" PRId64, c->url, p->chunk);
        pthread_mutex_unlock(&c->mu);

        struct xp_http_request rq = {0};
        rq.url = url.ptr;
        rq.cred = c->m->cred;
        rq.on_data = pipe_put;
        rq.on_reset = pipe_restart;
        rq.payload = p;
        struct xp_http_response resp = XP_HTTP_RESPONSE_INIT;
        int rc = xp_http_request(c->m->base.ctx->http, &rq, &resp);
        char *msg = rc ? xp_strdup(xp_error_last()->message) : NULL;
        xp_http_response_release(&resp);

        pthread_mutex_lock(&c->mu);
        p->rc = rc;
        p->msg = msg;
        p->state = P_DONE;
        pthread_cond_signal(&pipe_of(c, p->chunk + 1)->cv);
        if (c->reader_waiting) /* on this chunk, or in mld_chunks_stop */
            pthread_cond_signal(&c->cv);
        if (p->released || c->stop)
            rearm(c, p);
    }
    pthread_mutex_unlock(&c->mu);
    xp_buf_release(&url);
    return NULL;
}

void mld_chunks_free(struct mld_chunks *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->quit = 1;
    for (size_t i = 0; i < c->started; i++)
        pthread_cond_signal(&c->p[i].cv);
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < c->started; i++)
        pthread_join(c->p[i].thread, NULL);
    for (size_t i = 0; i < c->n; i++) {
        pthread_cond_destroy(&c->p[i].cv);
        free(c->p[i].buf);
        free(c->p[i].msg);
        xp_buf_release(&c->p[i].spill);
    }
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c->p);
    free(c->url);
    free(c);
}

int mld_chunks_new(struct mld_chunks **out, struct mld *m)
{
    struct mld_chunks *c = xp_calloc(1, sizeof(*c));
    c->m = m;
    c->n = m->window < 1 ? 1 : m->window > 32 ? 32 : (size_t)m->window; /* threads */
    c->p = xp_calloc(c->n, sizeof(*c->p));
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    for (size_t i = 0; i < c->n; i++) {
        struct pipe *p = &c->p[i];
        p->c = c;
        p->state = P_IDLE;
        p->buf = xp_malloc(PIPE_CAP);
        p->cap = PIPE_CAP;
        p->restart_at = NO_RESTART;
        xp_buf_init(&p->spill);
        pthread_cond_init(&p->cv, &ca);
    }
    pthread_condattr_destroy(&ca);
    for (; c->started < c->n; c->started++)
        if (pthread_create(&c->p[c->started].thread, NULL, fetcher, &c->p[c->started])) {
            mld_chunks_free(c);
            return xp_error_set(XP_ERROR, "cannot start a thread to fetch chunks");
        }
    *out = c;
    return 0;
}

void mld_chunks_stop(struct mld_chunks *c)
{
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    for (;;) {
        int running = 0;
        for (size_t i = 0; i < c->n; i++) {
            struct pipe *p = &c->p[i];
            if (p->state == P_RUNNING) {
                running = 1;
            } else {
                empty(p);
                p->state = P_IDLE;
            }
            pthread_cond_signal(&p->cv);
        }
        if (!running)
            break;
        c->reader_waiting = 1;
        wait_tick(&c->cv, &c->mu);
        c->reader_waiting = 0;
    }
    c->stop = 0;
    pthread_mutex_unlock(&c->mu);
}

void mld_chunks_start(struct mld_chunks *c, const char *metric_url, int64_t total)
{
    mld_chunks_stop(c); /* the last chunks of the previous metric */
    pthread_mutex_lock(&c->mu);
    free(c->url);
    c->url = xp_strdup(metric_url);
    c->total = total;
    c->cur = 0;
    c->left = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct pipe *p = &c->p[i];
        p->chunk = (int64_t)i - (int64_t)c->n;
        rearm(c, p);
    }
    pthread_mutex_unlock(&c->mu);
}

/* Move the unused bytes to the front and take in the spill; `stuck`: the
 * reader has seen every byte (one point fills the pipe), so make room.
 * Under the lock, with no bytes held by the reader. */
static void compact(struct pipe *p, int stuck)
{
    if (p->head && (p->waiting || p->spill.len || p->head >= p->cap / 2)) {
        memmove(p->buf, p->buf + p->head, p->tail - p->head);
        p->tail -= p->head;
        p->head = 0;
        pthread_cond_signal(&p->cv);
    }
    size_t need = p->tail + p->spill.len;
    if (stuck && p->tail == p->cap && need < p->cap * 2)
        need = p->cap * 2;
    if (need > p->cap) {
        p->buf = xp_realloc(p->buf, need);
        p->cap = need;
        pthread_cond_signal(&p->cv);
    }
    if (p->spill.len) {
        memcpy(p->buf + p->tail, p->spill.ptr, p->spill.len);
        p->tail += p->spill.len;
        xp_buf_reset(&p->spill);
    }
}

int mld_chunks_read(struct mld_chunks *c, size_t used, unsigned how, struct mld_view *v)
{
    int more = how & MLD_MORE, pinned = how & MLD_PINNED;
    int rc = 0;
    memset(v, 0, sizeof(*v));
    pthread_mutex_lock(&c->mu);
    struct pipe *p = pipe_of(c, c->cur);
    p->head += used;
    c->left -= used;
    for (;;) {
        if (p->chunk != c->cur) {
            /* (a window of one) the pipe still ends the chunk before */
        } else {
            if (p->restart_at != NO_RESTART) {
                p->head = p->restart_at;
                p->restart_at = NO_RESTART;
                c->left = 0;
                v->restarted = 1;
            }
            int fresh = p->tail - p->head > c->left;
            int ended = p->state == P_DONE && !p->spill.len;
            if (!pinned)
                compact(p, more && !fresh && !ended);
            if (!more || fresh || ended)
                break;
            if (pinned && (p->waiting || p->spill.len)) {
                v->full = 1;
                break;
            }
        }
        if (xp_ctx_cancelled(c->m->base.ctx)) {
            rc = xp_error_set(XP_ECANCEL, "interrupted");
            break;
        }
        c->reader_waiting = 1;
        wait_tick(&c->cv, &c->mu);
        c->reader_waiting = 0;
    }
    v->s = p->buf + p->head;
    v->len = c->left = p->tail - p->head;
    if (p->state != P_DONE || p->spill.len)
        v->state = MLD_CHUNK_ARRIVING;
    else if (p->rc)
        v->state = MLD_CHUNK_FAILED;
    else
        v->state = MLD_CHUNK_COMPLETE;
    if (v->state == MLD_CHUNK_FAILED)
        xp_error_set(p->rc, "%s", p->msg);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int mld_chunks_next(struct mld_chunks *c)
{
    pthread_mutex_lock(&c->mu);
    struct pipe *p = pipe_of(c, c->cur);
    p->released = 1;
    if (p->state == P_DONE)
        rearm(c, p);
    else
        pthread_cond_signal(&p->cv); /* it drops the rest of the body */
    c->cur++;
    c->left = 0;
    int more = c->cur < c->total;
    pthread_mutex_unlock(&c->mu);
    return more ? 0 : XP_ITEROVER;
}
