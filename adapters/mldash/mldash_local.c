/* The mldash-local adapter: writes the ml-dash v0.6 local store
 * (mldash.md 2.2), ROOT/owner/project/folders.../experiment/, so the
 * ml-dash SDK (and xport's local adapter) can open what xport copied.
 *
 * Checked against the SDK v0.6.27 itself (tests/mldash/check_sdk_store.py):
 * it finds everything at ROOT/<prefix> and a metric at metrics/<name>, so
 * names are written as they are wherever ml-dash could write them, and
 * "prefix" is exactly the experiment's path. A name that cannot be one safe
 * segment ('/', "..", a leading '.', ...) is encoded whole by
 * xp_name_encode, so nothing escapes ROOT; the real names stay in
 * experiment.json and metadata.json. An experiment is built in
 * ROOT/.xport/staging/<key>/ and moved into place with one rename after
 * every file is fsynced, like the xport layout writer, so the store only
 * ever holds complete experiments. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
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
#include "xport/lines.h"
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
    char *created_at, *updated_at; /* the source's, or NULL */
    struct json_object *metadata;
    struct json_object *columns; /* tracks: the set of column names */
    int64_t npoints, next_index;
    int has_ts;
    double min_ts, max_ts;
    struct json_object *min_v, *max_v; /* as the source wrote them */
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
    struct json_object *file_ids; /* ids used, so each is unique */
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
static int stage_json(struct lsink *s, const char *rel, struct json_object *o)
{
    char *p = xp_path_join(s->stage.dir, rel);
    int rc = xp_json_write_file(p, o);
    free(p);
    return rc;
}

/* Does s read like xp_name_encode's output for some other name? Such a
 * name is encoded itself, so the local reader decodes exactly the segments
 * it must (adapters/local/discover.c has the same test). */
static int looks_encoded(const char *s)
{
    if (!strchr(s, '%'))
        return 0;
    struct xp_buf d = XP_BUF_INIT, e = XP_BUF_INIT;
    int r = !xp_name_decode(&d, s) && strlen(d.ptr) == d.len &&
            !xp_name_encode(&e, d.ptr) && !strcmp(e.ptr, s);
    xp_error_clear();
    xp_buf_release(&d);
    xp_buf_release(&e);
    return r;
}

/* The SDK joins names into paths as they are (ROOT/<prefix>,
 * metrics/<name>, files/<path>), so a name is kept verbatim whenever
 * ml-dash could write it: one segment, not "." or "..", no leading '.'
 * (hidden; ".xport" is ours), no control characters, short enough. */
static int verbatim_ok(const char *s)
{
    if (!xp_segment_safe(s) || s[0] == '.' || strlen(s) > 200)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return !looks_encoded(s);
}

/* Append name as one segment ("/" first unless b is empty): verbatim if
 * it may be, else encoded whole. */
static int put_segment(struct xp_buf *b, const char *name, const char *what)
{
    if (b->len)
        xp_buf_putc(b, '/');
    if (verbatim_ok(name)) {
        xp_buf_puts(b, name);
        return 0;
    }
    struct xp_buf enc = XP_BUF_INIT;
    int rc = xp_name_encode(&enc, name);
    if (!rc)
        xp_buf_puts(b, enc.ptr);
    xp_buf_release(&enc);
    return rc ? xp_error_wrap(rc, "%s name", what) : 0;
}

/* metrics/<name>: the SDK writes "train/loss" as metrics/train/loss and
 * reads it there by name, so a '/'-separated name whose every segment may
 * be verbatim nests; any other is one encoded segment. */
static int put_metric_path(struct xp_buf *b, const char *name)
{
    int nested = *name != '\0';
    char *copy = xp_strdup(name);
    for (char *seg = copy, *end; nested && seg; seg = end ? end + 1 : NULL) {
        end = strchr(seg, '/');
        if (end)
            *end = '\0';
        nested = verbatim_ok(seg);
    }
    free(copy);
    if (!nested)
        return put_segment(b, name, "metric");
    xp_buf_putc(b, '/');
    xp_buf_puts(b, name);
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

/* 1 when the folder is what the prefix says (its segments joined by '/'):
 * otherwise (a v0.5 "/a/b", empty segments) experiment.json keeps it as
 * "folder" too, which ml-dash's readers ignore and the local adapter
 * prefers. */
static int folder_in_prefix(const char *f)
{
    if (!*f || *f == '/' || f[strlen(f) - 1] == '/')
        return 0;
    return strstr(f, "//") == NULL;
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
    if (m->folder && !folder_in_prefix(m->folder))
        json_object_object_add(o, "folder", json_object_new_string(m->folder));
    return o;
}

/* ---- documents ---- */

/* The source's time, else the copy's. */
static struct json_object *time_or_now(const struct lsink *s, const char *t)
{
    return json_object_new_string(t ? t : s->now);
}

static int put_doc(struct lsink *s, enum xp_doc_kind k, struct json_object *doc,
                   const char *created_at, const char *updated_at)
{
    if (k != XP_DOC_PARAMETERS) {
        xp_sink_drop(&s->base, s->ml->base.ctx, "%s: %s not written: an ml-dash store has no "
                    "place for it", s->name, k == XP_DOC_SUMMARY ? "summary" : "others");
        return 0;
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "version", json_object_new_int(1));
    json_object_object_add(o, "data", json_object_get(doc));
    json_object_object_add(o, "createdAt", time_or_now(s, created_at));
    json_object_object_add(o, "updatedAt", time_or_now(s, updated_at ? updated_at
                                                                     : created_at));
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
    free(o->created_at);
    free(o->updated_at);
    json_object_put(o->metadata);
    json_object_put(o->columns);
    json_object_put(o->min_v);
    json_object_put(o->max_v);
    memset(o, 0, sizeof(*o));
}

static int begin_series(struct lsink *s, const struct xp_series_meta *m,
                        const char *created_at, const char *updated_at)
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
        rc = put_metric_path(&rel, m->name);
    }
    if (!rc && json_object_object_get_ex(s->seen, rel.ptr, NULL))
        rc = xp_error_set(XP_EINVALID, "series '%s' appears twice (as '%s')", m->name,
                          rel.ptr);
    char *dir = rc ? NULL : xp_path_join(s->stage.dir, rel.ptr);
    if (!rc)
        rc = xp_afile_open_in(&s->ser.data, dir, "data.jsonl");
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
    s->ser.created_at = created_at ? xp_strdup(created_at) : NULL;
    s->ser.updated_at = updated_at ? xp_strdup(updated_at) : NULL;
    s->ser.metadata = m->metadata ? json_object_get(m->metadata) : NULL;
    s->ser.columns = m->kind == XP_SERIES_TRACK ? json_object_new_object() : NULL;
    s->in_series = 1;
    return 0;
}

static int put_fields(struct xp_buf *b, const struct xp_point *p, const char *series)
{
    int rc = xp_pointline_put_fields(b, p);
    return rc ? xp_error_wrap(rc, "series '%s' point %" PRId64, series, p->index) : 0;
}

/* A track's first and last timestamp are its smallest and largest, as
 * the SDK keeps them (its rows need not come sorted), in the JSON type the
 * source used. */
static void track_time(struct lseries *o, const struct xp_value *v)
{
    double t;
    if (v->type == XP_V_FLOAT && !isnan(v->u.d))
        t = v->u.d;
    else if (v->type == XP_V_INT)
        t = (double)v->u.i;
    else
        return;
    int lo = !o->has_ts || t < o->min_ts, hi = !o->has_ts || t > o->max_ts;
    o->has_ts = 1;
    if (!lo && !hi)
        return;
    struct json_object *j = v->type == XP_V_INT ? json_object_new_int64(v->u.i)
                                                : json_object_new_double(v->u.d);
    if (lo) {
        o->min_ts = t;
        json_object_put(o->min_v);
        o->min_v = json_object_get(j);
    }
    if (hi) {
        o->max_ts = t;
        json_object_put(o->max_v);
        o->max_v = json_object_get(j);
    }
    json_object_put(j);
}

static int put_points(struct lsink *s, const struct xp_point *v, size_t n)
{
    if (s->in_series < 0)
        return 0;
    struct lseries *o = &s->ser;
    if (o->kind != XP_SERIES_TRACK) /* the SDK's lines always have createdAt */
        return xp_pointlines_write(&o->data, &s->line, v, n, o->name, s->now,
                                   &o->npoints, &o->next_index);
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
            if (!strcmp(fl->key, "timestamp"))
                track_time(o, &fl->v);
            else if (!json_object_object_get_ex(o->columns, fl->key, NULL))
                json_object_object_add(o->columns, fl->key, NULL);
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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The SDK lists a track's columns sorted. */
static struct json_object *sorted_keys(struct json_object *set)
{
    size_t n = (size_t)json_object_object_length(set), i = 0;
    const char **v = xp_calloc(n ? n : 1, sizeof(*v));
    json_object_object_foreach(set, k, val) {
        (void)val;
        v[i++] = k;
    }
    qsort(v, n, sizeof(*v), cmp_str);
    struct json_object *a = json_object_new_array();
    for (i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
    free(v);
    return a;
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
    /* the ids the SDK makes: from the real name (the topic with '/' as
     * '_'), not from the folder */
    if (o->kind == XP_SERIES_TRACK) {
        xp_buf_printf(&id, "local-track-%s", o->name);
        for (char *p = id.ptr; *p; p++)
            if (*p == '/')
                *p = '_';
        json_object_object_add(md, "trackId", json_object_new_string(id.ptr));
        json_object_object_add(md, "topic", json_object_new_string(o->name));
        json_object_object_add(md, "columns", sorted_keys(o->columns));
        json_object_object_add(md, "totalEntries", json_object_new_int64(o->npoints));
        json_object_object_add(md, "firstTimestamp", json_object_get(o->min_v));
        json_object_object_add(md, "lastTimestamp", json_object_get(o->max_v));
        json_object_object_add(md, "createdAt", time_or_now(s, o->created_at));
    } else {
        xp_buf_printf(&id, "local-metric-%s", o->name);
        json_object_object_add(md, "metricId", json_object_new_string(id.ptr));
        json_object_object_add(md, "name", json_object_new_string(o->name));
        json_object_object_add(md, "description", str_or_null(o->description));
        json_object_object_add(md, "tags", json_object_new_array());
        json_object_object_add(md, "metadata",
                               o->metadata ? json_object_get(o->metadata) : NULL);
        json_object_object_add(md, "totalDataPoints", json_object_new_int64(o->npoints));
        json_object_object_add(md, "nextIndex", json_object_new_int64(o->next_index));
        json_object_object_add(md, "createdAt", time_or_now(s, o->created_at));
        json_object_object_add(md, "updatedAt", time_or_now(s, o->updated_at ? o->updated_at
                                                                   : o->created_at));
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
        rc = xp_afile_open_in(&s->logs, dir, "logs.jsonl");
        free(dir);
        if (rc)
            return rc;
        s->logs_open = 1;
    }
    /* a line without a timestamp or level stays so (the server writer
     * leaves them out too): the SDK's only reader of this file, upload,
     * needs just "message" and sends level "info" for a line without */
    return xp_loglines_write(&s->logs, &s->line, v, n, &s->next_seq);
}

/* ---- files ---- */

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
    case XP_REC_DOCUMENT:
        rc = put_doc(s, r->u.doc.kind, r->u.doc.doc, r->created_at,
                     r->updated_at);
        break;
    case XP_REC_SERIES_BEGIN: rc = begin_series(s, &r->u.series, r->created_at, r->updated_at); break;
    case XP_REC_POINTS: rc = put_points(s, r->u.points.v, r->u.points.n); break;
    case XP_REC_SERIES_END: rc = end_series(s); break;
    case XP_REC_LOGS: rc = put_logs(s, r->u.logs.v, r->u.logs.n); break;
    case XP_REC_FILE: rc = put_file(s, &r->u.file.meta, r->u.file.body); break;
    }
    return rc ? sink_fail(s, rc) : 0;
}

/* The SDK's upload finds experiments by globbing every experiment.json
 * below ROOT, dot folders included, so ROOT/.xport must never hold one: not
 * in staging, nor in the old copy xp_stage_publish moves aside there. The
 * marker is staged under a hidden name and given its own only once the
 * folder is in place (the old copy's is hidden before it is moved). Every
 * state an interruption can leave has at most the one marker in place, and
 * a folder without it is written again next time. */
#define HIDDEN_EXP ".experiment.json.xport"
#define HIDDEN_OLD ".experiment.json.xport-old"

static int rename_in(const char *dir, const char *from, const char *to)
{
    char *a = xp_path_join(dir, from), *b = xp_path_join(dir, to);
    int rc = rename(a, b) ? xp_error_set_os(XP_EIO, "cannot rename '%s'", a) : 0;
    free(a);
    free(b);
    return rc;
}

static int publish(struct lsink *s)
{
    char *old = xp_path_join(s->final_dir, "experiment.json");
    int hid = xp_is_file(old) && !rename_in(s->final_dir, "experiment.json", HIDDEN_OLD);
    free(old);
    int rc = xp_stage_publish(&s->stage);
    if (rc) {
        if (hid) /* the old copy is back in place: show it again */
            rename_in(s->final_dir, HIDDEN_OLD, "experiment.json");
        return rc;
    }
    rc = rename_in(s->final_dir, HIDDEN_EXP, "experiment.json");
    return rc ? rc : xp_fsync_dir(s->final_dir);
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
        rc = stage_json(s, HIDDEN_EXP, s->exp);
        if (!rc)
            rc = xp_fsync_dir(s->stage.dir);
        if (!rc)
            rc = publish(s);
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
    json_object_put(s->file_ids);
    json_object_put(s->seen);
    xp_buf_release(&s->line);
    free(s);
}

static const char *sink_dest_id(struct xp_sink *base)
{
    return ((struct lsink *)base)->prefix;
}

/* owner/project/folders.../experiment, each name one segment
 * (put_segment); this path is also "prefix", since the SDK reads and writes
 * everything of an experiment at ROOT/<prefix>. */
static int experiment_path(struct xp_buf *rel, const struct xp_experiment_meta *m)
{
    int rc = put_segment(rel, m->workspace, "workspace");
    if (!rc)
        rc = put_segment(rel, m->project, "project");
    if (!rc && m->folder) {
        char *f = xp_strdup(m->folder);
        char *save = NULL;
        for (char *seg = strtok_r(f, "/", &save); seg && !rc;
             seg = strtok_r(NULL, "/", &save))
            rc = put_segment(rel, seg, "folder");
        free(f);
    }
    if (!rc)
        rc = put_segment(rel, m->name, "experiment");
    return rc;
}

static int ml_write_experiment(struct xp_sink **out, struct xp_adapter *a,
                               const struct xp_experiment_meta *meta,
                               const struct xp_write_opts *wo)
{
    struct mlocal *ml = (struct mlocal *)a;
    *out = NULL;
    struct xp_buf rel = XP_BUF_INIT;
    int rc = experiment_path(&rel, meta);
    if (rc) {
        xp_buf_release(&rel);
        return xp_error_wrap(rc, "experiment '%s'", meta->name);
    }
    struct lsink *s = xp_calloc(1, sizeof(*s));
    s->base.version = XP_SINK_VERSION;
    s->base.put = sink_put;
    s->base.finish = sink_finish;
    s->base.free = sink_free;
    s->base.dest_id = sink_dest_id;
    s->ml = ml;
    s->final_dir = xp_path_join(ml->root, rel.ptr);
    s->prefix = xp_strdup(rel.ptr);
    s->name = xp_strdup(meta->name);
    xp_buf_init(&s->line);
    iso_now(s->now);
    struct xp_buf eid = XP_BUF_INIT;
    xp_buf_printf(&eid, "%s/%s", meta->project, s->prefix); /* as ml-dash 0.6 */
    s->files_exp_id = xp_buf_detach(&eid);
    s->files = json_object_new_array();
    s->file_ids = json_object_new_object();
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
    /* the SDK makes these three for every experiment */
    static const char *const sub[] = {"logs", "metrics", "files"};
    for (size_t i = 0; i < 3 && !rc; i++) {
        char *d = xp_path_join(s->stage.dir, sub[i]);
        rc = xp_mkdir_p(d);
        free(d);
    }
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
