/* Feeds bytes to the in-place JSON object scanner (core/jscan.c) as one
 * line; oracle: the sanitizers, every returned key and string lies inside
 * the buffer, and an object the scanner accepts is one json-c accepts too
 * when it has no nested member (those come back as raw spans the scanner
 * only brackets: their writers check them, xp_typemark_put_fields). Also
 * prices the bytes as an answer (xp_jscan_cost): within the buffer, at most
 * one value a byte, at most an object's price and a byte a byte. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "xport/jscan.h"

#define MAXF 64

static int inside(const char *p, size_t n, const char *buf, size_t len)
{
    return p >= buf && p + n <= buf + len;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    memcpy(s, data, size);
    uint64_t nv;
    if (xp_jscan_cost(s, size, &nv) > (uint64_t)size * 817 || nv > size)
        abort();
    struct xp_field f[MAXF];
    size_t n = 0, end = 0;
    if (xp_jscan_object(s, size, f, MAXF, &n) == 0) {
        if (n > MAXF)
            abort();
        int nested = 0;
        for (size_t i = 0; i < n; i++) {
            nested |= f[i].v.type == XP_V_JSON;
            if (!inside(f[i].key, strlen(f[i].key) + 1, s, size))
                abort();
            if ((f[i].v.type == XP_V_STRING || f[i].v.type == XP_V_JSON) &&
                !inside(f[i].v.u.s.ptr, f[i].v.u.s.len, s, size))
                abort();
        }
        /* what the fast path accepts, json-c (the fallback) accepts too */
        if (nested)
            goto at;
        struct json_tokener *tok = json_tokener_new();
        struct json_object *o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
        if (json_tokener_get_error(tok) != json_tokener_success ||
            !json_object_is_type(o, json_type_object))
            abort();
        json_object_put(o);
        json_tokener_free(tok);
    }
at:
    memcpy(s, data, size);
    if (xp_jscan_object_at(s, size, &end, f, MAXF, &n) == 0 && (end > size || n > MAXF))
        abort();
    free(s);
    return 0;
}
