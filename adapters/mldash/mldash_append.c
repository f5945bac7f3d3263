/* Appending an experiment's logs and metrics to an ml-dash server exactly
 * once: what the server holds is read first, batches go out in order
 * (several streams at once), and after a failed append only what did not
 * land is sent again. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "mldash_write.h"
#include "xport/error.h"
#include "xport/spool.h"

#define MAX_TRIES 6

/* How many log lines the server holds for the experiment. */
static int logs_held(struct mld_sink *s, int64_t *out)
{
    struct xp_buf url = XP_BUF_INIT;
    mld_url(&url, s->m, "/experiments/%s/logs?limit=1&offset=0", s->exp_id);
    struct json_object *o = NULL;
    int rc = mld_json(s->m, NULL, url.ptr, NULL, 0, &o);
    xp_buf_release(&url);
    if (!rc && mld_int(o, "total", out))
        rc = xp_error_set(XP_EINVALID, "ml-dash logs answer has no total");
    json_object_put(o);
    return rc;
}

/* How many points the server holds for a metric (0 when it has none). */
static int points_held(struct mld_sink *s, const char *name, int64_t *out)
{
    struct xp_buf url = XP_BUF_INIT;
    mld_url(&url, s->m, "/experiments/%s/metrics/", s->exp_id);
    xp_http_put_segment(&url, name);
    xp_buf_puts(&url, "/stats");
    struct json_object *o = NULL;
    int rc = mld_json(s->m, NULL, url.ptr, NULL, 0, &o);
    xp_buf_release(&url);
    if (rc == XP_ENOTFOUND) {
        xp_error_clear();
        *out = 0;
        rc = 0;
    } else if (!rc && mld_int(o, "totalDataPoints", out)) {
        rc = xp_error_set(XP_EINVALID, "ml-dash stats of '%s' have no totalDataPoints",
                          name);
    }
    json_object_put(o);
    return rc;
}

/* One appender: a spooled stream sent in order, a batch at a time, with
 * the batch's items kept so that the part that did not land can be resent. */
struct appender {
    const char *name;       /* metric name, or NULL for the logs */
    const char *head;       /* more members of a metric's body, or NULL */
    struct xp_spool_iter it;
    int open;
    int64_t total, held;    /* items in the stream; items the server holds */
    int64_t pos;            /* items of the stream consumed */
    struct xp_buf items;    /* current batch: items separated by '\n' */
    size_t nitems;
    struct xp_buf body, url;
    int tries;
    int done;
};

static int app_fill(struct mld_sink *s, struct appender *a, int limit)
{
    while ((int)a->nitems < limit && a->pos < a->total) {
        const void *d;
        size_t len;
        int rc = xp_spool_iter_next(&a->it, &d, &len);
        if (rc == XP_ITEROVER)
            break;
        if (rc)
            return rc;
        a->pos++;
        if (a->pos <= a->held)
            continue; /* the server has it already */
        xp_buf_put(&a->items, d, len);
        xp_buf_putc(&a->items, '\n');
        a->nitems++;
    }
    (void)s;
    return 0;
}

static void app_body(struct mld_sink *s, struct appender *a)
{
    xp_buf_reset(&a->body);
    xp_buf_puts(&a->body, a->name ? "{\"dataPoints\":[" : "{\"logs\":[");
    const char *p = a->items.ptr;
    for (size_t i = 0; i < a->nitems; i++) {
        const char *nl = strchr(p, '\n');
        if (i)
            xp_buf_putc(&a->body, ',');
        xp_buf_put(&a->body, p, (size_t)(nl - p));
        p = nl + 1;
    }
    xp_buf_puts(&a->body, "]");
    if (a->head)
        xp_buf_puts(&a->body, a->head);
    xp_buf_putc(&a->body, '}');
    if (a->name) {
        mld_url(&a->url, s->m, "/experiments/%s/metrics/", s->exp_id);
        xp_http_put_segment(&a->url, a->name);
        xp_buf_puts(&a->url, "/append-batch");
    } else {
        mld_url(&a->url, s->m, "/experiments/%s/logs", s->exp_id);
    }
}

/* Drop the first k items of the batch (they landed). */
static void app_drop(struct appender *a, size_t k)
{
    const char *p = a->items.ptr;
    for (size_t i = 0; i < k && i < a->nitems; i++)
        p = strchr(p, '\n') + 1;
    size_t off = (size_t)(p - a->items.ptr);
    memmove(a->items.ptr, p, a->items.len - off);
    xp_buf_setlen(&a->items, a->items.len - off);
    a->nitems -= k < a->nitems ? k : a->nitems;
}

/* After a failed append: ask what landed and keep only the rest. */
static int app_recover(struct mld_sink *s, struct appender *a, int code)
{
    if (code == XP_EAUTH || code == XP_ECANCEL || ++a->tries >= MAX_TRIES)
        return code;
    usleep(100000u << (a->tries < 5 ? a->tries : 5));
    int64_t now;
    int rc = a->name ? points_held(s, a->name, &now) : logs_held(s, &now);
    if (rc)
        return rc;
    int64_t landed = now - a->held;
    if (landed < 0 || landed > (int64_t)a->nitems)
        return xp_error_set(XP_EINVALID, "ml-dash holds %" PRId64 " items of '%s', "
                            "expected %" PRId64 " to %" PRId64, now,
                            a->name ? a->name : "logs", a->held,
                            a->held + (int64_t)a->nitems);
    app_drop(a, (size_t)landed);
    a->held = now;
    xp_error_clear();
    return 0;
}

static void app_release(struct appender *a)
{
    if (a->open)
        xp_spool_iter_close(&a->it);
    xp_buf_release(&a->items);
    xp_buf_release(&a->body);
    xp_buf_release(&a->url);
}

static int app_open(struct mld_sink *s, struct appender *a, const char *name,
                    const char *head, size_t sid, int64_t total)
{
    memset(a, 0, sizeof(*a));
    a->name = name;
    a->head = head;
    a->total = total;
    xp_buf_init(&a->items);
    xp_buf_init(&a->body);
    xp_buf_init(&a->url);
    int rc = name ? points_held(s, name, &a->held) : logs_held(s, &a->held);
    if (rc)
        return rc;
    if (a->held > total)
        return xp_error_set(XP_EINVALID, "ml-dash holds %" PRId64 " items of '%s' but "
                            "the source has %" PRId64 "; not appending",
                            a->held, name ? name : "logs", total);
    rc = xp_spool_iter_open(&a->it, s->spool, sid);
    a->open = !rc;
    a->done = a->held == total;
    return rc;
}

/* Send several appenders at once: each round sends one batch of each
 * (one request per stream in flight, so every stream stays in order). */
static int send_appenders(struct mld_sink *s, struct appender *v, size_t n, int batch)
{
    struct xp_http_header hdr = {"Content-Type", "application/json"};
    struct xp_http_request *rq = xp_calloc(n, sizeof(*rq));
    struct xp_http_response *rs = xp_calloc(n, sizeof(*rs));
    size_t *idx = xp_calloc(n, sizeof(*idx));
    int rc = 0;
    for (;;) {
        size_t k = 0;
        for (size_t i = 0; i < n && !rc; i++) {
            struct appender *a = &v[i];
            if (a->done)
                continue;
            if ((rc = app_fill(s, a, batch)))
                break;
            if (a->nitems == 0) {
                a->done = 1;
                continue;
            }
            app_body(s, a);
            memset(&rq[k], 0, sizeof(rq[k]));
            rq[k].method = "POST";
            rq[k].url = a->url.ptr;
            rq[k].headers = &hdr;
            rq[k].nheaders = 1;
            rq[k].body = a->body.ptr;
            rq[k].body_len = a->body.len;
            rq[k].flags = XP_HTTP_NO_RETRY; /* resent below after a recount */
            rq[k].cred = s->m->cred;
            xp_http_response_init(&rs[k]);
            idx[k++] = i;
        }
        if (rc || k == 0)
            break;
        if (xp_ctx_cancelled(s->m->base.ctx)) {
            rc = xp_error_set(XP_ECANCEL, "interrupted");
            break;
        }
        xp_http_batch(s->m->base.ctx->http, rq, rs, k);
        for (size_t j = 0; j < k; j++) {
            struct appender *a = &v[idx[j]];
            if (!rc && rs[j].code == 0) {
                a->held += (int64_t)a->nitems;
                a->nitems = 0;
                xp_buf_reset(&a->items);
                a->tries = 0;
            } else if (!rc) {
                xp_error_set_http(rs[j].code, rs[j].status, "%s",
                                  rs[j].error ? rs[j].error : "append failed");
                rc = app_recover(s, a, rs[j].code);
                if (rc)
                    rc = xp_error_wrap(rc, "appending to '%s' of '%s'",
                                       a->name ? a->name : "logs", s->name);
            }
            xp_http_response_release(&rs[j]);
        }
        if (rc)
            break;
    }
    free(rq);
    free(rs);
    free(idx);
    return rc;
}

int mld_send_logs(struct mld_sink *s)
{
    if (!s->nlogs)
        return 0;
    struct appender a;
    int rc = app_open(s, &a, NULL, NULL, s->logs_sid, s->nlogs);
    if (!rc)
        rc = send_appenders(s, &a, 1, s->m->log_batch);
    app_release(&a);
    return rc;
}

int mld_send_metrics(struct mld_sink *s)
{
    int rc = 0;
    size_t w = (size_t)s->m->max_metrics;
    struct appender *v = xp_calloc(w, sizeof(*v));
    for (size_t i = 0; i < s->nser && !rc; i += w) {
        size_t n = s->nser - i < w ? s->nser - i : w, opened = 0;
        for (; opened < n && !rc; opened++) {
            struct wseries *ws = &s->ser[i + opened];
            if (!ws->head && !(ws->head = mld_series_head(ws)))
                rc = xp_error_wrap(XP_EINVALID, "metric '%s' of '%s'", ws->name, s->name);
            if (!rc)
                rc = app_open(s, &v[opened], ws->name, ws->head, ws->sid, ws->count);
        }
        if (!rc)
            rc = send_appenders(s, v, n, s->m->batch);
        for (size_t j = 0; j < opened; j++)
            app_release(&v[j]);
    }
    free(v);
    return rc;
}
