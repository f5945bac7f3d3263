/* Unit tests of the protobuf wire walker (core/pb.c, include/xport/pb.h):
 * varints, fixed32/64, length-delimited fields, skipping fields the caller
 * does not know, and errors on truncated or malformed messages. */
#include <stdint.h>
#include <string.h>

#include "testutil.h"
#include "xport/pb.h"

/* Every field of msg[0..len): their count, or -1 when the walk fails. */
static int walk(const unsigned char *msg, size_t len, struct xp_pb_field *out,
                int max)
{
    struct xp_pb m;
    struct xp_pb_field f;
    int n = 0, rc;
    xp_pb_init(&m, msg, len);
    while ((rc = xp_pb_next(&m, &f)) == 1) {
        if (n < max)
            out[n] = f;
        n++;
    }
    return rc < 0 ? -1 : n;
}

static void test_varint_roundtrip(void **state)
{
    const uint64_t vs[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX,
                           (uint64_t)1 << 56, UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
        unsigned char b[XP_PB_VARINT_MAX];
        size_t n = xp_pb_varint_put(b, vs[i]);
        assert_int_equal(n, xp_pb_varint_len(vs[i]));
        const unsigned char *p = b;
        uint64_t got = 0;
        assert_int_equal(xp_pb_varint_get(&p, b + n, &got), 0);
        assert_true(got == vs[i]);
        assert_ptr_equal(p, b + n);
        /* every cut of it is truncated */
        for (size_t k = 0; k < n; k++) {
            p = b;
            assert_int_equal(xp_pb_varint_get(&p, b + k, &got), -1);
        }
    }
    unsigned char b[XP_PB_VARINT_MAX];
    assert_int_equal(xp_pb_varint_put(b, 300), 2);
    assert_int_equal(b[0], 0xac);
    assert_int_equal(b[1], 0x02);
    assert_int_equal(xp_pb_varint_len(UINT64_MAX), XP_PB_VARINT_MAX);
}

static void test_varint_overlong(void **state)
{
    /* eleven bytes with the continuation bit: longer than any uint64 */
    unsigned char b[12];
    memset(b, 0x80, 11);
    b[11] = 0x01;
    const unsigned char *p = b;
    uint64_t v;
    assert_int_equal(xp_pb_varint_get(&p, b + sizeof(b), &v), -1);
    /* a padded but valid 10-byte encoding of 1 is still read */
    unsigned char pad[10] = {0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                             0x80, 0x00};
    p = pad;
    assert_int_equal(xp_pb_varint_get(&p, pad + 10, &v), 0);
    assert_true(v == 1);
    /* as a field's value, too long a varint fails the walk */
    unsigned char msg[13] = {0x08};
    memset(msg + 1, 0xff, 11);
    msg[12] = 0x01;
    struct xp_pb_field f[1];
    assert_int_equal(walk(msg, sizeof(msg), f, 1), -1);
}

static void test_fields(void **state)
{
    /* 1: varint 150; 2: "testing"; 3: fixed64; 4: fixed32; 2047: varint 5
     * (a two-byte tag); 300: varint 1 (a two-byte tag, slow path) */
    unsigned char msg[] = {
        0x08, 0x96, 0x01,                                     /* 1 */
        0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g',       /* 2 */
        0x19, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x88, /* 3 */
        0x25, 0xdd, 0xcc, 0xbb, 0xaa,                         /* 4 */
        0xf8, 0x7f, 0x05,                                     /* 2047 */
        0xe0, 0x12, 0x01,                                     /* 300 */
    };
    struct xp_pb_field f[8];
    assert_int_equal(walk(msg, sizeof(msg), f, 8), 6);
    assert_int_equal(f[0].num, 1);
    assert_int_equal(f[0].wire, XP_PB_VARINT);
    assert_true(f[0].u == 150);
    assert_int_equal(f[1].num, 2);
    assert_int_equal(f[1].wire, XP_PB_LEN);
    assert_int_equal(f[1].len, 7);
    assert_memory_equal(f[1].ptr, "testing", 7);
    assert_int_equal(f[2].num, 3);
    assert_int_equal(f[2].wire, XP_PB_I64);
    assert_true(f[2].u == UINT64_C(0x8807060504030201)); /* little-endian */
    assert_int_equal(f[3].num, 4);
    assert_int_equal(f[3].wire, XP_PB_I32);
    assert_true(f[3].u == UINT64_C(0xaabbccdd));
    assert_int_equal(f[4].num, 2047);
    assert_true(f[4].u == 5);
    assert_int_equal(f[5].num, 300);
    assert_true(f[5].u == 1);
    /* a negative int64 is ten bytes on the wire */
    unsigned char neg[11] = {0x08};
    size_t n = 1 + xp_pb_varint_put(neg + 1, (uint64_t)(int64_t)-2);
    assert_int_equal(n, 11);
    assert_int_equal(walk(neg, n, f, 1), 1);
    assert_true(xp_pb_int64(&f[0]) == -2);
}

static void test_submessage_and_skip(void **state)
{
    /* field 7 holds a message {1: 42, 9: "x"}; the caller knows field 1 of
     * it only and skips the rest; field 5 is unknown and skipped too */
    unsigned char msg[] = {0x2a, 0x02, 'h', 'i',                  /* 5 */
                           0x3a, 0x05, 0x08, 0x2a, 0x4a, 0x01, 'x', /* 7 */
                           0x08, 0x07};                            /* 1 */
    struct xp_pb m, sub;
    struct xp_pb_field f;
    uint64_t inner = 0, outer = 0;
    int rc;
    xp_pb_init(&m, msg, sizeof(msg));
    while ((rc = xp_pb_next(&m, &f)) == 1) {
        if (f.num == 7 && f.wire == XP_PB_LEN) {
            xp_pb_sub(&sub, &f);
            struct xp_pb_field g;
            while ((rc = xp_pb_next(&sub, &g)) == 1)
                if (g.num == 1 && g.wire == XP_PB_VARINT)
                    inner = g.u;
            assert_int_equal(rc, 0);
        } else if (f.num == 1 && f.wire == XP_PB_VARINT) {
            outer = f.u;
        }
    }
    assert_int_equal(rc, 0);
    assert_true(inner == 42);
    assert_true(outer == 7);
}

static void test_truncation_errors(void **state)
{
    struct xp_pb_field f[4];
    /* every strict prefix of a message that ends inside a field fails */
    unsigned char msg[] = {0x12, 0x03, 'a', 'b', 'c',
                           0x19, 1, 2, 3, 4, 5, 6, 7, 8,
                           0x25, 1, 2, 3, 4,
                           0x08, 0x96, 0x01};
    size_t ends[] = {0, 5, 14, 19, sizeof(msg)}; /* field boundaries */
    for (size_t k = 0; k <= sizeof(msg); k++) {
        int boundary = 0;
        for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
            boundary |= ends[i] == k;
        int n = walk(msg, k, f, 4);
        if (boundary)
            assert_true(n >= 0);
        else
            assert_int_equal(n, -1);
    }
    /* a length past the end, even by one */
    unsigned char longlen[] = {0x0a, 0x04, 'a', 'b', 'c'};
    assert_int_equal(walk(longlen, sizeof(longlen), f, 4), -1);
    /* field number 0, groups (wire types 3 and 4) and wire types 6, 7 */
    unsigned char zero[] = {0x00, 0x01};
    assert_int_equal(walk(zero, sizeof(zero), f, 4), -1);
    for (unsigned w = 3; w <= 7; w++) {
        if (w == 5)
            continue;
        unsigned char bad[] = {(unsigned char)(0x08 | w), 0x00, 0x00, 0x00,
                               0x00, 0x00, 0x00, 0x00, 0x00};
        assert_int_equal(walk(bad, sizeof(bad), f, 4), -1);
    }
    /* a field number above 2^29 - 1 */
    unsigned char big[7] = {0};
    size_t n = xp_pb_varint_put(big, (uint64_t)1 << 32);
    big[n] = 0;
    assert_int_equal(walk(big, n + 1, f, 4), -1);
    /* an empty message has no fields */
    assert_int_equal(walk(msg, 0, f, 4), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_roundtrip),
        cmocka_unit_test(test_varint_overlong),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_submessage_and_skip),
        cmocka_unit_test(test_truncation_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
