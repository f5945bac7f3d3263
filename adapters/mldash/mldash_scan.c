/* In-place scanning of ml-dash point pages and chunks: finding a member
 * of a body that may still be arriving, and reading one point where it
 * stands (xp_jscan_object), so that points cost their bytes and no more. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mldash_read.h"
#include "xport/error.h"
#include "xport/jscan.h"
#include "xport/numparse.h"

/* Skip one JSON value starting at s[*i]; strings and nesting respected.
 * Fails when the value runs past len. */
int mld_skip_value(const char *s, size_t len, size_t *i)
{
    size_t j = *i;
    int depth = 0;
    if (j >= len)
        return XP_EINVALID;
    do {
        char c = s[j];
        if (c == '"') {
            for (j++; j < len && s[j] != '"'; j++)
                if (s[j] == '\\')
                    j++;
            if (j >= len)
                return XP_EINVALID;
            j++;
        } else if (c == '{' || c == '[') {
            depth++;
            j++;
        } else if (c == '}' || c == ']') {
            if (--depth < 0)
                return XP_EINVALID;
            j++;
        } else if (depth == 0) {
            while (j < len && s[j] != ',' && s[j] != '}' && s[j] != ']' &&
                   s[j] != ' ' && s[j] != '\n' && s[j] != '\r' && s[j] != '\t')
                j++;
        } else {
            j++;
        }
    } while (depth > 0 && j < len);
    if (depth)
        return XP_EINVALID;
    *i = j;
    return 0;
}

/* Find the top-level member `key` of the object in s; *at gets the start
 * of its value. more: s may be the start of a body still arriving, and
 * MLD_MORE_BYTES means "not within these bytes". */
int mld_find_member(const char *s, size_t len, int more, const char *key, size_t *at)
{
    size_t i = mld_skip_ws(s, 0, len), kl = strlen(key);
    int cut = more ? MLD_MORE_BYTES : XP_EINVALID;
    if (i >= len)
        return cut;
    if (s[i] != '{')
        return XP_EINVALID;
    i = mld_skip_ws(s, i + 1, len);
    while (i < len && s[i] == '"') {
        size_t k0 = i + 1, k1 = k0;
        while (k1 < len && s[k1] != '"')
            k1 += s[k1] == '\\' ? 2 : 1;
        i = mld_skip_ws(s, k1 + 1, len);
        if (i >= len)
            return cut;
        if (s[i] != ':')
            return XP_EINVALID;
        i = mld_skip_ws(s, i + 1, len);
        if (i >= len)
            return cut;
        if (k1 - k0 == kl && !memcmp(s + k0, key, kl)) {
            *at = i;
            return 0;
        }
        if (mld_skip_value(s, len, &i))
            return cut;
        i = mld_skip_ws(s, i, len);
        if (i < len && s[i] == ',')
            i = mld_skip_ws(s, i + 1, len);
    }
    return i >= len ? cut : XP_ENOTFOUND;
}

int mld_page_open(struct page *pg, const char *what)
{
    char *s = pg->resp.body.ptr;
    size_t len = pg->resp.body.len, at, hm;
    int rc = mld_find_member(s, len, 0, "data", &at);
    if (rc || s[at] != '[')
        return xp_error_set(XP_EINVALID, "%s has no data array", what);
    pg->has_more = 0;
    if (!mld_find_member(s, len, 0, "hasMore", &hm))
        pg->has_more = !strncmp(s + hm, "true", 4);
    memset(&pg->sp, 0, sizeof(pg->sp));
    pg->sp.s = s;
    pg->sp.len = len;
    pg->sp.pos = at + 1;
    pg->sp.active = 1;
    return 0;
}

/* Does the key equal lit? Inlined: three keys per point. */
static inline int key_is(const char *k, const char *lit)
{
    while (*lit && *k == *lit) {
        k++;
        lit++;
    }
    return *k == *lit;
}

/* A point's index, its data object and its creation time from its members
 * (the index may be a number or, from a Node server, a decimal string);
 * *have_index is set when one was found. */
static void point_members(struct xp_point *p, const struct xp_value **data,
                          int *have_index, const struct xp_field *m, size_t n)
{
    for (size_t f = 0; f < n; f++) {
        const struct xp_value *v = &m[f].v;
        if (key_is(m[f].key, "index")) {
            if (v->type == XP_V_INT) {
                p->index = v->u.i;
                *have_index = 1;
            } else if (v->type == XP_V_STRING) {
                /* the server's JavaScript reads " 7" as 7 (Number() trims) */
                const char *t = v->u.s.ptr;
                size_t tn = v->u.s.len;
                for (; tn && (*t == ' ' || *t == '\t'); t++, tn--)
                    ;
                while (tn && (t[tn - 1] == ' ' || t[tn - 1] == '\t'))
                    tn--;
                int64_t x;
                *have_index = !xp_parse_i64n(t, tn, &x);
                if (*have_index)
                    p->index = x;
            }
        } else if (key_is(m[f].key, "data") && v->type == XP_V_JSON) {
            *data = v;
        } else if (key_is(m[f].key, "createdAt") && v->type == XP_V_STRING) {
            p->created_at = v->u.s.ptr;
        }
    }
}

/* A plain index at s[v]: up to 18 digits without a leading zero, bare
 * (and maybe negative) or in quotes; *e gets the end. Fails on anything
 * else, which the general scanner then reads. */
static int plain_index(const char *s, size_t len, size_t v, size_t *e, int64_t *out)
{
    int quoted = s[v] == '"';
    size_t j = v + (size_t)quoted;
    int neg = !quoted && j < len && s[j] == '-';
    j += (size_t)neg;
    size_t d0 = j;
    int64_t x = 0;
    /* a 19th digit only tells the number is too long: not added, as it
     * could overflow */
    for (; j < len && j - d0 < 19 && s[j] >= '0' && s[j] <= '9'; j++)
        if (j - d0 < 18)
            x = x * 10 + (s[j] - '0');
    if (j == d0 || j - d0 > 18 || (s[d0] == '0' && j - d0 > 1) || j >= len)
        return -1;
    if (quoted ? s[j++] != '"' : s[j] == '.' || s[j] == 'e' || s[j] == 'E')
        return -1;
    *out = neg ? -x : x;
    *e = j;
    return 0;
}

/* Is the quoted key lit (quotes included) at s[k]? */
static inline int key_at(const char *s, size_t k, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len - k >= n && !memcmp(s + k, lit, n);
}

/* Where the bytes from s[i] on that a JSON string holds as they are
 * (printable ASCII but '"' and '\\') end. Eight at a time where they can:
 * a point's createdAt is most of what is left to scan by hand. */
static size_t plain_run(const char *s, size_t i, size_t len)
{
    const uint64_t ones = 0x0101010101010101u, highs = ones << 7;
    for (; i + 8 <= len; i += 8) {
        uint64_t w, q, b;
        memcpy(&w, s + i, 8);
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        /* a '"', a '\\', a byte below 0x20 or one above 0x7f */
        if ((((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w) | w) & highs)
            break;
    }
    while (i < len && s[i] != '"' && s[i] != '\\' && (unsigned char)s[i] >= 0x20 &&
           (unsigned char)s[i] < 0x80)
        i++;
    return i;
}

/* A member that is not plain, read as the general scanner reads it: the
 * member alone, {KEY:VALUE} from s[k, e), copied to the arena (its strings
 * must live as long as the point) and scanned there. */
static int member_slow(struct xp_arena *arena, const char *s, size_t k, size_t e,
                       struct xp_field *out)
{
    char *t = xp_arena_alloc(arena, e - k + 3);
    t[0] = '{';
    memcpy(t + 1, s + k, e - k);
    t[e - k + 1] = '}';
    t[e - k + 2] = '\0';
    size_t n;
    return xp_jscan_object(t, e - k + 2, out, 1, &n) || n != 1 ? XP_EINVALID : 0;
}

/* One point, {"index":..., "data":{...}, "createdAt":"..."} in any order,
 * into *p and its data's fields df[0..*dn). A scan of the whole object
 * would walk the data object twice (to skip it as a member, then for its
 * fields): here plain keys, a plain index and a plain createdAt are read
 * where they stand and the data object is scanned once, in place; any
 * other member (escapes, other number forms, non-ASCII) goes through
 * member_slow, so the point means what a whole-object scan makes of it.
 * Returns XP_EINVALID when it cannot be read, XP_ENOTFOUND when it lacks
 * index or data. */
int mld_scan_point(struct xp_arena *arena, char *s, size_t len, size_t *end,
                   struct xp_point *p, struct xp_field *df, size_t *dn)
{
    int have_index = 0, have_data = 0;
    size_t i = mld_skip_ws(s, 1, len); /* s[0] is '{' */
    while (i < len && s[i] != '}') {
        if (s[i] != '"')
            return XP_EINVALID;
        static const char *const names[] = {"\"index\"", "\"data\"", "\"createdAt\""};
        size_t k = i, q, v, e;
        /* which of index, data, createdAt the key is (0: another) */
        int which = 0;
        for (int w = 0; w < 3 && !which; w++)
            which = key_at(s, k, len, names[w]) ? w + 1 : 0;
        q = which ? k + strlen(names[which - 1]) - 1 : plain_run(s, k + 1, len);
        int plain = q < len && s[q] == '"';
        v = plain ? q + 1 : k;
        if (!plain && mld_skip_value(s, len, &v))
            return XP_EINVALID;
        v = mld_skip_ws(s, v, len);
        if (v >= len || s[v] != ':')
            return XP_EINVALID;
        v = mld_skip_ws(s, v + 1, len);
        if (v >= len)
            return XP_EINVALID;
        int done = 0;
        if (which == 1 && !plain_index(s, len, v, &e, &p->index)) {
            have_index = done = 1;
        } else if (which == 2 && s[v] == '{') {
            if (xp_jscan_object_at(s + v, len - v, &e, df, 256, dn))
                return XP_EINVALID;
            e += v;
            have_data = done = 1;
        } else if (which == 3 && s[v] == '"') {
            e = plain_run(s, v + 1, len);
            if (e < len && s[e] == '"') {
                s[e++] = '\0';
                p->created_at = s + v + 1;
                done = 1;
            }
        }
        if (!done) {
            e = v;
            if (mld_skip_value(s, len, &e))
                return XP_EINVALID;
        }
        if (!done && (which || !plain)) {
            struct xp_field f;
            const struct xp_value *data = NULL;
            if (member_slow(arena, s, k, e, &f))
                return XP_EINVALID;
            point_members(p, &data, &have_index, &f, 1);
            if (data) {
                char *ds = (char *)data->u.s.ptr;
                ds[data->u.s.len] = '\0';
                if (xp_jscan_object(ds, data->u.s.len, df, 256, dn))
                    return XP_EINVALID;
                have_data = 1;
            }
        }
        i = mld_skip_ws(s, e, len);
        if (i < len && s[i] == ',')
            i = mld_skip_ws(s, i + 1, len);
        else if (i < len && s[i] != '}')
            return XP_EINVALID;
    }
    if (i >= len)
        return XP_EINVALID;
    *end = i + 1;
    return have_index && have_data ? 0 : XP_ENOTFOUND;
}
