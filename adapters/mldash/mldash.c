/* The ml-dash server adapter: connection set-up (server, credentials,
 * protocol generation) and its registration; the requests it and the
 * reader and writer make are in mldash_api.c. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "mldash.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/graphql.h"
#include "xport/json.h"
#include "xport/location.h"

/* ---- configuration ---- */

/* A key of ~/.ml-dash/config.json, else of ~/.dash/config.json (the 0.5
 * and the 0.6 CLI keep theirs apart). */
static char *config_get(const char *key)
{
    const char *home = getenv("HOME");
    if (!home)
        return NULL;
    static const char *const files[] = {".ml-dash/config.json", ".dash/config.json"};
    for (size_t i = 0; i < 2; i++) {
        char *p = xp_path_join(home, files[i]);
        struct json_object *o = NULL;
        char *v = NULL;
        if (xp_is_file(p) && !xp_json_read_file(&o, p)) {
            const char *s = xp_json_str(o, key);
            if (s && *s)
                v = xp_strdup(s);
        }
        xp_error_clear();
        json_object_put(o);
        free(p);
        if (v)
            return v;
    }
    return NULL;
}

/* A size option of ml-dash's: 0 or unset is dflt (the CLI's flags pass 0). */
static int opt_size(const struct xp_adapter_type *t, const struct xp_options *o,
                    const char *k, int dflt, int *out)
{
    long v;
    int rc = xp_option_int(t, o, k, 0, &v);
    *out = !rc && v > 0 ? (int)v : dflt;
    return rc;
}

/* Which generation the server speaks: GET {server}/api/search/files is a
 * v0.6-only authenticated route (mldash.md 1.3), so 200 means v0.6, 404
 * means v0.5 (no /api prefix), and 401/403 is a bad token on v0.6. /health
 * cannot tell: servers (and the emulator) answer it under both paths. */
static int detect_generation(struct mld *m)
{
    struct xp_buf url = XP_BUF_INIT;
    xp_buf_printf(&url, "%s/api/search/files?limit=1", m->server);
    struct xp_http_request rq = {0};
    rq.url = url.ptr;
    rq.cred = m->cred;
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    int rc = xp_http_request(m->base.ctx->http, &rq, &r);
    if (!rc) {
        m->gen = 6;
    } else if (rc == XP_ENOTFOUND) {
        m->gen = 5;
        rc = 0;
        xp_error_clear();
    }
    xp_http_response_release(&r);
    xp_buf_release(&url);
    return rc;
}

static void mld_close(struct xp_adapter *a)
{
    struct mld *m = (struct mld *)a;
    if (!m)
        return;
    xp_gql_free(m->gql);
    free(m->server);
    free(m->rest);
    if (m->token) {
        memset(m->token, 0, strlen(m->token));
        free(m->token);
    }
    free(m->ns);
    xp_location_release(&m->sel);
    free(m);
}

static int mld_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                    const struct xp_location *loc, const struct xp_options *opts,
                    struct xp_ctx *ctx)
{
    struct mld *m = xp_calloc(1, sizeof(*m));
    *out = &m->base;
    m->base.type = type;
    m->base.ctx = ctx;
    m->sel.workspace = xp_strdup(loc->workspace);
    m->sel.project = xp_strdup(loc->project);
    m->sel.experiment = xp_strdup(loc->experiment);
    m->strict = xp_options_get(opts, "strict") != NULL;
    int rc;
    if ((rc = opt_size(type, opts, "batch-size", 10000, &m->batch)) ||
        (rc = opt_size(type, opts, "batch-size", 1000, &m->log_batch)) ||
        (rc = opt_size(type, opts, "max-concurrent-metrics", 5, &m->max_metrics)) ||
        (rc = opt_size(type, opts, "max-concurrent-files", 3, &m->max_files)) ||
        (rc = opt_size(type, opts, "chunk-window", 4, &m->window)))
        return rc;
    if (!ctx->http)
        return xp_error_set(XP_EINVALID, "the ml-dash adapter needs the HTTP engine");

    const char *remote = xp_options_get(opts, "remote");
    char *cfg_remote = NULL;
    if (!remote)
        remote = getenv("MLDASH_REMOTE");
    if (!remote || !*remote)
        remote = cfg_remote = config_get("remote_url");
    if (!remote || !*remote)
        return xp_error_set(XP_EINVALID, "no ml-dash server: give --remote URL, "
                                         "MLDASH_REMOTE or remote_url in "
                                         "~/.ml-dash/config.json");
    m->server = xp_strdup(remote);
    free(cfg_remote);
    size_t n = strlen(m->server);
    while (n > 0 && m->server[n - 1] == '/')
        m->server[--n] = '\0';
    if (strncmp(m->server, "http://", 7) && strncmp(m->server, "https://", 8))
        return xp_error_set(XP_EINVALID, "ml-dash server '%s' is not an http(s) URL",
                            m->server);

    /* credentials, in the ml-dash CLI's precedence: --api-key, then the
     * environment, then the config files, then a token minted from the
     * user name */
    const char *user = xp_options_get(opts, "username");
    if (!user)
        user = getenv("MLDASH_USERNAME");
    const char *key = xp_options_get(opts, "api-key");
    if (!key || !*key)
        key = getenv("MLDASH_API_KEY");
    if (key && *key) {
        m->token = xp_strdup(key);
    } else if ((m->token = config_get("api_key")) != NULL) {
        /* from the config file */
    } else if (user && *user) {
        struct xp_buf t = XP_BUF_INIT;
        mld_mint_token(&t, user, (int64_t)time(NULL));
        m->token = xp_buf_detach(&t);
    } else {
        return xp_error_set(XP_EAUTH, "no ml-dash credentials: give --api-key, "
                                      "MLDASH_API_KEY, api_key in the config "
                                      "file, or --username");
    }
    rc = xp_http_add_cred(ctx->http, &m->cred, m->server, XP_HTTP_AUTH_BEARER,
                              NULL, m->token);
    if (rc)
        return rc;

    const char *ns = loc->workspace && !strpbrk(loc->workspace, "*?[{")
                         ? loc->workspace : xp_options_get(opts, "namespace");
    if (!ns)
        ns = user;
    m->ns = xp_strdup(ns);

    const char *ver = xp_options_get(opts, "api-version");
    if (ver && !strncmp(ver, "0.5", 3))
        m->gen = 5;
    else if (ver && !strncmp(ver, "0.6", 3))
        m->gen = 6;
    else if (ver)
        return xp_error_set(XP_EINVALID, "unknown ml-dash api-version '%s' "
                                         "(0.5 or 0.6)", ver);
    else if ((rc = detect_generation(m)))
        return xp_error_wrap(rc, "connecting to ml-dash at '%s'", m->server);
    struct xp_buf r = XP_BUF_INIT;
    xp_buf_printf(&r, "%s%s", m->server, m->gen == 6 ? "/api" : "");
    m->rest = xp_buf_detach(&r);
    /* GraphQL is at {server}/graphql for both generations [mldash.md 1.2,
     * 1.3]; fields the public client does not ask for are optional
     * (mld_graphql, README.md "GraphQL") */
    xp_buf_printf(&r, "%s/graphql", m->server);
    struct xp_gql_config gc = {.endpoint = r.ptr, .vendor = "ml-dash", .cred = m->cred};
    rc = xp_gql_open(&m->gql, ctx->http, &gc);
    xp_buf_release(&r);
    if (rc)
        return rc;

    if (!m->ns) {
        /* the namespace is the token's user: ask the server */
        struct json_object *d = NULL, *me = NULL;
        rc = mld_graphql(m, "Me", "query Me { me { username } }", NULL, &d);
        if (rc == XP_ENOFIELD) /* v0.5.9's client never asks: no such field */
            return xp_error_set(XP_EINVALID, "no ml-dash namespace: give "
                                             "--namespace or mldash:NAMESPACE");
        if (!rc && json_object_object_get_ex(d, "me", &me) && xp_json_str(me, "username"))
            m->ns = xp_strdup(xp_json_str(me, "username"));
        json_object_put(d);
        if (rc)
            return rc;
        if (!m->ns)
            return xp_error_set(XP_EINVALID, "no ml-dash namespace: give "
                                             "--namespace or mldash:NAMESPACE");
    }
    return 0;
}

/* Every option mld_open reads (include/xport/sys/adapter.h). */
static const char *const mld_versions[] = {"0.5", "0.6", NULL};
static const struct xp_option_decl mld_options[] = {
    {"namespace", XP_OPT_STRING, XP_OPT_FLAG | XP_OPT_NAMES_SOURCE, 0, 0, NULL,
     "namespace (default: the user name)"},
    {"username", XP_OPT_STRING, XP_OPT_FLAG | XP_OPT_NAMES_SOURCE, 0, 0, NULL,
     "user name (else MLDASH_USERNAME); mints a token when there is no API key"},
    {"api-key", XP_OPT_STRING, XP_OPT_FLAG, 0, 0, NULL,
     "API key (else MLDASH_API_KEY, then api_key in ~/.ml-dash/config.json)"},
    {"remote", XP_OPT_STRING, XP_OPT_FLAG, 0, 0, NULL,
     "server URL (else MLDASH_REMOTE, then remote_url in ~/.ml-dash/config.json)"},
    {"strict", XP_OPT_BOOL, XP_OPT_FLAG, 0, 0, NULL, "fail on any invalid source line"},
    {"batch-size", XP_OPT_INT, XP_OPT_FLAG, 0, 1000000, NULL, "points or log lines per request"},
    {"max-concurrent-metrics", XP_OPT_INT, XP_OPT_FLAG, 0, 1000000, NULL,
     "metrics at once within an experiment (default 5)"},
    {"max-concurrent-files", XP_OPT_INT, XP_OPT_FLAG, 0, 1000000, NULL,
     "files at once within an experiment (default 3)"},
    {"chunk-window", XP_OPT_INT, 0, 1, 32, NULL,
     "sealed metric chunks fetched at once per series (default 4)"},
    {"api-version", XP_OPT_CHOICE, 0, 0, 0, mld_versions,
     "the server's protocol generation (default: detected)"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

static const char *const mldash_aliases[] = {"ml-dash", NULL};

const struct xp_adapter_type xp_mldash_adapter = {
    .abi = XP_ADAPTER_ABI,
    .name = "mldash",
    .aliases = mldash_aliases,
    .summary = "ml-dash server, protocol v0.5.x and v0.6.x (read/write)",
    .caps = XP_CAP_READ | XP_CAP_WRITE | XP_CAP_LIST_PROJECTS |
            XP_CAP_NEEDS_TOKEN | XP_CAP_RESUME,
    .open = mld_open,
    .close = mld_close,
    .list_experiments = mld_list_experiments,
    .read_experiment = mld_read_experiment,
    .write_experiment = mld_write_experiment,
    .options = mld_options,
    .default_source = "the namespace: --namespace, else --username (or MLDASH_USERNAME), "
                      "else the API key's user",
};
