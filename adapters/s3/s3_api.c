/* The S3 calls the s3 adapter makes (docs.aws.amazon.com/AmazonS3/latest/
 * API/: PutObject, GetObject, DeleteObject, ListObjectsV2,
 * CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
 * AbortMultipartUpload), signed by libcurl through the HTTP engine's SigV4
 * credentials. libcurl signs the path and query exactly as sent, so paths
 * are built from RFC 3986-encoded segments and queries are written with
 * their names in sorted order and every value encoded, which is the
 * canonical form SigV4 wants. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s3.h"
#include "xport/error.h"
#include "xport/hash.h"
#include "xport/numparse.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

void s3_key(struct xp_buf *out, const struct s3_adapter *s, const char *rel)
{
    xp_buf_reset(out);
    xp_buf_puts(out, s->prefix);
    if (*s->prefix && *rel)
        xp_buf_putc(out, '/');
    xp_buf_puts(out, rel);
}

/* The URL of key (NULL: the bucket) with query (NULL: none). */
static void object_url(struct xp_buf *u, const struct s3_adapter *s, const char *key,
                       const char *query)
{
    xp_buf_reset(u);
    xp_buf_puts(u, s->endpoint);
    if (s->path_style) {
        xp_buf_putc(u, '/');
        xp_http_put_segment(u, s->bucket);
    }
    xp_buf_putc(u, '/');
    if (key) {
        const char *p = key;
        for (;;) {
            size_t n = strcspn(p, "/");
            char *seg = xp_strndup(p, n);
            xp_http_put_segment(u, seg);
            free(seg);
            if (!p[n])
                break;
            xp_buf_putc(u, '/');
            p += n + 1;
        }
    }
    if (query && *query)
        xp_buf_printf(u, "?%s", query);
}

struct call {
    const char *method, *key, *query;
    const void *body;
    size_t len;
    const char *body_path;
    const char *sha256_hex;  /* of the body; NULL: of no body */
    const char *md5_b64;     /* Content-MD5, or NULL */
    const char *content_type;
    const char *out_path;
    int64_t size;            /* of the download, or -1 */
};

static int call(struct s3_adapter *s, const struct call *c, struct xp_http_response *r)
{
    struct xp_buf url = XP_BUF_INIT;
    object_url(&url, s, c->key, c->query);
    struct xp_http_header h[3];
    size_t nh = 0;
    h[nh++] = (struct xp_http_header){"x-amz-content-sha256",
                                      c->sha256_hex ? c->sha256_hex : EMPTY_SHA256};
    if (c->md5_b64)
        h[nh++] = (struct xp_http_header){"Content-MD5", c->md5_b64};
    if (c->content_type)
        h[nh++] = (struct xp_http_header){"Content-Type", c->content_type};
    struct xp_http_request rq = {0};
    rq.method = c->method;
    rq.url = url.ptr;
    rq.headers = h;
    rq.nheaders = nh;
    rq.body = c->body;
    rq.body_len = c->len;
    rq.body_path = c->body_path;
    rq.out_path = c->out_path;
    rq.cred = s->cred;
    if (c->out_path && c->size >= 0) {
        rq.expect_size = c->size;
        rq.flags |= XP_HTTP_CHECK_SIZE;
    }
    int rc = xp_http_request(s->base.ctx->http, &rq, r);
    xp_buf_release(&url);
    if (rc == XP_EAUTH)
        rc = xp_error_wrap(rc, "S3 refused the credentials from %s", s->cred_from);
    return rc;
}

/* The ETag S3 answered must be the MD5 of what was sent. */
static int check_etag(const struct xp_http_response *r, const unsigned char md5[16],
                      const char *key, struct xp_buf *etag_out)
{
    char hex[33];
    xp_hex(hex, md5, 16);
    struct xp_buf et = XP_BUF_INIT;
    int rc = 0;
    if (xp_http_response_header(&et, r, "ETag") == 0) {
        const char *v = et.ptr;
        size_t n = et.len;
        if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
            v++, n -= 2;
        if (n != 32 || strncasecmp(v, hex, 32))
            rc = xp_error_set(XP_EIO, "object '%s' was stored with ETag %s, not the MD5 "
                              "of what was sent (%s)", key, et.ptr, hex);
    }
    if (!rc && etag_out)
        xp_buf_printf(etag_out, "\"%s\"", hex);
    xp_buf_release(&et);
    return rc;
}

static void digests(const void *data, size_t len, char sha_hex[65], char md5_b64[25],
                    unsigned char md5[16])
{
    struct xp_md5 mc;
    xp_sha256_hex(sha_hex, data, len);
    xp_md5_init(&mc);
    xp_md5_update(&mc, data, len);
    xp_md5_final(&mc, md5);
    xp_base64(md5_b64, md5, 16);
}

/* The text of the first <tag>...</tag> at or after *at in xml, entities
 * decoded, into out; *at moves past it. 0, or -1 when there is none. */
static int xml_next(struct xp_buf *out, const char **at, const char *tag,
                    const char *before)
{
    char open[64], close[64];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *p = strstr(*at, open);
    if (!p || (before && p >= before))
        return -1;
    p += strlen(open);
    const char *e = strstr(p, close);
    if (!e)
        return -1;
    xp_buf_reset(out);
    while (p < e) {
        if (*p != '&') {
            xp_buf_putc(out, *p++);
            continue;
        }
        static const struct { const char *ent; char c; } ents[] = {
            {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
        int done = 0;
        for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]) && !done; i++)
            if (!strncmp(p, ents[i].ent, strlen(ents[i].ent))) {
                xp_buf_putc(out, ents[i].c);
                p += strlen(ents[i].ent);
                done = 1;
            }
        if (!done && p[1] == '#') {
            /* a character reference: S3 writes control characters so */
            char *end;
            int hexa = p[2] == 'x';
            unsigned long v = strtoul(p + 2 + hexa, &end, hexa ? 16 : 10);
            if (*end == ';' && v > 0 && v < 0x80) {
                xp_buf_putc(out, (char)v);
                p = end + 1;
                done = 1;
            }
        }
        if (!done)
            xp_buf_putc(out, *p++);
    }
    *at = e + strlen(close);
    return 0;
}

static int multipart(struct s3_adapter *s, const char *key, const char *path, int64_t size)
{
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    struct call c = {"POST", key, "uploads=", NULL, 0, NULL, NULL, NULL, NULL, NULL, -1};
    int rc = call(s, &c, &r);
    struct xp_buf id = XP_BUF_INIT, q = XP_BUF_INIT, done = XP_BUF_INIT, et = XP_BUF_INIT;
    const char *at = r.body.ptr;
    if (!rc && xml_next(&id, &at, "UploadId", NULL))
        rc = xp_error_set(XP_EIO, "S3 gave no upload id for '%s'", key);
    int fd = rc ? -1 : open(path, O_RDONLY | O_CLOEXEC);
    if (!rc && fd < 0)
        rc = xp_error_set_os(XP_EIO, "cannot open '%s'", path);
    size_t psz = (size_t)s->part_size;
    char *part = rc ? NULL : xp_malloc(psz ? psz : 1);
    xp_buf_puts(&done, "<CompleteMultipartUpload>");
    int64_t off = 0;
    for (int no = 1; !rc && off < size; no++) {
        size_t want = (size_t)(size - off < (int64_t)psz ? size - off : (int64_t)psz), got = 0;
        while (got < want) {
            ssize_t n = pread(fd, part + got, want - got, (off_t)(off + (int64_t)got));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                rc = xp_error_set_os(XP_EIO, "cannot read '%s'", path);
                break;
            }
            got += (size_t)n;
        }
        if (rc)
            break;
        char sha_hex[65], md5_b64[25];
        unsigned char md5[16];
        digests(part, want, sha_hex, md5_b64, md5);
        xp_buf_reset(&q);
        xp_buf_printf(&q, "partNumber=%d&uploadId=", no);
        xp_http_put_segment(&q, id.ptr);
        struct call pc = {"PUT", key, q.ptr, part, want, NULL, sha_hex, md5_b64, NULL,
                          NULL, -1};
        rc = call(s, &pc, &r);
        xp_buf_reset(&et);
        if (!rc)
            rc = check_etag(&r, md5, key, &et);
        if (!rc)
            xp_buf_printf(&done, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
                          no, et.ptr);
        off += (int64_t)want;
    }
    if (fd >= 0)
        close(fd);
    free(part);
    xp_buf_puts(&done, "</CompleteMultipartUpload>");
    xp_buf_reset(&q);
    xp_buf_puts(&q, "uploadId=");
    xp_http_put_segment(&q, id.ptr);
    if (!rc) {
        char sha_hex[65], md5_b64[25];
        unsigned char md5[16];
        digests(done.ptr, done.len, sha_hex, md5_b64, md5);
        struct call cc = {"POST", key, q.ptr, done.ptr, done.len, NULL, sha_hex, NULL,
                          "application/xml", NULL, -1};
        rc = call(s, &cc, &r);
        /* S3 may answer 200 and put the failure in the body */
        if (!rc && strstr(r.body.ptr, "<Error>"))
            rc = xp_error_set(XP_EIO, "S3 could not complete the upload of '%s'", key);
    }
    if (rc && id.len) {
        /* leave no parts behind, keeping the first error */
        char msg[sizeof(xp_error_last()->message)];
        snprintf(msg, sizeof(msg), "%s", xp_error_last()->message);
        struct call ac = {"DELETE", key, q.ptr, NULL, 0, NULL, NULL, NULL, NULL, NULL, -1};
        struct xp_http_response ar = XP_HTTP_RESPONSE_INIT;
        call(s, &ac, &ar);
        xp_http_response_release(&ar);
        xp_error_set(rc, "%s", msg);
    }
    xp_buf_release(&id);
    xp_buf_release(&q);
    xp_buf_release(&done);
    xp_buf_release(&et);
    xp_http_response_release(&r);
    return rc;
}

int s3_put_file(struct s3_adapter *s, const char *key, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return xp_error_set_os(XP_EIO, "cannot read '%s'", path);
    if ((int64_t)st.st_size > s->part_size)
        return multipart(s, key, path, (int64_t)st.st_size);
    /* the digests first: S3 checks the body against both */
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return xp_error_set_os(XP_EIO, "cannot open '%s'", path);
    struct xp_sha256 sc;
    struct xp_md5 mc;
    xp_sha256_init(&sc);
    xp_md5_init(&mc);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
        xp_sha256_update(&sc, buf, n);
        xp_md5_update(&mc, buf, n);
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad)
        return xp_error_set(XP_EIO, "cannot read '%s'", path);
    unsigned char sha[32], md5[16];
    char sha_hex[65], md5_b64[25];
    xp_sha256_final(&sc, sha);
    xp_md5_final(&mc, md5);
    xp_hex(sha_hex, sha, 32);
    xp_base64(md5_b64, md5, 16);
    struct call c = {"PUT", key, NULL, NULL, 0, path, sha_hex, md5_b64, NULL, NULL, -1};
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    int rc = call(s, &c, &r);
    if (!rc)
        rc = check_etag(&r, md5, key, NULL);
    xp_http_response_release(&r);
    return rc;
}

int s3_get_file(struct s3_adapter *s, const char *key, const char *path, int64_t size)
{
    struct call c = {"GET", key, NULL, NULL, 0, NULL, NULL, NULL, NULL, path, size};
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    int rc = call(s, &c, &r);
    xp_http_response_release(&r);
    if (rc == XP_ENOTFOUND)
        xp_error_clear();
    return rc;
}

int s3_delete(struct s3_adapter *s, const char *key)
{
    struct call c = {"DELETE", key, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, -1};
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    int rc = call(s, &c, &r);
    xp_http_response_release(&r);
    return rc;
}

/* cb for each <block> of a listing: its <name>, and its <Size> when sz is
 * given (an object), else -1 (a common prefix). */
static int each_entry(const char *xml, const char *block, const char *name,
                      struct xp_buf *v, struct xp_buf *sz, s3_list_cb cb, void *payload)
{
    char open[32], close[32];
    snprintf(open, sizeof(open), "<%s>", block);
    snprintf(close, sizeof(close), "</%s>", block);
    const char *at = xml, *start, *end;
    int rc = 0;
    while (!rc && (start = strstr(at, open)) && (end = strstr(start, close))) {
        const char *p = start;
        int64_t size = -1;
        if (!xml_next(v, &p, name, end)) {
            p = start;
            if (sz && (xml_next(sz, &p, "Size", end) || xp_parse_i64(sz->ptr, &size) ||
                       size < 0))
                rc = xp_error_set(XP_EIO, "S3 listed '%s' without a valid size", v->ptr);
            if (!rc)
                rc = cb(payload, v->ptr, size);
        }
        at = end;
    }
    return rc;
}

int s3_list(struct s3_adapter *s, const char *prefix, const char *delimiter,
            s3_list_cb cb, void *payload)
{
    struct xp_buf q = XP_BUF_INIT, token = XP_BUF_INIT, v = XP_BUF_INIT, sz = XP_BUF_INIT;
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    int rc = 0, more = 1;
    while (!rc && more) {
        if (xp_ctx_cancelled(s->base.ctx)) {
            rc = xp_error_set(XP_ECANCEL, "cancelled");
            break;
        }
        /* names in sorted order: the canonical query SigV4 signs */
        xp_buf_reset(&q);
        if (token.len) {
            xp_buf_puts(&q, "continuation-token=");
            xp_http_put_segment(&q, token.ptr);
            xp_buf_putc(&q, '&');
        }
        if (delimiter) {
            xp_buf_puts(&q, "delimiter=");
            xp_http_put_segment(&q, delimiter);
            xp_buf_putc(&q, '&');
        }
        xp_buf_printf(&q, "list-type=2&max-keys=%ld&prefix=", s->list_page);
        xp_http_put_segment(&q, prefix);
        struct call c = {"GET", NULL, q.ptr, NULL, 0, NULL, NULL, NULL, NULL, NULL, -1};
        rc = call(s, &c, &r);
        if (rc == XP_ENOTFOUND)
            rc = xp_error_wrap(rc, "no bucket '%s'", s->bucket);
        if (rc)
            break;
        const char *xml = r.body.ptr, *at = xml;
        /* each <Contents> holds one <Key> and its <Size>; each
         * <CommonPrefixes>, one <Prefix> */
        rc = each_entry(xml, "Contents", "Key", &v, &sz, cb, payload);
        if (!rc)
            rc = each_entry(xml, "CommonPrefixes", "Prefix", &v, NULL, cb, payload);
        at = xml;
        more = !xml_next(&v, &at, "IsTruncated", NULL) && !strcmp(v.ptr, "true");
        at = xml;
        if (more && xml_next(&token, &at, "NextContinuationToken", NULL))
            rc = xp_error_set(XP_EIO, "S3 listing of '%s' is truncated but gives no "
                              "continuation token", prefix);
    }
    xp_buf_release(&q);
    xp_buf_release(&token);
    xp_buf_release(&v);
    xp_buf_release(&sz);
    xp_http_response_release(&r);
    return rc;
}
