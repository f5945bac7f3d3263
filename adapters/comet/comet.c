/* The comet adapter (a Comet server over REST v2 and the clientlib batch
 * endpoints): credentials and base URL as comet_ml finds them, opening and
 * closing, and the adapter type; comet_list.c, comet_read.c and
 * comet_write.c do the work (adapters/comet/README.md). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "comet_api.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/ini.h"
#include "xport/numparse.h"

#define DEFAULT_URL "https://www.comet.com/clientlib/"

/* ---- credentials and base URL ------------------------------------------------ */

/* The value of key in section [comet] of the INI file at path (comet_ml's
 * .comet.config), or NULL; caller frees. */
static char *config_get(const char *path, const char *key)
{
    return xp_ini_get(path, "comet", key);
}

/* key from the config files: ./.comet.config, then ~/.comet.config. */
static char *config_find(const char *key)
{
    char *v = config_get(".comet.config", key);
    const char *home = getenv("HOME");
    if (!v && home && *home) {
        char *p = xp_path_join(home, ".comet.config");
        v = config_get(p, key);
        free(p);
    }
    return v;
}

static int opt_int(const struct xp_options *o, const char *k, int dflt)
{
    const char *v = xp_options_get(o, k);
    int64_t n;
    return v && xp_parse_range(v, 1, 1000000, &n) == 0 ? (int)n : dflt;
}

static void rest_close(struct xp_adapter *base)
{
    struct comet_rest *c = (struct comet_rest *)base;
    if (!c)
        return;
    free(c->root);
    if (c->key) {
        memset(c->key, 0, strlen(c->key));
        free(c->key);
    }
    free(c->sel.workspace);
    free(c->sel.project);
    free(c->sel.experiment);
    free(c->cx.root);
    json_object_put(c->cx.claimed);
    pthread_mutex_destroy(&c->cx.lock);
    json_object_put(c->index);
    json_object_put(c->projects);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static int rest_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                     const struct xp_location *loc, const struct xp_options *opts,
                     struct xp_ctx *ctx)
{
    *out = NULL;
    if (!ctx->http)
        return xp_error_set(XP_EINVALID, "the comet adapter needs the HTTP engine");
    struct comet_rest *c = xp_calloc(1, sizeof(*c));
    c->base.type = type;
    c->base.ctx = ctx;
    pthread_mutex_init(&c->cx.lock, NULL);
    c->cx.claimed = json_object_new_object();
    pthread_mutex_init(&c->lock, NULL);
    c->index = json_object_new_object();
    c->projects = json_object_new_object();
    c->cx.base.type = type;
    c->cx.base.ctx = ctx;
    c->cx.dup_by_order = 1;
    *out = &c->base;
    c->sel.workspace = xp_strdup(loc->workspace);
    c->sel.project = xp_strdup(loc->project);
    c->sel.experiment = xp_strdup(loc->experiment);
    c->archived = xp_option_true(xp_options_get(opts, "archived"));
    c->no_gzip = xp_option_true(xp_options_get(opts, "no-gzip"));
    c->page_size = opt_int(opts, "page-size", 100);
    c->batch = opt_int(opts, "batch-size", 1000);
    if (c->batch <= 0)
        c->batch = 1000;
    c->get_all = -1;

    /* the base URL: --remote, COMET_URL_OVERRIDE, url_override in the
     * config, else comet_ml's default; its root drops "/clientlib/" */
    const char *url = xp_options_get(opts, "remote");
    char *cfg_url = NULL;
    if (!url || !*url)
        url = getenv("COMET_URL_OVERRIDE");
    if (!url || !*url)
        url = cfg_url = config_find("url_override");
    if (!url || !*url)
        url = DEFAULT_URL;
    c->root = xp_strdup(url);
    free(cfg_url);
    size_t n = strlen(c->root);
    while (n && c->root[n - 1] == '/')
        c->root[--n] = '\0';
    if (n >= 10 && !strcmp(c->root + n - 10, "/clientlib"))
        c->root[n -= 10] = '\0';
    if (strncmp(c->root, "http://", 7) && strncmp(c->root, "https://", 8))
        return xp_error_set(XP_EINVALID, "Comet server '%s' is not an http(s) URL", url);

    const char *key = xp_options_get(opts, "api-key");
    if (!key || !*key)
        key = getenv("COMET_API_KEY");
    c->key = key && *key ? xp_strdup(key) : config_find("api_key");
    if (!c->key || !*c->key)
        return xp_error_set(XP_EAUTH, "no Comet API key: give --api-key, COMET_API_KEY "
                                      "or api_key in [comet] of .comet.config");
    /* the raw key in Authorization, and only to the server's own origin */
    return xp_http_add_cred(ctx->http, &c->cred, c->root, XP_HTTP_AUTH_HEADER,
                            "Authorization", c->key);
}

static const struct xp_option_decl rest_options[] = {
    {"api-key", XP_OPT_STRING, XP_OPT_FLAG, 0, 0, NULL,
     "API key (else COMET_API_KEY, then api_key in [comet] of .comet.config)"},
    {"remote", XP_OPT_STRING, XP_OPT_FLAG, 0, 0, NULL,
     "server URL (else COMET_URL_OVERRIDE, then url_override; default www.comet.com)"},
    {"batch-size", XP_OPT_INT, XP_OPT_FLAG, 1, 100000, NULL,
     "metric points per batch request (default 1000, the SDK's)"},
    {"archived", XP_OPT_BOOL, 0, 0, 0, NULL, "also read archived experiments"},
    {"page-size", XP_OPT_INT, 0, 1, 100000, NULL, "experiments per listing page (default 100)"},
    {"no-gzip", XP_OPT_BOOL, 0, 0, 0, NULL, "send batch bodies uncompressed"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

const struct xp_adapter_type xp_comet_adapter = {
    .abi = XP_ADAPTER_ABI,
    .name = "comet",
    .summary = "Comet server, REST API v2 (read/write)",
    .caps = XP_CAP_READ | XP_CAP_WRITE | XP_CAP_LIST_PROJECTS | XP_CAP_NEEDS_TOKEN |
            XP_CAP_RESUME,
    .open = rest_open,
    .close = rest_close,
    .list_experiments = comet_list,
    .read_experiment = comet_read_experiment,
    .write_experiment = comet_write_experiment,
    .options = rest_options,
};
