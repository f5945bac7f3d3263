/* Location parsing and the adapter registry glue (include/xport/location.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/location.h"

void xp_location_release(struct xp_location *loc)
{
    free(loc->adapter);
    free(loc->path);
    free(loc->workspace);
    free(loc->project);
    free(loc->experiment);
    memset(loc, 0, sizeof(*loc));
}

int xp_disk_source_init(struct xp_disk_source *s, const struct xp_adapter_type *t,
                        const struct xp_location *loc, const struct xp_options *opts,
                        unsigned accept)
{
    memset(s, 0, sizeof(*s));
    const char *p = loc->path;
    if (!p || !*p)
        return xp_error_set(XP_EINVALID, "adapter '%s' needs a path", t->name);
    int dir = xp_is_dir(p), file = !dir && xp_is_file(p);
    if (!((accept & XP_DISK_DIR) && dir) && !((accept & XP_DISK_FILE) && file)) {
        if (dir || file)
            return xp_error_set(XP_ENOTFOUND, "'%s' is a %s, not a %s", p,
                                dir ? "folder" : "file", dir ? "file" : "folder");
        return xp_error_set(XP_ENOTFOUND, "no such %s '%s'",
                            accept == XP_DISK_DIR    ? "folder"
                            : accept == XP_DISK_FILE ? "file"
                                                     : "file or folder",
                            p);
    }
    s->sel.path = xp_strdup(p);
    s->sel.workspace = xp_strdup(loc->workspace);
    s->sel.project = xp_strdup(loc->project);
    s->sel.experiment = xp_strdup(loc->experiment);
    s->allow_partial = xp_option_true(xp_options_get(opts, "allow-partial"));
    return 0;
}

void xp_disk_source_release(struct xp_disk_source *s)
{
    xp_location_release(&s->sel);
}

int xp_disk_adapter_new(struct xp_disk_adapter **out, size_t size,
                        const struct xp_adapter_type *t, const struct xp_location *loc,
                        const struct xp_options *opts, struct xp_ctx *ctx, unsigned accept)
{
    struct xp_disk_source src;
    *out = NULL;
    int rc = xp_disk_source_init(&src, t, loc, opts, accept);
    if (rc)
        return rc;
    struct xp_disk_adapter *d = xp_calloc(1, size > sizeof(*d) ? size : sizeof(*d));
    d->base.type = t;
    d->base.ctx = ctx;
    d->src = src;
    *out = d;
    return 0;
}

void xp_disk_adapter_close(struct xp_adapter *a)
{
    struct xp_disk_adapter *d = (struct xp_disk_adapter *)a;
    if (!d)
        return;
    xp_disk_source_release(&d->src);
    free(d);
}

static char *nonempty(const char *s, size_t n)
{
    return n ? xp_strndup(s, n) : NULL;
}

enum xp_archive_kind xp_archive_kind(const char *path)
{
    static const struct {
        const char *suffix;
        enum xp_archive_kind kind;
    } known[] = {
        {".tar", XP_ARCHIVE_TAR},        {".tar.gz", XP_ARCHIVE_TAR_GZ},
        {".tgz", XP_ARCHIVE_TAR_GZ},     {".tar.zst", XP_ARCHIVE_TAR_ZST},
        {".tzst", XP_ARCHIVE_TAR_ZST},   {".tar.xz", XP_ARCHIVE_TAR_XZ},
        {".txz", XP_ARCHIVE_TAR_XZ},     {".zip", XP_ARCHIVE_ZIP},
    };
    size_t n = path ? strlen(path) : 0;
    for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++) {
        size_t k = strlen(known[i].suffix);
        if (n > k && !strcasecmp(path + n - k, known[i].suffix) && path[n - k - 1] != '/')
            return known[i].kind;
    }
    return XP_ARCHIVE_NONE;
}

int xp_location_from(struct xp_location *out, const char *adapter,
                     const char *source)
{
    memset(out, 0, sizeof(*out));
    /* a layout in an archive (adapters/local/archive.c); a folder so named
     * stays a folder */
    if (!strcmp(adapter, "local") && xp_archive_kind(source) && !xp_is_dir(source))
        adapter = "archive";
    const struct xp_adapter_type *t;
    int rc = xp_adapter_find(&t, adapter);
    if (rc)
        return rc;
    out->adapter = xp_strdup(t->name);
    if (!(t->caps & XP_CAP_NO_NETWORK) && source && !strncmp(source, "//", 2)) {
        /* a URL ("s3://BUCKET/PREFIX"): the adapter parses it from path */
        struct xp_buf u = XP_BUF_INIT;
        xp_buf_printf(&u, "%s:%s", t->name, source);
        out->path = xp_buf_detach(&u);
        return 0;
    }
    if (t->caps & XP_CAP_NO_NETWORK) {
        if (!source || !*source) {
            xp_location_release(out);
            return xp_error_set(XP_EINVALID, "adapter '%s' needs a path",
                                t->name);
        }
        out->path = xp_strdup(source);
        return 0;
    }
    if (!source)
        source = "";
    const char *s1 = strchr(source, '/');
    if (!s1) {
        out->workspace = nonempty(source, strlen(source));
        return 0;
    }
    out->workspace = nonempty(source, (size_t)(s1 - source));
    const char *s2 = strchr(s1 + 1, '/');
    if (!s2) {
        out->project = nonempty(s1 + 1, strlen(s1 + 1));
        return 0;
    }
    out->project = nonempty(s1 + 1, (size_t)(s2 - s1 - 1));
    out->experiment = nonempty(s2 + 1, strlen(s2 + 1));
    return 0;
}

int xp_location_parse(struct xp_location *out, const char *text)
{
    memset(out, 0, sizeof(*out));
    const char *colon = strchr(text, ':');
    const char *slash = strchr(text, '/');
    if (colon && (!slash || colon < slash) && colon != text) {
        char *name = xp_strndup(text, (size_t)(colon - text));
        const struct xp_adapter_type *t;
        int rc = xp_adapter_find(&t, name);
        free(name);
        if (rc)
            return rc;
        return xp_location_from(out, t->name, colon + 1);
    }
    return xp_location_from(out, "local", text);
}

char *xp_location_str(const struct xp_location *loc)
{
    struct xp_buf b = XP_BUF_INIT;
    if (loc->path) {
        xp_buf_puts(&b, loc->path);
        return xp_buf_detach(&b);
    }
    xp_buf_printf(&b, "%s:%s", loc->adapter,
                  loc->workspace ? loc->workspace : "");
    if (loc->project)
        xp_buf_printf(&b, "/%s", loc->project);
    if (loc->experiment)
        xp_buf_printf(&b, "/%s", loc->experiment);
    return xp_buf_detach(&b);
}

int xp_location_on_disk(const struct xp_location *loc)
{
    if (!loc->path)
        return 0;
    size_t n = loc->adapter ? strlen(loc->adapter) : 0;
    return !(n && !strncmp(loc->path, loc->adapter, n) &&
             !strncmp(loc->path + n, "://", 3));
}
