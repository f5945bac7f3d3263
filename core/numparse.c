/* Strict integer parsing (include/xport/numparse.h). */
#include <string.h>

#include "xport/numparse.h"

int xp_parse_i64n(const char *s, size_t n, int64_t *out)
{
    if (!s || !n)
        return -1;
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return -1;
    /* accumulate as a negative number: INT64_MIN has no positive twin */
    int64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        int dgt = s[i] - '0';
        if (v < (INT64_MIN + dgt) / 10)
            return -1;
        v = v * 10 - dgt;
    }
    if (!neg) {
        if (v == INT64_MIN)
            return -1;
        v = -v;
    }
    *out = v;
    return 0;
}

int xp_parse_u64n(const char *s, size_t n, uint64_t *out)
{
    if (!s || !n)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned dgt = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - dgt) / 10)
            return -1;
        v = v * 10 + dgt;
    }
    *out = v;
    return 0;
}

int xp_parse_i64(const char *s, int64_t *out)
{
    return s ? xp_parse_i64n(s, strlen(s), out) : -1;
}

int xp_parse_range(const char *s, int64_t min, int64_t max, int64_t *out)
{
    int64_t v;
    if (xp_parse_i64(s, &v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}
