/* S3's multipart limits as the s3 adapter applies them (s3_part_size):
 * parts of 5 MiB to 5 GiB, at most 10,000 of them
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html). An
 * object that the chosen part size would cut into more than 10,000 parts
 * gets larger parts, whole MiB, never a failure, until not even 10,000
 * parts of 5 GiB hold it. */
#include <stdint.h>

#include "s3.h"
#include "testutil.h"
#include "xport/error.h"

#define MiB (1LL << 20)

static int64_t parts(int64_t size, int64_t ps)
{
    return (size + ps - 1) / ps;
}

static void test_part_size(void **state)
{
    (void)state;
    int64_t ps = 0;
    /* fits: the size asked for */
    assert_int_equal(s3_part_size(16 * MiB, 100 * MiB, &ps), 0);
    assert_int_equal(ps, 16 * MiB);
    assert_int_equal(s3_part_size(S3_MIN_PART, S3_MIN_PART * S3_MAX_PARTS, &ps), 0);
    assert_int_equal(ps, S3_MIN_PART);
    /* one byte more than 10,000 parts hold: the next whole MiB */
    assert_int_equal(s3_part_size(S3_MIN_PART, S3_MIN_PART * S3_MAX_PARTS + 1, &ps), 0);
    assert_int_equal(ps, 6 * MiB);
    /* 1 TiB in 16 MiB parts would be 65,536 parts */
    assert_int_equal(s3_part_size(16 * MiB, 1LL << 40, &ps), 0);
    assert_true(parts(1LL << 40, ps) <= S3_MAX_PARTS);
    assert_int_equal(ps % MiB, 0);
    assert_true(ps - MiB < (1LL << 40) / S3_MAX_PARTS); /* the smallest such */
    /* sizes around the limits all take at most 10,000 parts of 5 MiB..5 GiB */
    for (int64_t size = S3_MIN_PART; size <= S3_MAX_PART * S3_MAX_PARTS;
         size = size * 3 + 12345) {
        assert_int_equal(s3_part_size(S3_MIN_PART, size, &ps), 0);
        assert_true(ps >= S3_MIN_PART && ps <= S3_MAX_PART);
        assert_true(parts(size, ps) <= S3_MAX_PARTS);
    }
    assert_int_equal(s3_part_size(S3_MIN_PART, S3_MAX_PART * S3_MAX_PARTS, &ps), 0);
    assert_int_equal(ps, S3_MAX_PART);
    /* beyond 10,000 parts of 5 GiB (48.8 TiB): refused, saying why */
    assert_int_equal(s3_part_size(S3_MIN_PART, S3_MAX_PART * S3_MAX_PARTS + 1, &ps),
                     XP_EINVALID);
    assert_non_null(strstr(xp_error_last()->message, "10,000 parts of 5 GiB"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_part_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
