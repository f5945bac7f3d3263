/* What an HTTP response says: the public response accessors, its headers
 * as they arrive (status, length, Retry-After, Location, digests), and the
 * checks a finished body must pass (length, expected size, checksums). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http_int.h"
#include "xport/error.h"
#include "xport/numparse.h"

/* ---- responses ------------------------------------------------------------ */

void xp_http_response_init(struct xp_http_response *r)
{
    memset(r, 0, sizeof(*r));
    xp_buf_init(&r->body);
    xp_buf_init(&r->headers);
}

void xp_http_response_release(struct xp_http_response *r)
{
    if (r->body.ptr)
        xp_buf_release(&r->body);
    if (r->headers.ptr)
        xp_buf_release(&r->headers);
    free(r->error);
    free(r->url);
    xp_http_response_init(r);
}

int xp_http_response_header(struct xp_buf *out,
                            const struct xp_http_response *r,
                            const char *name)
{
    size_t nlen = strlen(name);
    const char *p = r->headers.ptr;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nlen + 1 && p[nlen] == ':' && !strncasecmp(p, name, nlen)) {
            const char *v = p + nlen + 1;
            while (*v == ' ')
                v++;
            xp_buf_reset(out);
            xp_buf_put(out, v, len - (size_t)(v - p));
            return 0;
        }
        p = eol ? eol + 1 : NULL;
    }
    return XP_ENOTFOUND;
}

static void copy_token(char *dst, size_t cap, const char *v, size_t n)
{
    while (n && (*v == ' ' || *v == ':')) {
        v++;
        n--;
    }
    while (n && (v[n - 1] == ' ' || v[n - 1] == ':'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* Digest (RFC 3230), Repr-Digest (RFC 9530) and X-Goog-Hash all list
 * "algo=base64" items separated by commas. */
static void parse_digests(struct xfer *x, const char *hdr, const char *v)
{
    while (*v) {
        size_t len = strcspn(v, ",");
        const char *eq = memchr(v, '=', len);
        if (eq) {
            const char *name = v;
            while (*name == ' ')
                name++;
            size_t nlen = (size_t)(eq - name);
            size_t vlen = len - (size_t)(eq + 1 - v);
            if (nlen == 7 && !strncasecmp(name, "sha-256", 7)) {
                copy_token(x->srv_sha, sizeof(x->srv_sha), eq + 1, vlen);
                x->srv_sha_from = hdr;
            } else if (nlen == 3 && !strncasecmp(name, "md5", 3)) {
                copy_token(x->srv_md5, sizeof(x->srv_md5), eq + 1, vlen);
                x->srv_md5_from = hdr;
            }
        }
        v += len;
        if (*v == ',')
            v++;
    }
}

void xp__http_attempt_reset(struct xfer *x)
{
    x->status = 0;
    x->content_length = -1;
    x->retry_after = -1;
    free(x->location);
    x->location = NULL;
    x->srv_md5[0] = x->srv_sha[0] = '\0';
    x->srv_md5_from = x->srv_sha_from = NULL;
    xp_buf_reset(&x->resp->headers);
}

size_t xp__http_on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * nitems;
    if (len >= 5 && !memcmp(buf, "HTTP/", 5)) {
        /* a new response: 1xx interim ones are followed by the real one */
        xp__http_attempt_reset(x);
        const char *sp = memchr(buf, ' ', len);
        if (sp)
            x->status = strtol(sp + 1, NULL, 10);
        return len;
    }
    size_t n = len;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    const char *colon = memchr(buf, ':', n);
    if (!n || !colon)
        return len;
    char *line = xp_strndup(buf, n);
    char *name = line, *value = line + (colon - buf) + 1;
    line[colon - buf] = '\0';
    while (*value == ' ' || *value == '\t')
        value++;
    if (x->resp->headers.len < 65536)
        xp_buf_printf(&x->resp->headers, "%s: %s\n", name, value);
    if (!strcasecmp(name, "content-length")) {
        int64_t cl;
        x->content_length = xp_parse_i64(value, &cl) || cl < 0 ? -1 : cl;
    } else if (!strcasecmp(name, "retry-after")) {
        x->retry_after = xp__http_retry_after(value);
    } else if (!strcasecmp(name, "location")) {
        free(x->location);
        x->location = xp_strdup(value);
    } else if (!strcasecmp(name, "content-md5")) {
        copy_token(x->srv_md5, sizeof(x->srv_md5), value, strlen(value));
        x->srv_md5_from = "Content-MD5";
    } else if (!strcasecmp(name, "digest")) {
        parse_digests(x, "Digest", value);
    } else if (!strcasecmp(name, "repr-digest")) {
        parse_digests(x, "Repr-Digest", value);
    } else if (!strcasecmp(name, "x-goog-hash")) {
        parse_digests(x, "X-Goog-Hash", value);
    }
    if (x->h->cfg.verbose >= 2) {
        line[colon - buf] = ':';
        xp__http_log_header(x->h, '<', line);
    }
    free(line);
    return len;
}

/* Decode hex (exactly 2n digits) or base64 into n bytes; -1 if neither. */
static int decode_digest(unsigned char *out, size_t n, const char *s,
                         int *was_hex)
{
    size_t len = strlen(s);
    *was_hex = 0;
    if (len == 2 * n) {
        size_t i;
        for (i = 0; i < n; i++) {
            int a = xp_hex_digit((unsigned char)s[2 * i]);
            int b = xp_hex_digit((unsigned char)s[2 * i + 1]);
            if (a < 0 || b < 0)
                break;
            out[i] = (unsigned char)(a << 4 | b);
        }
        if (i == n) {
            *was_hex = 1;
            return 0;
        }
    }
    unsigned char tmp[64];
    long got = xp_base64_decode(tmp, sizeof(tmp), s, len);
    if (got != (long)n)
        return -1;
    memcpy(out, tmp, n);
    return 0;
}

/* Compare a computed digest with an expected one (hex or base64); on a
 * mismatch put "expected <algo> X, got Y" into why. */
static int digest_ok(struct xp_buf *why, const char *algo,
                     const unsigned char *got, size_t n, const char *expect,
                     const char *source)
{
    unsigned char want[32];
    int hex;
    char shown[90];
    if (decode_digest(want, n, expect, &hex)) {
        xp_buf_printf(why, "%s gives an unreadable %s '%s'", source, algo,
                      expect);
        return 0;
    }
    if (!memcmp(want, got, n))
        return 1;
    if (hex)
        xp_hex(shown, got, n);
    else
        xp_base64(shown, got, n);
    xp_buf_printf(why, "%s %s %s, got %s", source, algo, expect, shown);
    return 0;
}

/* Check a finished 2xx body; returns 0 or puts the reason into why. */
int xp__http_verify_body(struct xfer *x, struct xp_buf *why)
{
    const struct xp_http_request *rq = x->req;
    if (strcmp(x->method, "HEAD") && x->content_length >= 0 &&
        x->bytes != x->content_length) {
        xp_buf_printf(why, "body cut short: received %lld of %lld bytes",
                      (long long)x->bytes, (long long)x->content_length);
        return -1;
    }
    if ((rq->flags & XP_HTTP_CHECK_SIZE) && x->bytes != rq->expect_size) {
        xp_buf_printf(why, "size mismatch for '%s': expected %lld bytes, got "
                      "%lld", x->rurl, (long long)rq->expect_size,
                      (long long)x->bytes);
        return 1;
    }
    if (x->bytes == 0) { /* xp__http_on_write never ran to decide */
        x->want_sha = rq->expect_sha256 || x->srv_sha[0];
        x->want_md5 = rq->expect_md5 || x->srv_md5[0];
    }
    unsigned char sha[32], md5[16];
    if (x->want_sha)
        xp_sha256_final(&x->sha, sha);
    if (x->want_md5)
        xp_md5_final(&x->md5, md5);
    struct xp_buf d = XP_BUF_INIT;
    int ok = 1;
    if (ok && rq->expect_sha256)
        ok = digest_ok(&d, "sha256", sha, 32, rq->expect_sha256, "expected");
    if (ok && rq->expect_md5)
        ok = digest_ok(&d, "md5", md5, 16, rq->expect_md5, "expected");
    if (ok && x->srv_sha[0])
        ok = digest_ok(&d, "sha256", sha, 32, x->srv_sha, x->srv_sha_from);
    if (ok && x->srv_md5[0])
        ok = digest_ok(&d, "md5", md5, 16, x->srv_md5, x->srv_md5_from);
    if (!ok)
        xp_buf_printf(why, "checksum mismatch for '%s': %s", x->rurl, d.ptr);
    xp_buf_release(&d);
    return ok ? 0 : 1;
}
