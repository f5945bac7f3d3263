/* The requests to an ml-dash server that the reader and the writer share:
 * URLs, JSON and GraphQL calls, and integers that arrive in either form. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mldash.h"
#include "xport/error.h"
#include "xport/graphql.h"
#include "xport/json.h"
#include "xport/numparse.h"

void mld_url(struct xp_buf *b, const struct mld *m, const char *fmt, ...)
{
    va_list ap;
    xp_buf_reset(b);
    xp_buf_puts(b, m->rest);
    va_start(ap, fmt);
    xp_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

int mld_json(struct mld *m, const char *method, const char *url,
             const struct xp_buf *body, unsigned flags, struct json_object **out)
{
    struct xp_http_header hdr[2] = {{"Content-Type", "application/json"},
                                    {"Accept", "application/json"}};
    struct xp_http_request rq = {0};
    rq.method = method;
    rq.url = url;
    rq.headers = body ? hdr : hdr + 1;
    rq.nheaders = body ? 2 : 1;
    if (body) {
        rq.body = body->ptr;
        rq.body_len = body->len;
    }
    rq.flags = flags;
    rq.cred = m->cred;
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    if (out)
        *out = NULL;
    int rc = xp_http_request(m->base.ctx->http, &rq, &r);
    if (!rc && out) {
        rc = xp_json_parse_answer(out, r.body.ptr, r.body.len, "ml-dash response", url);
        if (!rc && !json_object_is_type(*out, json_type_object)) {
            json_object_put(*out);
            *out = NULL;
            rc = xp_error_set(XP_EINVALID, "ml-dash answered '%s' with a non-object",
                              method ? method : "GET");
        }
    }
    xp_http_response_release(&r);
    return rc;
}

int mld_graphql(struct mld *m, const char *op, const char *query,
                struct json_object *vars, struct json_object **data)
{
    *data = NULL;
    int rc = xp_gql_query_opt(m->gql, op, query, vars, data);
    if (rc == XP_ENOFIELD)
        xp_error_wrap(rc, "the ml-dash server's GraphQL schema is not the one its "
                          "v0.%d client uses", m->gen);
    return rc;
}

int mld_int(struct json_object *o, const char *key, int64_t *out)
{
    struct json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v) || !v)
        return XP_ENOTFOUND;
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_int64(v);
        return 0;
    }
    if (json_object_is_type(v, json_type_double)) {
        *out = (int64_t)json_object_get_double(v);
        return 0;
    }
    if (json_object_is_type(v, json_type_string)) {
        if (!xp_parse_i64(json_object_get_string(v), out))
            return 0;
    }
    return XP_EINVALID;
}
