/* In-place one-level JSON object scanner (include/xport/jscan.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xport/error.h"
#include "xport/json.h"
#include "xport/jscan.h"

static size_t skip_ws(const char *s, size_t i, size_t len)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *d, unsigned cp)
{
    if (cp < 0x80) { d[0] = (char)cp; return 1; }
    if (cp < 0x800) { d[0] = (char)(0xC0 | (cp >> 6)); d[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12)); d[1] = (char)(0x80 | ((cp >> 6) & 63));
        d[2] = (char)(0x80 | (cp & 63)); return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18)); d[1] = (char)(0x80 | ((cp >> 12) & 63));
    d[2] = (char)(0x80 | ((cp >> 6) & 63)); d[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/* s[*i] is the opening quote. Unescape in place, NUL-terminate, return the
 * start and length; *i ends past the closing quote. */
static int scan_string(char *s, size_t len, size_t *i, char **start, size_t *slen)
{
    size_t r = *i + 1, w = r;
    char *st = s + r;
    /* most strings are plain ASCII without escapes: nothing to move, and
     * nothing for the UTF-8 check to look at */
    int ascii = 1;
    while (r < len) {
        unsigned char c = (unsigned char)s[r];
        if (c == '"' || c == '\\' || c < 0x20)
            break;
        ascii &= c < 0x80;
        r++;
    }
    w = r;
    if (r < len && s[r] == '"') {
        s[r] = '\0';
        *start = st;
        *slen = (size_t)(s + r - st);
        *i = r + 1;
        return ascii || xp_utf8_valid(st, *slen) ? 0 : XP_EINVALID;
    }
    while (r < len) {
        unsigned char c = (unsigned char)s[r];
        if (c == '"') {
            s[w] = '\0';
            *start = st;
            *slen = (size_t)(s + w - st);
            *i = r + 1;
            return xp_utf8_valid(st, *slen) ? 0 : XP_EINVALID;
        }
        if (c < 0x20)
            return XP_EINVALID;
        if (c != '\\') {
            s[w++] = s[r++];
            continue;
        }
        if (r + 1 >= len)
            return XP_EINVALID;
        char e = s[r + 1];
        r += 2;
        switch (e) {
        case '"': s[w++] = '"'; break;
        case '\\': s[w++] = '\\'; break;
        case '/': s[w++] = '/'; break;
        case 'b': s[w++] = '\b'; break;
        case 'f': s[w++] = '\f'; break;
        case 'n': s[w++] = '\n'; break;
        case 'r': s[w++] = '\r'; break;
        case 't': s[w++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (r + 4 > len || hex4(s + r, &cp))
                return XP_EINVALID;
            r += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (r + 6 > len || s[r] != '\\' || s[r + 1] != 'u' || hex4(s + r + 2, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return XP_EINVALID;
                r += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return XP_EINVALID;
            }
            if (cp == 0)
                return XP_EINVALID; /* NUL inside a C string: let json-c decide */
            w += put_utf8(s + w, cp);
            break;
        }
        default: return XP_EINVALID;
        }
    }
    return XP_EINVALID;
}

/* Skip a nested object or array starting at s[*i]. */
static int skip_nested(const char *s, size_t len, size_t *i)
{
    int depth = 0;
    size_t k = *i;
    while (k < len) {
        char c = s[k];
        if (c == '"') {
            k++;
            while (k < len && s[k] != '"') {
                if (s[k] == '\\')
                    k++;
                k++;
            }
            if (k >= len)
                return XP_EINVALID;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) {
                *i = k + 1;
                return 0;
            }
        }
        k++;
    }
    return XP_EINVALID;
}

static int scan_number(char *s, size_t len, size_t *i, struct xp_value *v)
{
    size_t st = *i, k = st;
    int is_float = 0;
    if (k < len && s[k] == '-')
        k++;
    if (k + 8 <= len && !memcmp(s + k, "Infinity", 8)) {
        v->type = XP_V_FLOAT;
        v->u.d = s[st] == '-' ? -__builtin_inf() : __builtin_inf();
        *i = k + 8;
        return 0;
    }
    if (k >= len || s[k] < '0' || s[k] > '9')
        return XP_EINVALID;
    if (s[k] == '0' && k + 1 < len && s[k + 1] >= '0' && s[k + 1] <= '9')
        return XP_EINVALID; /* leading zero */
    while (k < len && ((s[k] >= '0' && s[k] <= '9') || s[k] == '.' || s[k] == 'e' ||
                       s[k] == 'E' || s[k] == '+' || s[k] == '-')) {
        if (s[k] == '.' || s[k] == 'e' || s[k] == 'E')
            is_float = 1;
        k++;
    }
    if (!is_float) {
        /* up to 18 digits cannot overflow: no strtoll, no terminator */
        size_t d0 = st + (s[st] == '-');
        if (k - d0 <= 18 && k > d0) {
            int64_t x = 0;
            for (size_t j = d0; j < k; j++) {
                if (s[j] < '0' || s[j] > '9')
                    return XP_EINVALID; /* a sign after the first digit */
                x = x * 10 + (s[j] - '0');
            }
            v->type = XP_V_INT;
            v->u.i = s[st] == '-' ? -x : x;
            *i = k;
            return 0;
        }
    } else {
        double d;
        const char *dot = memchr(s + st, '.', k - st);
        if ((!dot || (dot + 1 < s + k && dot[1] >= '0' && dot[1] <= '9')) &&
            xp_fast_double(s + st, k - st, &d)) {
            v->type = XP_V_FLOAT;
            v->u.d = d;
            *i = k;
            return 0;
        }
    }
    /* the slow path NUL-terminates the token in place: a number that runs
     * to the end of the buffer has no byte for that, and an object cannot
     * end in a number anyway */
    if (k >= len)
        return XP_EINVALID;
    char save = s[k];
    s[k] = '\0';
    char *end;
    int rc = 0;
    errno = 0;
    if (!is_float) {
        long long x = strtoll(s + st, &end, 10);
        if (errno == 0 && *end == '\0') {
            v->type = XP_V_INT;
            v->u.i = x;
        } else if (s[st] != '-') {
            errno = 0;
            unsigned long long u = strtoull(s + st, &end, 10);
            if (errno == 0 && *end == '\0') {
                v->type = XP_V_UINT;
                v->u.u = u;
            } else {
                rc = XP_EINVALID; /* beyond 64 bits: json-c decides */
            }
        } else {
            rc = XP_EINVALID;
        }
    } else {
        /* JSON's grammar: digits after '.', and after 'e[+-]' */
        const char *dot = strchr(s + st, '.');
        if (dot && !(dot[1] >= '0' && dot[1] <= '9'))
            rc = XP_EINVALID;
        double d;
        end = s + k; /* the token is checked: the fast path needs no end */
        if (rc || !xp_fast_double(s + st, k - st, &d))
            d = strtod(s + st, &end);
        /* a finite literal read as Inf (1e400): a value never sent */
        if (!rc && *end == '\0' && !isinf(d)) {
            v->type = XP_V_FLOAT;
            v->u.d = d;
        } else {
            rc = XP_EINVALID;
        }
    }
    s[k] = save;
    *i = k;
    return rc;
}

static int scan_obj(char *s, size_t len, size_t *end, struct xp_field *out,
                    size_t max, size_t *n)
{
    size_t i = skip_ws(s, 0, len);
    *n = 0;
    if (i >= len || s[i] != '{')
        return XP_EINVALID;
    i = skip_ws(s, i + 1, len);
    if (i < len && s[i] == '}') {
        *end = i + 1;
        return 0;
    }
    for (;;) {
        if (i >= len || s[i] != '"' || *n >= max)
            return XP_EINVALID;
        char *key;
        size_t klen;
        /* (no NUL can hide in it: raw control bytes and \\u0000 fail) */
        if (scan_string(s, len, &i, &key, &klen))
            return XP_EINVALID;
        i = skip_ws(s, i, len);
        if (i >= len || s[i] != ':')
            return XP_EINVALID;
        i = skip_ws(s, i + 1, len);
        if (i >= len)
            return XP_EINVALID;
        struct xp_field *f = &out[*n];
        f->key = key;
        memset(&f->v, 0, sizeof(f->v));
        char c = s[i];
        if (c == '"') {
            char *str;
            size_t sl;
            if (scan_string(s, len, &i, &str, &sl))
                return XP_EINVALID;
            f->v.type = XP_V_STRING;
            f->v.u.s.ptr = str;
            f->v.u.s.len = sl;
        } else if (c == '{' || c == '[') {
            size_t st = i;
            if (skip_nested(s, len, &i))
                return XP_EINVALID;
            f->v.type = XP_V_JSON;
            f->v.u.s.ptr = s + st;
            f->v.u.s.len = i - st;
        } else if (c == 't' && i + 4 <= len && !memcmp(s + i, "true", 4)) {
            f->v.type = XP_V_BOOL;
            f->v.u.b = 1;
            i += 4;
        } else if (c == 'f' && i + 5 <= len && !memcmp(s + i, "false", 5)) {
            f->v.type = XP_V_BOOL;
            i += 5;
        } else if (c == 'n' && i + 4 <= len && !memcmp(s + i, "null", 4)) {
            f->v.type = XP_V_NULL;
            i += 4;
        } else if (c == 'N' && i + 3 <= len && !memcmp(s + i, "NaN", 3)) {
            f->v.type = XP_V_FLOAT;
            f->v.u.d = __builtin_nan("");
            i += 3;
        } else if (scan_number(s, len, &i, &f->v)) {
            return XP_EINVALID;
        }
        (*n)++;
        i = skip_ws(s, i, len);
        if (i < len && s[i] == ',') {
            i = skip_ws(s, i + 1, len);
            continue;
        }
        if (i < len && s[i] == '}') {
            *end = i + 1;
            return 0;
        }
        return XP_EINVALID;
    }
}

int xp_jscan_object_at(char *s, size_t len, size_t *end, struct xp_field *out,
                       size_t max, size_t *n)
{
    return scan_obj(s, len, end, out, max, n);
}

int xp_jscan_object(char *s, size_t len, struct xp_field *out, size_t max,
                    size_t *n)
{
    size_t end;
    int rc = scan_obj(s, len, &end, out, max, n);
    if (rc)
        return rc;
    return skip_ws(s, end, len) == len ? 0 : XP_EINVALID;
}
