/* The wandb-offline adapter through the adapter interface: real SDK-written
 * fixtures compared with dumps from an independent decoding
 * (tests/fixtures/wandb/PROVENANCE.md), exact value types and bit patterns,
 * the accepted kinds of PATH, and the files/ folder. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "wtest.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"

#define FIX "tests/fixtures/wandb/"

static void expect_dump(const char *rel_path, const char *expected_rel)
{
    char *path = tu_src(rel_path), *exp_path = tu_src(expected_rel);
    char *want = tu_slurp(exp_path);
    assert_non_null(want);
    char *got, *warn;
    int rc = wt_dump(&got, &warn, path, NULL);
    if (rc || strcmp(got, want))
        print_message("got:\n%s\nwarnings:\n%s\n", got, warn);
    assert_int_equal(rc, 0);
    assert_string_equal(got, want);
    assert_string_equal(warn, "");
    free(got);
    free(warn);
    free(want);
    free(path);
    free(exp_path);
}

static void python_sdk_run(void **state)
{
    (void)state;
    expect_dump(FIX "offline-run-20210216_154407-g9dvvkua",
                "tests/wandb/expected/g9dvvkua.txt");
}

static void go_core_tiny_from_project_folder(void **state)
{
    (void)state;
    /* the folder holding wandb/, as left by a training script */
    expect_dump(FIX "go-core-2026/single-tiny", "tests/wandb/expected/tiny.txt");
}

static void nan_inf_from_file(void **state)
{
    (void)state;
    expect_dump(FIX "go-core-2026/edge-nan-inf/wandb/run-20260102_030405-"
                    "nanedge1/run-nanedge1.wandb",
                "tests/wandb/expected/nan-inf.txt");
}

static void unicode_from_wandb_folder(void **state)
{
    (void)state;
    expect_dump(FIX "go-core-2026/edge-unicode/wandb",
                "tests/wandb/expected/unicode.txt");
}

static void media_from_run_folder(void **state)
{
    (void)state;
    expect_dump(FIX "go-core-2026/media/wandb/run-20260102_030405-media001",
                "tests/wandb/expected/media.txt");
}

static void workspace_of_five_runs(void **state)
{
    (void)state;
    expect_dump(FIX "go-core-2026/workspace-multi/wandb",
                "tests/wandb/expected/workspace-multi.txt");
    char *path = tu_src(FIX "go-core-2026/workspace-multi/wandb"), *names;
    assert_int_equal(wt_list(&names, path), 0);
    assert_string_equal(names, "fixture-entity/leet-fixtures/plain-hill-1\n"
                               "fixture-entity/leet-fixtures/noted-morning-2\n"
                               "fixture-entity/leet-fixtures/live-salad-3\n"
                               "fixture-entity/leet-fixtures/crashed-flame-4\n"
                               "fixture-entity/leet-fixtures/sunny-lion-5\n");
    free(names);
    free(path);
}

static void compat_steps(void **state)
{
    (void)state;
    /* rows without _step get W&B's rebuilt step 0, 1, 2 */
    expect_dump(FIX "compat", "tests/wandb/expected/compat.txt");
}

/* Values picked out one by one, with their exact types and bits. */
static void exact_values(void **state)
{
    (void)state;
    char *path = tu_src(FIX "go-core-2026");
    char *got, *warn;
    struct wt_opts o = {.with_vendor = 1};
    char *p = tu_src(FIX "go-core-2026/single-tiny");
    assert_int_equal(wt_dump(&got, &warn, p, &o), 0);
    /* value_json "2" is an int, "1.965" a float; _timestamp 1767323047 */
    char *l = wt_line(got, " point 0 value=i:2 ");
    assert_non_null(l);
    assert_string_equal(l, " point 0 value=i:2 step=i:0 "
                           "timestamp=f:1767323047");
    free(l);
    l = wt_line(got, " point 1 value=f:1.9650000000000001 ");
    assert_non_null(l);
    free(l);
    l = wt_line(got, " vendor ");
    assert_non_null(strstr(l, "\"exit\":{\"exit_code\":0,\"runtime\":300}"));
    free(l);
    free(got);
    free(warn);
    free(p);

    p = tu_src(FIX "go-core-2026/edge-nan-inf");
    assert_int_equal(wt_dump(&got, &warn, p, NULL), 0);
    assert_non_null(strstr(got, " point 1 value=f:nan/7ff8000000000000 step=i:1\n"
                                " point 2 value=f:inf step=i:2\n"
                                " point 3 value=f:-inf step=i:3\n"));
    /* 42 logged once: a one-point series of an int */
    assert_non_null(strstr(got, "series metric \"edge/single_point\" "
                                "expected=1\n point 0 value=i:42 step=i:0\n"
                                "series-end\n"));
    free(got);
    free(warn);
    free(p);

    p = tu_src(FIX "offline-run-20210216_154407-g9dvvkua");
    assert_int_equal(wt_dump(&got, &warn, p, &o), 0);
    /* 24.3 as Python's float("24.3"): 0x4038_4CCC_CCCC_CCCD */
    double d = 24.3;
    uint64_t bits;
    memcpy(&bits, &d, 8);
    assert_true(bits == 0x40384CCCCCCCCCCDull);
    assert_non_null(strstr(got, " point 0 value=f:24.300000000000001 "
                                "timestamp=f:1613519052.2468281\n"));
    l = wt_line(got, " vendor ");
    assert_non_null(strstr(l, "\"config_wandb\":{\"code_path\":"
                              "\"code/standalone_tests/code-toad.py\"}"));
    assert_non_null(strstr(l, "\"telemetry\":{\"cli_version\":"
                              "\"0.10.20.dev1\",\"python_version\":\"3.7.5\"}"));
    free(l);
    free(got);
    free(warn);
    free(p);
    free(path);
}

static void resources_and_one_series(void **state)
{
    (void)state;
    char *p = tu_src(FIX "go-core-2026/single-tiny"), *got, *warn;
    struct wt_opts o = {.only_series = "train/sine"};
    assert_int_equal(wt_dump(&got, &warn, p, &o), 0);
    assert_null(strstr(got, "train/loss"));
    assert_null(strstr(got, "document"));
    assert_null(strstr(got, "log "));
    assert_non_null(strstr(got, "series metric \"train/sine\" expected=50\n"
                                " point 0 value=f:0.51785999999999999 "));
    free(got);
    free(warn);

    struct wt_opts o2 = {.resources = XP_RES_LOGS};
    assert_int_equal(wt_dump(&got, &warn, p, &o2), 0);
    assert_null(strstr(got, "series"));
    assert_null(strstr(got, "document"));
    assert_non_null(strstr(got, "log 19 stdout 2026-01-02T03:05:05Z "
                                "\"Run finished successfully.\"\n"));
    free(got);
    free(warn);
    free(p);
}

static void bad_crc_fixture(void **state)
{
    (void)state;
    char *p = tu_src(FIX "corrupt/bad-crc.wandb"), *got, *warn;
    int rc = wt_dump(&got, &warn, p, NULL);
    assert_int_equal(rc, XP_EINVALID);
    /* what W&B's Go reader keeps: the run and the row before the bad
     * chunk; the rest of the (only) block is lost */
    assert_non_null(strstr(got, "series metric \"wire/metric\" expected=1\n"
                                " point 0 value=i:10 step=i:0\nseries-end\n"));
    assert_non_null(strstr(got, "error -8 run 'wirebcrc' in '"));
    assert_non_null(strstr(got, "is damaged: lost bytes 143-293"));
    assert_null(strstr(got, "\nend\n"));
    assert_non_null(strstr(warn, "bad checksum at offset 143"));
    free(got);
    free(warn);

    struct wt_opts o = {.allow_partial = "1", .with_vendor = 1};
    assert_int_equal(wt_dump(&got, &warn, p, &o), 0);
    assert_non_null(strstr(got, " status RUNNING\n"));
    assert_non_null(strstr(got, "\"lost_byte_ranges\":[[143,293]]"));
    assert_non_null(strstr(got, "\nend\n"));
    assert_non_null(strstr(warn, "lost bytes 143-293; keeping what is intact"));
    free(got);
    free(warn);
    free(p);
}

/* files/: safe relative paths, sizes and sha256 of what the body streams;
 * links out of the run folder are not followed. */
static void files_folder(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp();
    char *src = tu_src(FIX "go-core-2026/single-tiny/wandb/"
                           "run-20260102_030405-tiny0001/run-tiny0001.wandb");
    assert_int_equal(tu_sh("mkdir -p '%s/run-x/files/sub' && cp '%s' "
                           "'%s/run-x/' && printf hello > '%s/run-x/files/a.txt' "
                           "&& printf inside > '%s/run-x/kept.txt' && "
                           "ln -s ../../kept.txt '%s/run-x/files/sub/in.txt' && "
                           "ln -s /etc/hostname '%s/run-x/files/out.txt' && "
                           "ln -s .. '%s/run-x/files/loop'",
                           tmp, src, tmp, tmp, tmp, tmp, tmp, tmp),
                     0);
    char *run = xp_path_join(tmp, "run-x"), *got, *warn;
    assert_int_equal(wt_dump(&got, &warn, run, NULL), 0);
    assert_non_null(strstr(got, "file a.txt 5 2cf24dba5fb0a30e26e83b2ac5b9e29e"
                                "1b161e5c1fa7425e73043362938b9824 body-ok\n"
                                "file sub/in.txt 6 106b086224a4d945eae25f7be3805a"
                                "931a873270326dd868b0e41f71ee9fff72 body-ok\n"
                                "end\n"));
    assert_null(strstr(got, "out.txt"));
    assert_null(strstr(got, "loop"));
    assert_non_null(strstr(warn, "out.txt': it links outside the run folder"));
    free(got);
    free(warn);
    free(run);
    free(src);
    tu_rmtree(tmp);
    free(tmp);
}

static void not_a_wandb_file(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp();
    char *f = xp_path_join(tmp, "run-bad.wandb"), *got, *warn;
    tu_write(f, "LevelDB?");
    assert_int_equal(wt_dump(&got, &warn, f, NULL), XP_EINVALID);
    assert_non_null(strstr(got, "is not a W&B transaction log"));
    free(got);
    free(warn);
    /* in a folder of runs it is skipped with a warning */
    assert_int_equal(wt_dump(&got, &warn, tmp, NULL), 0);
    assert_string_equal(got, "");
    assert_non_null(strstr(warn, "skipping '"));
    free(got);
    free(warn);
    free(f);
    tu_rmtree(tmp);
    free(tmp);
}

int main(void)
{
    if (chdir(XPORT_SOURCE_DIR) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(python_sdk_run),
        cmocka_unit_test(go_core_tiny_from_project_folder),
        cmocka_unit_test(nan_inf_from_file),
        cmocka_unit_test(unicode_from_wandb_folder),
        cmocka_unit_test(media_from_run_folder),
        cmocka_unit_test(workspace_of_five_runs),
        cmocka_unit_test(compat_steps),
        cmocka_unit_test(exact_values),
        cmocka_unit_test(resources_and_one_series),
        cmocka_unit_test(bad_crc_fixture),
        cmocka_unit_test(files_folder),
        cmocka_unit_test(not_a_wandb_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
