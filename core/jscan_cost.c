/* The price of a JSON text's json-c tree, found without building it
 * (xp_jscan_cost, include/xport/jscan.h). */
#include <stdint.h>
#include <string.h>

#include "xport/jscan.h"
#include "xport/json.h" /* XP_JSON_DEPTH */

/* json-c 0.16's allocation per value, measured with mallinfo2 on amd64
 * glibc over 200,000-element arrays, each with its 8-byte slot in the parent:
 * an integer or true 72, a double 104 (it keeps the text too), a string 88
 * with up to 10 bytes, [] 152, {} 792 (a 16-entry hash table comes with
 * every object), a member 96 more with its value. Rounded up here, and a
 * member's key is priced as a string; slots are counted twice because an
 * array grows by doubling. */
enum {
    COST_SLOT = 8,
    COST_OBJECT = 800,
    COST_ARRAY = 160,
    COST_STRING = 96,  /* plus its bytes */
    COST_NUMBER = 104, /* plus its text */
    COST_LITERAL = 72, /* true, false; null is a slot alone */
};

/* The offset of the first '"' or '\\' in s[i..len), or len: eight bytes at
 * a time (big answers are mostly strings, W&B's rows full of escapes). */
static size_t quote_or_escape(const char *s, size_t i, size_t len)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    for (; i + 8 <= len; i += 8) {
        uint64_t w, q, b;
        memcpy(&w, s + i, 8);
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        uint64_t hit = (((q - ones) & ~q) | ((b - ones) & ~b)) & highs;
        if (hit) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return i + ((size_t)__builtin_ctzll(hit) >> 3);
#else
            break;
#endif
        }
    }
    while (i < len && s[i] != '"' && s[i] != '\\')
        i++;
    return i;
}

uint64_t xp_jscan_cost(const char *s, size_t len, uint64_t *values)
{
    uint64_t cost = 0, n = 0;
    size_t i = 0, depth = 0;
    /* deeper than xp_json_parse lets json-c go, nothing more is built */
    while (i < len && depth <= XP_JSON_DEPTH) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') {
            size_t st = ++i;
            while ((i = quote_or_escape(s, i, len)) < len && s[i] == '\\')
                i += 2;
            i = i < len ? i + 1 : len;
            cost += COST_STRING + COST_SLOT + (i - st);
            n++;
        } else if (c == '{' || c == '[') {
            cost += (c == '{' ? COST_OBJECT : COST_ARRAY) + COST_SLOT;
            n++;
            depth++;
            i++;
        } else if (c == '}' || c == ']') {
            depth -= depth > 0;
            i++;
        } else if (c == '-' || (c >= '0' && c <= '9') || c == 'N' || c == 'I') {
            size_t st = i;
            while (i < len && (s[i] == '-' || s[i] == '+' || s[i] == '.' ||
                               (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
                               (s[i] >= 'A' && s[i] <= 'Z')))
                i++;
            cost += COST_NUMBER + COST_SLOT + (i - st);
            n++;
        } else if (c == 't' || c == 'f' || c == 'n') {
            while (i < len && s[i] >= 'a' && s[i] <= 'z')
                i++;
            cost += (c == 'n' ? 0 : COST_LITERAL) + 2 * COST_SLOT;
            n++;
        } else {
            i++;
        }
    }
    if (values)
        *values = n;
    return cost;
}
