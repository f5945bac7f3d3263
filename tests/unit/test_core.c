/* Unit tests of the core helpers: exact doubles, UTF-8, name encoding,
 * selection patterns, JSON errors, hashes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "testutil.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/jscan.h"
#include "xport/json.h"
#include "xport/sys/adapter.h"
#include "xport/typemark.h"
#include "xport/stage.h"
#include "xport/sys/http.h"

static uint64_t bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static void roundtrip_double(double d)
{
    char buf[XP_DOUBLE_BUFSZ];
    size_t n = xp_fmt_double(buf, d);
    double back;
    assert_int_equal(xp_parse_double(buf, n, &back), 0);
    if (isnan(d))
        assert_true(isnan(back));
    else
        assert_true(bits(d) == bits(back));
    /* a float always reads back as a float through json-c too */
    struct json_object *o;
    assert_int_equal(xp_json_parse(&o, buf, n, "t"), 0);
    assert_int_equal(json_object_get_type(o), json_type_double);
    if (!isnan(d))
        assert_true(bits(json_object_get_double(o)) == bits(d));
    json_object_put(o);
}

static void test_doubles(void **state)
{
    (void)state;
    double special[] = {0.0, -0.0, 1.0, -1.0, 0.1, 1e-300, -1e-300, 5e-324,
                        1.7976931348623157e308, 2.2250738585072014e-308,
                        9007199254740993.0, 1e21, 123456789012345678.0,
                        INFINITY, -INFINITY, NAN, 0.30000000000000004};
    for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
        roundtrip_double(special[i]);
    srand(12345);
    for (int i = 0; i < 200000; i++) {
        uint64_t u = ((uint64_t)rand() << 62) ^ ((uint64_t)rand() << 31) ^ (uint64_t)rand();
        double d;
        memcpy(&d, &u, 8);
        roundtrip_double(d);
    }
    char buf[XP_DOUBLE_BUFSZ];
    xp_fmt_double(buf, 1.0);
    assert_string_equal(buf, "1.0");
    xp_fmt_double(buf, -0.0);
    assert_string_equal(buf, "-0.0");
    xp_fmt_double(buf, NAN);
    assert_string_equal(buf, "NaN");
    xp_fmt_double(buf, -INFINITY);
    assert_string_equal(buf, "-Infinity");
    xp_fmt_double(buf, 0.1);
    assert_string_equal(buf, "0.1");
}

/* The printf-based definition of the output: shortest of 15, 16, 17
 * significant digits that reads back, integers below 2^53 as "N.0". */
static void reference_fmt(char *buf, double d)
{
    if (d == (double)(int64_t)d && fabs(d) < 9007199254740992.0 && !(d == 0 && signbit(d))) {
        snprintf(buf, 40, "%lld.0", (long long)d);
        return;
    }
    int n = 0;
    for (int p = 15; p <= 17; p++) {
        n = snprintf(buf, 40, "%.*g", p, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (!strpbrk(buf, ".eEni"))
        strcpy(buf + n, ".0");
}

/* Significant digits in a formatted number (mantissa digits, leading zeros
 * and the ".0" of integers excluded). */
static int sig_digits(const char *s)
{
    int n = 0, lead = 1, trail0 = 0;
    for (; *s && *s != 'e'; s++) {
        if (*s < '0' || *s > '9')
            continue;
        if (lead && *s == '0')
            continue;
        lead = 0;
        n++;
        trail0 = *s == '0' ? trail0 + 1 : 0;
    }
    return n - trail0;
}

/* Where printf's fixed 15..17 digits are not the shortest (subnormals, and
 * powers of two whose gap below is half the gap above), the output must
 * read back and be no longer than printf's; elsewhere it must be equal. */
static void check_like_printf(double d)
{
    char a[XP_DOUBLE_BUFSZ], b[40];
    xp_fmt_double(a, d);
    reference_fmt(b, d);
    if (!strcmp(a, b))
        return;
    uint64_t u = bits(d);
    int odd_gap = (u & ((UINT64_C(1) << 52) - 1)) == 0 || ((u >> 52) & 0x7ff) == 0;
    if (!odd_gap || strtod(a, NULL) != d || sig_digits(a) > sig_digits(b))
        fail_msg("%.17g: got %s, printf gives %s", d, a, b);
}

/* Every binary exponent: the output reads back and has no more digits than
 * the shortest printf precision that reads back. */
static void test_doubles_shortest(void **state)
{
    (void)state;
    srand(7);
    for (int e = -1075; e <= 1023; e++) {
        for (int k = 0; k < 6; k++) {
            double d = ldexp(1.0, e);
            if (k == 1)
                d = nextafter(d, 0);
            else if (k == 2)
                d = nextafter(d, INFINITY);
            else if (k > 2)
                d = ldexp(1.0 + (double)rand() / RAND_MAX, e);
            if (d == 0 || isinf(d))
                continue;
            char a[XP_DOUBLE_BUFSZ], p[40];
            xp_fmt_double(a, d);
            if (strtod(a, NULL) != d)
                fail_msg("%.17g: %s does not read back", d, a);
            int prec = 1;
            for (; prec < 17; prec++) {
                snprintf(p, sizeof(p), "%.*e", prec - 1, d);
                if (strtod(p, NULL) == d)
                    break;
            }
            if (sig_digits(a) > prec)
                fail_msg("%.17g: %s is longer than %d digits", d, a, prec);
            check_like_printf(d);
        }
    }
}

/* The digit generation prints what printf would (see check_like_printf). */
static void test_doubles_like_printf(void **state)
{
    (void)state;
    srand(99);
    for (long i = 0; i < 400000; i++) {
        uint64_t u = ((uint64_t)rand() << 62) ^ ((uint64_t)rand() << 31) ^ (uint64_t)rand();
        double d;
        memcpy(&d, &u, 8);
        switch (i % 5) {
        case 1: d = exp(-(double)i / 1e5) + sin((double)i) * 1e-3; break;
        case 2: d = 1.7e9 + (double)i * 0.01; break;
        case 3: d = ldexp((double)(u >> 11), (int)(i % 140) - 110); break;
        case 4: d = pow(10.0, (double)(i % 50) - 20) * (1 + (double)(u % 997) / 997.0); break;
        default: break;
        }
        if (isnan(d) || isinf(d))
            continue;
        check_like_printf(d);
    }
    /* neighbours of every power of ten in the fast range */
    for (int k = -16; k <= 26; k++) {
        double d = pow(10.0, k);
        for (int j = 0; j < 50; j++) {
            double x[2] = {d = nextafter(d, INFINITY), nextafter(pow(10.0, k), 0) - j * 1e-30};
            for (int m = 0; m < 2; m++)
                check_like_printf(x[m]);
        }
    }
}

/* The fast number path agrees with strtod to the bit, and refuses what
 * JSON refuses. */
static void test_fast_double(void **state)
{
    (void)state;
    srand(3);
    char t[64];
    long fast = 0;
    for (long i = 0; i < 300000; i++) {
        uint64_t u = ((uint64_t)rand() << 33) ^ ((uint64_t)rand() << 2) ^ (uint64_t)rand();
        switch (i % 4) {
        case 0: snprintf(t, sizeof(t), "%.17g", exp(-(double)(u % 1000000) / 1e5)); break;
        case 1: snprintf(t, sizeof(t), "%llu.%llue%d", (unsigned long long)(u % 100000000000ULL),
                         (unsigned long long)(u % 1000000000ULL), (int)(u % 60) - 30); break;
        case 2: snprintf(t, sizeof(t), "%.*g", (int)(u % 17) + 1,
                         ldexp((double)(u >> 12), (int)(u % 200) - 100)); break;
        default: snprintf(t, sizeof(t), "-%lld.%05lld", (long long)(u % 10000000),
                          (long long)(u % 100000)); break;
        }
        double a, b = strtod(t, NULL);
        if (xp_fast_double(t, strlen(t), &a)) {
            fast++;
            if (memcmp(&a, &b, 8))
                fail_msg("%s: fast %.17g, strtod %.17g", t, a, b);
        }
    }
    assert_true(fast > 100000); /* the fast path is really taken */
    const char *bad[] = {"", "-", "1.", "1e", "1e+", ".5", "1.5e5e5", "1x", "--1"};
    double d;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (xp_fast_double(bad[i], strlen(bad[i]), &d))
            fail_msg("accepted '%s'", bad[i]);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(xp_utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
    assert_false(xp_utf8_valid("\xc3", 1));           /* truncated */
    assert_false(xp_utf8_valid("\xc0\xaf", 2));       /* overlong */
    assert_false(xp_utf8_valid("\xed\xa0\x80", 3));   /* surrogate */
    assert_false(xp_utf8_valid("\xff", 1));
    struct xp_buf b = XP_BUF_INIT;
    assert_int_equal(xp_json_put_str(&b, "a\xff", 2, "x"), XP_EINVALID);
    assert_int_equal(b.len, 0);
    assert_int_equal(xp_json_put_str(&b, "q\"\\\n\x01", 5, "x"), 0);
    assert_string_equal(b.ptr, "\"q\\\"\\\\\\n\\u0001\"");
    xp_buf_release(&b);
}

static void check_name(const char *name, const char *expect)
{
    struct xp_buf e = XP_BUF_INIT, d = XP_BUF_INIT;
    assert_int_equal(xp_name_encode(&e, name), 0);
    if (expect)
        assert_string_equal(e.ptr, expect);
    assert_true(xp_segment_safe(e.ptr));
    assert_null(strchr(e.ptr, '/'));
    assert_int_equal(xp_name_decode(&d, e.ptr), 0);
    assert_string_equal(d.ptr, name);
    xp_buf_release(&e);
    xp_buf_release(&d);
}

static void test_names(void **state)
{
    (void)state;
    check_name("exp1", "exp1");
    check_name("train/loss", "train%2Floss");
    check_name("../../etc/passwd", "%2E.%2F..%2Fetc%2Fpasswd");
    check_name("..", "%2E%2E");
    check_name(".", "%2E");
    check_name("", "%00");
    check_name("100%", "100%25");
    check_name("a:b*c?", "a%3Ab%2Ac%3F");
    check_name("ünïcødé 名前", "ünïcødé 名前");
    check_name("trailing.", "trailing%2E");
    check_name("C:\\x", "C%3A%5Cx");
    struct xp_buf e = XP_BUF_INIT;
    assert_int_equal(xp_name_encode(&e, "bad\xff"), XP_EINVALID);
    /* long names are cut and made unique, staying under NAME_MAX */
    char longname[600];
    memset(longname, '/', 599);
    longname[599] = '\0';
    assert_int_equal(xp_name_encode(&e, longname), 0);
    assert_true(e.len <= 200);
    assert_true(xp_segment_safe(e.ptr));
    char *first = xp_strdup(e.ptr);
    longname[598] = 'x';
    assert_int_equal(xp_name_encode(&e, longname), 0);
    assert_string_not_equal(first, e.ptr);
    free(first);
    xp_buf_release(&e);
    assert_false(xp_relpath_safe("../x"));
    assert_false(xp_relpath_safe("/etc/passwd"));
    assert_false(xp_relpath_safe("a//b"));
    assert_false(xp_relpath_safe("a/./b"));
    assert_false(xp_relpath_safe("a/b/"));
    assert_false(xp_relpath_safe("a\\..\\b"));
    assert_true(xp_relpath_safe("media/images/a.png"));
}

static void test_patterns(void **state)
{
    (void)state;
    assert_true(xp_pattern_match(NULL, "x"));
    assert_true(xp_pattern_match("run-*", "run-7"));
    assert_false(xp_pattern_match("run-*", "walk-7"));
    assert_true(xp_pattern_match("run-{001..120}", "run-007"));
    assert_true(xp_pattern_match("run-{001..120}", "run-120"));
    assert_false(xp_pattern_match("run-{001..120}", "run-121"));
    assert_false(xp_pattern_match("run-{001..120}", "run-7"));
    assert_true(xp_pattern_match("{a,b}-{1..3}", "b-2"));
    assert_false(xp_pattern_match("{a,b}-{1..3}", "c-2"));
    assert_true(xp_pattern_match("x{3..1}", "x2"));
    assert_true(xp_pattern_match("lit\\*", "lit*"));
    assert_false(xp_pattern_match("lit\\*", "litx"));
    assert_true(xp_pattern_match("{single}", "{single}"));
}

static void test_json_errors(void **state)
{
    (void)state;
    struct json_object *o;
    assert_int_equal(xp_json_parse(&o, "{\"a\":", 5, "in.json"), XP_EINVALID);
    assert_non_null(strstr(xp_error_last()->message, "in.json"));
    assert_int_equal(xp_json_parse(&o, "{} x", 4, "t"), XP_EINVALID);
    assert_int_equal(xp_json_parse(&o, "\"\xff\"", 3, "t"), XP_EINVALID);
    /* a truncated text that ends in a comment stays truncated (the
     * fuzzer's crash-5ba569de: "[1,2//" came back as 2), and a top-level
     * number is still finished by the end of the text */
    const char *cut[] = {"[1,2//", "{\"a\":\"f\"//x", "{\"a\":{\"b\":1}/*", "[1,2/"};
    for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++)
        assert_int_equal(xp_json_parse(&o, cut[i], strlen(cut[i]), "t"), XP_EINVALID);
    xp_error_clear();
    assert_int_equal(xp_json_parse(&o, " -12.5", 6, "t"), 0);
    assert_true(json_object_get_double(o) == -12.5);
    json_object_put(o);
    assert_int_equal(xp_json_parse(&o, "7 // seven", 10, "t"), 0);
    assert_int_equal(json_object_get_int(o), 7);
    json_object_put(o);
    assert_int_equal(xp_json_parse(&o, "[NaN,Infinity,-Infinity]", 24, "t"), 0);
    assert_true(isnan(json_object_get_double(json_object_array_get_idx(o, 0))));
    json_object_put(o);
    /* 64-bit integers survive exactly, beyond 2^53 and beyond INT64_MAX */
    const char *big = "[9223372036854775807,18446744073709551615,-9223372036854775808]";
    assert_int_equal(xp_json_parse(&o, big, strlen(big), "t"), 0);
    struct xp_buf b = XP_BUF_INIT;
    assert_int_equal(xp_json_put_obj(&b, o, 0), 0);
    assert_string_equal(b.ptr, "[9223372036854775807,18446744073709551615,-9223372036854775808]");
    xp_buf_release(&b);
    json_object_put(o);
    /* one past those, and a float past double's range, are refused: json-c
     * would hand back UINT64_MAX, INT64_MIN or Inf (issue 16, hostile servers);
     * digits in a string are a string */
    const char *over[] = {"[18446744073709551616]", "{\"a\":-9223372036854775809}",
                          "[1e400]", "-2.5E+999"};
    for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
        assert_int_equal(xp_json_parse(&o, over[i], strlen(over[i]), "t"), XP_EINVALID);
        assert_non_null(strstr(xp_error_last()->message, "number out of range in t"));
    }
    const char *fine = "[\"18446744073709551616\\\"1e400\",1e-400,1.5e300,0]";
    assert_int_equal(xp_json_parse(&o, fine, strlen(fine), "t"), 0);
    json_object_put(o);
}

static void test_hashes(void **state)
{
    (void)state;
    char hex[65];
    xp_sha256_hex(hex, "abc", 3);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    xp_sha256_hex(hex, "", 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* two blocks (FIPS 180-2 example) */
    xp_sha256_hex(hex, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* the CPU's SHA extensions (if any) and the portable code agree at
     * every length, fed whole or in uneven pieces */
    unsigned char buf[1100];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 131 + (i >> 3));
    for (size_t len = 0; len <= sizeof(buf); len += len < 200 ? 1 : 37) {
        char a[65], b[65];
        xp_sha256_portable(1);
        xp_sha256_hex(a, buf, len);
        xp_sha256_portable(0);
        struct xp_sha256 c;
        unsigned char dg[32];
        xp_sha256_init(&c);
        for (size_t at = 0; at < len;) {
            size_t n = (at * 7 + 13) % 150 + 1;
            n = n < len - at ? n : len - at;
            xp_sha256_update(&c, buf + at, n);
            at += n;
        }
        xp_sha256_final(&c, dg);
        xp_hex(b, dg, 32);
        if (strcmp(a, b))
            fail_msg("sha256 of %zu bytes: portable %s, fast %s", len, a, b);
    }
    struct xp_md5 m;
    unsigned char d[16];
    char b64[25];
    xp_md5_init(&m);
    xp_md5_update(&m, "hello", 5);
    xp_md5_final(&m, d);
    xp_hex(hex, d, 16);
    assert_string_equal(hex, "5d41402abc4b2a76b9719d911017c592");
    xp_base64(b64, d, 16);
    assert_string_equal(b64, "XUFAKrxLKna5cZ2REBfFkg==");
    unsigned char back[16];
    assert_int_equal(xp_base64_decode(back, 16, b64, strlen(b64)), 16);
    assert_memory_equal(back, d, 16);
}

static int scan(const char *text, struct xp_field *f, size_t *n)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf), "%s", text);
    return xp_jscan_object(buf, strlen(buf), f, 16, n);
}

/* A publish killed between moving the old copy aside and removing it leaves
 * "<staging>.xport-old-PID"; the next stage of that experiment removes it,
 * and leaves other experiments' leftovers alone. */
static void test_stage_stale(void **state)
{
    (void)state;
    char *root = tu_mkdtemp();
    char mine[65], other[65];
    xp_sha256_hex(mine, "final", 5);
    xp_sha256_hex(other, "other", 5);
    assert_int_equal(tu_sh("mkdir -p %s/.xport/staging/%.24s.xport-old-12/x "
                           "%s/.xport/staging/%.24s.xport-old-12", root, mine, root, other), 0);
    struct xp_stage st;
    assert_int_equal(xp_stage_open(&st, root, "final", 0), 0);
    assert_int_equal(tu_sh("test ! -e %s/.xport/staging/%.24s.xport-old-12 && "
                           "test -d %s/.xport/staging/%.24s.xport-old-12", root, mine, root,
                           other), 0);
    xp_stage_release(&st, 1);
    tu_rmtree(root);
    free(root);
}

/* Types through a JavaScript-number store: what is sent, what a Node round
 * trip makes of it (the test does that rewrite by hand), what comes back. */
static void test_typemark(void **state)
{
    (void)state;
    struct xp_field f[8] = {
        {"a", {.type = XP_V_FLOAT, .u.d = 1.0}},
        {"b", {.type = XP_V_FLOAT, .u.d = NAN}},
        {"c", {.type = XP_V_FLOAT, .u.d = -0.0}},
        {"d", {.type = XP_V_INT, .u.i = INT64_MAX}},
        {"e", {.type = XP_V_UINT, .u.u = UINT64_MAX}},
        {"g", {.type = XP_V_FLOAT, .u.d = 0.5}},
        {"_xport", {.type = XP_V_INT, .u.i = 7}},
        {"h", {.type = XP_V_JSON, .u.s = {"[1.0,2]", 7}}},
    };
    struct xp_buf b = XP_BUF_INIT;
    int marked;
    xp_buf_putc(&b, '{');
    assert_int_equal(xp_typemark_put_fields(&b, f, 8, &marked), 0);
    xp_buf_putc(&b, '}');
    assert_true(marked);
    assert_string_equal(b.ptr,
        "{\"a\":1.0,\"b\":\"NaN\",\"c\":\"-0.0\",\"d\":\"9223372036854775807\","
        "\"e\":\"18446744073709551615\",\"g\":0.5,\"h\":\"[1.0,2]\","
        "\"_xport\":{\"a\":\"f\",\"b\":\"f\",\"c\":\"f\",\"d\":\"i\",\"e\":\"u\",\"h\":\"j\","
        "\"_xport\":{\"o\":7}}}");
    /* Node prints 1.0 as 1 */
    char text[] = "{\"a\":1,\"b\":\"NaN\",\"c\":\"-0.0\",\"d\":\"9223372036854775807\","
                  "\"e\":\"18446744073709551615\",\"g\":0.5,\"h\":\"[1.0,2]\","
                  "\"_xport\":{\"a\":\"f\",\"b\":\"f\",\"c\":\"f\",\"d\":\"i\",\"e\":\"u\","
                  "\"h\":\"j\",\"_xport\":{\"o\":7}}}";
    struct xp_field out[16];
    size_t n;
    assert_int_equal(xp_jscan_object(text, strlen(text), out, 16, &n), 0);
    assert_int_equal(xp_typemark_decode(out, &n), 0);
    assert_int_equal(n, 8);
    assert_int_equal(out[0].v.type, XP_V_FLOAT);
    assert_true(out[0].v.u.d == 1.0);
    assert_true(isnan(out[1].v.u.d));
    assert_true(out[2].v.u.d == 0 && signbit(out[2].v.u.d));
    assert_int_equal(out[3].v.type, XP_V_INT);
    assert_true(out[3].v.u.i == INT64_MAX);
    assert_int_equal(out[4].v.type, XP_V_UINT);
    assert_true(out[4].v.u.u == UINT64_MAX);
    assert_int_equal(out[6].v.type, XP_V_JSON);
    assert_int_equal(out[7].v.type, XP_V_INT); /* the source's own _xport */
    assert_string_equal(out[7].key, "_xport");
    /* a marker that does not fit leaves everything as the store holds it */
    char bad[] = "{\"a\":\"x\",\"_xport\":{\"a\":\"f\"}}";
    assert_int_equal(xp_jscan_object(bad, strlen(bad), out, 16, &n), 0);
    assert_int_equal(xp_typemark_decode(out, &n), XP_EINVALID);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].v.type, XP_V_STRING);
    xp_error_clear();
    /* documents */
    struct json_object *doc = json_tokener_parse(
        "{\"lr\":1.0,\"x\":{\"y\":-0.0,\"z\":[NaN]},\"big\":9007199254740993,\"s\":\"t\"}");
    assert_non_null(doc);
    struct json_object *enc = xp_typemark_tree_encode(doc);
    xp_buf_reset(&b);
    assert_int_equal(xp_json_put_obj(&b, enc, 0), 0);
    assert_string_equal(b.ptr, "{\"lr\":1.0,\"x\":{\"y\":\"-0.0\",\"z\":\"[NaN]\",\"_xport\":"
                               "{\"y\":\"f\",\"z\":\"j\"}},\"big\":\"9007199254740993\","
                               "\"s\":\"t\",\"_xport\":{\"lr\":\"f\",\"big\":\"i\"}}");
    json_object_put(enc);
    enc = json_tokener_parse("{\"lr\":1,\"x\":{\"y\":\"-0.0\",\"z\":\"[NaN]\",\"_xport\":"
                             "{\"y\":\"f\",\"z\":\"j\"}},\"big\":\"9007199254740993\","
                             "\"s\":\"t\",\"_xport\":{\"lr\":\"f\",\"big\":\"i\"}}");
    assert_int_equal(xp_typemark_tree_decode(enc), 0);
    struct xp_buf a1 = XP_BUF_INIT, a2 = XP_BUF_INIT;
    assert_int_equal(xp_json_put_obj(&a1, enc, 1), 0);
    assert_int_equal(xp_json_put_obj(&a2, doc, 1), 0);
    assert_string_equal(a1.ptr, a2.ptr);
    json_object_put(enc);
    json_object_put(doc);
    xp_buf_release(&a1);
    xp_buf_release(&a2);
    xp_buf_release(&b);
}

/* A number that runs to the end of an unterminated buffer (the fuzzer's
 * crash-65978a6b, "{\"a\":1."): the slow path read past it looking for
 * the NUL it could not write. Under ASan the buffers are exactly len. */
static void test_jscan_number_at_end(void **state)
{
    (void)state;
    const char *cut[] = {"{\"a\":1.", "{\"a\":99999999999999999999", "{\"a\":1.5e5e5",
                         "{\"a\":-99999999999999999999", "{\"a\":1"};
    for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
        size_t len = strlen(cut[i]), n, end;
        char *buf = malloc(len);
        struct xp_field f[4];
        memcpy(buf, cut[i], len);
        assert_int_equal(xp_jscan_object(buf, len, f, 4, &n), XP_EINVALID);
        memcpy(buf, cut[i], len);
        assert_int_equal(xp_jscan_object_at(buf, len, &end, f, 4, &n), XP_EINVALID);
        free(buf);
    }
}

static void test_jscan(void **state)
{
    (void)state;
    struct xp_field f[16];
    size_t n;
    assert_int_equal(scan("{\"a\":1,\"b\":-2.5e-3,\"c\":\"x\\\"y\\u00e9\\ud83d\\ude00\","
                          "\"d\":[1,{\"e\":\"]\"}],\"f\":true,\"g\":null,\"h\":NaN,"
                          "\"i\":-Infinity,\"j\":18446744073709551615,\"k\":1.0}", f, &n), 0);
    assert_int_equal(n, 10);
    assert_true(f[0].v.type == XP_V_INT && f[0].v.u.i == 1);
    assert_true(f[1].v.type == XP_V_FLOAT && f[1].v.u.d == -2.5e-3);
    assert_int_equal(f[2].v.type, XP_V_STRING);
    assert_memory_equal(f[2].v.u.s.ptr, "x\"y\xc3\xa9\xf0\x9f\x98\x80", f[2].v.u.s.len);
    assert_int_equal(f[3].v.type, XP_V_JSON);
    assert_memory_equal(f[3].v.u.s.ptr, "[1,{\"e\":\"]\"}]", f[3].v.u.s.len);
    assert_true(f[4].v.type == XP_V_BOOL && f[4].v.u.b);
    assert_int_equal(f[5].v.type, XP_V_NULL);
    assert_true(f[6].v.type == XP_V_FLOAT && isnan(f[6].v.u.d));
    assert_true(f[7].v.type == XP_V_FLOAT && f[7].v.u.d == -INFINITY);
    assert_true(f[8].v.type == XP_V_UINT && f[8].v.u.u == UINT64_MAX);
    assert_true(f[9].v.type == XP_V_FLOAT && f[9].v.u.d == 1.0);
    assert_string_equal(f[9].key, "k");
    assert_int_equal(scan("  { }  ", f, &n), 0);
    assert_int_equal(n, 0);
    /* an object followed by more: where it ends */
    char two[] = "{\"a\":{\"b\":\"}\"},\"c\":[1,2]} , {\"d\":3}]";
    size_t end;
    assert_int_equal(xp_jscan_object_at(two, strlen(two), &end, f, 16, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(end, strlen("{\"a\":{\"b\":\"}\"},\"c\":[1,2]}"));
    assert_int_equal(xp_jscan_object(two, strlen(two), f, 16, &n), XP_EINVALID);
    /* everything else is refused, for json-c to judge */
    const char *bad[] = {"{\"a\":01}", "{\"a\":1.}", "{\"a\":\"\x01\"}", "{\"a\":1",
                         "{\"a\" 1}", "{\"a\":1,}", "{\"a\":\"\xff\"}", "{\"a\":tru}",
                         "{\"a\":\"\\ud800\"}", "{\"a\":1} x", "[1]",
                         "{\"a\":99999999999999999999999}", "{\"a\\u0000b\":1}",
                         "{\"a\":1e}", "{\"a\":1e+}", "{\"a\":1.5e5e5}", "{\"a\":1.2.3}",
                         "{\"a\":-}", "{\"a\":1-2}", "{\"a\":1e400}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (scan(bad[i], f, &n) == 0)
            fail_msg("accepted %s", bad[i]);
}

/* text of n copies of unit inside prefix and suffix */
static char *repeat(const char *prefix, const char *unit, size_t n, const char *suffix,
                    size_t *len)
{
    size_t pl = strlen(prefix), ul = strlen(unit), sl = strlen(suffix);
    char *s = malloc(pl + ul * n + sl + 1);
    assert_non_null(s);
    memcpy(s, prefix, pl);
    for (size_t i = 0; i < n; i++)
        memcpy(s + pl + i * ul, unit, ul);
    memcpy(s + pl + ul * n, suffix, sl + 1);
    *len = pl + ul * n + sl;
    return s;
}

/* An answer is priced before json-c builds it, and refused when too dense
 * for its size: [0,0,...] and [{},{},...] (issue 16's dense answers). */
static void test_json_answer_budget(void **state)
{
    (void)state;
    uint64_t n;
    /* strings with quotes, brackets and backslashes inside count once */
    const char *t = "{\"k\\\\\":[1,-2.5e3,\"a\\\"[{\\\\\",true,null,{}]}";
    uint64_t c = xp_jscan_cost(t, strlen(t), &n);
    assert_int_equal(n, 9); /* object, key, array, 1, -2.5e3, string, true, null, {} */
    assert_true(c >= 800 + 160 + 2 * 104 + 72 + 792); /* json-c's measured costs */
    /* escapes at every offset of the eight-byte steps */
    for (size_t pad = 0; pad < 20; pad++) {
        char b[64];
        int bl = snprintf(b, sizeof(b), "[\"%.*s\\\"{\\\\\",[0]]", (int)pad,
                          "xxxxxxxxxxxxxxxxxxxx");
        c = xp_jscan_cost(b, (size_t)bl, &n);
        assert_int_equal(n, 4); /* [, the string, [, 0 */
        assert_int_equal(c, 168 + 104 + (pad + 6) + 168 + 113);
    }
    assert_int_equal(xp_jscan_cost("", 0, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(xp_jscan_cost("\"unterminated\\\"", 15, &n) > 0, 1);

    size_t len;
    struct json_object *o = (struct json_object *)1;
    /* 400,000 zeros: 0.8 MiB of text, ~29 MiB of json-c objects, ~45 priced */
    char *dense = repeat("{\"data\":[", "0,", 400000, "0]}", &len);
    assert_int_equal(xp_json_parse_answer(&o, dense, len, "a page",
                                          "http://user:pw@127.0.0.1:9/p?x=1"),
                     XP_EINVALID);
    assert_null(o);
    const char *m = xp_error_last()->message;
    assert_non_null(strstr(m, "a page from http://<redacted>@127.0.0.1:9/p?x=1"));
    assert_non_null(strstr(m, "400004 JSON values in 800012 bytes"));
    assert_null(strstr(m, "pw"));
    free(dense);
    /* 60,000 {} (180 kB) would take 47 MiB */
    dense = repeat("[", "{},", 60000, "{}]", &len);
    assert_int_equal(xp_json_parse_answer(&o, dense, len, NULL, NULL), XP_EINVALID);
    assert_non_null(strstr(xp_error_last()->message, "an answer is too dense"));
    free(dense);
    /* under the floor: parsed (100,000 zeros, ~11 MiB priced) */
    dense = repeat("[", "0,", 100000, "0]", &len);
    assert_int_equal(xp_json_parse_answer(&o, dense, len, "a page", NULL), 0);
    assert_int_equal(json_object_array_length(o), 100001);
    json_object_put(o);
    free(dense);
    /* a big answer of long strings (W&B history rows) is parsed: 39 MiB
     * priced for 19 MiB of text, over the floor but within 4 times its size */
    dense = repeat("[", "\"{\\\"_step\\\":1,\\\"loss\\\":0.25,\\\"pad\\\":\\\""
                        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\\\"}\",",
                   200000, "\"\"]", &len);
    c = xp_jscan_cost(dense, len, &n);
    assert_true(c > XP_JSON_TREE_FLOOR && c < XP_JSON_TREE_RATIO * (uint64_t)len);
    assert_int_equal(xp_json_parse_answer(&o, dense, len, "a page", NULL), 0);
    json_object_put(o);
    free(dense);
    /* nesting json-c will not go into is not priced: it says "too deep" */
    dense = repeat("", "[", 100000, "", &len);
    assert_true(xp_jscan_cost(dense, len, NULL) <= (XP_JSON_DEPTH + 1) * 168);
    assert_int_equal(xp_json_parse_answer(&o, dense, len, "a page", NULL), XP_EINVALID);
    assert_non_null(strstr(xp_error_last()->message, "nesting too deep"));
    free(dense);
    /* a malformed answer under the budget is json-c's to name */
    assert_int_equal(xp_json_parse_answer(&o, "[1,", 3, "a page", NULL), XP_EINVALID);
    assert_non_null(strstr(xp_error_last()->message, "truncated JSON in a page"));
}

/* Names from a server or a layout stay one path segment in a URL. */
static void test_url_segment(void **state)
{
    (void)state;
    struct xp_buf b = XP_BUF_INIT;
    xp_http_put_segment(&b, "a/b c?..%~_-.Z9\xc3\xa9");
    assert_string_equal(b.ptr, "a%2Fb%20c%3F..%25~_-.Z9%C3%A9");
    xp_buf_reset(&b);
    xp_http_put_segment(&b, "..");
    assert_string_equal(b.ptr, "%2E%2E"); /* never squashed away as a dot-segment */
    xp_buf_reset(&b);
    xp_http_put_segment(&b, "...");
    assert_string_equal(b.ptr, "...");
    xp_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doubles),  cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_doubles_like_printf),
        cmocka_unit_test(test_doubles_shortest),
        cmocka_unit_test(test_fast_double),
        cmocka_unit_test(test_names),    cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_json_errors), cmocka_unit_test(test_hashes),
        cmocka_unit_test(test_jscan), cmocka_unit_test(test_jscan_number_at_end),
        cmocka_unit_test(test_typemark),
        cmocka_unit_test(test_stage_stale),
        cmocka_unit_test(test_url_segment),
        cmocka_unit_test(test_json_answer_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
