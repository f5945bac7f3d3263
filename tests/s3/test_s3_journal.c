/* The journal of a copy into s3:// lives in the bucket (PREFIX/.xport/),
 * so that another machine (another XDG_STATE_HOME, its own empty state
 * folder) sees it: `xport status s3://...` sums it, shards and all, and
 * `--resume` knows what an earlier run left partial. A final push that
 * fails fails the run. Against s3rver on loopback (s3_fixture.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_layout.h"
#include "s3_fixture.h"
#include "xport/buf.h"
#include "xport/fs.h"

static int setup(void **state)
{
    struct s3fx *f = calloc(1, sizeof(*f));
    if (s3fx_start(f))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct s3fx *f = *state;
    s3fx_stop(f);
    free(f);
    unsetenv("XDG_STATE_HOME");
    unsetenv("XPORT_FAULT");
    return 0;
}

/* A machine: its own state folder under the fixture's temp folder. */
static void machine(const struct s3fx *f, const char *name)
{
    char *p = xp_path_join(f->tmp, name);
    setenv("XDG_STATE_HOME", p, 1);
    free(p);
}

/* `xport status --json DST` on machine m: its stdout (0 exit wanted). */
static char *status_on(const struct s3fx *f, const char *m, const char *dst)
{
    machine(f, m);
    const char *st[] = {"status", "--json", dst, NULL};
    char *o = NULL, *e = NULL;
    int rc = s3fx_run(&o, &e, st);
    if (rc)
        fail_msg("status on %s: %d\n%s%s", m, rc, o, e);
    free(e);
    return o;
}

/* A copy on machine A, status on machine B (nothing in its state folder):
 * the counts of A's run; the layout's readers ignore .xport/. */
static void test_status_from_another_machine(void **state)
{
    struct s3fx *f = *state;
    char *src = xp_path_join(f->tmp, "src-st");
    assert_int_equal(gen_many_layout(src, 6, 3), 0);
    machine(f, "st-a");
    const char *up[] = {"copy", "-q", src, "s3://bkt/st", NULL};
    assert_int_equal(s3fx_run(NULL, NULL, up), 0);
    assert_int_equal(s3fx_objects(f, "st/.xport", "journal-*.jsonl"), 1);
    char *o = status_on(f, "st-b", "s3://bkt/st");
    if (!strstr(o, "\"shard\":null,\"done\":6,\"partial\":0,\"failed\":0,\"listed\":6") ||
        !strstr(o, "\"total\":{\"done\":6,\"partial\":0,\"failed\":0,\"remaining\":0}"))
        fail_msg("status from another machine: %s", o);
    free(o);
    /* plain text too */
    const char *plain[] = {"status", "s3://bkt/st", NULL};
    assert_int_equal(s3fx_run(&o, NULL, plain), 0);
    assert_non_null(strstr(o, "journals of s3://bkt/st"));
    assert_non_null(strstr(o, "unsharded"));
    free(o);
    /* the layout is what it was: listed and verified without .xport */
    const char *ls[] = {"list", "s3://bkt/st", NULL};
    assert_int_equal(s3fx_run(&o, NULL, ls), 0);
    assert_null(strstr(o, "xport"));
    free(o);
    const char *v[] = {"verify", src, "s3://bkt/st", NULL};
    assert_int_equal(s3fx_run(NULL, NULL, v), 0);
    /* the journal holds no secret */
    assert_int_not_equal(tu_sh("grep -rqF '%s' '%s'", S3FX_SECRET, f->store), 0);
    tu_rmtree(src);
    free(src);
}

static int64_t field_after(const char *s, const char *at)
{
    const char *p = strstr(s, at);
    return p ? atoll(p + strlen(at)) : -1;
}

/* Two shards run on machine A, the second killed (XPORT_FAULT=KILL:N)
 * part-way: machine B's status names both shards, B resumes the killed
 * one, and machine C's status then counts every experiment done. */
static void test_shards_killed_and_resumed_elsewhere(void **state)
{
    struct s3fx *f = *state;
    enum { N = 30 };
    char *src = xp_path_join(f->tmp, "src-sh");
    assert_int_equal(gen_many_layout(src, N, 3), 0);
    machine(f, "sh-a");
    const char *s1[] = {"copy", "-q", "--shard", "1/2", src, "s3://bkt/sh", NULL};
    assert_int_equal(s3fx_run(NULL, NULL, s1), 0);

    /* how many file calls shard 2 makes, on a prefix of its own */
    setenv("XPORT_FAULT", "count", 1);
    const char *probe[] = {"copy", "-q", "--jobs", "1", "--shard", "2/2", "--opt",
                           "s3:journal-interval=0", src, "s3://bkt/probe", NULL};
    char *e = NULL;
    assert_int_equal(s3fx_run(NULL, &e, probe), 0);
    int64_t calls = field_after(e, "xport-fault: calls ");
    free(e);
    assert_true(calls > 20);
    char fault[64];
    snprintf(fault, sizeof(fault), "KILL:%lld", (long long)(calls * 2 / 3));
    setenv("XPORT_FAULT", fault, 1);
    const char *s2[] = {"copy", "-q", "--jobs", "1", "--shard", "2/2", "--opt",
                        "s3:journal-interval=0", src, "s3://bkt/sh", NULL};
    assert_int_equal(s3fx_run(NULL, &e, s2), 128 + 9);
    free(e);
    unsetenv("XPORT_FAULT");

    char *o = status_on(f, "sh-b", "s3://bkt/sh");
    int64_t d1 = field_after(o, "\"shard\":{\"k\":1,\"n\":2},\"done\":");
    if (d1 <= 0 || d1 >= N)
        fail_msg("shard 1/2 is not counted from another machine: %s", o);
    /* the killed shard: its journal as far as it was stored, or named as
     * not started when it was killed before its first push */
    int64_t d2 = field_after(o, "\"shard\":{\"k\":2,\"n\":2},\"done\":");
    if (!(d2 >= 0 && d2 < N - d1) && !strstr(o, "\"missing\":[{\"src\":"))
        fail_msg("shard 2/2 is not named: %s", o);
    printf("killed shard 2/2 seen from another machine: %s\n",
           d2 >= 0 ? "its journal" : "missing");
    free(o);

    /* machine B resumes the killed shard */
    const char *r2[] = {"copy", "-q", "--resume", "--shard", "2/2", src, "s3://bkt/sh", NULL};
    assert_int_equal(s3fx_run(NULL, NULL, r2), 0);
    o = status_on(f, "sh-c", "s3://bkt/sh");
    char want[160];
    snprintf(want, sizeof(want), "\"missing\":[],\"total\":{\"done\":%d,\"partial\":0,"
             "\"failed\":0,\"remaining\":0}", N);
    if (!strstr(o, want) || field_after(o, "\"shard\":{\"k\":1,\"n\":2},\"done\":") != d1)
        fail_msg("after the resume elsewhere: %s", o);
    free(o);
    const char *v[] = {"verify", src, "s3://bkt/sh", NULL};
    assert_int_equal(s3fx_run(NULL, NULL, v), 0);
    tu_rmtree(src);
    free(src);
}

/* An experiment left partial by a run on machine A (a layout holds every
 * item, so the record is written into A's journal as a sink that drops
 * items would): A's next run reports it and stores the journal; machine
 * B's --resume then reports it partial too and exits 3, where it would
 * otherwise take the experiment in the bucket for done. */
static void test_partial_seen_by_resume_elsewhere(void **state)
{
    struct s3fx *f = *state;
    char *src = xp_path_join(f->tmp, "src-pa");
    assert_int_equal(gen_many_layout(src, 3, 3), 0);
    machine(f, "pa-a");
    const char *up[] = {"copy", "-q", src, "s3://bkt/pa", NULL};
    assert_int_equal(s3fx_run(NULL, NULL, up), 0);
    assert_int_equal(tu_sh("cd '%s/pa-a/xport/journals' && j=$(ls journal-*.jsonl) && "
                           "printf '%%s\\n' '{\"event\":\"experiment\",\"workspace\":\"ws\","
                           "\"project\":\"proj\",\"name\":\"run-002\",\"outcome\":\"partial\","
                           "\"mask\":8,\"dropped\":2,\"first\":\"planted item\"}' >> \"$j\"",
                           f->tmp), 0);
    const char *again[] = {"copy", "-q", "--resume", src, "s3://bkt/pa", NULL};
    char *e = NULL;
    assert_int_equal(s3fx_run(NULL, &e, again), 3);
    assert_non_null(strstr(e, "left partial by an earlier run"));
    free(e);

    machine(f, "pa-b");
    assert_int_equal(s3fx_run(NULL, &e, again), 3);
    if (!strstr(e, "left partial by an earlier run") || !strstr(e, "planted item"))
        fail_msg("machine B's --resume: %s", e);
    free(e);
    char *o = status_on(f, "pa-c", "s3://bkt/pa");
    assert_non_null(strstr(o, "\"total\":{\"done\":2,\"partial\":1,\"failed\":0"));
    free(o);
    tu_rmtree(src);
    free(src);
}

/* Machine A's last lines never reached the bucket (killed before its next
 * push: planted here), then machine B ran and stored a newer generation.
 * A's next run takes B's journal (B's copy of run-004 stays "copied", not
 * A's "skipped") and keeps its own unstored line (run-003 partial). */
static void test_newer_bucket_keeps_local_tail(void **state)
{
    struct s3fx *f = *state;
    char *src = xp_path_join(f->tmp, "src-lt"), *more = xp_path_join(f->tmp, "more-lt");
    assert_int_equal(gen_many_layout(src, 3, 3), 0);
    assert_int_equal(gen_many_layout(more, 4, 3), 0);
    machine(f, "lt-a");
    const char *up[] = {"copy", "-q", "--resume", src, "s3://bkt/lt", NULL};
    assert_int_equal(s3fx_run(NULL, NULL, up), 0);
    assert_int_equal(tu_sh("cd '%s/lt-a/xport/journals' && j=$(ls journal-*.jsonl) && "
                           "printf '%%s\\n' '{\"event\":\"experiment\",\"workspace\":\"ws\","
                           "\"project\":\"proj\",\"name\":\"run-003\",\"outcome\":\"partial\","
                           "\"mask\":8,\"dropped\":1,\"first\":\"unstored line\"}' >> \"$j\"",
                           f->tmp), 0);
    /* the source grows a fourth experiment; machine B copies it */
    assert_int_equal(tu_sh("cp -r '%s/ws/proj/run-004' '%s/ws/proj/'", more, src), 0);
    machine(f, "lt-b");
    assert_int_equal(s3fx_run(NULL, NULL, up), 0);
    machine(f, "lt-a");
    char *e = NULL;
    assert_int_equal(s3fx_run(NULL, &e, up), 3);
    if (!strstr(e, "unstored line"))
        fail_msg("A's own line is lost: %s", e);
    free(e);
    assert_int_equal(tu_sh("grep -q '\"name\":\"run-004\".*\"outcome\":\"copied\"' "
                           "'%s'/lt-a/xport/journals/journal-*.jsonl", f->tmp), 0);
    char *o = status_on(f, "lt-c", "s3://bkt/lt");
    if (!strstr(o, "\"total\":{\"done\":3,\"partial\":1,\"failed\":0,\"remaining\":0}"))
        fail_msg("status: %s", o);
    free(o);
    tu_rmtree(src);
    tu_rmtree(more);
    free(src);
    free(more);
}

/* The bucket refuses the journal (s3rver cannot store its metadata where
 * a folder stands): every experiment is there, yet the run exits 1 and
 * says which object failed and where the journal is kept. Then machine A
 * stores a newer journal, and B's next run keeps what B recorded and
 * compacted but never stored (run-003 copied by B, not "skipped"). */
static void test_final_push_failure(void **state)
{
    struct s3fx *f = *state;
    char *src = xp_path_join(f->tmp, "src-fp");
    assert_int_equal(gen_many_layout(src, 2, 3), 0);
    machine(f, "fp-a");
    const char *up[] = {"copy", "-q", "--retries", "0", src, "s3://bkt/fp", NULL};
    assert_int_equal(s3fx_run(NULL, NULL, up), 0);
    assert_int_equal(tu_sh("cd '%s/bkt/fp/.xport' && for o in journal-*._S3rver_object; do "
                           "n=${o%%._S3rver_object}; rm -f \"$n\"._S3rver_* && "
                           "mkdir \"$n._S3rver_metadata.json\"; done", f->store), 0);
    char *more = xp_path_join(f->tmp, "more-fp");
    assert_int_equal(gen_many_layout(more, 3, 3), 0);
    assert_int_equal(tu_sh("cp -r '%s/ws/proj/run-003' '%s/ws/proj/'", more, src), 0);
    machine(f, "fp-b");
    char *e = NULL;
    int rc = s3fx_run(NULL, &e, up);
    if (rc != 1 || !strstr(e, "error: the journal of this run was not stored at the "
                              "destination: storing 's3://bkt/fp/.xport/journal-") ||
        !strstr(e, "fp-b/xport/journals/journal-"))
        fail_msg("exit %d:\n%s", rc, e);
    free(e);
    assert_int_equal(s3fx_objects(f, "fp", "experiment.json"), 3);

    assert_int_equal(tu_sh("rm -rf '%s/bkt/fp/.xport'", f->store), 0);
    machine(f, "fp-a");
    assert_int_equal(s3fx_run(NULL, NULL, up), 0);
    machine(f, "fp-b");
    assert_int_equal(s3fx_run(NULL, NULL, up), 0);
    assert_int_equal(tu_sh("grep -q '\"name\":\"run-003\".*\"outcome\":\"copied\"' "
                           "'%s'/fp-b/xport/journals/journal-*.jsonl", f->tmp), 0);
    tu_rmtree(more);
    free(more);
    tu_rmtree(src);
    free(src);
}

int main(void)
{
    int skip = s3fx_available();
    if (skip)
        return skip;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_from_another_machine),
        cmocka_unit_test(test_shards_killed_and_resumed_elsewhere),
        cmocka_unit_test(test_partial_seen_by_resume_elsewhere),
        cmocka_unit_test(test_newer_bucket_keeps_local_tail),
        cmocka_unit_test(test_final_push_failure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
