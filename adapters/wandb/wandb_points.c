/* Values from value_json, and the spool encoding of points and log lines
 * (wandb_run.h). The encoding is private to one process: host byte order,
 * doubles as their bit patterns. */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/json.h"
#include "xport/pb.h"
#include "xport/spool.h"
#include "wandb_run.h"

/* ---- value_json ------------------------------------------------------- */

/* A JSON number token: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 * Returns 1 for an integer, 2 for a float, 0 when it is not a number. */
/* The end of the run of digits in s[i..n): eight at a time while it lasts
 * (a %.17g float has 17 of them, and values come by the million). A byte
 * is a digit when its high nibble is 3 and stays 3 with 6 added; no byte
 * of 0x30-0x3f carries into the next. */
static size_t digits_end(const char *s, size_t i, size_t n)
{
    const uint64_t hi = 0xF0F0F0F0F0F0F0F0ull, threes = 0x3030303030303030ull;
    while (n - i >= 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if ((x & hi) != threes || ((x + 0x0606060606060606ull) & hi) != threes)
            break;
        i += 8;
    }
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

static int number_kind(const char *s, size_t n)
{
    size_t i = 0;
    int kind = 1;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n || s[i] < '0' || s[i] > '9')
        return 0;
    if (s[i] == '0')
        i++;
    else
        i = digits_end(s, i, n);
    if (i < n && s[i] == '.') {
        kind = 2;
        i++;
        size_t d = i;
        i = digits_end(s, i, n);
        if (i == d)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        kind = 2;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t d = i;
        i = digits_end(s, i, n);
        if (i == d)
            return 0;
    }
    return i == n ? kind : 0;
}

static int parse_int64(const char *s, size_t n, int64_t *out)
{
    int neg = s[0] == '-';
    uint64_t v = 0;
    for (size_t i = (size_t)neg; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return -1;
        *out = (int64_t)v;
    }
    return 0;
}

static int is_tok(const char *s, size_t n, const char *tok)
{
    return strlen(tok) == n && !memcmp(s, tok, n);
}

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* W&B writes compact JSON; trim the odd surrounding blank anyway. */
static void trim(const char **text, size_t *len)
{
    while (*len && blank(**text)) {
        (*text)++;
        (*len)--;
    }
    while (*len && blank((*text)[*len - 1]))
        (*len)--;
}

int wval_scalar(struct xp_value *v, const char *text, size_t len)
{
    memset(v, 0, sizeof(*v));
    trim(&text, &len);
    int kind = number_kind(text, len);
    if (kind == 1 && !parse_int64(text, len, &v->u.i)) {
        v->type = XP_V_INT;
        return 1;
    }
    if (kind == 2 && len < 64) {
        /* number_kind has checked the token: no re-validation needed */
        v->type = XP_V_FLOAT;
        if (!xp_fast_double(text, len, &v->u.d)) {
            char tmp[64];
            memcpy(tmp, text, len);
            tmp[len] = '\0';
            v->u.d = strtod(tmp, NULL);
        }
        return 1;
    }
    if (is_tok(text, len, "NaN") || is_tok(text, len, "Infinity") ||
        is_tok(text, len, "-Infinity")) {
        if (!xp_parse_double(text, len, &v->u.d)) {
            v->type = XP_V_FLOAT;
            return 1;
        }
    }
    if (is_tok(text, len, "true") || is_tok(text, len, "false")) {
        v->type = XP_V_BOOL;
        v->u.b = text[0] == 't';
        return 1;
    }
    if (is_tok(text, len, "null")) {
        v->type = XP_V_NULL;
        return 1;
    }
    return 0;
}

int wval_parse(struct xp_value *v, const char *text, size_t len,
               struct json_object **hold, struct xp_arena *arena)
{
    *hold = NULL;
    if (wval_scalar(v, text, len))
        return 0;
    /* strings, objects, arrays, and integers beyond int64 */
    trim(&text, &len);
    struct json_object *o;
    int rc = xp_json_parse(&o, text, len, "value_json");
    if (rc)
        return rc;
    rc = xp_value_from_json(v, o, arena);
    if (rc) {
        json_object_put(o);
        return rc;
    }
    *hold = o;
    return 0;
}

/* ---- point encoding ----------------------------------------------------- */

static const char *const wpt_names[WPT_NKEYS] = {
    "value", "step", "timestamp", "runtime", "_step", "_timestamp"};

static void put_varint(struct xp_buf *b, uint64_t v)
{
    unsigned char tmp[XP_PB_VARINT_MAX];
    xp_buf_put(b, tmp, xp_pb_varint_put(tmp, v));
}

static void put_value(struct xp_buf *b, const struct xp_value *v)
{
    xp_buf_putc(b, (char)v->type);
    switch (v->type) {
    case XP_V_NULL: break;
    case XP_V_BOOL: xp_buf_putc(b, (char)(v->u.b ? 1 : 0)); break;
    case XP_V_INT: xp_buf_put(b, &v->u.i, 8); break;
    case XP_V_UINT: xp_buf_put(b, &v->u.u, 8); break;
    case XP_V_FLOAT: xp_buf_put(b, &v->u.d, 8); break;
    case XP_V_STRING:
    case XP_V_JSON:
        put_varint(b, v->u.s.len);
        xp_buf_put(b, v->u.s.ptr, v->u.s.len);
        break;
    }
}

void wpt_encode(struct xp_buf *b, const struct xp_value fields[WPT_NKEYS],
                const int has[WPT_NKEYS])
{
    unsigned mask = 0;
    for (int k = 0; k < WPT_NKEYS; k++)
        if (has[k])
            mask |= 1u << k;
    /* scalars (the usual point) are put in one piece: per-byte puts cost
     * more than the rest of the encoding */
    unsigned char tmp[1 + WPT_NKEYS * 9];
    size_t n = 0;
    tmp[n++] = (unsigned char)mask;
    for (int k = 0; k < WPT_NKEYS; k++) {
        if (!has[k])
            continue;
        const struct xp_value *v = &fields[k];
        if (v->type == XP_V_STRING || v->type == XP_V_JSON) {
            xp_buf_put(b, tmp, n);
            n = 0;
            put_value(b, v);
            continue;
        }
        tmp[n++] = (unsigned char)v->type;
        if (v->type == XP_V_BOOL)
            tmp[n++] = (unsigned char)(v->u.b ? 1 : 0);
        else if (v->type != XP_V_NULL) {
            memcpy(tmp + n, &v->u, 8); /* i, u and d share these 8 bytes */
            n += 8;
        }
    }
    xp_buf_put(b, tmp, n);
}

struct cursor {
    const unsigned char *p, *end;
};

static int get_bytes(struct cursor *c, void *out, size_t n)
{
    if ((size_t)(c->end - c->p) < n)
        return -1;
    memcpy(out, c->p, n);
    c->p += n;
    return 0;
}

static int get_varint(struct cursor *c, uint64_t *out)
{
    return xp_pb_varint_get(&c->p, c->end, out);
}

static int get_value_any(struct cursor *c, struct xp_value *v,
                         struct xp_arena *arena)
{
    unsigned char t;
    if (get_bytes(c, &t, 1))
        return -1;
    memset(v, 0, sizeof(*v));
    v->type = (enum xp_vtype)t;
    switch (t) {
    case XP_V_NULL: return 0;
    case XP_V_BOOL: {
        unsigned char x;
        if (get_bytes(c, &x, 1))
            return -1;
        v->u.b = x != 0;
        return 0;
    }
    case XP_V_INT: return get_bytes(c, &v->u.i, 8);
    case XP_V_UINT: return get_bytes(c, &v->u.u, 8);
    case XP_V_FLOAT: return get_bytes(c, &v->u.d, 8);
    case XP_V_STRING:
    case XP_V_JSON: {
        uint64_t n;
        if (get_varint(c, &n) || n > (uint64_t)(c->end - c->p))
            return -1;
        v->u.s.ptr = xp_arena_strndup(arena, (const char *)c->p, (size_t)n);
        v->u.s.len = (size_t)n;
        c->p += n;
        return 0;
    }
    }
    return -1;
}

int wpt_spool_ref(struct xp_spool *sp, size_t stream, uint64_t back,
                  const struct xp_value *value)
{
    if (value->type == XP_V_STRING || value->type == XP_V_JSON) {
        struct xp_buf b = XP_BUF_INIT;
        xp_buf_putc(&b, (char)WPT_REF);
        put_varint(&b, back);
        put_value(&b, value);
        int rc = xp_spool_put(sp, stream, b.ptr, b.len);
        xp_buf_release(&b);
        return rc;
    }
    /* the usual point: written in place, wide stores */
    size_t vn = value->type == XP_V_NULL ? 1 : value->type == XP_V_BOOL ? 2 : 9;
    size_t n = 1 + xp_pb_varint_len(back) + vn;
    unsigned char *p;
    int rc = xp_spool_reserve(sp, stream, n, (void **)&p);
    if (rc)
        return rc;
    *p++ = WPT_REF;
    p += xp_pb_varint_put(p, back);
    *p++ = (unsigned char)value->type;
    if (value->type == XP_V_BOOL)
        *p = (unsigned char)(value->u.b ? 1 : 0);
    else if (value->type != XP_V_NULL)
        memcpy(p, &value->u, 8);
    return xp_spool_commit(sp, stream);
}

/* The fields of `mask` (a bit per enum wpt_key), appended to fields[*n].
 * Inline, with the cursor in registers and numbers read in place: four
 * values a point, 23M points in the benchmark's emission. */
static inline int get_fields(struct cursor *c, unsigned mask,
                             struct xp_field *fields, size_t *n,
                             struct xp_arena *arena)
{
    const unsigned char *p = c->p, *end = c->end;
    size_t m = *n;
    int rc = 0;
    mask &= (1u << WPT_NKEYS) - 1;
    for (int k = 0; mask && !rc; k++, mask >>= 1) {
        if (!(mask & 1))
            continue;
        struct xp_field *f = &fields[m++];
        f->key = wpt_names[k];
        if (end - p >= 9 &&
            (p[0] == XP_V_INT || p[0] == XP_V_UINT || p[0] == XP_V_FLOAT)) {
            f->v.type = (enum xp_vtype)p[0];
            memcpy(&f->v.u.i, p + 1, 8);
            f->v.u.s.len = 0; /* as get_value_any's memset leaves it */
            p += 9;
        } else {
            struct cursor t = {p, end};
            rc = get_value_any(&t, &f->v, arena);
            p = t.p;
        }
    }
    c->p = p;
    *n = m;
    return rc;
}

/* The row record `back` rows on in the rows stream: 0, -1 when there is
 * none, or the spool's error. */
static int next_row(struct xp_spool_iter *rows, uint64_t back,
                    struct cursor *row)
{
    const void *data = NULL;
    size_t len = 0;
    if (!rows || back == 0)
        return -1;
    while (back--) {
        int rc = xp_spool_iter_next(rows, &data, &len);
        if (rc)
            return rc == XP_ITEROVER ? -1 : rc;
    }
    row->p = data;
    row->end = (const unsigned char *)data + len;
    return 0;
}

int wpt_decode_row(struct xp_point *out, struct xp_field *fields,
                   const void *data, size_t len, struct xp_spool_iter *rows,
                   struct xp_arena *arena)
{
    struct cursor c = {data, (const unsigned char *)data + len};
    unsigned char mask;
    size_t n = 0;
    if (get_bytes(&c, &mask, 1))
        goto bad;
    if (mask == WPT_REF) {
        /* the value, then the fields its row shares, in the same order as
         * a point that holds them all */
        uint64_t back;
        struct cursor row;
        if (get_varint(&c, &back))
            goto bad;
        int rc = next_row(rows, back, &row);
        if (rc > 0 || rc < -1)
            return rc; /* the rows stream could not be read */
        if (rc || get_fields(&c, 1u << WPT_VALUE, fields, &n, arena) ||
            get_bytes(&row, &mask, 1) || (mask & (1u << WPT_VALUE)) ||
            get_fields(&row, mask, fields, &n, arena))
            goto bad;
    } else if (get_fields(&c, mask, fields, &n, arena)) {
        goto bad;
    }
    out->created_at = NULL;
    out->fields = fields;
    out->nfields = n;
    return 0;
bad:
    return xp_error_set(XP_EIO, "damaged point in the spool");
}

int wpt_decode(struct xp_point *out, struct xp_field *fields,
               const void *data, size_t len, struct xp_arena *arena)
{
    return wpt_decode_row(out, fields, data, len, NULL, arena);
}

/* ---- log lines ---------------------------------------------------------- */

void wline_encode(struct xp_buf *b, const struct wlog_line *l)
{
    unsigned char flags = (unsigned char)((l->stream ? 1 : 0) |
                                          (l->has_ts ? 2 : 0) |
                                          (l->newline ? 4 : 0) |
                                          (l->level ? 8 : 0) |
                                          (l->label ? 16 : 0));
    xp_buf_putc(b, (char)flags);
    xp_buf_put(b, &l->sec, 8);
    xp_buf_put(b, &l->nanos, 4);
    if (l->level) {
        uint32_t n = (uint32_t)l->level_len;
        xp_buf_put(b, &n, 4);
        xp_buf_put(b, l->level, l->level_len);
    }
    if (l->label) {
        uint32_t n = (uint32_t)l->label_len;
        xp_buf_put(b, &n, 4);
        xp_buf_put(b, l->label, l->label_len);
    }
    xp_buf_put(b, l->text, l->len);
}

/* A length-prefixed string of a spooled log line. */
static int get_str(struct cursor *c, const char **s, size_t *n)
{
    uint32_t len;
    if (get_bytes(c, &len, 4) || (size_t)(c->end - c->p) < len)
        return -1;
    *s = (const char *)c->p;
    *n = len;
    c->p += len;
    return 0;
}

int wline_decode(struct wlog_line *l, const void *data, size_t len)
{
    struct cursor c = {data, (const unsigned char *)data + len};
    unsigned char flags;
    if (get_bytes(&c, &flags, 1) || get_bytes(&c, &l->sec, 8) ||
        get_bytes(&c, &l->nanos, 4))
        return xp_error_set(XP_EIO, "damaged log line in the spool");
    l->stream = flags & 1;
    l->has_ts = (flags & 2) != 0;
    l->newline = (flags & 4) != 0;
    l->level = l->label = NULL;
    l->level_len = l->label_len = 0;
    if (((flags & 8) && get_str(&c, &l->level, &l->level_len)) ||
        ((flags & 16) && get_str(&c, &l->label, &l->label_len)))
        return xp_error_set(XP_EIO, "damaged log line in the spool");
    l->text = (const char *)c.p;
    l->len = (size_t)(c.end - c.p);
    return 0;
}
