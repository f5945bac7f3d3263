/* The shared decoders of text: ISO-8601 times (core/iso8601.c), strict
 * integers (core/numparse.c) and INI values (core/ini.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "xport/ini.h"
#include "xport/iso8601.h"
#include "xport/numparse.h"

static void parses(const char *s, int64_t sec, int32_t nsec)
{
    int64_t a = 0;
    int32_t b = -1;
    if (xp_iso8601_parse(s, &a, &b) || a != sec || b != nsec)
        fail_msg("'%s' -> %lld.%09d, want %lld.%09d", s, (long long)a, b,
                 (long long)sec, nsec);
}

static void test_iso_parse(void **state)
{
    (void)state;
    parses("1970-01-01T00:00:00Z", 0, 0);
    parses("2026-03-05T12:34:56.789Z", 1772714096, 789000000);
    parses("2026-03-05 12:34:56.123456789123", 1772714096, 123456789);
    parses("2026-03-05T12:34:56+00:00", 1772714096, 0);
    parses("2026-03-05T14:34:56+02:00", 1772714096, 0);
    parses("2026-03-05T10:04:56-0230", 1772714096, 0);
    parses("2026-03-05T13:34:56+01", 1772714096, 0);
    parses("1969-12-31T23:59:59.5Z", -1, 500000000);
    parses("1900-01-01T00:00:00Z", -2208988800LL, 0);
    parses("2000-02-29T00:00:00Z", 951782400, 0);
    parses("9999-12-31T23:59:59Z", 253402300799LL, 0);
    const char *bad[] = {"", "2026-03-05", "2026-13-01T00:00:00Z",
                         "2026-02-29T00:00:00Z", "2026-03-05T24:00:00Z",
                         "2026-03-05T12:34:60Z", "2026-03-05T12:34:56.Z",
                         "2026-03-05T12:34:56Zjunk", "2026-03-05T12:34:56+25:00",
                         "2026-3-5T12:34:56Z", "2026-03-05X12:34:56Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        int64_t a;
        int32_t b;
        if (!xp_iso8601_parse(bad[i], &a, &b))
            fail_msg("'%s' parsed", bad[i]);
    }
    int64_t s;
    int32_t ns;
    assert_int_equal(xp_iso8601_parse(NULL, &s, &ns), -1);

    /* scan: a prefix, and the zone it saw */
    enum xp_iso_zone z;
    const char *line = "2026-03-05T12:34:56.5 hello";
    assert_int_equal(xp_iso8601_scan(line, strlen(line), &s, &ns, &z), 21);
    assert_int_equal(z, XP_ISO_NAIVE);
    assert_int_equal(xp_iso8601_scan(line, 10, &s, &ns, &z), 0);
    assert_int_equal(xp_iso8601_scan("2026-03-05T12:34:56Z", 20, &s, &ns, &z), 20);
    assert_int_equal(z, XP_ISO_UTC);
    assert_int_equal(xp_iso8601_scan("2026-03-05T12:34:56-01:00", 25, &s, &ns, &z), 25);
    assert_int_equal(z, XP_ISO_OFFSET);

    int64_t ms;
    assert_int_equal(xp_iso8601_parse_ms("1969-12-31T23:59:59.9995Z", &ms), 0);
    assert_int_equal(ms, -1);
}

static void formats(int64_t sec, int32_t nsec, int digits, const char *want)
{
    char out[XP_ISO8601_BUFSZ];
    xp_iso8601_format(out, sec, nsec, digits);
    if (strcmp(out, want))
        fail_msg("%lld.%09d/%d -> '%s', want '%s'", (long long)sec, nsec, digits,
                 out, want);
}

static void test_iso_format(void **state)
{
    (void)state;
    formats(0, 0, 0, "1970-01-01T00:00:00Z");
    formats(1772714096, 789000000, 3, "2026-03-05T12:34:56.789Z");
    formats(1772714096, 789000000, XP_ISO_TRIM, "2026-03-05T12:34:56.789Z");
    formats(1772714096, 0, XP_ISO_TRIM, "2026-03-05T12:34:56Z");
    formats(1772714096, 1000, 6, "2026-03-05T12:34:56.000001Z");
    formats(1772714096, 1, XP_ISO_TRIM, "2026-03-05T12:34:56.000000001Z");
    formats(-1, 500000000, 3, "1969-12-31T23:59:59.500Z");
    formats(0, -1, 9, "1969-12-31T23:59:59.999999999Z");
    formats(253402300799LL, 0, 0, "9999-12-31T23:59:59Z");
    char out[XP_ISO8601_BUFSZ];
    xp_iso8601_format_ms(out, -1);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    xp_iso8601_format_ms(out, 1772714096789LL);
    assert_string_equal(out, "2026-03-05T12:34:56.789Z");

    /* every day of 1600..2400 goes round the calendar both ways, and agrees
     * with glibc's timegm where time_t reaches */
    for (int64_t d = xp_days_from_civil(1600, 1, 1);
         d < xp_days_from_civil(2400, 1, 1); d++) {
        int64_t y;
        unsigned m, dd;
        xp_civil_from_days(d, &y, &m, &dd);
        assert_int_equal(xp_days_from_civil(y, m, dd), d);
        if (d % 97 == 0) {
            struct tm tm = {.tm_year = (int)y - 1900, .tm_mon = (int)m - 1,
                            .tm_mday = (int)dd};
            assert_int_equal((int64_t)timegm(&tm), d * 86400);
        }
    }
    /* format and parse are inverses */
    int64_t s;
    int32_t ns;
    xp_iso8601_format(out, -12345678901LL, 123456789, XP_ISO_TRIM);
    assert_int_equal(xp_iso8601_parse(out, &s, &ns), 0);
    assert_int_equal(s, -12345678901LL);
    assert_int_equal(ns, 123456789);
}

static void test_int_parse(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(xp_parse_i64("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(xp_parse_i64("-42", &v), 0);
    assert_int_equal(v, -42);
    assert_int_equal(xp_parse_i64("+7", &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(xp_parse_i64("9223372036854775807", &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(xp_parse_i64("-9223372036854775808", &v), 0);
    assert_true(v == INT64_MIN);
    const char *bad[] = {"", "-", "+", " 1", "1 ", "12abc", "0x10", "1e3",
                         "9223372036854775808", "-9223372036854775809",
                         "99999999999999999999", "1.0", "--1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (!xp_parse_i64(bad[i], &v))
            fail_msg("'%s' parsed as %lld", bad[i], (long long)v);
    assert_int_equal(xp_parse_i64(NULL, &v), -1);
    assert_int_equal(xp_parse_i64n("123456", 3, &v), 0);
    assert_int_equal(v, 123);
    assert_int_equal(xp_parse_range("5", 1, 10, &v), 0);
    assert_int_equal(xp_parse_range("0", 1, 10, &v), -1);
    assert_int_equal(xp_parse_range("11", 1, 10, &v), -1);
    uint64_t u;
    assert_int_equal(xp_parse_u64n("18446744073709551615", 20, &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(xp_parse_u64n("18446744073709551616", 20, &u), -1);
    assert_int_equal(xp_parse_u64n("-1", 2, &u), -1);
    assert_int_equal(xp_parse_u64n("+1", 2, &u), -1);
    assert_int_equal(xp_parse_u64n("", 0, &u), -1);
}

/* ~/.aws/credentials and .comet.config as configparser writes them */
static void test_ini(void **state)
{
    (void)state;
    char path[] = "/tmp/xport-ini-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# comment\nkey = top\n[default]\naws_access_key_id = AKID\r\n"
          "; other comment\n[ profile ci ]\n  aws_access_key_id=CI \n"
          "role_arn = arn:aws:iam::1:role/x\nempty =\naws_access_key_id: CI2\n"
          "[comet]\napi_key: k\n", f);
    fclose(f);
    char *v;
    assert_string_equal(v = xp_ini_get(path, "default", "aws_access_key_id"), "AKID");
    free(v);
    assert_string_equal(v = xp_ini_get(path, "profile ci", "aws_access_key_id"), "CI2");
    free(v);
    assert_string_equal(v = xp_ini_get(path, "profile ci", "role_arn"),
                        "arn:aws:iam::1:role/x");
    free(v);
    assert_string_equal(v = xp_ini_get(path, "comet", "api_key"), "k");
    free(v);
    assert_null(xp_ini_get(path, "profile ci", "empty"));
    assert_null(xp_ini_get(path, "default", "key"));   /* before any section */
    assert_null(xp_ini_get(path, "nosuch", "aws_access_key_id"));
    assert_null(xp_ini_get("/nonexistent/xport-ini", "default", "x"));
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso_parse),
        cmocka_unit_test(test_iso_format),
        cmocka_unit_test(test_int_parse),
        cmocka_unit_test(test_ini),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
