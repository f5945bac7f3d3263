/* The cometx adapter: folders written the way `cometx download` writes them
 * (tests/comet/make_fixtures.py) read exactly, written so that reading them
 * again gives the same experiments, reruns, W&B and ml-dash sources,
 * hostile names on both sides, and memory that does not grow with a
 * series' length. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../../adapters/comet/comet_int.h"
#include "ctest.h"
#include "testutil.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/jscan.h"
#include "xport/json.h"
#include "xport/location.h"

#define EXP1 "ws-one/proj-\xce\xb1/0123456789abcdef0123456789abcdef"

static char *join(const char *a, const char *b)
{
    return xp_path_join(a, b);
}

static int run(char **err, const char *a1, const char *a2, const char *a3,
               const char *a4)
{
    const char *argv[] = {a1, a2, a3, a4, NULL};
    char *out = NULL;
    int rc = tu_run_xport(&out, err, argv);
    if (rc)
        print_message("xport %s %s %s: %d\n%s\n%s\n", a1, a2, a3 ? a3 : "", rc, out, *err);
    free(out);
    return rc;
}

static int verify(const char *a, const char *b)
{
    char *err = NULL;
    int rc = run(&err, "verify", a, b, NULL);
    free(err);
    return rc;
}

static int copy(const char *a, const char *b)
{
    char *err = NULL;
    int rc = run(&err, "copy", "-q", a, b);
    free(err);
    return rc;
}

static char *prefixed(const char *adapter, const char *path)
{
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "%s:%s", adapter, path);
    return xp_buf_detach(&b);
}

/* ---- reading ----------------------------------------------------------------- */

static void read_exact(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    assert_int_equal(ct_fixture("cometx", dir, NULL), 0);
    char *dump, *err;
    tu_pass(ct_dump(&dump, &err, "cometx", dir));
    /* names, times, tags; the Name other is the name */
    assert_true(ct_has(dump, "EXP ws-one/proj-\xce\xb1/run-\xc3\xa9 status=- desc=- "
                             "start=2023-11-14T22:13:20.000Z end=2023-11-14T22:14:20.000Z "
                             "src=comet:0123456789abcdef0123456789abcdef tags=a,\xc3\xbcml\n"));
    assert_true(ct_has(dump, "EXP ws-one/proj-\xce\xb1/fedcba9876543210fedcba9876543210 "
                             "status=RUNNING"));
    /* every edge value, from Java's and Python's spellings alike */
    const char *want[] = {
        "P 0 value=f:1e-300 step=i:0 epoch=i:0 timestamp=f:1700000000.0 offset=i:0\n",
        "P 1 value=f:1e-300 step=i:1 timestamp=f:1700000000.001 runContext=s:train offset=i:1\n",
        "P 2 value=f:-0.0 step=i:2 epoch=i:1 ",
        "P 3 value=f:5e-324 step=i:3 ",
        "P 4 value=f:5e-324 ",
        "P 5 value=f:1.7976931348623157e+308 ",
        "P 6 value=f:1.7976931348623157e+308 ",
        "P 7 value=f:0.30000000000000004 ",
        "P 8 value=f:9007199254740994.0 ",
        "P 9 value=f:9007199254740994.0 ",
        "P 10 value=f:1e-05 ",
        "P 11 value=f:NaN ",
        "P 12 value=f:Infinity ",
        "P 13 value=f:-Infinity ",
        "P 14 value=i:42 ",
        "P 15 value=f:0.5003255009651184 timestamp=f:1700000000.015 offset=i:15\n",
        "SERIES system sys.cpu.percent.01\nP 0 value=i:10 timestamp=f:1700000000.5 offset=i:100\n",
        "SERIES metrics \xe6\x8d\x9f\xe5\xa4\xb1/\xce\xbb\nP 0 value=f:1.5 step=i:3 epoch=i:1 ",
        "DOC parameters {\"epochs\":\"10\",\"layers\":\"[64, 32]\",\"optimizer\":{\"lr\":\"0.001\","
        "\"name\":\"adam\"}}\n",
        "DOC others {\"note\":\"hello \xe2\x98\x83\"}\n",
        "LOG 0 stream=- line 0 of output\n",
        "LOG 545 stream=- last line without a newline\nFILE",
        "FILE weights.bin 444 ",
        "FILE image/sample.png 12 ",
        "FILE model-element/model/keras_module.txt 13 ",
        "FILE dup.txt 6 ",
        "FILE dup.txt~a0000000000000000000000000000005 7 ",
        "FILE audio/beep-7.wav 12 ",
        "FILE assets/html/experiment.html 9 ",
        "FILE run/git_diff.patch ",
        "FILE run/requirements.txt ",
        "FILE system_details.json ",
        NULL};
    for (int i = 0; want[i]; i++)
        assert_true(ct_has(dump, want[i]));
    assert_null(strstr(dump, "LOG 546 "));
    assert_null(strstr(dump, "FILE run/output.txt"));
    /* the NUL bytes arrive whole: 37 copies of 12 bytes */
    free(dump);
    free(err);
    tu_rmtree(dir);
    free(dir);
}

static void read_only_what_is_asked(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    assert_int_equal(ct_fixture("cometx", dir, NULL), 0);
    struct xp_location loc;
    struct xp_ctx ctx = {0};
    struct xp_adapter *a = NULL;
    tu_pass(xp_location_from(&loc, "cometx", dir));
    tu_pass(xp_adapter_open(&a, &loc, NULL, &ctx));
    char *exp = join(dir, EXP1);
    struct xp_experiment_ref ref = {"ws-one", "p", "n", exp, -1};
    struct xp_read_opts ro = {XP_RES_SYSTEM, NULL, NULL, NULL};
    struct xp_reader *r = NULL;
    tu_pass(xp_adapter_read(&r, a, &ref, &ro));
    const struct xp_record *rec;
    int series = 0, other = 0, rc;
    while ((rc = xp_reader_next(r, &rec)) == 0) {
        if (rec->kind == XP_REC_SERIES_BEGIN) {
            series++;
            assert_int_equal(rec->u.series.kind, XP_SERIES_SYSTEM);
        } else if (rec->kind == XP_REC_FILE || rec->kind == XP_REC_LOGS ||
                   rec->kind == XP_REC_DOCUMENT) {
            other++;
        }
    }
    assert_int_equal(rc, XP_ITEROVER);
    assert_int_equal(series, 1);
    assert_int_equal(other, 0);
    xp_reader_free(r);
    xp_adapter_close(a);
    xp_location_release(&loc);
    free(exp);
    tu_rmtree(dir);
    free(dir);
}

/* PATH may be the root cometx downloaded into, a workspace, a project or
 * one experiment folder (as `cometx download WS/PROJ` leaves them). */
static void path_levels(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    assert_int_equal(ct_fixture("cometx", dir, NULL), 0);
    const char *rel[] = {"", "ws-one", "ws-one/proj-\xce\xb1", EXP1};
    int want[] = {2, 2, 2, 1};
    for (int i = 0; i < 4; i++) {
        char *p = xp_path_join(dir, rel[i]);
        char *dump, *err;
        tu_pass(ct_dump(&dump, &err, "cometx", p));
        int n = 0;
        for (const char *q = dump; (q = strstr(q, "EXP ws-one/proj-\xce\xb1/")); q++)
            n++;
        if (n != want[i])
            print_message("%s:\n%s\n", rel[i], dump);
        assert_int_equal(n, want[i]);
        free(dump);
        free(err);
        free(p);
    }
    tu_rmtree(dir);
    free(dir);
}

/* ---- writing ------------------------------------------------------------------ */

static void roundtrip_equal(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *src = join(dir, "src"), *l1 = join(dir, "l1"), *cx = join(dir, "cx"),
         *l2 = join(dir, "l2");
    assert_int_equal(ct_fixture("cometx", src, NULL), 0);
    char *psrc = prefixed("cometx", src), *pcx = prefixed("cometx", cx);
    assert_int_equal(copy(psrc, l1), 0);
    assert_int_equal(copy(l1, pcx), 0);
    assert_int_equal(copy(pcx, l2), 0);
    assert_int_equal(verify(l1, l2), 0);
    assert_int_equal(verify(psrc, pcx), 0);
    /* what cometx copy reads is there, in cometx's names */
    const char *files[] = {"metadata.json", "metrics.jsonl", "parameters.json",
                           "others.jsonl", "system_details.json",
                           "assets/assets_metadata.jsonl", "assets/asset/dup_1.txt",
                           "assets/html/experiment.html", "run/output.txt",
                           "run/git_diff.patch", NULL};
    char *e = join(cx, EXP1);
    for (int i = 0; files[i]; i++) {
        char *p = join(e, files[i]);
        if (!xp_is_file(p))
            print_message("missing %s\n", p);
        assert_true(xp_is_file(p));
        free(p);
    }
    char *side = join(e, "run/xport_logs.jsonl");
    assert_false(xp_is_file(side)); /* plain lines need no side file */
    char *pm = join(cx, "ws-one/proj-\xce\xb1/project_metadata.json");
    char *pmt = tu_slurp(pm);
    assert_non_null(pmt);
    assert_true(ct_has(pmt, "\"projectDescription\": \"a project\""));
    /* metric values as Comet writes them: strings */
    char *mp = join(e, "metrics.jsonl");
    char *mt = tu_slurp(mp);
    assert_true(ct_has(mt, "{\"metricName\": \"loss\", \"metricValue\": \"-0.0\", "
                           "\"timestamp\": 1700000000002, \"step\": 2, \"epoch\": 1, "
                           "\"runContext\": null, \"offset\": 2}\n"));
    assert_true(ct_has(mt, "\"metricValue\": \"NaN\""));
    assert_true(ct_has(mt, "\"metricValue\": \"42\""));
    free(mt);
    free(mp);
    free(pmt);
    free(pm);
    free(side);
    free(e);
    free(psrc);
    free(pcx);
    free(src);
    free(l1);
    free(cx);
    free(l2);
    tu_rmtree(dir);
    free(dir);
}

static int count_lines(const char *path)
{
    char *t = tu_slurp(path);
    int n = 0;
    for (char *p = t; p && *p; p++)
        n += *p == '\n';
    free(t);
    return n;
}

static void rerun_adds_nothing(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *src = join(dir, "src"), *l1 = join(dir, "l1"), *cx = join(dir, "cx");
    assert_int_equal(ct_fixture("cometx", src, NULL), 0);
    char *psrc = prefixed("cometx", src), *pcx = prefixed("cometx", cx);
    assert_int_equal(copy(psrc, l1), 0);
    assert_int_equal(copy(l1, pcx), 0);
    int files = tu_count_data_files(cx);
    char *m = join(cx, EXP1 "/metrics.jsonl");
    int lines = count_lines(m);
    assert_int_equal(lines, 21);
    assert_int_equal(copy(l1, pcx), 0);
    assert_int_equal(copy(psrc, pcx), 0); /* straight from cometx: same keys */
    assert_int_equal(count_lines(m), lines);
    assert_int_equal(tu_count_data_files(cx), files);
    free(m);
    free(psrc);
    free(pcx);
    free(src);
    free(l1);
    free(cx);
    tu_rmtree(dir);
    free(dir);
}

static void vendor_fixtures(void **state)
{
    (void)state;
    const char *srcs[] = {
        "wandb-offline:tests/fixtures/wandb/offline-run-20210216_154407-g9dvvkua",
        "wandb-offline:tests/fixtures/wandb/go-core-2026/edge-nan-inf",
        "wandb-offline:tests/fixtures/wandb/go-core-2026/edge-unicode",
        "wandb-offline:tests/fixtures/wandb/go-core-2026/media",
        "local:tests/fixtures/mldash/v0.6.27-local-store",
        "local:tests/fixtures/mldash/v0.5.9-local-store", NULL};
    for (int i = 0; srcs[i]; i++) {
        char *dir = tu_mkdtemp();
        const char *colon = strchr(srcs[i], ':');
        char *rel = tu_src(colon + 1);
        struct xp_buf s = XP_BUF_INIT;
        xp_buf_printf(&s, "%.*s:%s", (int)(colon - srcs[i]), srcs[i], rel);
        char *l1 = join(dir, "l1"), *cx = join(dir, "cx"), *l2 = join(dir, "l2");
        char *pcx = prefixed("cometx", cx);
        assert_int_equal(copy(s.ptr, l1), 0);
        assert_int_equal(copy(l1, pcx), 0);
        assert_int_equal(copy(pcx, l2), 0);
        if (verify(l1, l2))
            print_message("source %s\n", srcs[i]);
        assert_int_equal(verify(l1, l2), 0);
        xp_buf_release(&s);
        free(rel);
        free(l1);
        free(cx);
        free(l2);
        free(pcx);
        tu_rmtree(dir);
        free(dir);
    }
}

/* ---- hostile names -------------------------------------------------------------- */

static void hostile_asset_names_refused(void **state)
{
    (void)state;
    const char *names[] = {"a/../../x", "/etc/passwd", "..", "../x", "a//b", NULL};
    for (int i = 0; names[i]; i++) {
        char *dir = tu_mkdtemp();
        char *root = join(dir, "root");
        assert_int_equal(ct_fixture("hostile", root, names[i]), 0);
        char *dump, *err;
        int rc = ct_dump(&dump, &err, "cometx", root);
        if (rc != XP_EINVALID)
            print_message("name %s: %d %s\n", names[i], rc, err);
        assert_int_equal(rc, XP_EINVALID);
        assert_true(ct_has(err, "has an unsafe name; refusing it"));
        assert_null(strstr(dump, "FILE"));
        free(dump);
        free(err);
        free(root);
        tu_rmtree(dir);
        free(dir);
    }
}

static void linked_asset_folder_refused(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *root = join(dir, "root"), *outside = join(dir, "outside");
    assert_int_equal(ct_fixture("cometx", root, NULL), 0);
    char *assets = join(root, EXP1 "/assets/asset");
    assert_int_equal(tu_sh("mv '%s' '%s' && ln -s '%s' '%s'", assets, outside, outside,
                           assets), 0);
    char *dump, *err;
    int rc = ct_dump(&dump, &err, "cometx", root);
    assert_int_equal(rc, XP_EINVALID);
    assert_true(ct_has(err, "lies outside the experiment folder"));
    free(dump);
    free(err);
    free(assets);
    free(root);
    free(outside);
    tu_rmtree(dir);
    free(dir);
}

static ssize_t str_read(struct xp_stream *s, void *buf, size_t len)
{
    const char **p = (const char **)(s + 1);
    size_t n = strlen(*p) < len ? strlen(*p) : len;
    memcpy(buf, *p, n);
    *p += n;
    return (ssize_t)n;
}

static void hostile_names_written_inside(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *root = join(dir, "root");
    struct xp_location loc;
    struct xp_ctx ctx = {0};
    struct xp_adapter *a = NULL;
    tu_pass(xp_location_from(&loc, "cometx", root));
    tu_pass(xp_adapter_open(&a, &loc, NULL, &ctx));
    struct xp_experiment_meta m = {.workspace = "../..", .project = "a/../../b",
                                   .name = "..", .source_vendor = "comet",
                                   .source_id = "../../escape"};
    struct xp_write_opts wo = {XP_RES_ALL, 0, 0, -1};
    struct xp_sink *s = NULL;
    tu_pass(xp_adapter_write(&s, a, &m, &wo));
    struct xp_record rec = {.kind = XP_REC_EXPERIMENT};
    rec.u.exp = m;
    tu_pass(xp_sink_put(s, &rec));
    /* a carried asset record whose names escape: not used */
    struct json_object *md = NULL;
    const char *mdt = "{\"comet\":{\"fileName\":\"../../../x\",\"type\":\"../t\"}}";
    tu_pass(xp_json_parse(&md, mdt, strlen(mdt), "test"));
    struct {
        struct xp_stream s;
        const char *p;
    } body = {{str_read, NULL}, "bytes"};
    memset(&rec, 0, sizeof(rec));
    rec.kind = XP_REC_FILE;
    rec.u.file.meta.path = "ok.txt";
    rec.u.file.meta.size = -1;
    rec.u.file.meta.metadata = md;
    rec.u.file.body = &body.s;
    tu_pass(xp_sink_put(s, &rec));
    /* a path that escapes is refused */
    body.p = "bytes";
    rec.u.file.meta.path = "../escape.txt";
    rec.u.file.meta.metadata = NULL;
    assert_int_equal(xp_sink_put(s, &rec), XP_EINVALID);
    assert_int_equal(xp_sink_finish(s, 1), XP_EINVALID);
    xp_sink_free(s);
    /* again without the bad file: everything stays under root */
    tu_pass(xp_adapter_write(&s, a, &m, &wo));
    rec.kind = XP_REC_EXPERIMENT;
    rec.u.exp = m;
    tu_pass(xp_sink_put(s, &rec));
    memset(&rec, 0, sizeof(rec));
    rec.kind = XP_REC_FILE;
    rec.u.file.meta.path = "ok.txt";
    rec.u.file.meta.size = -1;
    rec.u.file.meta.metadata = md;
    body.p = "bytes";
    rec.u.file.body = &body.s;
    tu_pass(xp_sink_put(s, &rec));
    tu_pass(xp_sink_finish(s, 1));
    xp_sink_free(s);
    json_object_put(md);
    xp_adapter_close(a);
    xp_location_release(&loc);
    /* only root was created in dir */
    char **names;
    size_t n;
    tu_pass(xp_list_dir(&names, &n, dir));
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "root");
    xp_strv_free(names);
    assert_int_equal(tu_sh("test -f '%s'/%%2E.%%2F.%%2E/a%%2F..%%2F..%%2Fb/*/assets/asset/ok.txt",
                           root), 0);
    char *dump, *err;
    tu_pass(ct_dump(&dump, &err, "cometx", root));
    assert_true(ct_has(dump, "EXP ../../a/../../b/.. "));
    assert_true(ct_has(dump, "FILE ok.txt 5 "));
    free(dump);
    free(err);
    free(root);
    tu_rmtree(dir);
    free(dir);
}

/* Damaged input: a clear error naming the file and line, no crash. */
static void bad_lines_named(void **state)
{
    (void)state;
    const char *cases[][3] = {
        {"metrics.jsonl", "{\"metricName\": \"a\", \"metricValue\": \"1\"}\n{not json\n",
         "line 2 of '"},
        {"metrics.jsonl", "{\"metricValue\": \"1\"}\n", "has no \"metricName\""},
        {"others.jsonl", "[1]\n", "line 1 of '"},
        {"parameters.json", "{\"a\": 1}", "is not a JSON list"},
        {"metadata.json", "[]", "is not a JSON object"},
        {"assets/assets_metadata.jsonl", "{\"type\": \"asset\"}\n", "has no \"fileName\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *dir = tu_mkdtemp();
        assert_int_equal(ct_fixture("cometx", dir, NULL), 0);
        char *f = join(dir, EXP1), *file = join(f, cases[i][0]);
        tu_write(file, cases[i][1]);
        char *dump, *err;
        int rc = ct_dump(&dump, &err, "cometx", dir);
        if (rc != XP_EINVALID || !strstr(err, cases[i][2]))
            print_message("%s: %d %s\n", cases[i][0], rc, err);
        assert_int_equal(rc, XP_EINVALID);
        assert_non_null(strstr(err, cases[i][2]));
        free(dump);
        free(err);
        free(file);
        free(f);
        tu_rmtree(dir);
        free(dir);
    }
}

/* ---- values and points ------------------------------------------------------------ */

static void metric_values(void **state)
{
    (void)state;
    struct xp_value v;
    comet_value_parse(&v, "1.0E-5", 6);
    assert_int_equal(v.type, XP_V_FLOAT);
    assert_true(v.u.d == 1e-5);
    comet_value_parse(&v, "-0.0", 4);
    assert_int_equal(v.type, XP_V_FLOAT);
    assert_true(signbit(v.u.d) && v.u.d == 0);
    comet_value_parse(&v, "9223372036854775807", 19);
    assert_int_equal(v.type, XP_V_INT);
    assert_true(v.u.i == INT64_MAX);
    comet_value_parse(&v, "9223372036854775808", 19); /* too big: a double */
    assert_int_equal(v.type, XP_V_FLOAT);
    comet_value_parse(&v, "-inf", 4);
    assert_true(v.type == XP_V_FLOAT && isinf(v.u.d) && v.u.d < 0);
    comet_value_parse(&v, "0x10", 4);
    assert_int_equal(v.type, XP_V_STRING);
    comet_value_parse(&v, "abc", 3);
    assert_int_equal(v.type, XP_V_STRING);
    comet_value_parse(&v, "", 0);
    assert_int_equal(v.type, XP_V_STRING);
    struct xp_buf b = XP_BUF_INIT;
    struct xp_value s = {.type = XP_V_STRING};
    s.u.s.ptr = "1.5";
    s.u.s.len = 3;
    assert_int_equal(comet_value_put(&b, &s), 1); /* would come back a number */
    assert_int_equal(b.len, 0);
    s.u.s.ptr = "relu";
    s.u.s.len = 4;
    assert_int_equal(comet_value_put(&b, &s), 0);
    assert_string_equal(b.ptr, "\"relu\"");
    xp_buf_release(&b);
}

/* What Comet has no place for (a sub-millisecond time, an index out of
 * place, a system metric without "sys.", createdAt) comes back whole. */
static void point_roundtrip(void **state)
{
    (void)state;
    struct xp_field f[] = {{"value", {.type = XP_V_FLOAT, .u.d = 0.25}},
                           {"step", {.type = XP_V_INT, .u.i = 7}},
                           {"timestamp", {.type = XP_V_FLOAT, .u.d = 1613490247.8831937}},
                           {"gpu", {.type = XP_V_STRING, .u.s = {"a\"b", 3}}}};
    struct xp_point p = {5, "2026-01-01T00:00:00Z", f, 4};
    struct xp_buf b = XP_BUF_INIT;
    tu_pass(comet_point_put(&b, "gpu.0.temp", XP_SERIES_SYSTEM, &p, 0));
    struct xp_field g[COMET_MAX_FIELDS];
    size_t n;
    tu_pass(xp_jscan_object(b.ptr, b.len - 1, g, COMET_MAX_FIELDS, &n));
    struct xp_point q;
    const char *name;
    enum xp_series_kind kind;
    tu_pass(comet_point_from_fields(&q, g, &n, &name, &kind, 0));
    assert_string_equal(name, "gpu.0.temp");
    assert_int_equal(kind, XP_SERIES_SYSTEM);
    assert_int_equal(q.index, 5);
    assert_string_equal(q.created_at, "2026-01-01T00:00:00Z");
    assert_int_equal(q.nfields, 4);
    assert_string_equal(q.fields[0].key, "value");
    assert_true(q.fields[0].v.type == XP_V_FLOAT && q.fields[0].v.u.d == 0.25);
    assert_string_equal(q.fields[1].key, "step");
    assert_string_equal(q.fields[2].key, "timestamp");
    assert_true(q.fields[2].v.u.d == 1613490247.8831937);
    assert_string_equal(q.fields[3].key, "gpu");
    assert_string_equal(q.fields[3].v.u.s.ptr, "a\"b");
    xp_buf_release(&b);
}

/* ---- memory ------------------------------------------------------------------ */

#define LONG_POINTS 300000
/* Peak RSS allowed for `xport download` of one series of LONG_POINTS points
 * (a metrics.jsonl of 36 MiB) under ASan with a small quarantine: about
 * 53 MiB reading through the spool, 102 MiB reading the file whole as the
 * reader once did. */
#define LONG_RSS_KIB (80 * 1024)

/* xport with argv under fork and wait4: its exit status, its peak RSS in
 * KiB in *rss. */
static int run_rss(const char *const *argv, long *rss)
{
    const char *bin = getenv("XPORT_BIN");
    if (!bin)
        bin = XPORT_BINARY_DIR "/cmd/xport";
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        /* ASan's quarantine keeps freed memory (256 MiB by default) and
         * would hide what the reader itself holds */
        const char *asan = getenv("ASAN_OPTIONS");
        struct xp_buf o = XP_BUF_INIT;
        xp_buf_printf(&o, "%s%squarantine_size_mb=4", asan ? asan : "",
                      asan && *asan ? ":" : "");
        setenv("ASAN_OPTIONS", o.ptr, 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &st, 0, &ru) != pid)
        return -1;
    *rss = ru.ru_maxrss;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Lines in a file, and its last line (up to 255 bytes) in last. */
static long file_lines(const char *path, char *last)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    static char buf[1 << 16];
    long n = 0;
    size_t got, ll = 0;
    last[0] = '\0';
    char prev[256] = "";
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
        for (size_t i = 0; i < got; i++) {
            if (buf[i] == '\n') {
                n++;
                last[ll] = '\0';
                memcpy(prev, last, ll + 1);
                ll = 0;
            } else if (ll < 255) {
                last[ll++] = buf[i];
            }
        }
    }
    fclose(f);
    memcpy(last, prev, sizeof(prev));
    return n;
}

/* One long series is read in batches through a spool: the download's
 * peak memory stays bounded, and every point arrives. */
static void long_series_bounded(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *src = join(dir, "src"), *out = join(dir, "out");
    char *e = join(src, "ws/proj/long");
    tu_pass(xp_mkdir_p(e));
    char *mp = join(e, "metrics.jsonl");
    FILE *f = fopen(mp, "wb");
    assert_non_null(f);
    for (long i = 0; i < LONG_POINTS; i++)
        fprintf(f, "{\"metricName\": \"loss\", \"metricValue\": \"%ld.25\", "
                   "\"timestamp\": %lld, \"step\": %ld, \"epoch\": null, "
                   "\"runContext\": null, \"offset\": %ld}\n",
                i, 1700000000000LL + i, i, i);
    assert_int_equal(fclose(f), 0);
    const char *argv[] = {"xport", "download", "-q", "--from", "cometx", src, "-o", out,
                          NULL};
    long rss = 0;
    int rc = run_rss(argv, &rss);
    print_message("download of %d points: exit %d, peak RSS %ld KiB\n", LONG_POINTS, rc,
                  rss);
    assert_int_equal(rc, 0);
    char *data = join(out, "ws/proj/long/metrics/loss/data.jsonl");
    char last[256];
    long n = file_lines(data, last);
    assert_int_equal(n, LONG_POINTS);
    char want[64];
    snprintf(want, sizeof(want), "\"index\":%d,", LONG_POINTS - 1);
    assert_true(ct_has(last, want));
    snprintf(want, sizeof(want), "\"value\":%d.25", LONG_POINTS - 1);
    assert_true(ct_has(last, want));
    free(data);
    free(mp);
    free(e);
    free(src);
    free(out);
    tu_rmtree(dir);
    free(dir);
    assert_true(rss > 0 && rss < LONG_RSS_KIB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_exact),
        cmocka_unit_test(read_only_what_is_asked),
        cmocka_unit_test(path_levels),
        cmocka_unit_test(roundtrip_equal),
        cmocka_unit_test(rerun_adds_nothing),
        cmocka_unit_test(vendor_fixtures),
        cmocka_unit_test(hostile_asset_names_refused),
        cmocka_unit_test(linked_asset_folder_refused),
        cmocka_unit_test(hostile_names_written_inside),
        cmocka_unit_test(bad_lines_named),
        cmocka_unit_test(metric_values),
        cmocka_unit_test(point_roundtrip),
        cmocka_unit_test(long_series_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
