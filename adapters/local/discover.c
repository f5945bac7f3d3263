/* Finding experiments under a local root, for every flavor, and naming
 * them (workspace/project/name/folder). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "local.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"

#define MAX_DEPTH 16

void local_experiment_names_release(struct experiment_names *n)
{
    free(n->workspace);
    free(n->project);
    free(n->name);
    free(n->folder);
    free(n->relpath);
    memset(n, 0, sizeof(*n));
}

static char *decoded(const char *enc)
{
    struct xp_buf b = XP_BUF_INIT;
    if (xp_name_decode(&b, enc)) {
        xp_error_clear();
        xp_buf_release(&b);
        return xp_strdup(enc);
    }
    return xp_buf_detach(&b);
}

/* A segment of an ml-dash 0.6 "prefix" is the name itself, except where
 * mldash-local had to encode it ('/', "..", a leading '.', ...): such a
 * segment reads exactly like xp_name_encode's output for another name, and
 * mldash-local encodes any name that would read so (looks_encoded in
 * adapters/mldash/mldash_local.c), so only those are decoded. */
static char *prefix_segment(const char *seg)
{
    struct xp_buf d = XP_BUF_INIT, e = XP_BUF_INIT;
    int enc = strchr(seg, '%') && !xp_name_decode(&d, seg) &&
              strlen(d.ptr) == d.len && !xp_name_encode(&e, d.ptr) && !strcmp(e.ptr, seg);
    xp_error_clear();
    xp_buf_release(&e);
    if (!enc) {
        xp_buf_release(&d);
        return xp_strdup(seg);
    }
    return xp_buf_detach(&d);
}

/* Every segment of a '/'-separated folder through prefix_segment. */
static char *prefix_folder(const char *folder)
{
    struct xp_buf b = XP_BUF_INIT;
    char *f = xp_strdup(folder), *save = NULL;
    for (char *seg = strtok_r(f, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
        char *n = prefix_segment(seg);
        if (b.len)
            xp_buf_putc(&b, '/');
        xp_buf_puts(&b, n);
        free(n);
    }
    free(f);
    return xp_buf_detach(&b);
}

static char *json_str_dup(struct json_object *o, const char *k)
{
    const char *s = xp_json_str(o, k);
    return s ? xp_strdup(s) : NULL;
}

int local_experiment_names(struct experiment_names *out,
                           const struct local_adapter *la, const char *dir,
                           struct json_object *e)
{
    memset(out, 0, sizeof(*out));
    size_t rl = strlen(la->root);
    const char *rel = dir;
    if (!strncmp(dir, la->root, rl)) {
        rel = dir + rl;
        while (*rel == '/')
            rel++;
    }
    out->relpath = xp_strdup(rel);
    out->name = json_str_dup(e, "name");
    out->project = json_str_dup(e, "project");
    if (la->flavor == LOCAL_XPORT) {
        out->workspace = json_str_dup(e, "workspace");
        out->folder = json_str_dup(e, "folder");
        /* fall back to the directory names */
        char *copy = xp_strdup(rel);
        char *s1 = strchr(copy, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
        if (s1 && s2) {
            *s1 = *s2 = '\0';
            if (!out->workspace)
                out->workspace = decoded(copy);
            if (!out->project)
                out->project = decoded(s1 + 1);
            if (!out->name)
                out->name = decoded(s2 + 1);
        }
        free(copy);
    } else if (la->flavor == LOCAL_MLDASH_06) {
        /* prefix = owner/project/folders.../experiment */
        const char *prefix = xp_json_str(e, "prefix");
        if (!prefix)
            prefix = rel;
        char *copy = xp_strdup(prefix);
        char *s1 = strchr(copy, '/');
        char *last = strrchr(copy, '/');
        if (s1) {
            *s1 = '\0';
            out->workspace = prefix_segment(copy);
            char *s2 = strchr(s1 + 1, '/');
            if (s2 && s2 < last) {
                *last = '\0';
                out->folder = prefix_folder(s2 + 1);
            }
            if (!out->project) {
                if (s2)
                    *s2 = '\0';
                out->project = prefix_segment(s1 + 1);
            }
        }
        free(copy);
        /* mldash-local keeps a folder the prefix cannot say ("/a/b" from a
         * v0.5 store) as "folder": taken when it names the same segments */
        const char *kept = xp_json_str(e, "folder");
        char *segs = kept ? prefix_folder(kept) : NULL;
        if (kept && out->folder && segs && !strcmp(segs, out->folder)) {
            free(out->folder);
            out->folder = xp_strdup(kept);
        }
        free(segs);
    } else {
        out->folder = json_str_dup(e, "folder");
        out->workspace = xp_strdup(la->default_workspace);
    }
    if (!out->workspace)
        out->workspace = xp_strdup(la->default_workspace);
    if (!out->name || !out->project) {
        local_experiment_names_release(out);
        return xp_error_set(XP_EINVALID,
                            "'%s/experiment.json' lacks \"name\" or \"project\"",
                            dir);
    }
    return 0;
}

struct walk {
    struct local_adapter *la;
    xp_experiment_cb cb;
    void *payload;
    int failures;
};

static int visit_experiment(struct walk *w, const char *dir)
{
    char *ej = xp_path_join(dir, "experiment.json");
    struct json_object *e = NULL;
    int rc = lfs_read_json(w->la, &e, ej);
    free(ej);
    if (!rc && !json_object_is_type(e, json_type_object))
        rc = xp_error_set(XP_EINVALID, "'%s/experiment.json' is not an object", dir);
    struct experiment_names n;
    if (!rc)
        rc = local_experiment_names(&n, w->la, dir, e);
    json_object_put(e);
    if (rc) {
        /* one unreadable experiment must not hide the others: report it
         * through the callback with no name so the copy counts a failure */
        xp_ctx_warn(w->la->base.ctx, "skipping '%s': %s", dir,
                    xp_error_last()->message);
        w->failures++;
        return 0;
    }
    rc = 0;
    if (xp_location_selects(&w->la->sel, n.workspace, n.project, n.name)) {
        struct xp_experiment_ref ref = {n.workspace, n.project, n.name, dir, -1};
        rc = w->cb(&ref, w->payload);
    }
    local_experiment_names_release(&n);
    return rc;
}

static int walk_tree(struct walk *w, const char *dir, int depth)
{
    char **names;
    size_t n;
    int rc = lfs_list_dir(w->la, &names, &n, dir);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && !rc; i++) {
        if (names[i][0] == '.')
            continue; /* .xport staging, lock files, hidden folders */
        char *p = xp_path_join(dir, names[i]);
        if (lfs_is_real_dir(w->la, p)) {
            char *ej = xp_path_join(p, "experiment.json");
            if (lfs_is_file(w->la, ej))
                rc = visit_experiment(w, p);
            else if (depth < MAX_DEPTH &&
                     (w->la->flavor != LOCAL_XPORT || depth < 2))
                rc = walk_tree(w, p, depth + 1);
            free(ej);
        }
        free(p);
    }
    xp_strv_free(names);
    return rc;
}

int local_list_experiments(struct xp_adapter *a, xp_experiment_cb cb,
                           void *payload)
{
    struct local_adapter *la = (struct local_adapter *)a;
    struct walk w = {la, cb, payload, 0};
    if (!lfs_is_dir(la, la->root)) {
        struct stat st;
        if (stat(la->root, &st) == 0)
            /* e.g. a run-ID.wandb file typed without its scheme */
            return xp_error_set(XP_EINVALID,
                                "'%s' is not a layout folder (a bare path is read as an xport "
                                "layout; name other on-disk formats by their adapter, e.g. "
                                "wandb-offline:PATH; 'xport adapters' lists them)",
                                la->root);
        return xp_error_set(XP_ENOTFOUND, "'%s' does not exist", la->root);
    }
    int rc = walk_tree(&w, la->root, 0);
    if (!rc && w.failures)
        rc = xp_error_set(XP_EINVALID, "%d experiment(s) under '%s' could not be read",
                          w.failures, la->root);
    return rc;
}
