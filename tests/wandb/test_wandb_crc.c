/* The .wandb chunk CRC (adapters/wandb/wandb_crc.c): the standard check
 * value, then the carry-less multiply path against the table path at every
 * length and alignment up to 600 bytes, continued CRCs and big inputs. On a
 * CPU without carry-less multiply both functions are the table path, so
 * the comparison would test nothing: it is skipped (exit 77). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "../../adapters/wandb/wandb_log.h"

static unsigned char data[70000 + 16];

static void fill(void)
{
    uint64_t x = 0x243F6A8885A308D3ull;
    for (size_t i = 0; i < sizeof(data); i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data[i] = (unsigned char)(x >> 32);
    }
}

static void check_value(void **state)
{
    (void)state;
    assert_int_equal(wlog_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(wlog_crc32_tables(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(wlog_crc32(0, "", 0), 0);
    /* 64 bytes of 'a' (the first length the folding path takes) */
    char a[64];
    memset(a, 'a', sizeof(a));
    assert_int_equal(wlog_crc32(0, a, sizeof(a)),
                     wlog_crc32_tables(0, a, sizeof(a)));
}

static void every_length_and_alignment(void **state)
{
    (void)state;
    fill();
    for (size_t off = 0; off < 16; off++)
        for (size_t len = 0; len <= 600; len++) {
            uint32_t seed = (uint32_t)(len * 2654435761u);
            assert_int_equal(wlog_crc32(seed, data + off, len),
                             wlog_crc32_tables(seed, data + off, len));
        }
}

static void continued_and_big(void **state)
{
    (void)state;
    fill();
    size_t n = 70000;
    uint32_t whole = wlog_crc32_tables(0, data, n);
    assert_int_equal(wlog_crc32(0, data, n), whole);
    for (size_t cut = 0; cut < n; cut += 997)
        assert_int_equal(wlog_crc32(wlog_crc32(0, data, cut), data + cut,
                                    n - cut),
                         whole);
}

/* Does wlog_crc32 take the carry-less multiply path here? The same test
 * as wandb_crc.c's. XPORT_TEST_NO_CLMUL=1 pretends not (to check the skip). */
static int have_clmul(void)
{
    const char *no = getenv("XPORT_TEST_NO_CLMUL");
    if (no && *no && strcmp(no, "0"))
        return 0;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("pclmul");
#else
    return 0;
#endif
}

int main(void)
{
    const struct CMUnitTest everywhere[] = {
        cmocka_unit_test(check_value),
    };
    const struct CMUnitTest clmul[] = {
        cmocka_unit_test(every_length_and_alignment),
        cmocka_unit_test(continued_and_big),
    };
    int failed = cmocka_run_group_tests_name("check value", everywhere, NULL, NULL);
    if (failed)
        return failed;
    if (!have_clmul()) {
        printf("no carry-less multiply on this CPU: the two paths are one, nothing to "
               "compare (skipped)\n");
        return 77;
    }
    return cmocka_run_group_tests_name("clmul against tables", clmul, NULL, NULL);
}
