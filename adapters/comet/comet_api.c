/* The requests the comet adapter's lister, reader and writer make to a Comet
 * server: REST v2 under <root>/api/rest/v2/, batches under <root>/clientlib/
 * (adapters/comet/README.md cites the sources). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "comet_api.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/gzip.h"
#include "xport/json.h"

/* ---- requests --------------------------------------------------------------- */

static void put_query(struct xp_buf *b, const char *const *query)
{
    for (size_t i = 0; query && query[i]; i += 2) {
        if (!query[i + 1])
            continue;
        xp_buf_putc(b, strchr(b->ptr, '?') ? '&' : '?');
        xp_buf_puts(b, query[i]);
        xp_buf_putc(b, '=');
        xp_http_put_segment(b, query[i + 1]);
    }
}

void comet_url(struct xp_buf *b, const struct comet_rest *c, const char *path,
               const char *const *query)
{
    xp_buf_reset(b);
    xp_buf_printf(b, "%s/api/rest/v2/%s", c->root, path);
    put_query(b, query);
}

static int parse_object(struct json_object **out, const struct xp_buf *body, const char *what,
                        const char *url)
{
    int rc = xp_json_parse_answer(out, body->ptr, body->len, what, url);
    if (!rc && !json_object_is_type(*out, json_type_object)) {
        json_object_put(*out);
        *out = NULL;
        rc = xp_error_set(XP_EINVALID, "Comet answered %s with something not an object",
                          what);
    }
    return rc;
}

static int run(struct comet_rest *c, struct xp_http_request *rq, struct json_object **out,
               const char *what)
{
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    if (out)
        *out = NULL;
    rq->cred = c->cred;
    int rc = xp_http_request(c->base.ctx->http, rq, &r);
    if (rc)
        rc = xp_error_wrap(rc, "Comet %s", what);
    else if (out)
        rc = parse_object(out, &r.body, what, rq->url);
    xp_http_response_release(&r);
    return rc;
}

int comet_get_json(struct comet_rest *c, const char *path, const char *const *query,
                   struct json_object **out)
{
    struct xp_buf u = XP_BUF_INIT;
    comet_url(&u, c, path, query);
    struct xp_http_header h = {"Accept", "application/json"};
    struct xp_http_request rq = {.url = u.ptr, .headers = &h, .nheaders = 1};
    int rc = run(c, &rq, out, path);
    xp_buf_release(&u);
    return rc;
}

int comet_get_file(struct comet_rest *c, const char *path, const char *const *query,
                   const char *out_path, int64_t expect_size)
{
    struct xp_buf u = XP_BUF_INIT;
    comet_url(&u, c, path, query);
    struct xp_http_request rq = {.url = u.ptr, .out_path = out_path};
    if (expect_size >= 0) {
        rq.expect_size = expect_size;
        rq.flags |= XP_HTTP_CHECK_SIZE;
    }
    int rc = run(c, &rq, NULL, path);
    xp_buf_release(&u);
    return rc;
}

int comet_get_url(struct comet_rest *c, const char *url, const char *out_path)
{
    /* another host's URL: the engine sends the key to the server's origin
     * only, and this asks for none at all */
    struct xp_http_request rq = {.url = url, .out_path = out_path,
                                 .flags = XP_HTTP_NO_AUTH};
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    int rc = xp_http_request(c->base.ctx->http, &rq, &r);
    xp_http_response_release(&r);
    return rc;
}

int comet_get_stream(struct comet_rest *c, const char *path, const char *const *query,
                     int (*on_data)(void *, const void *, size_t),
                     int (*on_reset)(void *), void *payload)
{
    struct xp_buf u = XP_BUF_INIT;
    comet_url(&u, c, path, query);
    struct xp_http_header h = {"Accept", "application/json"};
    struct xp_http_request rq = {.url = u.ptr, .headers = &h, .nheaders = 1,
                                 .on_data = on_data, .on_reset = on_reset,
                                 .payload = payload};
    int rc = run(c, &rq, NULL, path);
    xp_buf_release(&u);
    return rc;
}

int comet_post_json(struct comet_rest *c, int clientlib, const char *path,
                    const struct xp_buf *body, unsigned flags, struct json_object **out)
{
    struct xp_buf u = XP_BUF_INIT, z = XP_BUF_INIT;
    xp_buf_printf(&u, "%s/%s/%s", c->root, clientlib ? "clientlib" : "api/rest/v2", path);
    struct xp_http_header h[3] = {{"Content-Type", "application/json"},
                                  {"Accept", "application/json"},
                                  {"Content-Encoding", "gzip"}};
    struct xp_http_request rq = {.method = "POST", .url = u.ptr, .headers = h,
                                 .nheaders = 2, .body = body->ptr, .body_len = body->len,
                                 .flags = flags};
    int rc = 0;
    /* comet_ml compresses its batches (message_batch_compress, on by default) */
    if (clientlib && !c->no_gzip && body->len > 256) {
        rc = xp_gzip(&z, body->ptr, body->len);
        rq.body = z.ptr;
        rq.body_len = z.len;
        rq.nheaders = 3;
    }
    struct json_object *ans = NULL;
    if (!rc)
        rc = run(c, &rq, out ? &ans : NULL, path);
    if (out)
        *out = ans;
    xp_buf_release(&u);
    xp_buf_release(&z);
    return rc;
}

int comet_post_parts(struct comet_rest *c, const char *path, const char *const *query,
                     const struct xp_http_part *parts, size_t nparts, unsigned flags,
                     struct json_object **out)
{
    struct xp_buf u = XP_BUF_INIT;
    comet_url(&u, c, path, query);
    struct xp_http_request rq = {.method = "POST", .url = u.ptr, .parts = parts,
                                 .nparts = nparts, .flags = flags};
    int rc = run(c, &rq, out, path);
    xp_buf_release(&u);
    return rc;
}

int comet_get_many(struct comet_rest *c, const char *const *paths, size_t n,
                   const char *key, struct json_object **outs)
{
    struct xp_http_request *rq = xp_calloc(n, sizeof(*rq));
    struct xp_http_response *rs = xp_calloc(n, sizeof(*rs));
    struct xp_buf *u = xp_calloc(n, sizeof(*u));
    struct xp_http_header h = {"Accept", "application/json"};
    const char *q[] = {"experimentKey", key, NULL};
    for (size_t i = 0; i < n; i++) {
        xp_buf_init(&u[i]);
        comet_url(&u[i], c, paths[i], q);
        rq[i] = (struct xp_http_request){.url = u[i].ptr, .headers = &h, .nheaders = 1,
                                         .cred = c->cred};
        outs[i] = NULL;
    }
    int rc = xp_http_batch(c->base.ctx->http, rq, rs, n);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            if (rs[i].code) {
                rc = xp_error_set(rs[i].code, "Comet %s: %s", paths[i],
                                  rs[i].error ? rs[i].error : "failed");
                break;
            }
    }
    for (size_t i = 0; i < n && !rc; i++)
        rc = parse_object(&outs[i], &rs[i].body, paths[i], u[i].ptr);
    for (size_t i = 0; i < n; i++) {
        if (rc) {
            json_object_put(outs[i]);
            outs[i] = NULL;
        }
        xp_http_response_release(&rs[i]);
        xp_buf_release(&u[i]);
    }
    free(rq);
    free(rs);
    free(u);
    return rc;
}

int comet_get_files(struct comet_rest *c, const char *const *urls, const char *const *out_paths,
                    const int64_t *sizes, size_t n)
{
    struct xp_http_request *rq = xp_calloc(n, sizeof(*rq));
    struct xp_http_response *rs = xp_calloc(n, sizeof(*rs));
    for (size_t i = 0; i < n; i++) {
        rq[i] = (struct xp_http_request){.url = urls[i], .out_path = out_paths[i],
                                         .cred = c->cred};
        if (sizes[i] >= 0) {
            rq[i].expect_size = sizes[i];
            rq[i].flags |= XP_HTTP_CHECK_SIZE;
        }
    }
    int rc = xp_http_batch(c->base.ctx->http, rq, rs, n);
    if (rc)
        for (size_t i = 0; i < n; i++)
            if (rs[i].code) {
                rc = xp_error_set(rs[i].code, "Comet asset download: %s",
                                  rs[i].error ? rs[i].error : "failed");
                break;
            }
    for (size_t i = 0; i < n; i++)
        xp_http_response_release(&rs[i]);
    free(rq);
    free(rs);
    return rc;
}

int comet_post_many(struct comet_rest *c, const char *path, const struct xp_buf *bodies,
                    size_t n)
{
    struct xp_http_request *rq = xp_calloc(n, sizeof(*rq));
    struct xp_http_response *rs = xp_calloc(n, sizeof(*rs));
    struct xp_buf *z = xp_calloc(n, sizeof(*z));
    struct xp_buf u = XP_BUF_INIT;
    xp_buf_printf(&u, "%s/clientlib/%s", c->root, path);
    static const struct xp_http_header h[3] = {{"Content-Type", "application/json"},
                                               {"Accept", "application/json"},
                                               {"Content-Encoding", "gzip"}};
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        xp_buf_init(&z[i]);
        rq[i] = (struct xp_http_request){.method = "POST", .url = u.ptr, .headers = h,
                                         .nheaders = 2, .body = bodies[i].ptr,
                                         .body_len = bodies[i].len, .cred = c->cred,
                                         .flags = XP_HTTP_NOT_IDEMPOTENT};
        if (!c->no_gzip && bodies[i].len > 256 && !rc) {
            rc = xp_gzip(&z[i], bodies[i].ptr, bodies[i].len);
            rq[i].body = z[i].ptr;
            rq[i].body_len = z[i].len;
            rq[i].nheaders = 3;
        }
    }
    if (!rc)
        rc = xp_http_batch(c->base.ctx->http, rq, rs, n);
    if (rc)
        rc = xp_error_wrap(rc, "Comet %s", path);
    for (size_t i = 0; i < n; i++) {
        xp_http_response_release(&rs[i]);
        xp_buf_release(&z[i]);
    }
    xp_buf_release(&u);
    free(rq);
    free(rs);
    free(z);
    return rc;
}
