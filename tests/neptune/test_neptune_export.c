/* The neptune-export adapter through the CLI, on the exporter folder that
 * tests/neptune/parquet/gen_parquet.mjs wrote with parquet-wasm
 * (tests/fixtures/neptune-export, record.json the values written): every
 * value bit-exact in the layout, a run without part_0 named and failed
 * unless --allow-partial, two reads equal under `xport verify`, a damaged
 * part named. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "testutil.h"
#include "xport/buf.h"
#include "xport/fs.h"

struct fx {
    char *tmp, *src;
    struct json_object *rec;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->tmp = tu_mkdtemp();
    f->src = tu_src("tests/fixtures/neptune-export");
    char *rp = xp_path_join(f->src, "record.json");
    f->rec = json_object_from_file(rp);
    free(rp);
    *state = f;
    return f->rec ? 0 : -1;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_rmtree(f->tmp);
    free(f->tmp);
    free(f->src);
    json_object_put(f->rec);
    free(f);
    return 0;
}

static int download(const char *src, const char *out, int partial, char **o,
                    char **e)
{
    const char *argv[] = {"download", "--from", "neptune-export", src, "-o",
                          out, partial ? "--allow-partial" : NULL, NULL};
    return tu_run_xport(o, e, argv);
}

static double hexf(const char *h)
{
    uint64_t u = strtoull(h, NULL, 16);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static void same_double(double got, double want, const char *what)
{
    if (isnan(want) ? !isnan(got) : memcmp(&got, &want, 8))
        fail_msg("%s: got %.17g, wrote %.17g", what, got, want);
}

/* Lines of a JSONL file as an array. */
static struct json_object *jsonl(const char *path)
{
    char *s = tu_slurp(path);
    assert_non_null(s);
    struct json_object *arr = json_object_new_array();
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        struct json_object *o = json_tokener_parse(line);
        if (!o)
            fail_msg("'%s': a line json-c cannot read: %s", path, line);
        json_object_array_add(arr, o);
    }
    free(s);
    return arr;
}

static struct json_object *at(struct json_object *o, const char *k)
{
    struct json_object *v = NULL;
    json_object_object_get_ex(o, k, &v);
    return v;
}

/* The step of a point, checked against the decimal text written. */
static void check_step(struct json_object *data, const char *want)
{
    struct json_object *dec = at(data, "step_decimal");
    if (dec) {
        assert_string_equal(json_object_get_string(dec), want);
        return;
    }
    char back[64];
    snprintf(back, sizeof back, "%.6f", json_object_get_double(at(data, "step")));
    if (strcmp(back, want) && !(back[0] == '-' && !strcmp(back + 1, want)))
        fail_msg("step %s, wrote %s", back, want);
}

static void check_run(const char *out, struct json_object *rows)
{
    char *run = xp_path_join(out, "ws/proj/RUN-1");
    char *pp = xp_path_join(run, "parameters.json");
    struct json_object *root = json_object_from_file(pp);
    assert_non_null(root);
    struct json_object *params = at(at(root, "data"), "parameters");
    size_t nfloat = 0, nparam = 0, nlog = 0, nhist = 0;
    char *lp = xp_path_join(run, "metrics/metrics%2Floss/data.jsonl");
    struct json_object *loss = jsonl(lp);
    free(lp);
    lp = xp_path_join(run, "metrics/train%2Fhist/data.jsonl");
    struct json_object *hist = jsonl(lp);
    free(lp);
    lp = xp_path_join(run, "logs/logs.jsonl");
    struct json_object *logs = jsonl(lp);
    free(lp);
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
        struct json_object *r = json_object_array_get_idx(rows, i);
        const char *path = json_object_get_string(at(r, "attribute_path"));
        const char *type = json_object_get_string(at(r, "attribute_type"));
        if (!strncmp(path, "parameters/", 11)) {
            struct json_object *v = at(params, path + 11);
            nparam++;
            if (!strcmp(type, "float"))
                same_double(json_object_get_double(v),
                            hexf(json_object_get_string(at(r, "float_value"))), path);
            else if (!strcmp(type, "int"))
                assert_string_equal(json_object_get_string(v),
                                    json_object_get_string(at(r, "int_value")));
            else if (!strcmp(type, "string"))
                assert_string_equal(json_object_get_string(v),
                                    json_object_get_string(at(r, "string_value")));
            else if (!strcmp(type, "string_set"))
                assert_string_equal(json_object_to_json_string(v),
                                    json_object_to_json_string(at(r, "string_set_value")));
            else if (!strcmp(type, "bool"))
                assert_int_equal(json_object_get_boolean(v),
                                 json_object_get_boolean(at(r, "bool_value")));
            else if (!strcmp(type, "datetime"))
                assert_string_equal(json_object_get_string(v),
                                    "1969-12-31T23:59:59.999Z");
        } else if (!strcmp(path, "metrics/loss")) {
            struct json_object *d = at(json_object_array_get_idx(loss, nfloat++), "data");
            assert_non_null(d);
            same_double(json_object_get_double(at(d, "value")),
                        hexf(json_object_get_string(at(r, "float_value"))), path);
            check_step(d, json_object_get_string(at(r, "step")));
            double ts = json_object_get_double(at(d, "timestamp"));
            assert_int_equal((int64_t)llround(ts * 1000),
                             strtoll(json_object_get_string(at(r, "timestamp")), NULL, 10));
        } else if (!strcmp(type, "histogram_series")) {
            struct json_object *d = at(json_object_array_get_idx(hist, nhist++), "data");
            struct json_object *hv = at(r, "histogram_value"), *v = at(d, "value");
            check_step(d, json_object_get_string(at(r, "step")));
            struct json_object *edges = at(hv, "edges"), *ge = at(v, "edges");
            if (!edges) {
                assert_null(ge);
                continue;
            }
            assert_int_equal(json_object_array_length(ge), json_object_array_length(edges));
            for (size_t k = 0; k < json_object_array_length(edges); k++)
                same_double(json_object_get_double(json_object_array_get_idx(ge, k)),
                            hexf(json_object_get_string(json_object_array_get_idx(edges, k))),
                            "edge");
            struct json_object *vals = at(hv, "values"), *gv = at(v, "values");
            for (size_t k = 0; vals && k < json_object_array_length(vals); k++) {
                double want = hexf(json_object_get_string(json_object_array_get_idx(vals, k)));
                struct json_object *g = json_object_array_get_idx(gv, k);
                if (isnan(want))
                    assert_string_equal(json_object_get_string(g), "NaN");
                else
                    same_double(json_object_get_double(g), want, "histogram value");
            }
        } else if (!strcmp(path, "monitoring/abc/stdout")) {
            struct json_object *l = json_object_array_get_idx(logs, nlog++);
            assert_string_equal(json_object_get_string(at(l, "message")),
                                json_object_get_string(at(r, "string_value")));
            assert_string_equal(json_object_get_string(at(l, "stream")), "stdout");
        }
    }
    assert_int_equal(nfloat, json_object_array_length(loss));
    assert_int_equal(nfloat, 9);
    assert_int_equal(nhist, 2);
    assert_int_equal(nlog, 5);
    assert_int_equal(nparam, json_object_object_length(params) + 0);
    json_object_put(loss);
    json_object_put(hist);
    json_object_put(logs);
    json_object_put(root);
    free(pp);
    free(run);
}

static void exact_values(void **state)
{
    struct fx *f = *state;
    char *o, *e, *out = xp_path_join(f->tmp, "out");
    assert_int_equal(download(f->src, out, 0, &o, &e), 3);
    assert_non_null(strstr(o, "2 downloaded, 0 skipped, 1 failed"));
    assert_non_null(strstr(e, "run 'RUN-3'"));
    assert_non_null(strstr(e, "part_0 is missing"));
    free(o);
    free(e);
    struct json_object *rows = at(at(f->rec, "runs"), "RUN-1");
    char *pp = xp_path_join(out, "ws/proj/RUN-1/parameters.json");
    struct json_object *params = json_object_from_file(pp);
    free(pp);
    assert_non_null(params);
    json_object_put(params);
    check_run(out, rows);
    /* the fork of RUN-2, the files of RUN-1 */
    char *ej = xp_path_join(out, "ws/proj/RUN-2/experiment.json");
    char *s = tu_slurp(ej);
    assert_non_null(strstr(s, "\"fork\":{\"parent\":\"RUN-1\",\"step\":41.5}"));
    free(s);
    free(ej);
    assert_int_equal(tu_sh("cmp '%s/files/ws_proj-00871eb7ac1bdb01/ws/proj/RUN-1/"
                           "source_code/files/pkg/util.py' '%s/ws/proj/RUN-1/files/"
                           "source_code/files/pkg/util.py' && cmp '%s/files/"
                           "ws_proj-00871eb7ac1bdb01/ws/proj/RUN-1/model/weights' "
                           "'%s/ws/proj/RUN-1/files/model/weights' && test -f "
                           "'%s/ws/proj/RUN-1/files/data/artifact/files_list.json'",
                           f->src, out, f->src, out, out), 0);
    assert_int_equal(tu_sh("test ! -e '%s/ws/proj/RUN-3'", out), 0);
    free(out);
}

static void partial_and_verify(void **state)
{
    struct fx *f = *state;
    char *o, *e, *a = xp_path_join(f->tmp, "a"), *b = xp_path_join(f->tmp, "b");
    assert_int_equal(download(f->src, a, 1, &o, &e), 0);
    assert_non_null(strstr(o, "3 downloaded"));
    assert_non_null(strstr(e, "run 'RUN-3'"));
    assert_non_null(strstr(e, "keeping what is there"));
    free(o);
    free(e);
    assert_int_equal(tu_sh("grep -q '\"partial\":true' '%s/ws/proj/RUN-3/experiment.json'", a), 0);
    assert_int_equal(download(f->src, b, 1, &o, &e), 0);
    free(o);
    free(e);
    const char *v[] = {"verify", a, b, NULL};
    assert_int_equal(tu_xport(NULL, v), 0);
    struct xp_buf src = XP_BUF_INIT;
    xp_buf_printf(&src, "neptune-export:%s", f->src);
    const char *v2[] = {"verify", "--allow-partial", src.ptr, a, NULL};
    assert_int_equal(tu_xport(NULL, v2), 0);
    /* a rerun adds nothing */
    assert_int_equal(download(f->src, a, 1, &o, &e), 0);
    assert_non_null(strstr(o, "0 downloaded, 3 skipped"));
    free(o);
    free(e);
    xp_buf_release(&src);
    free(a);
    free(b);
}

/* A damaged part fails its run, naming the file; the others convert. */
static void damaged_part(void **state)
{
    struct fx *f = *state;
    char *copy = xp_path_join(f->tmp, "copy"), *out = xp_path_join(f->tmp, "dmg");
    assert_int_equal(tu_sh("cp -r '%s' '%s' && cd '%s/data/ws_proj-00871eb7ac1bdb01' && "
                           "head -c 3000 RUN-2-54f5930fff19cfbd_part_0.parquet > t && "
                           "cat RUN-2-54f5930fff19cfbd_part_0.parquet | tail -c 200 >> t && "
                           "mv t RUN-2-54f5930fff19cfbd_part_0.parquet",
                           f->src, copy, copy), 0);
    char *o, *e;
    assert_int_equal(download(copy, out, 0, &o, &e), 3);
    assert_non_null(strstr(o, "1 downloaded"));
    assert_non_null(strstr(e, "RUN-2-54f5930fff19cfbd_part_0.parquet"));
    free(o);
    free(e);
    free(copy);
    free(out);
}

/* A run whose parts are still .parquet.tmp (the exporter stopped before
 * renaming them) is named, never silently left out. */
static void unfinished_tmp(void **state)
{
    struct fx *f = *state;
    char *copy = xp_path_join(f->tmp, "tmpcopy"), *out = xp_path_join(f->tmp, "tmpout");
    assert_int_equal(tu_sh("cp -r '%s' '%s' && cd '%s/data/ws_proj-00871eb7ac1bdb01' && "
                           "mv RUN-2-54f5930fff19cfbd_part_0.parquet "
                           "RUN-2-54f5930fff19cfbd_part_0.parquet.tmp", f->src, copy, copy), 0);
    char *o, *e;
    assert_int_equal(download(copy, out, 0, &o, &e), 3);
    assert_non_null(strstr(o, "1 downloaded, 0 skipped, 2 failed"));
    assert_non_null(strstr(e, "run 'RUN-2'"));
    free(o);
    free(e);
    assert_int_equal(download(copy, out, 1, &o, &e), 0);
    assert_non_null(strstr(e, "part_0 is an unfinished .parquet.tmp"));
    assert_int_equal(tu_sh("grep -q '\"partial\":true' '%s/ws/proj/RUN-2/experiment.json'", out), 0);
    free(o);
    free(e);
    free(copy);
    free(out);
}

/* --workspace and --project select on the project_id column. */
static void selection(void **state)
{
    struct fx *f = *state;
    char *o, *e, *out = xp_path_join(f->tmp, "sel");
    const char *no[] = {"download", "--from", "neptune-export", f->src, "-o", out,
                        "--project", "other", NULL};
    assert_int_equal(tu_run_xport(&o, &e, no), 0);
    assert_non_null(strstr(o, "0 downloaded, 0 skipped, 0 failed (of 0)"));
    free(o);
    free(e);
    const char *yes[] = {"download", "--from", "neptune-export", f->src, "-o", out,
                         "--workspace", "ws", "--project", "proj", "--experiment",
                         "RUN-2", NULL};
    assert_int_equal(tu_run_xport(&o, &e, yes), 0);
    assert_non_null(strstr(o, "1 downloaded, 0 skipped, 0 failed (of 1)"));
    free(o);
    free(e);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_values),
        cmocka_unit_test(partial_and_verify),
        cmocka_unit_test(damaged_part),
        cmocka_unit_test(selection),
        cmocka_unit_test(unfinished_tmp),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
