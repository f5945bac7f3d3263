/* History rows packed on the prefetch thread (adapters/wandb/wandb_rows.c)
 * against the decoder reading the same records itself
 * (XPORT_WANDB_NO_PACK=1): generated runs full of what the packer must
 * either take exactly or leave alone (strings, NaN spellings, nested keys,
 * repeated keys, missing or odd steps, items without value, invalid keys,
 * records it cannot decode, other record types in between), read whole, by
 * resource and by one series, and a damaged copy. Both ways must give the
 * same dump to the byte, vendor object and warnings included. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "wenc.h"
#include "wtest.h"
#include "xport/buf.h"
#include "xport/fs.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const char *const odd_values[] = {
    "1", "-1", "0", "-0", "0.5", "-0.0", "1e400", "-1e400", "1e-400",
    "2.5e-320", "NaN", "Infinity", "-Infinity", "\"NaN\"", "\"str\"", "\"\"",
    "true", "false", "null", " 3.25 ", "\t7\n", "9223372036854775807",
    "9223372036854775808", "-9223372036854775809", "18446744073709551616",
    "{\"a\":1,\"b\":[1,2]}", "[1,2,3]", "[]", "1.7976931348623157e308",
    "4.9406564584124654e-324", "123456789012345678901234567890",
    "0.30000000000000004", "3.141592653589793238462643383279", "1e23",
    "\"caf\\u00e9\"", "1234567890123456.7"};
/* not JSON: the record is undecodable either way */
static const char *const bad_values[] = {"nan", "inf", "1.", ".5", "01",
                                         "1e", "-", "tru", "{", "12345678:"};
static const char *const keys[] = {"loss", "acc", "train/loss", "caf\xc3\xa9",
                                   "_step", "_timestamp", "_runtime", "a",
                                   "b", "x y"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *value(char buf[64], int allow_bad)
{
    uint64_t r = rnd() % 100;
    if (r < 45) {
        snprintf(buf, 64, "%.17g",
                 (double)(rnd() >> 11) / 9007199254740992.0 * (double)(r + 1));
        return buf;
    }
    if (r < 60) {
        snprintf(buf, 64, "%lld", (long long)(rnd() % 2000000) - 1000000);
        return buf;
    }
    if (allow_bad && r < 63)
        return bad_values[rnd() % N(bad_values)];
    return odd_values[rnd() % N(odd_values)];
}

static void item(struct xp_buf *items, int field, const char *k, size_t kn,
                 const char *v)
{
    struct xp_buf it = XP_BUF_INIT;
    we_bytes(&it, (uint32_t)field, k, kn);
    if (v)
        we_str(&it, 16, v);
    we_msg(items, 1, &it);
    xp_buf_release(&it);
}

/* One HistoryRecord: mostly a regular row, sometimes an odd one; with
 * allow_bad, some are undecodable (or hold nested keys, which can be). */
static void history(struct xp_buf *rec, long step, int allow_bad)
{
    struct xp_buf items = XP_BUF_INIT, h = XP_BUF_INIT, sub = XP_BUF_INIT;
    char v[64];
    if (rnd() % 4) {
        snprintf(v, sizeof(v), "%ld", step);
        if (rnd() % 10)
            item(&items, 1, "_step", 5, v);
        snprintf(v, sizeof(v), "%.17g", 1767323045.0 + (double)step * 0.25);
        if (rnd() % 10)
            item(&items, rnd() % 2 ? 1 : 2, "_timestamp", 10, v);
        for (int m = 0; m < 8; m++) {
            char k[16];
            snprintf(k, sizeof(k), "m/%02d", m);
            if (rnd() % 8)
                item(&items, 2, k, strlen(k), value(v, allow_bad));
        }
        snprintf(v, sizeof(v), "%.17g", (double)step * 0.25);
        item(&items, 1, "_runtime", 8, v);
    } else {
        for (int i = (int)(rnd() % 10); i > 0; i--) {
            const char *k = keys[rnd() % N(keys)];
            uint64_t t = rnd() % 100;
            if (t < 75) {
                item(&items, rnd() % 2 ? 1 : 2, k, strlen(k), value(v, allow_bad));
            } else if (t < 80 && allow_bad) {
                item(&items, 2, k, strlen(k), NULL); /* no value */
            } else if (t < 86 && allow_bad) { /* a nested key */
                xp_buf_reset(&sub);
                we_str(&sub, 2, k);
                we_str(&sub, 2, keys[rnd() % N(keys)]);
                we_str(&sub, 16, value(v, 0));
                we_msg(&items, 1, &sub);
            } else if (t < 90) { /* a value given twice, an unknown field */
                xp_buf_reset(&sub);
                we_str(&sub, 2, k);
                we_str(&sub, 16, "1");
                we_uint(&sub, 7, 5);
                we_str(&sub, 16, value(v, 0));
                we_msg(&items, 1, &sub);
            } else if (t < 93 && allow_bad) {
                item(&items, 1, "bad\xff", 4, "1"); /* not UTF-8 */
            } else if (t < 95 && allow_bad) {
                item(&items, 1, "nu\0l", 4, "1"); /* a NUL */
            } else if (t < 97) {
                we_uint(&items, 9, 3); /* unknown field of the record */
            } else {
                xp_buf_reset(&sub);
                we_uint(&sub, 1, rnd() % 1000);
                we_msg(&items, 2, &sub); /* a second HistoryStep */
            }
        }
    }
    we_history(&h, &items, rnd() % 3 ? step : -1);
    if (rnd() % 40 == 0)
        we_uint(rec, 1, (uint64_t)step); /* Record.num */
    xp_buf_put(rec, h.ptr, h.len);
    if (rnd() % 40 == 0)
        we_str(rec, 19, "uuid");
    if (rnd() % 100 == 0) {
        struct xp_buf e = XP_BUF_INIT;
        we_exit(&e, 3, 9); /* another record type in the same record */
        xp_buf_put(rec, e.ptr, e.len);
        xp_buf_release(&e);
    }
    xp_buf_release(&items);
    xp_buf_release(&h);
    xp_buf_release(&sub);
}

static void stats(struct xp_buf *rec, long n)
{
    struct xp_buf s = XP_BUF_INIT, ts = XP_BUF_INIT, it = XP_BUF_INIT;
    char v[64];
    we_uint(&ts, 1, 1767323045 + (uint64_t)n);
    we_msg(&s, 2, &ts);
    we_str(&it, 1, "cpu");
    we_str(&it, 16, value(v, 0));
    we_msg(&s, 3, &it);
    we_msg(rec, 7, &s);
    xp_buf_release(&s);
    xp_buf_release(&ts);
    xp_buf_release(&it);
}

static char *generate(const char *dir, const char *name, long nrec,
                      int allow_bad, uint64_t seed)
{
    char *path = xp_path_join(dir, name);
    struct we_writer w;
    assert_int_equal(we_open(&w, path, (int)(seed % 2)), 0);
    rng = 0x9E3779B97F4A7C15ull ^ seed;
    struct xp_buf rec = XP_BUF_INIT;
    we_run(&rec, "rows", "ent", "proj", "rows-run", 1767323045);
    we_record(&w, rec.ptr, rec.len);
    long step = 0;
    for (long r = 0; r < nrec; r++) {
        xp_buf_reset(&rec);
        if (rnd() % 10) {
            history(&rec, step++, allow_bad);
            if (rnd() % 20 == 0)
                step += (long)(rnd() % 5);
        } else if (rnd() % 2) {
            stats(&rec, r);
        } else {
            size_t n = 3 + rnd() % 3000;
            we_filler(&rec, n == 131 ? 132 : n);
        }
        we_record(&w, rec.ptr, rec.len);
    }
    xp_buf_reset(&rec);
    we_exit(&rec, 0, 10);
    we_record(&w, rec.ptr, rec.len);
    assert_int_equal(we_close(&w), 0);
    xp_buf_release(&rec);
    return path;
}

static void same_both_ways(const char *path, const struct wt_opts *o)
{
    char *packed, *packed_warn, *plain, *plain_warn;
    unsetenv("XPORT_WANDB_NO_PACK");
    int rc1 = wt_dump(&packed, &packed_warn, path, o);
    setenv("XPORT_WANDB_NO_PACK", "1", 1);
    int rc2 = wt_dump(&plain, &plain_warn, path, o);
    unsetenv("XPORT_WANDB_NO_PACK");
    assert_int_equal(rc1, rc2);
    assert_true(strlen(plain) > 1000); /* it did read rows */
    assert_string_equal(packed, plain);
    assert_string_equal(packed_warn, plain_warn);
    free(packed);
    free(packed_warn);
    free(plain);
    free(plain_warn);
}

static void odd_rows(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    for (uint64_t seed = 1; seed <= 2; seed++) {
        char name[32];
        snprintf(name, sizeof(name), "run-odd%llu.wandb",
                 (unsigned long long)seed);
        char *path = generate(dir, name, 3000, 1, seed);
        struct wt_opts all = {.allow_partial = "1", .with_vendor = 1};
        same_both_ways(path, &all);
        struct wt_opts metrics = {.allow_partial = "1",
                                  .resources = XP_RES_METRICS};
        same_both_ways(path, &metrics);
        struct wt_opts one = {.allow_partial = "1", .only_series = "m/03"};
        same_both_ways(path, &one);
        free(path);
    }
    tu_rmtree(dir);
    free(dir);
}

/* Damage is found on the prefetch thread, undecodable records on the
 * decoder: a run without the latter keeps every warning on one thread, so
 * their order is fixed. */
static void damaged(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *path = generate(dir, "run-damaged.wandb", 3000, 0, 3);
    /* flip a bit in twelve places, cut the tail short */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    for (long i = 1; i <= 12; i++) {
        assert_int_equal(fseek(f, i * (len / 13), SEEK_SET), 0);
        int c = fgetc(f);
        assert_int_equal(fseek(f, i * (len / 13), SEEK_SET), 0);
        fputc(c ^ 0x20, f);
    }
    fclose(f);
    assert_int_equal(truncate(path, len - 777), 0);
    struct wt_opts all = {.allow_partial = "1", .with_vendor = 1};
    same_both_ways(path, &all);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(odd_rows),
        cmocka_unit_test(damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
