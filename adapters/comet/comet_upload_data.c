/* The requests of an upload and the bulk of an experiment sent to a Comet
 * server (comet_upload.h): the output lines and the asset files (multipart
 * with type, step, context and metadata), each skipping what the
 * destination already holds. Metric points: comet_upload_metrics.c. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "comet_upload.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"

/* ---- requests ------------------------------------------------------------------------ */

void comet_up_begin(struct comet_up *u, struct xp_buf *b)
{
    xp_buf_reset(b);
    xp_buf_puts(b, "{\"experimentKey\":");
    xp_json_put_str(b, u->key, strlen(u->key), "experiment key");
}

int comet_up_post(struct comet_up *u, int clientlib, const char *path,
                  const struct xp_buf *body, unsigned flags)
{
    u->requests++;
    int rc = comet_post_json(u->c, clientlib, path, body, flags, NULL);
    if (rc)
        rc = xp_error_wrap(rc, "sending to Comet experiment '%s'", u->key);
    return rc;
}

/* ---- output ------------------------------------------------------------------------------- */

#define OUTPUT_BATCH 500

int comet_up_output(struct comet_up *u)
{
    char *p = xp_path_join(u->dir, "run/output.txt");
    struct xp_buf t = XP_BUF_INIT, b = XP_BUF_INIT;
    int rc = xp_is_real_file(p) ? xp_read_file(&t, p, (size_t)1 << 30) : 0;
    free(p);
    int64_t idx = 0;
    int in = 0;
    for (char *line = t.ptr; !rc && line < t.ptr + t.len;) {
        char *nl = memchr(line, '\n', (size_t)(t.ptr + t.len - line));
        size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
        if (idx++ >= u->have_lines) {
            if (!in) {
                comet_up_begin(u, &b);
                xp_buf_puts(&b, ",\"runContext\":null,\"outputLines\":[");
            }
            xp_buf_puts(&b, in++ ? ",{\"output\":" : "{\"output\":");
            rc = xp_json_put_str(&b, line, len, "output line");
            xp_buf_printf(&b, ",\"stderr\":false,\"offset\":%lld}", (long long)(idx - 1));
        }
        line += len;
        if (!rc && in && (in == OUTPUT_BATCH || line >= t.ptr + t.len)) {
            xp_buf_puts(&b, "]}");
            /* appended: not repeated blindly (comet_upload re-reads and resends) */
            rc = comet_up_post(u, 0, "write/experiment/output", &b, XP_HTTP_NOT_IDEMPOTENT);
            in = 0;
        }
    }
    xp_buf_release(&t);
    xp_buf_release(&b);
    return rc;
}

/* ---- assets ------------------------------------------------------------------------------- */

/* "type\nfileName\nstep\nsize": how an asset already held is recognised. */
static void asset_id(struct xp_buf *b, struct json_object *a)
{
    struct json_object *st = xp_json_get(a, "step"), *sz = xp_json_get(a, "fileSize");
    const char *t = xp_json_str(a, "type");
    xp_buf_reset(b);
    xp_buf_printf(b, "%s\n%s\n%s\n%s", t && *t ? t : "asset", xp_json_str(a, "fileName"),
                  st ? json_object_to_json_string(st) : "null",
                  json_object_get_boolean(xp_json_get(a, "remote")) ? "remote"
                  : sz ? json_object_to_json_string(sz) : "null");
}

/* Take one held asset matching id out of the count; 1 when there was one. */
static int take_held(struct json_object *held, const char *id)
{
    struct json_object *c = NULL;
    if (!json_object_object_get_ex(held, id, &c) || json_object_get_int(c) <= 0)
        return 0;
    json_object_object_add(held, id, json_object_new_int(json_object_get_int(c) - 1));
    return 1;
}

static int upload_one(struct comet_up *u, const char *fname, const char *type,
                      struct json_object *rec, const char *disk)
{
    struct json_object *st = rec ? xp_json_get(rec, "step") : NULL;
    char step[32] = "";
    if (st && json_object_is_type(st, json_type_int))
        snprintf(step, sizeof(step), "%lld", (long long)json_object_get_int64(st));
    int remote = rec && json_object_get_boolean(xp_json_get(rec, "remote"));
    const char *q[] = {"experimentKey", u->key,
                       "fileName", fname,
                       "type", type,
                       "step", *step ? step : NULL,
                       "context", rec ? xp_json_str(rec, "runContext") : NULL,
                       "metadata", rec ? xp_json_str(rec, "metadata") : NULL,
                       "overwrite", "false",
                       "isRemote", remote ? "true" : NULL,
                       NULL};
    struct xp_http_part part = {.name = "file", .path = disk, .filename = fname,
                                .content_type = "application/octet-stream"};
    const char *link = remote ? xp_json_str(rec, "link") : NULL;
    if (remote) {
        if (!link)
            return xp_error_set(XP_EINVALID, "remote asset '%s' has no link", fname);
        part = (struct xp_http_part){.name = "link", .data = link, .len = strlen(link)};
    }
    u->requests++;
    int rc = comet_post_parts(u->c, "write/experiment/upload-asset", q, &part, 1,
                              XP_HTTP_NOT_IDEMPOTENT, NULL);
    if (rc)
        rc = xp_error_wrap(rc, "uploading asset '%s' to Comet experiment '%s'", fname,
                           u->key);
    return rc;
}

/* Files of the folder no endpoint takes (run/README.md, the side log file,
 * other HTML files): assets named by their path, which a read puts back. */
static int upload_tree(struct comet_up *u, struct json_object *held, const char *rel,
                       int depth)
{
    static const char *const taken[] = {
        "run/output.txt", "run/script.py", "run/graph_definition.txt", "run/git_metadata.json",
        "run/requirements.txt", "run/git_diff.patch", "assets/html/experiment.html", NULL};
    char *full = xp_path_join(u->dir, rel);
    struct stat sb;
    int rc = 0;
    if (depth > 32 || lstat(full, &sb) != 0) {
        free(full);
        return 0;
    }
    if (S_ISREG(sb.st_mode)) {
        int skip = 0;
        for (int i = 0; taken[i]; i++)
            skip |= !strcmp(rel, taken[i]);
        struct xp_buf id = XP_BUF_INIT;
        xp_buf_printf(&id, "asset\n%s\nnull\n%lld", rel, (long long)sb.st_size);
        if (!skip && !take_held(held, id.ptr))
            rc = upload_one(u, rel, "asset", NULL, full);
        xp_buf_release(&id);
    } else if (S_ISDIR(sb.st_mode)) {
        char **names = NULL;
        size_t n = 0;
        rc = xp_list_dir(&names, &n, full);
        for (size_t i = 0; !rc && i < n; i++) {
            char *sub = xp_path_join(rel, names[i]);
            rc = upload_tree(u, held, sub, depth + 1);
            free(sub);
        }
        if (names)
            xp_strv_free(names);
    }
    free(full);
    return rc;
}

int comet_up_assets(struct comet_up *u)
{
    struct json_object *held = json_object_new_object(), *list = NULL;
    struct xp_buf id = XP_BUF_INIT;
    if (u->have_assets && json_object_object_get_ex(u->have_assets, "assets", &list))
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            asset_id(&id, json_object_array_get_idx(list, i));
            struct json_object *c = NULL;
            int k = json_object_object_get_ex(held, id.ptr, &c) ? json_object_get_int(c) : 0;
            json_object_object_add(held, id.ptr, json_object_new_int(k + 1));
        }
    char *p = xp_path_join(u->dir, "assets/assets_metadata.jsonl");
    struct xp_buf t = XP_BUF_INIT, disk = XP_BUF_INIT;
    int rc = xp_is_real_file(p) ? xp_read_file(&t, p, (size_t)256 << 20) : 0;
    free(p);
    for (char *line = t.ptr; !rc && line < t.ptr + t.len;) {
        char *nl = memchr(line, '\n', (size_t)(t.ptr + t.len - line));
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        struct json_object *rec = NULL;
        if (len && !(rc = xp_json_parse(&rec, line, len, "assets_metadata.jsonl"))) {
            const char *fname = xp_json_str(rec, "fileName");
            const char *type = xp_json_str(rec, "type");
            const char *dn = xp_json_str(rec, "diskFileName");
            if (!type || !*type)
                type = "asset";
            char *clean = fname ? cometx_sanitize(dn ? dn : fname) : NULL;
            xp_buf_reset(&disk);
            xp_buf_printf(&disk, "%s/assets/%s/%s", u->dir, type, clean ? clean : "");
            free(clean);
            asset_id(&id, rec);
            if (!fname)
                rc = xp_error_set(XP_EINVALID, "an asset record has no fileName");
            else if (!take_held(held, id.ptr))
                rc = upload_one(u, fname, type, rec, disk.ptr);
        }
        json_object_put(rec);
        line += len + (nl != NULL);
    }
    if (!rc)
        rc = upload_tree(u, held, "run", 0);
    if (!rc)
        rc = upload_tree(u, held, "assets/html", 0);
    json_object_put(held);
    xp_buf_release(&t);
    xp_buf_release(&disk);
    xp_buf_release(&id);
    return rc;
}
