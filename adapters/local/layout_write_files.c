/* Writing the other records into a staged experiment: log lines, stored
 * files (each stored atomically and checked, then entered in the items
 * log with its manifest line) and the parameter, summary and other
 * documents. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "layout_write.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"
#include "xport/lines.h"
#include "xport/stream.h"

int lw_put_logs(struct layout_sink *s, const struct xp_log_entry *v, size_t n)
{
    int rc = 0;
    if (!s->logs_open) {
        char *dir = lw_stage_path(s, "logs");
        rc = xp_afile_open_in(&s->logs, dir, "logs.jsonl");
        free(dir);
        if (rc)
            return rc;
        s->logs_open = 1;
    }
    return xp_loglines_write(&s->logs, &s->line, v, n, NULL);
}

/* The item key of a file, as xp_item_key gives it for its record. */
static void file_item_key(struct xp_buf *key, const struct xp_file_meta *m)
{
    struct xp_record r = {.kind = XP_REC_FILE};
    r.u.file.meta = *m;
    xp_item_key(key, &r);
}

int lw_put_file(struct layout_sink *s, const struct xp_file_meta *m,
                    struct xp_stream *body)
{
    if (!xp_relpath_safe(m->path))
        return xp_error_set(XP_EINVALID, "unsafe file path '%s'", m->path);
    struct xp_buf rel = XP_BUF_INIT;
    if (m->artifact) {
        struct xp_buf enc = XP_BUF_INIT;
        int erc = xp_name_encode(&enc, m->artifact);
        if (erc) {
            xp_buf_release(&enc);
            xp_buf_release(&rel);
            return xp_error_wrap(erc, "artifact name");
        }
        xp_buf_printf(&rel, "artifacts/%s/%s", enc.ptr, m->path);
        xp_buf_release(&enc);
    } else {
        xp_buf_printf(&rel, "files/%s", m->path);
    }
    char *dst = lw_stage_path(s, rel.ptr);
    int rc = 0;
    struct xp_buf key = XP_BUF_INIT;
    file_item_key(&key, m);
    int dup = xp_stage_item_has(&s->items, key.ptr);
    xp_buf_release(&key);
    if (dup) {
        rc = xp_error_set(XP_EINVALID, "file '%s' appears twice", m->path);
        free(dst);
        xp_buf_release(&rel);
        return rc;
    }
    char hex[65];
    int64_t size = 0;
    rc = xp_stream_store(body, dst, m, hex, &size, s->la->base.ctx);
    free(dst);
    if (rc) {
        xp_buf_release(&rel);
        return rc;
    }
    struct xp_buf *b = &s->line;
    xp_buf_reset(b);
    xp_buf_puts(b, "{\"path\":");
    rc = xp_json_put_str(b, m->path, strlen(m->path), "file path");
    if (!rc && m->artifact) {
        xp_buf_puts(b, ",\"artifact\":");
        rc = xp_json_put_str(b, m->artifact, strlen(m->artifact), "artifact");
    }
    xp_buf_printf(b, ",\"size\":%" PRId64 ",\"sha256\":\"%s\"", size, hex);
    if (!rc && m->vendor_checksum) {
        xp_buf_puts(b, ",\"vendorChecksum\":{\"algo\":");
        const char *algo = m->vendor_checksum_algo ? m->vendor_checksum_algo : "unknown";
        rc = xp_json_put_str(b, algo, strlen(algo), "checksum algorithm");
        xp_buf_puts(b, ",\"value\":");
        if (!rc)
            rc = xp_json_put_str(b, m->vendor_checksum, strlen(m->vendor_checksum),
                                 "checksum");
        xp_buf_putc(b, '}');
    }
    if (!rc && m->content_type) {
        xp_buf_puts(b, ",\"contentType\":");
        rc = xp_json_put_str(b, m->content_type, strlen(m->content_type), "content type");
    }
    if (!rc && m->id) {
        xp_buf_puts(b, ",\"id\":");
        rc = xp_json_put_str(b, m->id, strlen(m->id), "file id");
    }
    if (!rc && m->metadata) {
        xp_buf_puts(b, ",\"metadata\":");
        rc = xp_json_put_obj(b, m->metadata, 0);
    }
    xp_buf_puts(b, "}");
    if (!rc) {
        struct xp_buf ikey = XP_BUF_INIT;
        struct xp_stage_part part = {rel.ptr, size, hex};
        file_item_key(&ikey, m);
        rc = xp_stage_item_done(&s->items, ikey.ptr, &part, 1, b->ptr);
        xp_buf_release(&ikey);
    }
    xp_buf_release(&rel);
    xp_buf_reset(b);
    return rc;
}

int lw_doc_file(struct layout_sink *s, enum xp_doc_kind k,
                    struct json_object *doc)
{
    const char *name = k == XP_DOC_PARAMETERS ? "parameters.json"
                       : k == XP_DOC_SUMMARY  ? "summary.json"
                                              : "others.json";
    char *p = lw_stage_path(s, name);
    int rc;
    if (k == XP_DOC_PARAMETERS) {
        /* ml-dash's versioned form, so its tools read it as is */
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "version", json_object_new_int(1));
        json_object_object_add(o, "data", json_object_get(doc));
        rc = xp_json_write_file(p, o);
        json_object_put(o);
    } else {
        rc = xp_json_write_file(p, doc);
    }
    free(p);
    return rc;
}
