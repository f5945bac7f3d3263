/* The local adapter and the copy pipeline: ml-dash fixtures, a generated
 * layout full of edge values, bad input, and kill -9 followed by a rerun. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "gen_layout.h"
#include "testutil.h"
#include "xport/buf.h"
#include "xport/fs.h"
#include "xport/location.h"
#include "xport/sys/adapter.h"

static int run(char **out, char **err, const char *a0, const char *a1,
               const char *a2, const char *a3, const char *a4)
{
    const char *argv[] = {a0, a1, a2, a3, a4, NULL, NULL};
    return tu_run_xport(out, err, argv);
}

#define RUNV(o, e, ...) tu_run_xport(o, e, (const char *const[]){__VA_ARGS__, NULL})

static char *path2(const char *a, const char *b)
{
    return xp_path_join(a, b);
}

static void test_mldash_fixtures(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *out = path2(tmp, "out");
    char *s05 = tu_src("tests/fixtures/mldash/v0.5.9-local-store");
    char *s06 = tu_src("tests/fixtures/mldash/v0.6.27-local-store");
    char *err = NULL;
    assert_int_equal(run(NULL, &err, "copy", "-q", s05, out, NULL), 0);
    free(err);
    assert_int_equal(run(NULL, &err, "copy", "-q", s06, out, NULL), 0);
    free(err);
    /* v0.5.9: no owner, so workspace "local"; folder kept */
    char *ej = path2(out, "local/my-project/exp1/experiment.json");
    char *t = tu_slurp(ej);
    assert_non_null(t);
    assert_non_null(strstr(t, "\"folder\":\"/experiments/2024\""));
    assert_non_null(strstr(t, "\"description\":\"d\""));
    assert_non_null(strstr(t, "\"write_protected\":false"));
    free(t);
    free(ej);
    char *data = path2(out, "tom/my-project/exp1/metrics/loss/data.jsonl");
    t = tu_slurp(data);
    assert_non_null(t);
    assert_non_null(strstr(t, "{\"index\":1,\"data\":{\"value\":0.4,\"step\":1},"
                              "\"createdAt\":\"2026-11-23T10:16:45.132349Z\"}\n"));
    free(t);
    free(data);
    char *pj = path2(out, "tom/my-project/exp1/parameters.json");
    t = tu_slurp(pj);
    assert_string_equal(t, "{\"version\":1,\"data\":{\"model.lr\":0.001,\"model.layers\":50}}\n");
    free(t);
    free(pj);
    char *file = path2(out, "tom/my-project/exp1/files/models/ckpt.txt");
    t = tu_slurp(file);
    assert_string_equal(t, "hello");
    free(t);
    free(file);
    char *track = path2(out, "tom/my-project/exp1/tracks/robot%2Fpos/data.jsonl");
    t = tu_slurp(track);
    assert_string_equal(t, "{\"timestamp\":1.0,\"pos.x\":1,\"pos.y\":2}\n");
    free(t);
    free(track);
    /* each store equals its own copy in the layout */
    char *sel = path2(out, "tom");
    char *o = NULL;
    assert_int_equal(run(&o, &err, "verify", s06, sel, NULL, NULL), 0);
    assert_non_null(strstr(o, "equal"));
    free(o);
    free(err);
    free(sel);
    sel = path2(out, "local");
    assert_int_equal(run(&o, &err, "verify", s05, sel, NULL, NULL), 0);
    free(o);
    free(err);
    free(sel);
    /* a rerun skips what is there and changes nothing */
    assert_int_equal(run(&o, &err, "copy", "--json", s05, out, NULL), 0);
    assert_non_null(strstr(o, "\"skipped\":1"));
    free(o);
    free(err);
    tu_rmtree(tmp);
    free(tmp);
    free(out);
    free(s05);
    free(s06);
}

/* Read the edge series back through the adapter and check exact bits. */
static void check_edge_points(const char *root)
{
    struct xp_location loc;
    struct xp_ctx ctx = {0};
    xp_location_from(&loc, "local", root);
    struct xp_adapter *a;
    assert_int_equal(xp_adapter_open(&a, &loc, NULL, &ctx), 0);
    struct xp_buf dir = XP_BUF_INIT;
    xp_buf_printf(&dir, "%s/wörkspace/proj%%2Fwith%%2Fslash/exp ünï%%2F..%%2Fx", root);
    assert_true(xp_is_dir(dir.ptr));
    struct xp_experiment_ref ref = {"wörkspace", "proj/with/slash", "exp ünï/../x", dir.ptr, -1};
    struct xp_read_opts ro = {XP_RES_ALL, "train/loss"};
    struct xp_reader *r;
    assert_int_equal(a->type->read_experiment(&r, a, &ref, &ro), 0);
    const struct xp_record *rec;
    int64_t seen = 0;
    while (r->next(r, &rec) == 0) {
        if (rec->kind == XP_REC_EXPERIMENT) {
            assert_string_equal(rec->u.exp.name, "exp ünï/../x");
            assert_string_equal(rec->u.exp.source_id, "edge-1");
        }
        if (rec->kind != XP_REC_POINTS)
            continue;
        for (size_t i = 0; i < rec->u.points.n; i++, seen++) {
            const struct xp_point *p = &rec->u.points.v[i];
            assert_int_equal(p->index, seen);
            assert_int_equal(p->nfields, 3);
            const struct xp_value *v = &p->fields[0].v;
            uint64_t bits;
            switch (seen % 12) {
            case 0: assert_int_equal(v->type, XP_V_FLOAT); assert_true(isnan(v->u.d)); break;
            case 1: assert_true(v->type == XP_V_FLOAT && v->u.d == INFINITY); break;
            case 2: assert_true(v->type == XP_V_FLOAT && v->u.d == -INFINITY); break;
            case 3:
                memcpy(&bits, &v->u.d, 8);
                assert_true(v->type == XP_V_FLOAT && bits == 0x8000000000000000ull);
                break;
            case 4: assert_true(v->type == XP_V_FLOAT && v->u.d == 1e-300); break;
            case 5: assert_true(v->type == XP_V_INT && v->u.i == INT64_MAX); break;
            case 6: assert_true(v->type == XP_V_UINT && v->u.u == UINT64_MAX); break;
            case 7:
                assert_int_equal(v->type, XP_V_STRING);
                assert_memory_equal(v->u.s.ptr, "NaN", 3);
                break;
            case 8: assert_int_equal(v->type, XP_V_JSON); break;
            case 9: assert_true(v->type == XP_V_BOOL && v->u.b); break;
            case 10: assert_int_equal(v->type, XP_V_NULL); break;
            default: assert_true(v->type == XP_V_FLOAT && v->u.d == 5e-324); break;
            }
            assert_true(p->fields[1].v.type == XP_V_INT && p->fields[1].v.u.i == seen * 10);
            double ts = 1.7e9 + (double)seen * 0.001;
            assert_true(p->fields[2].v.type == XP_V_FLOAT &&
                        memcmp(&p->fields[2].v.u.d, &ts, 8) == 0);
        }
    }
    assert_int_equal(seen, 10000);
    r->free(r);
    xp_adapter_close(a);
    xp_location_release(&loc);
    xp_buf_release(&dir);
}

static void test_edge_roundtrip(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *a = path2(tmp, "a"), *b = path2(tmp, "b");
    assert_int_equal(gen_edge_layout(a, 10000), 0);
    check_edge_points(a);
    char *o = NULL, *err = NULL;
    assert_int_equal(run(&o, &err, "copy", "-q", a, b, NULL), 0);
    free(o);
    free(err);
    check_edge_points(b);
    assert_int_equal(run(&o, &err, "verify", a, b, NULL, NULL), 0);
    assert_non_null(strstr(o, "equal"));
    free(o);
    free(err);
    /* byte-identical output: the writer is deterministic */
    assert_int_equal(tu_sh("diff -r -x .xport '%s' '%s' >/dev/null", a, b), 0);
    /* a changed point is found and named */
    char *data = NULL;
    struct xp_buf p = XP_BUF_INIT;
    xp_buf_printf(&p, "%s/wörkspace/proj%%2Fwith%%2Fslash/exp ünï%%2F..%%2Fx/"
                      "metrics/train%%2Floss/data.jsonl", b);
    assert_int_equal(tu_sh("sed -i 's/\"value\":1e-300/\"value\":1e-299/' '%s'", p.ptr), 0);
    assert_int_equal(run(&o, &err, "verify", a, b, NULL, NULL), 1);
    assert_non_null(strstr(o, "metrics/train/loss differs: point 4 differs"));
    free(o);
    free(err);
    free(data);
    xp_buf_release(&p);
    tu_rmtree(tmp);
    free(tmp);
    free(a);
    free(b);
}

static void test_bad_input(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *src = path2(tmp, "src"), *dst = path2(tmp, "dst");
    assert_int_equal(gen_many_layout(src, 4, 100), 0);
    /* run-001: corrupt line; run-002: experiment.json without project;
     * run-003: manifest escaping the root; run-004 stays good */
    assert_int_equal(tu_sh("sed -i '50s/.*/{\"index\": 49, \"data\": {\"value\": 1.0/' "
                           "'%s/ws/proj/run-001/metrics/loss/data.jsonl'", src), 0);
    char *ej = NULL;
    struct xp_buf p = XP_BUF_INIT;
    xp_buf_printf(&p, "%s/ws/proj/run-002/experiment.json", src);
    tu_write(p.ptr, "{\"name\": \"run-002\", ");
    xp_buf_reset(&p);
    xp_buf_printf(&p, "%s/ws/proj/run-003/files.jsonl", src);
    tu_write(p.ptr, "{\"path\":\"../../../../etc/passwd\",\"size\":1,\"sha256\":\"00\"}\n");
    char *o = NULL, *err = NULL;
    int code = run(&o, &err, "copy", src, dst, NULL, NULL);
    assert_int_equal(code, 3); /* partial: one copied, others failed */
    assert_non_null(strstr(err, "run-001/metrics/loss/data.jsonl' line 50"));
    assert_non_null(strstr(err, "run-002/experiment.json"));
    assert_non_null(strstr(err, "unsafe or missing path"));
    assert_non_null(strstr(o, "1 copied"));
    free(o);
    free(err);
    /* nothing outside the destination: tmp holds only src and dst */
    assert_int_equal(tu_sh("test -z \"$(ls -A '%s' | grep -v -x -e src -e dst)\"", tmp), 0);
    assert_int_equal(tu_sh("test ! -e '%s/ws/proj/run-001'", dst), 0);
    /* truncated tail: the last line cut mid-way */
    xp_buf_reset(&p);
    xp_buf_printf(&p, "%s/ws/proj/run-004/metrics/loss/data.jsonl", src);
    assert_int_equal(tu_sh("truncate -s -7 '%s'", p.ptr), 0);
    char *dst2 = path2(tmp, "dst2");
    code = run(&o, &err, "copy", "--experiment", "run-004", src, dst2);
    assert_int_equal(code, 1);
    assert_non_null(strstr(err, "line 100 is truncated"));
    free(o);
    free(err);
    /* invalid UTF-8 in a log message */
    xp_buf_reset(&p);
    xp_buf_printf(&p, "%s/ws/proj/run-004/metrics/loss/data.jsonl", src);
    unlink(p.ptr);
    xp_buf_reset(&p);
    xp_buf_printf(&p, "%s/ws/proj/run-004/logs/logs.jsonl", src);
    tu_write(p.ptr, "{\"sequenceNumber\":0,\"message\":\"bad \xff byte\"}\n");
    code = run(&o, &err, "copy", "--experiment", "run-004", src, dst2);
    assert_int_equal(code, 1);
    assert_non_null(strstr(err, "logs.jsonl' line 1"));
    free(o);
    free(err);
    /* an index that is not a whole number ("3x" was read as 3 once) */
    tu_write(p.ptr, "{\"sequenceNumber\":0,\"message\":\"ok\"}\n");
    xp_buf_reset(&p);
    xp_buf_printf(&p, "%s/ws/proj/run-004/metrics/loss/data.jsonl", src);
    tu_write(p.ptr, "{\"index\":\"3x\",\"data\":{\"value\":1.0}}\n");
    code = run(&o, &err, "copy", "--experiment", "run-004", src, dst2);
    assert_int_equal(code, 1);
    assert_non_null(strstr(err, "data.jsonl' line 1 has index '3x'"));
    free(o);
    free(err);
    /* refusing to write into a non-layout folder */
    char *junk = path2(tmp, "junk");
    xp_buf_reset(&p);
    xp_buf_printf(&p, "%s/precious.txt", junk);
    tu_write(p.ptr, "keep me");
    code = run(&o, &err, "copy", "--experiment", "run-00[34]", src, junk);
    assert_int_not_equal(code, 0);
    assert_non_null(strstr(err, "not an xport layout"));
    assert_int_equal(tu_sh("test \"$(ls -A '%s')\" = precious.txt", junk), 0);
    free(o);
    free(err);
    free(junk);
    free(dst2);
    free(ej);
    xp_buf_release(&p);
    tu_rmtree(tmp);
    free(tmp);
    free(src);
    free(dst);
}

/* kill -9 part-way, rerun: the same tree, nothing duplicated */
static void test_kill_and_rerun(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *src = path2(tmp, "src"), *dst = path2(tmp, "dst");
    assert_int_equal(gen_many_layout(src, 12, 40000), 0);
    const char *bin = getenv("XPORT_BIN");
    assert_non_null(bin);
    int killed_midway = 0;
    for (int attempt = 0; attempt < 5 && !killed_midway; attempt++) {
        pid_t pid = fork();
        if (pid == 0) {
            int fd = open("/dev/null", 1);
            dup2(fd, 1);
            dup2(fd, 2);
            execl(bin, bin, "copy", "-j", "1", src, dst, (char *)NULL);
            _exit(127);
        }
        /* wait until some but not all experiments are in place */
        for (int i = 0; i < 2000; i++) {
            int n = tu_sh("test $(ls '%s/ws/proj' 2>/dev/null | wc -l) -ge %d", dst,
                          2 + attempt);
            if (n == 0)
                break;
            usleep(2000);
        }
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        killed_midway = WIFSIGNALED(st) &&
                        tu_sh("test $(ls '%s/ws/proj' | wc -l) -lt 12", dst) == 0;
    }
    assert_true(killed_midway);
    char *o = NULL, *err = NULL;
    assert_int_equal(run(&o, &err, "copy", "-q", src, dst, NULL), 0);
    free(o);
    free(err);
    assert_int_equal(run(&o, &err, "verify", src, dst, NULL, NULL), 0);
    free(o);
    free(err);
    /* every series has exactly its points, once */
    assert_int_equal(tu_sh("for f in '%s'/ws/proj/*/metrics/loss/data.jsonl; do "
                           "test $(wc -l < \"$f\") -eq 40000 || exit 1; done", dst), 0);
    assert_int_equal(tu_sh("test -z \"$(ls -A '%s/.xport/staging')\"", dst), 0);
    assert_int_equal(tu_sh("test -z \"$(find '%s' -name '*.xport-tmp-*')\"", dst), 0);
    tu_rmtree(tmp);
    free(tmp);
    free(src);
    free(dst);
}

/* SIGINT: exit 130, only complete experiments in the tree, a rerun ends it */
static void test_interrupt(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *src = path2(tmp, "src"), *dst = path2(tmp, "dst");
    assert_int_equal(gen_many_layout(src, 8, 40000), 0);
    const char *bin = getenv("XPORT_BIN");
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", 1);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(bin, bin, "copy", "-j", "1", src, dst, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 3000; i++) {
        if (tu_sh("test $(ls '%s/ws/proj' 2>/dev/null | wc -l) -ge 1", dst) == 0)
            break;
        usleep(2000);
    }
    kill(pid, SIGINT);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 130);
    assert_int_equal(tu_sh("for d in '%s'/ws/proj/*; do test -f \"$d/experiment.json\" && "
                           "test $(wc -l < \"$d/metrics/loss/data.jsonl\") -eq 40000 || exit 1; done",
                           dst), 0);
    assert_int_equal(tu_sh("test -z \"$(ls -A '%s/.xport/staging')\"", dst), 0);
    char *o = NULL, *err = NULL;
    assert_int_equal(run(&o, &err, "copy", "-q", src, dst, NULL), 0);
    free(o);
    free(err);
    assert_int_equal(run(&o, &err, "verify", src, dst, NULL, NULL), 0);
    free(o);
    free(err);
    tu_rmtree(tmp);
    free(tmp);
    free(src);
    free(dst);
}

/* kill -9 inside one large experiment, then --resume: finished series and
 * files are kept, not copied again, and the result is exact */
static void test_item_resume(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp(), *src = path2(tmp, "src"), *dst = path2(tmp, "dst");
    assert_int_equal(gen_wide_layout(src, 8, 30000, 4), 0);
    const char *bin = getenv("XPORT_BIN");
    int killed_midway = 0;
    for (int attempt = 0; attempt < 5 && !killed_midway; attempt++) {
        xp_rm_rf(dst);
        pid_t pid = fork();
        if (pid == 0) {
            int fd = open("/dev/null", 1);
            dup2(fd, 1);
            dup2(fd, 2);
            execl(bin, bin, "copy", src, dst, (char *)NULL);
            _exit(127);
        }
        for (int i = 0; i < 3000; i++) {
            if (tu_sh("test $(cat '%s'/.xport/staging/*/.items.jsonl 2>/dev/null | wc -l) -ge %d",
                      dst, 2 + attempt) == 0)
                break;
            usleep(2000);
        }
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        char *final = path2(dst, "ws/proj/wide");
        killed_midway = WIFSIGNALED(st) && !xp_is_dir(final);
        free(final);
    }
    assert_true(killed_midway);
    char *o = NULL, *err = NULL;
    assert_int_equal(RUNV(&o, &err, "copy", "--resume", "--json", src, dst), 0);
    assert_non_null(strstr(o, "\"itemsResumed\":"));
    assert_null(strstr(o, "\"series\":8,")); /* not everything again */
    free(o);
    free(err);
    assert_int_equal(run(&o, &err, "verify", src, dst, NULL, NULL), 0);
    free(o);
    free(err);
    assert_int_equal(tu_sh("for f in '%s'/ws/proj/wide/metrics/*/data.jsonl; do "
                           "test $(wc -l < \"$f\") -eq 30000 || exit 1; done", dst), 0);
    assert_int_equal(tu_sh("test $(wc -l < '%s/ws/proj/wide/files.jsonl') -eq 4", dst), 0);
    assert_int_equal(tu_sh("test ! -e '%s/ws/proj/wide/.items.jsonl'", dst), 0);
    /* a second --resume finds the experiment done in the journal */
    assert_int_equal(RUNV(&o, &err, "copy", "--resume", "--json", src, dst), 0);
    assert_non_null(strstr(o, "done in an earlier run"));
    free(o);
    free(err);
    /* a journal of another copy is refused */
    char *other = path2(tmp, "other");
    assert_int_equal(tu_sh("mkdir -p '%s' && cp -r '%s' '%s/x'", other, src, other), 0);
    char *os = path2(other, "x");
    char *jdir = path2(dst, ".xport");
    char **names;
    size_t nn;
    assert_int_equal(xp_list_dir(&names, &nn, jdir), 0);
    char *jpath = NULL;
    for (size_t i = 0; i < nn; i++)
        if (!strncmp(names[i], "journal-", 8))
            jpath = path2(jdir, names[i]);
    xp_strv_free(names);
    assert_non_null(jpath);
    assert_int_equal(RUNV(&o, &err, "copy", "--resume", "--state-file", jpath, os, dst), 1);
    free(jpath);
    free(jdir);
    assert_non_null(strstr(err, "belongs to another copy"));
    free(o);
    free(err);
    free(os);
    free(other);
    tu_rmtree(tmp);
    free(tmp);
    free(src);
    free(dst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mldash_fixtures),
        cmocka_unit_test(test_edge_roundtrip),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_kill_and_rerun),
        cmocka_unit_test(test_interrupt),
        cmocka_unit_test(test_item_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
