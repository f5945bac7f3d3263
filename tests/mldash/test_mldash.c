/* The ml-dash adapter against the emulator (tests/emulators/mldash_emu.py),
 * through the CLI: round trips for both protocol generations, faults,
 * checksums, credentials, unsafe names, reruns and kill -9 (the
 * mldash-local writer is in test_mldash_local.c). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "../../adapters/mldash/mldash.h"
#include "../local/gen_layout.h"

static struct tu_server srv;
static char url[64];
static char *tmp;

/* (Re)start the emulator; the server lives in srv until teardown, so a
 * failed assertion never leaves it running. */
static int restart(const char *const *args)
{
    tu_server_stop(&srv);
    if (tu_server_start_py(&srv, "tests/emulators/mldash_emu.py", args))
        return -1;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
    setenv("MLDASH_REMOTE", url, 1);
    return 0;
}

static int setup(void **st)
{
    (void)st;
    setenv("MLDASH_USERNAME", "tom", 1);
    unsetenv("MLDASH_API_KEY");
    tmp = tu_mkdtemp();
    const char *args[] = {"--chunk-size", "1000", NULL};
    return restart(args);
}

static int teardown(void **st)
{
    (void)st;
    tu_server_stop(&srv);
    tu_rmtree(tmp);
    free(tmp);
    tmp = NULL;
    return 0;
}

/* Seed the emulator; its answer (ids of what it made) goes to tmp/seed.json. */
static void seed(void)
{
    char *f = tu_src("tests/mldash/seed_small.json");
    assert_int_equal(tu_sh("curl -sf -XPOST %s/__emu/seed --data-binary @%s "
                           ">%s/seed.json", url, f, tmp), 0);
    free(f);
}

static void fault(const char *json)
{
    assert_int_equal(tu_sh("curl -sf -XPOST %s/__emu/faults -d '%s' >/dev/null", url,
                           json), 0);
}

#define xport tu_xport

static char *path(const char *rel)
{
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "%s/%s", tmp, rel);
    return xp_buf_detach(&b);
}

/* ---- units ---- */

static void test_hmac_rfc4231(void **st)
{
    (void)st;
    /* RFC 4231 test case 2 */
    unsigned char d[32];
    char hex[65];
    xp_hmac_sha256(d, "Jefe", 4, "what do ya want for nothing?", 28);
    xp_hex(hex, d, 32);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* test case 6: a key longer than the block */
    unsigned char key[131];
    memset(key, 0xaa, sizeof(key));
    const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    xp_hmac_sha256(d, key, sizeof(key), msg, strlen(msg));
    xp_hex(hex, d, 32);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_jwt_vector(void **st)
{
    (void)st;
    struct xp_buf t = XP_BUF_INIT;
    mld_mint_token(&t, "tom", 1700000000);
    assert_string_equal(t.ptr,
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VySWQiOiIxNjI0MDEzNzk5IiwidXNlck5hbWUi"
        "OiJ0b20iLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMjU5MjAwMH0.QGvCCT9i5BcUbxFENssoGFTxb"
        "ctl4m5iPR4Wu6BAKac");
    xp_buf_release(&t);
}

/* ---- emulator -> layout -> verify, both generations ---- */

static void download_verify(const char *ver)
{
    char opt[32];
    snprintf(opt, sizeof(opt), "api-version=%s", ver);
    char *out = path(ver);
    const char *dl[] = {"download", "--from", "mldash", "tom", "-o", out, "-q",
                        "--opt", opt, NULL};
    assert_int_equal(xport(NULL, dl), 0);
    char *src = xp_strdup("mldash:tom");
    const char *vf[] = {"verify", src, out, NULL};
    assert_int_equal(xport(NULL, vf), 0);
    /* the unsafe name stays one encoded segment under the project, and
     * nothing else appears anywhere in the output */
    struct xp_buf enc = XP_BUF_INIT, b = XP_BUF_INIT;
    assert_int_equal(xp_name_encode(&enc, "../../x/../y"), 0);
    assert_null(strchr(enc.ptr, '/'));
    xp_buf_printf(&b, "%s/tom/p/%s/experiment.json", out, enc.ptr);
    char *txt = tu_slurp(b.ptr);
    assert_non_null(txt);
    assert_non_null(strstr(txt, "\"../../x/../y\""));
    free(txt);
    char **v = NULL;
    size_t n = 0;
    xp_buf_reset(&b);
    xp_buf_printf(&b, "%s/tom/p", out);
    assert_int_equal(xp_list_dir(&v, &n, b.ptr), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0], enc.ptr); /* '%' sorts before 'e' */
    assert_string_equal(v[1], "e1");
    xp_strv_free(v);
    assert_int_equal(xp_list_dir(&v, &n, out), 0);
    for (size_t i = 0; i < n; i++)
        assert_true(!strcmp(v[i], "tom") || !strcmp(v[i], "xport.json") ||
                    !strcmp(v[i], ".xport"));
    xp_strv_free(v);
    xp_buf_release(&b);
    xp_buf_release(&enc);
    free(src);
    free(out);
}

static void test_download_both_generations(void **st)
{
    (void)st;
    seed();
    download_verify("0.5");
    download_verify("0.6");
    /* detection without --opt api-version */
    char *out = path("auto");
    const char *dl[] = {"download", "--from", "mldash", "tom/p", "-o", out, "-q", NULL};
    assert_int_equal(xport(NULL, dl), 0);
    free(out);
}

/* e1's metric big as downloaded under out: every index 0..5499 once, in
 * order. */
static void big_in_order(const char *out)
{
    assert_int_equal(tu_sh("f=%s/tom/p/e1/metrics/big/data.jsonl && "
                           "test $(wc -l <$f) = 5500 && "
                           "sed 's/.*\"index\":\\([0-9]*\\).*/\\1/' $f | "
                           "awk '$1 != NR-1 {exit 1}'", out), 0);
}

/* A chunk seals between the stats request and the buffer request (the
 * server seals asynchronously): the buffer then starts past what the chunks
 * gave, and the gap is paged through /data instead of lost. */
static void test_chunk_sealed_during_read(void **st)
{
    (void)st;
    seed();
    assert_int_equal(tu_sh("curl -sf -XPOST %s/__emu/config -d "
                           "'{\"seal_on_buffer_read\":true}' >/dev/null", url), 0);
    char *out = path("late");
    const char *dl[] = {"download", "--from", "mldash", "tom/p/e1", "-o", out, "-q", NULL};
    assert_int_equal(xport(NULL, dl), 0);
    big_in_order(out);
    free(out);
}

/* Chunks are parsed while their bytes arrive. A point far longer than
 * what is checked for completeness before it is scanned (200 KB of '}' in
 * a string), in a chunk cut inside it, sends the metric through /data
 * paging instead of failing it; a window of one chunk, and fewer
 * connections than chunks in flight, still give every point once, in
 * order. */
static void test_chunk_streaming(void **st)
{
    (void)st;
    seed();
    assert_int_equal(tu_sh("python3 -c 'import json; pts = [{\"value\": i, \"step\": i} "
                           "for i in range(12)]; pts[5][\"blob\"] = \"}\" * 200000; "
                           "print(json.dumps({\"namespace\": \"tom\", \"experiments\": "
                           "[{\"project\": \"q\", \"name\": \"g\", \"metrics\": "
                           "{\"giant\": {\"chunkSize\": 4, \"points\": pts}}}]}))' "
                           ">%s/giant.json && curl -sf -XPOST %s/__emu/seed "
                           "--data-binary @%s/giant.json >/dev/null", tmp, url, tmp), 0);
    fault("{\"path\":\"/giant/chunks/1$\",\"drop_after_bytes\":150000,\"count\":1}");
    char *out = path("giant");
    const char *dl[] = {"download", "--from", "mldash", "tom/q", "-o", out, "-q",
                        "--retries", "0", NULL};
    assert_int_equal(xport(NULL, dl), 0);
    assert_int_equal(tu_sh("curl -sf %s/__emu/faults | grep -q '\"fired\": *1'", url), 0);
    const char *vf[] = {"verify", "mldash:tom/q", out, NULL};
    assert_int_equal(xport(NULL, vf), 0);
    assert_int_equal(tu_sh("grep -c '}}}}}}}}' %s/tom/q/g/metrics/giant/data.jsonl | "
                           "grep -qx 1", out), 0);
    free(out);
    /* e1's 5500 points in chunks of 1000 and a buffer of 500 */
    static const char *const ways[][2] = {{"chunk-window=1", "1"}, {"chunk-window=3", "1"},
                                          {"chunk-window=8", "2"}};
    for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "w%zu", i);
        out = path(name);
        const char *dw[] = {"download", "--from", "mldash", "tom/p/e1", "metrics", "-o",
                            out, "-q", "--opt", ways[i][0], "--max-connections",
                            ways[i][1], NULL};
        assert_int_equal(xport(NULL, dw), 0);
        big_in_order(out);
        free(out);
    }
}

/* Points of every shape a chunk may hold, each read as the general
 * scanner reads it (scan_point reads plain members in place and sends the
 * rest through it): members in any order, the index as a number or a
 * string (leading zeros, a space), escapes and non-ASCII in createdAt,
 * createdAt null or a number, nested unknown members, a key with an
 * escape, a typemark, numbers beyond int64. point_shapes.jsonl is what
 * the scanner before scan_point made of them. */
static void test_point_shapes(void **st)
{
    (void)st;
    seed();
    char *rule = tu_src("tests/mldash/point_shapes.json");
    char *want = tu_src("tests/mldash/point_shapes.jsonl");
    assert_int_equal(tu_sh("curl -sf -XPOST %s/__emu/faults --data-binary @%s >/dev/null",
                           url, rule), 0);
    char *out = path("shapes");
    const char *dl[] = {"download", "--from", "mldash", "tom/p/e1", "metrics", "-o", out,
                        "-q", NULL};
    assert_int_equal(xport(NULL, dl), 0);
    assert_int_equal(tu_sh("head -10 %s/tom/p/e1/metrics/big/data.jsonl | cmp - %s", out,
                           want), 0);
    free(out);
    free(want);
    free(rule);
}

/* All the bytes of the current chunk from here to its end, as the reader
 * takes them (everything each view has, no points held); a retry starts
 * the body again. Returns how many restarts were seen. */
static int drain_chunk(struct mld_chunks *c, struct xp_buf *got,
                       enum mld_chunk_state *first)
{
    struct mld_view v;
    size_t used = 0;
    int restarts = 0;
    *first = (enum mld_chunk_state)-1;
    do {
        assert_int_equal(mld_chunks_read(c, used, MLD_MORE, &v), 0);
        if ((int)*first < 0)
            *first = v.state;
        if (v.restarted) {
            xp_buf_reset(got);
            restarts++;
        }
        xp_buf_put(got, v.s, v.len);
        used = v.len;
    } while (v.state == MLD_CHUNK_ARRIVING);
    assert_int_equal(v.state, MLD_CHUNK_COMPLETE);
    return restarts;
}

/* The chunk pipes themselves (mldash_chunks.c), on chunks of ~2 MB, twice
 * the pipe: a reader that stops taking bytes for longer than a transfer may
 * wait for room (a destination that is slow, or waits for a connection
 * the transfers hold) finds the transfers finished, their bytes spilled,
 * and every byte in order; a cut body starts again and is reported so. */
static void test_chunk_pipes(void **st)
{
    (void)st;
    assert_int_equal(tu_sh("curl -sf -XPOST %s/__emu/seed -d '{\"namespace\": \"tom\", "
                           "\"experiments\": [{\"project\": \"p\", \"name\": \"w\", "
                           "\"metrics\": {\"wide\": {\"chunkSize\": 20000, \"generate\": "
                           "{\"count\": 40000, \"start\": 0, \"step\": 1}}}}]}' | python3 -c "
                           "'import json,sys; print(json.load(sys.stdin)[\"experiments\"][0]"
                           "[\"id\"])' >%s/wid", url, tmp), 0);
    char *idf = path("wid"), *id = tu_slurp(idf);
    assert_non_null(id);
    id[strcspn(id, "\n")] = '\0';
    struct xp_http_config cfg;
    xp_http_config_init(&cfg);
    struct xp_ctx ctx = {0};
    assert_int_equal(xp_http_new(&ctx.http, &cfg), 0);
    struct xp_buf tok = XP_BUF_INIT, base = XP_BUF_INIT, u = XP_BUF_INIT;
    mld_mint_token(&tok, "tom", (int64_t)time(NULL));
    assert_int_equal(xp_http_add_cred(ctx.http, NULL, url, XP_HTTP_AUTH_BEARER, NULL,
                                      tok.ptr), 0);
    xp_buf_printf(&base, "%s/api/experiments/%s/metrics/wide", url, id);
    struct xp_buf body[2] = {XP_BUF_INIT, XP_BUF_INIT};
    for (int i = 0; i < 2; i++) {
        struct xp_http_response resp = XP_HTTP_RESPONSE_INIT;
        struct xp_http_request rq = {0};
        xp_buf_reset(&u);
        xp_buf_printf(&u, "%s/chunks/%d", base.ptr, i);
        rq.url = u.ptr;
        assert_int_equal(xp_http_request(ctx.http, &rq, &resp), 0);
        assert_true(resp.body.len > ((size_t)3 << 20) / 2);
        xp_buf_put(&body[i], resp.body.ptr, resp.body.len);
        xp_http_response_release(&resp);
    }
    struct mld m = {0};
    m.base.ctx = &ctx;
    m.window = 2;
    struct mld_chunks *c = NULL;
    assert_int_equal(mld_chunks_new(&c, &m), 0);
    struct xp_buf got = XP_BUF_INIT;
    enum mld_chunk_state first;
    /* a reader away for longer than a transfer waits for room */
    mld_chunks_start(c, base.ptr, 2);
    usleep(3500 * 1000);
    for (int i = 0; i < 2; i++) {
        xp_buf_reset(&got);
        assert_int_equal(drain_chunk(c, &got, &first), 0);
        assert_int_equal(first, MLD_CHUNK_COMPLETE);
        assert_int_equal(got.len, body[i].len);
        assert_memory_equal(got.ptr, body[i].ptr, got.len);
        assert_int_equal(mld_chunks_next(c), i == 0 ? 0 : XP_ITEROVER);
    }
    /* a body cut after 100000 bytes starts again */
    fault("{\"path\":\"/wide/chunks/0$\",\"drop_after_bytes\":100000,\"count\":1}");
    mld_chunks_start(c, base.ptr, 1);
    xp_buf_reset(&got);
    assert_int_equal(drain_chunk(c, &got, &first), 1);
    assert_int_equal(got.len, body[0].len);
    assert_memory_equal(got.ptr, body[0].ptr, got.len);
    mld_chunks_free(c);
    xp_http_free(ctx.http);
    for (int i = 0; i < 2; i++)
        xp_buf_release(&body[i]);
    xp_buf_release(&got);
    xp_buf_release(&u);
    xp_buf_release(&base);
    xp_buf_release(&tok);
    free(id);
    free(idf);
}

/* ---- layout -> emulator -> layout, rerun without duplicates ---- */

static void upload_roundtrip(const char *ver)
{
    seed();
    char *lay = path("lay");
    const char *dl[] = {"download", "--from", "mldash", "tom", "-o", lay, "-q", NULL};
    assert_int_equal(xport(NULL, dl), 0);
    const char *args[] = {"--chunk-size", "1000", NULL};
    assert_int_equal(restart(args), 0); /* an empty server */
    char opt[32];
    snprintf(opt, sizeof(opt), "api-version=%s", ver);
    const char *up[] = {"copy", lay, "mldash:tom", "-q", "--opt", opt,
                        "--batch-size", "700", NULL};
    assert_int_equal(xport(NULL, up), 0);
    assert_int_equal(xport(NULL, up), 0); /* a rerun appends nothing */
    const char *vf[] = {"verify", "mldash:tom", lay, NULL};
    assert_int_equal(xport(NULL, vf), 0);
    char *back = path("back");
    const char *dl2[] = {"download", "--from", "mldash", "tom", "-o", back, "-q", NULL};
    assert_int_equal(xport(NULL, dl2), 0);
    const char *vf2[] = {"verify", back, lay, NULL};
    assert_int_equal(xport(NULL, vf2), 0);
    free(back);
    free(lay);
}

static void test_upload_v05(void **st)
{
    (void)st;
    upload_roundtrip("0.5");
}

static void test_upload_v06(void **st)
{
    (void)st;
    upload_roundtrip("0.6");
}

/* ---- exact values through a server that reads JSON as Node does ---- */

/* The edge-case layout (NaN, ±Inf, -0.0, whole floats, 2^63-1, 2^64-1,
 * nested JSON, a summary, a system series, an artifact, logs without a
 * timestamp or level, with a stream) goes to the server and comes back
 * equal, point for point and bit for bit, for both generations. */
static void edge_roundtrip(const char *ver)
{
    const char *args[] = {"--chunk-size", "64", NULL};
    assert_int_equal(restart(args), 0);
    char *lay = path(ver), *back = path("back");
    assert_int_equal(gen_edge_layout(lay, 300), 0);
    char opt[32];
    snprintf(opt, sizeof(opt), "api-version=%s", ver);
    const char *up[] = {"copy", lay, "mldash:tom", "-q", "--opt", opt, NULL};
    assert_int_equal(xport(NULL, up), 0);
    assert_int_equal(xport(NULL, up), 0); /* a rerun appends nothing */
    assert_int_equal(tu_sh("rm -rf %s", back), 0);
    const char *dl[] = {"download", "--from", "mldash", "tom", "-o", back, "-q", "--opt",
                        opt, NULL};
    assert_int_equal(xport(NULL, dl), 0);
    /* the server's namespace is tom; compare under the source's workspace */
    assert_int_equal(tu_sh("cd %s && mv tom 'w\303\266rkspace' && sed -i "
                           "'s/\"workspace\":\"tom\"/\"workspace\":\"w\303\266rkspace\"/' "
                           "*/*/*/experiment.json", back), 0);
    const char *vf[] = {"verify", back, lay, NULL};
    assert_int_equal(xport(NULL, vf), 0);
    /* asking for artifacts alone still finds them among the files */
    char *only = path("only-artifacts");
    const char *da[] = {"download", "--from", "mldash", "tom", "artifacts", "-o", only, "-q",
                        "--opt", opt, NULL};
    assert_int_equal(xport(NULL, da), 0);
    assert_int_equal(tu_sh("cd %s/tom/*/* && test -d artifacts && test ! -e files && "
                           "test ! -e metrics", only), 0);
    free(only);
    free(back);
    free(lay);
}

static void test_edge_values_v05(void **st)
{
    (void)st;
    edge_roundtrip("0.5");
}

static void test_edge_values_v06(void **st)
{
    (void)st;
    edge_roundtrip("0.6");
}

/* ---- what ml-dash's own client sees (issue 10, item 4) ---- */

/* Values that need every kind of type mark, a series that mixes cases and
 * source members named like xport's markers go up; the parameters, points
 * and log lines as the ml-dash client reads them hold no "_xport", and
 * xport reads the upload back equal, bit for bit. */
static void no_markers(const char *ver)
{
    const char *args[] = {"--chunk-size", "16", NULL};
    assert_int_equal(restart(args), 0);
    char *lay = path(ver), *back = path("back");
    char *script = tu_src("tests/mldash/no_markers.py");
    assert_int_equal(tu_sh("%s %s --layout %s", XPORT_PYTHON, script, lay), 0);
    char opt[32];
    snprintf(opt, sizeof(opt), "api-version=%s", ver);
    const char *up[] = {"copy", lay, "mldash:tom", "-q", "--opt", opt, NULL};
    assert_int_equal(xport(NULL, up), 0);
    assert_int_equal(tu_sh("%s %s --check %s %c %s", XPORT_PYTHON, script, url, ver[2], lay),
                     0);
    assert_int_equal(tu_sh("rm -rf %s", back), 0);
    const char *dl[] = {"download", "--from", "mldash", "tom", "-o", back, "-q", "--opt",
                        opt, NULL};
    assert_int_equal(xport(NULL, dl), 0);
    const char *vf[] = {"verify", back, lay, NULL};
    assert_int_equal(xport(NULL, vf), 0);
    free(script);
    free(back);
    free(lay);
}

static void test_no_markers_v05(void **st)
{
    (void)st;
    no_markers("0.5");
}

static void test_no_markers_v06(void **st)
{
    (void)st;
    no_markers("0.6");
}

/* An upload xport made before the markers moved out of the user's data
 * (the first form, in-object "_xport" members; mldash.h) still reads back
 * exactly. */
static void test_first_form_reads(void **st)
{
    (void)st;
    char *f = tu_src("tests/mldash/seed_old_marks.json");
    assert_int_equal(tu_sh("curl -sf -XPOST %s/__emu/seed --data-binary @%s >/dev/null", url,
                           f), 0);
    free(f);
    char *out = path("first");
    const char *dl[] = {"download", "--from", "mldash", "tom/old", "-o", out, "-q", NULL};
    assert_int_equal(xport(NULL, dl), 0);
    assert_int_equal(tu_sh("cd %s/tom/old/first-form && "
                           "grep -qx '{\"version\":1,\"data\":{\"lr\":1.0,\"big\":"
                           "18446744073709551615}}' parameters.json && "
                           "grep -q '\"data\":{\"v\":NaN}' metrics/loss/data.jsonl && "
                           "grep -q '\"data\":{\"v\":0.5}' metrics/loss/data.jsonl && "
                           "grep -q '\"data\":{\"v\":2.0}' metrics/loss/data.jsonl && "
                           "grep -q '\"stream\":\"stderr\"' logs/logs.jsonl && "
                           "grep -q '\"metadata\":{\"step\":1.0}' logs/logs.jsonl && "
                           "grep '\"message\":\"b\"' logs/logs.jsonl | grep -vq level && "
                           "grep -q '\"metadata\":{\"k\":1.0}' experiment.json && "
                           "grep -q '\"best\":-Infinity' summary.json && "
                           "! grep -r _xport .", out), 0);
    free(out);
}

/* ---- a server whose schema is only what the public client asks for ---- */

/* The emulator as a v0.5.9 server (its GraphQL schema has exactly the fields
 * the ml-dash v0.5.9 client asks for: no Experiment.folder or createdAt),
 * with introspection and without: the download learns what is missing and
 * carries on (issue 10, item 2). */
static void strict_download(int introspection)
{
    const char *a1[] = {"--generation", "v05", NULL};
    const char *a2[] = {"--generation", "v05", "--no-introspection", NULL};
    assert_int_equal(restart(introspection ? a1 : a2), 0);
    seed();
    char *out = path(introspection ? "strict-i" : "strict-n");
    const char *dl[] = {"download", "--from", "mldash", "tom", "-o", out, "-q", NULL};
    assert_int_equal(xport(NULL, dl), 0);
    const char *vf[] = {"verify", "mldash:tom", out, NULL};
    assert_int_equal(xport(NULL, vf), 0);
    /* every experiment, every metric point */
    assert_int_equal(tu_sh("test -f '%s/tom/p/e1/metrics/big/data.jsonl' && "
                           "test $(wc -l <'%s/tom/p/e1/metrics/big/data.jsonl') = 5500 && "
                           "test -f '%s/tom/p/e1/parameters.json'", out, out, out), 0);
    /* with introspection the fields were looked up, not tried: no 400 */
    assert_int_equal(tu_sh("curl -s %s/__emu/stats | %s -c 'import json, sys; "
                           "s = json.load(sys.stdin)[\"byStatus\"]; "
                           "sys.exit(0 if (\"400\" in s) != %d else 1)'", url, XPORT_PYTHON,
                           introspection), 0);
    free(out);
}

/* A v0.6 server whose GraphQL pages hold fewer than asked: discovery goes
 * on while the page says hasMore. */
static void test_discovery_short_pages(void **st)
{
    (void)st;
    seed();
    assert_int_equal(tu_sh("curl -sf -XPOST %s/__emu/config -d '{\"gql_max_limit\":1}' "
                           ">/dev/null", url), 0);
    char *out = path("short");
    const char *dl[] = {"download", "--from", "mldash", "tom", "-o", out, "-q", "--opt",
                        "api-version=0.6", NULL};
    assert_int_equal(xport(NULL, dl), 0);
    assert_int_equal(tu_sh("test $(find %s -name experiment.json | wc -l) = 2", out), 0);
    free(out);
}

static void test_strict_schema_introspection(void **st)
{
    (void)st;
    strict_download(1);
}

static void test_strict_schema_no_introspection(void **st)
{
    (void)st;
    strict_download(0);
}

/* ---- faults ---- */

static void test_faults_mid_transfer(void **st)
{
    (void)st;
    seed();
    fault("{\"rules\":[{\"path\":\"/chunks/1$\",\"status\":503,\"retry_after\":\"1\"},"
          "{\"path\":\"/chunks/2$\",\"drop_after_bytes\":5000},"
          "{\"path\":\"/chunks/3$\",\"status\":500,\"count\":-1},"
          "{\"path\":\"/logs$\",\"method\":\"GET\",\"status\":429,\"retry_after\":\"0\"},"
          "{\"path\":\"/download$\",\"reset\":true}]}");
    char *out = path("f");
    /* 3 retries still ride out the 503, the cut body, the 429 and the reset;
     * chunk 3 outlives them and comes through /data paging */
    const char *dl[] = {"download", "--from", "mldash", "tom", "-o", out, "-q",
                        "--retries", "3", NULL};
    assert_int_equal(xport(NULL, dl), 0);
    /* every fault fired, so each recovery above was exercised */
    assert_int_equal(tu_sh("curl -sf %s/__emu/faults | python3 -c 'import json,sys; "
                           "sys.exit(any(f[\"fired\"] == 0 for f in "
                           "json.load(sys.stdin)[\"faults\"]))'", url), 0);
    assert_int_equal(tu_sh("curl -s -XDELETE %s/__emu/faults >/dev/null", url), 0);
    const char *vf[] = {"verify", "mldash:tom", out, NULL};
    assert_int_equal(xport(NULL, vf), 0);
    free(out);
}

static void test_wrong_sha256(void **st)
{
    (void)st;
    seed();
    /* models/a.txt ("hello") answered with five other bytes ("xyz" as a
     * JSON string): the size is right, only the sha256 can tell */
    char *id = NULL, *out_id = NULL;
    assert_int_equal(tu_sh("python3 -c 'import json,sys; print([f[\"id\"] for e in "
                           "json.load(sys.stdin)[\"experiments\"] for f in e[\"files\"] "
                           "if f[\"filename\"] == \"a.txt\"][0])' <%s/seed.json "
                           ">%s/aid", tmp, tmp), 0);
    out_id = path("aid");
    id = tu_slurp(out_id);
    assert_non_null(id);
    id[strcspn(id, "\n")] = '\0';
    struct xp_buf rule = XP_BUF_INIT;
    xp_buf_printf(&rule, "{\"path\":\"/%s/download$\",\"status\":200,\"count\":-1,"
                  "\"body\":\"xyz\"}", id);
    fault(rule.ptr);
    xp_buf_release(&rule);
    char *out = path("w");
    char *err = NULL;
    const char *dl[] = {"download", "--from", "mldash", "tom/p/e1", "-o", out, NULL};
    assert_int_equal(xport(&err, dl), 1); /* its only experiment failed */
    assert_non_null(strstr(err, "file 'models/a.txt'"));
    assert_non_null(strstr(err, "checksum mismatch"));
    assert_non_null(strstr(err, "sha256 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
    free(err);
    free(id);
    free(out_id);
    /* nothing half-written is published */
    char *ej = path("w/tom/p/e1/experiment.json");
    assert_null(tu_slurp(ej));
    free(ej);
    free(out);
}

static void test_bad_token_and_401(void **st)
{
    (void)st;
    seed();
    char *out = path("t");
    char *err = NULL;
    const char *dl[] = {"download", "--from", "mldash", "tom", "-o", out,
                        "--api-key", "not-a-token-s3cr3t", NULL};
    assert_int_equal(xport(&err, dl), 4);
    assert_null(strstr(err, "s3cr3t"));
    free(err);
    /* a 401 in the middle of a run */
    fault("{\"path\":\"/parameters$\",\"status\":401,\"count\":-1}");
    const char *dl2[] = {"download", "--from", "mldash", "tom", "-o", out, NULL};
    assert_int_equal(xport(NULL, dl2), 4);
    free(out);
}

/* ---- kill -9 mid-upload, then a rerun: nothing twice ---- */

static void test_kill9_rerun(void **st)
{
    (void)st;
    seed();
    char *lay = path("lay");
    const char *dl[] = {"download", "--from", "mldash", "tom", "-o", lay, "-q", NULL};
    assert_int_equal(xport(NULL, dl), 0);
    const char *args[] = {"--chunk-size", "1000", "--latency-ms", "30", NULL};
    assert_int_equal(restart(args), 0);
    const char *bin = getenv("XPORT_BIN");
    /* killed once some points have landed, wherever it is then */
    assert_int_equal(tu_sh("%s copy %s mldash:tom -q --batch-size 50 >/dev/null 2>&1 & "
                           "p=$!; for i in $(seq 1 200); do "
                           "curl -s %s/__emu/stats | grep -q append-batch && break; "
                           "sleep 0.05; done; kill -9 $p; wait $p; true",
                           bin, lay, url), 0);
    assert_int_equal(tu_sh("curl -s -XPOST %s/__emu/config -d '{\"latency_ms\":0}' "
                           ">/dev/null", url), 0);
    const char *up[] = {"copy", lay, "mldash:tom", "-q", NULL};
    assert_int_equal(xport(NULL, up), 0);
    const char *vf[] = {"verify", "mldash:tom", lay, NULL};
    assert_int_equal(xport(NULL, vf), 0); /* counts and every point equal */
    free(lay);
}

/* ---- mldash-local: layout -> ml-dash v0.6 store -> local reader ---- */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_jwt_vector),
#define EMU(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
        EMU(test_download_both_generations),
        EMU(test_upload_v05),
        EMU(test_upload_v06),
        EMU(test_edge_values_v05),
        EMU(test_edge_values_v06),
        EMU(test_no_markers_v05),
        EMU(test_no_markers_v06),
        EMU(test_first_form_reads),
        EMU(test_strict_schema_introspection),
        EMU(test_discovery_short_pages),
        EMU(test_strict_schema_no_introspection),
        EMU(test_chunk_sealed_during_read),
        EMU(test_chunk_streaming),
        EMU(test_point_shapes),
        EMU(test_chunk_pipes),
        EMU(test_faults_mid_transfer),
        EMU(test_wrong_sha256),
        EMU(test_bad_token_and_401),
        EMU(test_kill9_rerun),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
