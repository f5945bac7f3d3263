/* Points with many fields (ml-dash's metrics("train").append(loss=...,
 * accuracy=..., epoch=...)) through the W&B emulator: each field becomes
 * the history key "SERIES/FIELD" of the point's row, xport/fields.json
 * records the split, and the reader joins the keys back into the series,
 * every value exact; a rerun sends no row twice; a field whose key would
 * mix with another series or field is counted as dropped, with a message
 * naming run, series and field; a run without the map, or with a map xport
 * did not write, reads as before; points without a step come back
 * without one. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "wsrv.h"

static const char XPORT_JSON[] = "{\"format\":\"xport-layout\",\"version\":1}\n";

/* A layout at wsrv_tmp/name holding the ml-dash experiment
 * ent/project/exp (source id `id`, status or NULL) with the given
 * documents; returns its root. */
static char *layout(const char *name, const char *project, const char *exp_name,
                    const char *id, const char *status,
                    const char *const (*docs)[2], size_t n)
{
    char *root = wsrv_path(wsrv_tmp, name), *exp = NULL, *ej = NULL;
    assert_true(asprintf(&exp, "%s/ent/%s/%s", root, project, exp_name) > 0);
    assert_true(asprintf(&ej,
                         "{\"name\":\"%s\",\"project\":\"%s\","
                         "\"workspace\":\"ent\",%s%s%s\"source\":{"
                         "\"vendor\":\"mldash\",\"id\":\"%s\"},"
                         "\"xport\":{\"format\":\"xport-layout\","
                         "\"version\":1}}\n",
                         exp_name, project, status ? "\"status\":\"" : "",
                         status ? status : "", status ? "\"," : "", id) > 0);
    assert_int_equal(tu_sh("mkdir -p '%s'", exp), 0);
    const char *const top[][2] = {{"xport.json", XPORT_JSON}};
    wsrv_write_docs(root, top, 1);
    const char *const e[][2] = {{"experiment.json", ej}};
    wsrv_write_docs(exp, e, 1);
    free(ej);
    for (size_t i = 0; i < n; i++) {
        char *f = wsrv_path(exp, docs[i][0]);
        assert_int_equal(tu_sh("mkdir -p \"$(dirname '%s')\"", f), 0);
        free(f);
    }
    wsrv_write_docs(exp, docs, n);
    free(exp);
    return root;
}

/* The history (or events) lines the emulator holds for run
 * ent/project/run, joined by newlines (caller frees). */
static char *lines_of(const char *project, const char *run, const char *which)
{
    struct json_object *d =
        wsrv_get_json("/__emu/dump?history=1&events=1&content=0");
    const char *const k[] = {"entities", "ent", "projects", project, "runs",
                             run, which, NULL};
    struct json_object *h = wsrv_dig(d, k);
    char *all = strdup("");
    for (size_t i = 0; i < json_object_array_length(h); i++) {
        char *next = NULL;
        assert_true(asprintf(&next, "%s%s\n", all,
                             json_object_get_string(
                                 json_object_array_get_idx(h, i))) > 0);
        free(all);
        all = next;
    }
    json_object_put(d);
    return all;
}

/* text holds each of want[0..n). */
static void has_all(const char *text, const char *const *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strstr(text, want[i]))
            fail_msg("no '%s' in:\n%s", want[i], text);
}

/* Run xport with argv, which must succeed (its stderr shown if not). */
static void copy_ok(const char **argv)
{
    char *err = NULL;
    int rc = tu_run_xport(NULL, &err, argv);
    if (rc)
        print_message("%s", err);
    free(err);
    assert_int_equal(rc, 0);
}

/* xport's own run files did not come back as files of experiment exp. */
static void no_xport_files(const char *root, const char *exp)
{
    char *d = wsrv_path(root, exp);
    char *fl = wsrv_path(d, "files.jsonl");
    char *s = tu_slurp(fl);
    assert_true(!s || !strstr(s, "xport/"));
    free(s);
    free(fl);
    free(d);
}

/* The content of run file `name` of run ent/project/run (caller frees). */
static char *run_file(const char *project, const char *run, const char *name)
{
    struct json_object *d = wsrv_get_json("/__emu/dump?history=0&content=1");
    const char *const k[] = {"entities", "ent", "projects", project, "runs",
                             run, "files", name, "contentBase64", NULL};
    char *f = wsrv_path(wsrv_tmp, "run-file");
    assert_int_equal(tu_sh("printf %%s '%s' | base64 -d > '%s'",
                           json_object_get_string(wsrv_dig(d, k)), f),
                     0);
    json_object_put(d);
    char *s = tu_slurp(f);
    assert_non_null(s);
    free(f);
    return s;
}

static void file_is(const char *root, const char *rel, const char *want)
{
    char *f = wsrv_path(root, rel);
    char *s = tu_slurp(f);
    if (!s)
        fail_msg("'%s' is missing", rel);
    assert_string_equal(s, want);
    free(s);
    free(f);
}

#define TRAIN                                                                  \
    "{\"index\":0,\"data\":{\"loss\":0.5,\"accuracy\":0.9,\"epoch\":3,"        \
    "\"hist\":[1,2.5,{\"k\":null}],\"step\":10,\"timestamp\":1700000000.5}}\n" \
    "{\"index\":1,\"data\":{\"loss\":NaN,\"accuracy\":2.0,"                    \
    "\"epoch\":9007199254740993,\"note\":\"hi \\\"q\\\" \xc3\xa9\","           \
    "\"step\":11,\"timestamp\":1700000001.5}}\n"                               \
    "{\"index\":2,\"data\":{\"loss\":-0.0,\"epoch\":4,\"note\":\"x\","         \
    "\"step\":12,\"timestamp\":1700000002.5}}\n"
#define VAL                                                                    \
    "{\"index\":0,\"data\":{\"value\":1.5,\"top5\":Infinity,\"step\":10,"      \
    "\"timestamp\":1700000000.5}}\n"                                           \
    "{\"index\":1,\"data\":{\"value\":-Infinity,\"step\":11,"                  \
    "\"timestamp\":1700000001.5}}\n"

#define GPU                                                                    \
    "{\"index\":0,\"data\":{\"value\":50.5,\"temp\":70,"                    \
    "\"timestamp\":1700000000.25}}\n"                                          \
    "{\"index\":1,\"data\":{\"temp\":71,\"timestamp\":1700000002.25}}\n"

static void split_round_trip(void **state)
{
    (void)state;
    static const char *const docs[][2] = {
        {"metrics/train/data.jsonl", TRAIN},
        {"metrics/train/metadata.json", "{\"name\":\"train\"}\n"},
        {"metrics/val/data.jsonl", VAL},
        {"metrics/val/metadata.json", "{\"name\":\"val\"}\n"},
        {"metrics/loss/data.jsonl",
         "{\"index\":0,\"data\":{\"value\":1.0,\"step\":0}}\n"},
        {"metrics/loss/metadata.json", "{\"name\":\"loss\"}\n"},
        {"system/gpu/data.jsonl", GPU},
        {"system/gpu/metadata.json",
         "{\"name\":\"gpu\",\"kind\":\"system\"}\n"},
    };
    char *l1 = layout("sp1", "multi", "exp2", "mexp2", "RUNNING", docs,
                      sizeof(docs) / sizeof(docs[0]));
    char *l2 = wsrv_path(wsrv_tmp, "sp2");
    const char *up[] = {"copy", "-q", l1, "wandb:ent/multi", NULL};
    copy_ok(up);

    /* each field is a key of its point's row, its value exact */
    char *h = lines_of("multi", "mexp2", "history");
    static const char *const want[] = {
        "\"train/loss\":0.5,\"train/accuracy\":0.9,\"train/epoch\":3,"
        "\"train/hist\":[1,2.5,{\"k\":null}]",
        "\"train/loss\":NaN,\"train/accuracy\":2.0,"
        "\"train/epoch\":9007199254740993,\"train/note\":\"hi \\\"q\\\" \xc3\xa9\"",
        "\"train/loss\":-0.0,\"train/epoch\":4,\"train/note\":\"x\"",
        "\"val\":1.5,\"val/top5\":Infinity",
        "\"val\":-Infinity",
        "\"_step\":0,\"loss\":1.0",
    };
    has_all(h, want, sizeof(want) / sizeof(want[0]));
    /* system series in events rows alike */
    char *ev = lines_of("multi", "mexp2", "events");
    if (!strstr(ev, "\"system.gpu\":50.5,\"system.gpu/temp\":70") ||
        !strstr(ev, "\"system.gpu/temp\":71"))
        fail_msg("no gpu fields in the events:\n%s", ev);
    free(ev);
    /* a series without values has no key of its own */
    assert_null(strstr(h, "\"train\":"));
    assert_null(strstr(h, "\"val/top5\":null"));

    /* and comes back whole */
    assert_int_equal(wsrv_download("ent/multi", l2, NULL), 0);
    assert_int_equal(wsrv_verify(l1, l2), 0);
    file_is(l2, "ent/multi/exp2/metrics/train/data.jsonl", TRAIN);
    file_is(l2, "ent/multi/exp2/metrics/val/data.jsonl", VAL);
    file_is(l2, "ent/multi/exp2/system/gpu/data.jsonl", GPU);
    no_xport_files(l2, "ent/multi/exp2");
    char *m = wsrv_path(l2, "ent/multi/exp2/metrics/train%2Floss");
    assert_int_not_equal(tu_sh("test -e '%s'", m), 0);
    free(m);

    /* the map is a run file of its own */
    struct json_object *d = wsrv_get_json("/__emu/dump?history=0");
    const char *const fk[] = {"entities", "ent", "projects", "multi", "runs",
                              "mexp2", "files", "xport/fields.json", NULL};
    wsrv_dig(d, fk);
    json_object_put(d);

    /* a rerun (of a run left running, as the source's is) sends no row
     * again */
    assert_int_equal(tu_run_xport(NULL, NULL, up), 0);
    char *h2 = lines_of("multi", "mexp2", "history");
    assert_string_equal(h, h2);
    d = wsrv_get_json("/__emu/dump?history=0");
    const char *const rk[] = {"entities", "ent", "projects", "multi", "runs",
                              "mexp2", "historyStats", "resentLines", NULL};
    assert_int_equal(json_object_get_int64(wsrv_dig(d, rk)), 0);
    json_object_put(d);
    free(h);
    free(h2);
    free(l1);
    free(l2);
}

/* Keys that would mix with a series of its own or with another field's,
 * and a field without a name: counted as dropped, named, the rest kept. */
static void split_collision(void **state)
{
    (void)state;
    static const char *const docs[][2] = {
        {"metrics/train/data.jsonl",
         "{\"index\":0,\"data\":{\"loss\":0.5,\"acc\":0.1,\"\":7,\"step\":0}}\n"},
        {"metrics/train/metadata.json", "{\"name\":\"train\"}\n"},
        {"metrics/train%2Floss/data.jsonl",
         "{\"index\":0,\"data\":{\"value\":9.5,\"step\":0}}\n"},
        {"metrics/train%2Floss/metadata.json", "{\"name\":\"train/loss\"}\n"},
        {"metrics/a/data.jsonl",
         "{\"index\":0,\"data\":{\"b/c\":1,\"step\":0}}\n"},
        {"metrics/a/metadata.json", "{\"name\":\"a\"}\n"},
        {"metrics/a%2Fb/data.jsonl",
         "{\"index\":0,\"data\":{\"c\":2,\"step\":0}}\n"},
        {"metrics/a%2Fb/metadata.json", "{\"name\":\"a/b\"}\n"},
    };
    char *l1 = layout("co1", "coll", "exp3", "cexp3", NULL, docs,
                      sizeof(docs) / sizeof(docs[0]));
    const char *up[] = {"copy", l1, "wandb:ent/coll", NULL};
    char *err = NULL, *out = NULL;
    assert_int_not_equal(tu_run_xport(&out, &err, up), 0);
    static const char *const want[] = {
        "W&B run 'cexp3': point field 'loss' of series 'train' is not "
        "written: its W&B key 'train/loss' is also a series of its own",
        "W&B run 'cexp3': point field '' of series 'train' is not written: "
        "a field needs a name to have a W&B key",
        "W&B key 'a/b/c' is also the key of field '",
    };
    has_all(err, want, sizeof(want) / sizeof(want[0]));
    assert_true(strstr(err, "point field 'c' of series 'a/b'") ||
                strstr(err, "point field 'b/c' of series 'a'"));
    free(err);
    free(out);

    /* the series keeps its own key; the other fields are there */
    char *h = lines_of("coll", "cexp3", "history");
    assert_non_null(strstr(h, "\"train/loss\":9.5"));
    assert_non_null(strstr(h, "\"train/acc\":0.1"));
    assert_null(strstr(h, "\"train/\""));
    assert_null(strstr(h, "\"train/loss\":0.5"));
    free(h);
    char *l2 = wsrv_path(wsrv_tmp, "co2");
    assert_int_equal(wsrv_download("ent/coll", l2, NULL), 0);
    file_is(l2, "ent/coll/exp3/metrics/train/data.jsonl",
            "{\"index\":0,\"data\":{\"acc\":0.1,\"step\":0}}\n");
    file_is(l2, "ent/coll/exp3/metrics/train%2Floss/data.jsonl",
            "{\"index\":0,\"data\":{\"value\":9.5,\"step\":0}}\n");
    free(l1);
    free(l2);
}

/* Without the map, keys with a '/' stay series of their own; a map xport
 * did not write is read as a plain file, with a warning. */
static void split_without_map(void **state)
{
    (void)state;
    assert_int_equal(wsrv_post("/__emu/seed",
        "{\"projects\":[{\"entity\":\"ent\",\"name\":\"nomap\",\"runs\":["
        "{\"name\":\"plain\",\"history\":["
        "\"{\\\"_step\\\":0,\\\"train\\\":1,\\\"train/loss\\\":0.5}\"]},"
        "{\"name\":\"bad\",\"history\":["
        "\"{\\\"_step\\\":0,\\\"train\\\":1,\\\"train/loss\\\":0.5}\"],"
        "\"files\":[{\"name\":\"xport/fields.json\",\"content\":"
        "\"{\\\"series\\\":[]}\"}]}]}]}"),
        0);
    char *out = wsrv_path(wsrv_tmp, "nomap");
    char *err = NULL;
    assert_int_equal(wsrv_download("ent/nomap", out, &err), 0);
    assert_non_null(strstr(err, "'xport/fields.json' is not a map of split "
                                "series; it is read as a file"));
    free(err);
    static const char *const runs[] = {"plain", "bad"};
    for (size_t i = 0; i < 2; i++) {
        char *d = wsrv_path(out, "ent/nomap");
        char *r = wsrv_path(d, runs[i]);
        file_is(r, "metrics/train/data.jsonl",
                "{\"index\":0,\"data\":{\"value\":1,\"step\":0}}\n");
        file_is(r, "metrics/train%2Floss/data.jsonl",
                "{\"index\":0,\"data\":{\"value\":0.5,\"step\":0}}\n");
        free(r);
        free(d);
    }
    file_is(out, "ent/nomap/bad/files/xport/fields.json", "{\"series\":[]}");
    free(out);
}

/* Points without a step (ml-dash metrics often have none): W&B history
 * needs _step, so the writer gives them their index, and the map says which
 * it gave, so that they come back without one. */
#define LOSS                                                                   \
    "{\"index\":0,\"data\":{\"value\":0.5}}\n"                                 \
    "{\"index\":1,\"data\":{\"value\":0.25,\"timestamp\":1700000001.5}}\n"     \
    "{\"index\":2,\"data\":{\"value\":NaN}}\n"
#define TRAIN_NOSTEP                                                           \
    "{\"index\":0,\"data\":{\"loss\":0.5,\"acc\":0.9}}\n"                      \
    "{\"index\":1,\"data\":{\"loss\":0.25,\"timestamp\":1700000001.5}}\n"      \
    "{\"index\":2,\"data\":{\"acc\":1.0,\"epoch\":2}}\n"
/* some points with a step, some without, the steps W&B gives them apart
 * from the others' */
#define MIXED                                                                  \
    "{\"index\":0,\"data\":{\"value\":1.0,\"step\":0}}\n"                      \
    "{\"index\":1,\"data\":{\"value\":2.0}}\n"                                 \
    "{\"index\":2,\"data\":{\"value\":3.0,\"step\":2}}\n"                      \
    "{\"index\":3,\"data\":{\"value\":4.0}}\n"                                 \
    "{\"index\":4,\"data\":{\"value\":5.0,\"step\":7}}\n"
#define STEPPED "{\"index\":0,\"data\":{\"value\":7.0,\"step\":1}}\n"

static void stepless_round_trip(void **state)
{
    (void)state;
    static const char *const docs[][2] = {
        {"metrics/loss/data.jsonl", LOSS},
        {"metrics/loss/metadata.json", "{\"name\":\"loss\"}\n"},
        {"metrics/train/data.jsonl", TRAIN_NOSTEP},
        {"metrics/train/metadata.json", "{\"name\":\"train\"}\n"},
        {"metrics/mixed/data.jsonl", MIXED},
        {"metrics/mixed/metadata.json", "{\"name\":\"mixed\"}\n"},
        {"metrics/stepped/data.jsonl", STEPPED},
        {"metrics/stepped/metadata.json", "{\"name\":\"stepped\"}\n"},
    };
    char *l1 = layout("nst1", "nostep", "exp4", "nexp4", "RUNNING", docs,
                      sizeof(docs) / sizeof(docs[0]));
    char *l2 = wsrv_path(wsrv_tmp, "nst2");
    const char *up[] = {"copy", "-q", l1, "wandb:ent/nostep", NULL};
    copy_ok(up);
    /* W&B history has a _step in every row: the index */
    char *h = lines_of("nostep", "nexp4", "history");
    if (!strstr(h, "\"_step\":2,\"loss\":NaN") ||
        !strstr(h, "\"_step\":3,\"mixed\":4.0"))
        fail_msg("no invented steps in the history:\n%s", h);
    free(h);
    /* the map says which steps W&B was given: all of loss's and train's,
     * two of mixed's; stepped needs no entry */
    char *map = run_file("nostep", "nexp4", "xport/fields.json");
    static const char *const entries[] = {
        "{\"name\":\"train\",\"kind\":\"metric\",\"value\":false,"
        "\"fields\":[\"loss\",\"acc\",\"epoch\"],\"stepless\":true}",
        "{\"name\":\"loss\",\"kind\":\"metric\",\"value\":true,"
        "\"fields\":[],\"stepless\":true}",
        "{\"name\":\"mixed\",\"kind\":\"metric\",\"value\":true,"
        "\"fields\":[],\"stepless\":[[1,1],[3,3]]}",
    };
    has_all(map, entries, sizeof(entries) / sizeof(entries[0]));
    assert_null(strstr(map, "stepped"));
    free(map);

    char *err = NULL;
    assert_int_equal(wsrv_download("ent/nostep", l2, &err), 0);
    assert_true(!err || !strstr(err, "step"));
    free(err);
    assert_int_equal(wsrv_verify(l1, l2), 0);
    file_is(l2, "ent/nostep/exp4/metrics/loss/data.jsonl", LOSS);
    file_is(l2, "ent/nostep/exp4/metrics/train/data.jsonl", TRAIN_NOSTEP);
    file_is(l2, "ent/nostep/exp4/metrics/mixed/data.jsonl", MIXED);
    file_is(l2, "ent/nostep/exp4/metrics/stepped/data.jsonl", STEPPED);
    /* a series listed only for its steps is not joined: no key of another
     * series becomes one of its fields */
    no_xport_files(l2, "ent/nostep/exp4");
    free(l1);
    free(l2);
}

/* Steps that are decimals with whole values (Neptune logs every step as a
 * double): W&B history holds them as the integers they equal, at their own
 * value (not the point's index), and the map gives them back as decimals;
 * a plain and a split series. */
#define NEP                                                                    \
    "{\"index\":0,\"data\":{\"value\":0.5,\"step\":1.0}}\n"                 \
    "{\"index\":1,\"data\":{\"value\":0.25,\"step\":2.0}}\n"                \
    "{\"index\":2,\"data\":{\"value\":-0.0,\"step\":9007199254740992.0}}\n"
#define NEP_SPLIT                                                              \
    "{\"index\":0,\"data\":{\"loss\":0.5,\"acc\":0.9,\"step\":0.0}}\n"      \
    "{\"index\":1,\"data\":{\"loss\":0.25,\"acc\":1.0,\"step\":7.0}}\n"

static void float_steps_round_trip(void **state)
{
    (void)state;
    static const char *const docs[][2] = {
        {"metrics/nep/data.jsonl", NEP},
        {"metrics/nep/metadata.json", "{\"name\":\"nep\"}\n"},
        {"metrics/nsplit/data.jsonl", NEP_SPLIT},
        {"metrics/nsplit/metadata.json", "{\"name\":\"nsplit\"}\n"},
        {"metrics/stepped/data.jsonl", STEPPED},
        {"metrics/stepped/metadata.json", "{\"name\":\"stepped\"}\n"},
    };
    char *l1 = layout("fst1", "fsteps", "exp6", "fexp9", "RUNNING", docs,
                      sizeof(docs) / sizeof(docs[0]));
    char *l2 = wsrv_path(wsrv_tmp, "fst2");
    const char *up[] = {"copy", "-q", l1, "wandb:ent/fsteps", NULL};
    copy_ok(up);
    char *h = lines_of("fsteps", "fexp9", "history");
    if (!strstr(h, "\"_step\":2,\"nep\":0.25") ||
        !strstr(h, "\"_step\":9007199254740992,\"nep\":-0.0") ||
        !strstr(h, "\"_step\":7,\"nsplit/loss\":0.25"))
        fail_msg("whole decimal steps not at their values:\n%s", h);
    free(h);
    char *map = run_file("fsteps", "fexp9", "xport/fields.json");
    static const char *const entries[] = {
        "{\"name\":\"nsplit\",\"kind\":\"metric\",\"value\":false,"
        "\"fields\":[\"loss\",\"acc\"],\"float_steps\":true}",
        "{\"name\":\"nep\",\"kind\":\"metric\",\"value\":true,"
        "\"fields\":[],\"float_steps\":true}",
    };
    has_all(map, entries, sizeof(entries) / sizeof(entries[0]));
    assert_null(strstr(map, "stepped"));
    free(map);
    char *err = NULL;
    assert_int_equal(wsrv_download("ent/fsteps", l2, &err), 0);
    free(err);
    assert_int_equal(wsrv_verify(l1, l2), 0);
    file_is(l2, "ent/fsteps/exp6/metrics/nep/data.jsonl", NEP);
    file_is(l2, "ent/fsteps/exp6/metrics/nsplit/data.jsonl", NEP_SPLIT);
    file_is(l2, "ent/fsteps/exp6/metrics/stepped/data.jsonl", STEPPED);
    free(l1);
    free(l2);
}

/* Whole decimal steps next to integer or other decimal steps: no map can say
 * which were which, so they are written at their indices, each counted as
 * not carried and named (exit 3), like the other decimals. */
static void float_steps_mixed(void **state)
{
    (void)state;
    static const char *const docs[][2] = {
        {"metrics/half/data.jsonl",
         "{\"index\":0,\"data\":{\"value\":1.0,\"step\":0.0}}\n"
         "{\"index\":1,\"data\":{\"value\":2.0,\"step\":0.5}}\n"},
        {"metrics/half/metadata.json", "{\"name\":\"half\"}\n"},
        {"metrics/both/data.jsonl",
         "{\"index\":0,\"data\":{\"value\":1.0,\"step\":0}}\n"
         "{\"index\":1,\"data\":{\"value\":2.0,\"step\":1.0}}\n"},
        {"metrics/both/metadata.json", "{\"name\":\"both\"}\n"},
    };
    char *l1 = layout("fmx1", "fmixed", "exp7", "fexp7", NULL, docs,
                      sizeof(docs) / sizeof(docs[0]));
    const char *up[] = {"copy", l1, "wandb:ent/fmixed", NULL};
    char *err = NULL, *out = NULL;
    assert_int_equal(tu_run_xport(&out, &err, up), 3);
    if (!strstr(err, "point 1 of series 'half' has step 0.5") ||
        !strstr(err, "1 point of series 'half' has whole decimal steps next to other "
                     "decimal steps") ||
        !strstr(err, "1 point of series 'both' has whole decimal steps next to integer steps"))
        fail_msg("mixed steps not named:\n%s", err);
    if (!strstr(err, "3 item(s) could not be carried"))
        fail_msg("not 3 items counted:\n%s", err);
    free(out);
    free(err);
    /* no map: nothing in it to say */
    char *h = lines_of("fmixed", "fexp7", "history");
    assert_non_null(strstr(h, "\"_step\":1,\"both\":2.0"));
    free(h);
    free(l1);
}

/* A point without step whose index is also the step of another point of its
 * series: W&B holds both with the same _step, and no map can tell them
 * apart, so the point without step is counted as dropped (it comes back
 * with its index as step), named with run and series; the series' other
 * points and the other series come back as they were. */
static void stepless_ambiguous(void **state)
{
    (void)state;
    static const char *const docs[][2] = {
        {"metrics/clash/data.jsonl",
         "{\"index\":0,\"data\":{\"value\":1.0,\"step\":1}}\n"
         "{\"index\":1,\"data\":{\"value\":2.0}}\n"},
        {"metrics/clash/metadata.json", "{\"name\":\"clash\"}\n"},
        {"metrics/loss/data.jsonl", LOSS},
        {"metrics/loss/metadata.json", "{\"name\":\"loss\"}\n"},
    };
    char *l1 = layout("amb1", "amb", "exp5", "aexp5", NULL, docs,
                      sizeof(docs) / sizeof(docs[0]));
    const char *up[] = {"copy", l1, "wandb:ent/amb", NULL};
    char *err = NULL, *out = NULL;
    assert_int_not_equal(tu_run_xport(&out, &err, up), 0);
    static const char *const want[] = {
        "W&B run 'aexp5': 1 point of series 'clash' without step comes back "
        "with its index as step"};
    has_all(err, want, 1);
    free(err);
    free(out);
    char *l2 = wsrv_path(wsrv_tmp, "amb2");
    assert_int_equal(wsrv_download("ent/amb", l2, NULL), 0);
    file_is(l2, "ent/amb/exp5/metrics/loss/data.jsonl", LOSS);
    file_is(l2, "ent/amb/exp5/metrics/clash/data.jsonl",
            "{\"index\":0,\"data\":{\"value\":1.0,\"step\":1}}\n"
            "{\"index\":1,\"data\":{\"value\":2.0,\"step\":1}}\n");
    free(l1);
    free(l2);
}

/* A step that is not an integer has no place as a history _step: the point
 * is written at its index and that is counted, never silent. */
static void step_not_integer(void **state)
{
    (void)state;
    static const char *const docs[][2] = {
        {"metrics/frac/data.jsonl",
         "{\"index\":0,\"data\":{\"value\":1.5,\"step\":2.5}}\n"
         "{\"index\":1,\"data\":{\"value\":2.5,\"step\":3}}\n"},
        {"metrics/frac/metadata.json", "{\"name\":\"frac\"}\n"},
    };
    char *l1 = layout("frac1", "frac", "exp6", "fexp6", NULL, docs,
                      sizeof(docs) / sizeof(docs[0]));
    const char *up[] = {"copy", l1, "wandb:ent/frac", NULL};
    char *err = NULL, *out = NULL;
    assert_int_not_equal(tu_run_xport(&out, &err, up), 0);
    static const char *const want[] = {
        "W&B run 'fexp6': point 0 of series 'frac' has step 2.5; W&B history "
        "steps are integers, so it is written at step 0"};
    has_all(err, want, 1);
    free(err);
    free(out);
    free(l1);
}

/* W&B keeps no point index: a series whose indexes are not 0, 1, 2, ...
 * comes back renumbered, and that is counted, once per series. */
static void index_gap(void **state)
{
    (void)state;
    static const char *const docs[][2] = {
        {"metrics/gappy/data.jsonl",
         "{\"index\":0,\"data\":{\"value\":1.0,\"step\":0}}\n"
         "{\"index\":2,\"data\":{\"value\":2.0,\"step\":2}}\n"
         "{\"index\":3,\"data\":{\"value\":3.0,\"step\":3}}\n"},
        {"metrics/gappy/metadata.json", "{\"name\":\"gappy\"}\n"},
    };
    char *l1 = layout("gap1", "gap", "exp8", "gexp8", NULL, docs,
                      sizeof(docs) / sizeof(docs[0]));
    const char *up[] = {"copy", l1, "wandb:ent/gap", NULL};
    char *err = NULL, *out = NULL;
    assert_int_not_equal(tu_run_xport(&out, &err, up), 0);
    static const char *const want[] = {
        "W&B run 'gexp8': series 'gappy' has point index 2 at position 1; W&B "
        "keeps no index, so its points come back numbered 0, 1, 2, ...",
        "1 item(s) could not be carried"};
    has_all(err, want, 2);
    free(err);
    free(out);
    free(l1);
}

/* A copy into another project is verified where it went: verify pairs the
 * layout's experiments with those under B's workspace and project. */
static void verify_where_copied(void **state)
{
    (void)state;
    static const char *const docs[][2] = {
        {"metrics/loss/data.jsonl", LOSS},
        {"metrics/loss/metadata.json", "{\"name\":\"loss\"}\n"},
    };
    char *l1 = layout("moved1", "srcproj", "exp7", "mexp7", "COMPLETED", docs,
                      sizeof(docs) / sizeof(docs[0]));
    const char *up[] = {"copy", "-q", l1, "wandb:ent/dstproj", NULL};
    copy_ok(up);
    const char *vf[] = {"verify", l1, "wandb:ent/dstproj", NULL};
    char *err = NULL, *out = NULL;
    int code = tu_run_xport(&out, &err, vf);
    if (code)
        fail_msg("verify exited %d:\n%s%s", code, out ? out : "", err ? err : "");
    assert_non_null(strstr(out, "equal"));
    free(out);
    free(err);
    /* --sync all finds the copy there too: a changed series is rewritten */
    assert_int_equal(tu_sh("printf '{\"index\":3,\"data\":{\"value\":9.5}}\\n' >> "
                           "'%s/ent/srcproj/exp7/metrics/loss/data.jsonl'", l1), 0);
    const char *sync[] = {"copy", "-q", "--sync", "all", l1,
                          "wandb:ent/dstproj", NULL};
    copy_ok(sync);
    code = tu_run_xport(&out, &err, vf);
    if (code)
        fail_msg("verify after --sync all exited %d:\n%s%s", code, out ? out : "",
                 err ? err : "");
    free(out);
    free(err);
    free(l1);
}

/* A map written before maps said which points had no step: every step
 * read stays. */
static void stepless_old_map(void **state)
{
    (void)state;
    assert_int_equal(wsrv_post("/__emu/seed",
        "{\"projects\":[{\"entity\":\"ent\",\"name\":\"old\",\"runs\":["
        "{\"name\":\"r\",\"history\":["
        "\"{\\\"_step\\\":0,\\\"loss\\\":1,\\\"train/acc\\\":0.5}\"],"
        "\"files\":[{\"name\":\"xport/fields.json\",\"content\":"
        "\"{\\\"xportFields\\\":1,\\\"series\\\":[{\\\"name\\\":"
        "\\\"train\\\",\\\"kind\\\":\\\"metric\\\",\\\"value\\\":false,"
        "\\\"fields\\\":[\\\"acc\\\"]}]}\"}]}]}]}"),
        0);
    char *out = wsrv_path(wsrv_tmp, "old");
    assert_int_equal(wsrv_download("ent/old", out, NULL), 0);
    file_is(out, "ent/old/r/metrics/loss/data.jsonl",
            "{\"index\":0,\"data\":{\"value\":1,\"step\":0}}\n");
    file_is(out, "ent/old/r/metrics/train/data.jsonl",
            "{\"index\":0,\"data\":{\"acc\":0.5,\"step\":0}}\n");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(split_round_trip, wsrv_reset),
        cmocka_unit_test_setup(split_collision, wsrv_reset),
        cmocka_unit_test_setup(split_without_map, wsrv_reset),
        cmocka_unit_test_setup(stepless_round_trip, wsrv_reset),
        cmocka_unit_test_setup(stepless_ambiguous, wsrv_reset),
        cmocka_unit_test_setup(stepless_old_map, wsrv_reset),
        cmocka_unit_test_setup(float_steps_round_trip, wsrv_reset),
        cmocka_unit_test_setup(float_steps_mixed, wsrv_reset),
        cmocka_unit_test_setup(step_not_integer, wsrv_reset),
        cmocka_unit_test_setup(verify_where_copied, wsrv_reset),
        cmocka_unit_test_setup(index_gap, wsrv_reset),
    };
    return cmocka_run_group_tests(tests, wsrv_setup, wsrv_teardown);
}
