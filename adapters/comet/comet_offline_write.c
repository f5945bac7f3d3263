/* Writing comet_ml offline archives: ROOT/<experiment_key>.zip with
 * experiment.json, messages.json and the uploaded files, in the forms
 * comet_ml's OfflineExperiment writes (adapters/comet/README.md), so that
 * the user's own `comet upload` sends them. The archive is put together in
 * a private temporary folder and written by core/zip.c in one atomic step. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "comet_int.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"
#include "xport/lines.h"
#include "xport/stream.h"
#include "xport/sysio.h"
#include "xport/zip.h"

struct co_sink {
    struct xp_sink base;
    struct comet_offline_adapter *a;
    const struct xp_ctx *ctx;
    int err;
    char *key, *zip, *tmp, *claim;
    FILE *msgs, *side; /* messages.json; the log lines in xport's form */
    int need_side;
    struct json_object *exp, *uploads;
    int64_t t0; /* local_timestamp of messages that have none */
    char *sname;
    enum xp_series_kind skind;
    int64_t spos, lseq;
    int nfile;
    struct xp_buf line;
};

static int fail(struct co_sink *s, int rc)
{
    if (!s->err)
        s->err = rc ? rc : XP_ERROR;
    return s->err;
}

/* One {"type": T, "payload": {...}} line; body is the payload's members. */
static int emit(struct co_sink *s, const char *type, const char *body, size_t len)
{
    xp_buf_reset(&s->line);
    xp_buf_printf(&s->line, "{\"type\": \"%s\", \"payload\": {", type);
    xp_buf_put(&s->line, body, len);
    xp_buf_puts(&s->line, "}}\n");
    if (xp_sys_fwrite(s->msgs, s->line.ptr, s->line.len) != 0)
        return xp_error_set_os(XP_EIO, "cannot write '%s/messages.json'", s->tmp);
    return 0;
}

static int emit_other(struct co_sink *s, const char *key, struct json_object *v)
{
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_puts(&b, "\"key\": ");
    int rc = xp_json_put_str(&b, key, strlen(key), "other name");
    xp_buf_puts(&b, ", \"value\": ");
    if (!rc)
        rc = v ? xp_json_put_obj(&b, v, 0) : (xp_buf_puts(&b, "null"), 0);
    if (!rc)
        rc = emit(s, "log_other", b.ptr, b.len);
    xp_buf_release(&b);
    return rc;
}

static void add_extra(void *payload, const char *name, const char *text)
{
    struct co_sink *s = payload;
    struct json_object *v = json_object_new_string(text);
    int rc = emit_other(s, name, v);
    json_object_put(v);
    if (rc)
        fail(s, rc);
}

/* ---- documents ---------------------------------------------------------- */

static int scalar(struct json_object *v)
{
    return !v || (!json_object_is_type(v, json_type_object) &&
                  !json_object_is_type(v, json_type_array));
}

static int emit_param(struct co_sink *s, const char *name, struct json_object *v)
{
    int list = v && json_object_is_type(v, json_type_array);
    for (size_t i = 0; list && i < json_object_array_length(v); i++)
        if (!scalar(json_object_array_get_idx(v, i)))
            list = -1;
    if (list < 0 || !(list || scalar(v))) {
        /* messages.py: a value is a scalar or a list of them */
        xp_sink_drop(&s->base, s->ctx, "parameter '%s': an offline archive holds only "
                     "scalars and lists of scalars", name);
        return 0;
    }
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "\"local_timestamp\": %" PRId64 ", \"%s\": {\"paramName\": ", s->t0,
                  list ? "params" : "param");
    int rc = xp_json_put_str(&b, name, strlen(name), "parameter name");
    xp_buf_puts(&b, ", \"paramValue\": ");
    if (!rc)
        rc = v ? xp_json_put_obj(&b, v, 0) : (xp_buf_puts(&b, "null"), 0);
    xp_buf_puts(&b, ", \"step\": null, \"source\": \"manual\"}");
    if (!rc)
        rc = emit(s, "parameter_msg", b.ptr, b.len);
    xp_buf_release(&b);
    return rc;
}

static int flatten(struct co_sink *s, struct xp_buf *prefix, struct json_object *o)
{
    int rc = 0;
    json_object_object_foreach(o, k, v) {
        size_t at = prefix->len;
        if (at)
            xp_buf_putc(prefix, '|');
        xp_buf_puts(prefix, k);
        if (v && json_object_is_type(v, json_type_object) && json_object_object_length(v))
            rc = flatten(s, prefix, v);
        else
            rc = emit_param(s, prefix->ptr, v);
        xp_buf_setlen(prefix, at);
        if (rc)
            break;
    }
    return rc;
}

static int put_doc(struct co_sink *s, enum xp_doc_kind k, struct json_object *doc)
{
    if (k == XP_DOC_PARAMETERS) {
        struct xp_buf prefix = XP_BUF_INIT;
        int rc = flatten(s, &prefix, doc);
        xp_buf_release(&prefix);
        return rc;
    }
    if (k == XP_DOC_SUMMARY) {
        struct xp_buf b = XP_BUF_INIT;
        int rc = xp_json_put_obj(&b, doc, 0);
        if (!rc)
            add_extra(s, COMET_X_PREFIX "summary", b.ptr);
        xp_buf_release(&b);
        return rc ? rc : s->err;
    }
    json_object_object_foreach(doc, key, v) {
        if (!strcmp(key, "Name") || !strncmp(key, COMET_X_PREFIX, strlen(COMET_X_PREFIX))) {
            xp_sink_drop(&s->base, s->ctx, "other '%s' clashes with a name xport reserves",
                         key);
            continue;
        }
        int rc = emit_other(s, key, v);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- series -------------------------------------------------------------- */

/* metricValue as comet_ml logs it: numbers as JSON numbers, NaN and the
 * infinities as the strings fix_special_floats makes, text as text. 1 when
 * the value has no such form that reads back the same. */
static int put_value(struct xp_buf *b, const struct xp_value *v)
{
    switch (v->type) {
    case XP_V_INT:
    case XP_V_UINT:
        return xp_json_put_value(b, v, "metric value");
    case XP_V_FLOAT:
        if (isnan(v->u.d))
            xp_buf_puts(b, "\"NaN\"");
        else if (isinf(v->u.d))
            xp_buf_puts(b, v->u.d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        else
            xp_json_put_double(b, v->u.d);
        return 0;
    case XP_V_STRING: {
        struct xp_value back;
        comet_value_parse(&back, v->u.s.ptr, v->u.s.len);
        return back.type != XP_V_STRING ? 1
               : xp_json_put_str(b, v->u.s.ptr, v->u.s.len, "metric value");
    }
    default:
        return 1;
    }
}

static int known(const char *k)
{
    return !strcmp(k, "value") || !strcmp(k, "step") || !strcmp(k, "epoch") ||
           !strcmp(k, "timestamp") || !strcmp(k, "runContext");
}

static int put_or_null(struct xp_buf *b, const struct xp_value *v, const char *what)
{
    if (!v) {
        xp_buf_puts(b, "null");
        return 0;
    }
    return xp_json_put_value(b, v, what);
}

/* One metric_msg payload (comet_ml messages.py MetricMessage); what the
 * message has no place for goes in xport_* members beside "metric". */
static int point_payload(struct co_sink *s, struct xp_buf *b, const struct xp_point *p)
{
    const struct xp_value *ctx = comet_point_field(p, "runContext");
    const struct xp_value *ts = comet_point_field(p, "timestamp");
    /* a track row's "value" is a column like any other (in xport_fields) */
    const struct xp_value *val =
        s->skind == XP_SERIES_TRACK ? NULL : comet_point_field(p, "value");
    int64_t ms = s->t0;
    int exact = 0, rc = 0;
    if (ts && comet_ts_millis(ts, &ms, &exact))
        ms = s->t0;
    if (ctx) {
        xp_buf_puts(b, "\"context\": ");
        if ((rc = xp_json_put_value(b, ctx, "runContext")))
            return rc;
        xp_buf_puts(b, ", ");
    }
    xp_buf_printf(b, "\"local_timestamp\": %" PRId64 ", \"metric\": {\"metricName\": ", ms);
    if ((rc = xp_json_put_str(b, s->sname, strlen(s->sname), "metric name")))
        return rc;
    xp_buf_puts(b, ", \"metricValue\": ");
    int xval = 0;
    if (!val) { /* a track row */
        xp_buf_puts(b, "\"\"");
    } else if ((rc = put_value(b, val)) == 1) {
        /* its text here, the value itself in xport_value */
        struct xp_buf t = XP_BUF_INIT;
        rc = xp_json_put_value(&t, val, "metric value");
        if (!rc)
            rc = xp_json_put_str(b, t.ptr, t.len, "metric value");
        xp_buf_release(&t);
        xval = 1;
    }
    if (rc)
        return rc;
    xp_buf_puts(b, ", \"step\": ");
    if ((rc = put_or_null(b, comet_point_field(p, "step"), "step")))
        return rc;
    xp_buf_puts(b, ", \"epoch\": ");
    if ((rc = put_or_null(b, comet_point_field(p, "epoch"), "epoch")))
        return rc;
    xp_buf_putc(b, '}');
    if (!ts || !exact) {
        xp_buf_puts(b, ", \"" COMET_X_PREFIX "timestamp\": ");
        if ((rc = put_or_null(b, ts, "timestamp")))
            return rc;
    }
    if (xval) {
        xp_buf_puts(b, ", \"" COMET_X_PREFIX "value\": ");
        if ((rc = xp_json_put_value(b, val, "metric value")))
            return rc;
    }
    if (p->index != s->spos)
        xp_buf_printf(b, ", \"" COMET_X_PREFIX "index\": %" PRId64, p->index);
    if (s->skind != comet_kind_of(s->sname))
        xp_buf_printf(b, ", \"" COMET_X_PREFIX "kind\": \"%s\"",
                      s->skind == XP_SERIES_SYSTEM  ? "system"
                      : s->skind == XP_SERIES_TRACK ? "track"
                                                    : "metric");
    if (p->created_at) {
        xp_buf_puts(b, ", \"" COMET_X_PREFIX "createdAt\": ");
        if ((rc = xp_json_put_str(b, p->created_at, strlen(p->created_at), "createdAt")))
            return rc;
    }
    /* the point's other fields, "offset" included: the sender numbers lines anew */
    xp_buf_puts(b, ", \"" COMET_X_PREFIX "fields\": {");
    int first = 1;
    for (size_t i = 0; i < p->nfields; i++) {
        const char *k = p->fields[i].key;
        if ((known(k) && !(s->skind == XP_SERIES_TRACK && !strcmp(k, "value"))) ||
            !strncmp(k, COMET_X_PREFIX, strlen(COMET_X_PREFIX)))
            continue;
        xp_buf_puts(b, first ? "" : ", ");
        first = 0;
        if ((rc = xp_json_put_str(b, k, strlen(k), "point field")))
            return rc;
        xp_buf_puts(b, ": ");
        if ((rc = xp_json_put_value(b, &p->fields[i].v, k)))
            return rc;
    }
    xp_buf_putc(b, '}');
    return 0;
}

static int put_points(struct co_sink *s, const struct xp_point *v, size_t n)
{
    struct xp_buf b = XP_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        xp_buf_reset(&b);
        rc = point_payload(s, &b, &v[i]);
        if (!rc)
            rc = emit(s, "metric_msg", b.ptr, b.len);
        s->spos++; /* only what is written has a place */
    }
    xp_buf_release(&b);
    return rc;
}

/* ---- logs ---------------------------------------------------------------- */

/* standard_output {output, stderr, context, local_timestamp}, which takes
 * no other members (comet_ml schemas.py validates it strictly). When an
 * entry has more (a time finer than ms, no stream, a level, metadata, a
 * sequence number out of step) every line also goes, in the layout's form,
 * into an uploaded asset run/xport_logs.jsonl, which the reader prefers. */
static int put_logs(struct co_sink *s, const struct xp_log_entry *v, size_t n)
{
    struct xp_buf b = XP_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        const struct xp_log_entry *e = &v[i];
        int64_t ms = s->t0;
        char iso[XP_ISO8601_BUFSZ] = "";
        int exact = 0;
        if (e->timestamp && xp_iso8601_parse_ms(e->timestamp, &ms) == 0) {
            xp_iso8601_format_ms(iso, ms);
            exact = !strcmp(iso, e->timestamp);
        }
        int plain = exact && e->stream && (!strcmp(e->stream, "stdout") ||
                                           !strcmp(e->stream, "stderr")) &&
                    !e->level && !e->metadata && e->seq == s->lseq;
        xp_buf_reset(&b);
        xp_buf_puts(&b, "\"output\": ");
        rc = xp_json_put_str(&b, e->message, e->message_len, "log line");
        xp_buf_printf(&b, ", \"stderr\": %s, \"local_timestamp\": %" PRId64,
                      e->stream && !strcmp(e->stream, "stderr") ? "true" : "false", ms);
        s->need_side |= !plain;
        if (!rc) {
            struct xp_buf l = XP_BUF_INIT;
            rc = xp_logline_put(&l, e);
            if (!rc && xp_sys_fwrite(s->side, l.ptr, l.len) != 0)
                rc = xp_error_set_os(XP_EIO, "cannot write '%s/xport-logs'", s->tmp);
            xp_buf_release(&l);
        }
        if (!rc)
            rc = emit(s, "standard_output", b.ptr, b.len);
        s->lseq++;
    }
    xp_buf_release(&b);
    return rc;
}

/* ---- files --------------------------------------------------------------- */

/* file_upload {file_path, upload_type, additional_params, metadata, clean}:
 * the bytes go into the archive under file_path. */
static int put_file(struct co_sink *s, const struct xp_file_meta *m, struct xp_stream *body)
{
    if (!xp_relpath_safe(m->path))
        return xp_error_set(XP_EINVALID, "unsafe file path '%s'", m->path);
    if (m->artifact) {
        xp_sink_drop(&s->base, s->ctx, "artifact file '%s/%s': an offline archive keeps "
                     "no artifacts", m->artifact, m->path);
        return 0;
    }
    char name[32];
    snprintf(name, sizeof(name), "xport-file-%d", s->nfile++);
    char *dst = xp_path_join(s->tmp, name);
    char hex[65];
    int64_t size = 0;
    int rc = xp_stream_store(body, dst, m, hex, &size, s->ctx);
    free(dst);
    if (rc)
        return rc;
    struct json_object *rec = comet_carried_record(m);
    const char *type = rec ? xp_json_str(rec, "type") : NULL;
    const char *fname = rec ? xp_json_str(rec, "fileName") : m->path;
    if (!type || !*type)
        type = "asset";
    struct json_object *p = json_object_new_object(), *ap = json_object_new_object();
    json_object_object_add(p, "local_timestamp", json_object_new_int64(s->t0));
    json_object_object_add(p, "file_path", json_object_new_string(name));
    json_object_object_add(p, "upload_type", json_object_new_string(type));
    json_object_object_add(ap, "fileName", json_object_new_string(fname));
    json_object_object_add(ap, "step", json_object_get(xp_json_get(rec, "step")));
    json_object_object_add(ap, "context", json_object_get(xp_json_get(rec, "runContext")));
    json_object_object_add(ap, "overwrite", json_object_new_boolean(0));
    if (xp_json_str(rec, "assetId"))
        json_object_object_add(ap, "assetId", json_object_get(xp_json_get(rec, "assetId")));
    json_object_object_add(p, "additional_params", ap);
    struct json_object *md = NULL;
    const char *mt = xp_json_str(rec, "metadata");
    if (mt && xp_json_parse(&md, mt, strlen(mt), "asset metadata"))
        xp_error_clear();
    json_object_object_add(p, "metadata", md && json_object_is_type(md, json_type_object)
                                              ? json_object_get(md) : NULL);
    json_object_put(md);
    json_object_object_add(p, "clean", json_object_new_boolean(1));
    struct xp_buf b = XP_BUF_INIT;
    rc = xp_json_put_obj(&b, p, 0);
    /* emit() wants the members without the braces */
    if (!rc)
        rc = emit(s, "file_upload", b.ptr + 1, b.len - 2);
    xp_buf_release(&b);
    json_object_put(p);
    json_object_array_add(s->uploads, json_object_new_string(name));
    return rc;
}

/* ---- put / finish --------------------------------------------------------- */

static int sink_put(struct xp_sink *base, const struct xp_record *r)
{
    struct co_sink *s = (struct co_sink *)base;
    if (s->err)
        return s->err;
    int rc = 0;
    switch (r->kind) {
    case XP_REC_EXPERIMENT:
    case XP_REC_END:
        break;
    case XP_REC_DOCUMENT: rc = put_doc(s, r->u.doc.kind, r->u.doc.doc); break;
    case XP_REC_SERIES_BEGIN:
        free(s->sname);
        s->sname = xp_strdup(r->u.series.name);
        s->skind = r->u.series.kind;
        s->spos = 0;
        break;
    case XP_REC_POINTS: rc = put_points(s, r->u.points.v, r->u.points.n); break;
    case XP_REC_SERIES_END:
        free(s->sname);
        s->sname = NULL;
        break;
    case XP_REC_LOGS: rc = put_logs(s, r->u.logs.v, r->u.logs.n); break;
    case XP_REC_FILE: rc = put_file(s, &r->u.file.meta, r->u.file.body); break;
    }
    return rc ? fail(s, rc) : s->err;
}

static int upload_side(struct co_sink *s)
{
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "\"local_timestamp\": %" PRId64 ", \"file_path\": \"xport-logs\", "
                  "\"upload_type\": \"asset\", \"additional_params\": {\"fileName\": "
                  "\"" COMET_XPORT_LOGS "\", \"step\": null, \"context\": null, "
                  "\"overwrite\": false}, \"metadata\": null, \"clean\": true", s->t0);
    int rc = emit(s, "file_upload", b.ptr, b.len);
    xp_buf_release(&b);
    if (!rc)
        json_object_array_add(s->uploads, json_object_new_string("xport-logs"));
    return rc;
}

static int sink_finish(struct xp_sink *base, int commit)
{
    struct co_sink *s = (struct co_sink *)base;
    int rc = s->err;
    if (s->side) {
        if (fclose(s->side) != 0 && !rc)
            rc = xp_error_set_os(XP_EIO, "cannot write '%s/xport-logs'", s->tmp);
        s->side = NULL;
    }
    if (!rc && commit && s->need_side)
        rc = upload_side(s);
    if (s->msgs) {
        if (fclose(s->msgs) != 0 && !rc)
            rc = xp_error_set_os(XP_EIO, "cannot write '%s/messages.json'", s->tmp);
        s->msgs = NULL;
    }
    if (!commit || rc)
        return commit ? fail(s, rc) : 0;
    struct xp_zip_writer *z = NULL;
    struct xp_buf b = XP_BUF_INIT;
    rc = xp_json_put_obj(&b, s->exp, 0);
    if (!rc)
        rc = xp_zip_create(&z, s->zip);
    if (!rc)
        rc = xp_zip_add_mem(z, "experiment.json", b.ptr, b.len);
    char *mp = xp_path_join(s->tmp, "messages.json");
    if (!rc)
        rc = xp_zip_add_file(z, "messages.json", mp);
    free(mp);
    for (size_t i = 0; !rc && i < json_object_array_length(s->uploads); i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(s->uploads, i));
        char *p = xp_path_join(s->tmp, name);
        rc = xp_zip_add_file(z, name, p);
        free(p);
    }
    if (z)
        rc = rc ? (xp_zip_abort(z), rc) : xp_zip_commit(z);
    xp_buf_release(&b);
    return rc ? fail(s, rc) : 0;
}

static const char *sink_dest_id(struct xp_sink *base)
{
    return ((struct co_sink *)base)->key;
}

static void sink_free(struct xp_sink *base)
{
    struct co_sink *s = (struct co_sink *)base;
    if (!s)
        return;
    if (s->msgs)
        fclose(s->msgs);
    if (s->side)
        fclose(s->side);
    if (s->tmp)
        xp_rm_rf(s->tmp);
    if (s->claim) {
        pthread_mutex_lock(&s->a->lock);
        json_object_object_del(s->a->claimed, s->claim);
        pthread_mutex_unlock(&s->a->lock);
    }
    free(s->claim);
    free(s->tmp);
    free(s->zip);
    free(s->key);
    free(s->sname);
    json_object_put(s->exp);
    json_object_put(s->uploads);
    xp_buf_release(&s->line);
    free(s);
}

/* experiment.json (comet_ml schemas/offline-experiment.schema.json); a time
 * the source does not know is 0, which the reader takes for none. */
static struct json_object *experiment_json(struct co_sink *s, const struct xp_experiment_meta *m)
{
    struct json_object *o = json_object_new_object();
    int64_t t0 = 0, t1 = 0;
    xp_iso8601_parse_ms(m->started_at ? m->started_at : m->created_at, &t0);
    xp_iso8601_parse_ms(m->ended_at, &t1);
    json_object_object_add(o, "offline_id", json_object_new_string(s->key));
    json_object_object_add(o, "project_name", json_object_new_string(m->project));
    json_object_object_add(o, "workspace", json_object_new_string(m->workspace));
    json_object_object_add(o, "start_time", json_object_new_int64(t0));
    json_object_object_add(o, "stop_time", json_object_new_int64(t1));
    struct json_object *tags = json_object_new_array();
    for (size_t i = 0; i < m->ntags; i++)
        json_object_array_add(tags, json_object_new_string(m->tags[i]));
    json_object_object_add(o, "tags", tags);
    json_object_object_add(o, "resume_strategy", json_object_new_string("create"));
    json_object_object_add(o, "customer_error_reported", json_object_new_boolean(0));
    json_object_object_add(o, "customer_error_message", NULL);
    s->t0 = t0;
    return o;
}

int comet_offline_write(struct xp_sink **out, struct xp_adapter *base,
                        const struct xp_experiment_meta *meta, const struct xp_write_opts *wo)
{
    struct comet_offline_adapter *a = (struct comet_offline_adapter *)base;
    *out = NULL;
    if (xp_is_file(a->path))
        return xp_error_set(XP_EINVALID, "'%s' is a file; comet-offline writes archives "
                            "into a folder", a->path);
    struct co_sink *s = xp_calloc(1, sizeof(*s));
    s->base.version = XP_SINK_VERSION;
    s->base.put = sink_put;
    s->base.finish = sink_finish;
    s->base.free = sink_free;
    s->base.dest_id = sink_dest_id;
    s->a = a;
    s->ctx = base->ctx;
    xp_buf_init(&s->line);
    s->uploads = json_object_new_array();
    s->key = comet_experiment_key(meta, comet_origin(meta), 1);
    struct xp_buf z = XP_BUF_INIT;
    xp_buf_printf(&z, "%s/%s.zip", a->path, s->key);
    s->zip = xp_buf_detach(&z);
    int rc = 0;
    pthread_mutex_lock(&a->lock);
    if (json_object_object_get_ex(a->claimed, s->zip, NULL))
        rc = xp_error_set(XP_EINVALID, "archive '%s' is being written twice", s->zip);
    else
        json_object_object_add(a->claimed, s->zip, NULL);
    pthread_mutex_unlock(&a->lock);
    if (!rc)
        s->claim = xp_strdup(s->zip);
    if (!rc && xp_is_file(s->zip) && !wo->overwrite) {
        sink_free(&s->base);
        return XP_EEXISTS;
    }
    if (!rc)
        rc = xp_mkdir_p(a->path);
    if (!rc)
        rc = xp_tempdir(&s->tmp, "xport-comet-offline-w");
    if (!rc) {
        char *mp = xp_path_join(s->tmp, "messages.json");
        s->msgs = xp_sys_fopen(mp, "wbe");
        if (!s->msgs)
            rc = xp_error_set_os(XP_EIO, "cannot create '%s'", mp);
        free(mp);
        mp = xp_path_join(s->tmp, "xport-logs");
        if (!rc && !(s->side = xp_sys_fopen(mp, "wbe")))
            rc = xp_error_set_os(XP_EIO, "cannot create '%s'", mp);
        free(mp);
    }
    if (!rc) {
        s->exp = experiment_json(s, meta);
        struct json_object *name = json_object_new_string(meta->name);
        rc = emit_other(s, "Name", name);
        json_object_put(name);
    }
    if (!rc)
        comet_extras_put(meta, comet_origin(meta), 0, add_extra, s);
    if (!rc)
        rc = s->err;
    if (rc) {
        sink_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}
