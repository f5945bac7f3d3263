/* Reading an experiment's stored files: listing them from the xport
 * manifest (files.jsonl) or ml-dash's files/.files_metadata.json, and
 * handing each one's bytes on as a stream read from its descriptor. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "layout_read.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"

/* ---- files ---- */

static void add_file(struct layout_reader *r, size_t *cap, const char *rel,
                     const char *disk, struct json_object *entry)
{
    if (r->nfiles == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        r->files = xp_realloc(r->files, *cap * sizeof(*r->files));
    }
    struct file_item *f = &r->files[r->nfiles++];
    f->path = xp_strdup(rel);
    f->disk = xp_strdup(disk);
    f->entry = entry;
}

int lr_collect_files_xport(struct layout_reader *r)
{
    char *mf = xp_path_join(r->dir, "files.jsonl");
    int rc = 0;
    size_t cap = 0;
    if (!lfs_is_file(r->la, mf)) {
        free(mf);
        return 0;
    }
    if ((rc = lr_open_fp(r, mf))) {
        free(mf);
        return rc;
    }
    free(mf);
    struct json_object *o;
    while ((rc = lr_next_json_line(r, &o)) == 0) {
        const char *path = xp_json_str(o, "path");
        if (!path || !xp_relpath_safe(path)) {
            rc = xp_error_set(XP_EINVALID, "'%s' line %ld: unsafe or missing path",
                              r->fp_path, r->lineno);
            json_object_put(o);
            break;
        }
        const char *art = xp_json_str(o, "artifact");
        if (art && !(r->ro.resources & XP_RES_ARTIFACTS)) {
            json_object_put(o);
            continue;
        }
        if (!art && !(r->ro.resources & XP_RES_FILES)) {
            json_object_put(o);
            continue;
        }
        struct xp_buf d = XP_BUF_INIT, enc = XP_BUF_INIT;
        if (art && xp_name_encode(&enc, art)) {
            rc = xp_error_set(XP_EINVALID, "'%s' line %ld: bad artifact name",
                              r->fp_path, r->lineno);
            json_object_put(o);
            xp_buf_release(&enc);
            break;
        }
        if (art)
            xp_buf_printf(&d, "%s/artifacts/%s/%s", r->dir, enc.ptr, path);
        else
            xp_buf_printf(&d, "%s/files/%s", r->dir, path);
        add_file(r, &cap, path, d.ptr, o);
        xp_buf_release(&d);
        xp_buf_release(&enc);
    }
    lr_close_fp(r);
    return rc == XP_ITEROVER ? 0 : rc;
}

/* ml-dash: files/.files_metadata.json lists {id, path, filename, ...}; the
 * bytes are at files/<path>/<id>/<filename>. The layout path drops the id
 * unless two live files share path and filename. */
int lr_collect_files_mldash(struct layout_reader *r)
{
    char *mf = xp_path_join(r->dir, "files/.files_metadata.json");
    int rc = 0;
    size_t cap = 0;
    if (!lfs_is_file(r->la, mf)) {
        free(mf);
        return 0;
    }
    struct json_object *doc = NULL;
    rc = lfs_read_json(r->la, &doc, mf);
    free(mf);
    if (rc)
        return rc;
    struct json_object *arr = xp_json_get(doc, "files");
    size_t n = arr && json_object_is_type(arr, json_type_array)
                   ? json_object_array_length(arr) : 0;
    struct json_object *seen = json_object_new_object();
    for (int pass = 0; pass < 2 && !rc; pass++) {
        for (size_t i = 0; i < n && !rc; i++) {
            struct json_object *e = json_object_array_get_idx(arr, i);
            const char *id = xp_json_str(e, "id"), *fn = xp_json_str(e, "filename");
            const char *path = xp_json_str(e, "path");
            struct json_object *del = xp_json_get(e, "deletedAt");
            if (del && !json_object_is_type(del, json_type_null))
                continue; /* soft-deleted in ml-dash */
            if (!id || !fn) {
                rc = xp_error_set(XP_EINVALID, "file entry %zu in '%s' lacks id or filename",
                                  i, r->dir);
                break;
            }
            while (path && *path == '/')
                path++;
            struct xp_buf rel = XP_BUF_INIT, disk = XP_BUF_INIT;
            if (path && *path)
                xp_buf_printf(&rel, "%s/", path);
            xp_buf_puts(&rel, fn);
            if (pass == 0) {
                struct json_object *c = xp_json_get(seen, rel.ptr);
                json_object_object_add(seen, rel.ptr,
                    json_object_new_int(c ? json_object_get_int(c) + 1 : 1));
                xp_buf_release(&rel);
                continue;
            }
            if (json_object_get_int(xp_json_get(seen, rel.ptr)) > 1) {
                xp_buf_reset(&rel);
                if (path && *path)
                    xp_buf_printf(&rel, "%s/", path);
                xp_buf_printf(&rel, "%s/%s", id, fn);
            }
            xp_buf_printf(&disk, "%s/files/%s%s%s/%s", r->dir,
                          path && *path ? path : "", path && *path ? "/" : "", id, fn);
            if (!xp_relpath_safe(rel.ptr))
                rc = xp_error_set(XP_EINVALID, "unsafe file path '%s' in '%s'",
                                  rel.ptr, r->dir);
            else
                add_file(r, &cap, rel.ptr, disk.ptr, json_object_get(e));
            xp_buf_release(&rel);
            xp_buf_release(&disk);
        }
    }
    json_object_put(seen);
    json_object_put(doc);
    return rc;
}

void lr_close_body(struct layout_reader *r)
{
    if (r->body && r->body != &r->stream.base)
        r->body->free(r->body);
    r->body = NULL;
    xp_fd_stream_close(&r->stream);
}

int lr_emit_file(struct layout_reader *r, struct file_item *f)
{
    lr_close_body(r);
    int rc = lfs_open_body(r->la, f->disk, &r->stream, &r->body);
    if (rc)
        return rc;
    struct xp_file_meta *m = &r->rec.u.file.meta;
    memset(m, 0, sizeof(*m));
    struct json_object *e = f->entry;
    m->path = f->path;
    m->size = -1;
    struct json_object *sz = xp_json_get(e, r->la->flavor == LOCAL_XPORT ? "size" : "sizeBytes");
    if (sz && json_object_is_type(sz, json_type_int))
        m->size = json_object_get_int64(sz);
    if (r->la->flavor == LOCAL_XPORT) {
        m->sha256 = xp_json_str(e, "sha256");
        struct json_object *vc = xp_json_get(e, "vendorChecksum");
        m->vendor_checksum_algo = xp_json_str(vc, "algo");
        m->vendor_checksum = xp_json_str(vc, "value");
        struct json_object *md = xp_json_get(e, "metadata");
        m->metadata = md && !json_object_is_type(md, json_type_null) ? md : NULL;
    } else {
        /* ml-dash's checksum is a sha256 hex; keep the whole entry */
        m->sha256 = xp_json_str(e, "checksum");
        m->vendor_checksum_algo = m->sha256 ? "sha256" : NULL;
        m->vendor_checksum = m->sha256;
        m->metadata = e;
    }
    m->content_type = xp_json_str(e, "contentType");
    m->id = xp_json_str(e, "id");
    m->artifact = r->la->flavor == LOCAL_XPORT ? xp_json_str(e, "artifact") : NULL;
    r->rec.kind = XP_REC_FILE;
    r->rec.u.file.body = r->body;
    return 0;
}
