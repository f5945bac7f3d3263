/* The mldash-local adapter: writes the ml-dash v0.6 local store
 * (mldash.md 2.2), ROOT/owner/project/folders.../experiment/, so the
 * ml-dash SDK (and xport's local adapter) can open what xport copied.
 *
 * Every name from the source becomes one path segment through
 * xp_name_encode, so nothing escapes ROOT; the real names are kept in
 * experiment.json ("name", "prefix") and metadata.json, which readers
 * trust. An experiment is built in ROOT/.xport/staging/<key>/ (a dot
 * folder, which ml-dash and the local reader never list) and moved into
 * place with one rename after every file is fsynced, like the xport layout
 * writer, so the store only ever holds complete experiments. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/json.h"
#include "xport/stage.h"
#include "xport/stream.h"
#include "xport/sys/adapter.h"

struct mlocal {
    struct xp_adapter base;
    char *root;
};

struct lseries {
    struct xp_afile data;
    char *dir; /* staging-relative */
    char *name;
    enum xp_series_kind kind;
    char *description;
    struct json_object *metadata;
    struct json_object *columns; /* tracks: column names in order */
    int64_t npoints, next_index;
    int has_ts;
    double first_ts, last_ts;
};

struct lsink {
    struct xp_sink base;
    struct mlocal *ml;
    int err;
    char *final_dir;
    struct xp_stage stage; /* ROOT/.xport/staging/<key> */
    char *name, *prefix, *files_exp_id;
    char now[40];
    struct json_object *exp;   /* experiment.json */
    struct json_object *files; /* .files_metadata.json "files" */
    struct json_object *seen;  /* series directories used */
    struct lseries ser;
    int in_series;
    struct xp_afile logs;
    int logs_open;
    int64_t next_seq;
    struct xp_buf line;
};

static int sink_fail(struct lsink *s, int rc)
{
    if (!s->err)
        s->err = rc ? rc : XP_ERROR;
    return s->err;
}

/* ISO-8601 UTC with microseconds and Z, as ml-dash writes its times. */
static void iso_now(char out[40])
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%06ldZ", (long)tv.tv_usec);
}

static struct json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

/* One line of JSON plus a newline, written atomically. */
static int write_json_file(const char *path, struct json_object *o)
{
    struct xp_buf b = XP_BUF_INIT;
    int rc = xp_json_put_obj(&b, o, 0);
    if (!rc) {
        xp_buf_putc(&b, '\n');
        rc = xp_write_file_atomic(path, b.ptr, b.len);
    }
    xp_buf_release(&b);
    return rc;
}

static int stage_json(struct lsink *s, const char *rel, struct json_object *o)
{
    char *p = xp_path_join(s->stage.dir, rel);
    int rc = write_json_file(p, o);
    free(p);
    return rc;
}

/* Append name as one encoded segment ("/" first unless b is empty). */
static int put_segment(struct xp_buf *b, const char *name, const char *what)
{
    struct xp_buf enc = XP_BUF_INIT;
    int rc = xp_name_encode(&enc, name);
    if (rc) {
        xp_buf_release(&enc);
        return xp_error_wrap(rc, "%s name", what);
    }
    if (b->len)
        xp_buf_putc(b, '/');
    xp_buf_puts(b, enc.ptr);
    xp_buf_release(&enc);
    return 0;
}

/* ---- experiment.json ---- */

static struct json_object *vendor_field(const struct xp_experiment_meta *m,
                                        const char *key)
{
    struct json_object *v = NULL;
    if (m->vendor && json_object_is_type(m->vendor, json_type_object) &&
        json_object_object_get_ex(m->vendor, key, &v) && v)
        return json_object_get(v);
    return NULL;
}

static struct json_object *build_experiment(struct lsink *s,
                                            const struct xp_experiment_meta *m)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(m->name));
    json_object_object_add(o, "project", json_object_new_string(m->project));
    json_object_object_add(o, "description", str_or_null(m->description));
    struct json_object *tags = json_object_new_array();
    for (size_t i = 0; i < m->ntags; i++)
        json_object_array_add(tags, json_object_new_string(m->tags[i]));
    json_object_object_add(o, "tags", tags);
    struct json_object *b = vendor_field(m, "bindrs");
    json_object_object_add(o, "bindrs", b ? b : json_object_new_array());
    json_object_object_add(o, "prefix", json_object_new_string(s->prefix));
    json_object_object_add(o, "metadata",
                           m->metadata ? json_object_get(m->metadata) : NULL);
    json_object_object_add(o, "created_at",
                           json_object_new_string(m->created_at ? m->created_at : s->now));
    struct json_object *wp = vendor_field(m, "write_protected");
    json_object_object_add(o, "write_protected", wp ? wp : json_object_new_boolean(0));
    /* not in a fresh SDK store, but ml-dash has these and its readers
     * ignore keys they do not use: keep them rather than lose them */
    if (m->status)
        json_object_object_add(o, "status", json_object_new_string(m->status));
    if (m->started_at)
        json_object_object_add(o, "started_at", json_object_new_string(m->started_at));
    if (m->ended_at)
        json_object_object_add(o, "ended_at", json_object_new_string(m->ended_at));
    return o;
}

/* ---- documents ---- */

static int put_doc(struct lsink *s, enum xp_doc_kind k, struct json_object *doc)
{
    if (k != XP_DOC_PARAMETERS) {
        xp_sink_drop(&s->base, s->ml->base.ctx, "%s: %s not written: an ml-dash store has no "
                    "place for it", s->name, k == XP_DOC_SUMMARY ? "summary" : "others");
        return 0;
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "version", json_object_new_int(1));
    json_object_object_add(o, "data", json_object_get(doc));
    json_object_object_add(o, "createdAt", json_object_new_string(s->now));
    json_object_object_add(o, "updatedAt", json_object_new_string(s->now));
    int rc = stage_json(s, "parameters.json", o);
    json_object_put(o);
    return rc;
}

/* ---- series ---- */

static void series_clear(struct lseries *o)
{
    free(o->dir);
    free(o->name);
    free(o->description);
    json_object_put(o->metadata);
    json_object_put(o->columns);
    memset(o, 0, sizeof(*o));
}

static int begin_series(struct lsink *s, const struct xp_series_meta *m)
{
    if (m->kind == XP_SERIES_SYSTEM) {
        /* ml-dash has no system metrics; as metrics they would come back as
         * something else */
        xp_sink_drop(&s->base, s->ml->base.ctx, "%s: system series '%s' not written: an ml-dash "
                    "store has no system metrics", s->name, m->name);
        s->in_series = -1;
        return 0;
    }
    struct xp_buf rel = XP_BUF_INIT;
    int rc;
    if (m->kind == XP_SERIES_TRACK) {
        /* ml-dash names a track's folder by its topic with '/' as '_' */
        char *t = xp_strdup(m->name);
        for (char *p = t; *p; p++)
            if (*p == '/')
                *p = '_';
        xp_buf_puts(&rel, "tracks");
        rc = put_segment(&rel, t, "track");
        free(t);
    } else {
        xp_buf_puts(&rel, "metrics");
        rc = put_segment(&rel, m->name, "metric");
    }
    if (!rc && json_object_object_get_ex(s->seen, rel.ptr, NULL))
        rc = xp_error_set(XP_EINVALID, "series '%s' appears twice (as '%s')", m->name,
                          rel.ptr);
    char *dir = rc ? NULL : xp_path_join(s->stage.dir, rel.ptr);
    if (!rc)
        rc = xp_mkdir_p(dir);
    if (!rc) {
        char *p = xp_path_join(dir, "data.jsonl");
        rc = xp_afile_open(&s->ser.data, p);
        free(p);
    }
    free(dir);
    if (rc) {
        xp_buf_release(&rel);
        return rc;
    }
    json_object_object_add(s->seen, rel.ptr, NULL);
    s->ser.dir = xp_buf_detach(&rel);
    s->ser.name = xp_strdup(m->name);
    s->ser.kind = m->kind;
    s->ser.description = m->description ? xp_strdup(m->description) : NULL;
    s->ser.metadata = m->metadata ? json_object_get(m->metadata) : NULL;
    s->ser.columns = m->kind == XP_SERIES_TRACK ? json_object_new_object() : NULL;
    s->in_series = 1;
    return 0;
}

static int put_fields(struct xp_buf *b, const struct xp_point *p, const char *series)
{
    for (size_t f = 0; f < p->nfields; f++) {
        if (f)
            xp_buf_putc(b, ',');
        int rc = xp_json_put_str(b, p->fields[f].key, strlen(p->fields[f].key),
                                 "field name");
        if (!rc) {
            xp_buf_putc(b, ':');
            rc = xp_json_put_value(b, &p->fields[f].v, "value");
        }
        if (rc)
            return xp_error_wrap(rc, "series '%s' point %" PRId64, series, p->index);
    }
    return 0;
}

static int put_points(struct lsink *s, const struct xp_point *v, size_t n)
{
    if (s->in_series < 0)
        return 0;
    struct lseries *o = &s->ser;
    struct xp_buf *b = &s->line;
    for (size_t i = 0; i < n; i++) {
        const struct xp_point *p = &v[i];
        int rc;
        if (o->kind == XP_SERIES_TRACK) {
            xp_buf_putc(b, '{');
            rc = put_fields(b, p, o->name);
            xp_buf_puts(b, "}\n");
            for (size_t f = 0; f < p->nfields; f++) {
                const struct xp_field *fl = &p->fields[f];
                if (!strcmp(fl->key, "timestamp")) {
                    double t = fl->v.type == XP_V_FLOAT ? fl->v.u.d
                               : fl->v.type == XP_V_INT ? (double)fl->v.u.i : 0;
                    if (!o->has_ts)
                        o->first_ts = t;
                    o->last_ts = t;
                    o->has_ts = 1;
                } else if (!json_object_object_get_ex(o->columns, fl->key, NULL)) {
                    json_object_object_add(o->columns, fl->key, NULL);
                }
            }
        } else {
            xp_buf_puts(b, "{\"index\":");
            xp_json_put_int(b, p->index);
            xp_buf_puts(b, ",\"data\":{");
            rc = put_fields(b, p, o->name);
            xp_buf_puts(b, "},\"createdAt\":");
            const char *c = p->created_at ? p->created_at : s->now;
            if (!rc)
                rc = xp_json_put_str(b, c, strlen(c), "createdAt");
            xp_buf_puts(b, "}\n");
        }
        if (rc)
            return rc;
        o->npoints++;
        if (p->index + 1 > o->next_index)
            o->next_index = p->index + 1;
        if (b->len >= (1u << 16))
            xp_afile_buf(&o->data, b);
    }
    xp_afile_buf(&o->data, b);
    return o->data.err;
}

static int end_series(struct lsink *s)
{
    if (s->in_series < 0) {
        s->in_series = 0;
        return 0;
    }
    struct lseries *o = &s->ser;
    int rc = xp_afile_commit(&o->data);
    struct json_object *md = json_object_new_object();
    struct xp_buf id = XP_BUF_INIT;
    const char *leaf = strchr(o->dir, '/') + 1;
    if (o->kind == XP_SERIES_TRACK) {
        xp_buf_printf(&id, "local-track-%s", leaf);
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
        json_object_object_add(md, "createdAt", json_object_new_string(s->now));
    } else {
        xp_buf_printf(&id, "local-metric-%s", leaf);
        json_object_object_add(md, "metricId", json_object_new_string(id.ptr));
        json_object_object_add(md, "name", json_object_new_string(o->name));
        json_object_object_add(md, "description", str_or_null(o->description));
        json_object_object_add(md, "tags", json_object_new_array());
        json_object_object_add(md, "metadata",
                               o->metadata ? json_object_get(o->metadata) : NULL);
        json_object_object_add(md, "totalDataPoints", json_object_new_int64(o->npoints));
        json_object_object_add(md, "nextIndex", json_object_new_int64(o->next_index));
        json_object_object_add(md, "createdAt", json_object_new_string(s->now));
        json_object_object_add(md, "updatedAt", json_object_new_string(s->now));
    }
    xp_buf_release(&id);
    if (!rc) {
        struct xp_buf p = XP_BUF_INIT;
        xp_buf_printf(&p, "%s/metadata.json", o->dir);
        rc = stage_json(s, p.ptr, md);
        xp_buf_release(&p);
    }
    json_object_put(md);
    series_clear(o);
    s->in_series = 0;
    return rc;
}

/* ---- logs ---- */

static int put_logs(struct lsink *s, const struct xp_log_entry *v, size_t n)
{
    int rc = 0;
    if (!s->logs_open) {
        char *dir = xp_path_join(s->stage.dir, "logs");
        rc = xp_mkdir_p(dir);
        if (!rc) {
            char *f = xp_path_join(dir, "logs.jsonl");
            rc = xp_afile_open(&s->logs, f);
            free(f);
        }
        free(dir);
        if (rc)
            return rc;
        s->logs_open = 1;
    }
    struct xp_buf *b = &s->line;
    for (size_t i = 0; i < n && !rc; i++) {
        const struct xp_log_entry *e = &v[i];
        /* ml-dash wants a timestamp and a level on every line */
        const char *ts = e->timestamp ? e->timestamp : s->now;
        const char *lv = e->level ? e->level : "info";
        xp_buf_puts(b, "{\"sequenceNumber\":");
        xp_json_put_int(b, e->seq);
        xp_buf_puts(b, ",\"timestamp\":");
        rc = xp_json_put_str(b, ts, strlen(ts), "log timestamp");
        xp_buf_puts(b, ",\"level\":");
        if (!rc)
            rc = xp_json_put_str(b, lv, strlen(lv), "log level");
        if (!rc && e->stream) {
            xp_buf_puts(b, ",\"stream\":");
            rc = xp_json_put_str(b, e->stream, strlen(e->stream), "log stream");
        }
        xp_buf_puts(b, ",\"message\":");
        if (!rc)
            rc = xp_json_put_str(b, e->message ? e->message : "",
                                 e->message ? e->message_len : 0, "log message");
        if (!rc && e->metadata) {
            xp_buf_puts(b, ",\"metadata\":");
            rc = xp_json_put_obj(b, e->metadata, 0);
        }
        xp_buf_puts(b, "}\n");
        if (rc)
            rc = xp_error_wrap(rc, "log line %" PRId64, e->seq);
        if (e->seq + 1 > s->next_seq)
            s->next_seq = e->seq + 1;
    }
    xp_afile_buf(&s->logs, b);
    return rc ? rc : s->logs.err;
}

/* ---- files ---- */

/* A file id that is one safe segment: the source's, else a new one in
 * ml-dash's form (ms since the epoch << 12 | 12 random bits). */
static char *file_id(const struct xp_file_meta *m)
{
    if (m->id && xp_segment_safe(m->id) && !strchr(m->id, '%'))
        return xp_strdup(m->id);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    int64_t ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    char b[32];
    snprintf(b, sizeof(b), "%" PRId64, (ms << 12) | (int64_t)(rand() & 4095));
    return xp_strdup(b);
}

static struct json_object *entry_field(struct json_object *e, const char *k)
{
    struct json_object *v = NULL;
    if (e && json_object_object_get_ex(e, k, &v) && v)
        return json_object_get(v);
    return NULL;
}

static int put_file(struct lsink *s, const struct xp_file_meta *m, struct xp_stream *body)
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
    char *id = file_id(m);
    struct xp_buf rel = XP_BUF_INIT;
    xp_buf_printf(&rel, "files/%s%s%s/%s", dirpart, *dirpart ? "/" : "", id, fname);
    char *dst = xp_path_join(s->stage.dir, rel.ptr);
    xp_buf_release(&rel);
    char *cut = strrchr(dst, '/');
    *cut = '\0';
    int rc = xp_mkdir_p(dst);
    *cut = '/';
    struct xp_afile f;
    if (!rc)
        rc = xp_afile_open(&f, dst);
    free(dst);
    if (rc)
        goto out;
    struct xp_sha256 h;
    xp_sha256_init(&h);
    int64_t size = 0;
    rc = xp_stream_pump(body, &f, &h, &size, s->ml->base.ctx);
    unsigned char d[32];
    char hex[65];
    xp_sha256_final(&h, d);
    xp_hex(hex, d, 32);
    if (!rc && m->size >= 0 && m->size != size)
        rc = xp_error_set(XP_EINVALID, "file '%s' has %" PRId64 " bytes, the source "
                          "said %" PRId64, m->path, size, m->size);
    if (!rc && m->sha256 && strcasecmp(m->sha256, hex))
        rc = xp_error_set(XP_EINVALID, "file '%s' has sha256 %s, the source said %s",
                          m->path, hex, m->sha256);
    if (rc) {
        xp_afile_abort(&f);
        goto out;
    }
    if ((rc = xp_afile_commit(&f)))
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
    json_object_object_add(e, "path", json_object_new_string(dirpart));
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

static int sink_put(struct xp_sink *base, const struct xp_record *r)
{
    struct lsink *s = (struct lsink *)base;
    if (s->err)
        return s->err;
    int rc = 0;
    switch (r->kind) {
    case XP_REC_EXPERIMENT:
    case XP_REC_END:
        break;
    case XP_REC_DOCUMENT: rc = put_doc(s, r->u.doc.kind, r->u.doc.doc); break;
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
    struct lsink *s = (struct lsink *)base;
    if (s->in_series) {
        if (s->in_series > 0)
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
        if (commit && !rc) {
            char b[32];
            int n = snprintf(b, sizeof(b), "%" PRId64, s->next_seq);
            char *p = xp_path_join(s->stage.dir, "logs/.log_sequence");
            rc = xp_write_file_atomic(p, b, (size_t)n);
            free(p);
        }
    }
    if (commit && !rc && json_object_array_length(s->files) > 0) {
        char *dir = xp_path_join(s->stage.dir, "files");
        rc = xp_mkdir_p(dir);
        free(dir);
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "files", json_object_get(s->files));
        if (!rc)
            rc = stage_json(s, "files/.files_metadata.json", o);
        json_object_put(o);
    }
    if (commit && !rc) {
        /* experiment.json last: its presence marks a complete experiment */
        rc = stage_json(s, "experiment.json", s->exp);
        if (!rc)
            rc = xp_fsync_dir(s->stage.dir);
        if (!rc)
            rc = xp_stage_publish(&s->stage);
    }
    if (!commit || rc) {
        xp_rm_rf(s->stage.dir);
        if (s->err)
            rc = s->err;
    }
    return commit ? rc : 0;
}

static void sink_free(struct xp_sink *base)
{
    struct lsink *s = (struct lsink *)base;
    if (!s)
        return;
    if (s->in_series > 0)
        xp_afile_abort(&s->ser.data);
    series_clear(&s->ser);
    if (s->logs_open)
        xp_afile_abort(&s->logs);
    free(s->final_dir);
    xp_stage_release(&s->stage, 0);
    free(s->name);
    free(s->prefix);
    free(s->files_exp_id);
    json_object_put(s->exp);
    json_object_put(s->files);
    json_object_put(s->seen);
    xp_buf_release(&s->line);
    free(s);
}

static const char *sink_dest_id(struct xp_sink *base)
{
    return ((struct lsink *)base)->prefix;
}

/* Append one name to "prefix": as it is, unless it holds a '/', which would
 * shift every later segment for a reader that splits prefix (the local
 * adapter takes the folder from between project and experiment); such a
 * name goes in encoded, as on disk. */
static void prefix_put(struct xp_buf *prefix, const char *name)
{
    if (prefix->len)
        xp_buf_putc(prefix, '/');
    if (!strchr(name, '/')) {
        xp_buf_puts(prefix, name);
        return;
    }
    struct xp_buf enc = XP_BUF_INIT;
    xp_name_encode(&enc, name); /* valid UTF-8: put_segment checked it */
    xp_buf_puts(prefix, enc.ptr);
    xp_buf_release(&enc);
}

/* owner/project/folders.../experiment: the names for "prefix" (what
 * ml-dash writes) and the encoded ones for the directory. */
static int experiment_paths(struct xp_buf *prefix, struct xp_buf *rel,
                            const struct xp_experiment_meta *m)
{
    int rc = put_segment(rel, m->workspace, "workspace");
    if (!rc)
        rc = put_segment(rel, m->project, "project");
    if (!rc)
        rc = put_segment(rel, m->name, "experiment");
    if (rc)
        return rc;
    xp_buf_reset(rel);
    put_segment(rel, m->workspace, "workspace");
    put_segment(rel, m->project, "project");
    prefix_put(prefix, m->workspace);
    prefix_put(prefix, m->project);
    if (m->folder) {
        char *f = xp_strdup(m->folder);
        char *save = NULL;
        for (char *seg = strtok_r(f, "/", &save); seg && !rc;
             seg = strtok_r(NULL, "/", &save)) {
            rc = put_segment(rel, seg, "folder");
            prefix_put(prefix, seg);
        }
        free(f);
    }
    if (!rc)
        rc = put_segment(rel, m->name, "experiment");
    prefix_put(prefix, m->name);
    return rc;
}

static int ml_write_experiment(struct xp_sink **out, struct xp_adapter *a,
                               const struct xp_experiment_meta *meta,
                               const struct xp_write_opts *wo)
{
    struct mlocal *ml = (struct mlocal *)a;
    *out = NULL;
    struct xp_buf prefix = XP_BUF_INIT, rel = XP_BUF_INIT;
    int rc = experiment_paths(&prefix, &rel, meta);
    if (rc) {
        xp_buf_release(&prefix);
        xp_buf_release(&rel);
        return xp_error_wrap(rc, "experiment '%s'", meta->name);
    }
    struct lsink *s = xp_calloc(1, sizeof(*s));
    s->base.put = sink_put;
    s->base.finish = sink_finish;
    s->base.free = sink_free;
    s->base.dest_id = sink_dest_id;
    s->ml = ml;
    s->final_dir = xp_path_join(ml->root, rel.ptr);
    s->prefix = xp_buf_detach(&prefix);
    s->name = xp_strdup(meta->name);
    xp_buf_init(&s->line);
    iso_now(s->now);
    struct xp_buf eid = XP_BUF_INIT;
    xp_buf_printf(&eid, "%s/%s", meta->project, s->prefix); /* as ml-dash 0.6 */
    s->files_exp_id = xp_buf_detach(&eid);
    s->files = json_object_new_array();
    s->seen = json_object_new_object();
    char *marker = xp_path_join(s->final_dir, "experiment.json");
    int exists = xp_is_file(marker);
    free(marker);
    if (exists && !wo->overwrite) {
        xp_buf_release(&rel);
        sink_free(&s->base);
        return XP_EEXISTS;
    }
    xp_buf_release(&rel);
    rc = xp_stage_open(&s->stage, ml->root, s->final_dir, 0);
    if (rc) {
        sink_free(&s->base);
        return rc;
    }
    s->exp = build_experiment(s, meta);
    *out = &s->base;
    return 0;
}

static int ml_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                   const struct xp_location *loc, const struct xp_options *opts,
                   struct xp_ctx *ctx)
{
    (void)opts;
    *out = NULL;
    if (!loc->path || !*loc->path)
        return xp_error_set(XP_EINVALID, "mldash-local needs a folder: "
                                         "mldash-local:PATH");
    struct mlocal *ml = xp_calloc(1, sizeof(*ml));
    ml->base.type = type;
    ml->base.ctx = ctx;
    ml->root = xp_strdup(loc->path);
    size_t n = strlen(ml->root);
    while (n > 1 && ml->root[n - 1] == '/')
        ml->root[--n] = '\0';
    *out = &ml->base;
    return 0;
}

static void ml_close(struct xp_adapter *a)
{
    struct mlocal *ml = (struct mlocal *)a;
    if (!ml)
        return;
    free(ml->root);
    free(ml);
}

const struct xp_adapter_type xp_mldash_local_adapter = {
    .abi = XP_ADAPTER_ABI,
    .name = "mldash-local",
    .summary = "ml-dash v0.6 local stores (.dash/owner/project/...) (write; read them "
               "with the local adapter)",
    .caps = XP_CAP_WRITE | XP_CAP_NO_NETWORK,
    .open = ml_open,
    .close = ml_close,
    .write_experiment = ml_write_experiment,
};
