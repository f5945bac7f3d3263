/* Generated .wandb files (tests/wandb/wenc.c) in both block layouts:
 * records crossing 32 KiB blocks (FIRST/MIDDLE/LAST, an empty FIRST, zero
 * padding), a bad checksum in the middle of a file, and truncated tails.
 * Every run is read through the adapter interface and compared with the
 * dump the generated data must give. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "wenc.h"
#include "wtest.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"

#define MAXROWS 256

struct gen {
    char *dir, *path;
    int old_layout;
    size_t nrows;
    size_t blob[MAXROWS];
    int64_t start[MAXROWS], end[MAXROWS]; /* file span of each row */
    int with_exit;
};

static double fval(size_t i)
{
    return (double)i / 3.0 - 7.25;
}

static void row_record(struct xp_buf *rec, size_t i, size_t blob)
{
    struct xp_buf items = XP_BUF_INIT, v = XP_BUF_INIT;
    xp_buf_printf(&v, "%zu", i);
    we_item(&items, "_step", v.ptr);
    we_item(&items, "m/int", v.ptr);
    xp_buf_reset(&v);
    xp_buf_printf(&v, "%.17g", fval(i));
    we_item(&items, "m/float", v.ptr);
    xp_buf_reset(&v);
    xp_buf_putc(&v, '"');
    for (size_t k = 0; k < blob; k++)
        xp_buf_putc(&v, (char)('a' + (i + k) % 26));
    xp_buf_putc(&v, '"');
    we_item(&items, "blob", v.ptr);
    we_history(rec, &items, (int64_t)i);
    xp_buf_release(&items);
    xp_buf_release(&v);
}

/* Write run, rows (blob sizes from g->blob) and, if asked, the exit. With
 * special != 0, row 3 is preceded by filler leaving exactly 7 free bytes in
 * its block (an empty FIRST chunk follows) and row 5 by filler leaving 3
 * (zero padding follows). */
static void generate(struct gen *g, int special)
{
    struct we_writer w;
    struct xp_buf rec = XP_BUF_INIT;
    g->dir = tu_mkdtemp();
    g->path = xp_path_join(g->dir, "run-gen1.wandb");
    assert_int_equal(we_open(&w, g->path, g->old_layout), 0);
    we_run(&rec, "gen1", "ent", "proj", "gen-run", 1767323045);
    we_record(&w, rec.ptr, rec.len);
    for (size_t i = 0; i < g->nrows; i++) {
        if (special && (i == 3 || i == 5)) {
            int64_t want = i == 3 ? 7 : 3;
            struct xp_buf f = XP_BUF_INIT;
            /* small fillers until one of a simple size fits exactly */
            while (we_left(&w) - 7 - want < 3 ||
                   we_left(&w) - 7 - want == 131) {
                we_filler(&f, 50);
                we_record(&w, f.ptr, f.len);
                xp_buf_reset(&f);
            }
            we_filler(&f, (size_t)(we_left(&w) - 7 - want));
            we_record(&w, f.ptr, f.len);
            assert_int_equal(we_left(&w), want);
            xp_buf_release(&f);
        }
        xp_buf_reset(&rec);
        row_record(&rec, i, g->blob[i]);
        g->start[i] = we_record(&w, rec.ptr, rec.len);
        g->end[i] = w.off;
    }
    if (g->with_exit) {
        xp_buf_reset(&rec);
        we_exit(&rec, 0, 10);
        we_record(&w, rec.ptr, rec.len);
    }
    assert_int_equal(we_close(&w), 0);
    xp_buf_release(&rec);
}

static void gen_free(struct gen *g)
{
    tu_rmtree(g->dir);
    free(g->dir);
    free(g->path);
}

/* The dump the generated rows must give; keep[i] says row i survived. */
static char *expected(const struct gen *g, const int *keep, const char *status)
{
    struct xp_buf b = XP_BUF_INIT;
    size_t n = 0;
    for (size_t i = 0; i < g->nrows; i++)
        n += keep[i] != 0;
    xp_buf_printf(&b,
                  "experiment ent/proj/gen-run\n status %s\n source wandb gen1\n"
                  " times 2026-01-02T03:04:05Z 2026-01-02T03:04:05Z %s\n",
                  status, g->with_exit ? "2026-01-02T03:04:15Z" : "-");
    static const char *const names[] = {"m/int", "m/float", "blob"};
    for (int s = 0; s < 3 && n; s++) {
        xp_buf_printf(&b, "series metric \"%s\" expected=%zu\n", names[s], n);
        size_t idx = 0;
        for (size_t i = 0; i < g->nrows; i++) {
            if (!keep[i])
                continue;
            xp_buf_printf(&b, " point %zu value=", idx++);
            if (s == 0) {
                xp_buf_printf(&b, "i:%zu", i);
            } else if (s == 1) {
                xp_buf_printf(&b, "f:%.17g", fval(i));
            } else {
                xp_buf_puts(&b, "s:\"");
                for (size_t k = 0; k < g->blob[i]; k++)
                    xp_buf_putc(&b, (char)('a' + (i + k) % 26));
                xp_buf_putc(&b, '"');
            }
            xp_buf_printf(&b, " step=i:%zu\n", i);
        }
        xp_buf_puts(&b, "series-end\n");
    }
    xp_buf_puts(&b, "end\n");
    return xp_buf_detach(&b);
}

static void check(const struct gen *g, const int *keep, const char *status,
                  const char *allow_partial)
{
    char *got, *warn, *want = expected(g, keep, status);
    struct wt_opts o = {.allow_partial = allow_partial};
    int rc = wt_dump(&got, &warn, g->path, &o);
    if (rc || strcmp(got, want)) {
        size_t i = 0;
        while (got[i] && got[i] == want[i])
            i++;
        print_message("rc %d, dumps differ at byte %zu: got '%.80s', want "
                      "'%.80s'\nwarnings:\n%s\n",
                      rc, i, got + i, want + i, warn);
    }
    assert_int_equal(rc, 0);
    assert_string_equal(got, want);
    free(got);
    free(warn);
    free(want);
}

static void crossing(int old_layout)
{
    struct gen g = {.old_layout = old_layout, .nrows = 12, .with_exit = 1};
    /* small rows, rows of a few blocks (MIDDLE chunks), odd sizes */
    static const size_t sizes[12] = {10,    40000, 100,  70000, 5,     33000,
                                     32761, 1,     65536, 200,  98304, 17};
    memcpy(g.blob, sizes, sizeof(sizes));
    generate(&g, 1);
    int keep[12];
    for (int i = 0; i < 12; i++)
        keep[i] = 1;
    check(&g, keep, "COMPLETED", NULL);

    char *got, *warn;
    struct wt_opts o = {.with_vendor = 1};
    assert_int_equal(wt_dump(&got, &warn, g.path, &o), 0);
    int said_old = strstr(got, "\"block_layout\":\"before-0.17.6\"") != NULL;
    assert_int_equal(said_old, old_layout);
    assert_string_equal(warn, "");
    free(got);
    free(warn);
    gen_free(&g);
}

static void crossing_new_layout(void **state)
{
    (void)state;
    crossing(0);
}

static void crossing_old_layout(void **state)
{
    (void)state;
    crossing(1);
}

static void flip_byte(const char *path, int64_t off)
{
    assert_int_equal(tu_sh("printf '\\377' | dd of='%s' bs=1 seek=%" PRId64
                           " conv=notrunc status=none",
                           path, off),
                     0);
}

/* A bad checksum in the first chunk of block 1: the record it belongs to,
 * the rest of block 1 and a record running on from there are lost; all
 * else is kept. */
static void bad_crc(int old_layout)
{
    struct gen g = {.old_layout = old_layout, .nrows = 100, .with_exit = 1};
    for (size_t i = 0; i < g.nrows; i++)
        g.blob[i] = 900 + (i * 37) % 300;
    generate(&g, 0);
    int64_t base = old_layout ? 7 : 0;
    int64_t bad = base + WE_BLOCK, blk_end = bad + WE_BLOCK;
    flip_byte(g.path, bad + 7 + 1); /* in the payload: the CRC fails */

    int64_t lost_start = bad, lost_end = blk_end;
    int keep[MAXROWS];
    for (size_t i = 0; i < g.nrows; i++) {
        if (g.start[i] <= bad && bad < g.end[i])
            lost_start = g.start[i];
        if (g.start[i] < blk_end && blk_end < g.end[i])
            lost_end = g.end[i];
    }
    for (size_t i = 0; i < g.nrows; i++)
        keep[i] = g.end[i] <= lost_start || g.start[i] >= lost_end;
    check(&g, keep, "COMPLETED", "true");

    char *got, *warn, msg[128];
    assert_int_equal(wt_dump(&got, &warn, g.path, NULL), XP_EINVALID);
    snprintf(msg, sizeof(msg), "is damaged: lost bytes %" PRId64 "-%" PRId64
             " (", lost_start, lost_end);
    assert_non_null(strstr(got, msg));
    assert_non_null(strstr(got, "error -8 run 'gen1' in '"));
    snprintf(msg, sizeof(msg), "bad checksum at offset %" PRId64, bad);
    assert_non_null(strstr(warn, msg));
    assert_null(strstr(got, "\nend\n"));
    free(got);
    free(warn);
    gen_free(&g);
}

static void bad_crc_new_layout(void **state)
{
    (void)state;
    bad_crc(0);
}

static void bad_crc_old_layout(void **state)
{
    (void)state;
    bad_crc(1);
}

/* Cut the file: inside a payload, inside a chunk header, and at the block
 * boundary in the middle of a multi-chunk record. */
static void truncated(int old_layout)
{
    for (int mode = 0; mode < 3; mode++) {
        struct gen g = {.old_layout = old_layout, .nrows = 40};
        for (size_t i = 0; i < g.nrows; i++)
            g.blob[i] = 2000;
        g.blob[39] = 50000; /* the last row spans blocks */
        generate(&g, 0);
        size_t last = g.nrows - 1;
        int64_t base = old_layout ? 7 : 0;
        int64_t cut = mode == 0   ? g.end[last] - 100
                      : mode == 1 ? g.start[last] + 3
                                  : base + ((g.start[last] - base) / WE_BLOCK +
                                            1) * WE_BLOCK;
        assert_true(cut > g.start[last] && cut < g.end[last]);
        assert_int_equal(truncate(g.path, cut), 0);
        int keep[MAXROWS];
        for (size_t i = 0; i < g.nrows; i++)
            keep[i] = i != last;
        check(&g, keep, "RUNNING", "yes");

        char *got, *warn, msg[128];
        assert_int_equal(wt_dump(&got, &warn, g.path, NULL), XP_EINVALID);
        snprintf(msg, sizeof(msg), "lost bytes %" PRId64 "-%" PRId64 " (",
                 g.start[last], cut);
        if (!strstr(got, msg))
            print_message("mode %d: %s\n", mode, wt_line(got, "error"));
        assert_non_null(strstr(got, msg));
        free(got);
        free(warn);
        gen_free(&g);
    }
}

static void truncated_new_layout(void **state)
{
    (void)state;
    truncated(0);
}

static void truncated_old_layout(void **state)
{
    (void)state;
    truncated(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crossing_new_layout),
        cmocka_unit_test(crossing_old_layout),
        cmocka_unit_test(bad_crc_new_layout),
        cmocka_unit_test(bad_crc_old_layout),
        cmocka_unit_test(truncated_new_layout),
        cmocka_unit_test(truncated_old_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
