/* The journal and the one-writer lock: concurrent runs into one
 * destination (local copies and ml-dash downloads), --no-wait, resume never
 * trusting an item that is not on disk as recorded, compaction, old and
 * damaged journals, and where remote journals live (issues 10, 19, 21). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gen_layout.h"
#include "testutil.h"
#include "xport/buf.h"
#include "xport/fs.h"
#include "xport/lock.h"

#define RUNV(o, e, ...) tu_run_xport(o, e, (const char *const[]){__VA_ARGS__, NULL})

static char *pj(const char *a, const char *b)
{
    return xp_path_join(a, b);
}

/* Start xport in the background, stdout and stderr to files; returns the pid. */
static pid_t spawn(const char *out, const char *err, const char *const *argv)
{
    const char *bin = getenv("XPORT_BIN");
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(o, 1);
        dup2(e, 2);
        const char *v[40];
        size_t n = 0;
        v[n++] = bin;
        for (; argv[n - 1] && n < 39; n++)
            v[n] = argv[n - 1];
        v[n] = NULL;
        execv(bin, (char *const *)v);
        _exit(127);
    }
    return pid;
}

static int wait_code(pid_t pid)
{
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The single journal under dir/.xport (NULL if none). */
static char *journal_in(const char *dir)
{
    char *x = pj(dir, ".xport"), **names = NULL, *found = NULL;
    size_t n = 0;
    if (!xp_list_dir(&names, &n, x))
        for (size_t i = 0; i < n; i++)
            if (!strncmp(names[i], "journal-", 8) && strstr(names[i], ".jsonl") &&
                !strstr(names[i], ".xport-tmp-"))
                found = pj(x, names[i]);
    xp_strv_free(names);
    free(x);
    return found;
}

/* ---- one writer at a time ---- */

/* The lock held by this test process: a second xport with --no-wait fails
 * naming the lock file and this pid; without it, it waits, says so, and
 * goes on once the lock is free. */
static void test_lock_no_wait_and_wait(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *src = pj(tmp, "src"), *dst = pj(tmp, "dst");
    assert_int_equal(gen_many_layout(src, 3, 20), 0);
    char *lockp = xp_lock_path_for_dir(dst);
    struct xp_lock lk;
    assert_int_equal(xp_lock_take(&lk, lockp, 0, NULL, NULL), 0);
    char *o, *e;
    assert_int_equal(RUNV(&o, &e, "copy", "--no-wait", src, dst), 1);
    char pid[32];
    snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
    if (!strstr(e, lockp) || !strstr(e, pid))
        fail_msg("stderr: %s", e);
    assert_int_equal(tu_sh("test ! -e '%s/ws'", dst), 0);
    free(o);
    free(e);
    /* without --no-wait: it waits for us, then copies */
    char *outf = pj(tmp, "b.out"), *errf = pj(tmp, "b.err");
    const char *argv[] = {"copy", src, dst, NULL};
    pid_t b = spawn(outf, errf, argv);
    int said = 0;
    for (int i = 0; i < 3000 && !said; i++) {
        char *t = tu_slurp(errf);
        said = t && strstr(t, "waiting for another xport") && strstr(t, pid);
        free(t);
        if (!said)
            usleep(10000);
    }
    assert_true(said);
    assert_int_equal(waitpid(b, NULL, WNOHANG), 0); /* still waiting */
    xp_lock_release(&lk);
    assert_int_equal(wait_code(b), 0);
    assert_int_equal(RUNV(&o, &e, "verify", src, dst), 0);
    free(o);
    free(e);
    /* kill -9 leaves no stale lock: the kernel let go of it */
    assert_int_equal(xp_lock_take(&lk, lockp, 0, NULL, NULL), 0);
    xp_lock_release(&lk);
    free(outf);
    free(errf);
    free(lockp);
    tu_rmtree(tmp);
    free(tmp);
    free(src);
    free(dst);
}

/* A writer killed with -9 while holding the lock: the next one gets in. */
static void test_lock_after_kill9(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *src = pj(tmp, "src"), *dst = pj(tmp, "dst");
    assert_int_equal(gen_many_layout(src, 4, 20000), 0);
    char *outf = pj(tmp, "a.out"), *errf = pj(tmp, "a.err"), *lockp = pj(dst, ".xport/lock");
    const char *argv[] = {"copy", src, dst, NULL};
    pid_t a = spawn(outf, errf, argv);
    for (int i = 0; i < 3000 && tu_sh("test -s '%s'", lockp); i++)
        usleep(2000);
    kill(a, SIGKILL);
    wait_code(a);
    char *o, *e;
    assert_int_equal(RUNV(&o, &e, "copy", "--no-wait", src, dst), 0);
    free(o);
    free(e);
    assert_int_equal(RUNV(&o, &e, "verify", src, dst), 0);
    free(o);
    free(e);
    free(outf);
    free(errf);
    free(lockp);
    tu_rmtree(tmp);
    free(tmp);
    free(src);
    free(dst);
}

/* Two copies into one destination at once (as a user re-running a command
 * while the first still goes), both --resume with one --state-file; then
 * a rerun. The tree is exact and nothing is reported kept or done that is
 * not there. */
static void test_two_concurrent_copies(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *src = pj(tmp, "src"), *dst = pj(tmp, "dst");
    char *sf = pj(tmp, "state.jsonl");
    assert_int_equal(gen_many_layout(src, 12, 3000), 0);
    assert_int_equal(gen_wide_layout(src, 6, 3000, 3), 0);
    char *o1 = pj(tmp, "1.out"), *e1 = pj(tmp, "1.err"), *o2 = pj(tmp, "2.out"),
         *e2 = pj(tmp, "2.err");
    const char *argv[] = {"copy", "-j", "4", "--resume", "--state-file", sf, src, dst, NULL};
    pid_t a = spawn(o1, e1, argv), b = spawn(o2, e2, argv);
    int ca = wait_code(a), cb = wait_code(b);
    if (ca || cb) {
        char *t1 = tu_slurp(e1), *t2 = tu_slurp(e2);
        fail_msg("exits %d %d\n%s\n%s", ca, cb, t1, t2);
    }
    char *o, *e;
    assert_int_equal(RUNV(&o, &e, "verify", src, dst), 0);
    free(o);
    free(e);
    /* the two together wrote each experiment once */
    assert_int_equal(tu_sh("test $(( $(sed -n 's/.*experiments  \\([0-9]*\\) copied.*/\\1/p' "
                           "'%s' '%s' | paste -sd+) )) -eq 13", o1, o2), 0);
    assert_int_equal(RUNV(&o, &e, "copy", "--resume", "--json", "--state-file", sf, src, dst),
                     0);
    assert_null(strstr(o, "itemsResumed"));
    assert_non_null(strstr(o, "\"copied\":0,"));
    free(o);
    free(e);
    assert_int_equal(RUNV(&o, &e, "verify", src, dst), 0);
    free(o);
    free(e);
    /* an experiment the journal has as done, removed behind xport's back,
     * is copied again by --resume, not reported done */
    assert_int_equal(tu_sh("rm -rf '%s/ws/proj/run-003'", dst), 0);
    assert_int_equal(RUNV(&o, &e, "copy", "--resume", "--json", "--state-file", sf, src, dst),
                     0);
    assert_non_null(strstr(o, "\"copied\":1,"));
    free(o);
    free(e);
    assert_int_equal(RUNV(&o, &e, "verify", src, dst), 0);
    free(o);
    free(e);
    free(o1);
    free(e1);
    free(o2);
    free(e2);
    free(sf);
    tu_rmtree(tmp);
    free(tmp);
    free(src);
    free(dst);
}

/* ---- resume trusts only what is on disk as recorded ---- */

/* An attempt that failed in its last series leaves the others in staging;
 * one of them is then truncated and one deleted behind xport's back:
 * --resume keeps only the intact ones and fetches the two again. */
static void test_resume_checks_kept_items(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *src = pj(tmp, "src"), *dst = pj(tmp, "dst");
    assert_int_equal(gen_wide_layout(src, 6, 2000, 2), 0);
    char *last = pj(src, "ws/proj/wide/metrics/m05/data.jsonl");
    assert_int_equal(tu_sh("cp '%s' '%s.good' && printf 'not json\\n' >> '%s'", last, last,
                           last), 0);
    char *o, *e;
    assert_int_equal(RUNV(&o, &e, "copy", "--resume", "--json", src, dst), 1);
    free(o);
    free(e);
    /* five complete series kept in staging */
    assert_int_equal(tu_sh("test $(grep -c '\"key\"' '%s'/.xport/staging/*/.items.jsonl) -eq 5",
                           dst), 0);
    assert_int_equal(tu_sh("mv '%s.good' '%s'", last, last), 0);
    assert_int_equal(tu_sh("cd '%s'/.xport/staging/* && "
                           "truncate -s -10 metrics/m01/data.jsonl && "
                           "rm metrics/m03/data.jsonl", dst), 0);
    assert_int_equal(RUNV(&o, &e, "copy", "--resume", "--json", src, dst), 0);
    if (!strstr(o, "\"itemsResumed\":3"))
        fail_msg("stdout: %s\nstderr: %s", o, e);
    free(o);
    free(e);
    assert_int_equal(RUNV(&o, &e, "verify", src, dst), 0);
    free(o);
    free(e);
    free(last);
    tu_rmtree(tmp);
    free(tmp);
    free(src);
    free(dst);
}

/* ---- the journal stays small ---- */

static long file_size(const char *p)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* Many runs into one destination: the journal's size does not grow with
 * the number of runs, and its state survives compaction (provenance for
 * --delete, partial outcomes). */
static void test_compaction_bounds_size(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *src = pj(tmp, "src"), *dst = pj(tmp, "dst");
    assert_int_equal(gen_many_layout(src, 5, 10), 0);
    char *o, *e;
    long after2 = 0;
    for (int i = 0; i < 25; i++) {
        int code = i % 3 == 0   ? RUNV(&o, &e, "copy", "--resume", src, dst)
                   : i % 3 == 1 ? RUNV(&o, &e, "copy", "--sync", "all", src, dst)
                                : RUNV(&o, &e, "copy", "-q", src, dst);
        assert_int_equal(code, 0);
        free(o);
        free(e);
        if (i == 1) {
            char *j = journal_in(dst);
            after2 = file_size(j);
            free(j);
        }
    }
    char *j = journal_in(dst);
    assert_non_null(j);
    long size = file_size(j);
    /* a header and one line per experiment, give or take this run's tail */
    if (size > after2 + 2048 || size > 4096)
        fail_msg("journal grew: %ld bytes after 25 runs, %ld after 2", size, after2);
    assert_int_equal(tu_sh("head -1 '%s' | grep -q '\"event\":\"journal\"'", j), 0);
    /* the provenance survived: --delete removes what xport copied */
    assert_int_equal(tu_sh("rm -rf '%s/ws/proj/run-002'", src), 0);
    assert_int_equal(RUNV(&o, &e, "copy", "--sync", "all", "--delete", src, dst), 0);
    assert_non_null(strstr(o, "deleted      1"));
    free(o);
    free(e);
    assert_int_equal(tu_sh("test ! -e '%s/ws/proj/run-002'", dst), 0);
    free(j);
    tu_rmtree(tmp);
    free(tmp);
    free(src);
    free(dst);
}

/* A compaction killed before its rename leaves a temp file and the old
 * journal whole; an older journal (no header), a damaged line and a torn
 * last line load as before, and the next run rewrites it compacted. */
static void test_torn_and_old_journals(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *src = pj(tmp, "src"), *dst = pj(tmp, "dst");
    assert_int_equal(gen_many_layout(src, 3, 10), 0);
    char *o, *e;
    assert_int_equal(RUNV(&o, &e, "copy", "-q", src, dst), 0);
    free(o);
    free(e);
    char *j = journal_in(dst);
    assert_non_null(j);
    /* rewrite it in the old form: run lines and outcomes, no header */
    assert_int_equal(tu_sh("f='%s' && sed -n 1p \"$f\" | sed 's/\"event\":\"journal\",\"version\":2/"
                           "\"event\":\"run\"/' > \"$f.old\" && sed -n '2,$p' \"$f\" >> \"$f.old\" && "
                           "printf '{damaged\\n' >> \"$f.old\" && "
                           "sed -n 2p \"$f\" | sed 's/run-001/run-009/' >> \"$f.old\" && "
                           "printf '{\"event\":\"experiment\",\"torn' >> \"$f.old\" && "
                           "mv \"$f.old\" \"$f\" && "
                           "echo garbage > \"$f.xport-tmp-99999\"", j), 0);
    assert_int_equal(tu_sh("! head -1 '%s' | grep -q '\"event\":\"journal\"'", j), 0);
    assert_int_equal(RUNV(&o, &e, "copy", "--resume", "--json", src, dst), 0);
    /* the old journal's outcomes count */
    assert_non_null(strstr(o, "done in an earlier run"));
    assert_null(strstr(o, "\"outcome\":\"copied\""));
    free(o);
    free(e);
    assert_int_equal(tu_sh("head -1 '%s' | grep -q '\"event\":\"journal\"' && "
                           "test ! -e '%s.xport-tmp-99999' && ! grep -q torn '%s' && "
                           "! grep -q damaged '%s'", j, j, j, j), 0);
    free(j);
    tu_rmtree(tmp);
    free(tmp);
    free(src);
    free(dst);
}

/* ---- job records stay bounded ---- */

/* Starting a job removes the oldest finished ones beyond XPORT_JOBS_KEEP;
 * `jobs show` of a job with a long log prints its end. */
static void test_job_records_bounded(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *src = pj(tmp, "src"), *dst = pj(tmp, "dst"),
         *jobs = pj(tmp, "jobs");
    assert_int_equal(gen_many_layout(src, 2, 10), 0);
    setenv("XPORT_JOBS_DIR", jobs, 1);
    setenv("XPORT_JOBS_KEEP", "2", 1);
    /* five finished jobs from long ago, the last with a 3 MB log */
    assert_int_equal(tu_sh("cd '%s' 2>/dev/null || mkdir -p '%s' && cd '%s' && "
                           "for i in 1 2 3 4 5; do d=0000000${i}0000; mkdir $d && "
                           "echo '{\"id\":\"'$d'\",\"description\":\"old\",\"pid\":1}' "
                           "> $d/job.json && echo '{\"status\":\"done\",\"exitCode\":0}' "
                           "> $d/result.json; done && "
                           "seq 1 400000 | sed 's/^/line /' > 000000050000/output.log",
                           jobs, jobs, jobs), 0);
    char *o, *e;
    assert_int_equal(RUNV(&o, &e, "jobs", "show", "000000050000"), 0);
    assert_non_null(strstr(o, "line 400000\n"));
    assert_non_null(strstr(o, "line 399981\n"));
    assert_null(strstr(o, "line 399979\n"));
    free(o);
    free(e);
    assert_int_equal(RUNV(&o, &e, "copy", "--detach", src, dst), 0);
    free(o);
    free(e);
    for (int i = 0; i < 600 && tu_sh("grep -qs exitCode '%s'/[!0]*/result.json", jobs); i++)
        usleep(50000);
    assert_int_equal(RUNV(&o, &e, "jobs"), 0);
    /* the two newest old ones and the new one */
    assert_null(strstr(o, "000000010000"));
    assert_null(strstr(o, "000000030000"));
    assert_non_null(strstr(o, "000000040000"));
    assert_non_null(strstr(o, "000000050000"));
    assert_int_equal(tu_sh("test $(ls '%s' | wc -l) -eq 3", jobs), 0);
    free(o);
    free(e);
    unsetenv("XPORT_JOBS_KEEP");
    unsetenv("XPORT_JOBS_DIR");
    free(jobs);
    tu_rmtree(tmp);
    free(tmp);
    free(src);
    free(dst);
}

/* ---- remote destinations: the ml-dash emulator ---- */

static struct tu_server srv;
static char url[64];

/* (Re)start the emulator; a failed assertion leaves it to the group's
 * teardown, never running. */
static int start_emu(void)
{
    const char *args[] = {"--chunk-size", "1000", NULL};
    tu_server_stop(&srv);
    if (tu_server_start_py(&srv, "tests/emulators/mldash_emu.py", args))
        return -1;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
    setenv("MLDASH_REMOTE", url, 1);
    setenv("MLDASH_USERNAME", "tom", 1);
    unsetenv("MLDASH_API_KEY");
    return 0;
}

/* Journals for a remote destination go under $XDG_STATE_HOME/xport, never
 * into the current folder; --state-file still wins. */
static void test_remote_journal_in_state_dir(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *src = pj(tmp, "src"), *cwd = pj(tmp, "cwd"),
         *st = pj(tmp, "state"), *old = getcwd(NULL, 0);
    assert_int_equal(gen_many_layout(src, 2, 30), 0);
    assert_int_equal(xp_mkdir_p(cwd), 0);
    assert_int_equal(start_emu(), 0);
    const char *prev = getenv("XDG_STATE_HOME");
    char *saved = prev ? xp_strdup(prev) : NULL;
    setenv("XDG_STATE_HOME", st, 1);
    assert_int_equal(chdir(cwd), 0);
    char *o, *e;
    assert_int_equal(RUNV(&o, &e, "copy", "-q", src, "mldash:tom"), 0);
    free(o);
    free(e);
    assert_int_equal(tu_sh("test -z \"$(ls -A '%s')\"", cwd), 0);
    assert_int_equal(tu_sh("test $(ls '%s'/xport/journals/journal-*.jsonl | wc -l) -eq 1 && "
                           "ls '%s'/xport/journals/journal-*.jsonl.lock >/dev/null", st, st), 0);
    /* --state-file wins: the journal goes there, nothing new in the state dir */
    char *sf = pj(tmp, "my-state.jsonl");
    assert_int_equal(RUNV(&o, &e, "copy", "-q", "--state-file", sf, src, "mldash:tom/other"),
                     0);
    free(o);
    free(e);
    assert_true(xp_is_file(sf));
    assert_int_equal(tu_sh("test $(ls '%s'/xport/journals/journal-*.jsonl | wc -l) -eq 1 && "
                           "test -z \"$(ls -A '%s')\"", st, cwd), 0);
    /* HOME alone: ~/.local/state/xport */
    char *home = pj(tmp, "home");
    const char *ph = getenv("HOME");
    char *saved_home = ph ? xp_strdup(ph) : NULL;
    unsetenv("XDG_STATE_HOME");
    setenv("HOME", home, 1);
    assert_int_equal(RUNV(&o, &e, "copy", "-q", src, "mldash:tom/third"), 0);
    free(o);
    free(e);
    assert_int_equal(tu_sh("ls '%s'/.local/state/xport/journals/journal-*.jsonl >/dev/null && "
                           "test -z \"$(ls -A '%s')\"", home, cwd), 0);
    if (saved_home)
        setenv("HOME", saved_home, 1);
    free(saved_home);
    free(home);
    assert_int_equal(chdir(old), 0);
    if (saved)
        setenv("XDG_STATE_HOME", saved, 1);
    else
        unsetenv("XDG_STATE_HOME");
    free(saved);
    tu_server_stop(&srv);
    free(sf);
    free(old);
    free(st);
    free(cwd);
    tu_rmtree(tmp);
    free(tmp);
    free(src);
}

/* Two downloads from ml-dash into one layout at once, both --resume with
 * one --state-file (issue 10's report); then a rerun. */
static void test_two_concurrent_downloads(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *lay = pj(tmp, "lay"), *out = pj(tmp, "out"),
         *sf = pj(tmp, "s.jsonl");
    assert_int_equal(start_emu(), 0);
    /* seed the server from a layout: 8 experiments, a few series and files */
    assert_int_equal(gen_many_layout(lay, 6, 4000), 0);
    assert_int_equal(gen_wide_layout(lay, 4, 2000, 2), 0);
    char *o, *e;
    assert_int_equal(RUNV(&o, &e, "copy", "-q", lay, "mldash:tom"), 0);
    free(o);
    free(e);
    char *o1 = pj(tmp, "1.out"), *e1 = pj(tmp, "1.err"), *o2 = pj(tmp, "2.out"),
         *e2 = pj(tmp, "2.err");
    const char *argv[] = {"download", "--from", "mldash", "tom", "-o", out, "--resume",
                          "--state-file", sf, "-j", "3", NULL};
    pid_t a = spawn(o1, e1, argv);
    usleep(100000);
    pid_t b = spawn(o2, e2, argv);
    int ca = wait_code(a), cb = wait_code(b);
    if (ca || cb) {
        char *t1 = tu_slurp(e1), *t2 = tu_slurp(e2);
        fail_msg("exits %d %d\n%s\n%s", ca, cb, t1, t2);
    }
    assert_int_equal(RUNV(&o, &e, "verify", "mldash:tom", out), 0);
    free(o);
    free(e);
    assert_int_equal(RUNV(&o, &e, "download", "--from", "mldash", "tom", "-o", out, "--resume",
                          "--state-file", sf, "--json"), 0);
    assert_null(strstr(o, "itemsResumed"));
    assert_non_null(strstr(o, "\"copied\":0,"));
    free(o);
    free(e);
    assert_int_equal(RUNV(&o, &e, "verify", "mldash:tom", out), 0);
    free(o);
    free(e);
    tu_server_stop(&srv);
    free(o1);
    free(e1);
    free(o2);
    free(e2);
    free(sf);
    free(lay);
    free(out);
    tu_rmtree(tmp);
    free(tmp);
}

static int teardown(void **state)
{
    (void)state;
    tu_server_stop(&srv);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_no_wait_and_wait),
        cmocka_unit_test(test_lock_after_kill9),
        cmocka_unit_test(test_two_concurrent_copies),
        cmocka_unit_test(test_resume_checks_kept_items),
        cmocka_unit_test(test_compaction_bounds_size),
        cmocka_unit_test(test_torn_and_old_journals),
        cmocka_unit_test(test_job_records_bounded),
        cmocka_unit_test(test_remote_journal_in_state_dir),
        cmocka_unit_test(test_two_concurrent_downloads),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
