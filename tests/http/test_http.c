/* The HTTP engine against the fault-injecting loopback server
 * (tests/servers/faultserver.py): every download either ends with every
 * byte right or fails saying why, never silently. Faults and retries here;
 * credentials, limits, sinks and uploads in test_http_flow.c. */
#include "http_fixture.h"

/* ---- plain success ------------------------------------------------------ */

static void test_get_bytes(void **state)
{
    struct xp_http *h = mk_fast();
    char want[65];
    expected_sha(want, 300000, 5);
    char *u = url_at(&api, "/bytes/300000?seed=5&tag=plain");
    struct xp_http_request rq = {.url = u, .expect_sha256 = want,
                                 .expect_size = 300000,
                                 .flags = XP_HTTP_CHECK_SIZE};
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(xp_http_request(h, &rq, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.bytes, 300000);
    assert_body(&r, 300000, 5);
    struct xp_buf v = XP_BUF_INIT;
    assert_int_equal(xp_http_response_header(&v, &r, "content-type"), 0);
    assert_string_equal(v.ptr, "application/octet-stream");
    assert_int_equal(xp_http_response_header(&v, &r, "x-nope"), XP_ENOTFOUND);
    xp_buf_release(&v);
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

/* ---- transient faults are retried until the bytes are right -------------- */

static void test_503_then_ok(void **state)
{
    struct xp_http *h = mk_fast();
    char *u = url_at(&api, "/bytes/100000?seed=1&fail=503&times=2&tag=t503");
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(get(h, u, &r), 0);
    assert_int_equal(r.attempts, 3);
    assert_body(&r, 100000, 1);
    assert_int_equal(server_stat("count", "t503"), 3);
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

static void test_429_retry_after(void **state)
{
    struct xp_http *h = mk_fast();
    char *u = url_at(&api, "/bytes/1000?seed=2&fail=429&retry_after=1&times=1"
                           "&tag=t429");
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    double t0 = now();
    assert_int_equal(get(h, u, &r), 0);
    assert_true(now() - t0 >= 0.95); /* backoff alone is at most 50 ms */
    assert_int_equal(r.attempts, 2);
    assert_body(&r, 1000, 2);
    xp_http_response_release(&r);
    free(u);

    /* the HTTP-date form; one-second resolution makes it wait 1 to 2 s */
    u = url_at(&api, "/bytes/1000?seed=2&fail=429&retry_after_date=2"
                     "&times=1&tag=t429d");
    t0 = now();
    assert_int_equal(get(h, u, &r), 0);
    assert_true(now() - t0 >= 0.9);
    assert_int_equal(server_stat("count", "t429d"), 2);
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

static void test_retry_after_too_long(void **state)
{
    struct xp_http_config c;
    fast_config(&c);
    c.retry_after_max_ms = 5000;
    struct xp_http *h = mk(&c);
    char *u = url_at(&api, "/json/x?fail=429&retry_after=3600&tag=tlong");
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(get(h, u, &r), XP_ERETRY);
    assert_contains(xp_error_last()->message, "retry after 3600 s");
    assert_int_equal(server_stat("count", "tlong"), 1);
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

static void test_drop_mid_body(void **state)
{
    struct xp_http *h = mk_fast();
    char *u = url_at(&api, "/bytes/200000?seed=3&drop=70000&times=1&tag=tdrop");
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(get(h, u, &r), 0);
    assert_int_equal(r.attempts, 2);
    assert_body(&r, 200000, 3);
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

static void test_truncated(void **state)
{
    struct xp_http_config c;
    fast_config(&c);
    c.max_retries = 2;
    struct xp_http *h = mk(&c);
    char *u = url_at(&api, "/bytes/50000?seed=4&truncate=1000&times=2"
                           "&tag=ttrunc");
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(get(h, u, &r), 0);
    assert_int_equal(r.attempts, 3);
    assert_body(&r, 50000, 4);
    free(u);

    /* always cut: a clear failure naming the URL and the attempts */
    u = url_at(&api, "/bytes/50000?seed=4&truncate=1000&tag=ttrunc2");
    assert_int_equal(get(h, u, &r), XP_ERETRY);
    const char *m = xp_error_last()->message;
    assert_contains(m, "GET 'http://127.0.0.1:");
    assert_contains(m, "/bytes/50000?seed=4&truncate=1000&tag=ttrunc2'");
    assert_contains(m, "after 3 attempts");
    assert_int_equal(r.code, XP_ERETRY);
    assert_string_equal(r.error, m);
    assert_int_equal(server_stat("count", "ttrunc2"), 3);
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

static void test_timeout(void **state)
{
    struct xp_http_config c;
    fast_config(&c);
    c.max_retries = 1;
    struct xp_http *h = mk(&c);
    char *u = url_at(&api, "/json/slow?delay=1500&tag=tslow");
    struct xp_http_request rq = {.url = u, .timeout_ms = 200};
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(xp_http_request(h, &rq, &r), XP_ERETRY);
    assert_contains(xp_error_last()->message, "after 2 attempts");
    assert_contains(xp_error_last()->message, "imed out");
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

/* ---- checksums and sizes ---------------------------------------------------- */

static void test_corrupt_once(void **state)
{
    struct xp_http *h = mk_fast();
    char want[65];
    expected_sha(want, 80000, 6);
    char *u = url_at(&api, "/bytes/80000?seed=6&corrupt=1&times=1&tag=tcor");
    struct xp_http_request rq = {.url = u, .expect_sha256 = want};
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(xp_http_request(h, &rq, &r), 0);
    assert_int_equal(r.attempts, 2);
    assert_body(&r, 80000, 6);
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

static void test_checksum_mismatch(void **state)
{
    struct xp_http *h = mk_fast();
    char wrong[65], got[65];
    expected_sha(wrong, 80000, 99);
    expected_sha(got, 80000, 7);
    char *u = url_at(&api, "/bytes/80000?seed=7&tag=tmis");
    struct xp_http_request rq = {.url = u, .expect_sha256 = wrong};
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(xp_http_request(h, &rq, &r), XP_ERROR);
    const char *m = xp_error_last()->message;
    assert_contains(m, "checksum mismatch for 'http://127.0.0.1:");
    assert_contains(m, "/bytes/80000?seed=7&tag=tmis'");
    assert_contains(m, wrong);
    assert_contains(m, got);
    assert_int_equal(server_stat("count", "tmis"), 2); /* retried once */
    xp_http_response_release(&r);
    free(u);

    /* md5, given in base64 */
    unsigned char *b = malloc(1000), d[16];
    char b64[32];
    struct xp_md5 mc;
    gen_bytes(b, 1000, 8);
    xp_md5_init(&mc);
    xp_md5_update(&mc, b, 1000);
    xp_md5_final(&mc, d);
    xp_base64(b64, d, 16);
    free(b);
    u = url_at(&api, "/bytes/1000?seed=8");
    struct xp_http_request rq2 = {.url = u, .expect_md5 = b64};
    assert_int_equal(xp_http_request(h, &rq2, &r), 0);
    xp_http_response_release(&r);
    free(u);

    /* the size */
    u = url_at(&api, "/bytes/999?seed=8&tag=tsize");
    struct xp_http_request rq3 = {.url = u, .expect_size = 1000,
                                  .flags = XP_HTTP_CHECK_SIZE};
    assert_int_equal(xp_http_request(h, &rq3, &r), XP_ERROR);
    assert_contains(xp_error_last()->message,
                    "expected 1000 bytes, got 999");
    assert_int_equal(server_stat("count", "tsize"), 2);
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

static void test_content_md5_header(void **state)
{
    struct xp_http *h = mk_fast();
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    char *u = url_at(&api, "/bytes/5000?seed=9&md5=1");
    assert_int_equal(get(h, u, &r), 0);
    assert_body(&r, 5000, 9);
    free(u);
    u = url_at(&api, "/bytes/5000?seed=9&badmd5=1&times=1&tag=tmd5a");
    assert_int_equal(get(h, u, &r), 0); /* wrong once, then right */
    assert_int_equal(r.attempts, 2);
    assert_body(&r, 5000, 9);
    free(u);
    u = url_at(&api, "/bytes/5000?seed=9&badmd5=1&tag=tmd5b");
    assert_int_equal(get(h, u, &r), XP_ERROR);
    assert_contains(xp_error_last()->message, "Content-MD5 md5");
    assert_int_equal(server_stat("count", "tmd5b"), 2);
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

/* ---- final errors --------------------------------------------------------- */

static void test_404_no_retry(void **state)
{
    struct xp_http *h = mk_fast();
    char *u = url_at(&api, "/status/404?msg=no+such+run&tag=t404");
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(get(h, u, &r), XP_ENOTFOUND);
    assert_int_equal(r.status, 404);
    assert_int_equal(xp_error_last()->http_status, 404);
    assert_contains(xp_error_last()->message, "failed: HTTP 404: ");
    assert_contains(xp_error_last()->message, "no such run");
    assert_int_equal(server_stat("count", "t404"), 1);
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

static void test_401_auth(void **state)
{
    struct xp_http *h = mk_fast();
    char *u = url_at(&api, "/status/401?tag=t401");
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(get(h, u, &r), XP_EAUTH);
    assert_contains(xp_error_last()->message, "HTTP 401");
    assert_contains(xp_error_last()->message, "no credentials were sent");
    assert_int_equal(server_stat("count", "t401"), 1);
    free(u);
    u = url_at(&api, "/status/403?tag=t403");
    assert_int_equal(get(h, u, &r), XP_EAUTH);
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

static void test_400_message(void **state)
{
    struct xp_http *h = mk_fast();
    struct xp_buf msg = XP_BUF_INIT;
    xp_buf_puts(&msg, "bad%0Ainput%09here%07");
    for (int i = 0; i < 300; i++)
        xp_buf_putc(&msg, 'z');
    char *u = url_at(&api, "/status/422?tag=t422&msg=%s", msg.ptr);
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(get(h, u, &r), XP_ERROR);
    const char *m = xp_error_last()->message;
    assert_contains(m, "HTTP 422: {\"message\": \"bad\\ninput\\there\\u0007z");
    for (const char *p = m; *p; p++)
        assert_true((unsigned char)*p >= 0x20);
    /* the server's part is its first 200 bytes */
    assert_true(strlen(strstr(m, "HTTP 422: ")) == strlen("HTTP 422: ") + 200);
    assert_int_equal(server_stat("count", "t422"), 1);
    xp_buf_release(&msg);
    xp_http_response_release(&r);
    free(u);

    /* raw control characters in the body are stripped */
    u = url_at(&api, "/status/400?raw=line1%%0D%%0Aline2%%07end%%1B");
    assert_int_equal(get(h, u, &r), XP_ERROR);
    assert_contains(xp_error_last()->message,
                    "failed: HTTP 400: line1 line2end");
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

static void test_retry_budget(void **state)
{
    struct xp_http_config c;
    fast_config(&c);
    c.max_retries = 10;
    c.retry_budget = 3;
    struct xp_http *h = mk(&c);
    char *u = url_at(&api, "/json/b?fail=503&tag=tbudget");
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(get(h, u, &r), XP_ERETRY);
    assert_contains(xp_error_last()->message, "retry budget of 3 is used up");
    assert_contains(xp_error_last()->message, "HTTP 503");
    assert_int_equal(server_stat("count", "tbudget"), 4);
    assert_int_equal(xp_http_retries_left(h), 0);
    /* later requests of the run get no retries at all */
    assert_int_equal(get(h, u, &r), XP_ERETRY);
    assert_int_equal(server_stat("count", "tbudget"), 5);
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);

    /* exhausted per-request retries: the exact message */
    fast_config(&c);
    c.max_retries = 4;
    h = mk(&c);
    u = url_at(&api, "/x?fail=503&tag=t5");
    assert_int_equal(get(h, u, &r), XP_ERETRY);
    char want[200];
    snprintf(want, sizeof(want),
             "GET 'http://127.0.0.1:%d/x?fail=503&tag=t5' failed: HTTP 503 "
             "after 5 attempts", api.port);
    assert_string_equal(xp_error_last()->message, want);
    xp_http_response_release(&r);
    free(u);

    /* XP_HTTP_NO_RETRY: one attempt */
    u = url_at(&api, "/x?fail=500&tag=tnoretry");
    struct xp_http_request rq = {.url = u, .flags = XP_HTTP_NO_RETRY};
    assert_int_equal(xp_http_request(h, &rq, &r), XP_ERETRY);
    assert_int_equal(server_stat("count", "tnoretry"), 1);
    xp_http_response_release(&r);
    free(u);
    xp_http_free(h);
}

/* XP_HTTP_NOT_IDEMPOTENT: a write is repeated only after an answer saying
 * it was not carried out (429, 503); a cut answer or a 502 may follow a
 * write the server did, so the call fails at once (issue 16's network
 * faults: Comet metric batches were stored twice). */
static int post_once(struct xp_http *h, const char *u, struct xp_http_response *r)
{
    struct xp_http_request rq = {.method = "POST", .url = u, .body = "x", .body_len = 1,
                                 .flags = XP_HTTP_NOT_IDEMPOTENT};
    return xp_http_request(h, &rq, r);
}

static void test_not_idempotent(void **state)
{
    struct xp_http *h = mk_fast();
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    char *u = url_at(&api, "/bytes/1000?seed=1&truncate=500&times=1&tag=tonce1");
    assert_int_equal(post_once(h, u, &r), XP_ERETRY);
    assert_contains(xp_error_last()->message, "not repeated");
    assert_int_equal(server_stat("count", "tonce1"), 1);
    free(u);
    u = url_at(&api, "/bytes/1000?seed=1&drop=500&times=1&tag=tonce2");
    assert_int_equal(post_once(h, u, &r), XP_ERETRY);
    assert_int_equal(server_stat("count", "tonce2"), 1);
    free(u);
    u = url_at(&api, "/json/x?fail=502&times=1&tag=tonce3");
    assert_int_equal(post_once(h, u, &r), XP_ERETRY);
    assert_contains(xp_error_last()->message, "HTTP 502; not repeated");
    assert_int_equal(server_stat("count", "tonce3"), 1);
    free(u);
    /* refused, so not done: retried as any request */
    u = url_at(&api, "/json/x?fail=503&times=1&tag=tonce4");
    assert_int_equal(post_once(h, u, &r), 0);
    assert_int_equal(r.attempts, 2);
    free(u);
    u = url_at(&api, "/json/x?fail=429&retry_after=0&times=1&tag=tonce5");
    assert_int_equal(post_once(h, u, &r), 0);
    assert_int_equal(r.attempts, 2);
    free(u);
    xp_http_response_release(&r);
    xp_http_free(h);
}

/* ---- credentials ---------------------------------------------------------- */


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_bytes),
        cmocka_unit_test(test_503_then_ok),
        cmocka_unit_test(test_429_retry_after),
        cmocka_unit_test(test_retry_after_too_long),
        cmocka_unit_test(test_drop_mid_body),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_corrupt_once),
        cmocka_unit_test(test_checksum_mismatch),
        cmocka_unit_test(test_content_md5_header),
        cmocka_unit_test(test_404_no_retry),
        cmocka_unit_test(test_401_auth),
        cmocka_unit_test(test_400_message),
        cmocka_unit_test(test_retry_budget),
        cmocka_unit_test(test_not_idempotent),
    };
    return cmocka_run_group_tests_name("http", tests, start_servers, stop_servers);
}
