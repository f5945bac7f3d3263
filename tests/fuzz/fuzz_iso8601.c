/* Feeds text to the ISO-8601 time parser (core/iso8601.c) and the strict
 * integer parsers (core/numparse.c); oracle: what parses is formatted and
 * parsed back to the same value, and the scan never reads past its length. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xport/iso8601.h"
#include "xport/json.h"
#include "xport/numparse.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *s = (const char *)data;
    int64_t sec, sec2;
    int32_t nsec, nsec2;
    enum xp_iso_zone zone;
    size_t used = xp_iso8601_scan(s, size, &sec, &nsec, &zone);
    if (used > size)
        abort();
    if (used) {
        if (nsec < 0 || nsec > 999999999)
            abort();
        char out[XP_ISO8601_BUFSZ];
        xp_iso8601_format(out, sec, nsec, XP_ISO_TRIM);
        /* years outside 0000..9999 are not ISO-8601 text the scanner reads */
        int64_t y;
        unsigned mo, d;
        xp_civil_from_days(sec >= 0 ? sec / 86400 : (sec - 86399) / 86400, &y, &mo, &d);
        if (y >= 0 && y <= 9999) {
            if (xp_iso8601_parse(out, &sec2, &nsec2) != 0 || sec2 != sec || nsec2 != nsec)
                abort();
        }
        int64_t ms, want = sec * 1000 + nsec / 1000000;
        if (y >= 0 && y <= 9999) {
            xp_iso8601_format_ms(out, want);
            if (xp_iso8601_parse_ms(out, &ms) != 0 || ms != want)
                abort();
        }
    }
    /* the NUL-terminated entry points on the same text */
    char *z = malloc(size + 1);
    memcpy(z, s, size);
    z[size] = '\0';
    int64_t ms;
    xp_iso8601_parse(z, &sec, &nsec);
    xp_iso8601_parse_ms(z, &ms);

    int64_t v, w;
    uint64_t u, u2;
    char buf[32];
    if (xp_parse_i64n(s, size, &v) == 0) {
        size_t n = xp_fmt_int(buf, v);
        if (xp_parse_i64n(buf, n, &w) != 0 || w != v)
            abort();
    }
    if (xp_parse_u64n(s, size, &u) == 0) {
        int n = snprintf(buf, sizeof(buf), "%" PRIu64, u);
        if (xp_parse_u64n(buf, (size_t)n, &u2) != 0 || u2 != u)
            abort();
    }
    if (xp_parse_i64(z, &v) == 0 && strlen(z) == size && xp_parse_i64n(s, size, &w) != 0)
        abort();
    xp_parse_range(z, -5, 5, &v);
    free(z);
    return 0;
}
