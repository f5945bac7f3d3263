/* W&B server client: credentials, GraphQL and paging (wandb_api.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"
#include "xport/sys/http.h"
#include "wandb_api.h"

#define DEFAULT_BASE "https://api.wandb.ai"

/* "https://host:port/path" -> "host" (caller frees). */
static char *url_host(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    const char *at = strpbrk(p, "@/");
    if (at && *at == '@')
        p = at + 1;
    size_t n = strcspn(p, ":/?#");
    return xp_strndup(p, n);
}

/* Next whitespace-separated netrc token, or NULL at the end. */
static const char *netrc_tok(char **p, char *buf, size_t cap)
{
    char *s = *p;
    while (*s && isspace((unsigned char)*s))
        s++;
    if (!*s)
        return NULL;
    size_t n = 0;
    while (*s && !isspace((unsigned char)*s)) {
        if (n + 1 < cap)
            buf[n++] = *s;
        s++;
    }
    buf[n] = '\0';
    *p = s;
    return buf;
}

/* The password for `machine host` in ~/.netrc, or NULL (caller frees). */
static char *netrc_key(const char *host)
{
    const char *home = getenv("HOME");
    if (!home || !*home)
        return NULL;
    char *path = xp_path_join(home, ".netrc");
    struct xp_buf b = XP_BUF_INIT;
    char *key = NULL;
    if (xp_read_file(&b, path, 1 << 20) == 0) {
        char *p = b.ptr;
        char tok[512];
        int in_machine = 0;
        const char *t;
        while ((t = netrc_tok(&p, tok, sizeof(tok)))) {
            if (!strcmp(t, "machine")) {
                t = netrc_tok(&p, tok, sizeof(tok));
                in_machine = t && !strcmp(t, host);
            } else if (!strcmp(t, "default")) {
                in_machine = key == NULL;
            } else if (!strcmp(t, "password")) {
                t = netrc_tok(&p, tok, sizeof(tok));
                if (t && in_machine && !key)
                    key = xp_strdup(t);
            }
        }
    }
    xp_error_clear();
    xp_buf_release(&b);
    free(path);
    return key;
}

int wapi_open(struct wapi *a, const struct xp_options *opts,
              struct xp_ctx *ctx)
{
    memset(a, 0, sizeof(*a));
    a->ctx = ctx;
    a->http = ctx ? ctx->http : NULL;
    a->gql_retries = 6;
    if (!a->http)
        return xp_error_set(XP_ERROR, "adapter 'wandb' needs the HTTP engine");
    const char *base = xp_options_get(opts, "remote");
    if (!base || !*base)
        base = getenv("WANDB_BASE_URL");
    if (!base || !*base)
        base = DEFAULT_BASE;
    if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))
        return xp_error_set(XP_EINVALID, "bad W&B base URL '%s'", base);
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    a->base = xp_strndup(base, n);
    struct xp_buf g = XP_BUF_INIT;
    xp_buf_printf(&g, "%s/graphql", a->base);
    a->graphql = xp_buf_detach(&g);

    char *key = NULL;
    const char *k = xp_options_get(opts, "api-key");
    if (!k || !*k)
        k = getenv("WANDB_API_KEY");
    if (k && *k) {
        key = xp_strdup(k);
    } else {
        char *host = url_host(a->base);
        key = netrc_key(host);
        free(host);
    }
    if (!key)
        return xp_error_set(XP_EAUTH,
                            "no W&B API key for '%s' (give --api-key, set "
                            "WANDB_API_KEY or add it to ~/.netrc)",
                            a->base);
    struct xp_buf secret = XP_BUF_INIT;
    xp_buf_printf(&secret, "api:%s", key);
    int rc = xp_http_add_cred(a->http, &a->cred, a->base, XP_HTTP_AUTH_BASIC,
                              NULL, secret.ptr);
    /* wipe our copies: the engine keeps the only one */
    memset(secret.ptr, 0, secret.len);
    memset(key, 0, strlen(key));
    xp_buf_release(&secret);
    free(key);
    return rc;
}

void wapi_release(struct wapi *a)
{
    free(a->base);
    free(a->graphql);
    memset(a, 0, sizeof(*a));
}

struct json_object *wapi_path(struct json_object *root, const char *path)
{
    struct json_object *o = root;
    char key[128];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        if (!json_object_is_type(o, json_type_object) ||
            !json_object_object_get_ex(o, key, &o))
            return NULL;
        path += n + (path[n] == '.');
    }
    return o && !json_object_is_type(o, json_type_null) ? o : NULL;
}

/* The connection's next cursor: the last edge's cursor (else
 * pageInfo.endCursor) when pageInfo.hasNextPage, else NULL. Borrowed. */
static const char *next_cursor(struct json_object *conn)
{
    struct json_object *more = wapi_path(conn, "pageInfo.hasNextPage");
    if (!more || !json_object_get_boolean(more))
        return NULL;
    struct json_object *edges = wapi_path(conn, "edges");
    size_t n = edges && json_object_is_type(edges, json_type_array)
                   ? json_object_array_length(edges) : 0;
    if (n) {
        const char *c = xp_json_str(json_object_array_get_idx(edges, n - 1),
                                    "cursor");
        if (c)
            return c;
    }
    return xp_json_str(wapi_path(conn, "pageInfo"), "endCursor");
}

int wapi_run_id_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 128)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return 0;
    return 1;
}

void wapi_put_segment(struct xp_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            xp_buf_putc(b, (char)c);
        } else {
            xp_buf_putc(b, '%');
            xp_buf_putc(b, hex[c >> 4]);
            xp_buf_putc(b, hex[c & 15]);
        }
    }
}

/* The first GraphQL error's message, or NULL. */
static const char *first_error(struct json_object *resp)
{
    struct json_object *errs;
    if (!json_object_object_get_ex(resp, "errors", &errs) ||
        !json_object_is_type(errs, json_type_array) ||
        !json_object_array_length(errs))
        return NULL;
    const char *m = xp_json_str(json_object_array_get_idx(errs, 0), "message");
    return m ? m : "unknown error";
}

static int contains_ci(const char *s, const char *needle)
{
    return s && strcasestr(s, needle) != NULL;
}

/* A rate-limit answer in a 200 body (some gateways say so in `errors`). */
static int is_rate_limited(struct json_object *resp, const char *msg)
{
    if (contains_ci(msg, "rate limit") || contains_ci(msg, "ratelimit") ||
        contains_ci(msg, "too many requests"))
        return 1;
    struct json_object *errs;
    if (json_object_object_get_ex(resp, "errors", &errs) &&
        json_object_is_type(errs, json_type_array)) {
        struct json_object *e = json_object_array_get_idx(errs, 0);
        const char *code = xp_json_str(wapi_path(e, "extensions"), "code");
        if (contains_ci(code, "RATE") || contains_ci(code, "TOO_MANY"))
            return 1;
    }
    return 0;
}

int wapi_gql(struct wapi *a, const char *op, const char *query,
             struct json_object *vars, struct json_object **data)
{
    *data = NULL;
    struct xp_buf body = XP_BUF_INIT;
    xp_buf_puts(&body, "{\"operationName\":");
    xp_json_put_str(&body, op, strlen(op), "operation");
    xp_buf_puts(&body, ",\"query\":");
    int rc = xp_json_put_str(&body, query, strlen(query), "query");
    xp_buf_puts(&body, ",\"variables\":");
    if (!rc && vars)
        rc = xp_json_put_obj(&body, vars, 0);
    else
        xp_buf_puts(&body, "{}");
    xp_buf_putc(&body, '}');
    if (rc) {
        xp_buf_release(&body);
        return rc;
    }
    const struct xp_http_header hdr[] = {
        {"Content-Type", "application/json"},
        {"Accept", "application/json"},
        {"Use-Admin-Privileges", "true"},
    };
    struct xp_http_request req = {
        .method = "POST",
        .url = a->graphql,
        .headers = hdr,
        .nheaders = sizeof(hdr) / sizeof(hdr[0]),
        .body = body.ptr,
        .body_len = body.len,
        .cred = a->cred,
    };
    struct xp_http_response resp = XP_HTTP_RESPONSE_INIT;
    long wait_ms = 1000;
    for (int attempt = 0;; attempt++) {
        rc = xp_http_request(a->http, &req, &resp);
        if (rc) {
            if (rc == XP_EAUTH)
                rc = xp_error_set_http(XP_EAUTH, resp.status,
                                       "W&B refused the API key at '%s' "
                                       "(HTTP %ld)",
                                       a->base, resp.status);
            else
                rc = xp_error_wrap(rc, "W&B query '%s'", op);
            break;
        }
        struct json_object *o = NULL;
        rc = xp_json_parse(&o, resp.body.ptr, resp.body.len, "GraphQL answer");
        if (rc)
            break;
        const char *msg = first_error(o);
        struct json_object *d = wapi_path(o, "data");
        if (msg && is_rate_limited(o, msg) && attempt < a->gql_retries) {
            /* treat it as a 429: back off and ask again */
            json_object_put(o);
            if (xp_ctx_cancelled(a->ctx)) {
                rc = xp_error_set(XP_ECANCEL, "interrupted");
                break;
            }
            struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            wait_ms = wait_ms * 2 > 30000 ? 30000 : wait_ms * 2;
            continue;
        }
        if (msg) {
            int code = contains_ci(msg, "permission") ||
                               contains_ci(msg, "unauthori") ||
                               contains_ci(msg, "not logged in") ||
                               contains_ci(msg, "api key")
                           ? XP_EAUTH
                       : contains_ci(msg, "not found") ? XP_ENOTFOUND
                       : is_rate_limited(o, msg)         ? XP_ERETRY
                                                         : XP_ERROR;
            rc = xp_error_set(code, "W&B query '%s' failed: %s", op, msg);
            json_object_put(o);
            break;
        }
        if (!d) {
            json_object_put(o);
            rc = xp_error_set(XP_ERROR, "W&B query '%s' answered no data", op);
            break;
        }
        *data = json_object_get(d);
        json_object_put(o);
        break;
    }
    xp_http_response_release(&resp);
    xp_buf_release(&body);
    return rc;
}

int wapi_each_node(struct wapi *a, const char *op, const char *query,
                   struct json_object *vars, const char *size_key, int per_page,
                   const char *cursor_key, const char *conn_path,
                   const char *must_path, const char *what,
                   int (*each)(struct json_object *node, void *arg), void *arg)
{
    char *cursor = NULL;
    int rc = 0;
    json_object_object_add(vars, size_key, json_object_new_int(per_page));
    do {
        if (cursor)
            json_object_object_add(vars, cursor_key, json_object_new_string(cursor));
        free(cursor);
        cursor = NULL;
        struct json_object *d = NULL;
        if ((rc = wapi_gql(a, op, query, vars, &d)))
            break;
        if (must_path && !wapi_path(d, must_path)) {
            json_object_put(d);
            rc = xp_error_set(XP_ENOTFOUND, "no W&B %s", what);
            break;
        }
        struct json_object *conn = wapi_path(d, conn_path);
        struct json_object *edges = wapi_path(conn, "edges");
        size_t n = edges && json_object_is_type(edges, json_type_array)
                       ? json_object_array_length(edges) : 0;
        for (size_t i = 0; i < n && !rc; i++)
            rc = each(wapi_path(json_object_array_get_idx(edges, i), "node"), arg);
        const char *c = next_cursor(conn);
        cursor = c && n ? xp_strdup(c) : NULL;
        json_object_put(d);
    } while (!rc && cursor);
    free(cursor);
    return rc;
}
