/* W&B server client: credentials and W&B's GraphQL settings (wandb_api.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"
#include "xport/numparse.h"
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
    if (rc)
        return rc;
    /* wandb.md §1.1: the public client's headers; genqlient (Go core)
     * sends operationName */
    static const struct xp_http_header hdr[] = {
        {"Use-Admin-Privileges", "true"},
    };
    struct xp_buf g = XP_BUF_INIT;
    xp_buf_printf(&g, "%s/graphql", a->base);
    const struct xp_gql_config cfg = {
        .endpoint = g.ptr,
        .vendor = "W&B",
        .cred = a->cred,
        .headers = hdr,
        .nheaders = sizeof(hdr) / sizeof(hdr[0]),
        .send_operation_name = 1,
    };
    rc = xp_gql_open(&a->gql, a->http, &cfg);
    xp_buf_release(&g);
    return rc;
}

void wapi_release(struct wapi *a)
{
    free(a->base);
    xp_gql_free(a->gql);
    memset(a, 0, sizeof(*a));
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

int wapi_gql(struct wapi *a, const char *op, const char *query,
             struct json_object *vars, struct json_object **data)
{
    return xp_gql_query(a->gql, op, query, vars, data);
}

int wapi_each_node(struct wapi *a, const char *op, const char *query,
                   struct json_object *vars, const char *size_key, int per_page,
                   const char *cursor_key, const char *conn_path,
                   const char *must_path, const char *what,
                   int (*each)(struct json_object *node, void *arg), void *arg)
{
    const struct xp_gql_pager p = {
        .op = op,
        .query = query,
        .vars = vars,
        .size_var = size_key,
        .per_page = per_page,
        .cursor_var = cursor_key,
        .conn_path = conn_path,
        .must_path = must_path,
        .what = what,
    };
    return xp_gql_each(a->gql, &p, each, arg);
}

int64_t wapi_node_int(struct json_object *o, const char *key, int64_t def)
{
    struct json_object *v = wapi_path(o, key);
    if (!v)
        return def;
    if (json_object_is_type(v, json_type_string)) {
        int64_t x;
        return xp_parse_i64(json_object_get_string(v), &x) ? def : x;
    }
    return json_object_get_int64(v);
}
