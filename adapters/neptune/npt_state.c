/* A Neptune run's attributes as its queued operations leave them: each
 * operation type of neptune-client 1.x (src/neptune/internal/operation.py)
 * applied the way the server applies it when `neptune sync` sends it. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "npt.h"
#include "xport/error.h"
#include "xport/json.h"

const char *npt_type_name(enum npt_type t)
{
    static const char *const names[] = {
        "",          "float",        "int",          "bool",
        "string",    "datetime",     "stringSet",    "floatSeries",
        "stringSeries", "imageSeries", "file",       "fileSet",
        "artifact"};
    return (size_t)t < sizeof(names) / sizeof(names[0]) ? names[t] : "";
}

void npt_run_init(struct npt_run *r, const struct xp_ctx *ctx, const char *id)
{
    memset(r, 0, sizeof(*r));
    xp_buf_init(&r->lost);
    r->ctx = ctx;
    r->id = id;
}

static void attr_free(struct npt_attr *a)
{
    if (!a)
        return;
    free(a->path);
    if (a->type == NPT_STRING)
        free(a->v.s);
    for (size_t i = 0; i < a->nset; i++)
        free(a->set[i]);
    free(a->set);
    for (size_t i = 0; i < a->npts; i++) {
        if (a->type == NPT_STRING_SERIES)
            free(a->pts[i].u.s);
        if (a->type == NPT_FILE_SERIES) {
            free(a->pts[i].u.img->name);
            free(a->pts[i].u.img->description);
            free(a->pts[i].u.img);
        }
    }
    free(a->pts);
    json_object_put(a->config);
    json_object_put(a->ops);
    free(a->ext);
    free(a->file_path);
    free(a->tmp_name);
    free(a->hash);
    free(a);
}

void npt_run_release(struct npt_run *r)
{
    for (size_t i = 0; i < r->cap; i++)
        attr_free(r->attrs[i]);
    free(r->attrs);
    for (size_t i = 0; i < r->nfiles; i++)
        free(r->files[i]);
    free(r->files);
    free(r->outside_first);
    xp_buf_release(&r->lost);
    memset(r, 0, sizeof(*r));
}

void npt_outside(struct npt_run *r, const char *path)
{
    if (!r->outside++)
        r->outside_first = xp_strdup(path);
}

int npt_finish(struct npt_run *r, const char *name, const char *where,
               int allow_partial)
{
    if (r->outside)
        xp_ctx_warn(r->ctx, "run '%s': %lld file(s) read from this machine by "
                    "the absolute paths the run names (first: '%s')", name,
                    (long long)r->outside, r->outside_first);
    return xp_lost_finish(r->ctx, &r->lost, name, where, allow_partial);
}

/* ---- the table ---------------------------------------------------------- */

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t slot_of(struct npt_attr **tab, size_t cap, const char *path)
{
    size_t i = hash_str(path) & (cap - 1);
    while (tab[i] && strcmp(tab[i]->path, path))
        i = (i + 1) & (cap - 1);
    return i;
}

struct npt_attr *npt_get(struct npt_run *r, const char *path)
{
    if (!r->cap)
        return NULL;
    return r->attrs[slot_of(r->attrs, r->cap, path)];
}

static struct npt_attr *attr_add(struct npt_run *r, const char *path,
                                 enum npt_type t)
{
    if ((r->n + 1) * 2 > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct npt_attr **tab = xp_calloc(cap, sizeof(*tab));
        for (size_t i = 0; i < r->cap; i++)
            if (r->attrs[i])
                tab[slot_of(tab, cap, r->attrs[i]->path)] = r->attrs[i];
        free(r->attrs);
        r->attrs = tab;
        r->cap = cap;
    }
    struct npt_attr *a = xp_calloc(1, sizeof(*a));
    a->path = xp_strdup(path);
    a->type = t;
    r->attrs[slot_of(r->attrs, r->cap, path)] = a;
    r->n++;
    return a;
}

/* Open addressing with linear probing: removal re-inserts the run of
 * entries that follows the freed slot. */
static void attr_delete(struct npt_run *r, const char *path)
{
    if (!r->cap)
        return;
    size_t i = slot_of(r->attrs, r->cap, path);
    if (!r->attrs[i])
        return;
    attr_free(r->attrs[i]);
    r->attrs[i] = NULL;
    r->n--;
    for (size_t j = (i + 1) & (r->cap - 1); r->attrs[j];
         j = (j + 1) & (r->cap - 1)) {
        struct npt_attr *a = r->attrs[j];
        r->attrs[j] = NULL;
        r->attrs[slot_of(r->attrs, r->cap, a->path)] = a;
    }
}

struct npt_attr *npt_add(struct npt_run *r, const char *path, enum npt_type t)
{
    attr_delete(r, path);
    return attr_add(r, path, t);
}

void npt_push(struct npt_attr *a, const struct npt_point *p)
{
    if (a->npts == a->cappts) {
        a->cappts = a->cappts ? a->cappts * 2 : 16;
        a->pts = xp_realloc(a->pts, a->cappts * sizeof(*a->pts));
    }
    a->pts[a->npts++] = *p;
}

static int by_path(const void *x, const void *y)
{
    return strcmp((*(struct npt_attr *const *)x)->path,
                  (*(struct npt_attr *const *)y)->path);
}

struct npt_attr **npt_sorted(struct npt_run *r, size_t *n)
{
    struct npt_attr **v = xp_malloc((r->n + 1) * sizeof(*v));
    *n = 0;
    for (size_t i = 0; i < r->cap; i++)
        if (r->attrs[i])
            v[(*n)++] = r->attrs[i];
    qsort(v, *n, sizeof(*v), by_path);
    return v;
}

/* ---- operations --------------------------------------------------------- */

static int bad(const char *type, const char *what)
{
    return xp_error_set(XP_EINVALID, "malformed %s operation: %s", type, what);
}

/* The attribute at path with type t: made when absent; NULL (and the
 * operation counted as rejected) when the path holds another type, as the
 * server refuses such an operation. */
static struct npt_attr *want(struct npt_run *r, const char *path,
                             enum npt_type t, const char *op)
{
    struct npt_attr *a = npt_get(r, path);
    if (!a)
        return attr_add(r, path, t);
    if (a->type == t)
        return a;
    if (r->rejected++ < 5)
        xp_ctx_warn(r->ctx,
                    "run '%s': %s on '%s' (a %s) is rejected, as the server "
                    "would reject it",
                    r->id, op, path, npt_type_name(a->type));
    return NULL;
}

static int get_double(struct json_object *v, double *out)
{
    enum json_type t = json_object_get_type(v);
    if (t == json_type_double) {
        *out = json_object_get_double(v);
        return 0;
    }
    if (t == json_type_int) {
        *out = (double)json_object_get_int64(v);
        return 0;
    }
    return -1;
}

void npt_set_add(struct npt_attr *a, const char *s)
{
    size_t lo = 0, hi = a->nset;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(a->set[mid], s);
        if (!c)
            return;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    a->set = xp_realloc(a->set, (a->nset + 1) * sizeof(char *));
    memmove(a->set + lo + 1, a->set + lo, (a->nset - lo) * sizeof(char *));
    a->set[lo] = xp_strdup(s);
    a->nset++;
}

void npt_set_remove(struct npt_attr *a, const char *s)
{
    for (size_t i = 0; i < a->nset; i++) {
        if (!strcmp(a->set[i], s)) {
            free(a->set[i]);
            memmove(a->set + i, a->set + i + 1,
                    (a->nset - i - 1) * sizeof(char *));
            a->nset--;
            return;
        }
    }
}

static void clear_points(struct npt_attr *a)
{
    for (size_t i = 0; i < a->npts; i++) {
        if (a->type == NPT_STRING_SERIES)
            free(a->pts[i].u.s);
        if (a->type == NPT_FILE_SERIES) {
            free(a->pts[i].u.img->name);
            free(a->pts[i].u.img->description);
            free(a->pts[i].u.img);
        }
    }
    a->npts = 0;
}

static const char *opt_str(struct json_object *o, const char *k)
{
    struct json_object *v = xp_json_get(o, k);
    return v && json_object_get_type(v) == json_type_string
               ? json_object_get_string(v)
               : NULL;
}

static int log_values(struct npt_run *r, struct npt_attr *a,
                      struct json_object *vals, const char *type, int file,
                      int64_t off, int64_t len)
{
    size_t n = json_object_array_length(vals);
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(vals, i), *v, *st,
                           *ts;
        if (!json_object_is_type(e, json_type_object) ||
            !json_object_object_get_ex(e, "value", &v) ||
            !json_object_object_get_ex(e, "ts", &ts))
            return bad(type, "a value without value or ts");
        struct npt_point p = {0};
        struct npt_image img = {0};
        double t;
        if (get_double(ts, &t))
            return bad(type, "ts is not a number");
        p.ts_ms = (int64_t)(t * 1000.0); /* int() truncates toward zero */
        if (json_object_object_get_ex(e, "step", &st) && st) {
            if (get_double(st, &p.step))
                return bad(type, "step is not a number");
            p.has_step = 1;
        }
        if (a->type == NPT_FLOAT_SERIES) {
            if (get_double(v, &p.u.d))
                return bad(type, "value is not a number");
        } else if (a->type == NPT_STRING_SERIES) {
            if (!json_object_is_type(v, json_type_string))
                return bad(type, "value is not a string");
            p.u.s = xp_strndup(json_object_get_string(v),
                               (size_t)json_object_get_string_len(v));
        } else {
            /* ImageValue: {data, name, description}, or a bare string
             * (ImageValue.deserializer accepts both) */
            if (json_object_is_type(v, json_type_object)) {
                const char *nm = opt_str(v, "name"), *d = opt_str(v, "description");
                if (!opt_str(v, "data"))
                    return bad(type, "an image without data");
                img.name = nm ? xp_strdup(nm) : NULL;
                img.description = d ? xp_strdup(d) : NULL;
            } else if (!json_object_is_type(v, json_type_string)) {
                return bad(type, "an image without data");
            }
            img.blob = (struct npt_blob){file, off, len, (int)i};
            p.u.img = xp_malloc(sizeof(img));
            *p.u.img = img;
        }
        npt_push(a, &p);
    }
    return 0;
}

/* CopyAttribute: a copy of an atom of this run resolves here; one of
 * another run needs that run from the server, which is gone. */
static int copy_attr(struct npt_run *r, const char *path, struct json_object *op)
{
    const char *cid = opt_str(op, "container_id");
    struct json_object *sp = xp_json_get(op, "source_path");
    if (!cid || !sp || !json_object_is_type(sp, json_type_array))
        return bad("CopyAttribute", "no container_id or source_path");
    struct xp_buf src = XP_BUF_INIT;
    for (size_t i = 0; i < json_object_array_length(sp); i++) {
        const char *s = json_object_get_string(json_object_array_get_idx(sp, i));
        if (i)
            xp_buf_putc(&src, '/');
        xp_buf_puts(&src, s ? s : "");
    }
    struct npt_attr *from = strcmp(cid, r->id) ? NULL : npt_get(r, src.ptr);
    if (!from || from->type > NPT_DATETIME) {
        xp_lost_add(&r->lost, "'%s' is a copy of '%s' of run '%s', which is not in this "
                    "folder", path, src.ptr, cid);
        xp_buf_release(&src);
        return 0;
    }
    xp_buf_release(&src);
    struct npt_attr *to = want(r, path, from->type, "CopyAttribute");
    if (to && to != from) {
        if (to->type == NPT_STRING) {
            free(to->v.s);
            to->v.s = xp_strdup(from->v.s);
        } else {
            to->v = from->v;
        }
    }
    return 0;
}

static int atom(struct npt_run *r, const char *path, const char *type,
                struct json_object *op)
{
    struct json_object *v = xp_json_get(op, "value");
    enum json_type jt = json_object_get_type(v);
    struct npt_attr *a;
    if (!strcmp(type, "AssignFloat")) {
        double d;
        if (get_double(v, &d))
            return bad(type, "value is not a number");
        if ((a = want(r, path, NPT_FLOAT, type)))
            a->v.d = d;
    } else if (!strcmp(type, "AssignInt")) {
        if (jt != json_type_int)
            return bad(type, "value is not an integer");
        if ((a = want(r, path, NPT_INT, type)))
            a->v.i = json_object_get_int64(v);
    } else if (!strcmp(type, "AssignBool")) {
        if (jt != json_type_boolean)
            return bad(type, "value is not a boolean");
        if ((a = want(r, path, NPT_BOOL, type)))
            a->v.b = json_object_get_boolean(v);
    } else if (!strcmp(type, "AssignString")) {
        if (jt != json_type_string)
            return bad(type, "value is not a string");
        if ((a = want(r, path, NPT_STRING, type))) {
            free(a->v.s);
            a->v.s = xp_strndup(json_object_get_string(v),
                                (size_t)json_object_get_string_len(v));
        }
    } else { /* AssignDatetime: epoch milliseconds */
        if (jt != json_type_int)
            return bad(type, "value is not an integer");
        if ((a = want(r, path, NPT_DATETIME, type)))
            a->v.ms = json_object_get_int64(v);
    }
    return 0;
}

static struct json_object *op_copy(struct json_object *op)
{
    struct json_object *c = json_object_new_object();
    json_object_object_foreach(op, k, v)
        if (strcmp(k, "path"))
            json_object_object_add(c, k, json_object_get(v));
    return c;
}

int npt_apply(struct npt_run *r, struct json_object *op, int file, int64_t off,
              int64_t len)
{
    const char *type = opt_str(op, "type");
    struct json_object *jp = xp_json_get(op, "path");
    if (!type)
        return xp_error_set(XP_EINVALID, "an operation without a type");
    if (!jp || !json_object_is_type(jp, json_type_array) ||
        !json_object_array_length(jp))
        return bad(type, "no path");
    struct xp_buf pb = XP_BUF_INIT;
    for (size_t i = 0; i < json_object_array_length(jp); i++) {
        struct json_object *s = json_object_array_get_idx(jp, i);
        if (!json_object_is_type(s, json_type_string)) {
            xp_buf_release(&pb);
            return bad(type, "a path segment is not a string");
        }
        if (i)
            xp_buf_putc(&pb, '/');
        xp_buf_puts(&pb, json_object_get_string(s));
    }
    char *path = xp_buf_detach(&pb);
    int rc = 0;
    struct npt_attr *a = NULL;
    struct json_object *vals = xp_json_get(op, "values");
    r->nops++;
    if (!strncmp(type, "Assign", 6) && strcmp(type, "AssignArtifact")) {
        if (strcmp(type, "AssignFloat") && strcmp(type, "AssignInt") &&
            strcmp(type, "AssignBool") && strcmp(type, "AssignString") &&
            strcmp(type, "AssignDatetime"))
            rc = xp_error_set(XP_EINVALID, "unknown operation type '%s'", type);
        else
            rc = atom(r, path, type, op);
    } else if (!strcmp(type, "LogFloats") || !strcmp(type, "LogStrings") ||
               !strcmp(type, "LogImages")) {
        enum npt_type t = type[3] == 'F'   ? NPT_FLOAT_SERIES
                          : type[3] == 'S' ? NPT_STRING_SERIES
                                           : NPT_FILE_SERIES;
        if (!vals || !json_object_is_type(vals, json_type_array))
            rc = bad(type, "no values");
        else if ((a = want(r, path, t, type)))
            rc = log_values(r, a, vals, type, file, off, len);
    } else if (!strcmp(type, "ClearFloatLog") || !strcmp(type, "ClearStringLog") ||
               !strcmp(type, "ClearImageLog")) {
        enum npt_type t = type[5] == 'F'   ? NPT_FLOAT_SERIES
                          : type[5] == 'S' ? NPT_STRING_SERIES
                                           : NPT_FILE_SERIES;
        if ((a = want(r, path, t, type)))
            clear_points(a);
    } else if (!strcmp(type, "ConfigFloatSeries")) {
        if ((a = want(r, path, NPT_FLOAT_SERIES, type))) {
            json_object_put(a->config);
            a->config = op_copy(op);
            json_object_object_del(a->config, "type");
        }
    } else if (!strcmp(type, "AddStrings") || !strcmp(type, "RemoveStrings")) {
        if (!vals || !json_object_is_type(vals, json_type_array))
            rc = bad(type, "no values");
        else if ((a = want(r, path, NPT_STRING_SET, type)))
            for (size_t i = 0; i < json_object_array_length(vals); i++) {
                const char *s = json_object_get_string(json_object_array_get_idx(vals, i));
                if (s)
                    (type[0] == 'A' ? npt_set_add : npt_set_remove)(a, s);
            }
    } else if (!strcmp(type, "ClearStringSet")) {
        if ((a = want(r, path, NPT_STRING_SET, type)))
            while (a->nset)
                npt_set_remove(a, a->set[0]);
    } else if (!strcmp(type, "DeleteAttribute")) {
        attr_delete(r, path);
    } else if (!strcmp(type, "UploadFile") || !strcmp(type, "UploadFileContent")) {
        const char *ext = opt_str(op, "ext");
        if (!ext)
            rc = bad(type, "no ext");
        else if (type[10] == 'C' && !opt_str(op, "file_content"))
            rc = bad(type, "no file_content");
        else if (type[10] != 'C' && !opt_str(op, "file_path") &&
                 !opt_str(op, "tmp_file_name"))
            rc = bad(type, "neither file_path nor tmp_file_name");
        else if ((a = want(r, path, NPT_FILE, type))) {
            free(a->ext);
            free(a->file_path);
            free(a->tmp_name);
            a->ext = xp_strdup(ext);
            a->file_path = a->tmp_name = NULL;
            a->has_content = type[10] == 'C';
            /* the line locates the folder of upload_path/ too */
            a->content = (struct npt_blob){file, off, len, -1};
            if (!a->has_content) {
                const char *fp = opt_str(op, "file_path"),
                           *tn = opt_str(op, "tmp_file_name");
                a->file_path = fp ? xp_strdup(fp) : NULL;
                a->tmp_name = tn ? xp_strdup(tn) : NULL;
            }
        }
    } else if (!strcmp(type, "UploadFileSet") || !strcmp(type, "DeleteFiles")) {
        if ((a = want(r, path, NPT_FILE_SET, type))) {
            if (!a->ops)
                a->ops = json_object_new_array();
            json_object_array_add(a->ops, op_copy(op));
        }
    } else if (!strcmp(type, "AssignArtifact") ||
               !strcmp(type, "TrackFilesToArtifact") ||
               !strcmp(type, "ClearArtifact")) {
        if ((a = want(r, path, NPT_ARTIFACT, type))) {
            if (!a->ops)
                a->ops = json_object_new_array();
            json_object_array_add(a->ops, op_copy(op));
            if (type[0] != 'T') { /* AssignArtifact or ClearArtifact */
                free(a->hash);
                a->hash = type[0] == 'A' && opt_str(op, "hash")
                              ? xp_strdup(opt_str(op, "hash"))
                              : NULL;
            }
        }
    } else if (!strcmp(type, "CopyAttribute")) {
        rc = copy_attr(r, path, op);
    } else {
        rc = xp_error_set(XP_EINVALID, "unknown operation type '%s'", type);
    }
    free(path);
    return rc;
}
