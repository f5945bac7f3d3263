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
    int64_t offset, range;   /* with body_path: range bytes from offset */
};

/* One request being built: what its xp_http_request points at. */
struct slot {
    struct xp_buf url;
    struct xp_http_header h[3];
};

static void prepare(struct s3_adapter *s, const struct call *c, struct slot *sl,
                    struct xp_http_request *rq)
{
    xp_buf_init(&sl->url);
    object_url(&sl->url, s, c->key, c->query);
    size_t nh = 0;
    sl->h[nh++] = (struct xp_http_header){"x-amz-content-sha256",
                                          c->sha256_hex ? c->sha256_hex : EMPTY_SHA256};
    if (c->md5_b64)
        sl->h[nh++] = (struct xp_http_header){"Content-MD5", c->md5_b64};
    if (c->content_type)
        sl->h[nh++] = (struct xp_http_header){"Content-Type", c->content_type};
    memset(rq, 0, sizeof(*rq));
    rq->method = c->method;
    rq->url = sl->url.ptr;
    rq->headers = sl->h;
    rq->nheaders = nh;
    rq->body = c->body;
    rq->body_len = c->len;
    rq->body_path = c->body_path;
    rq->path_offset = c->offset;
    rq->path_len = c->range;
    rq->out_path = c->out_path;
    rq->cred = s->cred;
    if (c->out_path && c->size >= 0) {
        rq->expect_size = c->size;
        rq->flags |= XP_HTTP_CHECK_SIZE;
    }
}

/* The n calls at once (the HTTP engine's multi interface, within its
 * connection limit); rs[i] gets each one's answer. 0, or the first
 * failure's code with its message. */
static int call_n(struct s3_adapter *s, const struct call *cs, struct xp_http_response *rs,
                  size_t n)
{
    struct slot *sl = xp_calloc(n, sizeof(*sl));
    struct xp_http_request *rq = xp_calloc(n, sizeof(*rq));
    for (size_t i = 0; i < n; i++)
        prepare(s, &cs[i], &sl[i], &rq[i]);
    int rc = n == 1 ? xp_http_request(s->base.ctx->http, rq, rs)
                    : xp_http_batch(s->base.ctx->http, rq, rs, n);
    for (size_t i = 0; i < n; i++)
        xp_buf_release(&sl[i].url);
    free(sl);
    free(rq);
    if (rc == XP_EAUTH)
        rc = xp_error_wrap(rc, "S3 refused the credentials from %s", s->cred_from);
    return rc;
}

static int call(struct s3_adapter *s, const struct call *c, struct xp_http_response *r)
{
    return call_n(s, c, r, 1);
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

/* The digests S3 checks a body against: SHA-256 (x-amz-content-sha256)
 * and MD5 (Content-MD5, and the ETag it answers). */
struct sums {
    char sha_hex[65], md5_b64[25];
    unsigned char md5[16];
};

static void sums_end(struct sums *d, struct xp_sha256 *sc, struct xp_md5 *mc)
{
    unsigned char sha[32];
    xp_sha256_final(sc, sha);
    xp_md5_final(mc, d->md5);
    xp_hex(d->sha_hex, sha, 32);
    xp_base64(d->md5_b64, d->md5, 16);
}

static void mem_sums(struct sums *d, const void *data, size_t len)
{
    struct xp_sha256 sc;
    struct xp_md5 mc;
    xp_sha256_init(&sc);
    xp_md5_init(&mc);
    xp_sha256_update(&sc, data, len);
    xp_md5_update(&mc, data, len);
    sums_end(d, &sc, &mc);
}

/* The digests of len bytes of path from off, read in small pieces. */
static int file_sums(struct sums *d, const char *path, int64_t off, int64_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xp_error_set_os(XP_EIO, "cannot open '%s'", path);
    struct xp_sha256 sc;
    struct xp_md5 mc;
    xp_sha256_init(&sc);
    xp_md5_init(&mc);
    char buf[65536];
    int rc = 0;
    while (len > 0) {
        size_t want = len < (int64_t)sizeof(buf) ? (size_t)len : sizeof(buf);
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = xp_error_set_os(XP_EIO, "cannot read '%s'", path);
            break;
        }
        if (n == 0) {
            rc = xp_error_set(XP_EIO, "'%s' ended while being read", path);
            break;
        }
        xp_sha256_update(&sc, buf, (size_t)n);
        xp_md5_update(&mc, buf, (size_t)n);
        off += n;
        len -= n;
    }
    close(fd);
    sums_end(d, &sc, &mc);
    return rc;
}

int s3_part_size(int64_t want, int64_t size, int64_t *out)
{
    int64_t ps = want;
    if (size > ps * S3_MAX_PARTS) {
        /* the fewest whole MiB that fit the object in 10,000 parts */
        ps = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
        ps = (ps + (1 << 20) - 1) / (1 << 20) * (1 << 20);
    }
    if (ps > S3_MAX_PART)
        return xp_error_set(XP_EINVALID, "%" PRId64 " bytes is more than S3 takes in "
                            "one object (10,000 parts of 5 GiB)", size);
    *out = ps;
    return 0;
}

/* One PUT of a file or a part of it, and its digests. */
struct put {
    struct call c;
    struct sums d;
    struct xp_buf q;
};

/* The n PUTs at once; each ETag answered must be the MD5 sent, and goes
 * into etags[i] when etags is given. */
static int run_puts(struct s3_adapter *s, struct put *p, size_t n, struct xp_buf *etags)
{
    struct call *cs = xp_calloc(n, sizeof(*cs));
    struct xp_http_response *rs = xp_calloc(n, sizeof(*rs));
    for (size_t i = 0; i < n; i++) {
        cs[i] = p[i].c;
        cs[i].sha256_hex = p[i].d.sha_hex;
        cs[i].md5_b64 = p[i].d.md5_b64;
        xp_http_response_init(&rs[i]);
    }
    int rc = call_n(s, cs, rs, n);
    for (size_t i = 0; i < n && !rc; i++) {
        if (etags)
            xp_buf_reset(&etags[i]);
        rc = check_etag(&rs[i], p[i].d.md5, cs[i].key, etags ? &etags[i] : NULL);
    }
    for (size_t i = 0; i < n; i++)
        xp_http_response_release(&rs[i]);
    free(rs);
    free(cs);
    return rc;
}

static size_t window(const struct s3_adapter *s)
{
    return s->parallel > 0 ? (size_t)s->parallel : 1;
}

/* An object above the part size: parts of at least the part size (S3's
 * 10,000-part limit may ask more), streamed from the file, `parallel` at a
 * time, then completed; aborted on failure so that no parts are left. */
static int multipart(struct s3_adapter *s, const char *key, const char *path, int64_t size)
{
    int64_t psz = 0;
    int rc = s3_part_size(s->part_size, size, &psz);
    if (rc)
        return rc;
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    struct call c = {"POST", key, "uploads=", NULL, 0, NULL, NULL, NULL, NULL, NULL, -1, 0, 0};
    rc = call(s, &c, &r);
    struct xp_buf id = XP_BUF_INIT, q = XP_BUF_INIT, done = XP_BUF_INIT;
    const char *at = r.body.ptr;
    if (!rc && xml_next(&id, &at, "UploadId", NULL))
        rc = xp_error_set(XP_EIO, "S3 gave no upload id for '%s'", key);
    size_t w = window(s);
    struct put *p = xp_calloc(w, sizeof(*p));
    struct xp_buf *et = xp_calloc(w, sizeof(*et));
    for (size_t j = 0; j < w; j++) {
        xp_buf_init(&p[j].q);
        xp_buf_init(&et[j]);
    }
    xp_buf_puts(&done, "<CompleteMultipartUpload>");
    int64_t nparts = (size + psz - 1) / psz;
    for (int64_t first = 1; !rc && first <= nparts; first += (int64_t)w) {
        size_t m = 0;
        for (; !rc && m < w && first + (int64_t)m <= nparts; m++) {
            int64_t no = first + (int64_t)m, off = (no - 1) * psz;
            int64_t len = size - off < psz ? size - off : psz;
            rc = file_sums(&p[m].d, path, off, len);
            xp_buf_reset(&p[m].q);
            xp_buf_printf(&p[m].q, "partNumber=%" PRId64 "&uploadId=", no);
            xp_http_put_segment(&p[m].q, id.ptr);
            p[m].c = (struct call){"PUT", key, p[m].q.ptr, NULL, 0, path, NULL, NULL, NULL,
                                   NULL, -1, off, len};
        }
        if (!rc)
            rc = run_puts(s, p, m, et);
        for (size_t j = 0; j < m && !rc; j++)
            xp_buf_printf(&done, "<Part><PartNumber>%" PRId64 "</PartNumber><ETag>%s</ETag>"
                          "</Part>", first + (int64_t)j, et[j].ptr);
        if (!rc && xp_ctx_cancelled(s->base.ctx))
            rc = xp_error_set(XP_ECANCEL, "cancelled");
    }
    for (size_t j = 0; j < w; j++) {
        xp_buf_release(&p[j].q);
        xp_buf_release(&et[j]);
    }
    free(p);
    free(et);
    xp_buf_puts(&done, "</CompleteMultipartUpload>");
    xp_buf_puts(&q, "uploadId=");
    xp_http_put_segment(&q, id.ptr);
    if (!rc) {
        struct sums d;
        mem_sums(&d, done.ptr, done.len);
        struct call cc = {"POST", key, q.ptr, done.ptr, done.len, NULL, d.sha_hex, NULL,
                          "application/xml", NULL, -1, 0, 0};
        rc = call(s, &cc, &r);
        /* S3 may answer 200 and put the failure in the body */
        if (!rc && strstr(r.body.ptr, "<Error>"))
            rc = xp_error_set(XP_EIO, "S3 could not complete the upload of '%s'", key);
    }
    if (rc && id.len) {
        /* leave no parts behind, keeping the first error */
        char msg[sizeof(xp_error_last()->message)];
        snprintf(msg, sizeof(msg), "%s", xp_error_last()->message);
        struct call ac = {"DELETE", key, q.ptr, NULL, 0, NULL, NULL, NULL, NULL, NULL, -1,
                          0, 0};
        struct xp_http_response ar = XP_HTTP_RESPONSE_INIT;
        call(s, &ac, &ar);
        xp_http_response_release(&ar);
        xp_error_set(rc, "%s", msg);
    }
    xp_buf_release(&id);
    xp_buf_release(&q);
    xp_buf_release(&done);
    xp_http_response_release(&r);
    return rc;
}

int s3_put_files(struct s3_adapter *s, const struct s3_obj *v, size_t n)
{
    int64_t *size = xp_calloc(n ? n : 1, sizeof(*size));
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        struct stat st;
        if (stat(v[i].path, &st) != 0)
            rc = xp_error_set_os(XP_EIO, "cannot read '%s'", v[i].path);
        else
            size[i] = (int64_t)st.st_size;
    }
    /* up to the part size: one PUT each, `parallel` at a time, the file
     * streamed as the body once its digests are known */
    size_t w = window(s);
    struct put *p = xp_calloc(w, sizeof(*p));
    for (size_t i = 0; i < n && !rc;) {
        size_t m = 0;
        for (; i < n && m < w && !rc; i++) {
            if (size[i] > s->part_size)
                continue;
            rc = file_sums(&p[m].d, v[i].path, 0, size[i]);
            p[m++].c = (struct call){"PUT", v[i].key, NULL, NULL, 0, v[i].path, NULL, NULL,
                                     NULL, NULL, -1, 0, 0};
        }
        if (!rc && m)
            rc = run_puts(s, p, m, NULL);
        if (!rc && xp_ctx_cancelled(s->base.ctx))
            rc = xp_error_set(XP_ECANCEL, "cancelled");
    }
    free(p);
    /* the larger ones one by one, their parts in parallel */
    for (size_t i = 0; i < n && !rc; i++)
        if (size[i] > s->part_size)
            rc = multipart(s, v[i].key, v[i].path, size[i]);
    free(size);
    return rc;
}

int s3_put_file(struct s3_adapter *s, const char *key, const char *path)
{
    struct s3_obj o = {key, path, -1};
    return s3_put_files(s, &o, 1);
}

int s3_get_files(struct s3_adapter *s, const struct s3_obj *v, size_t n, size_t *bad)
{
    size_t w = window(s);
    struct call *cs = xp_calloc(w, sizeof(*cs));
    struct xp_http_response *rs = xp_calloc(w, sizeof(*rs));
    for (size_t j = 0; j < w; j++)
        xp_http_response_init(&rs[j]);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i += w) {
        size_t m = n - i < w ? n - i : w;
        for (size_t j = 0; j < m; j++)
            cs[j] = (struct call){"GET", v[i + j].key, NULL, NULL, 0, NULL, NULL, NULL,
                                  NULL, v[i + j].path, v[i + j].size, 0, 0};
        rc = call_n(s, cs, rs, m);
        for (size_t j = 0; j < m && rc && bad; j++)
            if (rs[j].code) {
                *bad = i + j;
                break;
            }
        if (!rc && xp_ctx_cancelled(s->base.ctx))
            rc = xp_error_set(XP_ECANCEL, "cancelled");
    }
    for (size_t j = 0; j < w; j++)
        xp_http_response_release(&rs[j]);
    free(rs);
    free(cs);
    return rc;
}

int s3_get_file(struct s3_adapter *s, const char *key, const char *path, int64_t size)
{
    struct s3_obj o = {key, path, size};
    int rc = s3_get_files(s, &o, 1, NULL);
    if (rc == XP_ENOTFOUND)
        xp_error_clear();
    return rc;
}

int s3_delete(struct s3_adapter *s, const char *key)
{
    struct call c = {"DELETE", key, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, -1, 0, 0};
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
        struct call c = {"GET", NULL, q.ptr, NULL, 0, NULL, NULL, NULL, NULL, NULL, -1, 0, 0};
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
