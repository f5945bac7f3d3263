/* ISO-8601 times, parsed and printed once for every adapter: UTC seconds
 * plus nanoseconds, never the process's local zone (no mktime, no TZ). */
#ifndef XPORT_ISO8601_H
#define XPORT_ISO8601_H

#include <stddef.h>
#include <stdint.h>

/* Longest text xp_iso8601_format writes, with its NUL:
 * "-9999-12-31T23:59:59.999999999Z" fits with room. */
#define XP_ISO8601_BUFSZ 40

/* What a parsed time said about its zone. */
enum xp_iso_zone {
    XP_ISO_NAIVE = 0, /* no zone given: the caller decides (UTC or --tz) */
    XP_ISO_UTC,       /* "Z" or an offset of zero */
    XP_ISO_OFFSET,    /* "+hh:mm", "-hhmm", "+hh": applied to *sec */
};

/* Fraction digits for xp_iso8601_format: a count 0..9, or XP_ISO_TRIM for
 * as many as the value needs (none when it is whole seconds). */
#define XP_ISO_TRIM (-1)

/* Reads "YYYY-MM-DD[Tt ]hh:mm:ss[.f{1,}][Z|z|±hh[:mm]|±hhmm]" from the first n
 * bytes of s (digits beyond nanoseconds are dropped, a leap second 60 is
 * refused). Sets *sec and *nsec (0..999999999, so times before 1970 have a
 * negative *sec and a positive *nsec) and *zone when not NULL. Returns the
 * bytes consumed, or 0 when s does not begin with such a time. */
size_t xp_iso8601_scan(const char *s, size_t n, int64_t *sec, int32_t *nsec,
                       enum xp_iso_zone *zone);

/* xp_iso8601_scan of a whole NUL-terminated string: 0, or -1 when s is
 * NULL, not a time, or has bytes after it. A naive time is taken as UTC. */
int xp_iso8601_parse(const char *s, int64_t *sec, int32_t *nsec);

/* The same, to epoch milliseconds (floor, so -1 ns is -1 ms). */
int xp_iso8601_parse_ms(const char *s, int64_t *ms);

/* Writes "YYYY-MM-DDThh:mm:ss[.fff]Z" (UTC) with `digits` fraction digits
 * (0..9 or XP_ISO_TRIM); nsec outside 0..999999999 is folded into sec. */
void xp_iso8601_format(char out[XP_ISO8601_BUFSZ], int64_t sec, int32_t nsec,
                       int digits);

/* Epoch milliseconds as "...hh:mm:ss.fffZ" (floor division for negatives). */
void xp_iso8601_format_ms(char out[XP_ISO8601_BUFSZ], int64_t ms);

/* The current time (CLOCK_REALTIME) as xp_iso8601_format writes it. */
void xp_iso8601_now(char out[XP_ISO8601_BUFSZ], int digits);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12), and
 * back: the calendar arithmetic without timegm or the TZ variable. */
int64_t xp_days_from_civil(int64_t y, unsigned m, unsigned d);
void xp_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif
