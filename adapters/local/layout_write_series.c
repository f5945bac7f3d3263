/* Writing a series into a staged experiment: its points (xport point lines,
 * or ml-dash's flat track rows) and, when it ends, its metadata.json and
 * its line in the items log. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "layout_write.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"
#include "xport/lines.h"

int lw_begin_series(struct layout_sink *s, const struct xp_series_meta *m)
{
    struct xp_buf enc = XP_BUF_INIT;
    int rc = xp_name_encode(&enc, m->name);
    if (rc) {
        xp_buf_release(&enc);
        return xp_error_wrap(rc, "series name");
    }
    struct xp_buf rel = XP_BUF_INIT;
    xp_buf_printf(&rel, "%s/%s", xp_series_dir(m->kind), enc.ptr);
    xp_buf_release(&enc);
    if (json_object_object_get_ex(s->series_seen, rel.ptr, NULL)) {
        rc = xp_error_set(XP_EINVALID, "series '%s' appears twice", m->name);
        xp_buf_release(&rel);
        return rc;
    }
    json_object_object_add(s->series_seen, rel.ptr, NULL);
    char *dir = lw_stage_path(s, rel.ptr);
    rc = xp_afile_open_in(&s->ser.data, dir, "data.jsonl");
    free(dir);
    if (!rc) {
        xp_sha256_init(&s->ser.sha);
        xp_afile_hash(&s->ser.data, &s->ser.sha);
    }
    if (rc) {
        xp_buf_release(&rel);
        return rc;
    }
    s->ser.dir = xp_buf_detach(&rel);
    s->ser.name = xp_strdup(m->name);
    s->ser.kind = m->kind;
    s->ser.description = xp_strdup(m->description);
    s->ser.metadata = m->metadata ? json_object_get(m->metadata) : NULL;
    s->ser.npoints = 0;
    s->ser.next_index = 0;
    s->ser.columns = m->kind == XP_SERIES_TRACK ? json_object_new_object() : NULL;
    s->ser.has_ts = 0;
    s->in_series = 1;
    return 0;
}

void lw_series_clear(struct open_series *o)
{
    free(o->dir);
    free(o->name);
    free(o->description);
    json_object_put(o->metadata);
    json_object_put(o->columns);
    memset(o, 0, sizeof(*o));
}

static int put_fields(struct xp_buf *b, const struct xp_point *p,
                      const char *series)
{
    int rc = xp_pointline_put_fields(b, p);
    return rc ? xp_error_wrap(rc, "series '%s' point %" PRId64, series, p->index) : 0;
}

int lw_put_points(struct layout_sink *s, const struct xp_point *v, size_t n)
{
    struct open_series *o = &s->ser;
    if (o->kind != XP_SERIES_TRACK)
        return xp_pointlines_write(&o->data, &s->line, v, n, o->name, NULL,
                                   &o->npoints, &o->next_index);
    /* ml-dash track rows are flat objects */
    struct xp_buf *b = &s->line;
    for (size_t i = 0; i < n; i++) {
        const struct xp_point *p = &v[i];
        xp_buf_putc(b, '{');
        int rc = put_fields(b, p, o->name);
        if (rc)
            return rc;
        xp_buf_puts(b, "}\n");
        for (size_t f = 0; f < p->nfields; f++) {
            const struct xp_field *fl = &p->fields[f];
            if (!strcmp(fl->key, "timestamp")) {
                double t = fl->v.type == XP_V_FLOAT ? fl->v.u.d
                           : fl->v.type == XP_V_INT ? (double)fl->v.u.i
                                                   : 0;
                if (!o->has_ts)
                    o->first_ts = t;
                o->last_ts = t;
                o->has_ts = 1;
            } else if (!json_object_object_get_ex(o->columns, fl->key, NULL)) {
                json_object_object_add(o->columns, fl->key, NULL);
            }
        }
        o->npoints++;
        if (p->index + 1 > o->next_index)
            o->next_index = p->index + 1;
        if (b->len >= (1u << 16))
            xp_afile_buf(&o->data, b);
    }
    xp_afile_buf(&o->data, b);
    return o->data.err;
}

int lw_end_series(struct layout_sink *s)
{
    struct open_series *o = &s->ser;
    int rc = xp_afile_commit(&o->data);
    if (rc) {
        lw_series_clear(o);
        s->in_series = 0;
        return rc;
    }
    struct json_object *md = json_object_new_object();
    struct xp_buf id = XP_BUF_INIT;
    if (o->kind == XP_SERIES_TRACK) {
        const char *slash = strrchr(o->dir, '/');
        xp_buf_printf(&id, "local-track-%s", slash + 1);
        json_object_object_add(md, "trackId", json_object_new_string(id.ptr));
        json_object_object_add(md, "topic", json_object_new_string(o->name));
        struct json_object *cols = json_object_new_array();
        json_object_object_foreach(o->columns, k, v) {
            (void)v;
            json_object_array_add(cols, json_object_new_string(k));
        }
        json_object_object_add(md, "columns", cols);
        json_object_object_add(md, "totalEntries", json_object_new_int64(o->npoints));
        json_object_object_add(md, "firstTimestamp",
                               o->has_ts ? json_object_new_double(o->first_ts) : NULL);
        json_object_object_add(md, "lastTimestamp",
                               o->has_ts ? json_object_new_double(o->last_ts) : NULL);
    } else {
        xp_buf_printf(&id, "local-metric-%s", o->name);
        json_object_object_add(md, "metricId", json_object_new_string(id.ptr));
        json_object_object_add(md, "name", json_object_new_string(o->name));
        lw_put_str_or_null(md, "description", o->description);
        json_object_object_add(md, "tags", json_object_new_array());
        json_object_object_add(md, "totalDataPoints", json_object_new_int64(o->npoints));
        json_object_object_add(md, "nextIndex", json_object_new_int64(o->next_index));
        json_object_object_add(md, "kind", json_object_new_string(
            o->kind == XP_SERIES_SYSTEM ? "system" : "metric"));
    }
    json_object_object_add(md, "metadata",
                           o->metadata ? json_object_get(o->metadata) : NULL);
    xp_buf_release(&id);
    struct xp_buf p = XP_BUF_INIT;
    xp_buf_printf(&p, "%s/%s/metadata.json", s->stage.dir, o->dir);
    rc = xp_json_write_file(p.ptr, md);
    if (!rc) {
        /* the item, with the files it is made of */
        struct xp_buf data = XP_BUF_INIT, meta = XP_BUF_INIT;
        xp_buf_printf(&data, "%s/data.jsonl", o->dir);
        xp_buf_printf(&meta, "%s/metadata.json", o->dir);
        unsigned char dig[32];
        char hex[65];
        xp_sha256_final(&o->sha, dig);
        xp_hex(hex, dig, 32);
        /* data.jsonl as hashed while written; metadata.json is small, read back */
        struct xp_stage_part parts[2] = {{data.ptr, o->data.bytes, hex},
                                         {meta.ptr, 0, NULL}};
        xp_buf_reset(&p);
        xp_buf_printf(&p, "%s/%s", xp_series_dir(o->kind), o->name);
        rc = xp_stage_item_done(&s->items, p.ptr, parts, 2, NULL);
        xp_buf_release(&data);
        xp_buf_release(&meta);
    }
    xp_buf_release(&p);
    json_object_put(md);
    lw_series_clear(o);
    s->in_series = 0;
    return rc;
}
