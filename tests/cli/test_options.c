/* The option parser and --help (cmd/opt.c): groups, --no- forms, bundled
 * short options, every value error naming its option, and the adapters'
 * declared --opt keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_layout.h"
#include "testutil.h"
#include "xport/buf.h"
#include "xport/fs.h"

/* Run xport; fail unless it exits with code and, when given, stderr (or
 * stdout, for code 0) holds each needle. */
static void expect(int code, const char *const *needles, const char *const *argv)
{
    char *o, *e;
    int got = tu_run_xport(&o, &e, argv);
    int ok = got == code;
    for (size_t i = 0; ok && needles && needles[i]; i++)
        ok = strstr(code ? e : o, needles[i]) != NULL;
    if (!ok) {
        struct xp_buf cmd = XP_BUF_INIT;
        for (size_t i = 0; argv[i]; i++)
            xp_buf_printf(&cmd, " %s", argv[i]);
        fail_msg("xport%s: exit %d (wanted %d)\nstdout: %s\nstderr: %s", cmd.ptr, got, code,
                 o, e);
    }
    free(o);
    free(e);
}
#define EXPECT(code, needles, ...) expect(code, needles, (const char *const[]){__VA_ARGS__, NULL})
#define N(...) ((const char *const[]){__VA_ARGS__, NULL})

static char *tmp, *src;

static int setup(void **st)
{
    (void)st;
    tmp = tu_mkdtemp();
    src = xp_path_join(tmp, "src");
    tu_pass(gen_many_layout(src, 2, 10));
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    tu_rmtree(tmp);
    free(tmp);
    free(src);
    return 0;
}

static char *dst_path(const char *name)
{
    return xp_path_join(tmp, name);
}

/* copy's 40-odd options come in groups, booleans show their --no- form */
static void test_help_groups(void **st)
{
    (void)st;
    EXPECT(0, N("\nselection:\n", "\ntransfer:\n", "\nvendor access:\n", "\nHTTP limits:\n",
                "\nthe ml-dash CLI's flags", "\noutput:\n", "-n, --[no-]dry-run",
                "--limit-rate RATE"),
           "copy", "--help");
    /* a group heading comes before its options */
    char *o, *e;
    assert_int_equal(tu_run_xport(&o, &e, N("copy", "--help")), 0);
    char *h = strstr(o, "\nHTTP limits:\n"), *r = strstr(o, "--retries N");
    assert_non_null(h);
    assert_non_null(r);
    assert_true(h < r);
    /* no line is wider than 80 columns */
    for (char *l = o; *l;) {
        char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        if (n > 80)
            fail_msg("help line of %zu columns: %.*s", n, (int)n, l);
        l += n + (nl != NULL);
    }
    free(o);
    free(e);
}

/* --no-dry-run undoes an earlier --dry-run: the copy is written */
static void test_no_forms(void **st)
{
    (void)st;
    char *dst = dst_path("no-forms");
    EXPECT(0, NULL, "copy", "--dry-run", "--no-dry-run", "-q", src, dst);
    assert_true(xp_is_dir(dst));
    char *dst2 = dst_path("no-forms-2");
    EXPECT(0, NULL, "copy", "--no-dry-run", "--dry-run", "-q", src, dst2);
    assert_false(xp_is_dir(dst2));
    /* only booleans have one */
    EXPECT(2, N("unknown option '--no-jobs'"), "copy", "--no-jobs", src, dst2);
    EXPECT(2, N("option '--no-dry-run' takes no value"), "copy", "--no-dry-run=1", src,
           dst2);
    EXPECT(2, N("unknown option '--no-bogus'"), "copy", "--no-bogus", src, dst2);
    free(dst);
    free(dst2);
}

/* -nq is -n -q; a value option ends a bundle and takes the rest or the
 * next argument */
static void test_bundled_short_options(void **st)
{
    (void)st;
    char *dst = dst_path("bundle");
    EXPECT(0, N("\"dryRun\":true"), "copy", "-nq", "--json", src, dst);
    assert_false(xp_is_dir(dst));
    EXPECT(0, NULL, "copy", "-qj1", src, dst);
    assert_true(xp_is_dir(dst));
    char *dst2 = dst_path("bundle-2");
    EXPECT(0, NULL, "copy", "-qj", "3", src, dst2);
    assert_true(xp_is_dir(dst2));
    EXPECT(2, N("unknown option '-x'"), "copy", "-nqx", src, dst2);
    EXPECT(2, N("option '--jobs' needs a value"), "copy", src, dst2, "-qj");
    EXPECT(2, N("option '--jobs' needs a whole number", "'4x'"), "copy", "-nj4x", src, dst2);
    free(dst);
    free(dst2);
}

/* every value error names its option and is a usage error */
static void test_value_errors_name_option(void **st)
{
    (void)st;
    char *dst = dst_path("never");
    EXPECT(2, N("option '--jobs' needs a whole number", "'many'"), "copy", "-j", "many", src,
           dst);
    EXPECT(2, N("option '--retries' needs a whole number", "'-1'"), "copy", "--retries=-1",
           src, dst);
    EXPECT(2, N("option '--limit-rate'", "'fast'"), "copy", "--limit-rate", "fast", src, dst);
    EXPECT(2, N("option '--bytes-per-hour'", "'10X'"), "copy", "--bytes-per-hour", "10X",
           src, dst);
    EXPECT(2, N("option '--sync'", "'sometimes'"), "copy", "--sync", "sometimes", src, dst);
    EXPECT(2, N("option '--ignore'", "'weights'"), "copy", "--ignore", "weights", src, dst);
    EXPECT(2, N("option '--ignore'", "'weights'"), "verify", "--ignore", "weights", src, dst);
    EXPECT(2, N("option '--opt' needs [ADAPTER:]KEY=VALUE", "'justakey'"), "copy", "--opt",
           "justakey",
           src, dst);
    EXPECT(2, N("option '--json' takes no value"), "copy", "--json=yes", src, dst);
    EXPECT(2, N("option '--output' needs a value"), "download", "--from", "mldash", "-o");
    EXPECT(2, N("option '--from' needs a value"), "download", "--from");
    assert_false(xp_is_dir(dst));
    free(dst);
}

/* --opt keys are checked against what the command's adapters declare:
 * unknown keys and bad values are usage errors naming the key, before
 * anything opens (no server runs here) */
static void test_adapter_option_keys(void **st)
{
    (void)st;
    char *dst = dst_path("opt-never");
    EXPECT(2, N("'nonsense' is not an option of adapter 'local' (local takes workspace)"),
           "copy", "--opt", "nonsense=1", src, dst);
    EXPECT(2, N("'nonsense' is not an option of adapter 'local'"), "copy", "--opt",
           "local:nonsense=1", src, dst);
    EXPECT(2, N("'nonsense' is not an option of adapters 'local' or 'mldash'",
                "mldash takes chunk-window, api-version"),
           "copy", "--opt", "nonsense=1", src, "mldash:tom");
    EXPECT(2, N("'nonsense' is not an option of adapter 'mldash'"), "list", "--opt",
           "nonsense=1", "mldash:tom");
    EXPECT(2, N("'nonsense' is not an option of adapters 'local' or 'wandb'"), "verify",
           "--opt", "nonsense=1", src, "wandb:ent/proj");
    EXPECT(2, N("'nonsense' is not an option of adapters 'wandb' or 'local'"), "download",
           "--from",
           "wandb", "ent/proj", "-o", dst, "--opt", "nonsense=1");
    /* values of the declared type */
    EXPECT(2, N("option 'chunk-window' of adapter 'mldash' needs a whole number from 1 to 32",
                "'zero'"),
           "copy", src, "mldash:tom", "--opt", "chunk-window=zero");
    EXPECT(2, N("option 'chunk-window'", "'33'"), "copy", src, "mldash:tom", "--opt",
           "mldash:chunk-window=33");
    EXPECT(2, N("option 'api-version' of adapter 'mldash' needs one of 0.5, 0.6, not '7'"),
           "copy", src, "mldash:tom", "--opt", "api-version=7");
    EXPECT(2, N("option 'page-size' of adapter 'wandb'", "'lots'"), "list", "wandb:ent/proj",
           "--opt", "page-size=lots");
    /* keys the CLI sets with its own flags, adapters the command does not use */
    EXPECT(2, N("'api-key' is not set here: give it with --api-key"), "copy", src,
           "mldash:tom", "--opt", "api-key=sk-1");
    EXPECT(2, N("'wandb:page-size=5' names adapter 'wandb', which this command does not use"),
           "copy", src, dst, "--opt", "wandb:page-size=5");
    EXPECT(2, N("'bogus:x=1' names no adapter", "unknown adapter 'bogus'"), "copy", src, dst,
           "--opt", "bogus:x=1");
    assert_false(xp_is_dir(dst));
    free(dst);
}

/* declared keys reach their adapter, with or without its name */
static void test_adapter_option_given(void **st)
{
    (void)st;
    char *store = tu_src("tests/fixtures/mldash/v0.5.9-local-store");
    char *dst = dst_path("opt-ws"), *dst2 = dst_path("opt-ws2");
    EXPECT(0, NULL, "copy", "-q", "--opt", "workspace=team", store, dst);
    assert_int_equal(tu_sh("test -d '%s/team'", dst), 0);
    EXPECT(0, NULL, "copy", "-q", "--opt", "local:workspace=lab", store, dst2);
    assert_int_equal(tu_sh("test -d '%s/lab'", dst2), 0);
    /* a flag no adapter of the command reads is said, not silently dropped */
    char *dst3 = dst_path("opt-flag");
    char *o, *e;
    assert_int_equal(tu_run_xport(&o, &e, N("copy", "-q", "--batch-size", "5", src, dst3)), 0);
    assert_non_null(strstr(e, "warning: --batch-size is not used by adapter 'local'\n"));
    free(o);
    free(e);
    /* and `xport adapters NAME` lists what an adapter takes */
    EXPECT(0, N("--opt chunk-window=N (1-32)", "--opt api-version=0.5|0.6", "--namespace",
                "without a SOURCE it reads the namespace"),
           "adapters", "mldash");
    EXPECT(0, N("--opt history-page=N (10-100000)"), "adapters", "wandb");
    EXPECT(2, N("unknown adapter 'nosuch'"), "adapters", "nosuch");
    free(store);
    free(dst);
    free(dst2);
    free(dst3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_groups),
        cmocka_unit_test(test_no_forms),
        cmocka_unit_test(test_bundled_short_options),
        cmocka_unit_test(test_value_errors_name_option),
        cmocka_unit_test(test_adapter_option_keys),
        cmocka_unit_test(test_adapter_option_given),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
