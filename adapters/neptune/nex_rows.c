/* neptune-exporter Parquet parts read into a run: each row group decoded
 * column by column (core/parquet_*.c), each row mapped by attribute_type
 * (neptune-ai/neptune-exporter src/neptune_exporter/model.py::SCHEMA and
 * exporters/neptune2.py, neptune3.py): atoms and string sets kept, series
 * points spooled, file rows listed. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "nex.h"
#include "xport/error.h"
#include "xport/iso8601.h"
#include "xport/json.h"
#include "xport/parquet.h"

enum {
    C_PROJECT, C_RUN, C_PATH, C_TYPE, C_STEP, C_TS, C_INT, C_FLOAT, C_STR,
    C_BOOL, C_DT, C_SET, C_FILE, C_HTYPE, C_HEDGES, C_HVALUES, C_N
};

static const char *const col_names[C_N] = {
    "project_id", "run_id", "attribute_path", "attribute_type", "step",
    "timestamp", "int_value", "float_value", "string_value", "bool_value",
    "datetime_value", "string_set_value.list.element", "file_value.path",
    "histogram_value.type", "histogram_value.edges.list.element",
    "histogram_value.values.list.element"};

void nex_run_init(struct nex_run *r, const struct xp_ctx *ctx)
{
    memset(r, 0, sizeof *r);
    r->ctx = ctx;
    r->atoms = json_object_new_object();
    r->types = json_object_new_object();
    r->index = json_object_new_object();
    xp_buf_init(&r->lost);
    xp_buf_init(&r->scratch);
}

void nex_run_release(struct nex_run *r)
{
    json_object_put(r->atoms);
    json_object_put(r->types);
    json_object_put(r->index);
    for (size_t i = 0; i < r->nseries; i++)
        free(r->series[i].path);
    free(r->series);
    for (size_t i = 0; i < r->nfiles; i++) {
        free(r->files[i].attr);
        free(r->files[i].type);
        free(r->files[i].rel);
    }
    free(r->files);
    xp_spool_free(r->spool);
    free(r->project_id);
    free(r->run_id);
    xp_buf_release(&r->lost);
    xp_buf_release(&r->scratch);
}

/* ---- the columns of one row group ---------------------------------------- */

struct col {
    int idx;
    struct xp_pq_values v;
    struct xp_pq_cursor cur;
    size_t lvl, nlvl, val; /* the current row */
};

/* Is the column's type what the schema says? */
static int check_column(const struct xp_pq_file *f, int k, int idx)
{
    const struct xp_pq_column *c = &f->cols[idx];
    int t = c->type, ok;
    switch (k) {
    case C_STEP:
        ok = c->logical == XP_PQL_DECIMAL &&
             (t == XP_PQ_INT32 || t == XP_PQ_INT64 || t == XP_PQ_FIXED ||
              t == XP_PQ_BYTE_ARRAY);
        break;
    case C_TS:
    case C_DT:
        /* timestamp(ms, UTC); a local time without its zone is refused */
        ok = t == XP_PQ_INT64 && c->logical == XP_PQL_TIMESTAMP && c->utc;
        break;
    case C_INT:
        ok = (t == XP_PQ_INT64 || t == XP_PQ_INT32) &&
             (c->logical == XP_PQL_NONE ||
              (c->logical == XP_PQL_INT && c->is_signed));
        break;
    case C_FLOAT:
    case C_HEDGES:
    case C_HVALUES:
        ok = t == XP_PQ_DOUBLE || t == XP_PQ_FLOAT;
        break;
    case C_BOOL:
        ok = t == XP_PQ_BOOLEAN;
        break;
    default:
        ok = t == XP_PQ_BYTE_ARRAY &&
             (c->logical == XP_PQL_STRING || c->logical == XP_PQL_NONE);
    }
    if ((k == C_SET || k == C_HEDGES || k == C_HVALUES) &&
        (c->nnodes < 3 || !c->nodes[c->nnodes - 3].is_list))
        ok = 0;
    if (!ok)
        return xp_error_set(XP_ENOTSUP, "'%s': column '%s' is not of the type "
                            "neptune-exporter writes", f->path, c->path);
    return 0;
}

static int map_columns(const struct xp_pq_file *f, struct col *cols)
{
    for (int k = 0; k < C_N; k++) {
        cols[k].idx = xp_pq_find(f, col_names[k]);
        if (cols[k].idx < 0)
            return xp_error_set(XP_EINVALID, "'%s' has no column '%s': not a "
                                "neptune-exporter file", f->path, col_names[k]);
        int rc = check_column(f, k, cols[k].idx);
        if (rc)
            return rc;
    }
    return 0;
}

/* Is node k of the column present in the current row? */
static int present(const struct col *c, size_t k)
{
    return xp_pq_def(&c->v, c->lvl) >= c->v.col->nodes[k].def;
}

/* A flat or struct field: its value index, or -1 when null. */
static long long leaf(const struct col *c)
{
    return xp_pq_def(&c->v, c->lvl) == c->v.col->max_def ? (long long)c->val
                                                          : -1;
}

static void put_str(struct xp_buf *b, const struct col *c, long long i)
{
    xp_buf_put(b, c->v.bytes[i].ptr, c->v.bytes[i].len);
}

static int str_of(const struct col *c, char **out)
{
    long long i = leaf(c);
    *out = i < 0 ? NULL : xp_strndup(c->v.bytes[i].ptr, c->v.bytes[i].len);
    return 0;
}

static double f64_of(const struct col *c, long long i)
{
    return c->v.f64[i];
}

/* A timestamp value as epoch milliseconds (exact, or an error). */
static int ms_of(const struct col *c, long long i, int64_t *ms)
{
    int64_t x = c->v.i64[i];
    int64_t div = c->v.col->unit == XP_PQ_MICROS ? 1000
                  : c->v.col->unit == XP_PQ_NANOS ? 1000000 : 1;
    if (x % div)
        return xp_error_set(XP_ENOTSUP, "column '%s': a time that is not whole "
                            "milliseconds (%" PRId64 ")", c->v.col->path, x);
    *ms = x / div;
    return 0;
}

/* ---- rows -------------------------------------------------------------------- */

static struct nex_series *series_of(struct nex_run *r, const char *path,
                                    enum nex_series_kind kind)
{
    struct json_object *ix;
    if (json_object_object_get_ex(r->index, path, &ix)) {
        struct nex_series *s = &r->series[json_object_get_int(ix)];
        return s->kind == kind ? s : NULL;
    }
    if (r->nseries == r->capseries) {
        r->capseries = r->capseries ? 2 * r->capseries : 16;
        r->series = xp_realloc(r->series, r->capseries * sizeof *r->series);
    }
    struct nex_series *s = &r->series[r->nseries];
    memset(s, 0, sizeof *s);
    s->path = xp_strdup(path);
    s->kind = kind;
    if (!r->spool && xp_spool_new(&r->spool, 0))
        return NULL;
    if (xp_spool_add(r->spool, &s->stream))
        return NULL;
    if (kind == NEX_STRING && !strncmp(path, "monitoring/", 11)) {
        const char *last = strrchr(path, '/') + 1;
        s->console = !strcmp(last, "stdout") || !strcmp(last, "stderr") ||
                     !strcmp(last, "traceback");
    }
    json_object_object_add(r->index, path, json_object_new_int((int)r->nseries));
    r->nseries++;
    return s;
}

/* A point record in the spool: ts_ms (8, INT64_MIN when none), the step
 * text's length (1) and text, a value flag (1: 0 null, 1 present), then the
 * value (float: 8 bytes of bits; string and histogram JSON: the rest). */
static int put_point(struct nex_run *r, struct col *cols,
                     enum nex_series_kind kind, const char *path)
{
    struct nex_series *s = series_of(r, path, kind);
    if (!s)
        return xp_error_last()->code ? xp_error_last()->code : XP_ERROR;
    struct xp_buf *b = &r->scratch;
    xp_buf_reset(b);
    int64_t ts = INT64_MIN;
    long long i = leaf(&cols[C_TS]);
    int rc;
    if (i >= 0 && (rc = ms_of(&cols[C_TS], i, &ts)))
        return rc;
    xp_buf_put(b, &ts, 8);
    char step[64] = "";
    if ((i = leaf(&cols[C_STEP])) >= 0 &&
        (rc = xp_pq_decimal_text(&cols[C_STEP].v, (size_t)i, step,
                                 sizeof step)) < 0)
        return rc;
    unsigned char sl = (unsigned char)strlen(step);
    xp_buf_putc(b, (char)sl);
    xp_buf_put(b, step, sl);
    if (kind == NEX_FLOAT) {
        i = leaf(&cols[C_FLOAT]);
        xp_buf_putc(b, i >= 0);
        if (i >= 0) {
            double d = f64_of(&cols[C_FLOAT], i);
            xp_buf_put(b, &d, 8);
        }
    } else if (kind == NEX_STRING) {
        i = leaf(&cols[C_STR]);
        xp_buf_putc(b, i >= 0);
        if (i >= 0)
            put_str(b, &cols[C_STR], i);
    } else {
        /* {"type": ..., "edges": [...], "values": [...]}; non-finite
         * numbers as the strings "NaN", "Infinity", "-Infinity" */
        struct col *h = &cols[C_HTYPE];
        xp_buf_putc(b, present(h, 0));
        if (present(h, 0)) {
            xp_buf_puts(b, "{\"type\":");
            if ((i = leaf(h)) >= 0) {
                rc = xp_json_put_str(b, h->v.bytes[i].ptr, h->v.bytes[i].len,
                                     "histogram type");
                if (rc)
                    return rc;
            } else {
                xp_buf_puts(b, "null");
            }
            for (int k = C_HEDGES; k <= C_HVALUES; k++) {
                struct col *c = &cols[k];
                size_t nn = c->v.col->nnodes;
                xp_buf_puts(b, k == C_HEDGES ? ",\"edges\":" : ",\"values\":");
                if (!present(c, nn - 3)) {
                    xp_buf_puts(b, "null");
                    continue;
                }
                xp_buf_putc(b, '[');
                size_t v = c->val;
                for (size_t e = 0; present(c, nn - 2) && e < c->nlvl; e++) {
                    if (e)
                        xp_buf_putc(b, ',');
                    if (xp_pq_def(&c->v, c->lvl + e) != c->v.col->max_def) {
                        xp_buf_puts(b, "null");
                        continue;
                    }
                    double d = c->v.f64[v++];
                    if (isfinite(d))
                        xp_json_put_double(b, d);
                    else
                        xp_buf_puts(b, isnan(d) ? "\"NaN\"" : d > 0
                                    ? "\"Infinity\"" : "\"-Infinity\"");
                }
                xp_buf_putc(b, ']');
            }
            xp_buf_putc(b, '}');
        }
    }
    s->npoints++;
    return xp_spool_put(r->spool, s->stream, b->ptr, b->len);
}

static struct json_object *set_of(const struct col *c)
{
    size_t nn = c->v.col->nnodes;
    if (!present(c, nn - 3))
        return NULL;
    struct json_object *arr = json_object_new_array();
    size_t v = c->val;
    for (size_t e = 0; present(c, nn - 2) && e < c->nlvl; e++) {
        if (xp_pq_def(&c->v, c->lvl + e) != c->v.col->max_def) {
            json_object_array_add(arr, NULL);
            continue;
        }
        json_object_array_add(arr, json_object_new_string_len(
            c->v.bytes[v].ptr, (int)c->v.bytes[v].len));
        v++;
    }
    return arr;
}

static int add_file(struct nex_run *r, struct col *cols, const char *path,
                    const char *type)
{
    if (r->nfiles == r->capfiles) {
        r->capfiles = r->capfiles ? 2 * r->capfiles : 16;
        r->files = xp_realloc(r->files, r->capfiles * sizeof *r->files);
    }
    struct nex_file *f = &r->files[r->nfiles];
    memset(f, 0, sizeof *f);
    long long i;
    if (present(&cols[C_FILE], 0) && (i = leaf(&cols[C_FILE])) >= 0)
        f->rel = xp_strndup(cols[C_FILE].v.bytes[i].ptr,
                            cols[C_FILE].v.bytes[i].len);
    if (!f->rel) {
        xp_lost_add(&r->lost, "%s '%s' has no file_value.path", type, path);
        return 0;
    }
    int rc;
    if ((i = leaf(&cols[C_STEP])) >= 0 &&
        (rc = xp_pq_decimal_text(&cols[C_STEP].v, (size_t)i, f->step,
                                 sizeof f->step)) < 0) {
        free(f->rel);
        return rc;
    }
    if ((i = leaf(&cols[C_TS])) >= 0) {
        if ((rc = ms_of(&cols[C_TS], i, &f->ts_ms))) {
            free(f->rel);
            return rc;
        }
        f->has_ts = 1;
    }
    f->attr = xp_strdup(path);
    f->type = xp_strdup(type);
    r->nfiles++;
    return 0;
}

/* An atom's value as JSON: 1 with *out set (NULL for a null value). */
static int atom(struct col *cols, const char *type, struct json_object **out)
{
    long long i;
    int rc;
    *out = NULL;
    if (!strcmp(type, "float")) {
        if ((i = leaf(&cols[C_FLOAT])) >= 0)
            *out = json_object_new_double(f64_of(&cols[C_FLOAT], i));
    } else if (!strcmp(type, "int")) {
        if ((i = leaf(&cols[C_INT])) >= 0)
            *out = json_object_new_int64(cols[C_INT].v.i64[i]);
    } else if (!strcmp(type, "bool")) {
        if ((i = leaf(&cols[C_BOOL])) >= 0)
            *out = json_object_new_boolean((int)cols[C_BOOL].v.i64[i]);
    } else if (!strcmp(type, "string")) {
        if ((i = leaf(&cols[C_STR])) >= 0)
            *out = json_object_new_string_len(cols[C_STR].v.bytes[i].ptr,
                                              (int)cols[C_STR].v.bytes[i].len);
    } else if (!strcmp(type, "datetime")) {
        int64_t ms = 0;
        char iso[XP_ISO8601_BUFSZ];
        if ((i = leaf(&cols[C_DT])) >= 0) {
            if ((rc = ms_of(&cols[C_DT], i, &ms)))
                return rc;
            xp_iso8601_format_ms(iso, ms);
            *out = json_object_new_string(iso);
        }
    } else if (!strcmp(type, "string_set")) {
        *out = set_of(&cols[C_SET]);
    } else {
        return 0;
    }
    return 1;
}

static int one_row(struct nex_run *r, struct col *cols)
{
    long long ip = leaf(&cols[C_PATH]), it = leaf(&cols[C_TYPE]);
    long long ipr = leaf(&cols[C_PROJECT]), irn = leaf(&cols[C_RUN]);
    if (ip < 0 || it < 0 || ipr < 0 || irn < 0)
        return xp_error_set(XP_EINVALID, "a row without its project, run, "
                            "attribute path or type");
    const struct xp_pq_bytes *pb = &cols[C_PROJECT].v.bytes[ipr];
    const struct xp_pq_bytes *rb = &cols[C_RUN].v.bytes[irn];
    if (!r->project_id) {
        r->project_id = xp_strndup(pb->ptr, pb->len);
        r->run_id = xp_strndup(rb->ptr, rb->len);
    } else if (strlen(r->project_id) != pb->len ||
               memcmp(r->project_id, pb->ptr, pb->len) ||
               strlen(r->run_id) != rb->len ||
               memcmp(r->run_id, rb->ptr, rb->len)) {
        return xp_error_set(XP_EINVALID, "rows of another run ('%.*s' in "
                            "'%.*s') among those of '%s'", (int)rb->len,
                            rb->ptr, (int)pb->len, pb->ptr, r->run_id);
    }
    char path[4096], type[64];
    const struct xp_pq_bytes *b = &cols[C_PATH].v.bytes[ip];
    const struct xp_pq_bytes *t = &cols[C_TYPE].v.bytes[it];
    if (b->len >= sizeof path || memchr(b->ptr, 0, b->len) || t->len >= sizeof type)
        return xp_error_set(XP_EINVALID, "an attribute path or type that is "
                            "too long or holds NUL");
    memcpy(path, b->ptr, b->len);
    path[b->len] = 0;
    memcpy(type, t->ptr, t->len);
    type[t->len] = 0;
    r->rows++;
    struct json_object *v;
    int rc = atom(cols, type, &v);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        json_object_object_add(r->atoms, path, v);
        json_object_object_add(r->types, path, json_object_new_string(type));
        return 0;
    }
    enum nex_series_kind kind = !strcmp(type, "float_series") ? NEX_FLOAT
                              : !strcmp(type, "string_series") ? NEX_STRING
                              : !strcmp(type, "histogram_series") ? NEX_HIST
                              : 0;
    if (kind) {
        json_object_object_add(r->types, path, json_object_new_string(type));
        xp_error_clear();
        if (!series_of(r, path, kind)) {
            if (xp_error_last()->code)
                return xp_error_last()->code;
            xp_lost_add(&r->lost, "'%s' holds rows of two series types", path);
            return 0;
        }
        return put_point(r, cols, kind, path);
    }
    if (!strcmp(type, "file") || !strcmp(type, "file_series") ||
        !strcmp(type, "file_set") || !strcmp(type, "artifact")) {
        json_object_object_add(r->types, path, json_object_new_string(type));
        return add_file(r, cols, path, type);
    }
    xp_lost_add(&r->lost, "'%s' has the unknown attribute_type '%s'", path, type);
    return 0;
}

int nex_read_part(struct nex_run *r, const char *path)
{
    struct xp_pq_file *f;
    struct col cols[C_N];
    int rc = xp_pq_open(&f, path);
    if (rc)
        return rc;
    memset(cols, 0, sizeof cols);
    if ((rc = map_columns(f, cols)))
        goto out;
    for (size_t g = 0; g < f->nrgs && !rc; g++) {
        for (int k = 0; k < C_N && !rc; k++) {
            rc = xp_pq_read(f, g, (size_t)cols[k].idx, &cols[k].v);
            xp_pq_cursor_init(&cols[k].cur, &cols[k].v);
        }
        for (int64_t row = 0; !rc && row < f->rgs[g].num_rows; row++) {
            for (int k = 0; k < C_N && !rc; k++)
                rc = xp_pq_cursor_next(&cols[k].cur, &cols[k].lvl,
                                       &cols[k].nlvl, &cols[k].val);
            if (rc == XP_ITEROVER)
                rc = xp_error_set(XP_EINVALID, "a column ends early");
            if (!rc)
                rc = one_row(r, cols);
            if (rc)
                xp_error_wrap(rc, "'%s': row group %zu row %" PRId64, path, g,
                              row);
        }
        for (int k = 0; k < C_N; k++)
            xp_pq_values_release(&cols[k].v);
        if (!rc && xp_ctx_cancelled(r->ctx))
            rc = xp_error_set(XP_ECANCEL, "interrupted");
    }
out:
    xp_pq_close(f);
    return rc;
}

int nex_peek_ids(const char *path, char **project_id, char **run_id)
{
    struct xp_pq_file *f;
    struct col c[2];
    *project_id = *run_id = NULL;
    int rc = xp_pq_open(&f, path);
    if (rc)
        return rc;
    memset(c, 0, sizeof c);
    for (int k = 0; k < 2 && !rc; k++) {
        c[k].idx = xp_pq_find(f, col_names[k]);
        if (c[k].idx < 0 || check_column(f, k, c[k].idx))
            rc = xp_error_set(XP_EINVALID, "'%s' has no column '%s' of "
                              "strings: not a neptune-exporter file", path,
                              col_names[k]);
        else if (f->nrgs == 0 || f->rgs[0].num_rows == 0)
            rc = xp_error_set(XP_EINVALID, "'%s' has no rows", path);
        else if (!(rc = xp_pq_read(f, 0, (size_t)c[k].idx, &c[k].v))) {
            xp_pq_cursor_init(&c[k].cur, &c[k].v);
            rc = xp_pq_cursor_next(&c[k].cur, &c[k].lvl, &c[k].nlvl,
                                   &c[k].val);
            if (!rc)
                str_of(&c[k], k ? run_id : project_id);
        }
    }
    for (int k = 0; k < 2; k++)
        xp_pq_values_release(&c[k].v);
    xp_pq_close(f);
    if (!rc && (!*project_id || !*run_id))
        rc = xp_error_set(XP_EINVALID, "'%s': first row has no project_id or "
                          "run_id", path);
    return rc;
}
