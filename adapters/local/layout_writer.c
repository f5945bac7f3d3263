/* Writing the xport layout (schemas/README.md).
 *
 * An experiment is written into ROOT/.xport/staging/<key>/ and moved into
 * place by one rename when the sink commits, so the tree only ever holds
 * complete experiments; a killed run leaves only staging debris, which the
 * next run for the same experiment removes. Every file is fsynced before
 * the rename and directories after it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "local.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/json.h"
#include "xport/lines.h"
#include "xport/stage.h"
#include "xport/stream.h"

struct open_series {
    struct xp_afile data;
    char *dir;       /* staging-relative directory */
    char *name;
    enum xp_series_kind kind;
    char *description;
    struct json_object *metadata;
    int64_t npoints;
    int64_t next_index;
    struct json_object *columns; /* tracks: column names seen, in order */
    int has_ts;
    double first_ts, last_ts;
};

struct layout_sink {
    struct xp_sink base;
    struct local_adapter *la;
    int err;
    char *final_dir;   /* ROOT/ws/proj/exp */
    struct xp_stage stage; /* ROOT/.xport/staging/<key> */
    struct json_object *exp; /* experiment.json being built */
    struct open_series ser;
    int in_series;
    struct json_object *series_seen; /* encoded dir names used */
    struct xp_afile logs;
    int logs_open;
    struct xp_stage_items items; /* which items in staging are complete */
    int resume;
    char *dest_rel;             /* final dir relative to the root */
    struct xp_buf line;
    unsigned resources;
};

#define ITEMS_FILE XP_STAGE_ITEMS

static int sink_fail(struct layout_sink *s, int rc)
{
    if (!s->err)
        s->err = rc ? rc : XP_ERROR;
    return s->err;
}

static char *stage_path(struct layout_sink *s, const char *rel)
{
    return xp_path_join(s->stage.dir, rel);
}

int local_experiment_relpath(struct xp_buf *out, const char *ws,
                             const char *proj, const char *name)
{
    struct xp_buf e = XP_BUF_INIT;
    const char *parts[3] = {ws, proj, name};
    const char *what[3] = {"workspace", "project", "experiment"};
    xp_buf_reset(out);
    for (int i = 0; i < 3; i++) {
        if (!parts[i]) {
            xp_buf_release(&e);
            return xp_error_set(XP_EINVALID, "experiment has no %s name",
                                what[i]);
        }
        int rc = xp_name_encode(&e, parts[i]);
        if (rc) {
            xp_buf_release(&e);
            return xp_error_wrap(rc, "%s name", what[i]);
        }
        if (i)
            xp_buf_putc(out, '/');
        xp_buf_put(out, e.ptr, e.len);
    }
    xp_buf_release(&e);
    return 0;
}

/* ---- JSON building helpers ---- */

static void put_str_or_null(struct json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static struct json_object *build_experiment_json(const struct xp_experiment_meta *m)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(m->name));
    json_object_object_add(o, "project", json_object_new_string(m->project));
    json_object_object_add(o, "workspace", json_object_new_string(m->workspace));
    put_str_or_null(o, "description", m->description);
    struct json_object *tags = json_object_new_array();
    for (size_t i = 0; i < m->ntags; i++)
        json_object_array_add(tags, json_object_new_string(m->tags[i]));
    json_object_object_add(o, "tags", tags);
    put_str_or_null(o, "status", m->status);
    put_str_or_null(o, "folder", m->folder);
    json_object_object_add(o, "metadata",
                           m->metadata ? json_object_get(m->metadata) : NULL);
    put_str_or_null(o, "created_at", m->created_at);
    put_str_or_null(o, "startedAt", m->started_at);
    put_str_or_null(o, "endedAt", m->ended_at);
    struct json_object *src = json_object_new_object();
    put_str_or_null(src, "vendor", m->source_vendor);
    put_str_or_null(src, "id", m->source_id);
    put_str_or_null(src, "url", m->source_url);
    json_object_object_add(src, "fields",
                           m->vendor ? json_object_get(m->vendor) : NULL);
    json_object_object_add(o, "source", src);
    struct json_object *x = json_object_new_object();
    json_object_object_add(x, "format", json_object_new_string(XP_LAYOUT_FORMAT));
    json_object_object_add(x, "version", json_object_new_int(XP_LAYOUT_VERSION));
    json_object_object_add(o, "xport", x);
    return o;
}

/* Serialise o (pretty enough: one object per file) and write atomically. */
/* ---- root and placement ---- */

static int ensure_root(struct local_adapter *la)
{
    char *marker = xp_path_join(la->root, "xport.json");
    int rc = 0;
    if (xp_is_file(marker))
        goto done;
    if (xp_is_dir(la->root)) {
        char **names;
        size_t n;
        rc = xp_list_dir(&names, &n, la->root);
        if (rc)
            goto done;
        /* .xport alone (a journal written first) still counts as empty */
        size_t others = 0;
        for (size_t i = 0; i < n; i++)
            others += strcmp(names[i], ".xport") != 0;
        xp_strv_free(names);
        if (others) {
            rc = xp_error_set(XP_EINVALID,
                              "'%s' is not empty and not an xport layout "
                              "(no xport.json); refusing to write into it",
                              la->root);
            goto done;
        }
    } else if ((rc = xp_mkdir_p(la->root))) {
        goto done;
    }
    {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "format", json_object_new_string(XP_LAYOUT_FORMAT));
        json_object_object_add(o, "version", json_object_new_int(XP_LAYOUT_VERSION));
        rc = xp_json_write_file(marker, o);
        json_object_put(o);
    }
done:
    free(marker);
    return rc;
}

/* Same experiment = same source vendor and id (or no id on either side). */
static int same_source(const char *dir, const struct xp_experiment_meta *m)
{
    char *p = xp_path_join(dir, "experiment.json");
    struct json_object *o = NULL;
    int same = 0;
    if (!xp_json_read_file(&o, p)) {
        struct json_object *src = NULL;
        json_object_object_get_ex(o, "source", &src);
        const char *v = xp_json_str(src, "vendor"), *id = xp_json_str(src, "id");
        if (!m->source_id && !id)
            same = 1;
        else if (m->source_id && id && !strcmp(m->source_id, id) &&
                 (!m->source_vendor || !v || !strcmp(m->source_vendor, v)))
            same = 1;
    } else {
        xp_error_clear();
    }
    json_object_put(o);
    free(p);
    return same;
}

/* Decide ROOT/ws/proj/<dir>: the encoded name, or name~<source id> when a
 * different experiment with the same name is already there. */
static int place_experiment(char **final_out, struct local_adapter *la,
                            const struct xp_experiment_meta *m)
{
    struct xp_buf rel = XP_BUF_INIT, e = XP_BUF_INIT;
    int rc = local_experiment_relpath(&rel, m->workspace, m->project, m->name);
    if (rc)
        goto done;
    char *dir = xp_path_join(la->root, rel.ptr);
    struct json_object *owner = NULL;
    int claimed = json_object_object_get_ex(la->claimed, dir, &owner);
    const char *owner_id = owner ? json_object_get_string(owner) : NULL;
    int other_claim = claimed && !(m->source_id && owner_id &&
                                   !strcmp(owner_id, m->source_id));
    if (((xp_is_dir(dir) && !same_source(dir, m)) || other_claim) &&
        m->source_id) {
        free(dir);
        struct xp_buf alt = XP_BUF_INIT;
        xp_buf_printf(&alt, "%s~%s", m->name, m->source_id);
        rc = local_experiment_relpath(&rel, m->workspace, m->project, alt.ptr);
        xp_buf_release(&alt);
        if (rc)
            goto done;
        dir = xp_path_join(la->root, rel.ptr);
    }
    *final_out = dir;
done:
    xp_buf_release(&rel);
    xp_buf_release(&e);
    return rc;
}

/* Remove temp files an interrupted attempt left in staging. */
static void remove_temps(const char *dir)
{
    char **names;
    size_t n;
    if (xp_list_dir(&names, &n, dir)) {
        xp_error_clear();
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *p = xp_path_join(dir, names[i]);
        if (strstr(names[i], ".xport-tmp-"))
            unlink(p);
        else if (xp_is_dir(p))
            remove_temps(p);
        free(p);
    }
    xp_strv_free(names);
}

/* files.jsonl from the items log, in the order the files completed. */
static int write_manifest(struct layout_sink *s)
{
    char *p = xp_path_join(s->stage.dir, ITEMS_FILE);
    FILE *in = fopen(p, "rb");
    free(p);
    if (!in)
        return 0;
    struct xp_afile out;
    int rc = 0, any = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    struct xp_buf b = XP_BUF_INIT;
    while ((n = getline(&line, &cap, in)) > 0) {
        struct json_object *o = NULL, *m;
        if (xp_json_parse(&o, line, (size_t)n, "items log")) {
            xp_error_clear();
            continue;
        }
        if (json_object_object_get_ex(o, "manifest", &m)) {
            if (!any) {
                char *mf = xp_path_join(s->stage.dir, "files.jsonl");
                rc = xp_afile_open(&out, mf);
                free(mf);
                if (rc) {
                    json_object_put(o);
                    break;
                }
                any = 1;
            }
            rc = xp_json_put_obj(&b, m, 0);
            xp_buf_putc(&b, '\n');
            xp_afile_buf(&out, &b);
        }
        json_object_put(o);
        if (rc)
            break;
    }
    free(line);
    fclose(in);
    xp_buf_release(&b);
    if (any)
        rc = rc ? (xp_afile_abort(&out), rc) : xp_afile_commit(&out);
    return rc;
}

/* ---- records ---- */

static int begin_series(struct layout_sink *s, const struct xp_series_meta *m)
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
    char *dir = stage_path(s, rel.ptr);
    rc = xp_afile_open_in(&s->ser.data, dir, "data.jsonl");
    free(dir);
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

static void series_clear(struct open_series *o)
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

static int put_points(struct layout_sink *s, const struct xp_point *v, size_t n)
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

static int end_series(struct layout_sink *s)
{
    struct open_series *o = &s->ser;
    int rc = xp_afile_commit(&o->data);
    if (rc) {
        series_clear(o);
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
        put_str_or_null(md, "description", o->description);
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
        struct xp_stage_part parts[2] = {{data.ptr, 0, NULL}, {meta.ptr, 0, NULL}};
        xp_buf_reset(&p);
        xp_buf_printf(&p, "%s/%s", xp_series_dir(o->kind), o->name);
        rc = xp_stage_item_done(&s->items, p.ptr, parts, 2, NULL);
        xp_buf_release(&data);
        xp_buf_release(&meta);
    }
    xp_buf_release(&p);
    json_object_put(md);
    series_clear(o);
    s->in_series = 0;
    return rc;
}

static int put_logs(struct layout_sink *s, const struct xp_log_entry *v, size_t n)
{
    int rc = 0;
    if (!s->logs_open) {
        char *dir = stage_path(s, "logs");
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

static int put_file(struct layout_sink *s, const struct xp_file_meta *m,
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
    char *dst = stage_path(s, rel.ptr);
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

static int doc_file(struct layout_sink *s, enum xp_doc_kind k,
                    struct json_object *doc)
{
    const char *name = k == XP_DOC_PARAMETERS ? "parameters.json"
                       : k == XP_DOC_SUMMARY  ? "summary.json"
                                              : "others.json";
    char *p = stage_path(s, name);
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

static int sink_put(struct xp_sink *base, const struct xp_record *r)
{
    struct layout_sink *s = (struct layout_sink *)base;
    if (s->err)
        return s->err;
    int rc = 0;
    switch (r->kind) {
    case XP_REC_EXPERIMENT:
    case XP_REC_END:
        break;
    case XP_REC_DOCUMENT: rc = doc_file(s, r->u.doc.kind, r->u.doc.doc); break;
    case XP_REC_SERIES_BEGIN: rc = begin_series(s, &r->u.series); break;
    case XP_REC_POINTS: rc = put_points(s, r->u.points.v, r->u.points.n); break;
    case XP_REC_SERIES_END: rc = end_series(s); break;
    case XP_REC_LOGS: rc = put_logs(s, r->u.logs.v, r->u.logs.n); break;
    case XP_REC_FILE: rc = put_file(s, &r->u.file.meta, r->u.file.body); break;
    }
    return rc ? sink_fail(s, rc) : 0;
}

static int sink_finish(struct xp_sink *base, int commit)
{
    struct layout_sink *s = (struct layout_sink *)base;
    if (s->in_series) {
        xp_afile_abort(&s->ser.data);
        series_clear(&s->ser);
        s->in_series = 0;
        if (commit)
            sink_fail(s, xp_error_set(XP_EINVALID, "series left open"));
    }
    int rc = s->err;
    if (s->logs_open) {
        if (commit && !rc)
            rc = xp_afile_commit(&s->logs);
        else
            xp_afile_abort(&s->logs);
        s->logs_open = 0;
    }
    if (commit && !rc) {
        rc = write_manifest(s);
        char *items = stage_path(s, ITEMS_FILE);
        if (!rc && unlink(items) != 0 && errno != ENOENT)
            rc = xp_error_set_os(XP_EIO, "cannot remove '%s'", items);
        free(items);
    }
    if (commit && !rc) {
        /* experiment.json last: its presence marks a complete experiment */
        char *p = stage_path(s, "experiment.json");
        rc = xp_json_write_file(p, s->exp);
        free(p);
        if (!rc)
            rc = xp_fsync_dir(s->stage.dir);
        if (!rc)
            rc = xp_stage_publish(&s->stage);
    }
    if (!commit || rc) {
        int keep = s->err;
        /* with resume, complete items stay for the next attempt */
        if (!s->resume)
            xp_rm_rf(s->stage.dir);
        if (keep)
            rc = keep;
    }
    return commit ? rc : 0;
}

static int sink_has_item(struct xp_sink *base, const char *key)
{
    struct layout_sink *s = (struct layout_sink *)base;
    return xp_stage_item_has(&s->items, key);
}

static const char *sink_dest_id(struct xp_sink *base)
{
    return ((struct layout_sink *)base)->dest_rel;
}

static void sink_free(struct xp_sink *base)
{
    struct layout_sink *s = (struct layout_sink *)base;
    if (!s)
        return;
    if (s->in_series) {
        xp_afile_abort(&s->ser.data);
        series_clear(&s->ser);
    }
    if (s->logs_open)
        xp_afile_abort(&s->logs);
    xp_stage_items_close(&s->items);
    free(s->dest_rel);
    if (s->final_dir) {
        pthread_mutex_lock(&s->la->lock);
        json_object_object_del(s->la->claimed, s->final_dir);
        pthread_mutex_unlock(&s->la->lock);
    }
    free(s->final_dir);
    xp_stage_release(&s->stage, 0);
    json_object_put(s->exp);
    json_object_put(s->series_seen);
    xp_buf_release(&s->line);
    free(s);
}

int local_write_experiment(struct xp_sink **out, struct xp_adapter *a,
                           const struct xp_experiment_meta *meta,
                           const struct xp_write_opts *wo)
{
    struct local_adapter *la = (struct local_adapter *)a;
    *out = NULL;
    if (la->flavor != LOCAL_XPORT)
        return xp_error_set(XP_ENOTSUP,
                            "'%s' is an ml-dash store; xport writes only the "
                            "xport layout there", la->root);
    char *final_dir = NULL;
    pthread_mutex_lock(&la->lock);
    /* under the lock: parallel writers must not race to create the root */
    int rc = ensure_root(la);
    if (!rc)
        rc = place_experiment(&final_dir, la, meta);
    if (!rc && json_object_object_get_ex(la->claimed, final_dir, NULL))
        rc = xp_error_set(XP_EEXISTS, "experiment '%s' is being written twice",
                          final_dir);
    if (!rc)
        json_object_object_add(la->claimed, final_dir,
                               meta->source_id ? json_object_new_string(meta->source_id)
                                               : NULL);
    pthread_mutex_unlock(&la->lock);
    if (rc) {
        free(final_dir);
        return rc == XP_EEXISTS ? XP_EINVALID : rc;
    }
    char *done_marker = xp_path_join(final_dir, "experiment.json");
    int exists = xp_is_file(done_marker);
    free(done_marker);
    if (exists && !wo->overwrite) {
        pthread_mutex_lock(&la->lock);
        json_object_object_del(la->claimed, final_dir);
        pthread_mutex_unlock(&la->lock);
        free(final_dir);
        return XP_EEXISTS;
    }
    struct layout_sink *s = xp_calloc(1, sizeof(*s));
    s->base.put = sink_put;
    s->base.finish = sink_finish;
    s->base.free = sink_free;
    s->la = la;
    s->final_dir = final_dir;
    s->resources = wo->resources;
    xp_buf_init(&s->line);
    s->series_seen = json_object_new_object();
    s->items.fd = -1;
    s->resume = wo->resume;
    s->dest_rel = xp_strdup(final_dir + strlen(la->root) +
                            (final_dir[strlen(la->root)] == '/'));
    s->base.has_item = sink_has_item;
    s->base.dest_id = sink_dest_id;
    /* with resume, an interrupted attempt's staging folder is reused */
    rc = xp_stage_open(&s->stage, la->root, final_dir, s->resume);
    if (!rc && s->resume)
        remove_temps(s->stage.dir);
    /* with resume, only items still there as the log records them count */
    if (!rc)
        rc = xp_stage_items_open(&s->items, &s->stage, s->resume);
    if (rc) {
        sink_free(&s->base);
        return rc;
    }
    s->exp = build_experiment_json(meta);
    *out = &s->base;
    return 0;
}
