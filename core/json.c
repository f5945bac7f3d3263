/* JSON writing with exact doubles, and json-c parsing helpers
 * (include/xport/json.h). */
#include <errno.h>
#include <float.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/fs.h"
#include "xport/jscan.h"
#include "xport/json.h"
#include "xport/sys/http.h" /* xp_http_redact_url */

/* Decimal m * 10^e with m < 2^64. Two exact cases:
 * - Clinger: m <= 2^53 and |e| <= 22, so m and 10^|e| are exact doubles
 *   and one IEEE multiply or divide rounds correctly.
 * - x87 extended precision (64-bit significand): m and 10^|e| (|e| <= 27)
 *   are exact long doubles, so r = m * or / 10^|e| is rounded once, and
 *   rounding r to double gives strtod's result unless r lies exactly on a
 *   midpoint between two doubles: then we decline. */
int xp_fast_double(const char *s, size_t n, double *out)
{
#if FLT_EVAL_METHOD != 0
    (void)s; (void)n; (void)out;
    return 0;
#else
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,
                                 1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
                                 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0;
    int neg = n && s[0] == '-';
    uint64_t m = 0;
    int e = 0;
    i += (size_t)neg;
    size_t d0 = i;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (m > (UINT64_MAX - 9) / 10)
            return 0;
        m = m * 10 + (uint64_t)(s[i] - '0');
    }
    if (i == d0)
        return 0; /* JSON wants a digit before anything else */
    if (i < n && s[i] == '.') {
        size_t f0 = ++i;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (m > (UINT64_MAX - 9) / 10)
                return 0;
            m = m * 10 + (uint64_t)(s[i] - '0');
            e--;
        }
        if (i == f0)
            return 0; /* "1." */
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0, x = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        size_t x0 = i;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            x = x * 10 + (s[i] - '0');
            if (x > 1000)
                return 0;
        }
        if (i == x0)
            return 0; /* "1e", "1e+" */
        e += eneg ? -x : x;
    }
    if (i != n)
        return 0;
    double d;
    if (m == 0) {
        d = 0.0;
    } else if (m <= ((uint64_t)1 << 53) && e >= -22 && e <= 22) {
        d = (double)m;
        d = e < 0 ? d / p10[-e] : d * p10[e];
    } else {
#if LDBL_MANT_DIG == 64
        /* some emulators (valgrind) run long double at double precision:
         * use this path only where 2^63 + 1 is really representable */
        static atomic_int extended = -1; /* threads may race here: all agree */
        int ext = atomic_load(&extended);
        if (ext < 0) {
            volatile long double big = (long double)(UINT64_C(1) << 63);
            volatile long double one = 1.0L;
            ext = big + one != big;
            atomic_store(&extended, ext);
        }
        if (!ext || e < -27 || e > 27)
            return 0;
        /* exact: 10^27 = 5^27 * 2^27 and 5^27 < 2^64 */
        static const long double p10l[] = {
            1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
            1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
            1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
        long double r = e < 0 ? (long double)m / p10l[-e] : (long double)m * p10l[e];
        /* the x87 format: 64-bit significand (explicit leading bit), then
         * sign and 15-bit exponent */
        union {
            long double ld;
            struct {
                uint64_t sig;
                uint16_t sexp;
            } x;
        } u;
        memset(&u, 0, sizeof(u));
        u.ld = r;
        int ex = (int)(u.x.sexp & 0x7fff) - 16383;
        if (ex < -1021 || ex > 1022)
            return 0; /* near subnormal or overflow: strtod */
        if ((u.x.sig & 0x7ff) == 0x400)
            return 0; /* exactly between two doubles */
        d = (double)r;
#else
        return 0;
#endif
    }
    *out = neg ? -d : d;
    return 1;
#endif
}

int xp_parse_double(const char *s, size_t len, double *out)
{
    char tmp[64];
    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (!strcmp(tmp, "NaN")) {
        *out = NAN;
        return 0;
    }
    if (!strcmp(tmp, "Infinity")) {
        *out = INFINITY;
        return 0;
    }
    if (!strcmp(tmp, "-Infinity")) {
        *out = -INFINITY;
        return 0;
    }
    char *end;
    errno = 0;
    double d = strtod(tmp, &end);
    if (*end != '\0' || end == tmp)
        return -1;
    /* strtod accepts "inf", "nan", hex floats: JSON does not */
    for (size_t i = 0; i < len; i++) {
        char c = tmp[i];
        if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
              c == 'e' || c == 'E'))
            return -1;
    }
    *out = d;
    return 0;
}

int xp_json_put_str(struct xp_buf *b, const char *s, size_t len,
                    const char *what)
{
    static const char hex[] = "0123456789abcdef";
    /* most names and keys are plain printable ASCII: one pass, one copy */
    size_t plain = 0;
    while (plain < len && (unsigned char)s[plain] >= 0x20 && (unsigned char)s[plain] < 0x80 &&
           s[plain] != '"' && s[plain] != '\\')
        plain++;
    if (plain == len) {
        xp_buf_grow(b, len + 2);
        b->ptr[b->len] = '"';
        memcpy(b->ptr + b->len + 1, s, len);
        b->ptr[b->len + 1 + len] = '"';
        xp_buf_setlen(b, b->len + len + 2);
        return 0;
    }
    if (!xp_utf8_valid(s + plain, len - plain))
        return xp_error_set(XP_EINVALID, "invalid UTF-8 in %s",
                            what ? what : "string");
    xp_buf_grow(b, len + 2);
    xp_buf_putc(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        xp_buf_put(b, s + start, i - start);
        start = i + 1;
        switch (c) {
        case '"': xp_buf_put(b, "\\\"", 2); break;
        case '\\': xp_buf_put(b, "\\\\", 2); break;
        case '\n': xp_buf_put(b, "\\n", 2); break;
        case '\r': xp_buf_put(b, "\\r", 2); break;
        case '\t': xp_buf_put(b, "\\t", 2); break;
        case '\b': xp_buf_put(b, "\\b", 2); break;
        case '\f': xp_buf_put(b, "\\f", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            xp_buf_put(b, u, 6);
        }
        }
    }
    xp_buf_put(b, s + start, len - start);
    xp_buf_putc(b, '"');
    return 0;
}

void xp_json_put_int(struct xp_buf *b, int64_t v)
{
    char tmp[XP_INT_BUFSZ];
    xp_buf_put(b, tmp, xp_fmt_int(tmp, v));
}

void xp_json_put_double(struct xp_buf *b, double d)
{
    char tmp[XP_DOUBLE_BUFSZ];
    size_t n = xp_fmt_double(tmp, d);
    xp_buf_put(b, tmp, n);
}

int xp_json_put_value(struct xp_buf *b, const struct xp_value *v,
                      const char *what)
{
    switch (v->type) {
    case XP_V_NULL: xp_buf_put(b, "null", 4); return 0;
    case XP_V_BOOL: xp_buf_puts(b, v->u.b ? "true" : "false"); return 0;
    case XP_V_INT: xp_json_put_int(b, v->u.i); return 0;
    case XP_V_UINT: xp_buf_printf(b, "%" PRIu64, v->u.u); return 0;
    case XP_V_FLOAT: xp_json_put_double(b, v->u.d); return 0;
    case XP_V_STRING: return xp_json_put_str(b, v->u.s.ptr, v->u.s.len, what);
    case XP_V_JSON: {
        /* re-serialise so the text is canonical and known to be valid; the
         * text is often a server's, scanned in place: priced first */
        struct json_object *o;
        int rc = xp_json_parse_answer(&o, v->u.s.ptr, v->u.s.len, what, NULL);
        if (rc)
            return rc;
        rc = xp_json_put_obj(b, o, 0);
        json_object_put(o);
        return rc;
    }
    }
    return xp_error_set(XP_EINVALID, "unknown value type in %s",
                        what ? what : "value");
}

static int is_uint_beyond_int64(struct json_object *o)
{
    return json_object_get_int64(o) == INT64_MAX &&
           json_object_get_uint64(o) > (uint64_t)INT64_MAX;
}

static int keycmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int xp_json_put_obj(struct xp_buf *b, struct json_object *o, int sort_keys)
{
    int rc = 0;
    switch (json_object_get_type(o)) {
    case json_type_null: xp_buf_put(b, "null", 4); break;
    case json_type_boolean:
        xp_buf_puts(b, json_object_get_boolean(o) ? "true" : "false");
        break;
    case json_type_int:
        if (is_uint_beyond_int64(o))
            xp_buf_printf(b, "%" PRIu64, json_object_get_uint64(o));
        else
            xp_json_put_int(b, json_object_get_int64(o));
        break;
    case json_type_double: xp_json_put_double(b, json_object_get_double(o)); break;
    case json_type_string:
        rc = xp_json_put_str(b, json_object_get_string(o),
                             (size_t)json_object_get_string_len(o), "string");
        break;
    case json_type_array: {
        size_t n = json_object_array_length(o);
        xp_buf_putc(b, '[');
        for (size_t i = 0; i < n && !rc; i++) {
            if (i)
                xp_buf_putc(b, ',');
            rc = xp_json_put_obj(b, json_object_array_get_idx(o, i), sort_keys);
        }
        xp_buf_putc(b, ']');
        break;
    }
    case json_type_object: {
        size_t n = (size_t)json_object_object_length(o), i = 0;
        const char **keys = xp_malloc((n ? n : 1) * sizeof(*keys));
        json_object_object_foreach(o, k, v) {
            (void)v;
            keys[i++] = k;
        }
        if (sort_keys)
            qsort(keys, n, sizeof(*keys), keycmp);
        xp_buf_putc(b, '{');
        for (i = 0; i < n && !rc; i++) {
            if (i)
                xp_buf_putc(b, ',');
            rc = xp_json_put_str(b, keys[i], strlen(keys[i]), "object key");
            if (rc)
                break;
            xp_buf_putc(b, ':');
            rc = xp_json_put_obj(b, json_object_object_get(o, keys[i]),
                                 sort_keys);
        }
        xp_buf_putc(b, '}');
        free(keys);
        break;
    }
    }
    return rc;
}

/* Whether the digits d[0..n) (no sign, no leading zero) exceed lim. */
static int digits_beyond(const char *d, size_t n, const char *lim)
{
    size_t ln = strlen(lim);
    return n != ln ? n > ln : memcmp(d, lim, n) > 0;
}

/* json-c saturates an integer beyond 64 bits (10^9999 reads as UINT64_MAX)
 * and reads a float beyond double's range as +-Inf: values the source never
 * had. The offset of the first such number in s[0..n), or (size_t)-1. */
static size_t number_out_of_range(const char *s, size_t n)
{
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
            continue;
        }
        if (c != '-' && (c < '0' || c > '9'))
            continue;
        size_t d0 = i + (c == '-'), k = d0;
        while (k < n && s[k] >= '0' && s[k] <= '9')
            k++;
        size_t nd = k - d0, e = k;
        while (e < n && ((s[e] >= '0' && s[e] <= '9') || s[e] == '.' || s[e] == 'e' ||
                         s[e] == 'E' || s[e] == '+' || s[e] == '-'))
            e++;
        if (e == k) {
            if (nd && digits_beyond(s + d0, nd,
                                    c == '-' ? "9223372036854775808" : "18446744073709551615"))
                return i;
        } else if (nd > 300 || memchr(s + k, 'e', e - k) || memchr(s + k, 'E', e - k)) {
            /* only a float this long or with an exponent can overflow */
            char *t = xp_strndup(s + i, e - i);
            double d = strtod(t, NULL);
            free(t);
            if (isinf(d))
                return i;
        }
        i = e - 1;
    }
    return (size_t)-1;
}

int xp_json_parse(struct json_object **out, const char *text, size_t len,
                  const char *what)
{
    *out = NULL;
    struct json_tokener *tok = json_tokener_new_ex(XP_JSON_DEPTH);
    if (!tok)
        return xp_error_set(XP_ENOMEM, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    int rc = 0;
    if (jerr == json_tokener_continue) {
        /* a complete top-level number is only finished by what follows
         * it: a newline, which also ends a "//" comment, so that a
         * truncated text ending in one stays truncated (a NUL made json-c
         * hand back the innermost value: "[1,2//" gave 2) */
        o = json_tokener_parse_ex(tok, "\n", 1);
        jerr = json_tokener_get_error(tok);
        if (jerr != json_tokener_success || !o)
            rc = xp_error_set(XP_EINVALID, "truncated JSON in %s",
                              what ? what : "input");
        used = len;
    } else if (jerr != json_tokener_success) {
        rc = xp_error_set(XP_EINVALID, "malformed JSON in %s: %s at byte %zu",
                          what ? what : "input", json_tokener_error_desc(jerr),
                          used);
    }
    size_t big;
    if (!rc && (big = number_out_of_range(text, used)) != (size_t)-1)
        rc = xp_error_set(XP_EINVALID, "number out of range in %s at byte %zu",
                          what ? what : "input", big);
    if (!rc) {
        for (size_t i = used; i < len; i++) {
            char c = text[i];
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t' && c != '\0') {
                rc = xp_error_set(XP_EINVALID,
                                  "trailing data in %s at byte %zu",
                                  what ? what : "input", i);
                break;
            }
        }
    }
    json_tokener_free(tok);
    if (rc) {
        json_object_put(o);
        return rc;
    }
    *out = o;
    return 0;
}

int xp_json_parse_answer(struct json_object **out, const char *text, size_t len,
                         const char *what, const char *url)
{
    /* Of issue 16's two ways to bound a dense answer, this is the guard:
     * one pass over the text that builds nothing, then json-c or a refusal,
     * for every answer in one place. Streaming each vendor's pages would
     * bound even huge legitimate ones, but the pages that can be big are
     * streamed or scanned in place already (ml-dash metric pages, Comet
     * metrics, Neptune series pages first) and the rest stay well under the
     * budget (json.h). The pass takes 2 to 9% of json-c's own time on the
     * same page (9% on W&B's history pages of JSON strings, which json-c
     * reads fastest; bench/json_answer.c): ~3% of the CPU of a W&B download,
     * within the noise of bench/wandb_server.sh. */
    uint64_t values, cost = xp_jscan_cost(text, len, &values);
    uint64_t budget = (uint64_t)len * XP_JSON_TREE_RATIO;
    if (budget < XP_JSON_TREE_FLOOR)
        budget = XP_JSON_TREE_FLOOR;
    if (cost <= budget)
        return xp_json_parse(out, text, len, what);
    *out = NULL;
    char *ru = url ? xp_http_redact_url(url) : NULL;
    int rc = xp_error_set(XP_EINVALID,
                          "%s%s%s is too dense to parse: %" PRIu64 " JSON values in %zu "
                          "bytes would take about %" PRIu64 " MiB, over the %" PRIu64
                          " MiB xport allows a JSON text of that size",
                          what ? what : "an answer", ru ? " from " : "", ru ? ru : "",
                          values, len, cost >> 20, budget >> 20);
    free(ru);
    return rc;
}

int xp_json_read_file(struct json_object **out, const char *path)
{
    struct xp_buf b = XP_BUF_INIT;
    *out = NULL;
    int rc = xp_read_file(&b, path, (size_t)256 << 20);
    if (!rc)
        rc = xp_json_parse(out, b.ptr, b.len, path);
    xp_buf_release(&b);
    return rc;
}

int xp_value_from_json(struct xp_value *out, struct json_object *o,
                       struct xp_arena *arena)
{
    memset(out, 0, sizeof(*out));
    switch (json_object_get_type(o)) {
    case json_type_null: out->type = XP_V_NULL; return 0;
    case json_type_boolean:
        out->type = XP_V_BOOL;
        out->u.b = json_object_get_boolean(o);
        return 0;
    case json_type_int:
        if (is_uint_beyond_int64(o)) {
            out->type = XP_V_UINT;
            out->u.u = json_object_get_uint64(o);
        } else {
            out->type = XP_V_INT;
            out->u.i = json_object_get_int64(o);
        }
        return 0;
    case json_type_double:
        out->type = XP_V_FLOAT;
        out->u.d = json_object_get_double(o);
        return 0;
    case json_type_string:
        out->type = XP_V_STRING;
        out->u.s.ptr = json_object_get_string(o);
        out->u.s.len = (size_t)json_object_get_string_len(o);
        return 0;
    case json_type_object:
    case json_type_array: {
        struct xp_buf b = XP_BUF_INIT;
        int rc = xp_json_put_obj(&b, o, 0);
        if (!rc) {
            out->type = XP_V_JSON;
            out->u.s.ptr = xp_arena_strndup(arena, b.ptr, b.len);
            out->u.s.len = b.len;
        }
        xp_buf_release(&b);
        return rc;
    }
    }
    return xp_error_set(XP_EINVALID, "unknown JSON type");
}

struct json_object *xp_value_to_json(const struct xp_value *v)
{
    switch (v->type) {
    case XP_V_NULL: return NULL;
    case XP_V_BOOL: return json_object_new_boolean(v->u.b);
    case XP_V_INT: return json_object_new_int64(v->u.i);
    case XP_V_UINT: return json_object_new_uint64(v->u.u);
    case XP_V_FLOAT: return json_object_new_double(v->u.d);
    case XP_V_STRING:
        return json_object_new_string_len(v->u.s.ptr, (int)v->u.s.len);
    case XP_V_JSON: {
        struct json_object *o = NULL;
        if (xp_json_parse_answer(&o, v->u.s.ptr, v->u.s.len, "value", NULL))
            return NULL;
        return o;
    }
    }
    return NULL;
}

const char *xp_json_str(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

const char *xp_json_name(struct json_object *o, const char *key, const char *what, int *rc)
{
    *rc = 0;
    struct json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (strlen(s) != n) {
        struct xp_buf b = XP_BUF_INIT;
        xp_json_put_str(&b, s, n, NULL); /* the whole name, NUL as \u0000 */
        *rc = xp_error_set(XP_EINVALID, "%s %s has a NUL byte in its name, which xport "
                           "cannot carry", what, b.ptr ? b.ptr : "");
        xp_buf_release(&b);
        return NULL;
    }
    return s;
}

struct json_object *xp_json_get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (o)
        json_object_object_get_ex(o, key, &v);
    return v;
}

const char **xp_json_strings(struct json_object *o, const char *key, size_t *n)
{
    struct json_object *arr = xp_json_get(o, key);
    *n = 0;
    if (!arr || !json_object_is_type(arr, json_type_array))
        return NULL;
    size_t len = json_object_array_length(arr);
    const char **v = xp_calloc(len + 1, sizeof(*v));
    for (size_t i = 0; i < len; i++) {
        struct json_object *t = json_object_array_get_idx(arr, i);
        if (json_object_is_type(t, json_type_string))
            v[(*n)++] = json_object_get_string(t);
    }
    return v;
}

int xp_json_write_file(const char *path, struct json_object *o)
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
