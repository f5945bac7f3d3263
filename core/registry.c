/* Adapter registry: built-in adapters from adapters/adapters.c, plus plugins
 * loaded from XPORT_PLUGIN_PATH (include/xport/sys/adapter.h). */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/sys/adapter.h"

/* Provided by adapters/adapters.c: NULL-terminated. */
extern const struct xp_adapter_type *const xp_builtin_adapters[];

#define MAX_PLUGINS 64
static const struct xp_adapter_type *plugins[MAX_PLUGINS];
static size_t nplugins;

const struct xp_adapter_type *xp_adapter_at(size_t i)
{
    size_t nb = 0;
    while (xp_builtin_adapters[nb])
        nb++;
    if (i < nb)
        return xp_builtin_adapters[i];
    i -= nb;
    return i < nplugins ? plugins[i] : NULL;
}

static int type_has_name(const struct xp_adapter_type *t, const char *name)
{
    if (!strcmp(t->name, name))
        return 1;
    for (const char *const *a = t->aliases; a && *a; a++)
        if (!strcmp(*a, name))
            return 1;
    return 0;
}

int xp_adapter_find(const struct xp_adapter_type **out, const char *name)
{
    const struct xp_adapter_type *t;
    for (size_t i = 0; (t = xp_adapter_at(i)); i++) {
        if (type_has_name(t, name)) {
            if (!t->open)
                return xp_error_set(XP_ENOTSUP,
                                    "adapter '%s' is not built in", name);
            *out = t;
            return 0;
        }
    }
    struct xp_buf known = XP_BUF_INIT;
    for (size_t i = 0; (t = xp_adapter_at(i)); i++)
        xp_buf_printf(&known, "%s%s", i ? ", " : "", t->name);
    xp_error_set(XP_ENOTFOUND, "unknown adapter '%s' (known: %s)", name,
                 known.ptr);
    xp_buf_release(&known);
    return XP_ENOTFOUND;
}

int xp_adapter_register(const struct xp_adapter_type *type)
{
    if (!type || type->abi != XP_ADAPTER_ABI)
        return xp_error_set(XP_EINVALID,
                            "adapter '%s' has ABI %u, xport needs %u",
                            type && type->name ? type->name : "?",
                            type ? type->abi : 0, XP_ADAPTER_ABI);
    if (!type->name || !type->open || !type->close)
        return xp_error_set(XP_EINVALID, "adapter '%s' lacks open/close",
                            type->name ? type->name : "?");
    const struct xp_adapter_type *t;
    for (size_t i = 0; (t = xp_adapter_at(i)); i++)
        if (type_has_name(t, type->name))
            return xp_error_set(XP_EEXISTS, "adapter '%s' is already registered",
                                type->name);
    if (nplugins >= MAX_PLUGINS)
        return xp_error_set(XP_ERROR, "too many plugin adapters");
    plugins[nplugins++] = type;
    return 0;
}

typedef const struct xp_adapter_type *const *(*plugin_fn)(unsigned *abi);

static int load_one(const char *file, struct xp_ctx *ctx)
{
    void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        xp_ctx_warn(ctx, "cannot load plugin '%s': %s", file, dlerror());
        return -1;
    }
    plugin_fn fn = (plugin_fn)(uintptr_t)dlsym(h, "xport_plugin_adapters");
    if (!fn) {
        xp_ctx_warn(ctx, "plugin '%s' has no xport_plugin_adapters", file);
        dlclose(h);
        return -1;
    }
    unsigned abi = 0;
    const struct xp_adapter_type *const *list = fn(&abi);
    if (abi != XP_ADAPTER_ABI || !list) {
        xp_ctx_warn(ctx, "plugin '%s' was built for adapter ABI %u, not %u",
                    file, abi, XP_ADAPTER_ABI);
        dlclose(h);
        return -1;
    }
    int bad = 0;
    for (; *list; list++) {
        if (xp_adapter_register(*list)) {
            xp_ctx_warn(ctx, "plugin '%s': %s", file, xp_error_last()->message);
            bad = -1;
        }
    }
    return bad; /* the handle stays open: its types are in use */
}

int xp_plugins_load(const char *path_list, struct xp_ctx *ctx)
{
    if (!path_list || !*path_list)
        return 0;
    char *copy = xp_strdup(path_list);
    int failures = 0;
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir;
         dir = strtok_r(NULL, ":", &save)) {
        char **names;
        size_t n;
        if (xp_list_dir(&names, &n, dir))
            continue; /* a missing directory in the path is not an error */
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(names[i]);
            if (l < 4 || strcmp(names[i] + l - 3, ".so"))
                continue;
            char *f = xp_path_join(dir, names[i]);
            if (load_one(f, ctx))
                failures++;
            free(f);
        }
        xp_strv_free(names);
    }
    free(copy);
    return failures ? xp_error_set(XP_ERROR, "%d plugin(s) failed to load",
                                   failures)
                    : 0;
}

int xp_adapter_open(struct xp_adapter **out, const struct xp_location *loc,
                    const struct xp_options *opts, struct xp_ctx *ctx)
{
    *out = NULL;
    const struct xp_adapter_type *t;
    int rc = xp_adapter_find(&t, loc->adapter);
    if (rc)
        return rc;
    static const struct xp_options none = {NULL, 0};
    rc = t->open(out, t, loc, opts ? opts : &none, ctx);
    if (rc) {
        if (*out)
            t->close(*out);
        *out = NULL;
        return rc;
    }
    (*out)->type = t;
    (*out)->ctx = ctx;
    return 0;
}

void xp_adapter_close(struct xp_adapter *a)
{
    if (a)
        a->type->close(a);
}

const char *xp_options_get(const struct xp_options *o, const char *key)
{
    const char *v = NULL;
    for (size_t i = 0; o && i < o->n; i++)
        if (!strcmp(o->v[i].key, key))
            v = o->v[i].value;
    return v;
}

int xp_option_true(const char *v)
{
    return v && strcmp(v, "0") && strcmp(v, "false") && strcmp(v, "no") && strcmp(v, "off");
}

void xp_ctx_warn(const struct xp_ctx *ctx, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ctx && ctx->warn)
        ctx->warn(ctx->warn_payload, msg);
    else
        fprintf(stderr, "warning: %s\n", msg);
}

int xp_ctx_cancelled(const struct xp_ctx *ctx)
{
    return ctx && ctx->cancel && *ctx->cancel;
}

static const struct {
    const char *name;
    unsigned bit;
} resources[] = {
    {"parameters", XP_RES_PARAMETERS}, {"metrics", XP_RES_METRICS},
    {"logs", XP_RES_LOGS},             {"files", XP_RES_FILES},
    {"others", XP_RES_OTHERS},         {"system", XP_RES_SYSTEM},
    {"artifacts", XP_RES_ARTIFACTS},
};

unsigned xp_resource_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
        if (!strcmp(resources[i].name, name))
            return resources[i].bit;
    if (!strcmp(name, "params"))
        return XP_RES_PARAMETERS;
    if (!strcmp(name, "assets"))
        return XP_RES_FILES;
    return 0;
}

const char *xp_resource_name(unsigned bit)
{
    for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
        if (resources[i].bit == bit)
            return resources[i].name;
    return "?";
}

const char *xp_rec_kind_name(enum xp_rec_kind k)
{
    static const char *names[] = {"?", "experiment", "document", "series-begin",
                                  "points", "series-end", "logs", "file", "end"};
    return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

const char *xp_series_dir(enum xp_series_kind k)
{
    return k == XP_SERIES_SYSTEM ? "system" : k == XP_SERIES_TRACK ? "tracks" : "metrics";
}
