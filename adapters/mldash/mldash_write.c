/* Writing to an ml-dash server.
 *
 * The sink validates every record as it arrives and spools it (xp_spool:
 * bounded memory, the rest on disk; files go to a private temporary
 * directory), and sends nothing before finish(commit): that is what lets
 * --strict send nothing when anything is invalid, and what lets the
 * documented order hold whatever order the reader yields (experiment,
 * parameters, logs, metrics several at once, files, status last).
 *
 * Exactly once: appends are not idempotent on the server, so they are sent
 * with XP_HTTP_NO_RETRY, and before each metric or the logs we read how
 * many items the server already holds (stats totalDataPoints, the logs
 * total) and send only the rest; after a failed append the count is read
 * again and only what did not land is resent. Items of one series are sent
 * strictly in order, so the server always holds a prefix of the source. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "mldash.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/json.h"
#include "xport/typemark.h"
#include "xport/stream.h"
#include "xport/spool.h"

#define MAX_TRIES 6

struct wseries {
    char *name;       /* as ml-dash names the metric (mldash.h) */
    char *head;       /* ,"description":..,"metadata":.. for append-batch,
                       * made when the series is complete */
    char *src_name;   /* the source's name, for a system series or track */
    char *description;
    enum xp_series_kind kind;
    struct json_object *metadata; /* the source's, or NULL */
    struct xp_tmcols *cols;       /* the points' types (xport/typemark.h) */
    size_t sid; /* spool stream */
    int64_t count;
};

struct wfile {
    char *tmp, *rel, *sha256, *ctype;
    int64_t size;
    struct json_object *metadata;
};

struct mld_sink {
    struct xp_sink base;
    struct mld *m;
    int err;
    char *project, *name, *description, *status, *folder;
    char **tags;
    size_t ntags;
    struct json_object *metadata, *params, *summary, *others;
    struct json_object *param_marks; /* types kept apart (mldash.h) */
    struct json_object *log_runs;    /* [[count, extra], ...] per log line */
    struct xp_buf log_last;          /* the last run's extra as text */
    int log_extra;                   /* a run has an extra */
    int mentions; /* a source key reads like an in-object marker's */
    struct xp_spool *spool;
    size_t logs_sid;
    int64_t nlogs, log_line;
    struct wseries *ser;
    size_t nser;
    int in_series, skip_series;
    int64_t point_line;
    struct wfile *files;
    size_t nfiles;
    char *tmpdir;
    int64_t invalid;
    struct xp_buf line;
    /* set while sending */
    char *exp_id, *node_id;
};

static int sink_fail(struct mld_sink *s, int rc)
{
    if (!s->err)
        s->err = rc ? rc : XP_ERROR;
    return s->err;
}

/* A bad item: lenient mode skips it with a warning naming where it was;
 * strict mode counts it, and finish refuses to send anything. */
static void invalid(struct mld_sink *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void invalid(struct mld_sink *s, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    s->invalid++;
    xp_sink_drop(&s->base, s->m->base.ctx, "%s: %s%s", s->name, msg,
                 s->m->strict ? "" : " (skipped)");
    xp_error_clear();
}

/* ---- receiving records ---- */

static int is_iso(const char *t)
{
    return strlen(t) >= 10 && t[4] == '-' && t[7] == '-' && t[0] >= '0' && t[0] <= '9';
}

static int is_level(const char *l)
{
    static const char *const lv[] = {"info", "warn", "error", "debug", "fatal", NULL};
    for (const char *const *p = lv; *p; p++)
        if (!strcmp(*p, l))
            return 1;
    return 0;
}

/* A shallow copy of metadata (or a new object) with the extras x under
 * key (mldash.h); x also says when the source had no metadata, so that the
 * reader can give back none rather than an empty object. */
static struct json_object *carry(struct json_object *md, const char *key,
                                 struct json_object *x)
{
    if (!md)
        json_object_object_add(x, "nometa", json_object_new_boolean(1));
    struct json_object *c = json_object_new_object();
    if (md) {
        json_object_object_foreach(md, k, mv) json_object_object_add(c, k, json_object_get(mv));
    }
    json_object_object_add(c, key, x);
    return c;
}

/* Metadata md as sent, the types it and others carry (MLD_TYPES_KEY)
 * added: types holds what else needs marks, and gets md's own marks and a
 * member of md that has the key's name. need: write the types even when
 * nothing needs a mark. Takes md and types. */
static struct json_object *with_types(struct json_object *md, struct json_object *marks,
                                      struct json_object *types, int need)
{
    if (marks)
        json_object_object_add(types, "metadata", marks);
    struct json_object *own = xp_json_get(md, MLD_TYPES_KEY);
    if (own) {
        json_object_object_add(types, "own", json_object_get(own));
        json_object_object_del(md, MLD_TYPES_KEY);
    }
    if (!need && json_object_object_length(types) == 0) {
        json_object_put(types);
        return md;
    }
    if (!md) {
        md = json_object_new_object();
        json_object_object_add(types, "nometa", json_object_new_boolean(1));
    }
    json_object_object_add(md, MLD_TYPES_KEY, types);
    return md;
}

/* Experiment metadata as sent: the source's, plus the summary and others
 * documents, which ml-dash has no place for (their values marked in the
 * first form: they are xport's own member), plus the exact types of the
 * metadata, the parameters and the log lines. */
static struct json_object *exp_metadata(struct mld_sink *s)
{
    struct json_object *marks = NULL;
    struct json_object *md = s->metadata ? xp_typemark_tree_split(s->metadata, &marks)
                                         : NULL;
    if (s->summary || s->others) {
        struct json_object *d = json_object_new_object();
        if (s->summary)
            json_object_object_add(d, "summary", json_object_get(s->summary));
        if (s->others)
            json_object_object_add(d, "others", json_object_get(s->others));
        struct json_object *e = xp_typemark_tree_encode(d);
        json_object_put(d);
        struct json_object *c = carry(md, MLD_DOCS_KEY, e);
        json_object_put(md);
        md = c;
    }
    struct json_object *types = json_object_new_object();
    if (s->param_marks)
        json_object_object_add(types, "parameters", json_object_get(s->param_marks));
    if (s->log_extra)
        json_object_object_add(types, "logs", json_object_get(s->log_runs));
    int need = s->mentions || (s->metadata &&
                                xp_typemark_tree_mentions(s->metadata, XP_TYPEMARK_KEY));
    return with_types(md, marks, types, need);
}

/* Log metadata as sent (plain); *extra gets what the line carries apart
 * (mldash.h, MLD_TYPES_KEY "logs"): its stream, which of timestamp and
 * level the source lacked (the server would fill them in), the types of
 * its metadata; NULL when none. */
static struct json_object *log_metadata(const struct xp_log_entry *e,
                                        struct json_object **extra)
{
    struct json_object *marks = NULL;
    struct json_object *md = e->metadata ? xp_typemark_tree_split(e->metadata, &marks)
                                         : NULL;
    *extra = NULL;
    if (!e->stream && e->timestamp && e->level && !marks)
        return md;
    struct json_object *x = json_object_new_object();
    if (e->stream)
        json_object_object_add(x, "stream", json_object_new_string(e->stream));
    if (!e->timestamp || !e->level) {
        struct json_object *a = json_object_new_array();
        if (!e->timestamp)
            json_object_array_add(a, json_object_new_string("timestamp"));
        if (!e->level)
            json_object_array_add(a, json_object_new_string("level"));
        json_object_object_add(x, "absent", a);
    }
    if (marks)
        json_object_object_add(x, "types", marks);
    *extra = x;
    return md;
}

/* One more log line sent with extra (or none): the runs grow. */
static void log_run(struct mld_sink *s, struct json_object *extra)
{
    const char *t = extra ? json_object_to_json_string_ext(extra, JSON_C_TO_STRING_PLAIN)
                          : "null";
    size_t n = json_object_array_length(s->log_runs);
    struct json_object *last = n ? json_object_array_get_idx(s->log_runs, n - 1) : NULL;
    if (last && s->log_last.len == strlen(t) && !memcmp(s->log_last.ptr, t, s->log_last.len)) {
        int64_t k = json_object_get_int64(json_object_array_get_idx(last, 0));
        json_object_array_put_idx(last, 0, json_object_new_int64(k + 1));
        return;
    }
    xp_buf_reset(&s->log_last);
    xp_buf_puts(&s->log_last, t);
    struct json_object *run = json_object_new_array();
    json_object_array_add(run, json_object_new_int64(1));
    json_object_array_add(run, json_object_get(extra));
    json_object_array_add(s->log_runs, run);
    s->log_extra |= extra != NULL;
}

static int put_logs(struct mld_sink *s, const struct xp_log_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct xp_log_entry *e = &v[i];
        s->log_line++;
        if (!e->message) {
            invalid(s, "logs/logs.jsonl line %" PRId64 " has no message", s->log_line);
            continue;
        }
        if (e->level && !is_level(e->level)) {
            invalid(s, "logs/logs.jsonl line %" PRId64 " has level '%s' (ml-dash "
                    "knows info warn error debug fatal)", s->log_line, e->level);
            continue;
        }
        if (e->timestamp && !is_iso(e->timestamp)) {
            invalid(s, "logs/logs.jsonl line %" PRId64 " has a timestamp that is not "
                    "ISO-8601", s->log_line);
            continue;
        }
        struct xp_buf *b = &s->line;
        xp_buf_reset(b);
        xp_buf_puts(b, "{\"message\":");
        int rc = xp_json_put_str(b, e->message, e->message_len, "log message");
        if (!rc && e->timestamp) {
            xp_buf_puts(b, ",\"timestamp\":");
            rc = xp_json_put_str(b, e->timestamp, strlen(e->timestamp), "timestamp");
        }
        if (!rc && e->level)
            xp_buf_printf(b, ",\"level\":\"%s\"", e->level);
        struct json_object *extra;
        struct json_object *md = log_metadata(e, &extra);
        if (!rc && md) {
            xp_buf_puts(b, ",\"metadata\":");
            rc = xp_json_put_obj(b, md, 0);
        }
        json_object_put(md);
        xp_buf_putc(b, '}');
        if (rc) {
            json_object_put(extra);
            invalid(s, "logs/logs.jsonl line %" PRId64 ": %s", s->log_line,
                    xp_error_last()->message);
            continue;
        }
        if ((rc = xp_spool_put(s->spool, s->logs_sid, b->ptr, b->len))) {
            json_object_put(extra);
            return rc;
        }
        log_run(s, extra);
        json_object_put(extra);
        s->mentions |= e->metadata && xp_typemark_tree_mentions(e->metadata, XP_TYPEMARK_KEY);
        s->nlogs++;
    }
    return 0;
}

/* The members that create the metric with its description and metadata;
 * a system series or track says what it was (mldash.h), and the types of
 * its points and metadata go along (MLD_TYPES_KEY). */
static char *series_head(const struct wseries *w)
{
    struct json_object *marks = NULL;
    struct json_object *md = w->metadata ? xp_typemark_tree_split(w->metadata, &marks)
                                         : NULL;
    if (w->kind != XP_SERIES_METRIC) {
        struct json_object *x = json_object_new_object();
        json_object_object_add(x, "kind", json_object_new_string(
                                              w->kind == XP_SERIES_TRACK ? "track" : "system"));
        json_object_object_add(x, "name", json_object_new_string(w->src_name));
        struct json_object *c = carry(md, MLD_SERIES_KEY, x);
        json_object_put(md);
        md = c;
    }
    struct json_object *types = json_object_new_object();
    struct json_object *pm = xp_tmcols_marks(w->cols);
    if (pm)
        json_object_object_add(types, "points", pm);
    md = with_types(md, marks, types,
                    w->metadata && xp_typemark_tree_mentions(w->metadata, XP_TYPEMARK_KEY));
    struct xp_buf h = XP_BUF_INIT;
    int rc = 0;
    if (w->description) {
        xp_buf_puts(&h, ",\"description\":");
        rc = xp_json_put_str(&h, w->description, strlen(w->description), "description");
    }
    if (!rc && md) {
        xp_buf_puts(&h, ",\"metadata\":");
        rc = xp_json_put_obj(&h, md, 0);
    }
    json_object_put(md);
    if (rc) {
        xp_buf_release(&h);
        return NULL;
    }
    return xp_buf_detach(&h);
}

static void free_series(struct wseries *w)
{
    free(w->name);
    free(w->head);
    free(w->src_name);
    free(w->description);
    json_object_put(w->metadata);
    xp_tmcols_free(w->cols);
}

static int begin_series(struct mld_sink *s, const struct xp_series_meta *m)
{
    s->in_series = 1;
    s->point_line = 0;
    s->skip_series = 0;
    struct xp_buf name = XP_BUF_INIT;
    if (m->kind != XP_SERIES_METRIC)
        xp_buf_puts(&name, m->kind == XP_SERIES_TRACK ? "track/" : "system/");
    xp_buf_puts(&name, m->name);
    struct wseries w = {0};
    w.src_name = xp_strdup(m->name);
    w.description = m->description ? xp_strdup(m->description) : NULL;
    w.kind = m->kind;
    w.metadata = m->metadata && json_object_is_type(m->metadata, json_type_object)
                     ? json_object_get(m->metadata) : NULL;
    w.cols = xp_tmcols_new();
    char *head = series_head(&w); /* a trial: the real one when it is complete */
    if (!head) {
        free_series(&w);
        xp_buf_release(&name);
        s->skip_series = 1;
        invalid(s, "series '%s': %s", m->name, xp_error_last()->message);
        return 0;
    }
    free(head);
    for (size_t i = 0; i < s->nser; i++)
        if (!strcmp(s->ser[i].name, name.ptr)) {
            xp_buf_release(&name);
            free_series(&w);
            return xp_error_set(XP_EINVALID, "series '%s' appears twice", m->name);
        }
    s->ser = xp_realloc(s->ser, (s->nser + 1) * sizeof(*s->ser));
    w.name = xp_buf_detach(&name);
    s->ser[s->nser++] = w;
    return xp_spool_add(s->spool, &s->ser[s->nser - 1].sid);
}

static int put_points(struct mld_sink *s, const struct xp_point *v, size_t n)
{
    if (s->skip_series)
        return 0;
    struct wseries *w = &s->ser[s->nser - 1];
    for (size_t i = 0; i < n; i++) {
        const struct xp_point *p = &v[i];
        s->point_line++;
        if (p->nfields == 0) {
            invalid(s, "metrics/%s/data.jsonl line %" PRId64 " has no data", w->name,
                    s->point_line);
            continue;
        }
        struct xp_buf *b = &s->line;
        xp_buf_reset(b);
        xp_buf_putc(b, '{');
        /* the types go to the metric's metadata (series_head) */
        int rc = xp_tmcols_put(w->cols, b, p->fields, p->nfields);
        xp_buf_putc(b, '}');
        if (rc) {
            invalid(s, "metrics/%s/data.jsonl line %" PRId64 ": %s", w->name,
                    s->point_line, xp_error_last()->message);
            continue;
        }
        if ((rc = xp_spool_put(s->spool, w->sid, b->ptr, b->len)))
            return rc;
        w->count++;
    }
    return 0;
}

static int put_file(struct mld_sink *s, const struct xp_file_meta *m,
                    struct xp_stream *body)
{
    if (!xp_relpath_safe(m->path)) {
        invalid(s, "unsafe file path '%s'", m->path);
        return 0;
    }
    if (!s->tmpdir) {
        int trc = xp_tempdir(&s->tmpdir, "xport-mldash-up");
        if (trc)
            return trc;
    }
    struct xp_buf p = XP_BUF_INIT;
    xp_buf_printf(&p, "%s/%zu", s->tmpdir, s->nfiles);
    struct xp_afile f;
    int rc = xp_afile_open(&f, p.ptr);
    if (rc) {
        xp_buf_release(&p);
        return rc;
    }
    struct xp_sha256 h;
    xp_sha256_init(&h);
    int64_t size = 0;
    rc = xp_stream_pump(body, &f, &h, &size, s->m->base.ctx);
    unsigned char d[32];
    char hex[65];
    xp_sha256_final(&h, d);
    xp_hex(hex, d, 32);
    if (!rc)
        rc = xp_afile_commit(&f);
    else
        xp_afile_abort(&f);
    if (rc) {
        xp_buf_release(&p);
        return rc;
    }
    if (m->sha256 && strcasecmp(m->sha256, hex)) {
        invalid(s, "file '%s' has sha256 %s, its source says %s", m->path, hex, m->sha256);
        unlink(p.ptr);
        xp_buf_release(&p);
        return 0;
    }
    s->files = xp_realloc(s->files, (s->nfiles + 1) * sizeof(*s->files));
    struct wfile *w = &s->files[s->nfiles++];
    w->tmp = xp_buf_detach(&p);
    w->sha256 = xp_strdup(hex);
    w->ctype = m->content_type ? xp_strdup(m->content_type) : NULL;
    w->size = size;
    struct json_object *md = m->metadata && json_object_is_type(m->metadata,
                                                                json_type_object)
                                 ? json_object_get(m->metadata) : NULL;
    if (m->artifact) {
        /* ml-dash has no artifacts: the file goes under a folder of its own
         * and says what it was (mldash.h) */
        struct xp_buf rel = XP_BUF_INIT;
        xp_buf_puts(&rel, "_xport_artifacts/");
        rc = xp_name_encode(&rel, m->artifact);
        xp_buf_printf(&rel, "/%s", m->path);
        w->rel = xp_buf_detach(&rel);
        struct json_object *x = json_object_new_object();
        json_object_object_add(x, "artifact", json_object_new_string(m->artifact));
        json_object_object_add(x, "path", json_object_new_string(m->path));
        struct json_object *c = carry(md, MLD_FILE_KEY, x);
        json_object_put(md);
        md = c;
    } else {
        w->rel = xp_strdup(m->path);
    }
    w->metadata = md ? xp_typemark_tree_encode(md) : NULL;
    json_object_put(md);
    return rc;
}

static int sink_put(struct xp_sink *base, const struct xp_record *r)
{
    struct mld_sink *s = (struct mld_sink *)base;
    if (s->err)
        return s->err;
    if (xp_ctx_cancelled(s->m->base.ctx))
        return sink_fail(s, xp_error_set(XP_ECANCEL, "interrupted"));
    int rc = 0;
    switch (r->kind) {
    case XP_REC_EXPERIMENT:
    case XP_REC_END:
        break;
    case XP_REC_DOCUMENT:
        if (r->u.doc.kind == XP_DOC_PARAMETERS) {
            json_object_put(s->params);
            json_object_put(s->param_marks);
            s->params = xp_typemark_tree_split(r->u.doc.doc, &s->param_marks);
            s->mentions |= xp_typemark_tree_mentions(r->u.doc.doc, XP_TYPEMARK_KEY);
        } else {
            struct json_object **d = r->u.doc.kind == XP_DOC_SUMMARY ? &s->summary
                                                                     : &s->others;
            json_object_put(*d);
            *d = json_object_get(r->u.doc.doc);
        }
        break;
    case XP_REC_SERIES_BEGIN: rc = begin_series(s, &r->u.series); break;
    case XP_REC_POINTS: rc = put_points(s, r->u.points.v, r->u.points.n); break;
    case XP_REC_SERIES_END: s->in_series = 0; break;
    case XP_REC_LOGS: rc = put_logs(s, r->u.logs.v, r->u.logs.n); break;
    case XP_REC_FILE: rc = put_file(s, &r->u.file.meta, r->u.file.body); break;
    }
    return rc ? sink_fail(s, rc) : 0;
}

/* ---- sending ---- */

static int create_folder(struct mld_sink *s, const char *parent, const char *name,
                         int in_exp, char **out)
{
    struct mld *m = s->m;
    struct json_object *b = json_object_new_object(), *resp = NULL;
    json_object_object_add(b, "type", json_object_new_string("FOLDER"));
    json_object_object_add(b, "projectSlug", json_object_new_string(s->project));
    json_object_object_add(b, "parentId", json_object_new_string(parent ? parent : "ROOT"));
    json_object_object_add(b, "name", json_object_new_string(name));
    if (in_exp)
        json_object_object_add(b, "experimentId", json_object_new_string(s->exp_id));
    struct xp_buf body = XP_BUF_INIT, url = XP_BUF_INIT;
    int rc = xp_json_put_obj(&body, b, 0);
    json_object_put(b);
    mld_url(&url, m, "/namespaces/");
    mld_put_seg(&url, m->ns);
    xp_buf_puts(&url, "/nodes");
    if (!rc)
        rc = mld_json(m, "POST", url.ptr, &body, 0, &resp);
    struct json_object *node = NULL, *id = NULL;
    if (!rc && json_object_object_get_ex(resp, "node", &node) &&
        json_object_object_get_ex(node, "id", &id))
        *out = xp_strdup(json_object_get_string(id));
    else if (!rc)
        rc = xp_error_set(XP_EINVALID, "ml-dash did not say the id of folder '%s'", name);
    json_object_put(resp);
    xp_buf_release(&body);
    xp_buf_release(&url);
    return rc;
}

static int create_experiment(struct mld_sink *s)
{
    struct mld *m = s->m;
    struct json_object *b = json_object_new_object(), *resp = NULL;
    char *parent = NULL;
    int rc = 0;
    if (m->gen == 6) {
        /* one FOLDER node per segment of the folder path */
        char *fp = s->folder ? xp_strdup(s->folder) : NULL, *save = NULL;
        for (char *seg = fp ? strtok_r(fp, "/", &save) : NULL; seg && !rc;
             seg = strtok_r(NULL, "/", &save)) {
            char *id = NULL;
            rc = create_folder(s, parent, seg, 0, &id);
            free(parent);
            parent = id;
        }
        free(fp);
        json_object_object_add(b, "type", json_object_new_string("EXPERIMENT"));
        json_object_object_add(b, "projectSlug", json_object_new_string(s->project));
        json_object_object_add(b, "parentId",
                               json_object_new_string(parent ? parent : "ROOT"));
    } else if (s->folder) {
        json_object_object_add(b, "folder", json_object_new_string(s->folder));
    }
    free(parent);
    json_object_object_add(b, "name", json_object_new_string(s->name));
    if (s->description)
        json_object_object_add(b, "description", json_object_new_string(s->description));
    struct json_object *tags = json_object_new_array();
    for (size_t i = 0; i < s->ntags; i++)
        json_object_array_add(tags, json_object_new_string(s->tags[i]));
    json_object_object_add(b, "tags", tags);
    struct json_object *md = exp_metadata(s);
    if (md)
        json_object_object_add(b, "metadata", md);
    struct xp_buf body = XP_BUF_INIT, url = XP_BUF_INIT;
    if (!rc)
        rc = xp_json_put_obj(&body, b, 0);
    json_object_put(b);
    if (m->gen == 6) {
        mld_url(&url, m, "/namespaces/");
        mld_put_seg(&url, m->ns);
        xp_buf_puts(&url, "/nodes");
    } else {
        mld_url(&url, m, "/projects/");
        mld_put_seg(&url, s->project);
        xp_buf_puts(&url, "/experiments");
    }
    /* an upsert by (project, name): safe to retry */
    if (!rc)
        rc = mld_json(m, "POST", url.ptr, &body, 0, &resp);
    xp_buf_release(&body);
    xp_buf_release(&url);
    if (rc)
        return xp_error_wrap(rc, "creating experiment '%s'", s->name);
    struct json_object *e = NULL, *id = NULL, *node = NULL;
    if (json_object_object_get_ex(resp, "experiment", &e) &&
        json_object_object_get_ex(e, "id", &id))
        s->exp_id = xp_strdup(json_object_get_string(id));
    if (json_object_object_get_ex(resp, "node", &node) &&
        json_object_object_get_ex(node, "id", &id))
        s->node_id = xp_strdup(json_object_get_string(id));
    json_object_put(resp);
    if (!s->exp_id || (m->gen == 6 && !s->node_id))
        return xp_error_set(XP_EINVALID, "ml-dash did not say the id of experiment '%s'",
                            s->name);
    return 0;
}

static int send_params(struct mld_sink *s)
{
    if (!s->params)
        return 0;
    struct xp_buf body = XP_BUF_INIT, url = XP_BUF_INIT;
    xp_buf_puts(&body, "{\"data\":");
    int rc = xp_json_put_obj(&body, s->params, 0);
    xp_buf_putc(&body, '}');
    mld_url(&url, s->m, "/experiments/%s/parameters", s->exp_id);
    if (!rc)
        rc = mld_json(s->m, "POST", url.ptr, &body, 0, NULL); /* a merge: idempotent */
    xp_buf_release(&body);
    xp_buf_release(&url);
    return rc ? xp_error_wrap(rc, "parameters of '%s'", s->name) : 0;
}

/* How many log lines the server holds for the experiment. */
static int logs_held(struct mld_sink *s, int64_t *out)
{
    struct xp_buf url = XP_BUF_INIT;
    mld_url(&url, s->m, "/experiments/%s/logs?limit=1&offset=0", s->exp_id);
    struct json_object *o = NULL;
    int rc = mld_json(s->m, NULL, url.ptr, NULL, 0, &o);
    xp_buf_release(&url);
    if (!rc && mld_int(o, "total", out))
        rc = xp_error_set(XP_EINVALID, "ml-dash logs answer has no total");
    json_object_put(o);
    return rc;
}

/* How many points the server holds for a metric (0 when it has none). */
static int points_held(struct mld_sink *s, const char *name, int64_t *out)
{
    struct xp_buf url = XP_BUF_INIT;
    mld_url(&url, s->m, "/experiments/%s/metrics/", s->exp_id);
    mld_put_seg(&url, name);
    xp_buf_puts(&url, "/stats");
    struct json_object *o = NULL;
    int rc = mld_json(s->m, NULL, url.ptr, NULL, 0, &o);
    xp_buf_release(&url);
    if (rc == XP_ENOTFOUND) {
        xp_error_clear();
        *out = 0;
        rc = 0;
    } else if (!rc && mld_int(o, "totalDataPoints", out)) {
        rc = xp_error_set(XP_EINVALID, "ml-dash stats of '%s' have no totalDataPoints",
                          name);
    }
    json_object_put(o);
    return rc;
}

/* One appender: a spooled stream sent in order, a batch at a time, with
 * the batch's items kept so that the part that did not land can be resent. */
struct appender {
    const char *name;       /* metric name, or NULL for the logs */
    const char *head;       /* more members of a metric's body, or NULL */
    struct xp_spool_iter it;
    int open;
    int64_t total, held;    /* items in the stream; items the server holds */
    int64_t pos;            /* items of the stream consumed */
    struct xp_buf items;    /* current batch: items separated by '\n' */
    size_t nitems;
    struct xp_buf body, url;
    int tries;
    int done;
};

static int app_fill(struct mld_sink *s, struct appender *a, int limit)
{
    while ((int)a->nitems < limit && a->pos < a->total) {
        const void *d;
        size_t len;
        int rc = xp_spool_iter_next(&a->it, &d, &len);
        if (rc == XP_ITEROVER)
            break;
        if (rc)
            return rc;
        a->pos++;
        if (a->pos <= a->held)
            continue; /* the server has it already */
        xp_buf_put(&a->items, d, len);
        xp_buf_putc(&a->items, '\n');
        a->nitems++;
    }
    (void)s;
    return 0;
}

static void app_body(struct mld_sink *s, struct appender *a)
{
    xp_buf_reset(&a->body);
    xp_buf_puts(&a->body, a->name ? "{\"dataPoints\":[" : "{\"logs\":[");
    const char *p = a->items.ptr;
    for (size_t i = 0; i < a->nitems; i++) {
        const char *nl = strchr(p, '\n');
        if (i)
            xp_buf_putc(&a->body, ',');
        xp_buf_put(&a->body, p, (size_t)(nl - p));
        p = nl + 1;
    }
    xp_buf_puts(&a->body, "]");
    if (a->head)
        xp_buf_puts(&a->body, a->head);
    xp_buf_putc(&a->body, '}');
    if (a->name) {
        mld_url(&a->url, s->m, "/experiments/%s/metrics/", s->exp_id);
        mld_put_seg(&a->url, a->name);
        xp_buf_puts(&a->url, "/append-batch");
    } else {
        mld_url(&a->url, s->m, "/experiments/%s/logs", s->exp_id);
    }
}

/* Drop the first k items of the batch (they landed). */
static void app_drop(struct appender *a, size_t k)
{
    const char *p = a->items.ptr;
    for (size_t i = 0; i < k && i < a->nitems; i++)
        p = strchr(p, '\n') + 1;
    size_t off = (size_t)(p - a->items.ptr);
    memmove(a->items.ptr, p, a->items.len - off);
    xp_buf_setlen(&a->items, a->items.len - off);
    a->nitems -= k < a->nitems ? k : a->nitems;
}

/* After a failed append: ask what landed and keep only the rest. */
static int app_recover(struct mld_sink *s, struct appender *a, int code)
{
    if (code == XP_EAUTH || code == XP_ECANCEL || ++a->tries >= MAX_TRIES)
        return code;
    usleep(100000u << (a->tries < 5 ? a->tries : 5));
    int64_t now;
    int rc = a->name ? points_held(s, a->name, &now) : logs_held(s, &now);
    if (rc)
        return rc;
    int64_t landed = now - a->held;
    if (landed < 0 || landed > (int64_t)a->nitems)
        return xp_error_set(XP_EINVALID, "ml-dash holds %" PRId64 " items of '%s', "
                            "expected %" PRId64 " to %" PRId64, now,
                            a->name ? a->name : "logs", a->held,
                            a->held + (int64_t)a->nitems);
    app_drop(a, (size_t)landed);
    a->held = now;
    xp_error_clear();
    return 0;
}

static void app_release(struct appender *a)
{
    if (a->open)
        xp_spool_iter_close(&a->it);
    xp_buf_release(&a->items);
    xp_buf_release(&a->body);
    xp_buf_release(&a->url);
}

static int app_open(struct mld_sink *s, struct appender *a, const char *name,
                    const char *head, size_t sid, int64_t total)
{
    memset(a, 0, sizeof(*a));
    a->name = name;
    a->head = head;
    a->total = total;
    xp_buf_init(&a->items);
    xp_buf_init(&a->body);
    xp_buf_init(&a->url);
    int rc = name ? points_held(s, name, &a->held) : logs_held(s, &a->held);
    if (rc)
        return rc;
    if (a->held > total)
        return xp_error_set(XP_EINVALID, "ml-dash holds %" PRId64 " items of '%s' but "
                            "the source has %" PRId64 "; not appending",
                            a->held, name ? name : "logs", total);
    rc = xp_spool_iter_open(&a->it, s->spool, sid);
    a->open = !rc;
    a->done = a->held == total;
    return rc;
}

/* Send several appenders at once: each round sends one batch of each
 * (one request per stream in flight, so every stream stays in order). */
static int send_appenders(struct mld_sink *s, struct appender *v, size_t n, int batch)
{
    struct xp_http_header hdr = {"Content-Type", "application/json"};
    struct xp_http_request *rq = xp_calloc(n, sizeof(*rq));
    struct xp_http_response *rs = xp_calloc(n, sizeof(*rs));
    size_t *idx = xp_calloc(n, sizeof(*idx));
    int rc = 0;
    for (;;) {
        size_t k = 0;
        for (size_t i = 0; i < n && !rc; i++) {
            struct appender *a = &v[i];
            if (a->done)
                continue;
            if ((rc = app_fill(s, a, batch)))
                break;
            if (a->nitems == 0) {
                a->done = 1;
                continue;
            }
            app_body(s, a);
            memset(&rq[k], 0, sizeof(rq[k]));
            rq[k].method = "POST";
            rq[k].url = a->url.ptr;
            rq[k].headers = &hdr;
            rq[k].nheaders = 1;
            rq[k].body = a->body.ptr;
            rq[k].body_len = a->body.len;
            rq[k].flags = XP_HTTP_NO_RETRY; /* resent below after a recount */
            rq[k].cred = s->m->cred;
            xp_http_response_init(&rs[k]);
            idx[k++] = i;
        }
        if (rc || k == 0)
            break;
        if (xp_ctx_cancelled(s->m->base.ctx)) {
            rc = xp_error_set(XP_ECANCEL, "interrupted");
            break;
        }
        xp_http_batch(s->m->base.ctx->http, rq, rs, k);
        for (size_t j = 0; j < k; j++) {
            struct appender *a = &v[idx[j]];
            if (!rc && rs[j].code == 0) {
                a->held += (int64_t)a->nitems;
                a->nitems = 0;
                xp_buf_reset(&a->items);
                a->tries = 0;
            } else if (!rc) {
                xp_error_set_http(rs[j].code, rs[j].status, "%s",
                                  rs[j].error ? rs[j].error : "append failed");
                rc = app_recover(s, a, rs[j].code);
                if (rc)
                    rc = xp_error_wrap(rc, "appending to '%s' of '%s'",
                                       a->name ? a->name : "logs", s->name);
            }
            xp_http_response_release(&rs[j]);
        }
        if (rc)
            break;
    }
    free(rq);
    free(rs);
    free(idx);
    return rc;
}

static int send_logs(struct mld_sink *s)
{
    if (!s->nlogs)
        return 0;
    struct appender a;
    int rc = app_open(s, &a, NULL, NULL, s->logs_sid, s->nlogs);
    if (!rc)
        rc = send_appenders(s, &a, 1, s->m->log_batch);
    app_release(&a);
    return rc;
}

static int send_metrics(struct mld_sink *s)
{
    int rc = 0;
    size_t w = (size_t)s->m->max_metrics;
    struct appender *v = xp_calloc(w, sizeof(*v));
    for (size_t i = 0; i < s->nser && !rc; i += w) {
        size_t n = s->nser - i < w ? s->nser - i : w, opened = 0;
        for (; opened < n && !rc; opened++) {
            struct wseries *ws = &s->ser[i + opened];
            if (!ws->head && !(ws->head = series_head(ws)))
                rc = xp_error_wrap(XP_EINVALID, "metric '%s' of '%s'", ws->name, s->name);
            if (!rc)
                rc = app_open(s, &v[opened], ws->name, ws->head, ws->sid, ws->count);
        }
        if (!rc)
            rc = send_appenders(s, v, n, s->m->batch);
        for (size_t j = 0; j < opened; j++)
            app_release(&v[j]);
    }
    free(v);
    return rc;
}

/* Files the server already has, as "<rel>\n<sha256>" keys. */
static int files_held(struct mld_sink *s, struct json_object *have)
{
    struct mld *m = s->m;
    struct json_object *d = NULL;
    int rc;
    if (m->gen == 5) {
        struct xp_buf url = XP_BUF_INIT;
        mld_url(&url, m, "/experiments/%s/files", s->exp_id);
        rc = mld_json(m, NULL, url.ptr, NULL, 0, &d);
        xp_buf_release(&url);
        struct json_object *arr = NULL;
        if (!rc && json_object_object_get_ex(d, "files", &arr)) {
            for (size_t i = 0; i < json_object_array_length(arr); i++) {
                struct json_object *f = json_object_array_get_idx(arr, i), *del = NULL;
                if (json_object_object_get_ex(f, "deletedAt", &del) && del)
                    continue;
                const char *p = xp_json_str(f, "path"), *fn = xp_json_str(f, "filename");
                const char *ck = xp_json_str(f, "checksum");
                if (!fn || !ck)
                    continue;
                while (p && *p == '/')
                    p++;
                struct xp_buf k = XP_BUF_INIT;
                xp_buf_printf(&k, "%s%s%s\n%s", p && *p ? p : "", p && *p ? "/" : "",
                              fn, ck);
                json_object_object_add(have, k.ptr, NULL);
                xp_buf_release(&k);
            }
        }
        json_object_put(d);
        return rc;
    }
    /* v0.6: pPath ends in "/<rel>" below the experiment node */
    struct json_object *vars = json_object_new_object();
    json_object_object_add(vars, "id", json_object_new_string(s->exp_id));
    rc = 0;
    for (int offset = 0; !rc; offset += 500) {
        json_object_object_add(vars, "offset", json_object_new_int(offset));
        rc = mld_graphql(m, "F", "query F($id: ID!, $offset: Int) { experimentById(id: $id) { "
                            "filesPaginated(limit: 500, offset: $offset) { files { pPath "
                            "physicalFile { checksum } } hasMore } } }", vars, &d);
        if (rc)
            break;
        struct json_object *e = NULL, *page = NULL, *arr = NULL, *more = NULL;
        json_object_object_get_ex(d, "experimentById", &e);
        json_object_object_get_ex(e, "filesPaginated", &page);
        json_object_object_get_ex(page, "files", &arr);
        json_object_object_get_ex(page, "hasMore", &more);
        size_t n = arr ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n; i++) {
            struct json_object *f = json_object_array_get_idx(arr, i), *ph = NULL;
            json_object_object_get_ex(f, "physicalFile", &ph);
            const char *pp = xp_json_str(f, "pPath"), *ck = xp_json_str(ph, "checksum");
            if (!pp || !ck)
                continue;
            struct xp_buf k = XP_BUF_INIT;
            xp_buf_printf(&k, "%s\n%s", pp, ck);
            json_object_object_add(have, k.ptr, NULL);
            xp_buf_release(&k);
        }
        int go = n > 0 && json_object_get_boolean(more);
        json_object_put(d);
        d = NULL;
        if (!go)
            break;
    }
    json_object_put(vars);
    return rc;
}

static int file_present(struct mld_sink *s, struct json_object *have, const struct wfile *f)
{
    if (s->m->gen == 5) {
        struct xp_buf k = XP_BUF_INIT;
        xp_buf_printf(&k, "%s\n%s", f->rel, f->sha256);
        int yes = json_object_object_get_ex(have, k.ptr, NULL);
        xp_buf_release(&k);
        return yes;
    }
    size_t rl = strlen(f->rel);
    json_object_object_foreach(have, key, v) {
        (void)v;
        const char *nl = strrchr(key, '\n');
        size_t pl = (size_t)(nl - key);
        if (!strcmp(nl + 1, f->sha256) && pl > rl && key[pl - rl - 1] == '/' &&
            !strncmp(key + pl - rl, f->rel, rl))
            return 1;
    }
    return 0;
}

static int send_files(struct mld_sink *s)
{
    if (!s->nfiles)
        return 0;
    struct mld *m = s->m;
    struct json_object *have = json_object_new_object();
    int rc = files_held(s, have);
    size_t w = (size_t)m->max_files;
    struct xp_http_request *rq = xp_calloc(w, sizeof(*rq));
    struct xp_http_response *rs = xp_calloc(w, sizeof(*rs));
    struct xp_http_part (*parts)[9] = xp_calloc(w, sizeof(*parts));
    struct xp_buf *bufs = xp_calloc(w * 4, sizeof(*bufs)); /* url, prefix, md, parent */
    for (size_t j = 0; j < w * 4; j++)
        xp_buf_init(&bufs[j]);
    for (size_t i = 0; i < s->nfiles && !rc;) {
        size_t k = 0;
        for (; i < s->nfiles && k < w && !rc; i++) {
            struct wfile *f = &s->files[i];
            if (file_present(s, have, f))
                continue; /* same path, name and checksum: already there */
            struct xp_buf *url = &bufs[k * 4], *pre = &bufs[k * 4 + 1],
                          *md = &bufs[k * 4 + 2], *par = &bufs[k * 4 + 3];
            xp_buf_reset(url);
            xp_buf_reset(pre);
            xp_buf_reset(md);
            xp_buf_reset(par);
            const char *slash = strrchr(f->rel, '/');
            const char *fname = slash ? slash + 1 : f->rel;
            struct xp_http_part *p = parts[k];
            size_t np = 0;
            if (f->metadata)
                xp_json_put_obj(md, f->metadata, 0);
            if (m->gen == 6) {
                /* folders below the experiment node, then the FILE node */
                char *parent = xp_strdup(s->node_id);
                if (slash) {
                    char *dir = xp_strndup(f->rel, (size_t)(slash - f->rel)), *save = NULL;
                    for (char *seg = strtok_r(dir, "/", &save); seg && !rc;
                         seg = strtok_r(NULL, "/", &save)) {
                        char *id = NULL;
                        rc = create_folder(s, parent, seg, 1, &id);
                        free(parent);
                        parent = id;
                    }
                    free(dir);
                }
                if (rc) {
                    free(parent);
                    break;
                }
                xp_buf_puts(par, parent);
                free(parent);
                mld_url(url, m, "/namespaces/");
                mld_put_seg(url, m->ns);
                xp_buf_puts(url, "/nodes");
                p[np++] = (struct xp_http_part){"type", "FILE", 4, NULL, NULL, NULL};
                p[np++] = (struct xp_http_part){"experimentId", s->exp_id,
                                                strlen(s->exp_id), NULL, NULL, NULL};
                p[np++] = (struct xp_http_part){"parentId", par->ptr, par->len, NULL,
                                                NULL, NULL};
                p[np++] = (struct xp_http_part){"name", fname, strlen(fname), NULL, NULL,
                                                NULL};
            } else {
                mld_url(url, m, "/experiments/%s/files", s->exp_id);
                xp_buf_putc(pre, '/');
                if (slash)
                    xp_buf_put(pre, f->rel, (size_t)(slash - f->rel));
                p[np++] = (struct xp_http_part){"prefix", pre->ptr, pre->len, NULL, NULL,
                                                NULL};
                char *sz = xp_malloc(24);
                snprintf(sz, 24, "%" PRId64, f->size);
                xp_buf_puts(par, sz); /* par holds the size here */
                free(sz);
                p[np++] = (struct xp_http_part){"sizeBytes", par->ptr, par->len, NULL,
                                                NULL, NULL};
            }
            p[np++] = (struct xp_http_part){"checksum", f->sha256, 64, NULL, NULL, NULL};
            if (md->len)
                p[np++] = (struct xp_http_part){"metadata", md->ptr, md->len, NULL, NULL,
                                                "application/json"};
            p[np++] = (struct xp_http_part){"file", NULL, 0, f->tmp, fname,
                                            f->ctype ? f->ctype : "application/octet-stream"};
            memset(&rq[k], 0, sizeof(rq[k]));
            rq[k].method = "POST";
            rq[k].url = url->ptr;
            rq[k].parts = p;
            rq[k].nparts = np;
            rq[k].cred = m->cred; /* same path and name replace: safe to retry */
            xp_http_response_init(&rs[k]);
            k++;
        }
        if (k && !rc) {
            rc = xp_http_batch(m->base.ctx->http, rq, rs, k);
            if (rc)
                rc = xp_error_wrap(rc, "uploading files of '%s'", s->name);
        }
        for (size_t j = 0; j < k; j++)
            xp_http_response_release(&rs[j]);
    }
    for (size_t j = 0; j < w * 4; j++)
        xp_buf_release(&bufs[j]);
    free(bufs);
    free(parts);
    free(rq);
    free(rs);
    json_object_put(have);
    return rc;
}

static int send_status(struct mld_sink *s)
{
    if (!s->status)
        return 0;
    static const char *const ok[] = {"RUNNING", "COMPLETED", "FAILED", "CANCELLED", NULL};
    int known = 0;
    for (const char *const *p = ok; *p; p++)
        known |= !strcmp(*p, s->status);
    if (!known) {
        xp_sink_drop(&s->base, s->m->base.ctx, "%s: status '%s' not sent: ml-dash knows RUNNING "
                    "COMPLETED FAILED CANCELLED", s->name, s->status);
        return 0;
    }
    struct xp_buf body = XP_BUF_INIT, url = XP_BUF_INIT;
    xp_buf_printf(&body, "{\"status\":\"%s\"}", s->status);
    if (s->m->gen == 6)
        mld_url(&url, s->m, "/nodes/%s", s->node_id);
    else
        mld_url(&url, s->m, "/experiments/%s/status", s->exp_id);
    int rc = mld_json(s->m, "PATCH", url.ptr, &body, 0, NULL);
    xp_buf_release(&body);
    xp_buf_release(&url);
    return rc ? xp_error_wrap(rc, "status of '%s'", s->name) : 0;
}

static int send_all(struct mld_sink *s)
{
    int rc = create_experiment(s);
    if (!rc)
        rc = send_params(s);
    if (!rc)
        rc = send_logs(s);
    if (!rc)
        rc = send_metrics(s);
    if (!rc)
        rc = send_files(s);
    if (!rc)
        rc = send_status(s);
    return rc;
}

static int sink_finish(struct xp_sink *base, int commit)
{
    struct mld_sink *s = (struct mld_sink *)base;
    if (!commit)
        return 0; /* nothing was sent: nothing to undo */
    if (s->err)
        return s->err;
    if (s->in_series)
        return sink_fail(s, xp_error_set(XP_EINVALID, "series left open"));
    if (s->m->strict && s->invalid)
        return sink_fail(s, xp_error_set(XP_EINVALID, "%s: %" PRId64 " invalid item(s); "
                                         "--strict: nothing sent", s->name, s->invalid));
    int rc = send_all(s);
    if (rc)
        return sink_fail(s, rc);
    return 0;
}

static void sink_free(struct xp_sink *base)
{
    struct mld_sink *s = (struct mld_sink *)base;
    if (!s)
        return;
    free(s->project);
    free(s->name);
    free(s->description);
    free(s->status);
    free(s->folder);
    for (size_t i = 0; i < s->ntags; i++)
        free(s->tags[i]);
    free(s->tags);
    json_object_put(s->metadata);
    json_object_put(s->summary);
    json_object_put(s->others);
    json_object_put(s->params);
    json_object_put(s->param_marks);
    json_object_put(s->log_runs);
    xp_buf_release(&s->log_last);
    xp_spool_free(s->spool);
    for (size_t i = 0; i < s->nser; i++)
        free_series(&s->ser[i]);
    free(s->ser);
    for (size_t i = 0; i < s->nfiles; i++) {
        free(s->files[i].tmp);
        free(s->files[i].rel);
        free(s->files[i].sha256);
        free(s->files[i].ctype);
        json_object_put(s->files[i].metadata);
    }
    free(s->files);
    if (s->tmpdir) {
        xp_rm_rf(s->tmpdir);
        free(s->tmpdir);
    }
    xp_buf_release(&s->line);
    free(s->exp_id);
    free(s->node_id);
    free(s);
}

static char *dup_or_null(const char *s)
{
    return s ? xp_strdup(s) : NULL;
}

int mld_write_experiment(struct xp_sink **out, struct xp_adapter *a,
                         const struct xp_experiment_meta *meta,
                         const struct xp_write_opts *wo)
{
    struct mld *m = (struct mld *)a;
    (void)wo; /* --overwrite cannot undo appends; reruns resume instead */
    *out = NULL;
    if (!meta->name || !*meta->name)
        return xp_error_set(XP_EINVALID, "experiment has no name");
    const char *project = m->sel.project && !strpbrk(m->sel.project, "*?[{")
                              ? m->sel.project : meta->project;
    if (!project || !*project)
        return xp_error_set(XP_EINVALID, "no ml-dash project for '%s': give "
                                         "mldash:NS/PROJECT", meta->name);
    struct mld_sink *s = xp_calloc(1, sizeof(*s));
    s->base.version = XP_SINK_VERSION;
    s->base.put = sink_put;
    s->base.finish = sink_finish;
    s->base.free = sink_free;
    s->m = m;
    s->project = xp_strdup(project);
    s->name = xp_strdup(meta->name);
    s->description = dup_or_null(meta->description);
    s->status = dup_or_null(meta->status);
    s->folder = dup_or_null(meta->folder);
    s->tags = xp_calloc(meta->ntags + 1, sizeof(*s->tags));
    for (size_t i = 0; i < meta->ntags; i++)
        s->tags[i] = xp_strdup(meta->tags[i]);
    s->ntags = meta->ntags;
    s->metadata = meta->metadata ? json_object_get(meta->metadata) : NULL;
    xp_buf_init(&s->line);
    xp_buf_init(&s->log_last);
    s->log_runs = json_object_new_array();
    int rc = xp_spool_new(&s->spool, 0);
    if (!rc)
        rc = xp_spool_add(s->spool, &s->logs_sid);
    if (rc) {
        sink_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}
