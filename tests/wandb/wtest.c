/* Reading runs through the adapter interface and dumping them (wtest.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "wtest.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/hash.h"
#include "xport/json.h"
#include "xport/location.h"

void wt_value_put(struct xp_buf *out, const struct xp_value *v)
{
    struct xp_buf b = XP_BUF_INIT;
    switch (v->type) {
    case XP_V_NULL: xp_buf_puts(&b, "null"); break;
    case XP_V_BOOL: xp_buf_puts(&b, v->u.b ? "b:true" : "b:false"); break;
    case XP_V_INT: xp_buf_printf(&b, "i:%" PRId64, v->u.i); break;
    case XP_V_UINT: xp_buf_printf(&b, "u:%" PRIu64, v->u.u); break;
    case XP_V_FLOAT:
        if (isnan(v->u.d)) {
            uint64_t bits;
            memcpy(&bits, &v->u.d, 8);
            xp_buf_printf(&b, "f:nan/%016" PRIx64, bits);
        } else {
            xp_buf_printf(&b, "f:%.17g", v->u.d);
        }
        break;
    case XP_V_STRING:
        xp_buf_puts(&b, "s:");
        xp_json_put_str(&b, v->u.s.ptr, v->u.s.len, "string");
        break;
    case XP_V_JSON:
        xp_buf_puts(&b, "j:");
        xp_buf_put(&b, v->u.s.ptr, v->u.s.len);
        break;
    }
    xp_buf_put(out, b.ptr, b.len);
    xp_buf_release(&b);
}

static void put_quoted(struct xp_buf *b, const char *s, size_t n)
{
    if (xp_json_put_str(b, s, n, "string"))
        xp_buf_puts(b, "<invalid utf-8>");
}

static void put_doc(struct xp_buf *b, struct json_object *o)
{
    if (xp_json_put_obj(b, o, 1))
        xp_buf_puts(b, "<unprintable>");
}

struct collect {
    struct xp_buf warn;
};

static void on_warn(void *payload, const char *msg)
{
    struct collect *c = payload;
    xp_buf_printf(&c->warn, "%s\n", msg);
}

struct refs {
    char **keys;
    size_t n;
    struct xp_buf names;
};

static int on_ref(const struct xp_experiment_ref *ref, void *payload)
{
    struct refs *r = payload;
    r->keys = xp_realloc(r->keys, (r->n + 1) * sizeof(char *));
    r->keys[r->n++] = xp_strdup(ref->key);
    xp_buf_printf(&r->names, "%s/%s/%s\n", ref->workspace, ref->project,
                  ref->name);
    return 0;
}

static int dump_record(struct xp_buf *b, const struct xp_record *rec,
                       int *in_series, const struct wt_opts *o)
{
    switch (rec->kind) {
    case XP_REC_EXPERIMENT: {
        const struct xp_experiment_meta *e = &rec->u.exp;
        xp_buf_printf(b, "experiment %s/%s/%s\n", e->workspace, e->project,
                      e->name);
        xp_buf_printf(b, " status %s\n", e->status ? e->status : "-");
        xp_buf_printf(b, " source %s %s\n", e->source_vendor, e->source_id);
        if (e->description) {
            xp_buf_puts(b, " description ");
            put_quoted(b, e->description, strlen(e->description));
            xp_buf_putc(b, '\n');
        }
        if (e->ntags) {
            xp_buf_puts(b, " tags");
            for (size_t i = 0; i < e->ntags; i++) {
                xp_buf_putc(b, ' ');
                put_quoted(b, e->tags[i], strlen(e->tags[i]));
            }
            xp_buf_putc(b, '\n');
        }
        if (e->folder)
            xp_buf_printf(b, " folder %s\n", e->folder);
        xp_buf_printf(b, " times %s %s %s\n",
                      e->created_at ? e->created_at : "-",
                      e->started_at ? e->started_at : "-",
                      e->ended_at ? e->ended_at : "-");
        if (o->with_vendor && e->vendor) {
            xp_buf_puts(b, " vendor ");
            put_doc(b, e->vendor);
            xp_buf_putc(b, '\n');
        }
        return 0;
    }
    case XP_REC_DOCUMENT:
        xp_buf_printf(b, "document %s ",
                      rec->u.doc.kind == XP_DOC_PARAMETERS ? "parameters"
                      : rec->u.doc.kind == XP_DOC_SUMMARY  ? "summary"
                                                           : "others");
        put_doc(b, rec->u.doc.doc);
        xp_buf_putc(b, '\n');
        return 0;
    case XP_REC_SERIES_BEGIN:
        if (*in_series)
            return xp_error_set(XP_ERROR, "series begins inside a series");
        *in_series = 1;
        xp_buf_printf(b, "series %s ",
                      rec->u.series.kind == XP_SERIES_SYSTEM ? "system"
                                                             : "metric");
        put_quoted(b, rec->u.series.name, strlen(rec->u.series.name));
        xp_buf_printf(b, " expected=%" PRId64 "\n",
                      rec->u.series.expected_points);
        return 0;
    case XP_REC_POINTS:
        if (!*in_series)
            return xp_error_set(XP_ERROR, "points outside a series");
        if (rec->u.points.n == 0 || rec->u.points.n > XP_POINTS_BATCH)
            return xp_error_set(XP_ERROR, "batch of %zu points",
                                rec->u.points.n);
        for (size_t i = 0; i < rec->u.points.n; i++) {
            const struct xp_point *p = &rec->u.points.v[i];
            xp_buf_printf(b, " point %" PRId64, p->index);
            for (size_t k = 0; k < p->nfields; k++) {
                xp_buf_printf(b, " %s=", p->fields[k].key);
                wt_value_put(b, &p->fields[k].v);
            }
            xp_buf_putc(b, '\n');
        }
        return 0;
    case XP_REC_SERIES_END:
        if (!*in_series)
            return xp_error_set(XP_ERROR, "series end outside a series");
        *in_series = 0;
        xp_buf_puts(b, "series-end\n");
        return 0;
    case XP_REC_LOGS:
        for (size_t i = 0; i < rec->u.logs.n; i++) {
            const struct xp_log_entry *l = &rec->u.logs.v[i];
            xp_buf_printf(b, "log %" PRId64 " %s %s ", l->seq,
                          l->stream ? l->stream : "-",
                          l->timestamp ? l->timestamp : "-");
            put_quoted(b, l->message, l->message_len);
            if (l->metadata) {
                xp_buf_putc(b, ' ');
                put_doc(b, l->metadata);
            }
            xp_buf_putc(b, '\n');
        }
        return 0;
    case XP_REC_FILE: {
        const struct xp_file_meta *f = &rec->u.file.meta;
        struct xp_sha256 c;
        unsigned char buf[8192], dig[32];
        char hex[65];
        int64_t n = 0;
        ssize_t got;
        xp_sha256_init(&c);
        while ((got = rec->u.file.body->read(rec->u.file.body, buf,
                                             sizeof(buf))) > 0) {
            xp_sha256_update(&c, buf, (size_t)got);
            n += got;
        }
        if (got < 0)
            return (int)got;
        xp_sha256_final(&c, dig);
        xp_hex(hex, dig, 32);
        xp_buf_printf(b, "file %s %" PRId64 " %s %s\n", f->path, f->size,
                      f->sha256 ? f->sha256 : "-",
                      n == f->size && f->sha256 && !strcmp(hex, f->sha256)
                          ? "body-ok"
                          : "body-mismatch");
        return 0;
    }
    case XP_REC_END:
        xp_buf_puts(b, "end\n");
        return 0;
    }
    return xp_error_set(XP_ERROR, "unknown record kind %d", rec->kind);
}

static int open_adapter(struct xp_adapter **a, struct xp_ctx *ctx,
                        const char *path, const char *allow_partial)
{
    struct xp_location loc;
    int rc = xp_location_from(&loc, "wandb-offline", path);
    if (rc)
        return rc;
    struct xp_kv kv = {"allow-partial", allow_partial};
    struct xp_options opts = {&kv, allow_partial ? 1 : 0};
    rc = xp_adapter_open(a, &loc, &opts, ctx);
    xp_location_release(&loc);
    return rc;
}

int wt_dump(char **out, char **warnings, const char *path,
            const struct wt_opts *o)
{
    static const struct wt_opts none = {0};
    struct collect c = {XP_BUF_INIT};
    struct xp_ctx ctx = {.warn = on_warn, .warn_payload = &c};
    struct xp_buf b = XP_BUF_INIT;
    struct refs refs = {NULL, 0, XP_BUF_INIT};
    struct xp_adapter *a = NULL;
    if (!o)
        o = &none;
    int rc = open_adapter(&a, &ctx, path, o->allow_partial);
    if (!rc)
        rc = a->type->list_experiments(a, on_ref, &refs);
    for (size_t i = 0; !rc && i < refs.n; i++) {
        struct xp_experiment_ref ref = {.key = refs.keys[i]};
        struct xp_read_opts ro = {o->resources, o->only_series};
        struct xp_reader *r = NULL;
        rc = a->type->read_experiment(&r, a, &ref, &ro);
        int in_series = 0, ended = 0;
        const struct xp_record *rec;
        while (!rc && (rc = r->next(r, &rec)) == 0) {
            if (ended) {
                rc = xp_error_set(XP_ERROR, "record after the end");
                break;
            }
            rc = dump_record(&b, rec, &in_series, o);
            ended = rec->kind == XP_REC_END;
        }
        if (rc == XP_ITEROVER)
            rc = ended ? 0 : xp_error_set(XP_ERROR, "no end record");
        if (r)
            r->free(r);
    }
    if (rc)
        xp_buf_printf(&b, "error %d %s\n", rc, xp_error_last()->message);
    xp_adapter_close(a);
    for (size_t i = 0; i < refs.n; i++)
        free(refs.keys[i]);
    free(refs.keys);
    xp_buf_release(&refs.names);
    *out = xp_buf_detach(&b);
    if (warnings)
        *warnings = xp_buf_detach(&c.warn);
    else
        xp_buf_release(&c.warn);
    return rc;
}

int wt_list(char **out, const char *path)
{
    struct collect c = {XP_BUF_INIT};
    struct xp_ctx ctx = {.warn = on_warn, .warn_payload = &c};
    struct refs refs = {NULL, 0, XP_BUF_INIT};
    struct xp_adapter *a = NULL;
    int rc = open_adapter(&a, &ctx, path, NULL);
    if (!rc)
        rc = a->type->list_experiments(a, on_ref, &refs);
    xp_adapter_close(a);
    for (size_t i = 0; i < refs.n; i++)
        free(refs.keys[i]);
    free(refs.keys);
    xp_buf_release(&c.warn);
    *out = xp_buf_detach(&refs.names);
    return rc;
}

char *wt_line(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len >= n && !memcmp(p, prefix, n))
            return xp_strndup(p, len);
        p = e ? e + 1 : NULL;
    }
    return NULL;
}
