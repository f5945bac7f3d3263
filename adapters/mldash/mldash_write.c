/* Writing to an ml-dash server: the sink, which receives the records
 * (the requests are in mldash_create.c, mldash_append.c, mldash_upload.c).
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "mldash_write.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/json.h"
#include "xport/typemark.h"
#include "xport/stream.h"
#include "xport/spool.h"

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
        struct json_object *md = mld_log_metadata(e, &extra);
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
        mld_log_run(s, extra);
        json_object_put(extra);
        s->mentions |= e->metadata && xp_typemark_tree_mentions(e->metadata, XP_TYPEMARK_KEY);
        s->nlogs++;
    }
    return 0;
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
    char *head = mld_series_head(&w); /* a trial: the real one when it is complete */
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
        /* the types go to the metric's metadata (mld_series_head) */
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
        struct json_object *c = mld_carry(md, MLD_FILE_KEY, x);
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

static int send_all(struct mld_sink *s)
{
    int rc = mld_create_experiment(s);
    if (!rc)
        rc = mld_send_params(s);
    if (!rc)
        rc = mld_send_logs(s);
    if (!rc)
        rc = mld_send_metrics(s);
    if (!rc)
        rc = mld_send_files(s);
    if (!rc)
        rc = mld_send_status(s);
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
    s->description = xp_strdup(meta->description);
    s->status = xp_strdup(meta->status);
    s->folder = xp_strdup(meta->folder);
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
