/* A secret given by flag, environment variable or config file never shows
 * up in stdout, stderr (even with -v), the journal, a job's records or the
 * written layout. Runs against the ml-dash emulator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen_layout.h"
#include "testutil.h"
#include "xport/fs.h"

#define SECRET "sk-TOPSECRET-7f3a9c"

#define RUNV(o, e, ...) tu_run_xport(o, e, (const char *const[]){__VA_ARGS__, NULL})

static void no_secret(const char *o, const char *e)
{
    if (strstr(o, SECRET) || strstr(e, SECRET))
        fail_msg("secret leaked:\nstdout: %s\nstderr: %s", o, e);
}

/* Stopped by the teardown, so a failed assertion never leaves it running. */
static struct tu_server srv;

static int stop_server(void **state)
{
    (void)state;
    tu_server_stop(&srv);
    return 0;
}

static void test_secrets(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp();
    char *cwd = getcwd(NULL, 0);
    assert_int_equal(chdir(tmp), 0);
    /* remote journals land under $XDG_STATE_HOME/xport/journals */
    char *statedir = xp_path_join(tmp, "state");
    setenv("XDG_STATE_HOME", statedir, 1);
    free(statedir);
    const char *args[] = {"--api-key", SECRET, NULL};
    if (tu_server_start_py(&srv, "tests/emulators/mldash_emu.py", args) != 0)
        fail_msg("cannot start the ml-dash emulator");
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
    char *src = xp_path_join(tmp, "src");
    tu_pass(gen_many_layout(src, 2, 50));
    char *o, *e;

    /* by flag, verbose */
    int code = RUNV(&o, &e, "copy", "-v", "--remote", url, "--api-key", SECRET, src,
                    "mldash:tom/proj");
    if (code != 0)
        fail_msg("upload failed (%d): %s", code, e);
    no_secret(o, e);
    free(o);
    free(e);

    /* by environment variable */
    setenv("MLDASH_API_KEY", SECRET, 1);
    code = RUNV(&o, &e, "download", "-v", "--from", "mldash", "tom/proj", "--remote", url,
                "-o", "out-env");
    unsetenv("MLDASH_API_KEY");
    if (code != 0)
        fail_msg("download with env key failed (%d): %s", code, e);
    no_secret(o, e);
    free(o);
    free(e);

    /* by config file */
    char *home = xp_path_join(tmp, "home");
    char *cfg = xp_path_join(home, ".ml-dash/config.json");
    char body[256];
    snprintf(body, sizeof(body), "{\"api_key\": \"%s\", \"remote_url\": \"%s\"}", SECRET, url);
    tu_write(cfg, body);
    char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    setenv("HOME", home, 1);
    code = RUNV(&o, &e, "download", "-v", "--from", "mldash", "tom/proj", "-o", "out-cfg");
    if (code != 0)
        fail_msg("download with config key failed (%d): %s", code, e);
    no_secret(o, e);
    free(o);
    free(e);
    if (old_home)
        setenv("HOME", old_home, 1);
    free(old_home);

    /* a wrong key: exit 4, and that key is not echoed either */
    code = RUNV(&o, &e, "download", "--from", "mldash", "tom/proj", "--remote", url,
                "--api-key", "sk-TOPSECRET-wrong", "-o", "out-bad");
    assert_int_equal(code, 4);
    assert_null(strstr(o, "sk-TOPSECRET-wrong"));
    assert_null(strstr(e, "sk-TOPSECRET-wrong"));
    free(o);
    free(e);

    /* a detached job records its command line without the key */
    char *jobs = xp_path_join(tmp, "jobs");
    setenv("XPORT_JOBS_DIR", jobs, 1);
    code = RUNV(&o, &e, "download", "--detach", "--from", "mldash", "tom/proj", "--remote",
                url, "--api-key", SECRET, "-o", "out-job");
    assert_int_equal(code, 0);
    char id[64] = "";
    if (sscanf(o, "%63s", id) != 1)
        fail_msg("--detach printed no job id: %s", o);
    free(o);
    free(e);
    /* wait for the job itself (the test's timeout bounds it), then its
     * record must say it finished well: a job that never ran, died or
     * left no record fails here instead of passing unchecked */
    for (int polls = 0;; polls++) {
        code = RUNV(&o, &e, "jobs", "show", id);
        int running = code == 0 && strstr(o, "status:      running") != NULL;
        if (!running)
            break;
        if (polls == 6000)
            fail_msg("the detached download is still running after 10 minutes:\n%s", o);
        free(o);
        free(e);
        usleep(100000);
    }
    if (code != 0 || !strstr(o, "status:      done") || !strstr(o, "\"exitCode\":0"))
        fail_msg("the detached download did not finish well (exit %d):\n%s%s", code, o, e);
    no_secret(o, e);
    free(o);
    free(e);
    assert_int_equal(tu_sh("test -f '%s/jobs/%s/result.json' && test -d '%s/out-job/tom/proj'",
                           tmp, id, tmp), 0);
    unsetenv("XPORT_JOBS_DIR");

    /* nothing xport wrote holds it: layouts, journals, job folders */
    assert_int_equal(tu_sh("test -n \"$(find '%s/state/xport/journals' -name "
                           "'journal-*.jsonl' | head -1)\"", tmp), 0);
    if (tu_sh("! grep -r -l '%s' '%s' --exclude-dir=home", SECRET, tmp) != 0)
        fail_msg("the secret was written to disk under %s", tmp);
    tu_server_stop(&srv);
    assert_int_equal(chdir(cwd), 0);
    free(cwd);
    tu_rmtree(tmp);
    free(tmp);
    free(src);
    free(home);
    free(cfg);
    free(jobs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_secrets, stop_server)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
