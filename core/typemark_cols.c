/* Column marks for a series of objects, kept apart from the objects
 * (xport/typemark.h, xp_tmcols and xp_tmread). */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "typemark_int.h"
#include "xport/error.h"
#include "xport/json.h"
#include "xport/typemark.h"

static const char CODES[] = "fiuj";

static unsigned code_bit(int code)
{
    const char *p = strchr(CODES, code);
    return code && p ? 1u << (p - CODES) : 0;
}

static int same(const struct xp_value *a, const struct xp_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case XP_V_NULL: return 1;
    case XP_V_BOOL: return !a->u.b == !b->u.b;
    case XP_V_INT: return a->u.i == b->u.i;
    case XP_V_UINT: return a->u.u == b->u.u;
    case XP_V_FLOAT: return !memcmp(&a->u.d, &b->u.d, sizeof(double));
    default:
        return a->u.s.len == b->u.s.len && !memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len);
    }
}

/* The value under a column's code: converted when the code fits it, else
 * as it is. */
static void restore_or_keep(const struct xp_value *in, int code, struct xp_value *out)
{
    if (xp_tm_restore(in, code, out))
        *out = *in;
}

/* The codes under which a value sent as it is comes back unchanged. */
static unsigned fits(const struct xp_value *v)
{
    unsigned m = 0;
    for (const char *c = CODES; *c; c++) {
        struct xp_value r;
        restore_or_keep(v, *c, &r);
        if (same(&r, v))
            m |= code_bit(*c);
    }
    return m;
}

/* ---- writing ---- */

struct run {
    int64_t from, to;
    char code;
};

struct col {
    char *key;
    unsigned fit;   /* codes every uncoded value of the column fits */
    unsigned codes; /* codes the column's values needed */
    struct run *runs;
    size_t nruns, cap;
};

struct xp_tmcols {
    struct col *c;
    size_t n, cap;
    int64_t count; /* objects put */
    int marker_named;
};

struct xp_tmcols *xp_tmcols_new(void)
{
    return xp_calloc(1, sizeof(struct xp_tmcols));
}

void xp_tmcols_free(struct xp_tmcols *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->c[i].key);
        free(c->c[i].runs);
    }
    free(c->c);
    free(c);
}

/* The column of key; hint is where it was in the last object (fields tend
 * to come in the same order). */
static struct col *column(struct xp_tmcols *c, const char *key, size_t hint)
{
    if (hint < c->n && !strcmp(c->c[hint].key, key))
        return &c->c[hint];
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->c[i].key, key))
            return &c->c[i];
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 8;
        c->c = xp_realloc(c->c, c->cap * sizeof(*c->c));
    }
    struct col *k = &c->c[c->n++];
    memset(k, 0, sizeof(*k));
    k->key = xp_strdup(key);
    k->fit = code_bit('f') | code_bit('i') | code_bit('u') | code_bit('j');
    return k;
}

static void note(struct col *k, int64_t at, int code)
{
    k->codes |= code_bit(code);
    struct run *last = k->nruns ? &k->runs[k->nruns - 1] : NULL;
    if (last && last->code == code && last->to == at - 1) {
        last->to = at;
        return;
    }
    if (k->nruns == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 4;
        k->runs = xp_realloc(k->runs, k->cap * sizeof(*k->runs));
    }
    k->runs[k->nruns++] = (struct run){at, at, (char)code};
}

int xp_tmcols_put(struct xp_tmcols *c, struct xp_buf *b, const struct xp_field *fields,
                  size_t n)
{
    size_t start = b->len;
    char stack[64], *codes = n <= sizeof(stack) ? stack : xp_malloc(n);
    int rc = 0;
    for (size_t f = 0; f < n && !rc; f++) {
        struct json_object *tree;
        int code = xp_tm_classify(&fields[f].v, &tree);
        if (code < 0) {
            rc = XP_EINVALID;
            break;
        }
        codes[f] = (char)code;
        if (f)
            xp_buf_putc(b, ',');
        rc = xp_json_put_str(b, fields[f].key, strlen(fields[f].key), "field name");
        xp_buf_putc(b, ':');
        if (!rc)
            rc = xp_tm_put_value(b, &fields[f].v, code, tree, fields[f].key);
        json_object_put(tree);
    }
    if (rc) {
        xp_buf_setlen(b, start);
    } else {
        for (size_t f = 0; f < n; f++) {
            struct col *k = column(c, fields[f].key, f);
            if (codes[f])
                note(k, c->count, codes[f]);
            else
                k->fit &= fits(&fields[f].v);
            if (!strcmp(fields[f].key, XP_TYPEMARK_KEY))
                c->marker_named = 1;
        }
        c->count++;
    }
    if (codes != stack)
        free(codes);
    return rc;
}

struct json_object *xp_tmcols_marks(const struct xp_tmcols *c)
{
    struct json_object *o = NULL;
    for (size_t i = 0; i < c->n; i++) {
        const struct col *k = &c->c[i];
        if (!k->codes)
            continue;
        if (!o)
            o = json_object_new_object();
        if (!(k->codes & (k->codes - 1)) && (k->fit & k->codes)) {
            /* one code, and every other value of the column fits it */
            char t[2] = {k->runs[0].code, 0};
            json_object_object_add(o, k->key, json_object_new_string(t));
            continue;
        }
        struct json_object *by = json_object_new_object();
        for (size_t r = 0; r < k->nruns; r++) {
            char t[2] = {k->runs[r].code, 0};
            struct json_object *list = xp_json_get(by, t);
            if (!list) {
                list = json_object_new_array();
                json_object_object_add(by, t, list);
            }
            if (k->runs[r].from == k->runs[r].to) {
                json_object_array_add(list, json_object_new_int64(k->runs[r].from));
            } else {
                struct json_object *pair = json_object_new_array();
                json_object_array_add(pair, json_object_new_int64(k->runs[r].from));
                json_object_array_add(pair, json_object_new_int64(k->runs[r].to));
                json_object_array_add(list, pair);
            }
        }
        json_object_object_add(o, k->key, by);
    }
    if (!o && c->marker_named)
        o = json_object_new_object();
    return o;
}

/* ---- reading ---- */

struct rcol {
    const char *key; /* in the marks, which the reader holds */
    char whole;      /* the column's one code, or 0 */
    struct run *runs; /* sorted by from */
    size_t nruns;
};

struct xp_tmread {
    struct json_object *marks;
    struct rcol *c;
    size_t n;
};

static int by_from(const void *a, const void *b)
{
    const struct run *x = a, *y = b;
    return x->from < y->from ? -1 : x->from > y->from;
}

static int read_runs(struct rcol *k, struct json_object *by)
{
    json_object_object_foreach(by, code, list) {
        if (!code_bit(code[0]) || code[1] || !json_object_is_type(list, json_type_array))
            return -1;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            struct json_object *e = json_object_array_get_idx(list, i);
            int64_t from, to;
            if (json_object_is_type(e, json_type_int)) {
                from = to = json_object_get_int64(e);
            } else if (json_object_is_type(e, json_type_array) &&
                       json_object_array_length(e) == 2 &&
                       json_object_is_type(json_object_array_get_idx(e, 0), json_type_int) &&
                       json_object_is_type(json_object_array_get_idx(e, 1), json_type_int)) {
                from = json_object_get_int64(json_object_array_get_idx(e, 0));
                to = json_object_get_int64(json_object_array_get_idx(e, 1));
            } else {
                return -1;
            }
            if (to < from)
                return -1;
            k->runs = xp_realloc(k->runs, (k->nruns + 1) * sizeof(*k->runs));
            k->runs[k->nruns++] = (struct run){from, to, code[0]};
        }
    }
    qsort(k->runs, k->nruns, sizeof(*k->runs), by_from);
    return 0;
}

int xp_tmread_new(struct xp_tmread **out, struct json_object *marks)
{
    *out = NULL;
    if (!json_object_is_type(marks, json_type_object))
        return xp_error_set(XP_EINVALID, "column type marks are not an object");
    struct xp_tmread *r = xp_calloc(1, sizeof(*r));
    r->marks = json_object_get(marks);
    r->c = xp_calloc((size_t)json_object_object_length(marks) + 1, sizeof(*r->c));
    json_object_object_foreach(marks, key, v) {
        struct rcol *k = &r->c[r->n++];
        k->key = key;
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                                 : NULL;
        int bad = s ? !code_bit(s[0]) || s[1]
                    : !json_object_is_type(v, json_type_object) || read_runs(k, v);
        if (bad) {
            xp_tmread_free(r);
            return xp_error_set(XP_EINVALID, "bad column type marks for field '%s'", key);
        }
        k->whole = s ? s[0] : 0;
    }
    *out = r;
    return 0;
}

static int code_at(const struct rcol *k, int64_t at)
{
    if (k->whole)
        return k->whole;
    size_t lo = 0, hi = k->nruns;
    while (lo < hi) { /* the first run starting after at */
        size_t mid = (lo + hi) / 2;
        if (k->runs[mid].from <= at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo && k->runs[lo - 1].to >= at ? k->runs[lo - 1].code : 0;
}

void xp_tmread_apply(struct xp_tmread *r, int64_t at, struct xp_field *fields, size_t n)
{
    for (size_t f = 0; f < n; f++) {
        const struct rcol *k = f < r->n && !strcmp(r->c[f].key, fields[f].key) ? &r->c[f]
                                                                              : NULL;
        for (size_t i = 0; !k && i < r->n; i++)
            if (!strcmp(r->c[i].key, fields[f].key))
                k = &r->c[i];
        int code = k ? code_at(k, at) : 0;
        if (code) {
            struct xp_value v;
            restore_or_keep(&fields[f].v, code, &v);
            fields[f].v = v;
        }
    }
}

void xp_tmread_free(struct xp_tmread *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->c[i].runs);
    free(r->c);
    json_object_put(r->marks);
    free(r);
}
