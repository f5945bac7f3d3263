/* Request bodies and response sinks for the HTTP engine: where a body is
 * read from (memory, a file, multipart files), where a response goes
 * (memory, an atomically written file, the caller's callback), and the
 * rate limits on both directions. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "http_int.h"
#include "xport/error.h"
#include "xport/sysio.h"

static void throttle(struct xfer *x, size_t n)
{
    double a = xp_bucket_take(&x->h->rate, (double)n);
    double b = xp_bucket_take(&x->h->hourly, (double)n);
    double w = a > b ? a : b;
    if (w > 0)
        xp__sleep(w, x->h->cfg.cancel);
}

static void sink_fail(struct xfer *x, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void sink_fail(struct xfer *x, int code, const char *fmt, ...)
{
    if (x->sink_code)
        return;
    x->sink_code = code;
    va_list ap;
    va_start(ap, fmt);
    xp_buf_vprintf(&x->sink_msg, fmt, ap);
    va_end(ap);
}

/* ---- the sink: memory, an atomic file, or the caller's callback ------- */

size_t xp__http_on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * nmemb;
    struct xp_buf *body = &x->resp->body;
    if (!xp__http_is_2xx(x->status)) {
        /* keep the start of an error body for the message */
        if (body->len < 4096)
            xp_buf_put(body, data, len < 4096 - body->len ? len : 4096 - body->len);
        return len;
    }
    if (x->bytes == 0) {
        x->want_sha = x->req->expect_sha256 || x->srv_sha[0];
        x->want_md5 = x->req->expect_md5 || x->srv_md5[0];
    }
    if ((x->req->flags & XP_HTTP_CHECK_SIZE) &&
        x->bytes + (int64_t)len > x->req->expect_size) {
        /* past the size the caller was told: stop now, not after an
         * endless body has filled the disk */
        sink_fail(x, XP_ERROR, "size mismatch for '%s': expected %lld bytes, "
                  "got more", x->rurl, (long long)x->req->expect_size);
        return 0;
    }
    x->bytes += (int64_t)len;
    xp_sys_http_body(x->bytes, x->content_length); /* a test build's kill point */
    if (x->want_sha)
        xp_sha256_update(&x->sha, data, len);
    if (x->want_md5)
        xp_md5_update(&x->md5, data, len);
    switch (x->sink) {
    case SINK_MEM:
        if (body->len + len > x->cap) {
            sink_fail(x, XP_ERROR, "%s '%s' failed: response is larger than "
                      "%zu bytes", x->method, x->rurl, x->cap);
            return 0;
        }
        /* size the buffer once: doubling a 10 MB body copies it twice over */
        if (body->len == 0 && x->content_length > 0 && (size_t)x->content_length <= x->cap)
            xp_buf_grow(body, (size_t)x->content_length);
        xp_buf_put(body, data, len);
        break;
    case SINK_FILE:
        xp_afile_write(&x->af, data, len);
        if (x->af.err) {
            sink_fail(x, x->af.err, "%s", xp_error_last()->message);
            return 0;
        }
        break;
    case SINK_CB: {
        int rc = x->req->on_data(x->req->payload, data, len);
        if (rc) {
            /* the consumer's own error says why (a malformed point, a
             * number out of range): keep it */
            const char *why = rc < 0 ? xp_error_last()->message : "";
            sink_fail(x, rc < 0 ? rc : XP_EUSER,
                      "%s '%s': the consumer stopped the transfer%s%s",
                      x->method, x->rurl, *why ? ": " : "", why);
            return 0;
        }
        x->delivered += (int64_t)len;
        break;
    }
    }
    throttle(x, len);
    return len;
}

/* ---- sources: one read and one seek for a whole body and for parts ------ */

int xp__http_src_open(struct xp__http_src *s, struct xfer *x,
                      const char *path)
{
    struct stat st;
    s->x = x;
    s->path = path;
    s->fp = fopen(path, "rb");
    if (!s->fp || fstat(fileno(s->fp), &st))
        return xp_error_set_os(XP_EIO, "cannot open '%s'", path);
    s->size = (curl_off_t)st.st_size;
    return 0;
}

int xp__http_src_range(struct xp__http_src *s, int64_t off, int64_t len)
{
    if (off < 0 || len < 0 || off > (int64_t)s->size ||
        (len && len > (int64_t)s->size - off))
        return xp_error_set(XP_EINVALID, "bytes %" PRId64 "+%" PRId64
                            " are not inside '%s' (%" PRId64 " bytes)", off, len,
                            s->path, (int64_t)s->size);
    s->base = (curl_off_t)off;
    s->size = len ? (curl_off_t)len : s->size - (curl_off_t)off;
    return 0;
}

void xp__http_src_close(struct xp__http_src *s)
{
    if (s->fp)
        fclose(s->fp);
    s->fp = NULL;
}

int xp__http_src_rewind(struct xp__http_src *s)
{
    s->off = 0;
    return s->fp && fseeko(s->fp, (off_t)s->base, SEEK_SET) ? -1 : 0;
}

size_t xp__http_src_read(char *buf, size_t size, size_t nitems, void *ud)
{
    struct xp__http_src *s = ud;
    size_t want = size * nitems, got;
    if (s->fp) {
        size_t left = (size_t)(s->size - s->off);
        got = fread(buf, 1, want < left ? want : left, s->fp);
        if (!got && ferror(s->fp)) {
            sink_fail(s->x, XP_EIO, "cannot read '%s'", s->path);
            return CURL_READFUNC_ABORT;
        }
        s->off += (curl_off_t)got;
    } else {
        size_t left = (size_t)(s->size - s->off);
        got = want < left ? want : left;
        memcpy(buf, s->mem + s->off, got);
        s->off += (curl_off_t)got;
    }
    throttle(s->x, got);
    return got;
}

int xp__http_src_seek(void *ud, curl_off_t off, int origin)
{
    struct xp__http_src *s = ud;
    if (origin != SEEK_SET || off < 0 || off > s->size)
        return CURL_SEEKFUNC_CANTSEEK;
    if (s->fp && fseeko(s->fp, (off_t)(s->base + off), SEEK_SET))
        return CURL_SEEKFUNC_FAIL;
    s->off = off;
    return CURL_SEEKFUNC_OK;
}

/* ---- progress and retries ------------------------------------------------ */

int xp__http_on_progress(void *ud, curl_off_t dt, curl_off_t dn,
                         curl_off_t ut, curl_off_t un)
{
    struct xfer *x = ud;
    return xp__http_cancelled(x->h);
}

void xp__http_sink_rewind(struct xfer *x)
{
    xp_buf_reset(&x->resp->body);
    if (x->sink == SINK_FILE && x->af.fp) {
        fflush(x->af.fp);
        if (ftruncate(fileno(x->af.fp), 0) || fseeko(x->af.fp, 0, SEEK_SET))
            x->af.err = xp_error_set_os(XP_EIO, "cannot truncate '%s'",
                                        x->af.tmp);
    }
}
