/* The HTTP engine's driver: each thread's multi handle, the connection
 * slots shared by all threads, and the loop that runs a batch of transfers
 * to completion. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "http_int.h"
#include "xport/error.h"

struct xp__http_tmulti {
    struct xp__http_tmulti *next;
    struct xp_http *h;
    CURLM *multi;
};

void xp__http_tmulti_gone(void *p)
{
    struct xp__http_tmulti *t = p;
    struct xp_http *h = t->h;
    pthread_mutex_lock(&h->mu);
    for (struct xp__http_tmulti **pp = &h->multis; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    pthread_mutex_unlock(&h->mu);
    curl_multi_cleanup(t->multi);
    free(t);
}

void xp__http_multis_free(struct xp_http *h)
{
    while (h->multis) {
        struct xp__http_tmulti *t = h->multis;
        h->multis = t->next;
        curl_multi_cleanup(t->multi);
        free(t);
    }
}

/* ---- connection slots shared by all threads ------------------------------ */

static int slot_get(struct xp_http *h, int block)
{
    pthread_mutex_lock(&h->mu);
    while (h->in_flight >= h->cfg.max_connections) {
        if (!block || xp__http_cancelled(h)) {
            pthread_mutex_unlock(&h->mu);
            return 0;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&h->cv, &h->mu, &ts);
    }
    h->in_flight++;
    pthread_mutex_unlock(&h->mu);
    return 1;
}

static void slot_put(struct xp_http *h)
{
    pthread_mutex_lock(&h->mu);
    h->in_flight--;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

/* ---- the driver ------------------------------------------------------------- */

static CURLM *thread_multi(struct xp_http *h)
{
    struct xp__http_tmulti *t = pthread_getspecific(h->key);
    if (t)
        return t->multi;
    CURLM *m = curl_multi_init();
    if (!m)
        return NULL;
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)h->cfg.max_connections);
    t = xp_calloc(1, sizeof(*t));
    t->h = h;
    t->multi = m;
    pthread_mutex_lock(&h->mu);
    t->next = h->multis;
    h->multis = t;
    pthread_mutex_unlock(&h->mu);
    pthread_setspecific(h->key, t);
    return m;
}

/* Start x if a slot is free; returns 0 when none was (x stays queued). */
static int try_start(struct xp_http *h, CURLM *m, struct xfer *x,
                     size_t *held, size_t *left)
{
    /* Block for a slot only while holding none, so that threads waiting on
     * each other always have one that can go on. */
    if (!slot_get(h, *held == 0))
        return 0;
    if (xp__http_xfer_start(x) || curl_multi_add_handle(m, x->easy)) {
        slot_put(h);
        xp__http_fail(x, XP_ERROR, "%s '%s': cannot set up the transfer",
                  x->method, x->rurl);
        (*left)--;
        return 1;
    }
    x->running = 1;
    (*held)++;
    return 1;
}

/* Drive xs to completion on this thread's multi handle. Never-started
 * transfers are taken in order from `next`; the few that wait to go again
 * (retry, redirect) sit in `again`, so a loop costs what is moving, not n. */
static void run(struct xp_http *h, struct xfer *xs, size_t n)
{
    CURLM *m = thread_multi(h);
    size_t left = 0, held = 0, next = 0, nagain = 0;
    struct xfer **again = xp_calloc(n, sizeof(*again));
    for (size_t i = 0; i < n; i++) {
        if (!m && !xs[i].done)
            xp__http_fail(&xs[i], XP_ENOMEM, "cannot create a curl multi handle");
        left += !xs[i].done;
    }
    while (left) {
        double now = xp__mono(), wake = 1.0;
        int starved = 0, stop = xp__http_cancelled(h);
        size_t keep = 0;
        for (size_t i = 0; i < nagain; i++) {
            struct xfer *x = again[i];
            if (stop) {
                xp__http_fail(x, XP_ECANCEL, "%s '%s' interrupted", x->method,
                          x->rurl);
                left--;
            } else if (x->not_before > now) {
                if (x->not_before - now < wake)
                    wake = x->not_before - now;
                again[keep++] = x;
            } else if (!try_start(h, m, x, &held, &left)) {
                starved = 1;
                again[keep++] = x;
            }
        }
        nagain = keep;
        while (next < n && !starved) {
            struct xfer *x = &xs[next];
            if (x->done) {
                next++;
            } else if (stop) {
                xp__http_fail(x, XP_ECANCEL, "%s '%s' interrupted", x->method,
                          x->rurl);
                left--;
                next++;
            } else if (try_start(h, m, x, &held, &left)) {
                next++;
            } else {
                starved = 1;
            }
        }
        if (!held) {
            if (left && !starved)
                xp__sleep(wake, h->cfg.cancel);
            continue;
        }
        int still = 0, msgs = 0, finished = 0;
        curl_multi_perform(m, &still);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &msgs))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct xfer *x = NULL;
            CURLcode res = msg->data.result;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            curl_multi_remove_handle(m, x->easy);
            x->running = 0;
            held--;
            slot_put(h);
            xp__http_xfer_end(x, res);
            if (x->done)
                left--;
            else
                again[nagain++] = x;
            finished = 1;
        }
        if (finished)
            continue;
        int tmo = starved ? 10 : (int)(wake * 1000) + 1;
        curl_multi_poll(m, NULL, 0, tmo > 1000 ? 1000 : tmo, NULL);
    }
    free(again);
}

static int finish(struct xfer *xs, struct xp_http_response *resps, size_t n)
{
    int first = -1;
    for (size_t i = 0; i < n; i++) {
        xp__http_xfer_close(&xs[i]);
        if (resps[i].code && first < 0)
            first = (int)i;
    }
    if (first < 0)
        return 0;
    return xp_error_set_http(resps[first].code, resps[first].status, "%s",
                             resps[first].error);
}

int xp_http_request(struct xp_http *h, const struct xp_http_request *req,
                    struct xp_http_response *resp)
{
    struct xfer x;
    xp__http_xfer_init(&x, h, req, resp);
    run(h, &x, 1);
    return finish(&x, resp, 1);
}

int xp_http_batch(struct xp_http *h, const struct xp_http_request *reqs,
                  struct xp_http_response *resps, size_t n)
{
    if (!n)
        return 0;
    struct xfer *xs = xp_calloc(n, sizeof(*xs));
    for (size_t i = 0; i < n; i++)
        xp__http_xfer_init(&xs[i], h, &reqs[i], &resps[i]);
    run(h, xs, n);
    int rc = finish(xs, resps, n);
    free(xs);
    return rc;
}
