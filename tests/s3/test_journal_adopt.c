/* The journal's generation and the rule that brings the copy kept at a
 * destination together with the local one (xp_journal_adopt,
 * include/xport/journal.h): the higher generation wins, a newer copy from
 * elsewhere gets the local tail appended, an equal or older one leaves
 * the local copy alone. And the dispatch doors of the adapters' state
 * hooks (ABI 6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/journal.h"
#include "xport/sys/adapter.h"

#define HEAD(gen, state)                                                         \
    "{\"event\":\"journal\",\"version\":2,\"src\":\"S\",\"dst\":\"s3://b/p\",\"state\":" \
    #state ",\"gen\":" #gen ",\"time\":\"2026-01-01T00:00:00Z\"}\n"
#define EXP(name, outcome)                                                       \
    "{\"event\":\"experiment\",\"workspace\":\"ws\",\"project\":\"p\",\"name\":\"" name \
    "\",\"outcome\":\"" outcome "\"}\n"
#define PARTIAL(name)                                                            \
    "{\"event\":\"experiment\",\"workspace\":\"ws\",\"project\":\"p\",\"name\":\"" name \
    "\",\"outcome\":\"partial\",\"mask\":1,\"dropped\":1,\"first\":\"x\"}\n"

struct fx {
    char *tmp, *mine, *theirs;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->tmp = tu_mkdtemp();
    f->mine = xp_path_join(f->tmp, "journal-1.jsonl");
    f->theirs = xp_path_join(f->tmp, "fetched");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_rmtree(f->tmp);
    free(f->tmp);
    free(f->mine);
    free(f->theirs);
    free(f);
    return 0;
}

static void counts(const char *path, int64_t done, int64_t partial)
{
    struct xp_journal_summary s;
    tu_pass(xp_journal_summary(path, &s));
    if (s.done != done || s.partial != partial)
        fail_msg("'%s': done %lld partial %lld, wanted %lld %lld:\n%s", path,
                 (long long)s.done, (long long)s.partial, (long long)done,
                 (long long)partial, tu_slurp(path));
    free(s.src);
    free(s.dst);
}

static int64_t gen_of(const char *path)
{
    char *t = tu_slurp(path);
    const char *g = t ? strstr(t, "\"gen\":") : NULL;
    int64_t n = g ? atoll(g + 6) : -1;
    free(t);
    return n;
}

/* 0 for a new journal, one more at each compaction that had lines to
 * fold; the snapshot a push sends is the compacted file. */
static void test_generation_rises_with_compactions(void **state)
{
    struct fx *f = *state;
    struct xp_journal j;
    char *snap = xp_path_join(f->tmp, "snap");
    tu_pass(xp_journal_open(&j, f->mine, "S", "s3://b/p", 0));
    assert_int_equal(gen_of(f->mine), 0);
    tu_pass(xp_journal_record(&j, "ws", "p", "a", NULL, NULL, "copied", NULL));
    int64_t g = -1;
    tu_pass(xp_journal_compact(&j, snap, &g));
    assert_int_equal(g, 1);
    assert_int_equal(gen_of(f->mine), 1);
    assert_int_equal(gen_of(snap), 1);
    counts(snap, 1, 0);
    tu_pass(xp_journal_compact(&j, snap, NULL)); /* nothing new: the same generation */
    assert_int_equal(gen_of(snap), 1);
    tu_pass(xp_journal_record(&j, "ws", "p", "b", NULL, NULL, "copied", NULL));
    tu_pass(xp_journal_compact(&j, snap, NULL));
    assert_int_equal(gen_of(snap), 2);
    counts(snap, 2, 0);
    tu_pass(xp_journal_close(&j));
    /* a later open goes on from it */
    tu_pass(xp_journal_open(&j, f->mine, "S", "s3://b/p", XP_JOURNAL_RESUME));
    assert_int_equal(j.gen, 2);
    tu_pass(xp_journal_close(&j));
    assert_int_equal(gen_of(f->mine), 3);
    free(snap);
}

/* The other copy is newer: it is taken, and what this machine wrote since
 * its own generation follows it (a torn last line does not). */
static void test_newer_elsewhere_keeps_local_tail(void **state)
{
    struct fx *f = *state;
    tu_write(f->theirs, HEAD(3, 2) EXP("a", "copied") EXP("b", "copied"));
    tu_write(f->mine, HEAD(1, 1) PARTIAL("a") EXP("c", "copied") PARTIAL("b")
                          "{\"event\":\"experiment\",\"name\":\"torn");
    int took = -1;
    int64_t stored = -1; /* unknown: generations decide */
    tu_pass(xp_journal_adopt(f->mine, f->theirs, &stored, &took));
    assert_int_equal(took, 1);
    assert_int_equal(stored, 3);
    char *t = tu_slurp(f->mine);
    assert_string_equal(t, HEAD(3, 2) EXP("a", "copied") EXP("b", "copied")
                               EXP("c", "copied") PARTIAL("b"));
    free(t);
    /* the same when the local copy is known not compacted since it was stored */
    tu_write(f->mine, HEAD(1, 1) PARTIAL("a") EXP("c", "copied") PARTIAL("b"));
    stored = 1;
    tu_pass(xp_journal_adopt(f->mine, f->theirs, &stored, &took));
    t = tu_slurp(f->mine);
    assert_string_equal(t, HEAD(3, 2) EXP("a", "copied") EXP("b", "copied")
                               EXP("c", "copied") PARTIAL("b"));
    free(t);
    counts(f->mine, 2, 1); /* a (theirs), c (the local tail); b partial (later, here) */
    /* and it opens as the journal of its pair */
    struct xp_journal j;
    tu_pass(xp_journal_open(&j, f->mine, "S", "s3://b/p", XP_JOURNAL_RESUME));
    assert_int_equal(j.gen, 3);
    assert_true(xp_journal_done(&j, "ws", "p", "c"));
    assert_false(xp_journal_done(&j, "ws", "p", "b"));
    tu_pass(xp_journal_close(&j));
}

/* The local copy is as new or newer: it stays as it is. */
static void test_local_newer_or_equal_stays(void **state)
{
    struct fx *f = *state;
    const char *mine = HEAD(4, 1) EXP("a", "copied") PARTIAL("c");
    tu_write(f->mine, mine);
    for (int g = 3; g <= 4; g++) {
        tu_write(f->theirs, g == 3 ? HEAD(3, 1) EXP("b", "copied")
                                   : HEAD(4, 1) EXP("b", "copied"));
        int took = -1;
        int64_t stored = -1;
        tu_pass(xp_journal_adopt(f->mine, f->theirs, &stored, &took));
        assert_int_equal(took, 0);
        assert_int_equal(stored, g);
        stored = g; /* known: theirs has not moved since */
        tu_pass(xp_journal_adopt(f->mine, f->theirs, &stored, &took));
        assert_int_equal(took, 0);
        char *t = tu_slurp(f->mine);
        assert_string_equal(t, mine);
        free(t);
    }
}

/* No local copy: the other is taken whole. A local journal of before
 * generations (no header) loses to it, its lines all kept as tail. */
static void test_no_local_or_old_local(void **state)
{
    struct fx *f = *state;
    const char *theirs = HEAD(1, 1) EXP("a", "copied");
    tu_write(f->theirs, theirs);
    int took = -1;
    int64_t stored = -1;
    tu_pass(xp_journal_adopt(f->mine, f->theirs, &stored, &took));
    assert_int_equal(took, 1);
    char *t = tu_slurp(f->mine);
    assert_string_equal(t, theirs);
    free(t);
    tu_write(f->mine, EXP("z", "copied"));
    stored = -1;
    tu_pass(xp_journal_adopt(f->mine, f->theirs, &stored, &took));
    assert_int_equal(took, 1);
    counts(f->mine, 2, 0);
}

/* What was fetched is no journal: refused, the local copy untouched. */
static void test_damaged_copy_refused(void **state)
{
    struct fx *f = *state;
    const char *mine = HEAD(1, 1) EXP("a", "copied");
    tu_write(f->mine, mine);
    tu_write(f->theirs, "<Error>NoSuchKey</Error>\n");
    int took = -1;
    int64_t stored = 1;
    tu_fail_with(XP_EINVALID, "has no header",
                 xp_journal_adopt(f->mine, f->theirs, &stored, &took));
    assert_int_equal(took, 0);
    char *t = tu_slurp(f->mine);
    assert_string_equal(t, mine);
    free(t);
}

/* Both moved since the generation last stored (2): the local copy
 * compacted lines it never stored (its last push failed) while another
 * machine stored generation 4. Theirs is taken and every local line
 * follows it, state and tail; equal generations do not hide it. */
static void test_both_moved_keeps_all_local_lines(void **state)
{
    struct fx *f = *state;
    for (int tg = 3; tg <= 4; tg++) {
        tu_write(f->theirs, tg == 3 ? HEAD(3, 1) EXP("b", "copied")
                                    : HEAD(4, 1) EXP("b", "copied"));
        tu_write(f->mine, HEAD(3, 1) PARTIAL("a") EXP("c", "copied"));
        int took = -1;
        int64_t stored = 2;
        tu_pass(xp_journal_adopt(f->mine, f->theirs, &stored, &took));
        assert_int_equal(took, 1);
        assert_int_equal(stored, tg);
        counts(f->mine, 2, 1); /* b theirs, c and a partial here */
    }
}

/* ---- the state doors ---- */

static int hook_calls;

static int st_get(struct xp_adapter *a, const char *name, const char *local_path)
{
    (void)a;
    (void)local_path;
    hook_calls++;
    return strcmp(name, "journal-1.jsonl") ? XP_ENOTFOUND : 0;
}

static int st_put(struct xp_adapter *a, const char *name, const char *local_path)
{
    (void)a;
    (void)name;
    (void)local_path;
    hook_calls++;
    return 0;
}

static int st_list(struct xp_adapter *a, xp_state_cb cb, void *payload)
{
    (void)a;
    hook_calls++;
    return cb(payload, "journal-1.jsonl");
}

static int count_names(void *payload, const char *name)
{
    (void)name;
    ++*(int *)payload;
    return 0;
}

/* A name that is not one safe file name never reaches the adapter; an
 * adapter without the hooks says it cannot keep state. */
static void test_state_doors(void **state)
{
    (void)state;
    const struct xp_adapter_type with = {.abi = XP_ADAPTER_ABI, .name = "keeper",
                                         .state_get = st_get, .state_put = st_put,
                                         .state_list = st_list};
    const struct xp_adapter_type without = {.abi = XP_ADAPTER_ABI, .name = "plain"};
    struct xp_adapter a = {&with, NULL}, b = {&without, NULL};
    assert_true(xp_adapter_has_state(&with));
    assert_false(xp_adapter_has_state(&without));
    hook_calls = 0;
    const char *bad[] = {"", ".", "..", "../journal-1.jsonl", "a/b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tu_fail_with(XP_EINVALID, "is not a name of state", xp_adapter_state_get(&a, bad[i], "x"));
        tu_fail_with(XP_EINVALID, "is not a name of state", xp_adapter_state_put(&a, bad[i], "x"));
    }
    assert_int_equal(hook_calls, 0);
    tu_pass(xp_adapter_state_get(&a, "journal-1.jsonl", "x"));
    assert_int_equal(xp_adapter_state_get(&a, "journal-2.jsonl", "x"), XP_ENOTFOUND);
    tu_pass(xp_adapter_state_put(&a, "journal-1.jsonl", "x"));
    int n = 0;
    tu_pass(xp_adapter_state_list(&a, count_names, &n));
    assert_int_equal(n, 1);
    assert_int_equal(hook_calls, 4);
    tu_fail_with(XP_ENOTSUP, "adapter 'plain' cannot keep state",
                 xp_adapter_state_get(&b, "journal-1.jsonl", "x"));
    tu_fail_with(XP_ENOTSUP, "adapter 'plain' cannot keep state",
                 xp_adapter_state_list(&b, count_names, &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generation_rises_with_compactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_elsewhere_keeps_local_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_newer_or_equal_stays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_local_or_old_local, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_copy_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_both_moved_keeps_all_local_lines, setup,
                                        teardown),
        cmocka_unit_test(test_state_doors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
