/* The HTTP engine, continued (test_http.c has faults and retries):
 * credentials kept to their origin, redaction, rate and size limits,
 * concurrency, file and callback sinks, uploads and cancelling. */
#include "http_fixture.h"

static const char *echoed_header(struct json_object *o, const char *name)
{
    struct json_object *hs, *v;
    assert_true(json_object_object_get_ex(o, "headers", &hs));
    if (!json_object_object_get_ex(hs, name, &v))
        return NULL;
    return json_object_get_string(v);
}

static struct json_object *echo(struct xp_http *h, const char *url,
                                const struct xp_http_header *hd, size_t nh)
{
    struct xp_http_request rq = {.url = url, .headers = hd, .nheaders = nh};
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    int rc = xp_http_request(h, &rq, &r);
    if (rc)
        fail_msg("%s", xp_error_last()->message);
    struct json_object *o = json_tokener_parse(r.body.ptr);
    assert_non_null(o);
    xp_http_response_release(&r);
    return o;
}

static void test_credentials_scope(void **state)
{
    struct xp_http_config c;
    fast_config(&c);
    char *base = url_at(&api, "/api/v1");
    c.api_base = base;
    c.auth = XP_HTTP_AUTH_BEARER;
    c.secret = "s3cr3t-bearer-42";
    struct xp_http *h = mk(&c);
    const struct xp_http_header hd[] = {{"X-Trace", "t1"}};

    char *u = url_at(&api, "/echo");
    struct json_object *o = echo(h, u, hd, 1);
    assert_string_equal(echoed_header(o, "Authorization"),
                        "Bearer s3cr3t-bearer-42");
    assert_string_equal(echoed_header(o, "X-Trace"), "t1");
    json_object_put(o);
    free(u);

    /* a foreign host (another port is another origin) */
    u = url_at(&other, "/echo");
    o = echo(h, u, hd, 1);
    assert_null(echoed_header(o, "Authorization"));
    json_object_put(o);
    free(u);

    /* redirected from the API host to a foreign one: nothing follows */
    char *to = url_at(&other, "/echo");
    u = url_at(&api, "/redirect?to=%s", to);
    o = echo(h, u, hd, 1);
    assert_null(echoed_header(o, "Authorization"));
    assert_null(echoed_header(o, "X-Trace"));
    json_object_put(o);
    free(u);
    free(to);

    /* redirected within the API host: still authenticated */
    u = url_at(&api, "/redirect?code=307&to=/echo");
    o = echo(h, u, hd, 1);
    assert_string_equal(echoed_header(o, "Authorization"),
                        "Bearer s3cr3t-bearer-42");
    json_object_put(o);
    free(u);

    /* XP_HTTP_NO_AUTH, e.g. a presigned URL on the API host itself */
    u = url_at(&api, "/echo");
    struct xp_http_request rq = {.url = u, .flags = XP_HTTP_NO_AUTH};
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(xp_http_request(h, &rq, &r), 0);
    assert_null(strstr(r.body.ptr, "Authorization"));
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);

    /* Basic and a custom header */
    c.auth = XP_HTTP_AUTH_BASIC;
    c.secret = "user:pw";
    h = mk(&c);
    u = url_at(&api, "/echo");
    o = echo(h, u, NULL, 0);
    assert_string_equal(echoed_header(o, "Authorization"), "Basic dXNlcjpwdw==");
    json_object_put(o);
    xp_http_free(h);
    c.auth = XP_HTTP_AUTH_HEADER;
    c.auth_header = "X-API-Key";
    c.secret = "k-123456";
    h = mk(&c);
    o = echo(h, u, NULL, 0);
    assert_string_equal(echoed_header(o, "X-API-Key"), "k-123456");
    assert_null(echoed_header(o, "Authorization"));
    json_object_put(o);
    free(u);
    xp_http_free(h);
    free(base);

    /* credentials without an API host are refused */
    fast_config(&c);
    c.auth = XP_HTTP_AUTH_BEARER;
    c.secret = "x";
    assert_int_equal(xp_http_new(&h, &c), XP_EINVALID);
    assert_null(h);
}

/* A copy between two vendors: one engine, one credential per API host,
 * and two accounts on one host told apart per request. */
static void test_several_credentials(void **state)
{
    struct xp_http *h = mk_fast();
    char *a = url_at(&api, "/"), *b = url_at(&other, "/");
    const struct xp_http_cred *ca, *ca2, *cb;
    assert_int_equal(xp_http_add_cred(h, &ca, a, XP_HTTP_AUTH_BEARER, NULL,
                                      "tok-a"), 0);
    assert_int_equal(xp_http_add_cred(h, &cb, b, XP_HTTP_AUTH_HEADER,
                                      "X-API-Key", "key-b"), 0);
    assert_int_equal(xp_http_add_cred(h, &ca2, a, XP_HTTP_AUTH_BEARER, NULL,
                                      "tok-a2"), 0);
    char *ua = url_at(&api, "/echo"), *ub = url_at(&other, "/echo");
    struct json_object *o = echo(h, ua, NULL, 0);
    assert_string_equal(echoed_header(o, "Authorization"), "Bearer tok-a");
    assert_null(echoed_header(o, "X-API-Key"));
    json_object_put(o);
    o = echo(h, ub, NULL, 0);
    assert_string_equal(echoed_header(o, "X-API-Key"), "key-b");
    assert_null(echoed_header(o, "Authorization"));
    json_object_put(o);

    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    struct xp_http_request rq = {.url = ua, .cred = ca2};
    assert_int_equal(xp_http_request(h, &rq, &r), 0);
    assert_non_null(strstr(r.body.ptr, "Bearer tok-a2"));
    /* credentials named for another host are not sent here */
    struct xp_http_request rq2 = {.url = ua, .cred = cb};
    assert_int_equal(xp_http_request(h, &rq2, &r), 0);
    assert_null(strstr(r.body.ptr, "key-b"));
    assert_null(strstr(r.body.ptr, "Authorization"));

    /* every registered secret is scrubbed from messages */
    char *u = url_at(&api, "/status/400?msg=tok-a2+key-b");
    assert_int_equal(get(h, u, &r), XP_ERROR);
    assert_null(strstr(xp_error_last()->message, "tok-a2"));
    assert_null(strstr(xp_error_last()->message, "key-b"));
    assert_contains(xp_error_last()->message, "<redacted>");

    assert_int_equal(xp_http_add_cred(h, NULL, "ftp://x/", XP_HTTP_AUTH_BEARER,
                                      NULL, "t"), XP_EINVALID);
    assert_int_equal(xp_http_add_cred(h, NULL, a, XP_HTTP_AUTH_BEARER, NULL,
                                      "t\r\nX-Evil: 1"), XP_EINVALID);
    assert_int_equal(xp_http_add_cred(h, NULL, a, XP_HTTP_AUTH_BEARER, NULL,
                                      ""), XP_EAUTH);
    xp_http_response_release(&r);
    free(u);
    free(ua);
    free(ub);
    free(a);
    free(b);
    xp_http_free(h);
}

struct logbuf {
    struct xp_buf text;
    pthread_mutex_t mu;
};

static void collect(void *p, const char *line)
{
    struct logbuf *l = p;
    pthread_mutex_lock(&l->mu);
    xp_buf_puts(&l->text, line);
    xp_buf_putc(&l->text, '\n');
    pthread_mutex_unlock(&l->mu);
}

static void test_verbose_redacts(void **state)
{
    static const char secret[] = "TOPSECRET-ab12";
    struct logbuf log = {XP_BUF_INIT, PTHREAD_MUTEX_INITIALIZER};
    struct xp_http_config c;
    fast_config(&c);
    char *base = url_at(&api, "/");
    c.api_base = base;
    c.auth = XP_HTTP_AUTH_BEARER;
    c.secret = secret;
    c.verbose = 2;
    c.log = collect;
    c.log_payload = &log;
    c.max_retries = 1;
    struct xp_http *h = mk(&c);
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;

    /* in the query, in caller headers, echoed back by the server */
    char *u = url_at(&api, "/echo?api_key=%s&token=%s&x=1", secret, secret);
    const struct xp_http_header hd[] = {{"X-Api-Key", secret},
                                        {"Cookie", "sid=abc"}};
    struct xp_http_request rq = {.url = u, .headers = hd, .nheaders = 2};
    assert_int_equal(xp_http_request(h, &rq, &r), 0);
    assert_non_null(strstr(r.body.ptr, secret)); /* it was really sent */
    free(u);

    /* in an error body and an error message */
    u = url_at(&api, "/status/401?msg=bad+token+%s&api_key=%s", secret, secret);
    assert_int_equal(get(h, u, &r), XP_EAUTH);
    assert_null(strstr(xp_error_last()->message, secret));
    assert_contains(xp_error_last()->message, "api_key=<redacted>");
    free(u);
    u = url_at(&api, "/x?fail=503&sig=%s", secret);
    assert_int_equal(get(h, u, &r), XP_ERETRY);
    assert_null(strstr(xp_error_last()->message, secret));
    free(u);

    const char *t = log.text.ptr;
    assert_contains(t, "GET 'http://127.0.0.1:");
    assert_contains(t, "/echo?api_key=<redacted>&token=<redacted>&x=1' -> 200");
    assert_contains(t, "> Authorization: <redacted>");
    assert_contains(t, "> X-Api-Key: <redacted>");
    assert_contains(t, "> Cookie: <redacted>");
    assert_contains(t, "-> 503");
    assert_null(strstr(t, secret));
    assert_null(strstr(t, "sid=abc"));
    xp_http_response_release(&r);
    xp_http_free(h);
    xp_buf_release(&log.text);
    free(base);
}

/* ---- limits ------------------------------------------------------------- */

static void test_rate_limit(void **state)
{
    struct xp_http_config c;
    fast_config(&c);
    c.limit_rate = 256 * 1024;
    struct xp_http *h = mk(&c);
    char *u = url_at(&api, "/bytes/262144?seed=10");
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    double t0 = now();
    assert_int_equal(get(h, u, &r), 0);
    assert_true(now() - t0 >= 0.7); /* ~0.9 s: 1 s of data less the burst */
    assert_body(&r, 262144, 10);
    xp_http_free(h);

    /* bytes per hour: a minute's worth may burst, then 2 KiB/s */
    fast_config(&c);
    c.bytes_per_hour = 2048 * 3600;
    h = mk(&c);
    free(u);
    u = url_at(&api, "/bytes/124928?seed=10"); /* 120 KiB + 2 KiB */
    t0 = now();
    assert_int_equal(get(h, u, &r), 0);
    assert_true(now() - t0 >= 0.7);
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

static void test_body_cap(void **state)
{
    struct xp_http *h = mk_fast();
    char *u = url_at(&api, "/bytes/5000?tag=tcap");
    struct xp_http_request rq = {.url = u, .max_body = 1000};
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(xp_http_request(h, &rq, &r), XP_ERROR);
    assert_contains(xp_error_last()->message, "larger than 1000 bytes");
    assert_int_equal(server_stat("count", "tcap"), 1);
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

#define NBATCH 50

static void test_batch_concurrency(void **state)
{
    struct xp_http_config c;
    fast_config(&c);
    c.max_connections = 4;
    struct xp_http *h = mk(&c);
    server_reset();
    struct xp_http_request rq[NBATCH];
    struct xp_http_response rs[NBATCH];
    char *urls[NBATCH];
    for (int i = 0; i < NBATCH; i++) {
        /* every 10th one fails once, so retries run inside the batch too */
        urls[i] = url_at(&api, "/bytes/%d?seed=%d&delay=30&tag=b%d%s",
                         1000 + i, i, i, i % 10 ? "" : "&fail=503&times=1");
        memset(&rq[i], 0, sizeof(rq[i]));
        rq[i].url = urls[i];
        xp_http_response_init(&rs[i]);
    }
    assert_int_equal(xp_http_batch(h, rq, rs, NBATCH), 0);
    for (int i = 0; i < NBATCH; i++) {
        assert_int_equal(rs[i].code, 0);
        assert_int_equal(rs[i].attempts, i % 10 ? 1 : 2);
        assert_body(&rs[i], (size_t)(1000 + i), i);
        xp_http_response_release(&rs[i]);
        free(urls[i]);
    }
    int64_t peak = server_stat("max_in_flight", NULL);
    assert_true(peak <= 4);
    assert_true(peak >= 2); /* it did run concurrently */
    assert_int_equal(server_stat("total", NULL), NBATCH + 5);

    /* one failure among successes: reported per item and as the result */
    char *ok = url_at(&api, "/bytes/10"), *bad = url_at(&api, "/status/404");
    struct xp_http_request two[2] = {{.url = ok}, {.url = bad}};
    struct xp_http_response tr[2] = {XP_HTTP_RESPONSE_INIT,
                                      XP_HTTP_RESPONSE_INIT};
    assert_int_equal(xp_http_batch(h, two, tr, 2), XP_ENOTFOUND);
    assert_int_equal(tr[0].code, 0);
    assert_int_equal(tr[1].code, XP_ENOTFOUND);
    assert_contains(xp_error_last()->message, "/status/404' failed: HTTP 404");
    xp_http_response_release(&tr[0]);
    xp_http_response_release(&tr[1]);
    free(ok);
    free(bad);
    xp_http_free(h);
}

struct worker {
    struct xp_http *h;
    int id, rc;
};

static void *worker_main(void *p)
{
    struct worker *w = p;
    struct xp_http_request rq[10];
    struct xp_http_response rs[10];
    char *urls[10];
    for (int i = 0; i < 10; i++) {
        urls[i] = url_at(&api, "/json/w%d-%d?delay=30", w->id, i);
        memset(&rq[i], 0, sizeof(rq[i]));
        rq[i].url = urls[i];
        xp_http_response_init(&rs[i]);
    }
    w->rc = xp_http_batch(w->h, rq, rs, 10);
    /* and single requests on the same thread */
    for (int i = 0; i < 5 && !w->rc; i++)
        w->rc = xp_http_request(w->h, &rq[i], &rs[i]);
    for (int i = 0; i < 10; i++) {
        xp_http_response_release(&rs[i]);
        free(urls[i]);
    }
    return NULL;
}

static void test_threads_share_limit(void **state)
{
    struct xp_http_config c;
    fast_config(&c);
    c.max_connections = 3;
    struct xp_http *h = mk(&c);
    server_reset();
    pthread_t t[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){h, i, -1};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].rc, 0);
    }
    int64_t peak = server_stat("max_in_flight", NULL);
    assert_true(peak <= 3);
    assert_true(peak >= 2);
    assert_int_equal(server_stat("total", NULL), 4 * 15);
    xp_http_free(h);
}

/* ---- sinks and request bodies --------------------------------------------- */

static void test_to_file(void **state)
{
    struct xp_http *h = mk_fast();
    char *dir = tu_mkdtemp();
    char *path = xp_path_join(dir, "out.bin");
    char want[65], got[65];
    expected_sha(want, 300000, 11);
    char *u = url_at(&api, "/bytes/300000?seed=11&drop=100000&times=1&tag=tf");
    struct xp_http_request rq = {.url = u, .out_path = path,
                                 .expect_sha256 = want};
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(xp_http_request(h, &rq, &r), 0);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(r.body.len, 0); /* not held in memory */
    struct xp_buf b = XP_BUF_INIT;
    assert_int_equal(xp_read_file(&b, path, 1 << 20), 0);
    xp_sha256_hex(got, b.ptr, b.len);
    assert_string_equal(got, want);
    assert_int_equal(tu_count_files(dir), 1);
    free(u);

    /* a failure leaves no file and no temporary behind */
    char *path2 = xp_path_join(dir, "missing.bin");
    u = url_at(&api, "/status/404");
    struct xp_http_request rq2 = {.url = u, .out_path = path2};
    assert_int_equal(xp_http_request(h, &rq2, &r), XP_ENOTFOUND);
    assert_false(xp_is_file(path2));
    free(u);
    u = url_at(&api, "/bytes/300000?truncate=10&tag=tf2");
    struct xp_http_request rq3 = {.url = u, .out_path = path2,
                                  .flags = XP_HTTP_NO_RETRY};
    assert_int_equal(xp_http_request(h, &rq3, &r), XP_ERETRY);
    assert_false(xp_is_file(path2));
    assert_int_equal(tu_count_files(dir), 1);

    xp_buf_release(&b);
    xp_http_response_release(&r);
    tu_rmtree(dir);
    free(u);
    free(path);
    free(path2);
    free(dir);
    xp_http_free(h);
}

struct sink {
    struct xp_sha256 sha;
    size_t n;
    int resets;
};

static int sink_data(void *p, const void *d, size_t len)
{
    struct sink *s = p;
    xp_sha256_update(&s->sha, d, len);
    s->n += len;
    return 0;
}

static int sink_reset(void *p)
{
    struct sink *s = p;
    xp_sha256_init(&s->sha);
    s->n = 0;
    s->resets++;
    return 0;
}

static void test_callback_sink(void **state)
{
    struct xp_http *h = mk_fast();
    struct sink s = {.n = 0};
    xp_sha256_init(&s.sha);
    char *u = url_at(&api, "/bytes/200000?seed=12&drop=90000&times=1&tag=tcb");
    struct xp_http_request rq = {.url = u, .on_data = sink_data,
                                 .on_reset = sink_reset, .payload = &s};
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(xp_http_request(h, &rq, &r), 0);
    unsigned char d[32];
    char got[65], want[65];
    xp_sha256_final(&s.sha, d);
    xp_hex(got, d, 32);
    expected_sha(want, 200000, 12);
    assert_string_equal(got, want);
    assert_int_equal(s.n, 200000);
    assert_int_equal(s.resets, 1);
    free(u);

    /* without on_reset, data already passed on cannot be taken back */
    u = url_at(&api, "/bytes/200000?seed=12&drop=90000&times=1&tag=tcb2");
    struct xp_http_request rq2 = {.url = u, .on_data = sink_data,
                                  .payload = &s};
    assert_int_equal(xp_http_request(h, &rq2, &r), XP_ERETRY);
    assert_contains(xp_error_last()->message, "cannot retry after");
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

static int sink_refuse(void *p, const void *d, size_t len)
{
    (void)p, (void)d, (void)len;
    return xp_error_set(XP_EINVALID, "a point out of range at byte 7");
}

/* Hostile servers (issue 16): a body longer than the size the caller was
 * told stops at that size, not at its end (an endless body filled the
 * disk first); a consumer's refusal keeps its reason in the message. */
static void test_size_stop_and_refusal(void **state)
{
    struct xp_http *h = mk_fast();
    char *dir = tu_mkdtemp();
    char *path = xp_path_join(dir, "f.bin");
    char *u = url_at(&api, "/bytes/2000000?seed=3&tag=tss");
    struct xp_http_request rq = {.url = u, .out_path = path, .expect_size = 1000,
                                 .flags = XP_HTTP_CHECK_SIZE};
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_not_equal(xp_http_request(h, &rq, &r), 0);
    assert_contains(xp_error_last()->message, "expected 1000 bytes, got more");
    assert_true(r.bytes < 2000000);
    assert_int_equal(access(path, F_OK), -1);
    xp_http_response_release(&r);
    free(u);

    u = url_at(&api, "/bytes/2000?seed=3&tag=tss2");
    struct xp_http_request rq2 = {.url = u, .on_data = sink_refuse};
    assert_int_equal(xp_http_request(h, &rq2, &r), XP_EINVALID);
    assert_contains(xp_error_last()->message,
                    "the consumer stopped the transfer: a point out of range at byte 7");
    xp_http_response_release(&r);
    free(u);
    free(path);
    tu_rmtree(dir);
    free(dir);
    xp_http_free(h);
}

static void test_uploads(void **state)
{
    struct xp_http *h = mk_fast();
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    char *u = url_at(&api, "/echo");
    const struct xp_http_header ct[] = {{"Content-Type", "application/json"}};
    const char js[] = "{\"query\": \"{ viewer { id } }\"}";
    struct xp_http_request rq = {.url = u, .body = js, .body_len = strlen(js),
                                 .headers = ct, .nheaders = 1};
    assert_int_equal(xp_http_request(h, &rq, &r), 0);
    struct json_object *o = json_tokener_parse(r.body.ptr), *v;
    assert_true(json_object_object_get_ex(o, "method", &v));
    assert_string_equal(json_object_get_string(v), "POST");
    assert_true(json_object_object_get_ex(o, "body", &v));
    assert_string_equal(json_object_get_string(v), js);
    assert_string_equal(echoed_header(o, "Content-Type"), "application/json");
    json_object_put(o);

    /* PUT streamed from a file */
    char *dir = tu_mkdtemp();
    char *path = xp_path_join(dir, "up.bin");
    unsigned char *data = malloc(200000);
    gen_bytes(data, 200000, 13);
    assert_int_equal(xp_write_file_atomic(path, data, 200000), 0);
    char want[65];
    xp_sha256_hex(want, data, 200000);
    struct xp_http_request rq2 = {.method = "PUT", .url = u, .body_path = path};
    assert_int_equal(xp_http_request(h, &rq2, &r), 0);
    o = json_tokener_parse(r.body.ptr);
    assert_true(json_object_object_get_ex(o, "method", &v));
    assert_string_equal(json_object_get_string(v), "PUT");
    assert_int_equal(jint(o, "body_len"), 200000);
    assert_true(json_object_object_get_ex(o, "body_sha256", &v));
    assert_string_equal(json_object_get_string(v), want);
    json_object_put(o);

    /* a range of the file only (one part of a multipart upload), then from
     * an offset to its end; a range past the end is refused unsent */
    static const int64_t ranges[][3] = {{50000, 70000, 70000}, {199990, 0, 10}};
    struct xp_http_request rq6 = {.method = "PUT", .url = u, .body_path = path};
    for (size_t i = 0; i < 2; i++) {
        rq6.path_offset = ranges[i][0];
        rq6.path_len = ranges[i][1];
        assert_int_equal(xp_http_request(h, &rq6, &r), 0);
        o = json_tokener_parse(r.body.ptr);
        assert_int_equal(jint(o, "body_len"), ranges[i][2]);
        xp_sha256_hex(want, data + ranges[i][0], (size_t)ranges[i][2]);
        assert_true(json_object_object_get_ex(o, "body_sha256", &v));
        assert_string_equal(json_object_get_string(v), want);
        json_object_put(o);
    }
    rq6.path_len = 11;
    assert_int_equal(xp_http_request(h, &rq6, &r), XP_EINVALID);
    assert_contains(xp_error_last()->message, "not inside");

    /* multipart: a file part streamed from disk and a memory part */
    tu_write(path, "file-content-line\n");
    const struct xp_http_part parts[] = {
        {.name = "meta", .data = "{\"a\":1}", .len = 7,
         .content_type = "application/json"},
        {.name = "file", .path = path, .filename = "log.txt"}};
    struct xp_http_request rq3 = {.url = u, .parts = parts, .nparts = 2};
    assert_int_equal(xp_http_request(h, &rq3, &r), 0);
    o = json_tokener_parse(r.body.ptr);
    assert_contains(echoed_header(o, "Content-Type"), "multipart/form-data");
    assert_true(json_object_object_get_ex(o, "body", &v));
    const char *body = json_object_get_string(v);
    assert_contains(body, "name=\"meta\"");
    assert_contains(body, "{\"a\":1}");
    assert_contains(body, "name=\"file\"; filename=\"log.txt\"");
    assert_contains(body, "file-content-line\n");
    json_object_put(o);

    /* a 303 after a POST becomes a GET without the body */
    char *to = url_at(&api, "/redirect?code=303&to=/echo");
    struct xp_http_request rq4 = {.url = to, .body = js, .body_len = strlen(js)};
    assert_int_equal(xp_http_request(h, &rq4, &r), 0);
    o = json_tokener_parse(r.body.ptr);
    assert_true(json_object_object_get_ex(o, "method", &v));
    assert_string_equal(json_object_get_string(v), "GET");
    assert_int_equal(jint(o, "body_len"), 0);
    json_object_put(o);

    /* a missing upload file is an I/O error before anything is sent */
    struct xp_http_request rq5 = {.url = u, .body_path = "/nonexistent/x"};
    assert_int_equal(xp_http_request(h, &rq5, &r), XP_EIO);
    assert_contains(xp_error_last()->message, "'/nonexistent/x'");

    free(to);
    free(data);
    tu_rmtree(dir);
    free(path);
    free(dir);
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

static volatile sig_atomic_t stop_flag;

static void *raise_stop(void *p)
{
    usleep(200 * 1000);
    stop_flag = 1;
    return NULL;
}

static void test_cancel(void **state)
{
    struct xp_http_config c;
    fast_config(&c);
    c.cancel = &stop_flag;
    struct xp_http *h = mk(&c);
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    const char *paths[] = {"/json/slow?delay=3000",        /* mid-transfer */
                           "/json/w?fail=503&retry_after=8"}; /* in a wait */
    for (int i = 0; i < 2; i++) {
        stop_flag = 0;
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, raise_stop, NULL), 0);
        char *u = url_at(&api, "%s", paths[i]);
        assert_int_equal(get(h, u, &r), XP_ECANCEL);
        assert_contains(xp_error_last()->message, "interrupted");
        pthread_join(t, NULL);
        free(u);
    }
    xp_http_response_release(&r);
    xp_http_free(h);
}

/* ---- helpers without a server --------------------------------------------- */

static void test_redact_url(void **state)
{
    static const struct {
        const char *in, *out;
    } t[] = {
        {"https://h/p?a=1&api_key=XYZ&b=2",
         "https://h/p?a=1&api_key=<redacted>&b=2"},
        {"https://u:pw@h:8443/p", "https://<redacted>@h:8443/p"},
        {"https://s3/b/o?X-Amz-Signature=abc&X-Amz-Credential=def&x=y#f",
         "https://s3/b/o?X-Amz-Signature=<redacted>&X-Amz-Credential="
         "<redacted>&x=y#f"},
        {"http://h/p?token=&flag", "http://h/p?token=<redacted>&flag"},
        {"http://h/plain", "http://h/plain"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *r = xp_http_redact_url(t[i].in);
        assert_string_equal(r, t[i].out);
        free(r);
    }
}

static void test_bad_requests(void **state)
{
    struct xp_http *h = mk_fast();
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(get(h, "ftp://example.invalid/x", &r), XP_EINVALID);
    struct xp_http_request rq = {.url = "http://127.0.0.1:1/", .body = "x",
                                 .body_len = 1, .body_path = "/etc/hostname"};
    assert_int_equal(xp_http_request(h, &rq, &r), XP_EINVALID);
    /* nothing listens on port 1: a connection error, retried */
    struct xp_http_request rq2 = {.url = "http://127.0.0.1:1/x"};
    assert_int_equal(xp_http_request(h, &rq2, &r), XP_ERETRY);
    assert_int_equal(r.attempts, 6);
    assert_contains(xp_error_last()->message, "GET 'http://127.0.0.1:1/x' "
                                              "failed: ");
    xp_http_response_release(&r);
    xp_http_free(h);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact_url),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_credentials_scope),
        cmocka_unit_test(test_several_credentials),
        cmocka_unit_test(test_verbose_redacts),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_body_cap),
        cmocka_unit_test(test_batch_concurrency),
        cmocka_unit_test(test_threads_share_limit),
        cmocka_unit_test(test_to_file),
        cmocka_unit_test(test_callback_sink),
        cmocka_unit_test(test_size_stop_and_refusal),
        cmocka_unit_test(test_uploads),
        cmocka_unit_test(test_cancel),
    };
    return cmocka_run_group_tests_name("http_flow", tests, start_servers, stop_servers);
}
