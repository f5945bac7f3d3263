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

#include "testutil.h"
#include "xport/hash.h"

#define KEY "emu_000000000000000000000000000000000000wandb"

static struct tu_server srv;
static char base[64];
static char *tmp;

static int curl_post(const char *path, const char *body)
{
    char *f = NULL;
    if (asprintf(&f, "%s/body.json", tmp) < 0)
        return -1;
    tu_write(f, body);
    int rc = tu_sh("curl -sf -X POST --data-binary @%s '%s%s' >/dev/null", f,
                   base, path);
    free(f);
    return rc;
}

/* stdout of the emulator's control API GET (caller frees) */
static char *curl_get(const char *path)
{
    char *f = NULL;
    if (asprintf(&f, "%s/get.json", tmp) < 0)
        return NULL;
    tu_sh("curl -sf '%s%s' > %s", base, path, f);
    char *s = tu_slurp(f);
    free(f);
    return s;
}

static int setup(void **state)
{
    (void)state;
    const char *args[] = {NULL};
    if (tu_server_start_py(&srv, "tests/emulators/wandb_emu.py", args))
        return -1;
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", srv.port);
    setenv("WANDB_BASE_URL", base, 1);
    setenv("WANDB_API_KEY", KEY, 1);
    tmp = tu_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_server_stop(&srv);
    tu_rmtree(tmp);
    free(tmp);
    return 0;
}

static int reset(void **state)
{
    (void)state;
    return curl_post("/__emu/reset", "{}");
}

static char *path2(const char *a, const char *b)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", a, b) < 0)
        abort();
    return p;
}

static int xport(const char *const *argv, char **out, char **err)
{
    char *o = NULL, *e = NULL;
    int rc = tu_run_xport(&o, &e, argv);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return rc;
}

static void seeded_download(void **state)
{
    (void)state;
    assert_int_equal(curl_post("/__emu/seed",
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
    char *out = path2(tmp, "dl");
    const char *argv[] = {"download", "-q", "--from", "wandb", "ent/proj",
                          "-o", out, NULL};
    assert_int_equal(xport(argv, NULL, NULL), 0);
    char *d = path2(out, "ent/proj/first");
    char *f = path2(d, "metrics/loss/data.jsonl");
    char *s = tu_slurp(f);
    assert_non_null(s);
    assert_string_equal(s,
        "{\"index\":0,\"data\":{\"value\":1.0,\"step\":0,\"timestamp\":1700000000.5,\"runtime\":1.0}}\n"
        "{\"index\":1,\"data\":{\"value\":NaN,\"step\":5,\"timestamp\":1700000001.25}}\n"
        "{\"index\":2,\"data\":{\"value\":-Infinity,\"step\":9,\"timestamp\":1700000002.5}}\n");
    free(s);
    free(f);
    f = path2(d, "metrics/acc/data.jsonl");
    s = tu_slurp(f);
    assert_non_null(strstr(s, "\"value\":1,\"step\":0"));
    assert_non_null(strstr(s, "\"value\":2,\"step\":5"));
    free(s);
    free(f);
    f = path2(d, "system/cpu/data.jsonl");
    s = tu_slurp(f);
    assert_string_equal(s, "{\"index\":0,\"data\":{\"value\":12.5,\"timestamp\":1700000000.0}}\n");
    free(s);
    free(f);
    f = path2(d, "logs/logs.jsonl");
    s = tu_slurp(f);
    assert_non_null(strstr(s, "\"timestamp\":\"2023-11-14T22:13:20.000001Z\",\"stream\":\"stdout\",\"message\":\"hello\""));
    assert_non_null(strstr(s, "\"timestamp\":\"2023-11-14T22:13:21.5Z\",\"stream\":\"stderr\",\"message\":\"bad\""));
    free(s);
    free(f);
    f = path2(d, "parameters.json");
    s = tu_slurp(f);
    assert_non_null(strstr(s, "{\"lr\":0.1,\"n\":3}"));
    free(s);
    free(f);
    f = path2(d, "experiment.json");
    s = tu_slurp(f);
    assert_non_null(strstr(s, "\"FAILED\""));
    free(s);
    free(f);
    f = path2(d, "files/config.yaml");
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
    assert_int_equal(curl_post("/__emu/seed",
        "{\"projects\":[{\"entity\":\"ent\",\"name\":\"big\",\"runs\":[{"
        "\"name\":\"big1\",\"history\":{\"rows\":5000,\"metrics\":3}}]}]}"), 0);
    /* and 429s on the way, with Retry-After */
    assert_int_equal(curl_post("/__emu/faults",
        "{\"path\":\"/graphql\",\"status\":429,\"retry_after\":1,\"count\":2,\"skip\":2}"), 0);
    char *out = path2(tmp, "big");
    const char *argv[] = {"download", "-q", "--from", "wandb", "ent/big",
                          "metrics", "-o", out, NULL};
    assert_int_equal(xport(argv, NULL, NULL), 0);
    char *s = curl_get("/__emu/faults");
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
    assert_int_equal(curl_post("/__emu/seed",
        "{\"projects\":[{\"entity\":\"ent\",\"name\":\"md5\",\"runs\":[{"
        "\"name\":\"m1\",\"files\":[{\"name\":\"a.txt\",\"content\":\"hello\"}]}]}]}"), 0);
    assert_int_equal(curl_post("/__emu/faults",
        "{\"path\":\"/storage/\",\"corrupt\":true,\"count\":-1}"), 0);
    char *out = path2(tmp, "md5");
    const char *argv[] = {"download", "-q", "--from", "wandb", "ent/md5",
                          "-o", out, NULL};
    char *err = NULL;
    assert_int_not_equal(xport(argv, NULL, &err), 0);
    assert_non_null(strstr(err, "a.txt"));
    assert_null(strstr(err, KEY));
    free(err);
    free(out);
}

static void bad_key(void **state)
{
    (void)state;
    char *out = path2(tmp, "bad");
    const char *argv[] = {"download", "-q", "--from", "wandb", "ent/proj",
                          "--api-key", "wrong_0000000000000000000000000000000000000",
                          "-o", out, NULL};
    char *err = NULL, *o = NULL;
    assert_int_equal(xport(argv, &o, &err), 4);
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
    char *l1 = path2(tmp, "rt1"), *l2 = path2(tmp, "rt2");
    static const char *const fx[] = {"go-core-2026/single-tiny",
                                     "go-core-2026/edge-nan-inf",
                                     "go-core-2026/edge-unicode",
                                     "go-core-2026/media",
                                     "go-core-2026/workspace-multi"};
    for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
        char *rel = path2("tests/fixtures/wandb", fx[i]);
        char *src = tu_src(rel);
        const char *argv[] = {"download", "-q", "--from", "wandb-offline",
                              src, "-o", l1, NULL};
        assert_int_equal(xport(argv, NULL, NULL), 0);
        free(src);
        free(rel);
    }
    const char *up[] = {"copy", "-q", l1, "wandb:fixture-entity/leet-fixtures",
                        NULL};
    assert_int_equal(xport(up, NULL, NULL), 0);
    const char *dl[] = {"download", "-q", "--from", "wandb",
                        "fixture-entity/leet-fixtures", "-o", l2, NULL};
    assert_int_equal(xport(dl, NULL, NULL), 0);
    const char *ver[] = {"verify", l1, l2, NULL};
    char *o = NULL;
    int rc = xport(ver, &o, NULL);
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
    char *before = curl_get("/__emu/dump?points=0&content=0");
    assert_int_equal(xport(up, NULL, NULL), 0);
    char *after = curl_get("/__emu/dump?points=0&content=0");
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
    char *p = path2(dir, rel);
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
    char *root = path2(tmp, name);
    char *exp = path2(root, EXP_DIR);
    assert_int_equal(tu_sh("mkdir -p '%s/files' '%s/metrics/loss' "
                           "'%s/tracks/robot%%2Fpose' "
                           "'%s/artifacts/ds%%3Av0/sub/dir'",
                           exp, exp, exp, exp), 0);
    char *f = path2(root, "xport.json");
    tu_write(f, "{\"format\":\"xport-layout\",\"version\":1}\n");
    free(f);
    f = path2(exp, "experiment.json");
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
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        f = path2(exp, docs[i][0]);
        tu_write(f, docs[i][1]);
        free(f);
    }
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
    f = path2(exp, "files.jsonl");
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

static struct json_object *get_json(const char *path)
{
    char *s = curl_get(path);
    assert_non_null(s);
    struct json_object *o = json_tokener_parse(s);
    assert_non_null(o);
    free(s);
    return o;
}

static struct json_object *dig(struct json_object *o, const char *const *keys)
{
    for (; *keys; keys++) {
        struct json_object *n = NULL;
        if (!json_object_object_get_ex(o, *keys, &n))
            fail_msg("no '%s' in the emulator's answer", *keys);
        o = n;
    }
    return o;
}

/* The emulator's artifact collection 'ds' of ent/arts. */
static struct json_object *ds_collection(struct json_object *dump)
{
    const char *const k[] = {"entities", "ent", "projects", "arts",
                             "artifacts", "ds", NULL};
    return dig(dump, k);
}

static int64_t operations(const char *op)
{
    struct json_object *st = get_json("/__emu/stats");
    const char *const k[] = {"byOperation", NULL};
    struct json_object *n = NULL;
    int64_t v = json_object_object_get_ex(dig(st, k), op, &n)
                    ? json_object_get_int64(n) : 0;
    json_object_put(st);
    return v;
}

static int verify_equal(const char *a, const char *b)
{
    const char *ver[] = {"verify", a, b, NULL};
    char *o = NULL;
    int rc = xport(ver, &o, NULL);
    if (rc)
        print_message("%s", o);
    free(o);
    return rc;
}

static void artifact_round_trip(void **state)
{
    (void)state;
    char *l1 = make_layout("art1"), *l2 = path2(tmp, "art2");
    const char *up[] = {"copy", "-q", l1, "wandb:ent/arts", NULL};
    char *err = NULL;
    int rc = xport(up, NULL, &err);
    if (rc)
        print_message("%s", err);
    assert_int_equal(rc, 0);
    free(err);
    const char *dl[] = {"download", "-q", "--from", "wandb", "ent/arts", "-o",
                        l2, NULL};
    assert_int_equal(xport(dl, NULL, NULL), 0);
    assert_int_equal(verify_equal(l1, l2), 0);

    /* what the server holds: xport's own run files, one committed version
     * logged by the run, its manifest with base64 MD5 digests */
    struct json_object *d = get_json("/__emu/dump?history=0");
    const char *const rk[] = {"entities", "ent", "projects", "arts", "runs",
                              "xrun1", NULL};
    struct json_object *run = dig(d, rk);
    const char *const fk[] = {"files", NULL};
    struct json_object *files = dig(run, fk), *x;
    assert_int_equal(json_object_object_length(files), 3);
    assert_true(json_object_object_get_ex(files, "xport/others.json", &x));
    assert_true(json_object_object_get_ex(files,
                                          "xport/tracks/robot%2Fpose.jsonl", &x));
    assert_true(json_object_object_get_ex(files, "config.txt", &x));
    const char *const ok[] = {"outputArtifacts", NULL};
    assert_string_equal(json_object_to_json_string(dig(run, ok)), "[ \"ds:v0\" ]");
    struct json_object *c = ds_collection(d);
    const char *const vk[] = {"versions", NULL}, *const pk[] = {"pending", NULL};
    assert_int_equal(json_object_array_length(dig(c, vk)), 1);
    assert_int_equal(json_object_array_length(dig(c, pk)), 0);
    struct json_object *v0 = json_object_array_get_idx(dig(c, vk), 0);
    const char *const ek[] = {"manifest", "contents", "empty.txt", "digest", NULL};
    assert_string_equal(json_object_get_string(dig(v0, ek)),
                        "1B2M2Y8AsgTpgAmY7PhCfg==");
    const char *const sk[] = {"manifest", "contents", "sub/dir/b.bin", "size", NULL};
    assert_int_equal(json_object_get_int64(dig(v0, sk)), 70000);
    const char *const tk[] = {"tags", NULL};
    assert_string_equal(json_object_to_json_string(dig(v0, tk)), "[ \"raw\" ]");
    json_object_put(d);

    /* the artifact's attributes come back as the source had them */
    char *e1 = path2(l1, EXP_DIR "/experiment.json");
    char *e2 = path2(l2, EXP_DIR "/experiment.json");
    struct json_object *j1 = json_object_from_file(e1);
    struct json_object *j2 = json_object_from_file(e2);
    assert_non_null(j1);
    assert_non_null(j2);
    const char *const ak[] = {"source", "fields", "artifacts", NULL};
    struct json_object *a1 = json_object_array_get_idx(dig(j1, ak), 0);
    struct json_object *a2 = json_object_array_get_idx(dig(j2, ak), 0);
    static const char *const attrs[] = {"name", "version", "type", "aliases",
                                        "description", "metadata", "tags",
                                        "historyStep"};
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        const char *const one[] = {attrs[i], NULL};
        char *s1 = strdup(json_object_to_json_string(dig(a1, one)));
        assert_string_equal(s1, json_object_to_json_string(dig(a2, one)));
        free(s1);
    }
    json_object_put(j1);
    json_object_put(j2);
    free(e1);
    free(e2);
    /* the track came back as a track, not as a file */
    char *t2 = path2(l2, EXP_DIR "/tracks/robot%2Fpose/data.jsonl");
    char *s = tu_slurp(t2);
    assert_non_null(s);
    assert_string_equal(s, "{\"timestamp\":1.5,\"x\":1,\"y\":2.25,\"label\":\"a\"}\n"
                           "{\"timestamp\":2.5,\"x\":2,\"y\":NaN,\"label\":\"b\","
                           "\"extra\":[1,{\"z\":true}]}\n");
    free(s);
    free(t2);
    char *fl = path2(l2, EXP_DIR "/files.jsonl");
    s = tu_slurp(fl);
    assert_null(strstr(s, "xport/"));
    free(s);
    free(fl);

    /* a rerun skips the finished run; --overwrite writes it again, and W&B
     * answers the identical artifact as committed: no new version, no
     * upload */
    int64_t files_ops = operations("CreateArtifactFiles");
    assert_int_equal(files_ops, 1);
    assert_int_equal(xport(up, NULL, NULL), 0);
    const char *over[] = {"copy", "-q", "--overwrite", l1, "wandb:ent/arts",
                          NULL};
    assert_int_equal(xport(over, NULL, NULL), 0);
    assert_int_equal(operations("CreateArtifact"), 2);
    assert_int_equal(operations("CreateArtifactFiles"), files_ops);
    d = get_json("/__emu/dump?history=0");
    c = ds_collection(d);
    assert_int_equal(json_object_array_length(dig(c, vk)), 1);
    assert_int_equal(json_object_array_length(dig(c, pk)), 0);
    run = dig(d, rk);
    assert_int_equal(json_object_object_length(dig(run, fk)), 3);
    assert_string_equal(json_object_to_json_string(dig(run, ok)), "[ \"ds:v0\" ]");
    const char *const hk[] = {"historyLineCount", NULL};
    assert_int_equal(json_object_get_int64(dig(run, hk)), 2);
    json_object_put(d);
    char *l3 = path2(tmp, "art3");
    const char *dl3[] = {"download", "-q", "--from", "wandb", "ent/arts", "-o",
                         l3, NULL};
    assert_int_equal(xport(dl3, NULL, NULL), 0);
    assert_int_equal(verify_equal(l1, l3), 0);
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
    char *l1 = make_layout("fail1"), *l2 = path2(tmp, "fail2");
    /* artifact uploads only (their URLs are apart from run files'); the
     * first goes through */
    assert_int_equal(curl_post("/__emu/faults",
        "{\"path\":\"^/storage/upload/art-\",\"method\":\"PUT\","
        "\"status\":400,\"skip\":1}"), 0);
    const char *up[] = {"copy", "-q", l1, "wandb:ent/arts", NULL};
    char *err = NULL;
    assert_int_not_equal(xport(up, NULL, &err), 0);
    assert_non_null(strstr(err, "artifact 'ds:v0'"));
    assert_non_null(strstr(err, "'empty.txt'"));
    assert_non_null(strstr(err, "HTTP 400"));
    assert_null(strstr(err, KEY));
    free(err);
    struct json_object *d = get_json("/__emu/dump?history=0");
    const char *const vk[] = {"versions", NULL}, *const pk[] = {"pending", NULL};
    struct json_object *c = ds_collection(d);
    assert_int_equal(json_object_array_length(dig(c, vk)), 0);
    assert_int_equal(json_object_array_length(dig(c, pk)), 1);
    const char *const sk[] = {"entities", "ent", "projects", "arts", "runs",
                              "xrun1", "state", NULL};
    assert_string_equal(json_object_get_string(dig(d, sk)), "running");
    json_object_put(d);

    err = NULL;
    int rc = xport(up, NULL, &err);
    if (rc)
        print_message("%s", err);
    free(err);
    assert_int_equal(rc, 0);
    d = get_json("/__emu/dump?history=0");
    c = ds_collection(d);
    assert_int_equal(json_object_array_length(dig(c, vk)), 1);
    assert_int_equal(json_object_array_length(dig(c, pk)), 0);
    assert_string_equal(json_object_get_string(dig(d, sk)), "finished");
    json_object_put(d);
    const char *dl[] = {"download", "-q", "--from", "wandb", "ent/arts", "-o",
                        l2, NULL};
    assert_int_equal(xport(dl, NULL, NULL), 0);
    assert_int_equal(verify_equal(l1, l2), 0);
    free(l1);
    free(l2);
}

/* W&B numbers versions itself: a collection that already has a version
 * makes the layout's 'ds:v0' a 'ds:v1', which is counted, not hidden. */
static void artifact_renumbered(void **state)
{
    (void)state;
    assert_int_equal(curl_post("/__emu/seed",
        "{\"projects\":[{\"entity\":\"ent\",\"name\":\"arts\",\"artifacts\":["
        "{\"name\":\"ds\",\"type\":\"dataset\",\"files\":[{\"path\":\"o.txt\","
        "\"content\":\"older\"}]}]}]}"), 0);
    char *l1 = make_layout("renum");
    const char *up[] = {"copy", "-q", l1, "wandb:ent/arts", NULL};
    char *err = NULL;
    assert_int_not_equal(xport(up, NULL, &err), 0);
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
    assert_int_equal(curl_post("/__emu/seed",
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
    char *out = path2(tmp, "res");
    const char *dl[] = {"download", "-q", "--from", "wandb", "ent/res", "-o",
                        out, NULL};
    char *err = NULL;
    assert_int_equal(xport(dl, NULL, &err), 0);
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
        char *rel = path2("ent/res", want[i][0]);
        char *f = path2(out, rel);
        char *s = tu_slurp(f);
        if (!s)
            fail_msg("'%s' is missing", rel);
        assert_string_equal(s, want[i][1]);
        free(s);
        free(f);
        free(rel);
    }
    char *f = path2(out, "ent/res/good/files.jsonl");
    char *s = tu_slurp(f);
    assert_null(strstr(s, "xport/others.json"));
    assert_null(strstr(s, "xport/tracks"));
    free(s);
    free(f);
    f = path2(out, "ent/res/bad/others.json");
    assert_null(tu_slurp(f));
    free(f);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(seeded_download, reset),
        cmocka_unit_test_setup(full_history, reset),
        cmocka_unit_test_setup(wrong_md5, reset),
        cmocka_unit_test_setup(bad_key, reset),
        cmocka_unit_test_setup(round_trip, reset),
        cmocka_unit_test_setup(artifact_round_trip, reset),
        cmocka_unit_test_setup(artifact_put_fails, reset),
        cmocka_unit_test_setup(artifact_renumbered, reset),
        cmocka_unit_test_setup(reserved_files_read, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
