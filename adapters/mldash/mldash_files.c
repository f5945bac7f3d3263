/* Reading an ml-dash experiment's files: listed (REST on v0.5, GraphQL
 * pages on v0.6) and each downloaded to a private temporary file checked
 * against its sha256. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "mldash_read.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"

/* Collect {id, rel, checksum, size, contentType, metadata, url} for every
 * live file: v0.5 lists them over REST; v0.6 pages them through GraphQL and
 * places them by their pPath below the experiment node's. */
static int add_file(struct mld_reader *r, struct json_object *f, const char *folder,
                    const char *filename, const char *checksum,
                    struct json_object *size, const char *ctype)
{
    const char *id = json_object_get_string(xp_json_get(f, "id"));
    if (!id || !filename)
        return xp_error_set(XP_EINVALID, "a file of '%s' has no id or name", r->name);
    while (folder && *folder == '/')
        folder++;
    struct xp_buf rel = XP_BUF_INIT;
    if (folder && *folder)
        xp_buf_printf(&rel, "%s/", folder);
    xp_buf_puts(&rel, filename);
    if (!xp_relpath_safe(rel.ptr)) {
        int rc = xp_error_set(XP_EINVALID, "unsafe file path '%s' in '%s'", rel.ptr,
                              r->name);
        xp_buf_release(&rel);
        return rc;
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "rel", json_object_new_string(rel.ptr));
    if (checksum)
        json_object_object_add(o, "checksum", json_object_new_string(checksum));
    int64_t sz;
    struct json_object *tmp = json_object_new_object();
    json_object_object_add(tmp, "s", size ? json_object_get(size) : NULL);
    if (!mld_int(tmp, "s", &sz))
        json_object_object_add(o, "size", json_object_new_int64(sz));
    json_object_put(tmp);
    if (ctype)
        json_object_object_add(o, "contentType", json_object_new_string(ctype));
    struct json_object *md = xp_json_get(f, "metadata");
    if (md && json_object_is_type(md, json_type_object)) {
        mld_unmark(r, md, "file metadata");
        struct json_object *x = xp_json_get(md, MLD_FILE_KEY);
        const char *art = xp_json_str(x, "artifact"), *ap = xp_json_str(x, "path");
        if (art && ap && xp_relpath_safe(ap)) {
            /* an artifact's file the writer carried as a plain file (mldash.h) */
            json_object_object_add(o, "artifact", json_object_new_string(art));
            json_object_object_add(o, "rel", json_object_new_string(ap));
            mld_take_extras(&md, MLD_FILE_KEY, NULL);
        }
        if (md)
            json_object_object_add(o, "metadata", json_object_get(md));
    }
    struct xp_buf url = XP_BUF_INIT;
    if (r->m->gen == 6)
        mld_url(&url, r->m, "/nodes/%s/download", id);
    else
        mld_url(&url, r->m, "/experiments/%s/files/%s/download", r->id, id);
    json_object_object_add(o, "url", json_object_new_string(url.ptr));
    json_object_array_add(r->files, o);
    xp_buf_release(&url);
    xp_buf_release(&rel);
    return 0;
}

static int list_files(struct mld_reader *r)
{
    r->files = json_object_new_array();
    int rc = 0;
    if (r->m->gen == 5) {
        struct json_object *d = NULL;
        mld_url(&r->url, r->m, "/experiments/%s/files", r->id);
        rc = mld_json(r->m, NULL, r->url.ptr, NULL, 0, &d);
        struct json_object *arr = xp_json_get(d, "files");
        size_t n = !rc && arr ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n && !rc; i++) {
            struct json_object *f = json_object_array_get_idx(arr, i);
            struct json_object *del = xp_json_get(f, "deletedAt");
            if (del && !json_object_is_type(del, json_type_null))
                continue;
            rc = add_file(r, f, xp_json_str(f, "path"), xp_json_str(f, "filename"),
                          xp_json_str(f, "checksum"), xp_json_get(f, "sizeBytes"),
                          xp_json_str(f, "contentType"));
        }
        json_object_put(d);
        return rc;
    }
    /* v0.6: the experiment node's pPath, then its files page by page */
    struct json_object *vars = json_object_new_object(), *d = NULL;
    json_object_object_add(vars, "id", json_object_new_string(r->id));
    rc = mld_graphql(r->m, "N", "query N($id: ID!) { experimentNode(experimentId: $id) "
                           "{ id pPath } }", vars, &d);
    char *base = NULL;
    if (!rc) {
        const char *pp = xp_json_str(xp_json_get(d, "experimentNode"), "pPath");
        base = xp_strdup(pp ? pp : "");
    }
    json_object_put(d);
    for (int offset = 0; !rc; offset += 500) {
        json_object_object_add(vars, "offset", json_object_new_int(offset));
        rc = mld_graphql(r->m, "F", "query F($id: ID!, $offset: Int) { experimentById(id: $id) "
                               "{ filesPaginated(limit: 500, offset: $offset) { files { "
                               "id name pPath metadata physicalFile { filename "
                               "contentType sizeBytes checksum } } hasMore } } }",
                         vars, &d);
        if (rc)
            break;
        struct json_object *page = xp_json_get(xp_json_get(d, "experimentById"), "filesPaginated");
        struct json_object *arr = xp_json_get(page, "files");
        size_t n = arr ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n && !rc; i++) {
            struct json_object *f = json_object_array_get_idx(arr, i);
            struct json_object *ph = xp_json_get(f, "physicalFile");
            const char *name = xp_json_str(f, "name");
            const char *pp = xp_json_str(f, "pPath");
            /* folder = pPath minus "<experiment pPath>/" and "/<name>" */
            char *folder = NULL;
            size_t bl = strlen(base);
            if (pp && name && !strncmp(pp, base, bl) && (pp[bl] == '/' || !bl)) {
                const char *rest = pp + bl + (bl ? 1 : 0);
                size_t rl = strlen(rest), nl = strlen(name);
                if (rl >= nl && !strcmp(rest + rl - nl, name))
                    folder = xp_strndup(rest, rl - nl > 0 ? rl - nl - 1 : 0);
            }
            rc = add_file(r, f, folder, name, xp_json_str(ph, "checksum"),
                          xp_json_get(ph, "sizeBytes"), xp_json_str(ph, "contentType"));
            free(folder);
        }
        int more = n > 0 && json_object_get_boolean(xp_json_get(page, "hasMore"));
        json_object_put(d);
        d = NULL;
        if (!more)
            break;
    }
    free(base);
    json_object_put(vars);
    return rc;
}

int mld_file_next(struct mld_reader *r, int *have)
{
    *have = 0;
    if (!r->files) {
        int rc = list_files(r);
        if (rc)
            return xp_error_wrap(rc, "files of '%s'", r->name);
    }
    if (r->fi >= json_object_array_length(r->files))
        return 0;
    if (!r->tmpdir) {
        int trc = xp_tempdir(&r->tmpdir, "xport-mldash");
        if (trc)
            return trc;
    }
    struct json_object *f = json_object_array_get_idx(r->files, r->fi++);
    char *path = xp_path_join(r->tmpdir, "file");
    struct xp_http_request rq = {0};
    rq.url = xp_json_str(f, "url");
    rq.cred = r->m->cred;
    rq.out_path = path;
    rq.expect_sha256 = xp_json_str(f, "checksum");
    int64_t sz;
    if (!mld_int(f, "size", &sz)) {
        rq.expect_size = sz;
        rq.flags |= XP_HTTP_CHECK_SIZE;
    }
    struct xp_http_response resp = XP_HTTP_RESPONSE_INIT;
    int rc = xp_http_request(r->m->base.ctx->http, &rq, &resp);
    xp_http_response_release(&resp);
    if (rc) {
        free(path);
        return xp_error_wrap(rc, "file '%s' of '%s'", xp_json_str(f, "rel"), r->name);
    }
    xp_fd_stream_close(&r->stream);
    r->stream.fd = open(path, O_RDONLY | O_CLOEXEC);
    unlink(path); /* the open descriptor keeps the bytes; nothing to clean up */
    free(path);
    if (r->stream.fd < 0)
        return xp_error_set_os(XP_EIO, "cannot open a downloaded file");
    struct xp_file_meta *m = &r->rec.u.file.meta;
    memset(m, 0, sizeof(*m));
    m->path = xp_json_str(f, "rel");
    m->size = mld_int(f, "size", &sz) ? -1 : sz;
    m->sha256 = xp_json_str(f, "checksum");
    m->vendor_checksum_algo = m->sha256 ? "sha256" : NULL;
    m->vendor_checksum = m->sha256;
    m->content_type = xp_json_str(f, "contentType");
    m->id = xp_json_str(f, "id");
    m->metadata = xp_json_get(f, "metadata");
    m->artifact = xp_json_str(f, "artifact");
    r->rec.kind = XP_REC_FILE;
    r->rec.u.file.body = &r->stream.base;
    *have = 1;
    return 0;
}
