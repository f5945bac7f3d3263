/* Feeds number tokens to the exact parser and formatter (xp_parse_double,
 * xp_fmt_double, xp_fast_double in core/json.c and core/dtoa.c), and the
 * first 8 bytes as a double's bits; oracle: format(parse(x)) parses back to
 * the same bits, and the fast path agrees with strtod to the bit. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xport/json.h"

static void round_trip(double d)
{
    char buf[XP_DOUBLE_BUFSZ];
    size_t n = xp_fmt_double(buf, d);
    double back;
    if (n == 0 || n >= XP_DOUBLE_BUFSZ || xp_parse_double(buf, n, &back) != 0)
        abort();
    if (isnan(d) ? !isnan(back) : memcmp(&d, &back, sizeof(d)) != 0)
        abort();
}

/* A JSON number token: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int json_number(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return 0;
    if (i < n && s[i] == '.') {
        size_t d = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return 0;
    }
    return i == n;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size >= 8) {
        double d;
        memcpy(&d, data, 8);
        round_trip(d);
    }
    const char *s = (const char *)data;
    double d;
    if (xp_parse_double(s, size, &d) == 0)
        round_trip(d);
    if (json_number(s, size)) {
        char *z = malloc(size + 1);
        memcpy(z, s, size);
        z[size] = '\0';
        double want = strtod(z, NULL), got;
        if (xp_fast_double(z, size, &got) == 1 && memcmp(&want, &got, sizeof(got)))
            abort();
        free(z);
    }
    int64_t v;
    char ib[XP_INT_BUFSZ];
    memcpy(&v, size >= 8 ? data : (const unsigned char *)"\0\0\0\0\0\0\0\0", 8);
    size_t n = xp_fmt_int(ib, v);
    if (n == 0 || n >= XP_INT_BUFSZ)
        abort();
    return 0;
}
