/* The neptune adapter's connection: the API token (base64 JSON naming the
 * API address), clients/config for apiUrl, the exchange for an OAuth access
 * token, its refresh (single-use refresh tokens) or re-exchange, and every
 * API call made with it (neptune-client dev/1.x src/neptune/internal/
 * credentials.py, backends/hosted_client.py, common/oauth.py). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "npa.h"
#include "xport/error.h"
#include "xport/hash.h"
#include "xport/json.h"

void npa_url(struct xp_buf *b, const struct npa *n, const char *fmt, ...)
{
    va_list ap;
    xp_buf_reset(b);
    xp_buf_puts(b, n->api);
    va_start(ap, fmt);
    xp_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void npa_qs(struct xp_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
            xp_buf_putc(b, (char)*p);
        } else {
            xp_buf_putc(b, '%');
            xp_buf_putc(b, hex[*p >> 4]);
            xp_buf_putc(b, hex[*p & 15]);
        }
    }
}

static char *trim_slash(const char *s)
{
    char *c = xp_strdup(s);
    size_t l = strlen(c);
    while (l && c[l - 1] == '/')
        c[--l] = '\0';
    return c;
}

/* The claims of a JWT (not verified: the client only reads exp, azp, iss,
 * as neptune-client common/oauth.py does). */
static struct json_object *jwt_claims(const char *jwt)
{
    const char *a = strchr(jwt, '.');
    const char *b = a ? strchr(a + 1, '.') : NULL;
    if (!b)
        return NULL;
    char *seg = xp_strndup(a + 1, (size_t)(b - a - 1));
    size_t cap = strlen(seg) + 4;
    unsigned char *raw = xp_malloc(cap);
    long len = xp_base64_decode(raw, cap, seg, strlen(seg));
    struct json_object *o = NULL;
    if (len > 0 && xp_json_parse(&o, (const char *)raw, (size_t)len, "access token"))
        o = NULL;
    xp_error_clear();
    free(raw);
    free(seg);
    if (o && !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    return o;
}

/* Take a new access token (and refresh token): register it for apiUrl. */
static int take_tokens(struct npa *n, const char *access, const char *refresh)
{
    if (!access || !*access)
        return xp_error_set(XP_EAUTH, "the Neptune server gave no access token");
    int rc = xp_http_add_cred(n->base.ctx->http, &n->bearer, n->api, XP_HTTP_AUTH_BEARER,
                              NULL, access);
    if (rc)
        return rc;
    free(n->refresh);
    n->refresh = refresh && *refresh ? xp_strdup(refresh) : NULL;
    n->exp = 0;
    n->gen++;
    struct json_object *c = jwt_claims(access);
    if (c) {
        struct json_object *e = xp_json_get(c, "exp");
        if (e && (json_object_is_type(e, json_type_int) ||
                  json_object_is_type(e, json_type_double)))
            n->exp = json_object_get_int64(e);
        struct json_object *ia = xp_json_get(c, "iat");
        n->life = ia && n->exp ? n->exp - json_object_get_int64(ia) : 0;
        const char *iss = xp_json_str(c, "iss"), *azp = xp_json_str(c, "azp");
        if (iss && azp && (!strncmp(iss, "http://", 7) || !strncmp(iss, "https://", 8))) {
            struct xp_buf u = XP_BUF_INIT;
            char *t = trim_slash(iss);
            xp_buf_printf(&u, "%s/protocol/openid-connect/token", t);
            free(t);
            free(n->refresh_url);
            n->refresh_url = xp_buf_detach(&u);
            free(n->client_id);
            n->client_id = xp_strdup(azp);
        }
        json_object_put(c);
    }
    return 0;
}

/* exchangeApiToken: GET /api/backend/v1/authorization/oauth-token. */
static int exchange(struct npa *n)
{
    struct xp_buf u = XP_BUF_INIT;
    npa_url(&u, n, "/api/backend/v1/authorization/oauth-token");
    struct xp_http_header h = {"Accept", "application/json"};
    struct xp_http_request rq = {0};
    rq.url = u.ptr;
    rq.headers = &h;
    rq.nheaders = 1;
    rq.cred = n->api_cred;
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    struct json_object *o = NULL;
    int rc = xp_http_request(n->base.ctx->http, &rq, &r);
    if (!rc)
        rc = xp_json_parse_answer(&o, r.body.ptr, r.body.len, "the Neptune token exchange",
                                  rq.url);
    if (!rc)
        rc = take_tokens(n, xp_json_str(o, "accessToken"), xp_json_str(o, "refreshToken"));
    if (rc == XP_EAUTH)
        xp_error_wrap(rc, "the Neptune API token was refused");
    json_object_put(o);
    xp_http_response_release(&r);
    xp_buf_release(&u);
    return rc;
}

/* OAuth2 refresh_token grant at {iss}/protocol/openid-connect/token; a
 * refresh token is good once. Falls back to a new exchange. */
static int renew(struct npa *n)
{
    if (n->refresh && n->refresh_url) {
        struct xp_buf body = XP_BUF_INIT;
        xp_buf_puts(&body, "grant_type=refresh_token&refresh_token=");
        npa_qs(&body, n->refresh);
        xp_buf_puts(&body, "&client_id=");
        npa_qs(&body, n->client_id);
        free(n->refresh);
        n->refresh = NULL;
        struct xp_http_header h[2] = {
            {"Content-Type", "application/x-www-form-urlencoded"},
            {"Accept", "application/json"}};
        struct xp_http_request rq = {0};
        rq.method = "POST";
        rq.url = n->refresh_url;
        rq.headers = h;
        rq.nheaders = 2;
        rq.body = body.ptr;
        rq.body_len = body.len;
        rq.flags = XP_HTTP_NO_AUTH;
        struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
        struct json_object *o = NULL;
        int rc = xp_http_request(n->base.ctx->http, &rq, &r);
        if (!rc &&
            !xp_json_parse_answer(&o, r.body.ptr, r.body.len, "the token refresh", rq.url))
            rc = take_tokens(n, xp_json_str(o, "access_token"), xp_json_str(o, "refresh_token"));
        else if (!rc)
            rc = XP_EINVALID;
        json_object_put(o);
        xp_http_response_release(&r);
        memset(body.ptr, 0, body.len);
        xp_buf_release(&body);
        if (!rc)
            return 0;
        if (rc == XP_ECANCEL)
            return rc;
        xp_error_clear();
    }
    return exchange(n);
}

/* Renew ahead of expiry: 30 s before, as the 1.x client does, or a quarter
 * of the lifetime before for tokens that live less than two minutes. */
static int due(const struct npa *n)
{
    if (!n->exp)
        return 0;
    int64_t margin = n->life > 0 && n->life < 120 ? n->life / 4 : 30;
    return (int64_t)time(NULL) >= n->exp - margin;
}

int npa_call(struct npa *n, struct xp_http_request *rq, struct xp_http_response *resp)
{
    pthread_mutex_lock(&n->mu);
    int rc = due(n) ? renew(n) : 0;
    unsigned gen = n->gen;
    rq->cred = n->bearer;
    pthread_mutex_unlock(&n->mu);
    if (rc)
        return rc;
    rc = xp_http_request(n->base.ctx->http, rq, resp);
    if (rc != XP_EAUTH || resp->status != 401)
        return rc;
    /* 401: the token expired early or was revoked; renew once */
    xp_error_clear();
    pthread_mutex_lock(&n->mu);
    rc = n->gen == gen ? renew(n) : 0;
    rq->cred = n->bearer;
    pthread_mutex_unlock(&n->mu);
    if (rc)
        return rc;
    rc = xp_http_request(n->base.ctx->http, rq, resp);
    if (rc == XP_EAUTH)
        xp_error_wrap(rc, "the Neptune server refused a fresh access token");
    return rc;
}

int npa_json(struct npa *n, const char *url, const struct xp_buf *body,
             struct json_object **out)
{
    struct xp_http_header h[2] = {{"Accept", "application/json"},
                                  {"Content-Type", "application/json"}};
    struct xp_http_request rq = {0};
    rq.url = url;
    rq.headers = h;
    rq.nheaders = body ? 2 : 1;
    if (body) {
        rq.method = "POST";
        rq.body = body->ptr;
        rq.body_len = body->len;
    }
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    *out = NULL;
    int rc = npa_call(n, &rq, &r);
    if (!rc)
        rc = xp_json_parse_answer(out, r.body.ptr, r.body.len, "a Neptune response", rq.url);
    if (!rc && !json_object_is_type(*out, json_type_object)) {
        json_object_put(*out);
        *out = NULL;
        rc = xp_error_set(XP_EINVALID, "the Neptune server answered with a non-object");
    }
    xp_http_response_release(&r);
    return rc;
}

int npa_connect(struct npa *n, const char *token)
{
    size_t tl = strlen(token);
    unsigned char *raw = xp_malloc(tl + 4);
    long len = xp_base64_decode(raw, tl + 4, token, tl);
    struct json_object *t = NULL;
    if (len <= 0 || xp_json_parse(&t, (const char *)raw, (size_t)len, "the API token") ||
        !json_object_is_type(t, json_type_object) || !xp_json_str(t, "api_address")) {
        json_object_put(t);
        memset(raw, 0, tl + 4);
        free(raw);
        xp_error_clear();
        return xp_error_set(XP_EAUTH, "the Neptune API token is not base64 JSON naming "
                                      "api_address");
    }
    memset(raw, 0, tl + 4);
    free(raw);
    const char *addr = xp_json_str(t, "api_url");
    if (!addr || !*addr)
        addr = xp_json_str(t, "api_address");
    char *base = trim_slash(addr);
    json_object_put(t);
    if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8)) {
        int rc = xp_error_set(XP_EINVALID, "the API token's address '%s' is not an http(s) "
                                           "URL", base);
        free(base);
        return rc;
    }
    struct xp_http *h = n->base.ctx->http;
    const struct xp_http_cred *tc = NULL;
    int rc = xp_http_add_cred(h, &tc, base, XP_HTTP_AUTH_HEADER, "X-Neptune-Api-Token", token);
    struct xp_buf u = XP_BUF_INIT;
    xp_buf_printf(&u, "%s/api/backend/v1/clients/config?alpha=true", base);
    struct xp_http_header hd = {"Accept", "application/json"};
    struct xp_http_request rq = {0};
    rq.url = u.ptr;
    rq.headers = &hd;
    rq.nheaders = 1;
    rq.cred = tc;
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    struct json_object *c = NULL;
    if (!rc)
        rc = xp_http_request(h, &rq, &r);
    if (!rc)
        rc = xp_json_parse_answer(&c, r.body.ptr, r.body.len, "the Neptune client config",
                                  rq.url);
    if (!rc && !xp_json_str(c, "apiUrl"))
        rc = xp_error_set(XP_EINVALID, "the Neptune client config at '%s' has no apiUrl",
                          base);
    if (!rc) {
        n->api = trim_slash(xp_json_str(c, "apiUrl"));
        if (xp_json_str(c, "applicationUrl"))
            n->app = trim_slash(xp_json_str(c, "applicationUrl"));
        if (strncmp(n->api, "http://", 7) && strncmp(n->api, "https://", 8))
            rc = xp_error_set(XP_EINVALID, "the Neptune apiUrl '%s' is not an http(s) URL",
                              n->api);
    }
    if (rc && rc != XP_EAUTH)
        xp_error_wrap(rc, "connecting to Neptune at '%s'", base);
    else if (rc)
        xp_error_wrap(rc, "the Neptune server at '%s' refused the API token", base);
    json_object_put(c);
    xp_http_response_release(&r);
    xp_buf_release(&u);
    free(base);
    if (rc)
        return rc;
    /* the exchange goes to apiUrl: the API token goes there too, and
     * nowhere else */
    rc = xp_http_add_cred(h, &n->api_cred, n->api, XP_HTTP_AUTH_HEADER,
                          "X-Neptune-Api-Token", token);
    if (!rc)
        rc = exchange(n);
    return rc;
}
