/* Building an HTTP transfer: checking the request, opening its body, and
 * setting up each attempt's curl handle (options, headers, credentials for
 * the API origin only, method and body). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http_int.h"
#include "xport/error.h"

void xp__http_set_url(struct xfer *x, char *url)
{
    free(x->url);
    free(x->rurl);
    x->url = url;
    x->rurl = xp_http_redact_url(url);
}

void xp__http_xfer_init(struct xfer *x, struct xp_http *h,
                      const struct xp_http_request *rq,
                      struct xp_http_response *resp)
{
    memset(x, 0, sizeof(*x));
    x->h = h;
    x->req = rq;
    x->resp = resp;
    xp_buf_init(&x->sink_msg);
    if (!resp->body.ptr)
        xp_buf_init(&resp->body);
    if (!resp->headers.ptr)
        xp_buf_init(&resp->headers);
    xp_buf_reset(&resp->body);
    xp_buf_reset(&resp->headers);
    free(resp->error);
    free(resp->url);
    resp->error = resp->url = NULL;
    resp->status = 0;
    resp->code = 0;
    resp->bytes = 0;
    resp->attempts = 0;
    resp->seconds = 0;
    x->t0 = xp__mono();
    x->send_body = 1;
    x->max_attempts = (rq->flags & XP_HTTP_NO_RETRY) ? 1 : 1 + h->cfg.max_retries;
    x->cap = rq->max_body ? rq->max_body : h->cfg.max_body;

    int bodies = (rq->body != NULL) + (rq->body_path != NULL) + (rq->nparts > 0);
    x->method = rq->method ? rq->method : bodies ? "POST" : "GET";
    xp__http_set_url(x, xp_strdup(rq->url ? rq->url : ""));
    if (!rq->url || !(x->first_origin = xp__http_origin(rq->url))) {
        xp__http_fail(x, XP_EINVALID, "%s '%s': not an http(s) URL", x->method,
                  x->rurl);
        return;
    }
    if (bodies > 1 || (rq->out_path && rq->on_data)) {
        xp__http_fail(x, XP_EINVALID, "%s '%s': more than one request body or "
                  "response sink given", x->method, x->rurl);
        return;
    }
    x->sink = rq->out_path ? SINK_FILE : rq->on_data ? SINK_CB : SINK_MEM;
    x->body.x = x;
    if (rq->body) {
        x->body.mem = rq->body;
        x->body.size = (curl_off_t)rq->body_len;
    } else if (rq->body_path && xp__http_src_open(&x->body, x, rq->body_path)) {
        xp__http_fail(x, XP_EIO, "%s", xp_error_last()->message);
        return;
    } else if (rq->body_path &&
               xp__http_src_range(&x->body, rq->path_offset, rq->path_len)) {
        xp__http_fail(x, XP_EINVALID, "%s", xp_error_last()->message);
        return;
    }
    if (rq->nparts) {
        x->parts = xp_calloc(rq->nparts, sizeof(*x->parts));
        for (size_t i = 0; i < rq->nparts; i++) {
            const char *path = rq->parts[i].path;
            x->parts[i].x = x;
            if (path && xp__http_src_open(&x->parts[i], x, path)) {
                xp__http_fail(x, XP_EIO, "%s", xp_error_last()->message);
                return;
            }
        }
    }
    if (x->sink == SINK_FILE && xp_afile_open(&x->af, rq->out_path)) {
        xp__http_fail(x, XP_EIO, "%s", xp_error_last()->message);
        return;
    }
}

static int build_mime(struct xfer *x)
{
    x->mime = curl_mime_init(x->easy);
    if (!x->mime)
        return -1;
    for (size_t i = 0; i < x->req->nparts; i++) {
        const struct xp_http_part *p = &x->req->parts[i];
        curl_mimepart *mp = curl_mime_addpart(x->mime);
        if (!mp || curl_mime_name(mp, p->name))
            return -1;
        if (p->path) {
            struct xp__http_src *src = &x->parts[i];
            if (xp__http_src_rewind(src) ||
                curl_mime_data_cb(mp, src->size, xp__http_src_read,
                                  xp__http_src_seek, NULL, src))
                return -1;
            const char *base = strrchr(p->path, '/');
            const char *fn = p->filename ? p->filename
                                         : base ? base + 1 : p->path;
            if (curl_mime_filename(mp, fn))
                return -1;
        } else {
            if (curl_mime_data(mp, p->data ? p->data : "", p->len))
                return -1;
            if (p->filename && curl_mime_filename(mp, p->filename))
                return -1;
        }
        if (p->content_type && curl_mime_type(mp, p->content_type))
            return -1;
    }
    return 0;
}

int xp__http_xfer_start(struct xfer *x)
{
    struct xp_http *h = x->h;
    const struct xp_http_request *rq = x->req;
    x->attempts++;
    x->resp->attempts = x->attempts;
    x->attempt_t0 = xp__mono();
    xp__http_attempt_reset(x);
    x->bytes = 0;
    x->sink_code = 0;
    xp_buf_reset(&x->sink_msg);
    xp_buf_reset(&x->resp->body);
    xp_sha256_init(&x->sha);
    xp_md5_init(&x->md5);
    x->errbuf[0] = '\0';
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;

    if (!x->easy && !(x->easy = curl_easy_init()))
        return -1;
    CURL *e = x->easy;
    curl_easy_reset(e);
    curl_mime_free(x->mime);
    x->mime = NULL;

    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_SHARE, h->share);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, h->ua);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->cfg.connect_timeout_ms);
    long tmo = rq->timeout_ms ? rq->timeout_ms : h->cfg.timeout_ms;
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, h->cfg.low_speed_limit);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, h->cfg.low_speed_time_s);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, h->cfg.insecure ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, h->cfg.insecure ? 0L : 2L);
    if (h->cfg.ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->cfg.ca_file);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, xp__http_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, xp__http_on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, xp__http_on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);

    /* Headers the caller chose stay with the origin they were meant for;
     * credentials go to the API origin only. */
    char *origin = xp__http_origin(x->url);
    int home = origin && !strcmp(origin, x->first_origin);
    const struct xp_http_cred *cred =
        rq->flags & XP_HTTP_NO_AUTH ? NULL : xp__http_cred_for(h, rq->cred, origin);
    x->authed = cred != NULL;
    free(origin);
    struct curl_slist *l = NULL;
    for (size_t i = 0; home && i < rq->nheaders; i++) {
        struct xp_buf hb = XP_BUF_INIT;
        xp_buf_printf(&hb, "%s: %s", rq->headers[i].name,
                      rq->headers[i].value);
        l = curl_slist_append(l, hb.ptr);
        xp_buf_release(&hb);
    }
    /* no 1 s stall on 100-continue; but libcurl 7.88 signs every header
     * set here, this empty one too, which S3 never receives: signed
     * requests keep curl's Expect (S3 answers it at once) */
    if (!(x->authed && cred->sigv4))
        l = curl_slist_append(l, "Expect:");
    if (x->authed && cred->line)
        l = curl_slist_append(l, cred->line);
    if (x->authed && cred->sigv4) {
        curl_easy_setopt(e, CURLOPT_AWS_SIGV4, cred->sigv4);
        curl_easy_setopt(e, CURLOPT_USERNAME, cred->akey);
        curl_easy_setopt(e, CURLOPT_PASSWORD, cred->secret);
    }
    x->hdrs = l;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, l);

    int has_body = rq->body || rq->body_path || rq->nparts;
    int is_post = !strcmp(x->method, "POST");
    if (x->send_body && has_body) {
        if (rq->nparts) {
            if (build_mime(x))
                return -1;
            curl_easy_setopt(e, CURLOPT_MIMEPOST, x->mime);
        } else {
            if (xp__http_src_rewind(&x->body))
                return -1;
            curl_easy_setopt(e, CURLOPT_POST, 1L);
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, x->body.size);
            curl_easy_setopt(e, CURLOPT_READFUNCTION, xp__http_src_read);
            curl_easy_setopt(e, CURLOPT_READDATA, &x->body);
            curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, xp__http_src_seek);
            curl_easy_setopt(e, CURLOPT_SEEKDATA, &x->body);
        }
        if (!is_post)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
    } else if (!strcmp(x->method, "GET")) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (!strcmp(x->method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (is_post) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
    }

    if (h->cfg.verbose >= 2) {
        xp__http_log(h, 2, "%s '%s' (attempt %d)", x->method, x->rurl, x->attempts);
        for (struct curl_slist *s = l; s; s = s->next)
            if (strcmp(s->data, "Expect:"))
                xp__http_log_header(h, '>', s->data);
    }
    return 0;
}

/* RFC 3986 path segment: unreserved characters kept, every other byte
 * percent-encoded, so a name ('a/b', '..', unicode) stays one segment. */
void xp_http_put_segment(struct xp_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    /* "." and ".." would be squashed by dot-segment removal (RFC 3986
     * 5.2.4, which curl applies): encoded, they stay a name */
    int dots = !strcmp(s, ".") || !strcmp(s, "..");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (dots) {
            xp_buf_puts(b, "%2E");
            continue;
        }
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || (*p && strchr("-._~", *p))) {
            xp_buf_putc(b, (char)*p);
        } else {
            xp_buf_putc(b, '%');
            xp_buf_putc(b, hex[*p >> 4]);
            xp_buf_putc(b, hex[*p & 15]);
        }
    }
}
