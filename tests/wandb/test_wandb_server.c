/* The wandb adapter against the W&B emulator (tests/emulators/wandb_emu.py):
 * a seeded run downloaded value by value, the full history beyond the
 * sampled limit, 429s, a wrong md5, a bad key, a round trip of the offline
 * fixtures through the server checked with `xport verify`, and a rerun that
 * sends no history twice; a layout with an artifact, an others document and
 * a track through the server and back, reruns that make no second artifact
 * version, a failed artifact upload and the rerun that completes it, and an
 * artifact whose version W&B numbers differently. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "wsrv.h"
#include "xport/hash.h"

static void seeded_download(void **state)
{
    (void)state;
    assert_int_equal(wsrv_post("/__emu/seed",
        "{\"projects\":[{\"entity\":\"ent\",\"name\":\"proj\",\"runs\":[{"
        "\"name\":\"run1\",\"displayName\":\"first\",\"state\":\"failed\","
        "\"config\":{\"lr\":0.1,\"n\":3},\"summary\":{\"loss\":0.5},"
        "\"tags\":[\"a\"],\"history\":["
        "\"{\\\"_step\\\":0,\\\"_timestamp\\\":1700000000.5,\\\"_runtime\\\":1.0,\\\"loss\\\":1.0,\\\"acc\\\":1}\","
        "\"{\\\"_step\\\":5,\\\"_timestamp\\\":1700000001.25,\\\"loss\\\":NaN,\\\"acc\\\":2}\","
        "\"{\\\"_step\\\":9,\\\"_timestamp\\\":1700000002.5,\\\"loss\\\":-Infinity}\"],"
        "\"events\":[\"{\\\"_wandb\\\":true,\\\"_timestamp\\\":1700000000.0,\\\"system.cpu\\\":12.5}\"],"
        "\"logs\":[\"2023-11-14T22:13:20.000001 hello\",\"ERROR 2023-11-14T22:13:21.5 bad\"],"
        "\"files\":[{\"name\":\"config.yaml\",\"content\":\"a: 1\\n\"}]}]}]}"),
        0);
    char *out = wsrv_path(wsrv_tmp, "dl");
    assert_int_equal(wsrv_download("ent/proj", out, NULL), 0);
    char *d = wsrv_path(out, "ent/proj/first");
    char *f = wsrv_path(d, "metrics/loss/data.jsonl");
    char *s = tu_slurp(f);
    assert_non_null(s);
    assert_string_equal(s,
        "{\"index\":0,\"data\":{\"value\":1.0,\"step\":0,\"timestamp\":1700000000.5,\"runtime\":1.0}}\n"
        "{\"index\":1,\"data\":{\"value\":NaN,\"step\":5,\"timestamp\":1700000001.25}}\n"
        "{\"index\":2,\"data\":{\"value\":-Infinity,\"step\":9,\"timestamp\":1700000002.5}}\n");
    free(s);
    free(f);
    f = wsrv_path(d, "metrics/acc/data.jsonl");
    s = tu_slurp(f);
    assert_non_null(strstr(s, "\"value\":1,\"step\":0"));
    assert_non_null(strstr(s, "\"value\":2,\"step\":5"));
    free(s);
    free(f);
    f = wsrv_path(d, "system/cpu/data.jsonl");
    s = tu_slurp(f);
    assert_string_equal(s, "{\"index\":0,\"data\":{\"value\":12.5,\"timestamp\":1700000000.0}}\n");
    free(s);
    free(f);
    f = wsrv_path(d, "logs/logs.jsonl");
    s = tu_slurp(f);
    assert_non_null(strstr(s, "\"timestamp\":\"2023-11-14T22:13:20.000001Z\",\"stream\":\"stdout\",\"message\":\"hello\""));
    /* W&B gives stderr lines level "error" (console_logs.py) */
    assert_non_null(strstr(s, "\"timestamp\":\"2023-11-14T22:13:21.5Z\",\"level\":\"error\",\"stream\":\"stderr\",\"message\":\"bad\""));
    free(s);
    free(f);
    f = wsrv_path(d, "parameters.json");
    s = tu_slurp(f);
    assert_non_null(strstr(s, "{\"lr\":0.1,\"n\":3}"));
    free(s);
    free(f);
    f = wsrv_path(d, "experiment.json");
    s = tu_slurp(f);
    assert_non_null(strstr(s, "\"FAILED\""));
    free(s);
    free(f);
    f = wsrv_path(d, "files/config.yaml");
    s = tu_slurp(f);
    assert_string_equal(s, "a: 1\n");
    free(s);
    free(f);
    free(d);
    free(out);
}

static void full_history(void **state)
{
    (void)state;
    /* 5000 generated rows: far more than the 500-row sample */
    assert_int_equal(wsrv_post("/__emu/seed",
        "{\"projects\":[{\"entity\":\"ent\",\"name\":\"big\",\"runs\":[{"
        "\"name\":\"big1\",\"history\":{\"rows\":5000,\"metrics\":3}}]}]}"), 0);
    /* and 429s on the way, with Retry-After */
    assert_int_equal(wsrv_post("/__emu/faults",
        "{\"path\":\"/graphql\",\"status\":429,\"retry_after\":1,\"count\":2,\"skip\":2}"), 0);
    char *out = wsrv_path(wsrv_tmp, "big");
    const char *argv[] = {"download", "-q", "--from", "wandb", "ent/big",
                          "metrics", "-o", out, NULL};
    assert_int_equal(tu_run_xport(NULL, NULL, argv), 0);
    char *s = wsrv_get("/__emu/faults");
    assert_non_null(strstr(s, "\"fired\": 2") ? s : strstr(s, "\"fired\":2"));
    free(s);
    char *cmd = NULL;
    assert_true(asprintf(&cmd, "test $(cat %s/ent/big/big1/metrics/*/data.jsonl | wc -l) -eq 15000", out) > 0);
    assert_int_equal(tu_sh("%s", cmd), 0);
    free(cmd);
    free(out);
}

static void wrong_md5(void **state)
{
    (void)state;
    assert_int_equal(wsrv_post("/__emu/seed",
        "{\"projects\":[{\"entity\":\"ent\",\"name\":\"md5\",\"runs\":[{"
        "\"name\":\"m1\",\"files\":[{\"name\":\"a.txt\",\"content\":\"hello\"}]}]}]}"), 0);
    assert_int_equal(wsrv_post("/__emu/faults",
        "{\"path\":\"/storage/\",\"corrupt\":true,\"count\":-1}"), 0);
    char *out = wsrv_path(wsrv_tmp, "md5");
    char *err = NULL;
    assert_int_not_equal(wsrv_download("ent/md5", out, &err), 0);
    assert_non_null(strstr(err, "a.txt"));
    assert_null(strstr(err, WSRV_KEY));
    free(err);
    free(out);
}

static void bad_key(void **state)
{
    (void)state;
    char *out = wsrv_path(wsrv_tmp, "bad");
    const char *argv[] = {"download", "-q", "--from", "wandb", "ent/proj",
                          "--api-key", "wrong_0000000000000000000000000000000000000",
                          "-o", out, NULL};
    char *err = NULL, *o = NULL;
    assert_int_equal(tu_run_xport(&o, &err, argv), 4);
    assert_null(strstr(err, "wrong_0000"));
    assert_null(strstr(o, "wrong_0000"));
    free(err);
    free(o);
    free(out);
}

/* offline fixtures -> layout -> W&B -> layout, equal; a rerun adds no
 * history lines */
static void round_trip(void **state)
{
    (void)state;
    char *l1 = wsrv_path(wsrv_tmp, "rt1"), *l2 = wsrv_path(wsrv_tmp, "rt2");
    static const char *const fx[] = {"go-core-2026/single-tiny",
                                     "go-core-2026/edge-nan-inf",
                                     "go-core-2026/edge-unicode",
                                     "go-core-2026/media",
                                     "go-core-2026/workspace-multi"};
    for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
        char *rel = wsrv_path("tests/fixtures/wandb", fx[i]);
        char *src = tu_src(rel);
        const char *argv[] = {"download", "-q", "--from", "wandb-offline",
                              src, "-o", l1, NULL};
        assert_int_equal(tu_run_xport(NULL, NULL, argv), 0);
        free(src);
        free(rel);
    }
    const char *up[] = {"copy", "-q", l1, "wandb:fixture-entity/leet-fixtures",
                        NULL};
    assert_int_equal(tu_run_xport(NULL, NULL, up), 0);
    assert_int_equal(wsrv_download("fixture-entity/leet-fixtures", l2, NULL), 0);
    const char *ver[] = {"verify", l1, l2, NULL};
    char *o = NULL;
    int rc = tu_run_xport(&o, NULL, ver);
    if (rc)
        print_message("%s", o);
    assert_int_equal(rc, 0);
    free(o);
    /* the runs' own start times come back (W&B sets createdAt itself; the
     * start travels in config _wandb.start_time) */
    assert_int_equal(tu_sh("cd %s && n=0 && for f in */*/*/experiment.json; do "
                           "a=$(grep -o '\"startedAt\":\"[^\"]*\"' \"$f\"); "
                           "b=$(grep -o '\"startedAt\":\"[^\"]*\"' \"%s/$f\"); "
                           "[ -n \"$a\" ] && [ \"$a\" = \"$b\" ] || exit 1; n=$((n+1)); done; "
                           "[ $n -ge 5 ]", l1, l2), 0);
    char *before = wsrv_get("/__emu/dump?points=0&content=0");
    assert_int_equal(tu_run_xport(NULL, NULL, up), 0);
    char *after = wsrv_get("/__emu/dump?points=0&content=0");
    assert_non_null(before);
    assert_non_null(after);
    /* the line counts (and everything else in the dump) are unchanged */
    const char *hb = strstr(before, "historyLineCount");
    const char *ha = strstr(after, "historyLineCount");
    assert_non_null(hb);
    while (hb && ha) {
        assert_int_equal(atoi(strchr(hb, ':') + 1), atoi(strchr(ha, ':') + 1));
        hb = strstr(hb + 1, "historyLineCount");
        ha = strstr(ha + 1, "historyLineCount");
    }
    assert_true(hb == NULL && ha == NULL);
    free(before);
    free(after);
    free(l1);
    free(l2);
}

/* ---- artifacts, the others document and tracks --------------------------- */

#define EXP_DIR "ent/arts/exp1"

/* Write bytes to dir/rel and return its files.jsonl line (caller frees). */
static char *layout_file(const char *dir, const char *rel, const char *data,
                         size_t len, const char *entry_path,
                         const char *artifact)
{
    char *p = wsrv_path(dir, rel);
    FILE *fp = fopen(p, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    free(p);
    char hex[65], *line = NULL;
    xp_sha256_hex(hex, data, len);
    assert_true(asprintf(&line,
                         "{\"path\":\"%s\",\"size\":%zu,\"sha256\":\"%s\"%s%s%s}\n",
                         entry_path, len, hex, artifact ? ",\"artifact\":\"" : "",
                         artifact ? artifact : "", artifact ? "\"" : "") > 0);
    return line;
}

/* A layout with one experiment holding a run file, an artifact 'ds:v0' of
 * three files (nested paths, one empty), an others document, a metric and
 * a track. */
static char *make_layout(const char *name)
{
    char *root = wsrv_path(wsrv_tmp, name);
    char *exp = wsrv_path(root, EXP_DIR);
    assert_int_equal(tu_sh("mkdir -p '%s/files' '%s/metrics/loss' "
                           "'%s/tracks/robot%%2Fpose' "
                           "'%s/artifacts/ds%%3Av0/sub/dir'",
                           exp, exp, exp, exp), 0);
    char *f = wsrv_path(root, "xport.json");
    tu_write(f, "{\"format\":\"xport-layout\",\"version\":1}\n");
    free(f);
    f = wsrv_path(exp, "experiment.json");
    tu_write(f, "{\"name\":\"exp1\",\"project\":\"arts\",\"workspace\":\"ent\","
                "\"tags\":[\"t1\"],\"status\":\"COMPLETED\",\"description\":\"d\","
                "\"source\":{\"vendor\":\"wandb\",\"id\":\"xrun1\",\"fields\":{"
                "\"artifacts\":[{\"name\":\"ds\",\"version\":\"v0\","
                "\"type\":\"dataset\",\"aliases\":[\"latest\",\"best\"],"
                "\"description\":\"the data\",\"tags\":[\"raw\"],\"historyStep\":1,"
                "\"metadata\":{\"rows\":3,\"nested\":{\"k\":[1,2.5,null]}}}]}},"
                "\"xport\":{\"format\":\"xport-layout\",\"version\":1}}\n");
    free(f);
    static const char *const docs[][2] = {
        {"parameters.json", "{\"lr\":0.1}\n"},
        {"summary.json", "{\"loss\":0.5}\n"},
        {"others.json", "{\"note\":\"hi\",\"n\":{\"a\":[1,2.5,null,\"x\"]},"
                        "\"f\":1.0}\n"},
        {"metrics/loss/data.jsonl",
         "{\"index\":0,\"data\":{\"value\":1.0,\"step\":0}}\n"
         "{\"index\":1,\"data\":{\"value\":0.5,\"step\":1}}\n"},
        {"metrics/loss/metadata.json", "{\"name\":\"loss\"}\n"},
        {"tracks/robot%2Fpose/data.jsonl",
         "{\"timestamp\":1.5,\"x\":1,\"y\":2.25,\"label\":\"a\"}\n"
         "{\"timestamp\":2.5,\"x\":2,\"y\":NaN,\"label\":\"b\","
         "\"extra\":[1,{\"z\":true}]}\n"},
        {"tracks/robot%2Fpose/metadata.json",
         "{\"topic\":\"robot/pose\",\"metadata\":{\"frame\":\"world\"}}\n"},
    };
    wsrv_write_docs(exp, docs, sizeof(docs) / sizeof(docs[0]));
    static char bin[70000];
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (char)((i * 7919u) >> 3);
    char *l1 = layout_file(exp, "files/config.txt", "hello\n", 6, "config.txt",
                           NULL);
    char *l2 = layout_file(exp, "artifacts/ds%3Av0/a.txt", "alpha\n", 6,
                           "a.txt", "ds:v0");
    char *l3 = layout_file(exp, "artifacts/ds%3Av0/sub/dir/b.bin", bin,
                           sizeof(bin), "sub/dir/b.bin", "ds:v0");
    char *l4 = layout_file(exp, "artifacts/ds%3Av0/empty.txt", "", 0,
                           "empty.txt", "ds:v0");
    char *all = NULL;
    assert_true(asprintf(&all, "%s%s%s%s", l1, l2, l3, l4) > 0);
    f = wsrv_path(exp, "files.jsonl");
    tu_write(f, all);
    free(f);
    free(all);
    free(l1);
    free(l2);
    free(l3);
    free(l4);
    free(exp);
    return root;
}

/* The emulator's artifact collection 'ds' of ent/arts. */
static struct json_object *ds_collection(struct json_object *dump)
{
    const char *const k[] = {"entities", "ent", "projects", "arts",
                             "artifacts", "ds", NULL};
    return wsrv_dig(dump, k);
}

static int64_t operations(const char *op)
{
    struct json_object *st = wsrv_get_json("/__emu/stats");
    const char *const k[] = {"byOperation", NULL};
    struct json_object *n = NULL;
    int64_t v = json_object_object_get_ex(wsrv_dig(st, k), op, &n)
                    ? json_object_get_int64(n) : 0;
    json_object_put(st);
    return v;
}

static void artifact_round_trip(void **state)
{
    (void)state;
    char *l1 = make_layout("art1"), *l2 = wsrv_path(wsrv_tmp, "art2");
    const char *up[] = {"copy", "-q", l1, "wandb:ent/arts", NULL};
    char *err = NULL;
    int rc = tu_run_xport(NULL, &err, up);
    if (rc)
        print_message("%s", err);
    assert_int_equal(rc, 0);
    free(err);
    assert_int_equal(wsrv_download("ent/arts", l2, NULL), 0);
    assert_int_equal(wsrv_verify(l1, l2), 0);

    /* what the server holds: xport's own run files, one committed version
     * logged by the run, its manifest with base64 MD5 digests */
    struct json_object *d = wsrv_get_json("/__emu/dump?history=0");
    const char *const rk[] = {"entities", "ent", "projects", "arts", "runs",
                              "xrun1", NULL};
    struct json_object *run = wsrv_dig(d, rk);
    const char *const fk[] = {"files", NULL};
    struct json_object *files = wsrv_dig(run, fk), *x;
    assert_int_equal(json_object_object_length(files), 3);
    assert_true(json_object_object_get_ex(files, "xport/others.json", &x));
    assert_true(json_object_object_get_ex(files,
                                          "xport/tracks/robot%2Fpose.jsonl", &x));
    assert_true(json_object_object_get_ex(files, "config.txt", &x));
    const char *const ok[] = {"outputArtifacts", NULL};
    assert_string_equal(json_object_to_json_string(wsrv_dig(run, ok)), "[ \"ds:v0\" ]");
    struct json_object *c = ds_collection(d);
    const char *const vk[] = {"versions", NULL}, *const pk[] = {"pending", NULL};
    assert_int_equal(json_object_array_length(wsrv_dig(c, vk)), 1);
    assert_int_equal(json_object_array_length(wsrv_dig(c, pk)), 0);
    struct json_object *v0 = json_object_array_get_idx(wsrv_dig(c, vk), 0);
    const char *const ek[] = {"manifest", "contents", "empty.txt", "digest", NULL};
    assert_string_equal(json_object_get_string(wsrv_dig(v0, ek)),
                        "1B2M2Y8AsgTpgAmY7PhCfg==");
    const char *const sk[] = {"manifest", "contents", "sub/dir/b.bin", "size", NULL};
    assert_int_equal(json_object_get_int64(wsrv_dig(v0, sk)), 70000);
    const char *const tk[] = {"tags", NULL};
    assert_string_equal(json_object_to_json_string(wsrv_dig(v0, tk)), "[ \"raw\" ]");
    json_object_put(d);

    /* the artifact's attributes come back as the source had them */
    char *e1 = wsrv_path(l1, EXP_DIR "/experiment.json");
    char *e2 = wsrv_path(l2, EXP_DIR "/experiment.json");
    struct json_object *j1 = json_object_from_file(e1);
    struct json_object *j2 = json_object_from_file(e2);
    assert_non_null(j1);
    assert_non_null(j2);
    const char *const ak[] = {"source", "fields", "artifacts", NULL};
    struct json_object *a1 = json_object_array_get_idx(wsrv_dig(j1, ak), 0);
    struct json_object *a2 = json_object_array_get_idx(wsrv_dig(j2, ak), 0);
    static const char *const attrs[] = {"name", "version", "type", "aliases",
                                        "description", "metadata", "tags",
                                        "historyStep"};
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        const char *const one[] = {attrs[i], NULL};
        char *s1 = strdup(json_object_to_json_string(wsrv_dig(a1, one)));
        assert_string_equal(s1, json_object_to_json_string(wsrv_dig(a2, one)));
        free(s1);
    }
    json_object_put(j1);
    json_object_put(j2);
    free(e1);
    free(e2);
    /* the track came back as a track, not as a file */
    char *t2 = wsrv_path(l2, EXP_DIR "/tracks/robot%2Fpose/data.jsonl");
    char *s = tu_slurp(t2);
    assert_non_null(s);
    assert_string_equal(s, "{\"timestamp\":1.5,\"x\":1,\"y\":2.25,\"label\":\"a\"}\n"
                           "{\"timestamp\":2.5,\"x\":2,\"y\":NaN,\"label\":\"b\","
                           "\"extra\":[1,{\"z\":true}]}\n");
    free(s);
    free(t2);
    char *fl = wsrv_path(l2, EXP_DIR "/files.jsonl");
    s = tu_slurp(fl);
    assert_null(strstr(s, "xport/"));
    free(s);
    free(fl);

    /* a rerun skips the finished run; --overwrite writes it again, and W&B
     * answers the identical artifact as committed: no new version, no
     * upload */
    int64_t files_ops = operations("CreateArtifactFiles");
    assert_int_equal(files_ops, 1);
    assert_int_equal(tu_run_xport(NULL, NULL, up), 0);
    const char *over[] = {"copy", "-q", "--overwrite", l1, "wandb:ent/arts",
                          NULL};
    assert_int_equal(tu_run_xport(NULL, NULL, over), 0);
    assert_int_equal(operations("CreateArtifact"), 2);
    assert_int_equal(operations("CreateArtifactFiles"), files_ops);
    d = wsrv_get_json("/__emu/dump?history=0");
    c = ds_collection(d);
    assert_int_equal(json_object_array_length(wsrv_dig(c, vk)), 1);
    assert_int_equal(json_object_array_length(wsrv_dig(c, pk)), 0);
    run = wsrv_dig(d, rk);
    /* and an empty map of split series, so that no older one stays */
    assert_int_equal(json_object_object_length(wsrv_dig(run, fk)), 4);
    assert_true(json_object_object_get_ex(wsrv_dig(run, fk),
                                          "xport/fields.json", &x));
    assert_string_equal(json_object_to_json_string(wsrv_dig(run, ok)), "[ \"ds:v0\" ]");
    const char *const hk[] = {"historyLineCount", NULL};
    assert_int_equal(json_object_get_int64(wsrv_dig(run, hk)), 2);
    json_object_put(d);
    char *l3 = wsrv_path(wsrv_tmp, "art3");
    assert_int_equal(wsrv_download("ent/arts", l3, NULL), 0);
    assert_int_equal(wsrv_verify(l1, l3), 0);
    free(l1);
    free(l2);
    free(l3);
}

/* A PUT of an artifact file fails: the copy fails naming the artifact and
 * the file, the run stays resumable, and a rerun completes the same
 * (pending) artifact. */
static void artifact_put_fails(void **state)
{
    (void)state;
    char *l1 = make_layout("fail1"), *l2 = wsrv_path(wsrv_tmp, "fail2");
    /* artifact uploads only (their URLs are apart from run files'); the
     * first goes through */
    assert_int_equal(wsrv_post("/__emu/faults",
        "{\"path\":\"^/storage/upload/art-\",\"method\":\"PUT\","
        "\"status\":400,\"skip\":1}"), 0);
    const char *up[] = {"copy", "-q", l1, "wandb:ent/arts", NULL};
    char *err = NULL;
    assert_int_not_equal(tu_run_xport(NULL, &err, up), 0);
    assert_non_null(strstr(err, "artifact 'ds:v0'"));
    assert_non_null(strstr(err, "'empty.txt'"));
    assert_non_null(strstr(err, "HTTP 400"));
    assert_null(strstr(err, WSRV_KEY));
    free(err);
    struct json_object *d = wsrv_get_json("/__emu/dump?history=0");
    const char *const vk[] = {"versions", NULL}, *const pk[] = {"pending", NULL};
    struct json_object *c = ds_collection(d);
    assert_int_equal(json_object_array_length(wsrv_dig(c, vk)), 0);
    assert_int_equal(json_object_array_length(wsrv_dig(c, pk)), 1);
    const char *const sk[] = {"entities", "ent", "projects", "arts", "runs",
                              "xrun1", "state", NULL};
    assert_string_equal(json_object_get_string(wsrv_dig(d, sk)), "running");
    json_object_put(d);

    err = NULL;
    int rc = tu_run_xport(NULL, &err, up);
    if (rc)
        print_message("%s", err);
    free(err);
    assert_int_equal(rc, 0);
    d = wsrv_get_json("/__emu/dump?history=0");
    c = ds_collection(d);
    assert_int_equal(json_object_array_length(wsrv_dig(c, vk)), 1);
    assert_int_equal(json_object_array_length(wsrv_dig(c, pk)), 0);
    assert_string_equal(json_object_get_string(wsrv_dig(d, sk)), "finished");
    json_object_put(d);
    assert_int_equal(wsrv_download("ent/arts", l2, NULL), 0);
    assert_int_equal(wsrv_verify(l1, l2), 0);
    free(l1);
    free(l2);
}

/* W&B numbers versions itself: a collection that already has a version
 * makes the layout's 'ds:v0' a 'ds:v1', which is counted, not hidden. */
static void artifact_renumbered(void **state)
{
    (void)state;
    assert_int_equal(wsrv_post("/__emu/seed",
        "{\"projects\":[{\"entity\":\"ent\",\"name\":\"arts\",\"artifacts\":["
        "{\"name\":\"ds\",\"type\":\"dataset\",\"files\":[{\"path\":\"o.txt\","
        "\"content\":\"older\"}]}]}]}"), 0);
    char *l1 = make_layout("renum");
    const char *up[] = {"copy", "-q", l1, "wandb:ent/arts", NULL};
    char *err = NULL;
    assert_int_not_equal(tu_run_xport(NULL, &err, up), 0);
    assert_non_null(strstr(err, "artifact 'ds:v0' is 'ds:v1' on W&B"));
    free(err);
    free(l1);
}

/* The reader takes xport's own run files for the document and the track
 * only when they read as such; anything else under those names, and other
 * files under xport/, stay plain run files. */
static void reserved_files_read(void **state)
{
    (void)state;
    assert_int_equal(wsrv_post("/__emu/seed",
        "{\"projects\":[{\"entity\":\"ent\",\"name\":\"res\",\"runs\":["
        "{\"name\":\"good\",\"files\":["
        "{\"name\":\"xport/others.json\",\"content\":\"{\\\"k\\\":[1,2.5]}\"},"
        "{\"name\":\"xport/tracks/t%2F1.jsonl\",\"content\":"
        "\"{\\\"xportTrack\\\":1,\\\"name\\\":\\\"t/1\\\"}\\n"
        "{\\\"index\\\":5,\\\"data\\\":{\\\"timestamp\\\":1.5,\\\"v\\\":NaN}}\\n\"},"
        "{\"name\":\"xport/notes.txt\",\"content\":\"n\"}]},"
        "{\"name\":\"bad\",\"files\":["
        "{\"name\":\"xport/others.json\",\"content\":\"[1]\"},"
        "{\"name\":\"xport/tracks/x.jsonl\",\"content\":\"{\\\"a\\\":1}\\n\"}]}]}]}"),
        0);
    char *out = wsrv_path(wsrv_tmp, "res");
    char *err = NULL;
    assert_int_equal(wsrv_download("ent/res", out, &err), 0);
    assert_non_null(strstr(err, "'xport/others.json' is not an others document"));
    assert_non_null(strstr(err, "'xport/tracks/x.jsonl' has no track header"));
    free(err);
    static const char *const want[][2] = {
        {"good/others.json", "{\"k\":[1,2.5]}\n"},
        {"good/tracks/t%2F1/data.jsonl", "{\"timestamp\":1.5,\"v\":NaN}\n"},
        {"good/files/xport/notes.txt", "n"},
        {"bad/files/xport/others.json", "[1]"},
        {"bad/files/xport/tracks/x.jsonl", "{\"a\":1}\n"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char *rel = wsrv_path("ent/res", want[i][0]);
        char *f = wsrv_path(out, rel);
        char *s = tu_slurp(f);
        if (!s)
            fail_msg("'%s' is missing", rel);
        assert_string_equal(s, want[i][1]);
        free(s);
        free(f);
        free(rel);
    }
    char *f = wsrv_path(out, "ent/res/good/files.jsonl");
    char *s = tu_slurp(f);
    assert_null(strstr(s, "xport/others.json"));
    assert_null(strstr(s, "xport/tracks"));
    free(s);
    free(f);
    f = wsrv_path(out, "ent/res/bad/others.json");
    assert_null(tu_slurp(f));
    free(f);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(seeded_download, wsrv_reset),
        cmocka_unit_test_setup(full_history, wsrv_reset),
        cmocka_unit_test_setup(wrong_md5, wsrv_reset),
        cmocka_unit_test_setup(bad_key, wsrv_reset),
        cmocka_unit_test_setup(round_trip, wsrv_reset),
        cmocka_unit_test_setup(artifact_round_trip, wsrv_reset),
        cmocka_unit_test_setup(artifact_put_fails, wsrv_reset),
        cmocka_unit_test_setup(artifact_renumbered, wsrv_reset),
        cmocka_unit_test_setup(reserved_files_read, wsrv_reset),
    };
    return cmocka_run_group_tests(tests, wsrv_setup, wsrv_teardown);
}
