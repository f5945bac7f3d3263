/* The verdict on each HTTP attempt: success, a retry (with backoff,
 * Retry-After and the run's retry budget), a redirect (taken by the engine
 * so credentials are decided again), or a failure with a scrubbed message;
 * and closing a transfer after its last attempt. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http_int.h"
#include "xport/error.h"
#include "xport/sysio.h"

static int budget_take(struct xp_http *h)
{
    int ok = 1;
    pthread_mutex_lock(&h->mu);
    if (h->budget == 0)
        ok = 0;
    else if (h->budget > 0)
        h->budget--;
    pthread_mutex_unlock(&h->mu);
    return ok;
}

static void xfer_transient(struct xfer *x, double retry_after,
                           const char *reason)
{
    struct xp_http *h = x->h;
    const char *m = x->method;
    if (x->attempts >= x->max_attempts) {
        xp__http_fail(x, XP_ERETRY, "%s '%s' failed: %s after %d attempt%s", m,
                  x->rurl, reason, x->attempts, x->attempts == 1 ? "" : "s");
        return;
    }
    if (x->sink == SINK_CB && x->delivered && !x->req->on_reset) {
        xp__http_fail(x, XP_ERETRY, "%s '%s' failed: %s; cannot retry after %lld "
                  "bytes were passed on", m, x->rurl, reason,
                  (long long)x->delivered);
        return;
    }
    double cap = (double)h->cfg.retry_after_max_ms / 1000.0;
    if (retry_after > cap) {
        xp__http_fail(x, XP_ERETRY, "%s '%s' failed: %s; the server asks to retry "
                  "after %.0f s (limit %.0f s)", m, x->rurl, reason,
                  retry_after, cap);
        return;
    }
    if (!budget_take(h)) {
        xp__http_fail(x, XP_ERETRY, "%s '%s' failed: %s; the run's retry budget "
                  "of %ld is used up", m, x->rurl, reason, h->cfg.retry_budget);
        return;
    }
    xp__http_sink_rewind(x);
    if (x->af.err) {
        xp__http_fail(x, x->af.err, "%s", xp_error_last()->message);
        return;
    }
    if (x->sink == SINK_CB && x->req->on_reset) {
        int rc = x->req->on_reset(x->req->payload);
        if (rc) {
            xp__http_fail(x, rc < 0 ? rc : XP_EUSER, "%s '%s': the consumer "
                      "refused a retry after: %s", m, x->rurl, reason);
            return;
        }
        x->delivered = 0;
    }
    double wait = retry_after >= 0
                      ? retry_after
                      : xp__http_backoff(x->attempts - 1, h->cfg.backoff_base_ms,
                                         h->cfg.backoff_max_ms);
    x->not_before = xp__mono() + wait;
    xp__http_log(h, 1, "%s '%s': %s; retry %d of %d in %.2f s", m, x->rurl, reason,
         x->attempts, x->max_attempts - 1, wait);
}

static void xfer_redirect(struct xfer *x)
{
    long st = x->status;
    if (!x->location) {
        xp__http_fail(x, XP_ERROR, "%s '%s' failed: HTTP %ld without a Location",
                  x->method, x->rurl, st);
        return;
    }
    if (++x->redirects > x->h->cfg.max_redirects) {
        xp__http_fail(x, XP_ERROR, "%s '%s' failed: more than %d redirects",
                  x->method, x->rurl, x->h->cfg.max_redirects);
        return;
    }
    char *next = xp__http_resolve(x->url, x->location);
    char *origin = next ? xp__http_origin(next) : NULL;
    if (!origin) {
        char *r = xp_http_redact_url(x->location);
        xp__http_fail(x, XP_ERROR, "%s '%s' failed: redirect to unsupported URL "
                  "'%s'", x->method, x->rurl, r);
        free(r);
        free(next);
        return;
    }
    free(origin);
    /* What browsers and curl do: 303 always, and 301/302 after a POST,
     * turn into a GET without the body. */
    if (st == 303 || ((st == 301 || st == 302) && !strcmp(x->method, "POST"))) {
        if (strcmp(x->method, "HEAD"))
            x->method = "GET";
        x->send_body = 0;
    }
    char *rnext = xp_http_redact_url(next);
    xp__http_log(x->h, 1, "%s '%s' -> %ld, to '%s'", x->method, x->rurl, st, rnext);
    free(rnext);
    xp__http_set_url(x, next);
    x->attempts--; /* following a redirect is not another try */
    x->not_before = 0;
}

/* A write that must not be repeated (XP_HTTP_NOT_IDEMPOTENT) after a
 * failure that leaves open whether the server carried it out: fail it.
 * Returns 1 when it did. */
static int once_failed(struct xfer *x, const char *why)
{
    if (!(x->req->flags & XP_HTTP_NOT_IDEMPOTENT))
        return 0;
    xp__http_fail(x, XP_ERETRY, "%s '%s' failed: %s; not repeated, as the server may "
                  "have carried it out", x->method, x->rurl, why);
    return 1;
}

void xp__http_xfer_end(struct xfer *x, CURLcode res)
{
    struct xp_http *h = x->h;
    const char *m = x->method;
    double dt = xp__mono() - x->attempt_t0;
    xp_sys_http_done(); /* a test build's kill point (core/sysio.c) */
    x->resp->status = x->status;
    x->resp->bytes = x->bytes;
    curl_mime_free(x->mime);
    x->mime = NULL;

    if (x->sink_code) {
        xp__http_log(h, 1, "%s '%s' -> failed after %.3f s: %s", m, x->rurl, dt,
             x->sink_msg.ptr);
        xp__http_fail(x, x->sink_code, "%s", x->sink_msg.ptr);
        return;
    }
    if (res != CURLE_OK) {
        const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(res);
        xp__http_log(h, 1, "%s '%s' -> error after %.3f s (attempt %d): %s", m,
             x->rurl, dt, x->attempts, why);
        if (res == CURLE_ABORTED_BY_CALLBACK && xp__http_cancelled(h)) {
            xp__http_fail(x, XP_ECANCEL, "%s '%s' interrupted", m, x->rurl);
        } else if (xp__http_curl_retryable(res)) {
            if (res == CURLE_COULDNT_CONNECT || res == CURLE_COULDNT_RESOLVE_HOST ||
                !once_failed(x, why))
                xfer_transient(x, -1, why);
        } else {
            xp__http_fail(x, XP_ERROR, "%s '%s' failed: %s", m, x->rurl, why);
        }
        return;
    }
    long st = x->status;
    xp__http_log(h, 1, "%s '%s' -> %ld, %lld bytes in %.3f s (attempt %d)", m,
         x->rurl, st, (long long)x->bytes, dt, x->attempts);
    if (xp__http_is_2xx(st)) {
        struct xp_buf why = XP_BUF_INIT;
        int v = xp__http_verify_body(x, &why);
        if (v == 0 && x->sink == SINK_MEM && x->req->retry_2xx &&
            x->req->retry_2xx(x->req->retry_2xx_payload, &x->resp->body, &why)) {
            xfer_transient(x, x->retry_after, why.len ? why.ptr : "the answer asks to retry");
        } else if (v == 0) {
            x->done = 1;
        } else if (once_failed(x, why.ptr)) {
            /* answered 2xx, then cut or garbled: done, the answer lost */
        } else if (v < 0 || !x->verify_retried) {
            /* a cut-off body is transient; a mismatch gets one more try */
            if (v > 0)
                x->verify_retried = 1;
            xfer_transient(x, -1, why.ptr);
        } else {
            xp__http_fail(x, XP_ERROR, "%s", why.ptr);
        }
        xp_buf_release(&why);
        return;
    }
    if (st == 301 || st == 302 || st == 303 || st == 307 || st == 308) {
        xfer_redirect(x);
        return;
    }
    char reason[64];
    snprintf(reason, sizeof(reason), "HTTP %ld", st);
    if (xp__http_status_retryable(st)) {
        if (st == 408 || st == 429 || st == 503 || !once_failed(x, reason))
            xfer_transient(x, st == 429 || st == 503 ? x->retry_after : -1, reason);
        return;
    }
    struct xp_buf ex = XP_BUF_INIT;
    struct xp_buf clean = XP_BUF_INIT; /* before cutting: no half secrets */
    xp__http_scrub(h, &clean, x->resp->body.ptr);
    xp__http_excerpt(&ex, clean.ptr, clean.len, 200, NULL);
    xp_buf_release(&clean);
    const char *sep = ex.len ? ": " : "";
    if (st == 401 || st == 403)
        xp__http_fail(x, XP_EAUTH, "%s '%s' failed: HTTP %ld%s%s%s", m, x->rurl,
                  st, sep, ex.ptr,
                  x->authed ? "" : " (no credentials were sent)");
    else if (st == 404 || st == 410)
        xp__http_fail(x, XP_ENOTFOUND, "%s '%s' failed: HTTP %ld%s%s", m, x->rurl,
                  st, sep, ex.ptr);
    else
        xp__http_fail(x, XP_ERROR, "%s '%s' failed: HTTP %ld%s%s", m, x->rurl, st,
                  sep, ex.ptr);
    xp_buf_release(&ex);
}

/* After the last attempt: commit or drop the output, fill the response. */
void xp__http_xfer_close(struct xfer *x)
{
    struct xp_http_response *r = x->resp;
    if (x->sink == SINK_FILE && x->af.path) {
        if (!r->code && xp_afile_commit(&x->af)) {
            r->code = xp_error_last()->code;
            free(r->error);
            r->error = xp_strdup(xp_error_last()->message);
        } else if (r->code) {
            xp_afile_abort(&x->af);
        }
    }
    r->url = x->url;
    x->url = NULL;
    r->seconds = xp__mono() - x->t0;
    if (x->easy)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->hdrs);
    curl_mime_free(x->mime);
    xp__http_src_close(&x->body);
    for (size_t i = 0; x->parts && i < x->req->nparts; i++)
        xp__http_src_close(&x->parts[i]);
    free(x->parts);
    free(x->rurl);
    free(x->first_origin);
    free(x->location);
    xp_buf_release(&x->sink_msg);
}
