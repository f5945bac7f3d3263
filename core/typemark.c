/* Exact value types through JavaScript-number stores (typemark.h). */
#include <stdarg.h>
#include <stdio.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xport/error.h"
#include "xport/jscan.h"
#include "xport/json.h"
#include "xport/numparse.h"
#include "xport/typemark.h"
#include "typemark_int.h"

#define SAFE_INT (INT64_C(1) << 53)
#define MARK_MAX 256

/* ---- writing ---- */

/* 1 when a JSON tree holds a number a JavaScript reader would change. */
static int js_unsafe(struct json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_double: {
        double d = json_object_get_double(o);
        return !isfinite(d) || d == trunc(d);
    }
    case json_type_int: {
        int64_t i = json_object_get_int64(o);
        return i > SAFE_INT || i < -SAFE_INT;
    }
    case json_type_object: {
        json_object_object_foreach(o, k, v) {
            (void)k;
            if (js_unsafe(v))
                return 1;
        }
        return 0;
    }
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(o); i++)
            if (js_unsafe(json_object_array_get_idx(o, i)))
                return 1;
        return 0;
    default:
        return 0;
    }
}

int xp_tm_classify(const struct xp_value *v, struct json_object **tree)
{
    *tree = NULL;
    switch (v->type) {
    case XP_V_FLOAT:
        /* whole floats print as integers in JavaScript: 1.0 -> 1 */
        return !isfinite(v->u.d) || v->u.d == trunc(v->u.d) ? 'f' : 0;
    case XP_V_INT:
        return v->u.i > SAFE_INT || v->u.i < -SAFE_INT ? 'i' : 0;
    case XP_V_UINT:
        return 'u';
    case XP_V_JSON: {
        struct json_object *o;
        /* raw text, often a server's (a point scanned in place): priced first */
        if (xp_json_parse_answer(&o, v->u.s.ptr, v->u.s.len, "nested value", NULL))
            return -1;
        if (!js_unsafe(o)) {
            json_object_put(o);
            return 0;
        }
        *tree = o;
        return 'j';
    }
    default:
        return 0;
    }
}

int xp_tm_put_value(struct xp_buf *b, const struct xp_value *v, int code,
                    struct json_object *tree, const char *key)
{
    char t[32];
    switch (code) {
    case 'f':
        if (isnan(v->u.d))
            xp_buf_puts(b, "\"NaN\"");
        else if (isinf(v->u.d))
            xp_buf_puts(b, v->u.d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        else if (v->u.d == 0 && signbit(v->u.d))
            xp_buf_puts(b, "\"-0.0\"");
        else
            xp_json_put_double(b, v->u.d);
        return 0;
    case 'i':
        snprintf(t, sizeof(t), "\"%" PRId64 "\"", v->u.i);
        xp_buf_puts(b, t);
        return 0;
    case 'u':
        snprintf(t, sizeof(t), "\"%" PRIu64 "\"", v->u.u);
        xp_buf_puts(b, t);
        return 0;
    case 'j': {
        struct xp_buf text = XP_BUF_INIT;
        int rc = xp_json_put_obj(&text, tree, 0);
        if (!rc)
            rc = xp_json_put_str(b, text.ptr, text.len, key);
        xp_buf_release(&text);
        return rc;
    }
    default:
        return xp_json_put_value(b, v, key);
    }
}

int xp_typemark_put_fields(struct xp_buf *b, const struct xp_field *fields,
                           size_t n, int *marked)
{
    int rc = 0, nmark = 0, comma = 0;
    const struct xp_value *own = NULL; /* the source's own "_xport" field */
    for (size_t f = 0; f < n && !rc; f++) {
        const char *key = fields[f].key;
        if (!strcmp(key, XP_TYPEMARK_KEY)) {
            own = &fields[f].v;
            nmark++;
            continue;
        }
        struct json_object *tree;
        int code = xp_tm_classify(&fields[f].v, &tree);
        if (code < 0)
            return XP_EINVALID;
        if (comma++)
            xp_buf_putc(b, ',');
        rc = xp_json_put_str(b, key, strlen(key), "field name");
        xp_buf_putc(b, ':');
        if (!rc)
            rc = xp_tm_put_value(b, &fields[f].v, code, tree, key);
        json_object_put(tree);
        nmark += code != 0;
    }
    if (rc || !nmark) {
        *marked = 0;
        return rc;
    }
    /* second pass for the marker: classification is cheap and pure */
    if (comma)
        xp_buf_putc(b, ',');
    xp_buf_puts(b, "\"" XP_TYPEMARK_KEY "\":{");
    comma = 0;
    for (size_t f = 0; f < n && !rc; f++) {
        if (!strcmp(fields[f].key, XP_TYPEMARK_KEY))
            continue;
        struct json_object *tree;
        int code = xp_tm_classify(&fields[f].v, &tree);
        json_object_put(tree);
        if (!code)
            continue;
        if (comma++)
            xp_buf_putc(b, ',');
        rc = xp_json_put_str(b, fields[f].key, strlen(fields[f].key), "field name");
        xp_buf_printf(b, ":\"%c\"", code);
    }
    if (!rc && own) {
        if (comma)
            xp_buf_putc(b, ',');
        xp_buf_puts(b, "\"" XP_TYPEMARK_KEY "\":{\"o\":");
        rc = xp_json_put_value(b, own, XP_TYPEMARK_KEY);
        xp_buf_putc(b, '}');
    }
    xp_buf_putc(b, '}');
    *marked = 1;
    return rc;
}

/* ---- reading ---- */

static int parse_i64(const char *s, size_t len, int64_t *out)
{
    /* no '+': a typemark's text is what xport printed */
    return len && s[0] != '+' ? xp_parse_i64n(s, len, out) : -1;
}

static int str_is(const struct xp_value *v, const char *s)
{
    return v->u.s.len == strlen(s) && !memcmp(v->u.s.ptr, s, v->u.s.len);
}

int xp_tm_restore(const struct xp_value *in, int code, struct xp_value *out)
{
    *out = *in;
    switch (code) {
    case 'f':
        out->type = XP_V_FLOAT;
        if (in->type == XP_V_FLOAT)
            return 0;
        if (in->type == XP_V_INT)
            return out->u.d = (double)in->u.i, 0;
        if (in->type == XP_V_UINT)
            return out->u.d = (double)in->u.u, 0;
        if (in->type != XP_V_STRING)
            return -1;
        if (str_is(in, "NaN"))
            return out->u.d = NAN, 0;
        if (str_is(in, "Infinity"))
            return out->u.d = INFINITY, 0;
        if (str_is(in, "-Infinity"))
            return out->u.d = -INFINITY, 0;
        if (str_is(in, "-0.0"))
            return out->u.d = -0.0, 0;
        return -1;
    case 'i':
        out->type = XP_V_INT;
        if (in->type == XP_V_INT)
            return 0;
        return in->type == XP_V_STRING ? parse_i64(in->u.s.ptr, in->u.s.len, &out->u.i)
                                       : -1;
    case 'u':
        out->type = XP_V_UINT;
        if (in->type != XP_V_STRING || xp_parse_u64n(in->u.s.ptr, in->u.s.len, &out->u.u))
            return -1;
        return out->u.u > (uint64_t)INT64_MAX ? 0 : -1;
    case 'j':
        if (in->type != XP_V_STRING || !in->u.s.len ||
            (in->u.s.ptr[0] != '{' && in->u.s.ptr[0] != '['))
            return -1;
        out->type = XP_V_JSON;
        return 0;
    default:
        return -1;
    }
}

static struct xp_field *find(struct xp_field *fields, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(fields[i].key, key))
            return &fields[i];
    return NULL;
}

/* Check (apply == 0) or apply the marker mf[0..mn) to fields. */
static int walk(struct xp_field *fields, size_t n, struct xp_field *marker,
                struct xp_field *mf, size_t mn, int apply)
{
    for (size_t i = 0; i < mn; i++) {
        const struct xp_value *c = &mf[i].v;
        if (!strcmp(mf[i].key, XP_TYPEMARK_KEY)) {
            /* the source's own "_xport" field: {"o": value} */
            struct xp_field of[1];
            size_t on;
            if (c->type != XP_V_JSON ||
                xp_jscan_object((char *)c->u.s.ptr, c->u.s.len, of, 1, &on) ||
                on != 1 || strcmp(of[0].key, "o"))
                return xp_error_set(XP_EINVALID, "bad '%s' entry in the type marker",
                                    XP_TYPEMARK_KEY);
            if (apply)
                marker->v = of[0].v;
            continue;
        }
        struct xp_field *f = find(fields, n, mf[i].key);
        struct xp_value nv;
        if (!f || f == marker || c->type != XP_V_STRING || c->u.s.len != 1 ||
            xp_tm_restore(&f->v, c->u.s.ptr[0], &nv))
            return xp_error_set(XP_EINVALID,
                                "type marker does not fit field '%s'", mf[i].key);
        if (apply)
            f->v = nv;
    }
    return 0;
}

int xp_typemark_decode(struct xp_field *fields, size_t *n)
{
    struct xp_field *marker = find(fields, *n, XP_TYPEMARK_KEY);
    if (!marker || marker->v.type != XP_V_JSON || marker->v.u.s.ptr[0] != '{')
        return 0;
    static _Thread_local struct xp_field mf[MARK_MAX];
    size_t mn;
    /* check on a copy first: scanning writes into the text, and a marker
     * that does not fit must leave the point as the store holds it */
    struct xp_buf copy = XP_BUF_INIT;
    xp_buf_put(&copy, marker->v.u.s.ptr, marker->v.u.s.len);
    int rc = xp_jscan_object(copy.ptr, copy.len, mf, MARK_MAX, &mn)
                 ? xp_error_set(XP_EINVALID, "unreadable type marker")
                 : walk(fields, *n, marker, mf, mn, 0);
    xp_buf_release(&copy);
    if (rc)
        return rc;
    char *raw = (char *)marker->v.u.s.ptr;
    if (xp_jscan_object(raw, marker->v.u.s.len, mf, MARK_MAX, &mn))
        return xp_error_set(XP_EINVALID, "unreadable type marker");
    int own = find(mf, mn, XP_TYPEMARK_KEY) != NULL;
    walk(fields, *n, marker, mf, mn, 1);
    if (!own) {
        size_t at = (size_t)(marker - fields);
        memmove(marker, marker + 1, (*n - at - 1) * sizeof(*fields));
        (*n)--;
    }
    return 0;
}

/* ---- json-c documents ---- */

static int is_uint_beyond_int64(struct json_object *o)
{
    return json_object_get_int64(o) == INT64_MAX &&
           json_object_get_uint64(o) > (uint64_t)INT64_MAX;
}

static struct json_object *num_string(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static struct json_object *num_string(const char *fmt, ...)
{
    char t[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t, sizeof(t), fmt, ap);
    va_end(ap);
    return json_object_new_string(t);
}

/* The member as the store should get it; *code is its marker code or 0. */
static struct json_object *encode_member(struct json_object *v, int *code)
{
    *code = 0;
    switch (json_object_get_type(v)) {
    case json_type_double: {
        double d = json_object_get_double(v);
        if (isfinite(d) && d != trunc(d))
            return json_object_get(v);
        *code = 'f';
        if (isnan(d))
            return json_object_new_string("NaN");
        if (isinf(d))
            return json_object_new_string(d > 0 ? "Infinity" : "-Infinity");
        if (d == 0 && signbit(d))
            return json_object_new_string("-0.0");
        return json_object_get(v);
    }
    case json_type_int:
        if (is_uint_beyond_int64(v)) {
            *code = 'u';
            return num_string("%" PRIu64, json_object_get_uint64(v));
        }
        if (json_object_get_int64(v) > SAFE_INT || json_object_get_int64(v) < -SAFE_INT) {
            *code = 'i';
            return num_string("%" PRId64, json_object_get_int64(v));
        }
        return json_object_get(v);
    case json_type_object:
        return xp_typemark_tree_encode(v);
    case json_type_array: {
        if (!js_unsafe(v))
            return json_object_get(v);
        struct xp_buf text = XP_BUF_INIT;
        if (xp_json_put_obj(&text, v, 0)) {
            xp_buf_release(&text);
            return json_object_get(v);
        }
        *code = 'j';
        struct json_object *s = json_object_new_string_len(text.ptr, (int)text.len);
        xp_buf_release(&text);
        return s;
    }
    default:
        return json_object_get(v);
    }
}

struct json_object *xp_typemark_tree_encode(struct json_object *o)
{
    if (!json_object_is_type(o, json_type_object))
        return json_object_get(o);
    struct json_object *c = json_object_new_object(), *mark = NULL, *own = NULL;
    json_object_object_foreach(o, k, v) {
        if (!strcmp(k, XP_TYPEMARK_KEY)) {
            own = v;
            continue;
        }
        int code;
        json_object_object_add(c, k, encode_member(v, &code));
        if (code) {
            if (!mark)
                mark = json_object_new_object();
            char t[2] = {(char)code, 0};
            json_object_object_add(mark, k, json_object_new_string(t));
        }
    }
    if (own) {
        if (!mark)
            mark = json_object_new_object();
        struct json_object *w = json_object_new_object();
        int code;
        json_object_object_add(w, "o", encode_member(own, &code));
        json_object_object_add(mark, XP_TYPEMARK_KEY, w);
    }
    if (mark)
        json_object_object_add(c, XP_TYPEMARK_KEY, mark);
    return c;
}

static struct json_object *restore_tree(struct json_object *v, int code)
{
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                             : NULL;
    size_t n = s ? (size_t)json_object_get_string_len(v) : 0;
    switch (code) {
    case 'f':
        if (json_object_is_type(v, json_type_double))
            return json_object_get(v);
        if (json_object_is_type(v, json_type_int))
            return json_object_new_double(is_uint_beyond_int64(v)
                                              ? (double)json_object_get_uint64(v)
                                              : (double)json_object_get_int64(v));
        if (!s)
            return NULL;
        if (!strcmp(s, "NaN"))
            return json_object_new_double(NAN);
        if (!strcmp(s, "Infinity"))
            return json_object_new_double(INFINITY);
        if (!strcmp(s, "-Infinity"))
            return json_object_new_double(-INFINITY);
        if (!strcmp(s, "-0.0"))
            return json_object_new_double(-0.0);
        return NULL;
    case 'i': {
        int64_t i;
        if (json_object_is_type(v, json_type_int) && !is_uint_beyond_int64(v))
            return json_object_get(v);
        return s && !parse_i64(s, n, &i) ? json_object_new_int64(i) : NULL;
    }
    case 'u': {
        uint64_t u;
        return s && !xp_parse_u64n(s, n, &u) && u > (uint64_t)INT64_MAX
                   ? json_object_new_uint64(u) : NULL;
    }
    case 'j': {
        struct json_object *t;
        if (!s || (s[0] != '[' && s[0] != '{') || xp_json_parse(&t, s, n, "marked value")) {
            xp_error_clear();
            return NULL;
        }
        return t;
    }
    default:
        return NULL;
    }
}

int xp_typemark_tree_decode(struct json_object *o)
{
    if (!json_object_is_type(o, json_type_object))
        return 0;
    int rc = 0;
    json_object_object_foreach(o, k0, v0) {
        if (strcmp(k0, XP_TYPEMARK_KEY) && json_object_is_type(v0, json_type_object)) {
            int r = xp_typemark_tree_decode(v0);
            rc = rc ? rc : r;
        }
    }
    struct json_object *mark = xp_json_get(o, XP_TYPEMARK_KEY);
    if (!mark || !json_object_is_type(mark, json_type_object))
        return rc;
    /* build every replacement first so a marker that does not fit leaves
     * the object as the store holds it */
    size_t nm = (size_t)json_object_object_length(mark), i = 0;
    const char **keys = calloc(nm + 1, sizeof(*keys));
    struct json_object **vals = calloc(nm + 1, sizeof(*vals));
    struct json_object *own = NULL;
    int bad = 0;
    json_object_object_foreach(mark, k, c) {
        if (!strcmp(k, XP_TYPEMARK_KEY)) {
            struct json_object *ov;
            if (!json_object_is_type(c, json_type_object) ||
                !json_object_object_get_ex(c, "o", &ov)) {
                bad = 1;
                break;
            }
            own = ov;
            continue;
        }
        struct json_object *v = xp_json_get(o, k);
        const char *cs = json_object_is_type(c, json_type_string) ? json_object_get_string(c)
                                                                  : NULL;
        struct json_object *nv = v && cs && cs[0] && !cs[1] ? restore_tree(v, cs[0]) : NULL;
        if (!nv) {
            bad = 1;
            break;
        }
        keys[i] = k;
        vals[i++] = nv;
    }
    if (bad) {
        for (size_t j = 0; j < i; j++)
            json_object_put(vals[j]);
        rc = xp_error_set(XP_EINVALID, "type marker does not fit its object");
    } else {
        for (size_t j = 0; j < i; j++)
            json_object_object_add(o, keys[j], vals[j]);
        if (own) {
            json_object_get(own);
            json_object_object_add(o, XP_TYPEMARK_KEY, own);
            xp_typemark_tree_decode(own);
        } else {
            json_object_object_del(o, XP_TYPEMARK_KEY);
        }
    }
    free(keys);
    free(vals);
    return rc;
}

/* ---- the second form for documents: marks kept apart ---- */

struct json_object *xp_typemark_tree_split(struct json_object *o, struct json_object **marks)
{
    *marks = NULL;
    if (!json_object_is_type(o, json_type_object))
        return json_object_get(o);
    struct json_object *c = json_object_new_object();
    json_object_object_foreach(o, k, v) {
        struct json_object *sub = NULL, *nv;
        int code = 0;
        if (json_object_is_type(v, json_type_object))
            nv = xp_typemark_tree_split(v, &sub);
        else
            nv = encode_member(v, &code);
        json_object_object_add(c, k, nv);
        if (code) {
            char t[2] = {(char)code, 0};
            sub = json_object_new_string(t);
        }
        if (sub) {
            if (!*marks)
                *marks = json_object_new_object();
            json_object_object_add(*marks, k, sub);
        }
    }
    return c;
}

int xp_typemark_tree_apply(struct json_object *o, struct json_object *marks)
{
    if (!json_object_is_type(marks, json_type_object))
        return marks ? xp_error_set(XP_EINVALID, "type marks are not an object") : 0;
    int rc = 0;
    json_object_object_foreach(marks, k, c) {
        struct json_object *v = xp_json_get(o, k);
        if (json_object_is_type(c, json_type_object)) {
            int r = json_object_is_type(v, json_type_object)
                        ? xp_typemark_tree_apply(v, c)
                        : xp_error_set(XP_EINVALID, "type marks name object '%s', "
                                       "which is not there", k);
            rc = rc ? rc : r;
            continue;
        }
        const char *cs = json_object_is_type(c, json_type_string) ? json_object_get_string(c)
                                                                  : NULL;
        struct json_object *nv = v && cs && cs[0] && !cs[1] ? restore_tree(v, cs[0]) : NULL;
        if (!nv) {
            int r = xp_error_set(XP_EINVALID, "type mark does not fit member '%s'", k);
            rc = rc ? rc : r;
            continue;
        }
        json_object_object_add(o, k, nv);
    }
    return rc;
}

int xp_typemark_tree_mentions(struct json_object *o, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++)
            if (xp_typemark_tree_mentions(json_object_array_get_idx(o, i), prefix))
                return 1;
        return 0;
    }
    if (!json_object_is_type(o, json_type_object))
        return 0;
    json_object_object_foreach(o, k, v) {
        if (!strncmp(k, prefix, pl) || xp_typemark_tree_mentions(v, prefix))
            return 1;
    }
    return 0;
}
