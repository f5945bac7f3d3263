/* The neptune-offline adapter through the CLI, on .neptune folders written
 * by tests/neptune/gen_neptune.py the way neptune-client 1.x writes them:
 * exact values, incomplete runs, the folder structures, two reads equal,
 * copies into mldash-local and a layout without duplicates on a rerun, and
 * hostile names kept inside the output root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "xport/buf.h"
#include "xport/fs.h"

#define FULL "3f1c2a9e-5b7d-4e21-9c33-0a1b2c3d4e5f"
#define ASYNC "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d"
#define TORN "b0b0b0b0-1111-4222-8333-944445555666"
#define GONE "c0c0c0c0-1111-4222-8333-944445555666"
#define LEGACY "d0d0d0d0-1111-4222-8333-944445555666"
#define RESUMED "e0e0e0e0-1111-4222-8333-944445555666"
#define WINDOWS "f0f0f0f0-1111-4222-8333-944445555666"

struct fx {
    char *tmp, *src, *out;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->tmp = tu_mkdtemp();
    f->src = xp_path_join(f->tmp, "job");
    f->out = xp_path_join(f->tmp, "out");
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
    free(f->out);
    free(f);
    return 0;
}

static int run(char **o, char **e, const char *const *argv)
{
    int code = tu_run_xport(o, e, argv);
    if (getenv("NPT_TEST_VERBOSE"))
        print_message("stdout:\n%s\nstderr:\n%s\n", *o, *e);
    return code;
}

static char *slurp_in(const char *dir, const char *rel)
{
    char *p = xp_path_join(dir, rel);
    char *s = tu_slurp(p);
    if (!s)
        print_message("missing: %s\n", p);
    free(p);
    return s;
}

static void expect_in(const char *dir, const char *rel, const char *needle)
{
    char *s = slurp_in(dir, rel);
    assert_non_null(s);
    if (!strstr(s, needle))
        print_message("'%s' lacks: %s\n", rel, needle);
    assert_non_null(strstr(s, needle));
    free(s);
}

static int download(struct fx *f, const char *out, int partial, char **o, char **e)
{
    const char *argv[] = {"download", "--from", "neptune-offline", f->src, "-o", out,
                          "--opt", "project=ws/proj", partial ? "--allow-partial" : NULL,
                          NULL};
    return run(o, e, argv);
}

/* Every value of the full run, with its exact type and bits. */
static void exact_values(void **state)
{
    struct fx *f = *state;
    char *o, *e;
    /* three runs are incomplete: named, and the exit code says so */
    assert_int_equal(download(f, f->out, 0, &o, &e), 3);
    assert_non_null(strstr(e, "run '" TORN "' in '"));
    assert_non_null(strstr(e, "data-1.log' (bytes 255-345) is cut off "
                              "(--allow-partial keeps what is there)"));
    assert_non_null(strstr(e, "is incomplete: file 'data/raw' (/nonexistent/job/raw.npy) "
                              "is not on this machine"));
    assert_non_null(strstr(e, "operations 1-2 of '"));
    assert_non_null(strstr(e, "warning: run '" FULL "': 3 file(s) read from this machine "
                              "by the absolute paths the run names (first: '"));
    assert_non_null(strstr(e, "are not in the folder (sent to the server and removed, "
                              "as last_ack_version says)"));
    free(o);
    free(e);
    char *run = xp_path_join(f->out, "ws/proj/" FULL);
    /* 2.0 stays a float and 2 an int; datetimes in UTC; the copy resolved */
    expect_in(run, "parameters.json", "\"x\":2.0,\"x_copy\":2.0,");
    expect_in(run, "parameters.json", "\"n\":2,");
    expect_in(run, "parameters.json", "\"lr\":0.1,");
    expect_in(run, "parameters.json", "\"tiny\":1e-06,");
    expect_in(run, "parameters.json", "\"when\":\"2026-01-02T03:04:05.123Z\"");
    expect_in(run, "parameters.json", "\"ünï\":{\"κλειδί\":\"välue ✓\"}");
    expect_in(run, "parameters.json", "\"data\":{\"labels\":[\"a\",\"c\"]}");
    expect_in(run, "parameters.json", "\"..\":{\"..\":{\"escape_param\":\"kept\"}}");
    char *p = slurp_in(run, "parameters.json");
    assert_null(strstr(p, "gone")); /* DeleteAttribute */
    assert_null(strstr(p, "\"sys\""));
    const char *l = strstr(p, "\"long\":\"");
    assert_non_null(l);
    l += 8;
    assert_int_equal(strcspn(l, "\""), 100000);
    free(p);
    /* the sys namespace is experiment metadata */
    expect_in(run, "experiment.json", "\"description\":\"edge values\"");
    expect_in(run, "experiment.json", "\"tags\":[\"slurm\",\"ünïcode\"]");
    expect_in(run, "experiment.json", "\"status\":\"FAILED\"");
    expect_in(run, "experiment.json", "\"created_at\":\"2026-01-02T03:04:05.250000Z\"");
    expect_in(run, "experiment.json", "\"name\":\"edge-run\"");
    expect_in(run, "experiment.json", "\"parameters/when\":\"datetime\"");
    expect_in(run, "experiment.json", "\"hash\":\"aaaaaaaa");
    /* steps as given (decimals), timestamps int(ts*1000) as `neptune sync` */
    expect_in(run, "metrics/train%2Floss/data.jsonl",
              "{\"index\":0,\"data\":{\"value\":2.0,\"step\":0.1,\"timestamp\":1767323045.123}}\n"
              "{\"index\":1,\"data\":{\"value\":1.5,\"step\":0.2,\"timestamp\":1767323046.123}}\n"
              "{\"index\":2,\"data\":{\"value\":0.25,\"step\":0.30000000000000004,"
              "\"timestamp\":1767323047.123}}\n");
    expect_in(run, "metrics/train%2Ffine/data.jsonl", "\"step\":1e-06,");
    expect_in(run, "metrics/train%2Ffine/data.jsonl", "\"step\":2e-06,");
    expect_in(run, "metrics/edge%2Fnonfinite/data.jsonl",
              "{\"value\":NaN,\"step\":0.0,");
    expect_in(run, "metrics/edge%2Fnonfinite/data.jsonl", "{\"value\":Infinity,");
    expect_in(run, "metrics/edge%2Fnonfinite/data.jsonl", "{\"value\":-Infinity,");
    expect_in(run, "metrics/train%2Fnostep/data.jsonl",
              "{\"index\":0,\"data\":{\"value\":7.0,\"timestamp\":1767323045.123}}\n");
    /* cleared and logged again: only what followed the clear */
    expect_in(run, "metrics/train%2Facc/data.jsonl",
              "{\"index\":0,\"data\":{\"value\":0.75,\"step\":1.0,");
    expect_in(run, "metrics/train%2Facc/metadata.json",
              "\"config\":{\"min\":0.0,\"max\":1.0,\"unit\":\"%\"}");
    expect_in(run, "metrics/train%2Fempty/metadata.json", "\"totalDataPoints\":0");
    expect_in(run, "metrics/many%2Fpoints/data.jsonl",
              "{\"index\":249,\"data\":{\"value\":249.0,\"step\":249.0,");
    expect_in(run, "metrics/notes/data.jsonl", "{\"value\":\"second ✓\",");
    expect_in(run, "system/monitoring%2F0a1b2c3d%2Fcpu/data.jsonl",
              "{\"index\":1,\"data\":{\"value\":13.0,\"timestamp\":1767323050.123}}");
    /* console output in time order */
    expect_in(run, "logs/logs.jsonl",
              "{\"sequenceNumber\":0,\"timestamp\":\"2026-01-02T03:04:05.123Z\","
              "\"stream\":\"stdout\",\"message\":\"hello\\n\"");
    expect_in(run, "logs/logs.jsonl",
              "{\"sequenceNumber\":2,\"timestamp\":\"2026-01-02T03:04:07.123Z\","
              "\"stream\":\"stderr\",\"message\":\"warning: x\\n\"");
    /* files: upload_path/, an absolute path, base64 content, an image,
     * a file set matched on this machine */
    assert_int_equal(tu_sh("printf '\\000\\001model-bytes\\377' | cmp -s - "
                           "'%s/files/artifacts/model.bin'", run), 0);
    expect_in(run, "files/results.csv", "a,b\n1,2\n");
    expect_in(run, "files/docs/readme.txt", "read me\n");
    expect_in(run, "files/source_code/files/train.py", "print('hello')\n");
    expect_in(run, "files/source_code/files/pkg/util.py", "X = 1\n");
    expect_in(run, "files.jsonl", "{\"path\":\"images/sample/0.png\",\"size\":67,");
    expect_in(run, "files.jsonl", "\"step\":3.0,\"timestamp\":1767323045.123,"
                                  "\"name\":\"grey\",\"description\":\"one pixel\"");
    free(run);
    /* a run resumed twice: folders replayed in createdAt order */
    expect_in(f->out, "ws/proj/" RESUMED "/parameters.json", "{\"attempt\":2}");
    expect_in(f->out, "ws/proj/" RESUMED "/metrics/m/data.jsonl",
              "{\"index\":1,\"data\":{\"value\":1.0,\"step\":1.0,");
    expect_in(f->out, "ws/proj/" LEGACY "/parameters.json", "{\"legacy\":1}");
    /* lines ending in \r\n (text mode on Windows) */
    expect_in(f->out, "ws/proj/" WINDOWS "/parameters.json", "{\"win\":1}");
    expect_in(f->out, "ws/proj/" WINDOWS "/files/notes/win.txt", "crlf\n");
}

/* --allow-partial keeps what is intact and still names what is not. */
static void allow_partial(void **state)
{
    struct fx *f = *state;
    char *o, *e, *out = xp_path_join(f->tmp, "partial");
    assert_int_equal(download(f, out, 1, &o, &e), 0);
    assert_non_null(strstr(e, "warning: run '" TORN "' in '"));
    assert_non_null(strstr(e, "is cut off; keeping what is there"));
    free(o);
    free(e);
    expect_in(out, "ws/proj/" TORN "/parameters.json", "{\"parameters\":{\"kept\":1}}");
    expect_in(out, "ws/proj/" TORN "/metrics/m/data.jsonl", "\"value\":1.0");
    expect_in(out, "ws/proj/" ASYNC "/parameters.json", "{\"parameters\":{\"b\":2.0}}");
    expect_in(out, "ws/proj/" GONE "/parameters.json", "{\"parameters\":{\"kept\":1}}");
    free(out);
}

/* Two reads give equal layouts; the adapter and its layout verify equal. */
static void verify_reads(void **state)
{
    struct fx *f = *state;
    char *o, *e, *a = xp_path_join(f->tmp, "a"), *b = xp_path_join(f->tmp, "b");
    assert_int_equal(download(f, a, 1, &o, &e), 0);
    free(o);
    free(e);
    assert_int_equal(download(f, b, 1, &o, &e), 0);
    free(o);
    free(e);
    const char *v1[] = {"verify", a, b, NULL};
    assert_int_equal(run(&o, &e, v1), 0);
    assert_non_null(strstr(o, "equal"));
    free(o);
    free(e);
    struct xp_buf loc = XP_BUF_INIT;
    xp_buf_printf(&loc, "neptune-offline:%s", f->src);
    const char *v2[] = {"verify", "--opt", "project=ws/proj", "--allow-partial",
                        loc.ptr, a, NULL};
    int code = run(&o, &e, v2);
    if (code)
        print_message("%s%s", o, e);
    assert_int_equal(code, 0);
    free(o);
    free(e);
    xp_buf_release(&loc);
    free(a);
    free(b);
}

/* Into mldash-local and into another layout; a rerun copies nothing twice. */
static void copies_and_reruns(void **state)
{
    struct fx *f = *state;
    char *o, *e, *lay = xp_path_join(f->tmp, "lay"), *lay2 = xp_path_join(f->tmp, "lay2");
    assert_int_equal(download(f, lay, 1, &o, &e), 0);
    free(o);
    free(e);
    struct xp_buf ml = XP_BUF_INIT;
    xp_buf_printf(&ml, "mldash-local:%s/ml", f->tmp);
    const char *c1[] = {"copy", "--ignore", "system", lay, ml.ptr, NULL};
    assert_int_equal(run(&o, &e, c1), 0);
    assert_non_null(strstr(o, "8 copied, 0 skipped, 0 failed (of 8)"));
    free(o);
    free(e);
    assert_int_equal(run(&o, &e, c1), 0);
    assert_non_null(strstr(o, "0 copied, 8 skipped, 0 failed (of 8)"));
    free(o);
    free(e);
    /* straight from the folders into a layout, twice */
    const char *d1[] = {"download", "--from", "neptune-offline", f->src, "-o", lay2,
                        "--opt", "project=ws/proj", "--allow-partial", NULL};
    assert_int_equal(run(&o, &e, d1), 0);
    free(o);
    free(e);
    int before = tu_count_files(lay2);
    assert_int_equal(run(&o, &e, d1), 0);
    assert_non_null(strstr(o, "0 downloaded, 8 skipped"));
    free(o);
    free(e);
    assert_int_equal(tu_count_files(lay2), before);
    const char *v[] = {"verify", lay, lay2, NULL};
    assert_int_equal(run(&o, &e, v), 0);
    free(o);
    free(e);
    xp_buf_release(&ml);
    free(lay);
    free(lay2);
}

/* "../" in attribute paths and a run id of ".." stay inside the root. */
static void hostile_names(void **state)
{
    struct fx *f = *state;
    char *o, *e, *out = xp_path_join(f->tmp, "h/out");
    assert_int_equal(download(f, out, 1, &o, &e), 0);
    free(o);
    free(e);
    /* nothing but the layout under h/, nothing new next to the job */
    assert_int_equal(tu_sh("cd '%s/h' && test \"$(ls -A)\" = out", f->tmp), 0);
    assert_int_equal(tu_sh("cd '%s' && test \"$(ls -A | tr '\\n' ' ')\" = "
                           "'.neptune backup results.csv src '", f->src), 0);
    expect_in(out, "ws/proj/" FULL "/files/%2E%2E/%2E%2E/escape.txt", "nope\n");
    expect_in(out, "ws/proj/%2E%2E/experiment.json", "\"name\":\"..\"");
    assert_int_equal(tu_sh("test -d '%s/ws/proj/%%2E%%2E/metrics/%%2E.%%2F..%%2F..%%2Fm'",
                           out), 0);
    free(out);
}

/* An upload_path/ entry that is a link is not followed. */
static void upload_link(void **state)
{
    struct fx *f = *state;
    char *o, *e, *out = xp_path_join(f->tmp, "link");
    const char *up = ".neptune/offline/run__" FULL "__4242__k3j5x9q2/upload_path/"
                     "artifacts_model-1767323045.25-2026-01-02_03.04.05.250000.bin";
    assert_int_equal(tu_sh("cd '%s' && mv '%s' saved && ln -s /etc/passwd '%s'", f->src,
                           up, up), 0);
    const char *argv[] = {"download", "--from", "neptune-offline", f->src, "-o", out,
                          "--opt", "project=ws/proj", "--experiment", FULL, NULL};
    assert_int_not_equal(run(&o, &e, argv), 0);
    assert_non_null(strstr(e, "file 'artifacts/model' ("));
    assert_non_null(strstr(e, "is not on this machine or not a regular file"));
    free(o);
    free(e);
    assert_int_equal(tu_sh("cd '%s' && rm '%s' && mv saved '%s'", f->src, up, up), 0);
    assert_int_equal(tu_sh("! grep -rq root: '%s'", out), 0);
    free(out);
}

/* The project is required; a wrong one is refused. */
static void needs_project(void **state)
{
    struct fx *f = *state;
    char *o, *e, *out = xp_path_join(f->tmp, "np");
    unsetenv("NEPTUNE_PROJECT");
    const char *a1[] = {"download", "--from", "neptune-offline", f->src, "-o", out, NULL};
    assert_int_not_equal(run(&o, &e, a1), 0);
    assert_non_null(strstr(e, "--opt project=WORKSPACE/PROJECT"));
    free(o);
    free(e);
    const char *a2[] = {"download", "--from", "neptune-offline", f->src, "-o", out,
                        "--opt", "project=a/b/c", NULL};
    assert_int_not_equal(run(&o, &e, a2), 0);
    assert_non_null(strstr(e, "project 'a/b/c' is not WORKSPACE/PROJECT"));
    free(o);
    free(e);
    /* NEPTUNE_PROJECT, as `neptune sync` reads it */
    setenv("NEPTUNE_PROJECT", "team/exp", 1);
    const char *a3[] = {"download", "--from", "neptune-offline", f->src, "-o", out,
                        "--allow-partial", "--experiment", LEGACY, NULL};
    assert_int_equal(run(&o, &e, a3), 0);
    unsetenv("NEPTUNE_PROJECT");
    free(o);
    free(e);
    expect_in(out, "team/exp/" LEGACY "/parameters.json", "legacy");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_values),
        cmocka_unit_test(allow_partial),
        cmocka_unit_test(verify_reads),
        cmocka_unit_test(copies_and_reruns),
        cmocka_unit_test(hostile_names),
        cmocka_unit_test(upload_link),
        cmocka_unit_test(needs_project),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
