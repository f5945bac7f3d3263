/* The neptune adapter (Neptune 2.x servers) through the CLI against the
 * emulator (tests/emulators/neptune_emu.py, its apiUrl on another host name
 * than the token's address): exact values, listing past 10,000 runs, NQL,
 * trashed runs, token refresh, 401, 429/5xx, a failing run named and then
 * resumed, and download -> copy into mldash-local -> verify. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "../wandb/wsrv.h"
#include "xport/buf.h"
#include "xport/fs.h"
#include "xport/hash.h"

static struct tu_server srv;
static char url[64];
static char *tmp, *out;

static char *in(const char *dir, const char *rel)
{
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "%s/%s", dir, rel);
    return xp_buf_detach(&b);
}

static void control(const char *route, const char *json)
{
    assert_int_equal(tu_sh("curl -sf -XPOST %s/__emu/%s -d '%s' >/dev/null", url, route,
                           json), 0);
}

/* A number of the emulator's /__emu/stats: 0 when expr holds for it. */
static int stat_check(const char *expr)
{
    return tu_sh("curl -sf %s/__emu/stats | '%s' -c 'import json,sys; s=json.load(sys.stdin); "
                 "sys.exit(0 if (%s) else 1)'", url, XPORT_PYTHON, expr);
}

/* The seed: every exact-value case of issue 12 in run CLS-1, a run whose
 * id has '/' and ':', a trashed run, and 10,050 generated runs. */
static void write_seed(const char *path)
{
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_puts(&b, "{\"projects\": [{\"workspace\": \"ws\", \"name\": \"proj\", \"key\": "
                    "\"CLS\", \"runs\": [{\"id\": \"CLS-1\", \"sys\": {\"sys/tags\": {\"type\": "
                    "\"stringSet\", \"values\": [\"t2\", \"t1\"]}, \"sys/description\": "
                    "{\"type\": \"string\", \"value\": \"the first\"}}, \"attributes\": {");
    xp_buf_puts(&b, "\"parameters/x\": {\"type\": \"float\", \"value\": 2.0}, "
                    "\"parameters/n\": {\"type\": \"int\", \"value\": 2}, "
                    "\"parameters/big\": {\"type\": \"int\", \"value\": 9007199254740993}, "
                    "\"parameters/flag\": {\"type\": \"bool\", \"value\": true}, "
                    "\"parameters/when\": {\"type\": \"datetime\", "
                    "\"value\": \"2026-01-02T03:04:05.678Z\"}, "
                    "\"parameters/set\": {\"type\": \"stringSet\", \"values\": [\"b\", \"a\"]}, "
                    "\"parameters/\\u00fcn\\u00ef/\\u03ba\": {\"type\": \"string\", "
                    "\"value\": \"\\u00fc \\u2713\"}, "
                    "\"parameters/long\": {\"type\": \"string\", \"value\": \"");
    for (int i = 0; i < 100001; i++)
        xp_buf_putc(&b, (char)('a' + i % 26));
    xp_buf_puts(&b, "\"}, \"metrics/loss\": {\"type\": \"floatSeries\", \"values\": "
                    "[[0.1, NaN, 1767225600123], [1e-6, Infinity, 1767225600124], "
                    "[2, -Infinity, 1767225600125], [3, 0.30000000000000004, 1767225600126]]}, "
                    "\"metrics/empty\": {\"type\": \"floatSeries\", \"values\": []}, "
                    "\"metrics/long\": {\"type\": \"floatSeries\", \"generate\": 25000}, "
                    "\"notes/text\": {\"type\": \"stringSeries\", \"values\": [[1, \"");
    for (int i = 0; i < 5000; i++)
        xp_buf_putc(&b, 'z');
    xp_buf_puts(&b, "\", 1767225600200]]}, "
                    "\"monitoring/ab12/stdout\": {\"type\": \"stringSeries\", \"values\": "
                    "[[0, \"hello\", 1767225601000], [1, \"world\", 1767225602000]]}, "
                    "\"monitoring/ab12/cpu\": {\"type\": \"floatSeries\", \"values\": "
                    "[[0, 12.5, 1767225601000]]}, "
                    "\"model/weights\": {\"type\": \"file\", \"ext\": \"bin\", "
                    "\"data\": \"weights!\"}, "
                    "\"source_code/files\": {\"type\": \"fileSet\", \"files\": "
                    "{\"train.py\": \"print(1)\\n\", \"pkg/util.py\": \"x = 2\\n\"}}, "
                    "\"images/sample\": {\"type\": \"imageSeries\", \"images\": [\"");
    const unsigned char png[] = "\x89PNG\r\n\x1a\nnot really";
    char b64[64];
    xp_base64(b64, png, sizeof(png) - 1);
    xp_buf_puts(&b, b64);
    xp_buf_puts(&b, "\"]}, \"source_code/git\": {\"type\": \"gitRef\", \"commit\": "
                    "{\"commitId\": \"abc123\", \"message\": \"m\", \"authorName\": \"A\", "
                    "\"authorEmail\": \"a@x\", \"commitDate\": \"2026-01-01T00:00:00.000Z\"}, "
                    "\"repositoryDirty\": false, \"currentBranch\": \"main\", "
                    "\"remotes\": [\"git@x:y.git\"]}}}, "
                    "{\"id\": \"a/b:c\", \"attributes\": {\"parameters/x\": {\"type\": \"int\", "
                    "\"value\": 1}}}, "
                    "{\"id\": \"CLS-3\", \"trashed\": true}, "
                    "{\"id\": \"CLS-MOD\", \"type\": \"model\", \"attributes\": "
                    "{\"parameters/kind\": {\"type\": \"string\", \"value\": \"cnn\"}}}, "
                    "{\"id\": \"CLS-MOD-1\", \"type\": \"modelVersion\", \"attributes\": "
                    "{\"model/binary\": {\"type\": \"file\", \"ext\": \"pt\", "
                    "\"data\": \"w\"}}}]}, "
                    "{\"workspace\": \"ws\", \"name\": \"big\", \"key\": \"BIG\", "
                    "\"generate\": {\"runs\": 10050}}]}");
    tu_write(path, b.ptr);
    xp_buf_release(&b);
}

static int group_setup(void **st)
{
    (void)st;
    tmp = tu_mkdtemp();
    out = in(tmp, "A");
    const char *args[] = {"--api-host", "localhost", NULL};
    if (tu_server_start_py(&srv, "tests/emulators/neptune_emu.py", args))
        return -1;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
    char *seed = in(tmp, "seed.json"), *tok = in(tmp, "token.json");
    write_seed(seed);
    int rc = tu_sh("curl -sf -XPOST %s/__emu/seed --data-binary @%s >/dev/null && "
                   "curl -sf %s/__emu/token >%s", url, seed, url, tok);
    char *t = tu_slurp(tok);
    char *s = t ? strstr(t, "\"token\": \"") : NULL;
    if (!s)
        return -1;
    s += 10;
    *strchr(s, '"') = '\0';
    setenv("NEPTUNE_API_TOKEN", s, 1);
    free(t);
    free(seed);
    free(tok);
    return rc;
}

static int group_teardown(void **st)
{
    (void)st;
    tu_server_stop(&srv);
    tu_rmtree(tmp);
    free(tmp);
    free(out);
    return 0;
}

/* Faults and config back to normal after each test. */
static int clean(void **st)
{
    (void)st;
    tu_sh("curl -s -XDELETE %s/__emu/faults >/dev/null", url);
    tu_sh("curl -s -XPOST %s/__emu/config -d '{\"token_ttl\": 300, \"latency_ms\": 0, "
          "\"nan_as_strings\": false}' >/dev/null", url);
    return 0;
}

static int has(const char *rel, const char *text)
{
    char *p = in(out, rel), *t = tu_slurp(p);
    int ok = t && strstr(t, text) != NULL;
    if (!ok)
        print_message("%s lacks %s\n", p, text);
    free(t);
    free(p);
    return ok;
}

#define R1 "ws/proj/CLS-1/"

static void test_exact_values(void **st)
{
    (void)st;
    char *err = NULL;
    const char *dl[] = {"download", "--from", "neptune", "ws/proj", "-o", out, NULL};
    assert_int_equal(tu_xport(&err, dl), 0);
    /* trashed runs are left out and counted */
    assert_non_null(strstr(err, "1 trashed run of 'ws/proj' left out"));
    free(err);
    /* atoms nested by path, exact types */
    assert_true(has(R1 "parameters.json", "\"x\":2.0"));
    assert_true(has(R1 "parameters.json", "\"n\":2,") || has(R1 "parameters.json", "\"n\":2}"));
    assert_true(has(R1 "parameters.json", "\"big\":9007199254740993"));
    assert_true(has(R1 "parameters.json", "\"flag\":true"));
    assert_true(has(R1 "parameters.json", "\"when\":\"2026-01-02T03:04:05.678Z\""));
    assert_true(has(R1 "parameters.json", "\"set\":[\"a\",\"b\"]"));
    assert_true(has(R1 "parameters.json", "\"\xc3\xbcn\xc3\xaf\":{\"\xce\xba\":\"\xc3\xbc \xe2\x9c\x93\"}"));
    /* the 100,001-character string whole */
    char *p = in(out, R1 "parameters.json"), *t = tu_slurp(p);
    char *ls = strstr(t, "\"long\":\"");
    assert_non_null(ls);
    assert_int_equal(strcspn(ls + 8, "\""), 100001);
    free(t);
    free(p);
    /* series: NaN, ±Inf, decimal steps, UTC epoch times */
    assert_true(has(R1 "metrics/metrics%2Floss/data.jsonl",
                    "{\"index\":0,\"data\":{\"value\":NaN,\"step\":0.1,\"timestamp\":1767225600.123}}"));
    assert_true(has(R1 "metrics/metrics%2Floss/data.jsonl", "\"value\":Infinity,\"step\":1e-06"));
    assert_true(has(R1 "metrics/metrics%2Floss/data.jsonl", "\"value\":-Infinity"));
    assert_true(has(R1 "metrics/metrics%2Floss/data.jsonl", "\"value\":0.30000000000000004"));
    /* an empty series is kept; a long one paged to its end */
    assert_int_equal(tu_sh("test -f '%s/" R1 "metrics/metrics%%2Fempty/data.jsonl' && "
                           "test ! -s '%s/" R1 "metrics/metrics%%2Fempty/data.jsonl'", out, out), 0);
    assert_int_equal(tu_sh("test $(wc -l <'%s/" R1 "metrics/metrics%%2Flong/data.jsonl') = 25000",
                           out), 0);
    /* string values longer than the server's default cut of 1000 */
    assert_int_equal(tu_sh("grep -q 'z\\{5000\\}' '%s/" R1 "metrics/notes%%2Ftext/data.jsonl'",
                           out), 0);
    /* console output as logs; monitoring series as system */
    assert_int_equal(tu_sh("grep -rq world '%s/" R1 "logs'", out), 0);
    assert_int_equal(tu_sh("test -d '%s/" R1 "system'", out), 0);
    /* files, image series, file sets */
    assert_true(has(R1 "files/model/weights.bin", "weights!"));
    assert_true(has(R1 "files/source_code/files/pkg/util.py", "x = 2"));
    assert_true(has(R1 "files/source_code/files/train.py", "print(1)"));
    assert_int_equal(tu_sh("test -f '%s/" R1 "files/images/sample/0.png'", out), 0);
    /* sys/ and git in the experiment */
    assert_true(has(R1 "experiment.json", "\"commitId\":\"abc123\""));
    assert_true(has(R1 "experiment.json", "\"tags\":[\"t1\",\"t2\"]"));
    assert_true(has(R1 "experiment.json", "\"description\":\"the first\""));
    assert_true(has(R1 "experiment.json", "\"created_at\":\"2026-01-01T00:00:00.000Z\""));
    /* models and model versions: a project-level "models" group */
    assert_true(has("ws/proj/CLS-MOD/experiment.json", "\"folder\":\"models\""));
    assert_true(has("ws/proj/CLS-MOD/parameters.json", "\"kind\":\"cnn\""));
    assert_true(has("ws/proj/CLS-MOD-1/files/model/binary.pt", "w"));
    /* the run id with '/' and ':' */
    assert_int_equal(tu_sh("grep -rlq '\"name\":\"a/b:c\"' '%s/ws/proj'", out), 0);
    assert_int_equal(tu_sh("test -z \"$(find '%s' -path '*CLS-3*')\"", out), 0);
    /* every request went to the API host named by clients/config */
    assert_int_equal(stat_check("s[\"wrongHost\"] == 0"), 0);
    /* the source and the layout agree */
    const char *vf[] = {"verify", "neptune:ws/proj", out, NULL};
    assert_int_equal(tu_xport(NULL, vf), 0);
    /* a rerun duplicates nothing */
    const char *again[] = {"download", "--from", "neptune", "ws/proj", "-o", out, NULL};
    char *o = NULL, *e = NULL;
    assert_int_equal(tu_run_xport(&o, &e, again), 0);
    assert_non_null(strstr(o, "4 skipped"));
    free(o);
    free(e);
}

static void test_copy_mldash_local(void **st)
{
    (void)st;
    char *dst = in(tmp, "B");
    struct xp_buf l = XP_BUF_INIT;
    xp_buf_printf(&l, "mldash-local:%s", dst);
    const char *cp[] = {"copy", out, l.ptr, NULL};
    char *o = NULL, *e = NULL;
    int code = tu_run_xport(&o, &e, cp);
    /* mldash-local has no system series: named, and the run ends partial */
    assert_int_equal(code, 3);
    assert_non_null(strstr(e, "system series 'monitoring/ab12/cpu' not written"));
    free(o);
    free(e);
    /* the mldash-local store read back as a layout */
    const char *vf[] = {"verify", out, dst, NULL};
    code = tu_run_xport(&o, &e, vf);
    /* equal but for the system series the destination cannot hold */
    assert_int_not_equal(code, 0);
    assert_non_null(strstr(o, "ws/proj/CLS-1: system/monitoring/ab12/cpu: only in"));
    assert_non_null(strstr(o, "\n1 difference(s)"));
    free(o);
    free(e);
    xp_buf_release(&l);
    free(dst);
}

/* Issue 12: the download goes on into W&B (its emulator), and W&B is then
 * verified against it. W&B forces differences (integer history steps, no
 * empty series, its own creation times): the copy must name them (partial,
 * exit 3), and parameters and files must come through equal. */
static void test_copy_wandb(void **st)
{
    (void)st;
    assert_int_equal(wsrv_setup(NULL), 0);
    const char *cp[] = {"copy", out, "wandb:ent/nep", NULL};
    char *o = NULL, *e = NULL;
    assert_int_equal(tu_run_xport(&o, &e, cp), 3);
    assert_non_null(strstr(e, "partial: ws/proj/CLS-1: "));
    const char *nc = strstr(e, "could not be carried to 'wandb'");
    assert_non_null(nc);
    assert_non_null(strstr(e, "W&B history steps are integers"));
    /* the whole decimal steps (0.0, 1.0, ...) are carried: only the others
     * (0.1, 1e-6, ...) and what W&B cannot hold are counted */
    const char *ln = nc;
    while (ln > e && ln[-1] != '\n')
        ln--;
    print_message("%.*s\n", (int)(strchr(nc, '\n') ? strchr(nc, '\n') - ln : 200), ln);
    free(o);
    free(e);
    const char *vf[] = {"verify", out, "wandb:ent/nep", NULL};
    assert_int_not_equal(tu_run_xport(&o, &e, vf), 0);
    assert_non_null(strstr(o, "ws/proj/CLS-1: metrics/metrics/loss differs"));
    assert_null(strstr(o, "parameters"));
    assert_null(strstr(o, ": files/"));
    assert_null(strstr(o, "only in B"));
    free(o);
    free(e);
    wsrv_teardown(NULL);
}

/* NaN and ±Inf as strings (a Jackson server's default): the same values */
static void test_nan_as_strings(void **st)
{
    (void)st;
    control("config", "{\"nan_as_strings\": true}");
    char *dst = in(tmp, "G");
    const char *dl[] = {"download", "--from", "neptune", "ws/proj/CLS-1", "metrics", "-o", dst,
                        NULL};
    assert_int_equal(tu_xport(NULL, dl), 0);
    assert_int_equal(tu_sh("cmp '%s/" R1 "metrics/metrics%%2Floss/data.jsonl' "
                           "'%s/" R1 "metrics/metrics%%2Floss/data.jsonl'", out, dst), 0);
    free(dst);
}

static void test_listing_beyond_10000(void **st)
{
    (void)st;
    char *o = NULL, *e = NULL;
    const char *ls[] = {"list", "neptune:ws/big", NULL};
    assert_int_equal(tu_run_xport(&o, &e, ls), 0);
    char *f = in(tmp, "big.txt");
    tu_write(f, o);
    assert_int_equal(tu_sh("test $(sort -u '%s' | grep -c '^ws/big/BIG-') = 10050", f), 0);
    assert_int_equal(tu_sh("test $(wc -l <'%s') = 10050", f), 0);
    /* paged by key: the server's offset cap never refused a page */
    assert_int_equal(stat_check("s[\"offsetRefusals\"] == 0"), 0);
    free(f);
    free(o);
    free(e);
}

static void test_query_and_trashed(void **st)
{
    (void)st;
    char *o = NULL, *e = NULL;
    const char *q[] = {"list", "neptune:ws/proj", "--query", "(`sys/id`:string = \"a/b:c\")",
                       NULL};
    assert_int_equal(tu_run_xport(&o, &e, q), 0);
    assert_string_equal(o, "ws/proj/a/b:c\n");
    free(o);
    free(e);
    const char *t[] = {"list", "neptune:ws/proj", "--opt", "trashed=include", NULL};
    assert_int_equal(tu_run_xport(&o, &e, t), 0);
    assert_non_null(strstr(o, "ws/proj/CLS-3\n"));
    assert_null(strstr(e, "left out"));
    free(o);
    free(e);
}

static void test_token_refresh(void **st)
{
    (void)st;
    tu_sh("curl -s -XDELETE %s/__emu/stats >/dev/null", url);
    control("config", "{\"token_ttl\": 0.4}");
    char *dst = in(tmp, "C");
    const char *dl[] = {"download", "--from", "neptune", "ws/proj/CLS-1", "-o", dst, NULL};
    assert_int_equal(tu_xport(NULL, dl), 0);
    /* access tokens of 0.4 s were refreshed (single-use refresh tokens) */
    assert_int_equal(stat_check("s[\"refreshes\"] >= 1"), 0);
    assert_int_equal(stat_check("s[\"byStatus\"].get(\"400\", 0) == 0"), 0);
    free(dst);
}

static void test_401_exit_4(void **st)
{
    (void)st;
    control("config", "{\"token_ttl\": -100}");
    char *dst = in(tmp, "D"), *o = NULL, *e = NULL;
    const char *dl[] = {"download", "--from", "neptune", "ws/proj", "-o", dst, NULL};
    assert_int_equal(tu_run_xport(&o, &e, dl), 4);
    assert_non_null(strstr(e, "refused a fresh access token"));
    /* the token is never printed */
    assert_null(strstr(e, getenv("NEPTUNE_API_TOKEN")));
    free(o);
    free(e);
    free(dst);
}

static void test_faults_retried(void **st)
{
    (void)st;
    tu_sh("curl -s -XDELETE %s/__emu/stats >/dev/null", url);
    control("faults", "[{\"path\": \"/attributes/series/float$\", \"status\": 429, "
                      "\"retry_after\": 0, \"count\": 2}, {\"path\": \"/attributes$\", "
                      "\"status\": 503, \"count\": 1}, {\"path\": \"/entries/search$\", "
                      "\"status\": 502, \"count\": 1}]");
    char *dst = in(tmp, "E");
    const char *dl[] = {"download", "--from", "neptune", "ws/proj", "-o", dst, NULL};
    assert_int_equal(tu_xport(NULL, dl), 0);
    assert_int_equal(stat_check("s[\"faultsFired\"] == 4"), 0);
    char *p = in(dst, R1 "metrics/metrics%2Flong/data.jsonl");
    assert_int_equal(tu_sh("test $(wc -l <'%s') = 25000", p), 0);
    free(p);
    free(dst);
}

static void test_failing_run_named(void **st)
{
    (void)st;
    /* CLS-1's attributes always fail with a 400; the other run goes on */
    control("faults", "{\"path\": \"/attributes$\", \"query\": "
                      "\"experimentId=50a00135-eafb-89ab-c37d-8f8650c3ed9a\", "
                      "\"status\": 400, \"count\": -1}");
    char *dst = in(tmp, "F"), *o = NULL, *e = NULL;
    const char *dl[] = {"download", "--from", "neptune", "ws/proj", "-o", dst, NULL};
    int code = tu_run_xport(&o, &e, dl);
    assert_int_not_equal(code, 0);
    assert_non_null(strstr(e, "CLS-1"));
    assert_non_null(strstr(o, "3 downloaded, 0 skipped, 1 failed"));
    assert_int_equal(tu_sh("grep -rlq '\"name\":\"a/b:c\"' '%s/ws/proj'", dst), 0);
    free(o);
    free(e);
    /* the fault gone, --resume reads the failed run and skips the other */
    tu_sh("curl -s -XDELETE %s/__emu/faults >/dev/null", url);
    const char *re[] = {"download", "--from", "neptune", "ws/proj", "-o", dst, "--resume", NULL};
    assert_int_equal(tu_run_xport(&o, &e, re), 0);
    assert_non_null(strstr(o, "1 downloaded, 3 skipped, 0 failed"));
    free(o);
    free(e);
    const char *vf[] = {"verify", "neptune:ws/proj", dst, NULL};
    assert_int_equal(tu_xport(NULL, vf), 0);
    free(dst);
}

int main(void)
{
#define T(t) cmocka_unit_test_teardown(t, clean)
    const struct CMUnitTest tests[] = {
        T(test_exact_values),
        T(test_copy_mldash_local),
        T(test_copy_wandb),
        T(test_nan_as_strings),
        T(test_listing_beyond_10000),
        T(test_query_and_trashed),
        T(test_token_refresh),
        T(test_401_exit_4),
        T(test_faults_retried),
        T(test_failing_run_named),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
