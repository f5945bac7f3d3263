/* The neptune-scale adapter through the CLI, on run_operations.sqlite3
 * databases written by tests/neptune/gen_neptune_scale.py the way Neptune's
 * 3.x client writes them: every value checked bit for bit against the
 * script's record, a run killed mid-write read from its WAL, the user's
 * folders left untouched, acknowledged rows and missing files named, an
 * unknown version, a corrupt page and a bad protobuf length refused
 * clearly, and two reads equal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "xport/buf.h"
#include "xport/fs.h"

struct fx {
    char *tmp, *src, *out, *gen, *snap;
};

/* Every entry under the fixtures with its size, mtime and mode. */
static int snapshot(const struct fx *f, const char *to)
{
    return tu_sh("cd '%s' && find . -printf '%%p %%s %%T@ %%m %%y\\n' | LC_ALL=C sort > '%s'",
                 f->src, to);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->tmp = tu_mkdtemp();
    f->src = xp_path_join(f->tmp, "fx");
    f->out = xp_path_join(f->tmp, "out");
    f->snap = xp_path_join(f->tmp, "before.txt");
    f->gen = tu_src("tests/neptune/gen_neptune_scale.py");
    int rc = tu_sh("'%s' '%s' gen '%s'", XPORT_PYTHON, f->gen, f->src);
    if (!rc)
        rc = snapshot(f, f->snap);
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
    free(f->gen);
    free(f->snap);
    free(f);
    return 0;
}

static int run(char **o, char **e, const char *const *argv)
{
    int code = tu_run_xport(o, e, argv);
    if (getenv("NPS_TEST_VERBOSE"))
        print_message("stdout:\n%s\nstderr:\n%s\n", *o, *e);
    return code;
}

static char *sub(const struct fx *f, const char *rel)
{
    return xp_path_join(f->src, rel);
}

static void expect_in(const char *dir, const char *rel, const char *needle)
{
    char *p = xp_path_join(dir, rel);
    char *s = tu_slurp(p);
    if (!s)
        print_message("missing: %s\n", p);
    assert_non_null(s);
    if (!strstr(s, needle))
        print_message("'%s' lacks: %s\n", rel, needle);
    assert_non_null(strstr(s, needle));
    free(s);
    free(p);
}

/* Nothing under the fixtures was created, removed or modified. */
static void unchanged(const struct fx *f)
{
    char *after = xp_path_join(f->tmp, "after.txt");
    assert_int_equal(snapshot(f, after), 0);
    int same = tu_sh("cmp -s '%s' '%s'", f->snap, after);
    if (same)
        tu_sh("diff '%s' '%s' >&2", f->snap, after);
    assert_int_equal(same, 0);
    free(after);
}

static int download(const char *path, const char *out, int partial, char **o, char **e)
{
    const char *argv[] = {"download", "--from", "neptune-scale", path, "-o", out,
                          partial ? "--allow-partial" : NULL, NULL};
    return run(o, e, argv);
}

/* Every value against the script's record; the killed run from its WAL. */
static void exact_values(void **state)
{
    struct fx *f = *state;
    char *o, *e, *good = sub(f, "good");
    /* the killed run's rows are in its -wal alone */
    assert_int_equal(tu_sh("test -s '%s'/.neptune/ws_proj_killed-run_1767323047000000003/"
                           "run_operations.sqlite3-wal", good), 0);
    assert_int_equal(download(good, f->out, 0, &o, &e), 0);
    /* the images came from outside the run folder: counted and named */
    assert_non_null(strstr(e, "warning: run 'edge-run': 2 file(s) read from this "
                              "machine by the absolute paths the run names (first: '"));
    free(o);
    free(e);
    assert_int_equal(tu_sh("'%s' '%s' check '%s' '%s'", XPORT_PYTHON, f->gen, f->src,
                           f->out), 0);
    /* a few of the edges, spelled out */
    char *run = xp_path_join(f->out, "ws/proj/edge-run");
    expect_in(run, "parameters.json", "\"max_int\":9223372036854775807,");
    expect_in(run, "parameters.json", "\"neg_zero\":-0.0,");
    expect_in(run, "parameters.json", "\"when\":\"2026-01-02T03:04:05.123456001Z\"");
    expect_in(run, "metrics/train%2Floss/data.jsonl",
              "{\"index\":0,\"data\":{\"value\":NaN,\"step\":0.1,"
              "\"timestamp\":1767323055.000001},\"createdAt\":"
              "\"2026-01-02T03:04:15.000000953Z\"}");
    expect_in(run, "metrics/train%2Floss/data.jsonl",
              "\"step\":1099511627779.1235,\"step_decimal\":\"1099511627779.123457\"");
    expect_in(run, "metrics/train%2Floss/data.jsonl",
              "\"preview\":true,\"completion_ratio\":0.5");
    expect_in(run, "metrics/hist%2Fdens/data.jsonl",
              "{\"type\":\"histogram\",\"edges\":[-Infinity,0.0,Infinity],"
              "\"densities\":[0.25,-0.0]}");
    expect_in(run, "experiment.json", "\"experiment_id\":\"edge experiment\"");
    expect_in(f->out, "ws/proj/fork-run/experiment.json",
              "\"fork_point\":{\"parent_project\":\"ws/proj\",\"parent_run_id\":"
              "\"edge-run\",\"step\":\"3.5\"}");
    expect_in(f->out, "ws/proj/killed-run/parameters.json", "{\"parameters\":{\"last\":4}}");
    free(run);
    free(good);
    unchanged(f);
}

/* The checker fails on a value one bit off (so the check above can fail). */
static void checker_fails(void **state)
{
    struct fx *f = *state;
    char *o, *e, *out = xp_path_join(f->tmp, "mut"), *good = sub(f, "good");
    assert_int_equal(download(good, out, 0, &o, &e), 0);
    free(o);
    free(e);
    assert_int_equal(tu_sh("sed -i 's/\"value\":-0.0,\"step\":7.0/\"value\":0.0,\"step\":7.0/' "
                           "'%s/ws/proj/edge-run/metrics/train%%2Floss/data.jsonl'", out), 0);
    assert_int_not_equal(tu_sh("'%s' '%s' check '%s' '%s' >/dev/null", XPORT_PYTHON,
                               f->gen, f->src, out), 0);
    free(out);
    free(good);
}

/* Acknowledged (deleted) rows and a file no longer on disk are named; the
 * exit code says so; --allow-partial keeps the rest. */
static void incomplete(void **state)
{
    struct fx *f = *state;
    char *o, *e, *acked = sub(f, "acked"), *gone = sub(f, "gone");
    char *a = xp_path_join(f->tmp, "acked-out"), *g = xp_path_join(f->tmp, "gone-out");
    assert_int_equal(download(acked, a, 0, &o, &e), 1);
    assert_non_null(strstr(e, "run 'acked-run' in '"));
    assert_non_null(strstr(e, "is incomplete: operations 1-3 were acknowledged by "
                              "Neptune and removed from the database"));
    free(o);
    free(e);
    assert_int_equal(download(acked, a, 1, &o, &e), 0);
    free(o);
    free(e);
    /* rows 4-7: the points of steps 2..5 */
    expect_in(a, "ws/proj/acked-run/metrics/m/data.jsonl",
              "{\"index\":0,\"data\":{\"value\":2.0,\"step\":2.0,");
    expect_in(a, "ws/proj/acked-run/metrics/m/data.jsonl",
              "{\"index\":3,\"data\":{\"value\":5.0,\"step\":5.0,");
    expect_in(a, "ws/proj/acked-run/experiment.json", "\"first_sequence_id\":4");
    assert_int_equal(download(gone, g, 0, &o, &e), 1);
    assert_non_null(strstr(e, "file 'data/raw' (/nonexistent/job/raw.npy) is not on "
                              "this machine"));
    free(o);
    free(e);
    assert_int_equal(download(gone, g, 1, &o, &e), 0);
    free(o);
    free(e);
    expect_in(g, "ws/proj/gone-run/parameters.json", "{\"parameters\":{\"kept\":1}}");
    free(acked);
    free(gone);
    free(a);
    free(g);
    unchanged(f);
}

/* Inputs xport cannot read: a clear error naming the file and the place. */
static void refused(void **state)
{
    struct fx *f = *state;
    char *o, *e, *out = xp_path_join(f->tmp, "bad");
    char *p = sub(f, "badver");
    assert_int_not_equal(download(p, out, 1, &o, &e), 0);
    assert_non_null(strstr(e, "/badver/ws_proj_badver-run_1767323050000000006/"
                              "run_operations.sqlite3' is a neptune-scale database "
                              "of version 'v9'; only version 'v5' is known"));
    free(o);
    free(e);
    free(p);
    p = sub(f, "corrupt");
    assert_int_not_equal(download(p, out, 1, &o, &e), 0);
    assert_non_null(strstr(e, "/corrupt/ws_proj_corrupt-run_1767323051000000007/"
                              "run_operations.sqlite3' (table run_operations"));
    assert_non_null(strstr(e, "malformed"));
    free(o);
    free(e);
    free(p);
    p = sub(f, "badpb");
    assert_int_not_equal(download(p, out, 1, &o, &e), 0);
    assert_non_null(strstr(e, "run_operations.sqlite3': run_operations row "
                              "sequence_id 3 is damaged: UpdateRunSnapshot is not a "
                              "valid message (the field at byte 4 of 12 runs past "
                              "its end)"));
    free(o);
    free(e);
    free(p);
    /* not a database at all */
    char *junk = xp_path_join(f->tmp, "junk");
    assert_int_equal(tu_sh("mkdir -p '%s/r' && head -c 5000 /dev/urandom > "
                           "'%s/r/run_operations.sqlite3'", junk, junk), 0);
    assert_int_not_equal(download(junk, out, 1, &o, &e), 0);
    assert_non_null(strstr(e, "/r/run_operations.sqlite3'"));
    free(o);
    free(e);
    free(junk);
    free(out);
    unchanged(f);
}

/* One unreadable run among good ones fails alone, named; the others are
 * converted (exit 3: partial). */
static void mixed(void **state)
{
    struct fx *f = *state;
    char *o, *e, *mix = xp_path_join(f->tmp, "mixed"), *out = xp_path_join(f->tmp, "mixed-out");
    assert_int_equal(tu_sh("mkdir -p '%s/.neptune' && cp -r '%s'/good/.neptune/ws_proj_fork-run_* "
                           "'%s'/badver/ws_proj_* '%s'/corrupt/ws_proj_* '%s/.neptune/'",
                           mix, f->src, f->src, f->src, mix), 0);
    assert_int_equal(download(mix, out, 0, &o, &e), 3);
    assert_non_null(strstr(e, "failed: unknown/unknown/ws_proj_badver-run_1767323050000000006: '"));
    assert_non_null(strstr(e, "is a neptune-scale database of version 'v9'"));
    assert_non_null(strstr(e, "failed: ws/proj/corrupt-run: cannot read '"));
    free(o);
    free(e);
    expect_in(out, "ws/proj/fork-run/metrics/train%2Floss/data.jsonl", "\"step\":3.6,");
    free(mix);
    free(out);
}

/* Two reads give equal layouts; the adapter and its layout verify equal. */
static void verify_reads(void **state)
{
    struct fx *f = *state;
    char *o, *e, *good = sub(f, "good");
    char *a = xp_path_join(f->tmp, "va"), *b = xp_path_join(f->tmp, "vb");
    assert_int_equal(download(good, a, 0, &o, &e), 0);
    free(o);
    free(e);
    assert_int_equal(download(good, b, 0, &o, &e), 0);
    free(o);
    free(e);
    const char *v1[] = {"verify", a, b, NULL};
    assert_int_equal(run(&o, &e, v1), 0);
    assert_non_null(strstr(o, "equal"));
    free(o);
    free(e);
    struct xp_buf loc = XP_BUF_INIT;
    xp_buf_printf(&loc, "neptune-scale:%s", good);
    const char *v2[] = {"verify", loc.ptr, a, NULL};
    int code = run(&o, &e, v2);
    if (code)
        print_message("%s%s", o, e);
    assert_int_equal(code, 0);
    free(o);
    free(e);
    xp_buf_release(&loc);
    free(a);
    free(b);
    free(good);
    unchanged(f);
}

/* PATH may be one run folder or its database. */
static void one_run(void **state)
{
    struct fx *f = *state;
    char *o, *e, *out = xp_path_join(f->tmp, "one");
    char *p = sub(f, "good/.neptune/ws_proj_fork-run_1767323046000000002");
    assert_int_equal(download(p, out, 0, &o, &e), 0);
    free(o);
    free(e);
    expect_in(out, "ws/proj/fork-run/metrics/train%2Floss/data.jsonl", "\"step\":3.6,");
    assert_int_equal(tu_count_data_files(out) > 0, 1);
    char *db = xp_path_join(p, "run_operations.sqlite3");
    char *out2 = xp_path_join(f->tmp, "one2");
    assert_int_equal(download(db, out2, 0, &o, &e), 0);
    free(o);
    free(e);
    expect_in(out2, "ws/proj/fork-run/metrics/train%2Floss/data.jsonl", "\"step\":3.6,");
    free(db);
    free(out2);
    free(p);
    free(out);
}

/* A run folder moved to another machine: the bytes the client saved in
 * the run folder are found there by name, whatever source_path says; PATH
 * may be the bare database name. */
static void moved_run(void **state)
{
    struct fx *f = *state;
    char *mv = xp_path_join(f->tmp, "moved"), *out = xp_path_join(f->tmp, "moved-out");
    char *py = xp_path_join(f->tmp, "move.py");
    /* the temporary file's source_path now names a folder this machine
     * does not have */
    tu_write(py, "import sqlite3, sys\n"
                 "c = sqlite3.connect(sys.argv[1])\n"
                 "for i, p in c.execute('SELECT id, source_path FROM file_upload_requests "
                 "WHERE is_temporary = 1').fetchall():\n"
                 "    c.execute('UPDATE file_upload_requests SET source_path = ? WHERE id = ?',\n"
                 "              ('/elsewhere/' + p.rsplit('/', 1)[1], i))\n"
                 "c.commit()\n");
    assert_int_equal(tu_sh("mkdir -p '%s' && cp -r '%s'/good/.neptune/ws_proj_edge-run_* '%s/run' "
                           "&& '%s' '%s' '%s/run/run_operations.sqlite3'",
                           mv, f->src, mv, XPORT_PYTHON, py, mv), 0);
    const char *bin = getenv("XPORT_BIN") ? getenv("XPORT_BIN") : XPORT_BINARY_DIR "/cmd/xport";
    assert_int_equal(tu_sh("cd '%s/run' && '%s' download --from neptune-scale "
                           "run_operations.sqlite3 -o '%s' >/dev/null 2>&1", mv, bin, out), 0);
    expect_in(out, "ws/proj/edge-run/files.jsonl",
              "\"source_path\":\"/elsewhere/00000000-0000-0000-0000-000000000001.bin\"");
    assert_int_equal(tu_sh("printf '\\000\\001model-bytes\\377' | cmp -s - "
                           "'%s/ws/proj/edge-run/files/artifacts/model.bin'", out), 0);
    free(py);
    free(mv);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_values),
        cmocka_unit_test(checker_fails),
        cmocka_unit_test(incomplete),
        cmocka_unit_test(refused),
        cmocka_unit_test(mixed),
        cmocka_unit_test(verify_reads),
        cmocka_unit_test(one_run),
        cmocka_unit_test(moved_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
