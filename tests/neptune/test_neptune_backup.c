/* The neptune-backup adapter through the CLI, on folders written by
 * tests/neptune/gen_neptune.py the way Neptune's backup script writes them:
 * exact values, Python reprs parsed back, CSV timestamps through a named or
 * the local zone, a partial run, two reads equal, copies without
 * duplicates, and nothing read through a link out of the run folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "xport/buf.h"
#include "xport/fs.h"

struct fx {
    char *tmp, *src, *root;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->tmp = tu_mkdtemp();
    f->src = xp_path_join(f->tmp, "job");
    f->root = xp_path_join(f->src, "backup");
    char *gen = tu_src("tests/neptune/gen_neptune.py");
    int rc = tu_sh("'%s' '%s' '%s'", XPORT_PYTHON, gen, f->src);
    free(gen);
    *state = f;
    return rc;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_rmtree(f->tmp);
    free(f->tmp);
    free(f->src);
    free(f->root);
    free(f);
    return 0;
}

static void expect_in(const char *dir, const char *rel, const char *needle)
{
    char *p = xp_path_join(dir, rel);
    char *s = tu_slurp(p);
    if (!s || !strstr(s, needle))
        print_message("'%s' lacks: %s\n", p, needle);
    assert_non_null(s);
    assert_non_null(strstr(s, needle));
    free(s);
    free(p);
}

static int download(struct fx *f, const char *out, const char *tz, char **o, char **e)
{
    struct xp_buf opt = XP_BUF_INIT;
    xp_buf_printf(&opt, "tz=%s", tz ? tz : "");
    const char *argv[] = {"download", "--from", "neptune-backup", f->root, "-o", out,
                          tz ? "--opt" : NULL, opt.ptr, NULL};
    int code = tu_run_xport(o, e, argv);
    xp_buf_release(&opt);
    return code;
}

static void exact_values(void **state)
{
    struct fx *f = *state;
    char *o, *e, *out = xp_path_join(f->tmp, "out");
    assert_int_equal(download(f, out, "Europe/Warsaw", &o, &e), 0);
    assert_non_null(strstr(e, "as local times of 'Europe/Warsaw'"));
    assert_non_null(strstr(e, "run 'CLS-124' in '"));
    assert_non_null(strstr(e, "is partial: there is no simple_metadata.json"));
    assert_non_null(strstr(o, "3 downloaded, 0 skipped, 0 failed"));
    free(o);
    char *e_saved = e;
    char *run = xp_path_join(out, "team/proj/CLS-123");
    expect_in(run, "parameters.json", "\"x\":2.0,");
    expect_in(run, "parameters.json", "\"n\":2,");
    expect_in(run, "parameters.json", "\"lr\":0.1,");
    expect_in(run, "parameters.json", "\"tiny\":1e-06,");
    expect_in(run, "parameters.json", "\"when\":\"2026-01-02T03:04:05.123Z\"");
    expect_in(run, "parameters.json", "\"empty_set\":[]");
    expect_in(run, "parameters.json", "\"looks_like_text\":\"{not a set\"");
    expect_in(run, "parameters.json", "\"ünï\":{\"κλειδί\":\"välue ✓\"}");
    char *p = xp_path_join(run, "parameters.json"), *s = tu_slurp(p);
    const char *l = strstr(s, "\"long\":\"");
    assert_non_null(l);
    assert_int_equal(strcspn(l + 8, "\""), 100000);
    free(s);
    free(p);
    expect_in(run, "experiment.json", "\"tags\":[\"a\",\"b'q\",\"ü\"]");
    expect_in(run, "experiment.json", "\"created_at\":\"2026-01-02T03:04:05.123Z\"");
    expect_in(run, "experiment.json", "\"metadata\":{\"csv_time_zone\":\"Europe/Warsaw\"}");
    /* the original repr is kept (a set's order is Python's) */
    expect_in(run, "experiment.json", "\"sys/tags\":\"{");
    expect_in(run, "experiment.json", "\\\"b'q\\\"");
    /* an empty string stays one (it was read as a datetime made of
     * uninitialised bytes, another on every run) */
    expect_in(run, "experiment.json", "\"description\":\"\"");
    expect_in(run, "experiment.json", "\"sys/description\":\"string\"");
    /* 04:04:05.123 in Warsaw is 03:04:05.123 UTC */
    expect_in(run, "metrics/train%2Floss/data.jsonl",
              "{\"index\":0,\"data\":{\"value\":2.0,\"step\":0.1,\"timestamp\":1767323045.123}}\n"
              "{\"index\":1,\"data\":{\"value\":1.5,\"step\":0.2,\"timestamp\":1767323046.123}}\n"
              "{\"index\":2,\"data\":{\"value\":0.25,\"step\":0.30000000000000004,"
              "\"timestamp\":1767323047.123}}\n");
    expect_in(run, "metrics/train%2Fwhole/data.jsonl", "\"timestamp\":1767323045.0}}");
    /* across daylight saving time: summer, the earlier of a twice-seen
     * local time, winter */
    expect_in(run, "metrics/train%2Fdst/data.jsonl",
              "\"timestamp\":1751371200.0}}\n{\"index\":1,\"data\":{\"value\":2.0,"
              "\"step\":1.0,\"timestamp\":1761438600.0}}\n{\"index\":2,\"data\":"
              "{\"value\":3.0,\"step\":2.0,\"timestamp\":1767225600.0}}\n");
    expect_in(run, "metrics/train%2Ffine/data.jsonl", "\"step\":1e-06,");
    expect_in(run, "metrics/edge%2Fnonfinite/data.jsonl",
              "{\"index\":0,\"data\":{\"value\":NaN,\"step\":0.0,");
    expect_in(run, "metrics/edge%2Fnonfinite/data.jsonl", "{\"value\":Infinity,");
    expect_in(run, "metrics/edge%2Fnonfinite/data.jsonl", "{\"value\":-Infinity,");
    expect_in(run, "metrics/train%2Fempty/metadata.json", "\"totalDataPoints\":0");
    expect_in(run, "metrics/notes/data.jsonl", "{\"value\":\"\",\"step\":1.0,");
    expect_in(run, "system/monitoring%2F0a1b2c3d%2Fcpu/data.jsonl", "\"value\":12.5,");
    expect_in(run, "logs/logs.jsonl",
              "\"message\":\"with, comma \\\"and\\\" quote\\nand newline\"");
    /* a File of extension csv stays a file; others keep their names */
    expect_in(run, "files/results.csv", "a,b\n1,2\n");
    assert_int_equal(tu_sh("cmp -s '%s/team/proj/CLS-123/images/sample/0.png' "
                           "'%s/files/images/sample/0.png' && "
                           "test -s '%s/files/source_code/files.zip'",
                           f->root, run, run), 0);
    expect_in(out, "team/proj/CLS-124/experiment.json", "\"partial\":true");
    /* the script's log names the attribute it stopped a run at */
    assert_non_null(strstr(e_saved, "run 'CLS-125' in '"));
    assert_non_null(strstr(e_saved, "is partial: the backup script failed on 'train/loss' "
                                    "and stopped there ('"));
    assert_null(strstr(e_saved, "run 'CLS-123' in '"));
    expect_in(out, "team/proj/CLS-125/experiment.json",
              "\"partial\":true,\"failed_attributes\":[\"train/loss\"]");
    free(e_saved);
    free(run);
    free(out);
}

/* Without --opt tz the local zone is used and named; another zone moves
 * the timestamps, never the values. */
static void local_zone(void **state)
{
    struct fx *f = *state;
    char *o, *e, *out = xp_path_join(f->tmp, "utc");
    setenv("TZ", "UTC", 1);
    assert_int_equal(download(f, out, NULL, &o, &e), 0);
    unsetenv("TZ");
    assert_non_null(strstr(e, "as local times of 'UTC' (this machine's zone; "
                              "--opt tz=ZONE to change)"));
    free(o);
    free(e);
    expect_in(out, "team/proj/CLS-123/metrics/train%2Floss/data.jsonl",
              "\"step\":0.1,\"timestamp\":1767326645.123}}");
    expect_in(out, "team/proj/CLS-123/experiment.json", "{\"csv_time_zone\":\"UTC\"}");
    char *bad = xp_path_join(f->tmp, "bad");
    assert_int_not_equal(download(f, bad, "../../etc/passwd", &o, &e), 0);
    assert_non_null(strstr(e, "time zone '../../etc/passwd' is not an IANA zone name"));
    free(o);
    free(e);
    assert_int_not_equal(download(f, bad, "Mars/Olympus", &o, &e), 0);
    assert_non_null(strstr(e, "unknown time zone 'Mars/Olympus'"));
    free(o);
    free(e);
    free(bad);
    free(out);
}

static void verify_copy_rerun(void **state)
{
    struct fx *f = *state;
    char *o, *e, *a = xp_path_join(f->tmp, "a"), *b = xp_path_join(f->tmp, "b");
    assert_int_equal(download(f, a, "Europe/Warsaw", &o, &e), 0);
    free(o);
    free(e);
    assert_int_equal(download(f, b, "Europe/Warsaw", &o, &e), 0);
    free(o);
    free(e);
    const char *v[] = {"verify", a, b, NULL};
    assert_int_equal(tu_run_xport(&o, &e, v), 0);
    free(o);
    free(e);
    struct xp_buf src = XP_BUF_INIT, ml = XP_BUF_INIT;
    xp_buf_printf(&src, "neptune-backup:%s", f->root);
    const char *v2[] = {"verify", "--opt", "tz=Europe/Warsaw", src.ptr, a, NULL};
    assert_int_equal(tu_run_xport(&o, &e, v2), 0);
    free(o);
    free(e);
    xp_buf_printf(&ml, "mldash-local:%s/ml", f->tmp);
    const char *c[] = {"copy", "--ignore", "system", a, ml.ptr, NULL};
    assert_int_equal(tu_run_xport(&o, &e, c), 0);
    assert_non_null(strstr(o, "3 copied, 0 skipped, 0 failed (of 3)"));
    free(o);
    free(e);
    assert_int_equal(tu_run_xport(&o, &e, c), 0);
    assert_non_null(strstr(o, "0 copied, 3 skipped, 0 failed (of 3)"));
    free(o);
    free(e);
    int before = tu_count_files(a);
    assert_int_equal(download(f, a, "Europe/Warsaw", &o, &e), 0);
    assert_non_null(strstr(o, "0 downloaded, 3 skipped"));
    free(o);
    free(e);
    assert_int_equal(tu_count_files(a), before);
    xp_buf_release(&src);
    xp_buf_release(&ml);
    free(a);
    free(b);
}

/* A link inside a run folder is never followed out of it. */
static void no_escape(void **state)
{
    struct fx *f = *state;
    char *o, *e, *out = xp_path_join(f->tmp, "esc");
    assert_int_equal(tu_sh("ln -s /etc/passwd '%s/team/proj/CLS-123/stolen.txt' && "
                           "ln -s / '%s/team/proj/CLS-123/rootdir'", f->root, f->root), 0);
    assert_int_equal(download(f, out, "UTC", &o, &e), 3);
    assert_non_null(strstr(e, "stolen.txt' is not a regular file"));
    free(o);
    free(e);
    assert_int_equal(tu_sh("test ! -e '%s/team/proj/CLS-123'", out), 0);
    const char *argv[] = {"download", "--from", "neptune-backup", f->root, "-o", out,
                          "--opt", "tz=UTC", "--allow-partial", NULL};
    assert_int_equal(tu_run_xport(&o, &e, argv), 0);
    free(o);
    free(e);
    assert_int_equal(tu_sh("test -d '%s/team/proj/CLS-123/files' && "
                           "! grep -rq root: '%s' && test ! -e '%s/team/proj/CLS-123/files/stolen.txt'",
                           out, out, out), 0);
    assert_int_equal(tu_sh("rm '%s/team/proj/CLS-123/stolen.txt' '%s/team/proj/CLS-123/rootdir'",
                           f->root, f->root), 0);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_values),
        cmocka_unit_test(local_zone),
        cmocka_unit_test(verify_copy_rerun),
        cmocka_unit_test(no_escape),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
