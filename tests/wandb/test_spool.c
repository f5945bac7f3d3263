/* Unit tests of the spool (core/spool.c): order and content of records in
 * many interleaved streams, the memory budget forcing data to disk, big and
 * empty records, reading a stream again from its start while others are
 * read, and the private directory's removal. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/spool.h"

static char *tmp, *old_tmpdir;

/* Each test gets its own TMPDIR, so it can see what the spool leaves. */
static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    old_tmpdir = t ? xp_strdup(t) : NULL;
    tmp = tu_mkdtemp();
    setenv("TMPDIR", tmp, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (old_tmpdir)
        setenv("TMPDIR", old_tmpdir, 1);
    else
        unsetenv("TMPDIR");
    free(old_tmpdir);
    tu_rmtree(tmp);
    free(tmp);
    return 0;
}

/* What is in dir, but for this process's own xport-live-ID folder and its
 * lock (core/tmpdir.c), whose content counts instead. */
static size_t entries(const char *dir)
{
    char **names;
    size_t n, count = 0;
    assert_int_equal(xp_list_dir(&names, &n, dir), 0);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (strncmp(names[i], "xport-live-", 11)) {
            count++;
        } else if (len < 5 || strcmp(names[i] + len - 5, ".lock")) {
            char *sub = xp_path_join(dir, names[i]);
            count += entries(sub);
            free(sub);
        }
    }
    xp_strv_free(names);
    return count;
}

/* Deterministic record i of stream s: its length and bytes. */
static size_t rec_len(size_t s, size_t i)
{
    return (s * 7919 + i * 104729) % 301;
}

static void rec_fill(unsigned char *p, size_t s, size_t i, size_t n)
{
    for (size_t k = 0; k < n; k++)
        p[k] = (unsigned char)(s * 31 + i * 17 + k);
}

static void check_stream(struct xp_spool *sp, size_t s, size_t id,
                         size_t nrec)
{
    struct xp_spool_iter it;
    unsigned char want[400];
    assert_int_equal(xp_spool_iter_open(&it, sp, id), 0);
    for (size_t i = 0; i < nrec; i++) {
        const void *data;
        size_t len;
        assert_int_equal(xp_spool_iter_next(&it, &data, &len), 0);
        size_t n = rec_len(s, i);
        assert_int_equal(len, n);
        rec_fill(want, s, i, n);
        assert_memory_equal(data, want, n);
    }
    const void *data;
    size_t len;
    assert_int_equal(xp_spool_iter_next(&it, &data, &len), XP_ITEROVER);
    xp_spool_iter_close(&it);
}

static void memory_only(void **state)
{
    (void)state;
    struct xp_spool *sp;
    size_t a, b;
    assert_int_equal(xp_spool_new(&sp, 0), 0);
    assert_int_equal(xp_spool_add(sp, &a), 0);
    assert_int_equal(xp_spool_add(sp, &b), 0);
    assert_int_equal(a, 0);
    assert_int_equal(b, 1);
    unsigned char buf[400];
    for (size_t i = 0; i < 100; i++) {
        rec_fill(buf, 0, i, rec_len(0, i));
        assert_int_equal(xp_spool_put(sp, a, buf, rec_len(0, i)), 0);
        rec_fill(buf, 1, i, rec_len(1, i));
        assert_int_equal(xp_spool_put(sp, b, buf, rec_len(1, i)), 0);
    }
    assert_int_equal(xp_spool_count(sp, a), 100);
    assert_int_equal(xp_spool_nstreams(sp), 2);
    assert_int_equal(entries(tmp), 0); /* small enough to stay in memory */
    check_stream(sp, 1, b, 100);
    check_stream(sp, 0, a, 100);
    /* a stream that has been read cannot take more */
    assert_int_equal(xp_spool_put(sp, a, "x", 1), XP_EINVALID);
    xp_spool_free(sp);
    assert_int_equal(entries(tmp), 0);
}

static void budget_forces_disk(void **state)
{
    (void)state;
    enum { NS = 50, NR = 2000 };
    struct xp_spool *sp;
    size_t ids[NS];
    assert_int_equal(xp_spool_new(&sp, 4096), 0);
    for (size_t s = 0; s < NS; s++)
        assert_int_equal(xp_spool_add(sp, &ids[s]), 0);
    unsigned char buf[400];
    uint64_t total = 0;
    for (size_t i = 0; i < NR; i++) {
        for (size_t s = 0; s < NS; s++) {
            size_t n = rec_len(s, i);
            rec_fill(buf, s, i, n);
            assert_int_equal(xp_spool_put(sp, ids[s], buf, n), 0);
            total += n;
        }
    }
    assert_true(xp_spool_bytes(sp) > total);
    assert_int_equal(entries(tmp), 1); /* the private directory */
    /* read in another order than written */
    for (size_t k = 0; k < NS; k++) {
        size_t s = (k * 17) % NS;
        check_stream(sp, s, ids[s], NR);
    }
    xp_spool_free(sp);
    assert_int_equal(entries(tmp), 0);
}

static void big_and_empty_records(void **state)
{
    (void)state;
    struct xp_spool *sp;
    size_t id;
    assert_int_equal(xp_spool_new(&sp, 1024), 0);
    assert_int_equal(xp_spool_add(sp, &id), 0);
    size_t big = 300000;
    unsigned char *p = malloc(big);
    for (size_t k = 0; k < big; k++)
        p[k] = (unsigned char)(k * 13);
    assert_int_equal(xp_spool_put(sp, id, "", 0), 0);
    assert_int_equal(xp_spool_put(sp, id, p, big), 0);
    assert_int_equal(xp_spool_put(sp, id, "abc", 3), 0);
    assert_int_equal(xp_spool_put(sp, id, p, big - 1), 0);

    struct xp_spool_iter it;
    const void *data;
    size_t len;
    assert_int_equal(xp_spool_iter_open(&it, sp, id), 0);
    assert_int_equal(xp_spool_iter_next(&it, &data, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(xp_spool_iter_next(&it, &data, &len), 0);
    assert_int_equal(len, big);
    assert_memory_equal(data, p, big);
    assert_int_equal(xp_spool_iter_next(&it, &data, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(data, "abc", 3);
    assert_int_equal(xp_spool_iter_next(&it, &data, &len), 0);
    assert_int_equal(len, big - 1);
    assert_memory_equal(data, p, big - 1);
    assert_int_equal(xp_spool_iter_next(&it, &data, &len), XP_ITEROVER);
    xp_spool_iter_close(&it);
    free(p);
    xp_spool_free(sp);
    assert_int_equal(entries(tmp), 0);
}

/* The rows stream of the W&B reader: read once per series, from the start
 * each time, in memory or from its file. */
static void rewind_while_others_read(void **state)
{
    (void)state;
    for (int on_disk = 0; on_disk < 2; on_disk++) {
        enum { NR = 3000 };
        struct xp_spool *sp;
        size_t table, a;
        assert_int_equal(xp_spool_new(&sp, on_disk ? 2048 : 0), 0);
        assert_int_equal(xp_spool_add(sp, &table), 0);
        assert_int_equal(xp_spool_add(sp, &a), 0);
        unsigned char buf[400], want[400];
        for (size_t i = 0; i < (on_disk ? NR : 50); i++) {
            rec_fill(buf, 0, i, rec_len(0, i));
            assert_int_equal(xp_spool_put(sp, table, buf, rec_len(0, i)), 0);
            rec_fill(buf, 1, i, rec_len(1, i));
            assert_int_equal(xp_spool_put(sp, a, buf, rec_len(1, i)), 0);
        }
        assert_int_equal(entries(tmp), (size_t)on_disk);
        size_t nr = on_disk ? NR : 50;
        struct xp_spool_iter it;
        const void *data;
        size_t len;
        assert_int_equal(xp_spool_iter_open(&it, sp, table), 0);
        for (size_t pass = 0; pass < 3; pass++) {
            if (pass == 1)
                check_stream(sp, 1, a, nr); /* another stream in between */
            assert_int_equal(xp_spool_iter_rewind(&it), 0);
            size_t upto = pass == 0 ? nr / 3 : nr;
            for (size_t i = 0; i < upto; i++) {
                assert_int_equal(xp_spool_iter_next(&it, &data, &len), 0);
                assert_int_equal(len, rec_len(0, i));
                rec_fill(want, 0, i, len);
                assert_memory_equal(data, want, len);
            }
            if (upto == nr)
                assert_int_equal(xp_spool_iter_next(&it, &data, &len),
                                 XP_ITEROVER);
        }
        xp_spool_iter_close(&it);
        assert_int_equal(xp_spool_iter_rewind(&it), XP_EINVALID);
        xp_spool_free(sp);
        assert_int_equal(entries(tmp), 0);
    }
}

static void unknown_stream(void **state)
{
    (void)state;
    struct xp_spool *sp;
    struct xp_spool_iter it;
    assert_int_equal(xp_spool_new(&sp, 0), 0);
    assert_int_equal(xp_spool_put(sp, 3, "x", 1), XP_EINVALID);
    assert_int_equal(xp_spool_iter_open(&it, sp, 0), XP_EINVALID);
    xp_spool_free(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(memory_only, setup, teardown),
        cmocka_unit_test_setup_teardown(budget_forces_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(big_and_empty_records, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(rewind_while_others_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unknown_stream, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
