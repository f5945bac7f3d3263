/* The wandb adapter against the W&B emulator (tests/emulators/wandb_emu.py):
 * a seeded run downloaded value by value, the full history beyond the
 * sampled limit, 429s, a wrong md5, a bad key, a round trip of the offline
 * fixtures through the server checked with `xport verify`, and a rerun that
 * sends no history twice. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(seeded_download, reset),
        cmocka_unit_test_setup(full_history, reset),
        cmocka_unit_test_setup(wrong_md5, reset),
        cmocka_unit_test_setup(bad_key, reset),
        cmocka_unit_test_setup(round_trip, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
