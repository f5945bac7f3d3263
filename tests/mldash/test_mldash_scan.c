/* The in-place point scanner of ml-dash pages (adapters/mldash/mldash_scan.c)
 * on inputs the fuzzer found (tests/fuzz/corpus/mldash_page). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "../../adapters/mldash/mldash_read.h"

static int scan(const char *text, struct xp_point *p)
{
    size_t len = strlen(text), end, dn;
    char *s = malloc(len + 1);
    memcpy(s, text, len + 1);
    struct xp_field df[8];
    struct xp_arena arena = XP_ARENA_INIT;
    memset(p, 0, sizeof(*p));
    int rc = mld_scan_point(&arena, s, len, &end, p, df, &dn);
    xp_arena_release(&arena);
    free(s);
    xp_error_clear();
    return rc;
}

/* A bare index of 19 digits: the fast path multiplied past INT64_MAX
 * (signed overflow) before it found the number too long for it. */
static void test_index_19_digits(void **st)
{
    (void)st;
    struct xp_point p;
    assert_int_not_equal(scan("{\"index\":9999999999999999999,\"data\":{}}", &p), 0);
    assert_int_equal(scan("{\"index\":999999999999999999,\"data\":{}}", &p), 0);
    assert_true(p.index == 999999999999999999);
    assert_int_equal(scan("{\"index\":9223372036854775807,\"data\":{}}", &p), 0);
    assert_true(p.index == INT64_MAX);
    assert_int_equal(scan("{\"index\":-1234567890123456789,\"data\":{}}", &p), 0);
    assert_true(p.index == -1234567890123456789);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_19_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
