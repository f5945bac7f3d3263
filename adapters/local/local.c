/* The local adapter: the xport layout (read and write) and ml-dash local
 * stores of both generations (read). Which one a folder holds is told by
 * its content, like libarchive's format bidding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "local.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/json.h"
#include "xport/location.h"

/* Look for the first experiment.json below dir (depth-first, bounded) and
 * tell the ml-dash generation from it: 0.6 stores write "prefix". */
static int sniff_mldash(const char *dir, int depth, enum local_flavor *out)
{
    if (depth > 16)
        return 0;
    char *ej = xp_path_join(dir, "experiment.json");
    if (xp_is_file(ej)) {
        struct json_object *o = NULL;
        int found = 0;
        if (!xp_json_read_file(&o, ej)) {
            *out = xp_json_str(o, "prefix") ? LOCAL_MLDASH_06 : LOCAL_MLDASH_05;
            found = 1;
        }
        xp_error_clear();
        json_object_put(o);
        free(ej);
        return found;
    }
    free(ej);
    char **names;
    size_t n;
    if (xp_list_dir(&names, &n, dir)) {
        xp_error_clear();
        return 0;
    }
    int found = 0;
    for (size_t i = 0; i < n && !found; i++) {
        if (names[i][0] == '.')
            continue;
        char *p = xp_path_join(dir, names[i]);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            found = sniff_mldash(p, depth + 1, out);
        free(p);
    }
    xp_strv_free(names);
    return found;
}

/* Escape glob characters so a literal name selects only itself. */
static char *glob_literal(const char *s)
{
    struct xp_buf b = XP_BUF_INIT;
    for (; *s; s++) {
        if (strchr("*?[]{}\\", *s))
            xp_buf_putc(&b, '\\');
        xp_buf_putc(&b, *s);
    }
    return xp_buf_detach(&b);
}

/* PATH may point inside a layout (ROOT/ws, ROOT/ws/proj, ROOT/ws/proj/exp):
 * find the root and turn the rest into a selection. */
static int find_layout_root(struct local_adapter *la)
{
    char *p = xp_strdup(la->root);
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        p[--len] = '\0';
    char *segs[3] = {NULL, NULL, NULL};
    int nseg = 0, found = 0;
    for (int up = 0; up <= 3; up++) {
        char *marker = xp_path_join(p, "xport.json");
        found = xp_is_file(marker);
        free(marker);
        if (found)
            break;
        char *slash = strrchr(p, '/');
        if (!slash || slash == p || up == 3)
            break;
        /* shift the segment into the selection, innermost last */
        for (int i = 2; i > 0; i--)
            segs[i] = segs[i - 1];
        segs[0] = xp_strdup(slash + 1);
        nseg++;
        *slash = '\0';
    }
    if (found && nseg > 0) {
        free(la->root);
        la->root = p;
        p = NULL;
        char **dst[3] = {&la->sel.workspace, &la->sel.project, &la->sel.experiment};
        for (int i = 0; i < nseg; i++) {
            char *name = NULL;
            struct xp_buf d = XP_BUF_INIT;
            if (!xp_name_decode(&d, segs[i]))
                name = xp_buf_detach(&d);
            xp_buf_release(&d);
            xp_error_clear();
            free(*dst[i]);
            *dst[i] = glob_literal(name ? name : segs[i]);
            free(name);
        }
    }
    for (int i = 0; i < 3; i++)
        free(segs[i]);
    free(p);
    return found;
}

void local_adapter_free(struct local_adapter *la)
{
    if (!la)
        return;
    free(la->root);
    free(la->default_workspace);
    xp_location_release(&la->sel);
    json_object_put(la->claimed);
    pthread_mutex_destroy(&la->lock);
    free(la);
}

static void local_close(struct xp_adapter *a)
{
    local_adapter_free((struct local_adapter *)a);
}

int local_adapter_new(struct local_adapter **out, const struct xp_adapter_type *type,
                      const struct xp_location *loc, const struct xp_options *opts,
                      struct xp_ctx *ctx)
{
    struct local_adapter *la = xp_calloc(1, sizeof(*la));
    *out = la;
    la->base.type = type;
    la->base.ctx = ctx;
    pthread_mutex_init(&la->lock, NULL);
    la->claimed = json_object_new_object();
    if (!loc->path || !*loc->path)
        return xp_error_set(XP_EINVALID, "adapter '%s' needs a path", type->name);
    la->root = xp_strdup(loc->path);
    la->sel.workspace = xp_strdup(loc->workspace);
    la->sel.project = xp_strdup(loc->project);
    la->sel.experiment = xp_strdup(loc->experiment);
    const char *ws = opts ? xp_options_get(opts, "workspace") : NULL;
    la->default_workspace = xp_strdup(ws ? ws : "local");
    return 0;
}

static int local_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                      const struct xp_location *loc, const struct xp_options *opts,
                      struct xp_ctx *ctx)
{
    struct local_adapter *la;
    int rc = local_adapter_new(&la, type, loc, opts, ctx);
    *out = &la->base;
    if (rc)
        return rc;

    char *marker = xp_path_join(la->root, "xport.json");
    int is_layout = xp_is_file(marker);
    free(marker);
    if (is_layout || find_layout_root(la)) {
        la->flavor = LOCAL_XPORT;
        return 0;
    }
    enum local_flavor f;
    if (xp_is_dir(la->root) && sniff_mldash(la->root, 0, &f)) {
        la->flavor = f;
        return 0;
    }
    la->flavor = LOCAL_XPORT; /* empty or new: a layout to be written */
    return 0;
}

/* Move aside in one rename, then remove: a crash leaves no half tree. */
static int local_delete(struct xp_adapter *a, const struct xp_experiment_ref *ref)
{
    struct local_adapter *la = (struct local_adapter *)a;
    if (la->flavor != LOCAL_XPORT)
        return xp_error_set(XP_ENOTSUP, "'%s' is not an xport layout", la->root);
    size_t rl = strlen(la->root);
    if (strncmp(ref->key, la->root, rl) || ref->key[rl] != '/')
        return xp_error_set(XP_EINVALID, "'%s' is outside '%s'", ref->key, la->root);
    struct xp_buf trash = XP_BUF_INIT;
    xp_buf_printf(&trash, "%s/.xport/deleting", la->root);
    int rc = xp_mkdir_p(trash.ptr);
    char hex[65];
    xp_sha256_hex(hex, ref->key, strlen(ref->key));
    xp_buf_printf(&trash, "/%.24s", hex);
    if (!rc && rename(ref->key, trash.ptr) != 0)
        rc = xp_error_set_os(XP_EIO, "cannot move '%s' aside", ref->key);
    if (!rc)
        rc = xp_rm_rf(trash.ptr);
    xp_buf_release(&trash);
    return rc;
}

static const char *const local_aliases[] = {"file", "mldash-store", NULL};

/* Every option local_open reads (include/xport/sys/adapter.h). */
static const struct xp_option_decl local_options[] = {
    {"workspace", XP_OPT_STRING, 0, 0, 0, NULL,
     "workspace of an ml-dash v0.5 store's experiments, which name none (default local)"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

const struct xp_adapter_type xp_local_adapter = {
    .abi = XP_ADAPTER_ABI,
    .name = "local",
    .aliases = local_aliases,
    .summary = "xport layout folders (read/write) and ml-dash local stores "
               "v0.5/v0.6 (read)",
    .caps = XP_CAP_READ | XP_CAP_WRITE | XP_CAP_NO_NETWORK | XP_CAP_RESUME,
    .open = local_open,
    .close = local_close,
    .list_experiments = local_list_experiments,
    .read_experiment = local_read_experiment,
    .write_experiment = local_write_experiment,
    .delete_experiment = local_delete,
    .options = local_options,
};
