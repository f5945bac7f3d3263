/* mldash-local's files: each stored under files/<path>/<id>/ with its
 * entry for .files_metadata.json, the ml-dash SDK's index of them. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "mldash_local.h"
#include "xport/error.h"
#include "xport/stream.h"

/* A file id: the source's when it is a safe segment, else a new one in
 * ml-dash's form (ms since the epoch << 12 | 12 random bits). The SDK finds
 * a file by its id alone (read_file), so no id is used twice here. */
static char *file_id(struct lsink *s, const struct xp_file_meta *m)
{
    char b[32];
    const char *id = m->id;
    if (!id || !xp_segment_safe(id) || strchr(id, '%') || id[0] == '.' ||
        json_object_object_get_ex(s->file_ids, id, NULL)) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        int64_t ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
        int64_t v = (ms << 12) | (int64_t)(rand() & 4095);
        do
            snprintf(b, sizeof(b), "%" PRId64, v++);
        while (json_object_object_get_ex(s->file_ids, b, NULL));
        id = b;
    }
    json_object_object_add(s->file_ids, id, NULL);
    return xp_strdup(id);
}

static struct json_object *entry_field(struct json_object *e, const char *k)
{
    struct json_object *v = NULL;
    if (e && json_object_object_get_ex(e, k, &v) && v)
        return json_object_get(v);
    return NULL;
}

int mlocal_put_file(struct lsink *s, const struct xp_file_meta *m, struct xp_stream *body)
{
    if (m->artifact) {
        xp_sink_drop(&s->base, s->ml->base.ctx, "%s: artifact file '%s' not written: an ml-dash "
                    "store has no artifacts", s->name, m->path);
        return 0;
    }
    if (!xp_relpath_safe(m->path))
        return xp_error_set(XP_EINVALID, "unsafe file path '%s'", m->path);
    const char *slash = strrchr(m->path, '/');
    const char *fname = slash ? slash + 1 : m->path;
    char *dirpart = slash ? xp_strndup(m->path, (size_t)(slash - m->path)) : xp_strdup("");
    char *id = file_id(s, m);
    struct xp_buf rel = XP_BUF_INIT;
    xp_buf_printf(&rel, "files/%s%s%s/%s", dirpart, *dirpart ? "/" : "", id, fname);
    char *dst = xp_path_join(s->stage.dir, rel.ptr);
    xp_buf_release(&rel);
    char hex[65];
    int64_t size = 0;
    int rc = xp_stream_store(body, dst, m, hex, &size, s->ml->base.ctx);
    free(dst);
    if (rc)
        goto out;
    /* An entry read from an ml-dash store arrives whole as the metadata:
     * keep its own fields; anything else's metadata is the metadata. */
    struct json_object *src = m->metadata && json_object_is_type(m->metadata,
                                                                 json_type_object)
                                  ? m->metadata : NULL;
    int from_mldash = src && json_object_object_get_ex(src, "filename", NULL) &&
                      json_object_object_get_ex(src, "checksum", NULL);
    struct json_object *e = json_object_new_object();
    json_object_object_add(e, "id", json_object_new_string(id));
    json_object_object_add(e, "experimentId", json_object_new_string(s->files_exp_id));
    /* "/models", "/" at the top: the form the SDK's Experiment API writes,
     * which files("models").list() and a later save of the same file
     * (replaced, not added twice) compare against */
    struct xp_buf sp = XP_BUF_INIT;
    xp_buf_printf(&sp, "/%s", dirpart);
    json_object_object_add(e, "path", json_object_new_string(sp.ptr));
    xp_buf_release(&sp);
    json_object_object_add(e, "filename", json_object_new_string(fname));
    struct json_object *v;
    json_object_object_add(e, "description",
                           from_mldash ? entry_field(src, "description") : NULL);
    v = from_mldash ? entry_field(src, "tags") : NULL;
    json_object_object_add(e, "tags", v ? v : json_object_new_array());
    v = from_mldash ? entry_field(src, "bindrs") : NULL;
    json_object_object_add(e, "bindrs", v ? v : json_object_new_array());
    json_object_object_add(e, "contentType",
                           json_object_new_string(m->content_type ? m->content_type
                                                  : "application/octet-stream"));
    json_object_object_add(e, "sizeBytes", json_object_new_int64(size));
    json_object_object_add(e, "checksum", json_object_new_string(hex));
    json_object_object_add(e, "metadata", from_mldash ? entry_field(src, "metadata")
                                          : src ? json_object_get(src) : NULL);
    v = from_mldash ? entry_field(src, "uploadedAt") : NULL;
    json_object_object_add(e, "uploadedAt", v ? v : json_object_new_string(s->now));
    v = from_mldash ? entry_field(src, "updatedAt") : NULL;
    json_object_object_add(e, "updatedAt", v ? v : json_object_new_string(s->now));
    json_object_object_add(e, "deletedAt", NULL);
    json_object_array_add(s->files, e);
out:
    free(dirpart);
    free(id);
    return rc;
}
