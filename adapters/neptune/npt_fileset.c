/* The files of a file set attribute: its UploadFileSet operations name
 * them by absolute glob patterns of the machine that ran the job; they are
 * matched on this machine and named as `neptune sync` names them, relative
 * to the common root of one operation's matches (neptune-client 1.x
 * src/neptune/internal/backends/hosted_file_operations.py
 * get_unique_upload_entries, src/neptune/internal/utils/__init__.py
 * get_common_root, src/neptune/common/storage/storage_utils.py
 * scan_unique_upload_entries). */
#define _GNU_SOURCE
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "npt.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"

struct set {
    struct npt_fentry *v;
    size_t n;
};

static void set_put(struct set *s, const char *target, const char *source)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!strcmp(s->v[i].target, target)) {
            free(s->v[i].source);
            s->v[i].source = xp_strdup(source);
            return;
        }
    }
    s->v = xp_realloc(s->v, (s->n + 1) * sizeof(*s->v));
    s->v[s->n].target = xp_strdup(target);
    s->v[s->n++].source = xp_strdup(source);
}

/* Remove target and everything under it. */
static void set_drop(struct set *s, const char *target)
{
    size_t n = strlen(target), k = 0;
    for (size_t i = 0; i < s->n; i++) {
        const char *t = s->v[i].target;
        if (!strcmp(t, target) || (!strncmp(t, target, n) && t[n] == '/')) {
            free(s->v[i].target);
            free(s->v[i].source);
        } else {
            s->v[k++] = s->v[i];
        }
    }
    s->n = k;
}

/* Add the regular files under dir (recursively), named target/... */
static void walk(struct set *s, const char *dir, const char *target, int depth)
{
    char **names;
    size_t n;
    if (depth > 64 || xp_list_dir(&names, &n, dir)) {
        xp_error_clear();
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *src = xp_path_join(dir, names[i]);
        char *t = *target ? xp_path_join(target, names[i]) : xp_strdup(names[i]);
        struct stat st;
        if (lstat(src, &st) == 0 && S_ISDIR(st.st_mode))
            walk(s, src, t, depth + 1);
        else if (stat(src, &st) == 0 && S_ISREG(st.st_mode))
            set_put(s, t, src);
        free(t);
        free(src);
    }
    xp_strv_free(names);
}

/* The longest common folder of the paths (os.path.commonpath); a file
 * gives its folder. */
static char *common_root(char **paths, size_t n)
{
    size_t len = strlen(paths[0]);
    for (size_t i = 1; i < n; i++) {
        size_t k = 0;
        while (k < len && paths[i][k] && paths[i][k] == paths[0][k])
            k++;
        len = k;
    }
    /* back up to a whole segment */
    for (size_t i = 0; i < n; i++)
        if (paths[i][len] != '\0' && paths[i][len] != '/') {
            while (len > 0 && paths[0][len - 1] != '/')
                len--;
            break;
        }
    while (len > 1 && paths[0][len - 1] == '/')
        len--;
    char *root = xp_strndup(paths[0], len ? len : 1);
    struct stat st;
    if (stat(root, &st) == 0 && S_ISREG(st.st_mode)) {
        char *sl = strrchr(root, '/');
        if (sl && sl != root)
            *sl = '\0';
        else if (sl)
            sl[1] = '\0';
    }
    return root;
}

static void upload(struct npt_run *r, const char *attr, struct set *s,
                   struct json_object *globs)
{
    char **paths = NULL;
    size_t np = 0;
    for (size_t i = 0; i < json_object_array_length(globs); i++) {
        const char *g = json_object_get_string(json_object_array_get_idx(globs, i));
        glob_t gl;
        if (!g || g[0] != '/' || glob(g, GLOB_NOSORT, NULL, &gl) != 0) {
            xp_lost_add(&r->lost, "file set '%s': '%s' matches nothing on this machine",
                     attr, g ? g : "");
            continue;
        }
        for (size_t j = 0; j < gl.gl_pathc; j++) {
            paths = xp_realloc(paths, (np + 1) * sizeof(char *));
            paths[np++] = xp_strdup(gl.gl_pathv[j]);
        }
        globfree(&gl);
    }
    if (!np)
        return;
    char *root = common_root(paths, np);
    size_t rl = strlen(root);
    for (size_t i = 0; i < np; i++) {
        const char *rel = paths[i] + rl;
        while (*rel == '/')
            rel++;
        if (rl == 1)
            rel = paths[i] + 1;
        struct stat st;
        if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
            walk(s, paths[i], rel, 0);
        else if (S_ISREG(st.st_mode) && *rel)
            set_put(s, rel, paths[i]);
        free(paths[i]);
    }
    free(paths);
    free(root);
}

int npt_fileset_resolve(struct npt_run *r, const struct npt_attr *a,
                        struct npt_fentry **out, size_t *n)
{
    struct set s = {NULL, 0};
    for (size_t i = 0; a->ops && i < json_object_array_length(a->ops); i++) {
        struct json_object *op = json_object_array_get_idx(a->ops, i);
        const char *type = xp_json_str(op, "type");
        if (type && !strcmp(type, "UploadFileSet")) {
            const char *reset = xp_json_str(op, "reset");
            struct json_object *globs = xp_json_get(op, "file_globs");
            if (reset && strcmp(reset, "False")) {
                npt_fileset_free(s.v, s.n);
                s.v = NULL;
                s.n = 0;
            }
            if (globs && json_object_is_type(globs, json_type_array))
                upload(r, a->path, &s, globs);
        } else if (type && !strcmp(type, "DeleteFiles")) {
            struct json_object *fp = xp_json_get(op, "file_paths");
            for (size_t j = 0; fp && j < json_object_array_length(fp); j++) {
                const char *p = json_object_get_string(json_object_array_get_idx(fp, j));
                if (p)
                    set_drop(&s, p);
            }
        }
    }
    *out = s.v;
    *n = s.n;
    return 0;
}

void npt_fileset_free(struct npt_fentry *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].target);
        free(v[i].source);
    }
    free(v);
}
