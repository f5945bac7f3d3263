/* The engine (core/copy.c) driven directly through the fake adapter of
 * tests/support: record order, drops, auth failures, --delete and missing
 * methods, with no vendor and no CLI in between. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_adapter.h"
#include "testutil.h"
#include "xport/copy.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/journal.h"

struct results {
    int n;
    char name[64][32];
    enum xp_exp_outcome outcome[64];
    char message[64][256];
};

static void on_done(void *payload, const struct xp_exp_result *r)
{
    struct results *res = payload;
    if (res->n >= 64)
        return;
    snprintf(res->name[res->n], sizeof(res->name[0]), "%s", r->name);
    res->outcome[res->n] = r->outcome;
    snprintf(res->message[res->n], sizeof(res->message[0]), "%s", r->message ? r->message : "");
    res->n++;
}

static const struct results *find(const struct results *r, const char *name, int *at)
{
    *at = 0; /* fail_msg is not known to end the test: keep `at` defined */
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->name[i], name)) {
            *at = i;
            return r;
        }
    fail_msg("no result for '%s'", name);
    return NULL;
}

static char warned[512];

static void on_warn(void *payload, const char *msg)
{
    (void)payload;
    snprintf(warned, sizeof(warned), "%s", msg);
}

/* One copy between two fakes; returns xp_copy's code. */
static int run(const struct fake_spec *s, const struct fake_spec *d, struct fake_counts *cs,
               struct fake_counts *cd, struct xp_copy_opts *o, struct xp_copy_stats *st,
               struct results *res)
{
    struct xp_ctx ctx = {0};
    ctx.warn = on_warn;
    warned[0] = '\0';
    struct xp_adapter *src, *dst;
    tu_pass(fake_open(&src, s, cs, &ctx));
    tu_pass(fake_open(&dst, d, cd, &ctx));
    o->experiment_done = on_done;
    o->payload = res;
    if (!o->jobs)
        o->jobs = 2;
    int rc = xp_copy(src, dst, o, st);
    xp_adapter_close(src);
    xp_adapter_close(dst);
    return rc;
}

static void test_plain(void **state)
{
    (void)state;
    struct fake_spec s = fake_plain(5, 10), d = fake_plain(0, 0);
    struct fake_counts cs = {0}, cd = {0};
    struct xp_copy_opts o = {0};
    struct xp_copy_stats st;
    struct results res = {0};
    tu_pass(run(&s, &d, &cs, &cd, &o, &st, &res));
    assert_int_equal(st.copied, 5);
    assert_int_equal(st.points, 50);
    assert_int_equal(cd.commits, 5);
    assert_int_equal(cd.aborts, 0);
}

/* Progress: counts move batch by batch, not when an experiment ends. The
 * readers stop after their first batch until the progress callback has
 * seen that batch counted while no experiment had finished (issue 18), so
 * the test does not depend on timing: before live counts it failed. */
static atomic_int live_gate;
static struct xp_copy_stats live_seen;
static char live_ws[8]; /* names are valid during the callback only */

static void on_progress(void *payload, const struct xp_copy_stats *st, int final)
{
    (void)payload;
    if (final || st->experiments_done || st->nactive != 2 || st->points < 8)
        return;
    for (int i = 0; i < 2; i++)
        if (st->active[i].points != 4 || st->active[i].total <= 0 ||
            st->active[i].done <= 0)
            return;
    live_seen = *st;
    snprintf(live_ws, sizeof(live_ws), "%s", st->active[0].workspace);
    atomic_store(&live_gate, 1);
}

static void test_live_progress(void **state)
{
    (void)state;
    struct fake_spec s = fake_plain(2, 12), d = fake_plain(0, 0);
    s.gate = &live_gate;
    atomic_store(&live_gate, 0);
    struct fake_counts cs = {0}, cd = {0};
    struct xp_copy_opts o = {0};
    o.progress = on_progress;
    struct xp_copy_stats st;
    struct results res = {0};
    tu_pass(run(&s, &d, &cs, &cd, &o, &st, &res));
    assert_int_equal(live_seen.points, 8);
    assert_int_equal(live_seen.series, 2);
    assert_string_equal(live_ws, "ws");
    /* the totals after the run hold each point once */
    assert_int_equal(st.points, 24);
    assert_int_equal(st.nactive, 0);
}

static void test_out_of_order_fails_that_experiment(void **state)
{
    (void)state;
    struct fake_spec s = fake_plain(4, 6), d = fake_plain(0, 0);
    s.out_of_order = 2;
    struct fake_counts cs = {0}, cd = {0};
    struct xp_copy_opts o = {0};
    struct xp_copy_stats st;
    struct results res = {0};
    int rc = run(&s, &d, &cs, &cd, &o, &st, &res);
    assert_int_equal(rc, XP_EINVALID);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.copied, 3);
    int at;
    find(&res, "exp-002", &at);
    assert_int_equal(res.outcome[at], XP_EXP_FAILED);
    assert_non_null(strstr(res.message[at], "record 'points' out of order"));
    assert_int_equal(cd.commits, 3); /* the bad one is never committed */
    assert_int_equal(cd.aborts, 1);
}

static void test_drop_is_a_failure(void **state)
{
    (void)state;
    struct fake_spec s = fake_plain(3, 4), d = fake_plain(0, 0);
    d.drop = 1;
    struct fake_counts cs = {0}, cd = {0};
    struct xp_copy_opts o = {0};
    struct xp_copy_stats st;
    struct results res = {0};
    int rc = run(&s, &d, &cs, &cd, &o, &st, &res);
    assert_int_not_equal(rc, 0);
    assert_int_equal(xp_exit_code(rc) == XP_EXIT_OK, 0);
    int at;
    find(&res, "exp-001", &at);
    assert_int_not_equal(res.outcome[at], XP_EXP_COPIED);
    assert_non_null(strstr(res.message[at], "fake: cannot hold series 'loss'"));
}

static void test_auth_failure_stops_every_worker(void **state)
{
    (void)state;
    struct fake_spec s = fake_plain(40, 2), d = fake_plain(0, 0);
    s.auth_fail = 0;
    /* each other read takes long enough that, to break the bound below, the
     * failing worker would have to stall over 200 ms between its refused
     * read and telling the others (a loaded CI machine did stall 40 ms) */
    s.read_delay_ms = 100;
    struct fake_counts cs = {0}, cd = {0};
    struct xp_copy_opts o = {.jobs = 4};
    struct xp_copy_stats st;
    struct results res = {0};
    int rc = run(&s, &d, &cs, &cd, &o, &st, &res);
    assert_int_equal(rc, XP_EAUTH);
    /* the three other workers may each be one read in; never the rest */
    if (cs.reads > 8)
        fail_msg("%d experiments were read after the credentials were refused", cs.reads);
}

static void test_delete_removes_only_ours(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp();
    char *jpath = xp_path_join(tmp, "journal.jsonl");
    struct fake_counts cs = {0}, cd = {0};
    struct xp_copy_stats st;
    struct results res = {0};
    struct xp_journal j;
    /* first run: exp-000..002 copied, recorded as xport's */
    struct fake_spec s = fake_plain(3, 2), d = fake_plain(0, 0);
    tu_pass(xp_journal_open(&j, jpath, "fake:src", "fake:dst", 0));
    struct xp_copy_opts o = {.journal = &j};
    tu_pass(run(&s, &d, &cs, &cd, &o, &st, &res));
    xp_journal_close(&j);
    /* second run: the source has only exp-000; the destination also holds
     * an experiment xport never wrote */
    static const char *const held[] = {"exp-000", "exp-001", "exp-002", "theirs", NULL};
    s = fake_plain(1, 2);
    d = fake_plain(0, 0);
    d.existing = held;
    memset(&cd, 0, sizeof(cd));
    tu_pass(xp_journal_open(&j, jpath, "fake:src", "fake:dst", XP_JOURNAL_SYNC));
    struct xp_copy_opts o2 = {.journal = &j, .delete_missing = 1};
    tu_pass(run(&s, &d, &cs, &cd, &o2, &st, &res));
    xp_journal_close(&j);
    assert_int_equal(cd.deletes, 2);
    int a = strcmp(cd.deleted[0], "exp-001") ? 1 : 0;
    assert_string_equal(cd.deleted[a], "exp-001");
    assert_string_equal(cd.deleted[1 - a], "exp-002");
    assert_int_equal(st.deleted, 2);
    tu_rmtree(tmp);
    free(tmp);
    free(jpath);
}

/* The run fails and the first experiment's message (or the run's) says msg. */
static void expect_enotsup(struct fake_spec s, struct fake_spec d, const char *msg)
{
    struct fake_counts cs = {0}, cd = {0};
    struct xp_copy_opts o = {0};
    struct xp_copy_stats st;
    struct results res = {0};
    int rc = run(&s, &d, &cs, &cd, &o, &st, &res);
    assert_int_not_equal(rc, 0);
    const char *m = res.n ? res.message[0] : xp_error_last()->message;
    if (!strstr(m, msg))
        fail_msg("expected '%s', got '%s'", msg, m);
}

static void test_missing_methods(void **state)
{
    (void)state;
    struct fake_spec s = fake_plain(2, 2), d = fake_plain(0, 0);
    s.no_list = 1;
    expect_enotsup(s, d, "adapter 'fake' cannot list experiments");
    s = fake_plain(2, 2);
    s.no_read = 1;
    expect_enotsup(s, d, "adapter 'fake' cannot read experiments");
    s = fake_plain(2, 2);
    d.no_write = 1;
    expect_enotsup(s, d, "adapter 'fake' cannot write experiments");
}

/* --resume into a destination that cannot keep items says so (the
 * capability bit is read, not only declared). */
static void test_resume_without_capability_warns(void **state)
{
    (void)state;
    struct fake_spec s = fake_plain(1, 2), d = fake_plain(0, 0);
    struct fake_counts cs = {0}, cd = {0};
    struct xp_copy_opts o = {.resume = 1};
    struct xp_copy_stats st;
    struct results res = {0};
    tu_pass(run(&s, &d, &cs, &cd, &o, &st, &res));
    if (!strstr(warned, "adapter 'fake' keeps no items of an interrupted attempt"))
        fail_msg("warning: '%s'", warned);
}

/* A reader of a version this core does not know is refused, not used. */
static void test_unknown_reader_version(void **state)
{
    (void)state;
    struct fake_spec s = fake_plain(1, 2), d = fake_plain(0, 0);
    s.reader_version = XP_READER_VERSION + 1;
    expect_enotsup(s, d, "adapter 'fake' returned a reader of version");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_out_of_order_fails_that_experiment),
        cmocka_unit_test(test_drop_is_a_failure),
        cmocka_unit_test(test_auth_failure_stops_every_worker),
        cmocka_unit_test(test_delete_removes_only_ours),
        cmocka_unit_test(test_missing_methods),
        cmocka_unit_test(test_unknown_reader_version),
        cmocka_unit_test(test_resume_without_capability_warns),
        cmocka_unit_test(test_live_progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
