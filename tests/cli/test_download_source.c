/* `xport download --from VENDOR -o DIR` without a SOURCE, as the vendor's
 * own CLI takes it: the ml-dash CLI's `download` form (the namespace from
 * --namespace, else --username, else the API key's user; --project and
 * --experiment narrow it). Runs against the ml-dash emulator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "xport/buf.h"
#include "xport/fs.h"

#define KEY "sk-test-download-source"

static struct tu_server srv;
static char url[64];
static char *tmp;

static int setup(void **st)
{
    (void)st;
    tmp = tu_mkdtemp();
    /* nothing but the command line names the server, user or key */
    unsetenv("MLDASH_USERNAME");
    unsetenv("MLDASH_API_KEY");
    unsetenv("MLDASH_REMOTE");
    char *home = xp_path_join(tmp, "home");
    setenv("HOME", home, 1);
    free(home);
    const char *args[] = {"--api-key", KEY, "--api-key-user", "tom", NULL};
    if (tu_server_start_py(&srv, "tests/emulators/mldash_emu.py", args))
        return -1;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
    /* tom's experiments, and one of ann's */
    char *f = tu_src("tests/mldash/seed_small.json");
    int rc = tu_sh("curl -sf -XPOST %s/__emu/seed --data-binary @%s >/dev/null && "
                   "curl -sf -XPOST %s/__emu/seed -d '{\"namespace\": \"ann\", "
                   "\"experiments\": [{\"project\": \"q\", \"name\": \"a1\", "
                   "\"metrics\": {\"m\": [{\"value\": 1.5}]}}]}' >/dev/null",
                   url, f, url);
    free(f);
    return rc;
}

static int teardown(void **st)
{
    (void)st;
    tu_server_stop(&srv);
    tu_rmtree(tmp);
    free(tmp);
    return 0;
}

/* Run a download into tmp/name; fail with its output unless it exits with
 * code. Returns the output folder (caller frees). */
static char *download(int code, const char *name, const char *const *extra)
{
    char *out = xp_path_join(tmp, name);
    const char *argv[24] = {"download", "--from", "mldash", "-o", out, "--remote", url, "-q"};
    size_t n = 8;
    for (size_t i = 0; extra[i] && n < 23; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    char *o, *e;
    int got = tu_run_xport(&o, &e, argv);
    if (got != code)
        fail_msg("download into %s: exit %d (wanted %d)\nstdout: %s\nstderr: %s", name, got,
                 code, o, e);
    free(o);
    free(e);
    return out;
}
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static int has(const char *out, const char *rel)
{
    return tu_sh("test -f '%s/%s/experiment.json'", out, rel) == 0;
}

/* the first form: --remote URL --username tom */
static void test_username_names_namespace(void **st)
{
    (void)st;
    char *out = download(0, "by-user", ARGS("--username", "tom"));
    assert_true(has(out, "tom/p/e1"));
    assert_false(tu_sh("test -e '%s/ann'", out) == 0);
    free(out);
    out = download(0, "by-user-ann", ARGS("--username", "ann"));
    assert_true(has(out, "ann/q/a1"));
    assert_false(tu_sh("test -e '%s/tom'", out) == 0);
    free(out);
}

/* the second form: --api-key KEY --namespace tom; and --namespace wins
 * over the user name */
static void test_namespace_flag(void **st)
{
    (void)st;
    char *out = download(0, "by-key", ARGS("--api-key", KEY, "--namespace", "tom"));
    assert_true(has(out, "tom/p/e1"));
    free(out);
    out = download(0, "ns-over-user", ARGS("--username", "ann", "--namespace", "tom"));
    assert_true(has(out, "tom/p/e1"));
    assert_false(tu_sh("test -e '%s/ann'", out) == 0);
    free(out);
    /* neither: the API key's user */
    out = download(0, "key-user", ARGS("--api-key", KEY));
    assert_true(has(out, "tom/p/e1"));
    free(out);
}

/* --project and --experiment narrow it */
static void test_narrowed(void **st)
{
    (void)st;
    char *out = download(0, "narrow", ARGS("--username", "tom", "--project", "p",
                                           "--experiment", "e1"));
    assert_true(has(out, "tom/p/e1"));
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "%s/tom/p", out);
    char **v = NULL;
    size_t n = 0;
    tu_pass(xp_list_dir(&v, &n, b.ptr));
    assert_int_equal(n, 1); /* not the other experiment of p */
    xp_strv_free(v);
    xp_buf_release(&b);
    free(out);
    /* the journal names the namespace: a rerun is a no-op */
    char *o, *e;
    char *dst = xp_path_join(tmp, "narrow");
    const char *again[] = {"download", "--from", "mldash", "-o", dst, "--remote", url,
                           "--username", "tom", "--project", "p", "--experiment", "e1",
                           "--json", NULL};
    assert_int_equal(tu_run_xport(&o, &e, again), 0);
    assert_non_null(strstr(o, "\"skipped\":1"));
    free(o);
    free(e);
    free(dst);
}

/* an adapter that cannot name a source still needs one, and says so; the
 * help says what is read without one */
static void test_needs_source_and_help(void **st)
{
    (void)st;
    char *out = xp_path_join(tmp, "never"), *o, *e;
    const char *wb[] = {"download", "--from", "wandb", "-o", out, NULL};
    assert_int_equal(tu_run_xport(&o, &e, wb), 2);
    assert_non_null(strstr(e, "download needs a SOURCE: adapter 'wandb' cannot name one"));
    free(o);
    free(e);
    const char *noout[] = {"download", "--from", "mldash", "--username", "tom", NULL};
    assert_int_equal(tu_run_xport(&o, &e, noout), 2);
    assert_non_null(strstr(e, "download needs --from VENDOR and -o DIR"));
    free(o);
    free(e);
    assert_false(xp_is_dir(out));
    const char *help[] = {"download", "--help", NULL};
    assert_int_equal(tu_run_xport(&o, &e, help), 0);
    assert_non_null(strstr(o, "--from VENDOR [SOURCE [RESOURCE...]] -o DIR"));
    assert_non_null(strstr(o, "Without SOURCE"));
    assert_non_null(strstr(o, "--from mldash"));
    assert_non_null(strstr(o, "the namespace: --namespace, else --username"));
    free(o);
    free(e);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_username_names_namespace),
        cmocka_unit_test(test_namespace_flag),
        cmocka_unit_test(test_narrowed),
        cmocka_unit_test(test_needs_source_and_help),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
