/* One cometx experiment folder's identity: its metadata.json, its
 * others.jsonl, and the workspace, project and name xport gives it (the
 * "Name" other first, as `cometx copy` takes it). */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "comet_int.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"

static int read_others(struct json_object *arr, const char *path)
{
    struct xp_buf b = XP_BUF_INIT;
    int rc = xp_read_file(&b, path, (size_t)256 << 20);
    if (rc == XP_ENOTFOUND) {
        xp_error_clear();
        xp_buf_release(&b);
        return 0;
    }
    long lineno = 0;
    for (char *line = b.ptr; !rc && line < b.ptr + b.len;) {
        char *nl = memchr(line, '\n', (size_t)(b.ptr + b.len - line));
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        lineno++;
        struct json_object *o = NULL;
        size_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\r' || line[k] == '\t'))
            k++;
        if (k < len) {
            rc = xp_json_parse(&o, line, len, "others.jsonl");
            if (!rc && (!json_object_is_type(o, json_type_object) ||
                        !xp_json_str(o, "name")))
                rc = xp_error_set(XP_EINVALID, "line %ld of '%s' is not an "
                                  "object with a \"name\"", lineno, path);
            else if (rc)
                rc = xp_error_wrap(rc, "line %ld of '%s'", lineno, path);
            if (!rc)
                json_object_array_add(arr, o);
            else
                json_object_put(o);
        }
        line += len + (nl != NULL);
    }
    xp_buf_release(&b);
    return rc;
}

static char *str_or(struct json_object *o, const char *k, const char *dflt)
{
    const char *v = xp_json_str(o, k);
    return xp_strdup(v && *v ? v : dflt);
}

int cometx_exp_load(struct cometx_exp *e, const char *dir, const char *ws_folder,
                    const char *proj_folder, const char *exp_folder)
{
    memset(e, 0, sizeof(*e));
    e->dir = xp_strdup(dir);
    e->others = json_object_new_array();
    char *p = xp_path_join(dir, "metadata.json");
    int rc = 0;
    if (xp_is_real_file(p)) {
        rc = xp_json_read_file(&e->metadata, p);
        if (!rc && !json_object_is_type(e->metadata, json_type_object))
            rc = xp_error_set(XP_EINVALID, "'%s' is not a JSON object", p);
    }
    free(p);
    if (!rc) {
        p = xp_path_join(dir, "others.jsonl");
        if (xp_is_real_file(p))
            rc = read_others(e->others, p);
        free(p);
    }
    if (rc)
        return rc;
    e->ws = str_or(e->metadata, "workspaceName", ws_folder);
    e->proj = str_or(e->metadata, "projectName", proj_folder);
    const char *name = NULL;
    for (size_t i = 0; i < json_object_array_length(e->others); i++) {
        struct json_object *o = json_object_array_get_idx(e->others, i);
        if (!strcmp(xp_json_str(o, "name"), "Name")) {
            name = xp_json_str(o, "valueCurrent");
            break;
        }
    }
    e->name = xp_strdup(name && *name ? name
                        : xp_json_str(e->metadata, "experimentName") &&
                                  *xp_json_str(e->metadata, "experimentName")
                            ? xp_json_str(e->metadata, "experimentName")
                            : exp_folder);
    return 0;
}

void cometx_exp_release(struct cometx_exp *e)
{
    free(e->dir);
    free(e->ws);
    free(e->proj);
    free(e->name);
    json_object_put(e->metadata);
    json_object_put(e->others);
    memset(e, 0, sizeof(*e));
}
