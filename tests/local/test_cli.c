/* The command line: --help for every command, exit codes, dry run. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>

#include "gen_layout.h"
#include "testutil.h"
#include "xport/buf.h"
#include "xport/fs.h"

static int run(char **out, char **err, const char *const *argv)
{
    return tu_run_xport(out, err, argv);
}

/* Every command of `xport --help` (which lists the command table) has a
 * --help of its own, naming it, no line wider than 80 columns. */
static void test_help(void **state)
{
    (void)state;
    const char *top[] = {"--help", NULL};
    char *o, *e;
    assert_int_equal(run(&o, &e, top), 0);
    assert_non_null(strstr(o, "exit codes"));
    char *list = strstr(o, "\ncommands:\n");
    assert_non_null(list);
    size_t ncmds = 0;
    int saw_jobs = 0;
    for (char *l = list + strlen("\ncommands:\n"); l[0] == ' ' && l[1] == ' ';) {
        char name[32];
        assert_int_equal(sscanf(l, " %31s", name), 1);
        ncmds++;
        saw_jobs |= !strcmp(name, "jobs");
        const char *argv[] = {name, "--help", NULL};
        char *ho, *he;
        if (run(&ho, &he, argv) != 0)
            fail_msg("'xport %s --help' failed: %s", name, he);
        char usage[64];
        snprintf(usage, sizeof(usage), "usage: xport %s", name);
        if (strncmp(ho, usage, strlen(usage)))
            fail_msg("'xport %s --help' does not start with '%s':\n%s", name, usage, ho);
        for (char *h = ho; *h;) {
            char *nl = strchr(h, '\n');
            size_t n = nl ? (size_t)(nl - h) : strlen(h);
            if (n > 80)
                fail_msg("'xport %s --help' has a line of %zu columns: %.*s", name, n,
                         (int)n, h);
            h += n + (nl != NULL);
        }
        free(ho);
        free(he);
        char *nl = strchr(l, '\n');
        if (!nl)
            break;
        l = nl + 1;
    }
    /* the list is read, not assumed: it has every command, jobs too */
    assert_true(ncmds >= 7);
    assert_true(saw_jobs);
    free(o);
    free(e);
}

static void test_usage_errors(void **state)
{
    (void)state;
    struct {
        const char *argv[6];
        int code;
        const char *msg;
    } cases[] = {
        {{"frobnicate", NULL}, 2, "unknown command 'frobnicate'"},
        {{"copy", "--bogus", "a", "b", NULL}, 2, "unknown option '--bogus'"},
        {{"copy", "onlyone", NULL}, 2, "needs SRC and DST"},
        {{"copy", "nosuch:ws/p", "/tmp/x", NULL}, 2, "unknown adapter 'nosuch'"},
        {{"download", "--from", "comet", "ws", "-o", NULL}, 2, "needs a value"},
        {{"download", "--from", "comet", "ws/p", NULL}, 2, "needs --from"},
        {{"copy", "-j", "x", "a", "b", NULL}, 2, "whole number"},
        {{"copy", "a", "b", "nonsense", NULL}, 2, "unknown resource 'nonsense'"},
        {{"copy", "/nonexistent/xport", "/tmp/x", NULL}, 1, "does not exist"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *o, *e;
        int code = run(&o, &e, cases[i].argv);
        if (code != cases[i].code || !strstr(e, cases[i].msg))
            fail_msg("case %zu: exit %d, stderr: %s", i, code, e);
        free(o);
        free(e);
    }
}

static void test_dry_run_and_filters(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *src = xp_path_join(tmp, "src"),
         *dst = xp_path_join(tmp, "dst");
    tu_pass(gen_edge_layout(src, 100));
    tu_pass(gen_many_layout(src, 3, 10));
    const char *dry[] = {"copy", "--dry-run", "--json", src, dst, NULL};
    char *o, *e;
    assert_int_equal(run(&o, &e, dry), 0);
    assert_non_null(strstr(o, "\"dryRun\":true"));
    assert_non_null(strstr(o, "\"points\":138"));
    assert_false(xp_is_dir(dst));
    free(o);
    free(e);
    /* only logs, and only run-00{2,3} plus the edge experiment by glob */
    const char *sel[] = {"copy", "-q", "--experiment", "{run-00{2..3},exp*}", src, dst,
                         "logs", NULL};
    assert_int_equal(run(&o, &e, sel), 0);
    free(o);
    free(e);
    assert_int_equal(tu_sh("test -d '%s/ws/proj/run-002' && test ! -e '%s/ws/proj/run-001'",
                           dst, dst), 0);
    assert_int_equal(tu_sh("test -z \"$(find '%s' -name data.jsonl)\"", dst), 0);
    assert_int_equal(tu_sh("test -n \"$(find '%s' -name logs.jsonl)\"", dst), 0);
    assert_int_equal(tu_sh("test -z \"$(find '%s' -name artifacts)\"", dst), 0);
    /* artifacts alone */
    char *dst3 = xp_path_join(tmp, "dst3");
    const char *arts[] = {"copy", "-q", src, dst3, "artifacts", NULL};
    assert_int_equal(run(&o, &e, arts), 0);
    free(o);
    free(e);
    assert_int_equal(tu_sh("test \"$(cat '%s'/w*/*/*/artifacts/model%%2F..%%2Fx%%3Av3/media/images/'a b.png')\" = "
                           "'artifact bytes' && test ! -d \"$(echo '%s'/w*/*/*)/files\"", dst3, dst3), 0);
    free(dst3);
    /* list sees what is there, as JSON lines */
    const char *list[] = {"list", "--json", dst, NULL};
    assert_int_equal(run(&o, &e, list), 0);
    assert_non_null(strstr(o, "{\"workspace\":\"wörkspace\",\"project\":\"proj/with/slash\","
                              "\"name\":\"exp ünï/../x\"}"));
    free(o);
    free(e);
    tu_rmtree(tmp);
    free(tmp);
    free(src);
    free(dst);
}

/* --sync all rewrites what changed, keeps what did not; --delete removes
 * only what xport copied from this source and the source lost */
static void test_sync_and_delete(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *src = xp_path_join(tmp, "src"),
         *dst = xp_path_join(tmp, "dst"), *other = xp_path_join(tmp, "other");
    tu_pass(gen_many_layout(src, 4, 100));
    tu_pass(gen_many_layout(other, 6, 10));
    char *o, *e;
    const char *first[] = {"copy", "-q", src, dst, NULL};
    assert_int_equal(run(&o, &e, first), 0);
    free(o);
    free(e);
    /* an experiment from another source: --delete must never touch it */
    const char *foreign[] = {"copy", "-q", "--experiment", "run-006", other, dst, NULL};
    assert_int_equal(run(&o, &e, foreign), 0);
    free(o);
    free(e);
    /* the source changes: run-002 edited, run-001 gone, run-005 new */
    assert_int_equal(tu_sh("cd '%s/ws/proj' && sed -i '7s/\"value\":[^,]*/\"value\":42.5/' "
                           "run-002/metrics/loss/data.jsonl && rm -r run-001 && cp -r run-004 run-005 && "
                           "sed -i 's/run-004/run-005/g; s/id-4/id-5/' run-005/experiment.json", src), 0);
    /* --sync project: the project exists, nothing moves */
    const char *proj[] = {"copy", "--json", "--sync", "project", src, dst, NULL};
    assert_int_equal(run(&o, &e, proj), 0);
    assert_non_null(strstr(o, "\"note\":\"project exists\""));
    assert_non_null(strstr(o, "\"copied\":0,"));
    free(o);
    free(e);
    /* dry run: says what it would delete, deletes nothing */
    const char *dry[] = {"copy", "--dry-run", "--sync", "all", "--delete", src, dst, NULL};
    assert_int_equal(run(&o, &e, dry), 0);
    assert_non_null(strstr(e, "ws/proj/run-001: would delete"));
    assert_int_equal(tu_sh("test -d '%s/ws/proj/run-001'", dst), 0);
    free(o);
    free(e);
    const char *sync[] = {"copy", "--json", "--sync", "all", "--delete", src, dst, NULL};
    assert_int_equal(run(&o, &e, sync), 0);
    assert_non_null(strstr(o, "\"name\":\"run-002\"},\"outcome\":\"copied\""));
    assert_non_null(strstr(o, "\"note\":\"updated\""));
    assert_non_null(strstr(o, "\"name\":\"run-003\"},\"outcome\":\"skipped\""));
    assert_non_null(strstr(o, "\"note\":\"up to date\""));
    assert_non_null(strstr(o, "\"name\":\"run-001\"},\"outcome\":\"deleted\""));
    assert_non_null(strstr(o, "\"deleted\":1,"));
    free(o);
    free(e);
    assert_int_equal(tu_sh("test ! -e '%s/ws/proj/run-001' && test -d '%s/ws/proj/run-006' && "
                           "test -d '%s/ws/proj/run-005' && grep -q '\"value\":42.5' "
                           "'%s/ws/proj/run-002/metrics/loss/data.jsonl'", dst, dst, dst, dst), 0);
    /* now the destination matches the source, apart from the foreign one */
    const char *ver[] = {"verify", "--ignore", "logs", src, dst, NULL};
    assert_int_equal(run(&o, &e, ver), 1);
    assert_non_null(strstr(o, "ws/proj/run-006: only in B"));
    assert_non_null(strstr(o, "1 difference(s)"));
    free(o);
    free(e);
    const char *bad[] = {"copy", "--sync", "sometimes", src, dst, NULL};
    assert_int_equal(run(&o, &e, bad), 2);
    free(o);
    free(e);
    tu_rmtree(tmp);
    free(tmp);
    free(src);
    free(dst);
    free(other);
}

static int wait_status(const char *id, const char *want)
{
    for (int i = 0; i < 600; i++) {
        const char *argv[] = {"jobs", "show", id, NULL};
        char *o, *e;
        tu_run_xport(&o, &e, argv);
        int hit = strstr(o, want) != NULL;
        free(o);
        free(e);
        if (hit)
            return 1;
        usleep(100000);
    }
    return 0;
}

/* --detach: a job id at once; jobs lists, shows, aborts and removes it;
 * the secret given on the command line is not in the job's records */
static void test_detached_jobs(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *src = xp_path_join(tmp, "src"),
         *dst = xp_path_join(tmp, "dst"), *jobs = xp_path_join(tmp, "jobs"),
         *big = xp_path_join(tmp, "big"), *dst2 = xp_path_join(tmp, "dst2");
    setenv("XPORT_JOBS_DIR", jobs, 1);
    tu_pass(gen_many_layout(src, 3, 1000));
    tu_pass(gen_many_layout(big, 12, 60000));
    const char *det[] = {"copy", "--detach", "--api-key", "SUPERSECRET42", src, dst, NULL};
    char *o, *e;
    assert_int_equal(run(&o, &e, det), 0);
    char id[64] = "";
    sscanf(o, "%63s", id);
    assert_true(strlen(id) >= 8);
    free(o);
    free(e);
    assert_true(wait_status(id, "status:      done"));
    const char *ver[] = {"verify", src, dst, NULL};
    assert_int_equal(run(&o, &e, ver), 0);
    free(o);
    free(e);
    assert_int_equal(tu_sh("! grep -r SUPERSECRET42 '%s' '%s'", jobs, dst), 0);
    /* a second, long job: listed by regex, then aborted */
    const char *det2[] = {"copy", "--detach", "-j", "1", big, dst2, NULL};
    assert_int_equal(run(&o, &e, det2), 0);
    char id2[64] = "";
    sscanf(o, "%63s", id2);
    free(o);
    free(e);
    const char *list[] = {"jobs", "--json", "big.*dst2", NULL};
    assert_int_equal(run(&o, &e, list), 0);
    assert_non_null(strstr(o, id2));
    assert_null(strstr(o, id));
    free(o);
    free(e);
    const char *ab[] = {"jobs", "abort", id2, NULL};
    int code = run(&o, &e, ab);
    free(o);
    free(e);
    if (code == 0) /* it may have finished first on a fast machine */
        assert_true(wait_status(id2, "status:      aborted"));
    const char *rmj[] = {"jobs", "rm", id, NULL};
    assert_int_equal(run(&o, &e, rmj), 0);
    free(o);
    free(e);
    const char *show[] = {"jobs", "show", id, NULL};
    assert_int_equal(run(&o, &e, show), 1);
    assert_non_null(strstr(e, "no job"));
    free(o);
    free(e);
    const char *badid[] = {"jobs", "show", "../../etc", NULL};
    assert_int_equal(run(&o, &e, badid), 1);
    free(o);
    free(e);
    unsetenv("XPORT_JOBS_DIR");
    tu_rmtree(tmp);
    free(tmp);
    free(src);
    free(dst);
    free(jobs);
    free(big);
    free(dst2);
}

/* A job whose process exited without a result and was never reaped (a
 * zombie: its parent left and the init inheriting it does not reap, as in
 * some containers) is dead, not running forever. */
static void test_unreaped_job_is_dead(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    /* not reaped yet: a zombie until waitpid below */
    char body[128];
    snprintf(body, sizeof(body), "{\"id\": \"deadbeef0001\", \"description\": \"xport copy a b\", "
                                 "\"pid\": %d}", (int)pid);
    struct xp_buf p = XP_BUF_INIT;
    xp_buf_printf(&p, "%s/deadbeef0001/job.json", tmp);
    tu_write(p.ptr, body);
    xp_buf_release(&p);
    for (int i = 0; i < 1000 && tu_sh("grep -q '^State:.*Z' /proc/%d/status", (int)pid); i++)
        usleep(10000); /* until the child has exited */
    setenv("XPORT_JOBS_DIR", tmp, 1);
    const char *show[] = {"jobs", "show", "deadbeef0001", NULL};
    char *o, *e;
    assert_int_equal(run(&o, &e, show), 0);
    int dead = strstr(o, "status:      dead") != NULL;
    unsetenv("XPORT_JOBS_DIR");
    waitpid(pid, NULL, 0);
    if (!dead)
        fail_msg("an exited, unreaped job is not dead:\n%s", o);
    free(o);
    free(e);
    tu_rmtree(tmp);
    free(tmp);
}

/* A destination that cannot hold some items (mldash-local has no system
 * series and no artifacts): the rest is written, the items are named and
 * the run ends partial (3) -- and so does every later run, until
 * --overwrite or the --ignore that leaves those items out (issue 19). */
static void test_dropped_items_fail(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *src = xp_path_join(tmp, "src");
    tu_pass(gen_edge_layout(src, 20));
    struct xp_buf dst = XP_BUF_INIT;
    xp_buf_printf(&dst, "mldash-local:%s/store", tmp);
    const char *argv[] = {"copy", src, dst.ptr, NULL};
    char *o, *e;
    assert_int_equal(run(&o, &e, argv), 3);
    assert_non_null(strstr(e, "3 item(s) could not be carried to 'mldash-local'"));
    assert_non_null(strstr(e, "system series 'gpu.0.util' not written"));
    assert_non_null(strstr(e, "partial: "));
    assert_non_null(strstr(o, "1 partial"));
    free(o);
    free(e);
    /* what it could hold is there */
    assert_int_equal(tu_sh("test -n \"$(find '%s/store' -name data.jsonl -path '*train*')\"",
                           tmp), 0);
    /* a rerun does not forget: partial, never "skipped" with 0 */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run(&o, &e, argv), 3);
        assert_non_null(strstr(e, "left partial by an earlier run"));
        assert_non_null(strstr(o, "0 skipped, 1 partial"));
        free(o);
        free(e);
    }
    const char *js[] = {"copy", "--json", src, dst.ptr, NULL};
    assert_int_equal(run(&o, &e, js), 3);
    assert_non_null(strstr(o, "\"outcome\":\"partial\""));
    assert_non_null(strstr(o, "\"partial\":1"));
    free(o);
    free(e);
    /* ignoring only part of what was left behind: still partial */
    const char *some[] = {"copy", "--ignore", "system", src, dst.ptr, NULL};
    assert_int_equal(run(&o, &e, some), 3);
    free(o);
    free(e);
    /* ignoring all of it: whole for what is asked, skipped */
    const char *all[] = {"copy", "--ignore", "system", "--ignore", "artifacts", "--ignore",
                         "others", src, dst.ptr, NULL};
    assert_int_equal(run(&o, &e, all), 0);
    assert_non_null(strstr(o, "1 skipped"));
    free(o);
    free(e);
    /* --resume does not take it for done either */
    const char *res[] = {"copy", "--resume", src, dst.ptr, NULL};
    assert_int_equal(run(&o, &e, res), 3);
    free(o);
    free(e);
    /* without the items it cannot hold, the same copy is clean, and then so
     * are the reruns */
    const char *clean[] = {"copy", "--overwrite", "--ignore", "system", "--ignore", "artifacts", "--ignore", "others",
                           src, dst.ptr, NULL};
    assert_int_equal(run(&o, &e, clean), 0);
    free(o);
    free(e);
    assert_int_equal(run(&o, &e, argv), 0);
    assert_non_null(strstr(o, "1 skipped"));
    free(o);
    free(e);
    xp_buf_release(&dst);
    tu_rmtree(tmp);
    free(tmp);
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_dry_run_and_filters),
        cmocka_unit_test(test_sync_and_delete),
        cmocka_unit_test(test_detached_jobs),
        cmocka_unit_test(test_unreaped_job_is_dead),
        cmocka_unit_test(test_dropped_items_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
