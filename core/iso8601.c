/* ISO-8601 times (include/xport/iso8601.h): the calendar arithmetic is
 * Howard Hinnant's days_from_civil algorithm (public domain description at
 * https://howardhinnant.github.io/date_algorithms.html), so that no result
 * depends on timegm, mktime or the TZ variable. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "xport/iso8601.h"

int64_t xp_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void xp_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* n digits at s as a number, or -1. */
static int digits(const char *s, size_t avail, size_t n)
{
    if (avail < n)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
    static const unsigned char len[12] = {31, 28, 31, 30, 31, 30,
                                          31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : len[m - 1];
}

/* The zone suffix at s: bytes used, or (size_t)-1 when malformed. */
static size_t scan_zone(const char *s, size_t n, int64_t *off,
                        enum xp_iso_zone *zone)
{
    *off = 0;
    *zone = XP_ISO_NAIVE;
    if (n && (s[0] == 'Z' || s[0] == 'z')) {
        *zone = XP_ISO_UTC;
        return 1;
    }
    if (!n || (s[0] != '+' && s[0] != '-'))
        return 0;
    int hh = digits(s + 1, n - 1, 2), mm = 0;
    size_t used = 3;
    if (hh < 0)
        return (size_t)-1;
    if (n > 3 && s[3] == ':') {
        mm = digits(s + 4, n - 4, 2);
        used = 6;
    } else if (n > 3 && s[3] >= '0' && s[3] <= '9') {
        mm = digits(s + 3, n - 3, 2);
        used = 5;
    }
    if (mm < 0 || hh > 23 || mm > 59)
        return (size_t)-1;
    *off = (int64_t)(hh * 3600 + mm * 60) * (s[0] == '-' ? -1 : 1);
    *zone = *off ? XP_ISO_OFFSET : XP_ISO_UTC;
    return used;
}

size_t xp_iso8601_scan(const char *s, size_t n, int64_t *sec, int32_t *nsec,
                       enum xp_iso_zone *zone)
{
    if (!s || n < 19 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':')
        return 0;
    int y = digits(s, n, 4), mo = digits(s + 5, n - 5, 2),
        d = digits(s + 8, n - 8, 2), h = digits(s + 11, n - 11, 2),
        mi = digits(s + 14, n - 14, 2), se = digits(s + 17, n - 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 ||
        mi > 59 || se < 0 || se > 59 || (unsigned)d > month_days(y, (unsigned)mo))
        return 0;
    size_t i = 19;
    int32_t ns = 0;
    if (i < n && (s[i] == '.' || s[i] == ',')) {
        size_t nd = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++)
            if (nd < 9)
                ns = ns * 10 + (s[i] - '0');
        if (!nd)
            return 0;
        for (; nd < 9; nd++)
            ns *= 10;
    }
    int64_t off;
    enum xp_iso_zone z;
    size_t zl = scan_zone(s + i, n - i, &off, &z);
    if (zl == (size_t)-1)
        return 0;
    *sec = xp_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
           h * 3600 + mi * 60 + se - off;
    *nsec = ns;
    if (zone)
        *zone = z;
    return i + zl;
}

int xp_iso8601_parse(const char *s, int64_t *sec, int32_t *nsec)
{
    if (!s)
        return -1;
    size_t n = strlen(s);
    return n && xp_iso8601_scan(s, n, sec, nsec, NULL) == n ? 0 : -1;
}

int xp_iso8601_parse_ms(const char *s, int64_t *ms)
{
    int64_t sec;
    int32_t ns;
    if (xp_iso8601_parse(s, &sec, &ns))
        return -1;
    *ms = sec * 1000 + ns / 1000000;
    return 0;
}

void xp_iso8601_format(char out[XP_ISO8601_BUFSZ], int64_t sec, int32_t nsec,
                       int digits_wanted)
{
    sec += nsec / 1000000000;
    nsec %= 1000000000;
    if (nsec < 0) {
        nsec += 1000000000;
        sec--;
    }
    int64_t days = sec >= 0 ? sec / 86400 : (sec - 86399) / 86400;
    int64_t rem = sec - days * 86400, y;
    unsigned m, d;
    xp_civil_from_days(days, &y, &m, &d);
    int n = snprintf(out, XP_ISO8601_BUFSZ, "%04lld-%02u-%02uT%02d:%02d:%02d",
                     (long long)y, m, d, (int)(rem / 3600), (int)(rem / 60 % 60),
                     (int)(rem % 60));
    int nd = digits_wanted;
    char frac[10];
    snprintf(frac, sizeof(frac), "%09d", (int)nsec);
    if (nd == XP_ISO_TRIM)
        for (nd = 9; nd > 0 && frac[nd - 1] == '0'; nd--)
            ;
    if (nd > 9)
        nd = 9;
    if (nd > 0)
        n += snprintf(out + n, XP_ISO8601_BUFSZ - (size_t)n, ".%.*s", nd, frac);
    snprintf(out + n, XP_ISO8601_BUFSZ - (size_t)n, "Z");
}

void xp_iso8601_format_ms(char out[XP_ISO8601_BUFSZ], int64_t ms)
{
    int64_t s = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    xp_iso8601_format(out, s, (int32_t)(ms - s * 1000) * 1000000, 3);
}

void xp_iso8601_now(char out[XP_ISO8601_BUFSZ], int digits_wanted)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    xp_iso8601_format(out, (int64_t)ts.tv_sec, (int32_t)ts.tv_nsec, digits_wanted);
}
