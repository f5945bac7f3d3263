/* The layout's JSONL lines (include/xport/lines.h). */
#include <inttypes.h>
#include <string.h>

#include "xport/error.h"
#include "xport/jscan.h"
#include "xport/json.h"
#include "xport/lines.h"

int xp_pointline_put_fields(struct xp_buf *b, const struct xp_point *p)
{
    for (size_t f = 0; f < p->nfields; f++) {
        const struct xp_field *fl = &p->fields[f];
        if (f)
            xp_buf_putc(b, ',');
        int rc = xp_json_put_str(b, fl->key, strlen(fl->key), "field name");
        if (rc)
            return rc;
        xp_buf_putc(b, ':');
        if ((rc = xp_json_put_value(b, &fl->v, fl->key)))
            return rc;
    }
    return 0;
}

int xp_pointline_put(struct xp_buf *b, const struct xp_point *p)
{
    xp_buf_puts(b, "{\"index\":");
    xp_json_put_int(b, p->index);
    xp_buf_puts(b, ",\"data\":{");
    int rc = xp_pointline_put_fields(b, p);
    xp_buf_putc(b, '}');
    if (!rc && p->created_at) {
        xp_buf_puts(b, ",\"createdAt\":");
        rc = xp_json_put_str(b, p->created_at, strlen(p->created_at), "createdAt");
    }
    xp_buf_puts(b, "}\n");
    return rc;
}

int xp_pointline_scan(char *line, size_t len, struct xp_point *p,
                      struct xp_field *fields, size_t max, size_t *nf)
{
    struct xp_field top[8];
    size_t ntop;
    if (xp_jscan_object(line, len, top, 8, &ntop))
        return -1;
    const struct xp_value *data = NULL;
    int have_index = 0;
    p->created_at = NULL;
    for (size_t i = 0; i < ntop; i++) {
        if (!strcmp(top[i].key, "index") && top[i].v.type == XP_V_INT) {
            p->index = top[i].v.u.i;
            have_index = 1;
        } else if (!strcmp(top[i].key, "data") && top[i].v.type == XP_V_JSON &&
                   top[i].v.u.s.ptr[0] == '{') {
            data = &top[i].v;
        } else if (!strcmp(top[i].key, "createdAt") && top[i].v.type == XP_V_STRING) {
            p->created_at = top[i].v.u.s.ptr;
        } else {
            return -1; /* unusual: json-c handles it */
        }
    }
    if (!data || !have_index)
        return -1;
    if (xp_jscan_object((char *)data->u.s.ptr, data->u.s.len, fields, max, nf))
        return -1;
    p->fields = fields;
    p->nfields = *nf;
    return 0;
}

int xp_logline_put(struct xp_buf *b, const struct xp_log_entry *e)
{
    int rc = 0;
    xp_buf_puts(b, "{\"sequenceNumber\":");
    xp_json_put_int(b, e->seq);
    if (e->timestamp) {
        xp_buf_puts(b, ",\"timestamp\":");
        rc = xp_json_put_str(b, e->timestamp, strlen(e->timestamp), "log timestamp");
    }
    if (!rc && e->level) {
        xp_buf_puts(b, ",\"level\":");
        rc = xp_json_put_str(b, e->level, strlen(e->level), "log level");
    }
    if (!rc && e->stream) {
        xp_buf_puts(b, ",\"stream\":");
        rc = xp_json_put_str(b, e->stream, strlen(e->stream), "log stream");
    }
    if (!rc) {
        xp_buf_puts(b, ",\"message\":");
        rc = xp_json_put_str(b, e->message ? e->message : "",
                             e->message ? e->message_len : 0, "log message");
    }
    if (!rc && e->metadata) {
        xp_buf_puts(b, ",\"metadata\":");
        rc = xp_json_put_obj(b, e->metadata, 0);
    }
    xp_buf_puts(b, "}\n");
    return rc;
}

int xp_pointlines_write(struct xp_afile *f, struct xp_buf *b, const struct xp_point *v,
                        size_t n, const char *series, const char *created_at,
                        int64_t *count, int64_t *next)
{
    for (size_t i = 0; i < n; i++) {
        struct xp_point q = v[i];
        if (!q.created_at)
            q.created_at = created_at;
        size_t at = b->len;
        int rc = xp_pointline_put(b, &q);
        if (rc) {
            xp_buf_setlen(b, at); /* no half line: the file is abandoned */
            return xp_error_wrap(rc, "series '%s' point %" PRId64, series, q.index);
        }
        (*count)++;
        if (q.index + 1 > *next)
            *next = q.index + 1;
        if (b->len >= (1u << 16))
            xp_afile_buf(f, b);
    }
    xp_afile_buf(f, b);
    return f->err;
}

int xp_loglines_write(struct xp_afile *f, struct xp_buf *b, const struct xp_log_entry *v,
                      size_t n, int64_t *next)
{
    for (size_t i = 0; i < n; i++) {
        size_t at = b->len;
        int rc = xp_logline_put(b, &v[i]);
        if (rc) {
            xp_buf_setlen(b, at);
            return xp_error_wrap(rc, "log line %" PRId64, v[i].seq);
        }
        if (next && v[i].seq + 1 > *next)
            *next = v[i].seq + 1;
        if (b->len >= (1u << 16))
            xp_afile_buf(f, b);
    }
    xp_afile_buf(f, b);
    return f->err;
}
