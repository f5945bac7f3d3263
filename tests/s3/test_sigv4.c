/* SigV4 as the HTTP engine has libcurl sign it (xp_http_add_sigv4), held
 * against AWS's published example "GET Object" (Amazon S3 API reference,
 * "Examples: Signature Calculations in AWS Signature Version 4",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html):
 * GET /test.txt from examplebucket.s3.amazonaws.com with Range bytes=0-9,
 * the empty body's hash and x-amz-date 20130524T000000Z, signed with the
 * example key pair for us-east-1, has the signature f0e8bdb8...bdb41. The
 * request goes to a loopback echo server (tests/s3/sigv4_echo.py) with the
 * example's Host header, so that it is signed exactly as the example. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "xport/sys/http.h"

#define AKID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EXAMPLE_SIG "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct fx {
    struct tu_server srv;
    char base[64];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (tu_server_start_py(&f->srv, "tests/s3/sigv4_echo.py", NULL))
        return -1;
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", f->srv.port);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_server_stop(&f->srv);
    free(f);
    return 0;
}

/* The Authorization (and token) header the server saw for the example's
 * request signed with token (NULL: none). */
static char *signed_example(const struct fx *f, const char *token)
{
    struct xp_http_config cfg;
    xp_http_config_init(&cfg);
    struct xp_http *h = NULL;
    tu_pass(xp_http_new(&h, &cfg));
    tu_pass(xp_http_add_sigv4(h, NULL, f->base, "us-east-1", "s3", AKID, SECRET, token));
    struct xp_buf url = XP_BUF_INIT;
    xp_buf_printf(&url, "%s/test.txt", f->base);
    struct xp_http_header hd[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                                  {"Range", "bytes=0-9"},
                                  {"x-amz-content-sha256", EMPTY_SHA},
                                  {"x-amz-date", "20130524T000000Z"}};
    struct xp_http_request rq = {0};
    rq.url = url.ptr;
    rq.headers = hd;
    rq.nheaders = 4;
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    tu_pass(xp_http_request(h, &rq, &r));
    char *out = xp_strdup(r.body.ptr);
    xp_http_response_release(&r);
    xp_http_free(h);
    xp_buf_release(&url);
    return out;
}

static void test_aws_example(void **state)
{
    char *got = signed_example(*state, NULL);
    const char *want = "AWS4-HMAC-SHA256 Credential=" AKID "/20130524/us-east-1/s3/"
                       "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;"
                       "x-amz-date, Signature=" EXAMPLE_SIG "\n";
    if (strncmp(got, want, strlen(want)))
        fail_msg("signed as\n%s\nwanted\n%s", got, want);
    free(got);
}

/* With a session token: it is sent, and signed with the rest. */
static void test_session_token(void **state)
{
    char *got = signed_example(*state, "TOKEN-FOR-TEST");
    assert_non_null(strstr(got, "SignedHeaders=host;range;x-amz-content-sha256;"
                                "x-amz-date;x-amz-security-token, Signature="));
    assert_null(strstr(got, EXAMPLE_SIG)); /* the token changes the signature */
    assert_non_null(strstr(got, "\nTOKEN-FOR-TEST\n"));
    free(got);
}

static void test_bad_input(void **state)
{
    struct fx *f = *state;
    struct xp_http_config cfg;
    xp_http_config_init(&cfg);
    struct xp_http *h = NULL;
    tu_pass(xp_http_new(&h, &cfg));
    tu_fail_with(XP_EAUTH, "secret access key",
                 xp_http_add_sigv4(h, NULL, f->base, "us-east-1", "s3", AKID, "", NULL));
    tu_fail_with(XP_EINVALID, "region",
                 xp_http_add_sigv4(h, NULL, f->base, "us:east", "s3", AKID, SECRET, NULL));
    tu_fail_with(XP_EINVALID, "session token",
                 xp_http_add_sigv4(h, NULL, f->base, "us-east-1", "s3", AKID, SECRET,
                                   "a\r\nX-Evil: 1"));
    xp_http_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_example),
        cmocka_unit_test(test_session_token),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
