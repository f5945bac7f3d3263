/* The cometx adapter: folders written by `cometx download`
 * (ROOT/WORKSPACE/PROJECT/EXPERIMENT/ with metadata.json, metrics.jsonl,
 * parameters.json, others.jsonl, system_details.json, assets/, run/ and
 * the project's project_metadata.json; adapters/comet/README.md), read as a
 * source and written as a destination that `cometx copy` consumes. This
 * file finds experiments; cometx_read.c and cometx_write.c do the rest. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "comet_int.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"

/* Files of which any one marks a folder as a cometx experiment. */
static const char *const exp_files[] = {"metadata.json", "metrics.jsonl",
                                        "parameters.json", "others.jsonl", NULL};

static int is_experiment(const char *dir)
{
    for (int i = 0; exp_files[i]; i++) {
        char *p = xp_path_join(dir, exp_files[i]);
        int yes = xp_is_real_file(p);
        free(p);
        if (yes)
            return 1;
    }
    return 0;
}

/* ---- listing ------------------------------------------------------------- */

struct walk {
    struct cometx_adapter *a;
    xp_experiment_cb cb;
    void *payload;
};

static int list_one(struct walk *w, const char *dir, const char *wsf,
                    const char *projf, const char *expf)
{
    struct cometx_exp e;
    int rc = cometx_exp_load(&e, dir, wsf, projf, expf);
    if (rc) {
        cometx_exp_release(&e);
        return rc;
    }
    struct xp_location sel = {.workspace = w->a->ws_pat,
                              .project = w->a->proj_pat,
                              .experiment = w->a->exp_pat};
    if (xp_location_selects(&sel, e.ws, e.proj, e.name)) {
        struct xp_experiment_ref ref = {e.ws, e.proj, e.name, dir, -1};
        rc = w->cb(&ref, w->payload);
    }
    cometx_exp_release(&e);
    return rc;
}

/* Call fn for each safe sub-folder name of dir (symbolic links are not
 * followed: nothing outside the root is read). */
static int subdirs(const char *dir, char ***names, size_t *n)
{
    int rc = xp_list_dir(names, n, dir);
    if (rc)
        return rc;
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        char *p = xp_path_join(dir, (*names)[i]);
        int keep = (*names)[i][0] != '.' && xp_segment_safe((*names)[i]) &&
                   xp_is_real_dir(p);
        free(p);
        if (keep)
            (*names)[k++] = (*names)[i];
        else
            free((*names)[i]);
    }
    (*names)[k] = NULL;
    *n = k;
    return 0;
}

/* Experiments below dir, whose folder names so far are names[0..level). */
static int walk_level(struct walk *w, const char *dir, const char *names[3], int level)
{
    if (level == 3)
        return is_experiment(dir) ? list_one(w, dir, names[0], names[1], names[2]) : 0;
    char **subs = NULL;
    size_t n = 0;
    int rc = subdirs(dir, &subs, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        char *d = xp_path_join(dir, subs[i]);
        names[level] = subs[i];
        rc = walk_level(w, d, names, level + 1);
        free(d);
    }
    if (subs)
        xp_strv_free(subs);
    return rc;
}

/* How deep in a download PATH is: 3 an experiment folder, 2 a project
 * folder (its sub-folders are experiments), 1 a workspace folder, 0 the
 * root `cometx download` wrote into. */
static int path_level(const char *root)
{
    if (is_experiment(root))
        return 3;
    char **subs = NULL;
    size_t n = 0;
    int level = 0;
    if (subdirs(root, &subs, &n)) {
        xp_error_clear();
        return 0;
    }
    for (size_t i = 0; i < n && level < 2; i++) {
        char *d = xp_path_join(root, subs[i]);
        char **sub2 = NULL;
        size_t n2 = 0;
        if (is_experiment(d))
            level = 2;
        else if (!subdirs(d, &sub2, &n2))
            for (size_t j = 0; j < n2 && !level; j++) {
                char *e = xp_path_join(d, sub2[j]);
                level = is_experiment(e) ? 1 : 0;
                free(e);
            }
        xp_error_clear();
        if (sub2)
            xp_strv_free(sub2);
        free(d);
    }
    xp_strv_free(subs);
    return level;
}

static int cx_list(struct xp_adapter *base, xp_experiment_cb cb, void *payload)
{
    struct cometx_adapter *a = (struct cometx_adapter *)base;
    struct walk w = {a, cb, payload};
    if (!xp_is_dir(a->root))
        return xp_error_set(XP_ENOTFOUND, "no such folder '%s'", a->root);
    int level = path_level(a->root);
    /* the names PATH itself gives: its last `level` segments */
    char *copy = xp_strdup(a->root);
    const char *names[3] = {"workspace", "project", NULL};
    for (int i = level - 1; i >= 0; i--) {
        char *s = strrchr(copy, '/');
        names[i] = s ? s + 1 : copy;
        if (!s)
            break;
        *s = '\0';
    }
    int rc = walk_level(&w, a->root, names, level);
    free(copy);
    return rc;
}

/* ---- open / close -------------------------------------------------------- */

static void cx_close(struct xp_adapter *base)
{
    struct cometx_adapter *a = (struct cometx_adapter *)base;
    if (!a)
        return;
    free(a->root);
    free(a->ws_pat);
    free(a->proj_pat);
    free(a->exp_pat);
    json_object_put(a->claimed);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

static int cx_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                   const struct xp_location *loc, const struct xp_options *opts,
                   struct xp_ctx *ctx)
{
    (void)opts;
    *out = NULL;
    if (!loc->path || !*loc->path)
        return xp_error_set(XP_EINVALID, "adapter '%s' needs a path", type->name);
    if (xp_is_file(loc->path))
        return xp_error_set(XP_EINVALID, "'%s' is a file, not a cometx folder",
                            loc->path);
    struct cometx_adapter *a = xp_calloc(1, sizeof(*a));
    a->base.type = type;
    a->base.ctx = ctx;
    a->root = xp_strdup(loc->path);
    pthread_mutex_init(&a->lock, NULL);
    a->claimed = json_object_new_object();
    size_t n = strlen(a->root);
    while (n > 1 && a->root[n - 1] == '/')
        a->root[--n] = '\0';
    a->ws_pat = xp_strdup(loc->workspace);
    a->proj_pat = xp_strdup(loc->project);
    a->exp_pat = xp_strdup(loc->experiment);
    *out = &a->base;
    return 0;
}

const struct xp_adapter_type xp_cometx_adapter = {
    .abi = XP_ADAPTER_ABI,
    .name = "cometx",
    .summary = "folders written by `cometx download` (read/write)",
    .caps = XP_CAP_READ | XP_CAP_WRITE | XP_CAP_NO_NETWORK,
    .open = cx_open,
    .close = cx_close,
    .list_experiments = cx_list,
    .read_experiment = cometx_read_experiment,
    .write_experiment = cometx_write_experiment,
};
