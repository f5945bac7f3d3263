/* The HTTP suites' shared fixture (http_fixture.h). */
#include "http_fixture.h"

struct tu_server api, other;

char *url_at(const struct tu_server *s, const char *fmt, ...)
{
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "http://127.0.0.1:%d", s->port);
    va_list ap;
    va_start(ap, fmt);
    xp_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return xp_buf_detach(&b);
}

/* The server's /bytes content, computed independently. */
void gen_bytes(unsigned char *out, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++) {
        size_t j = i % 65536, k = i / 65536;
        out[i] = j < 8 ? (unsigned char)(k >> (8 * j))
                       : (unsigned char)((j * 31 + (size_t)seed * 7 +
                                          (j >> 8) * 13) & 255);
    }
}

void expected_sha(char hex[65], size_t n, int seed)
{
    unsigned char *b = malloc(n ? n : 1);
    gen_bytes(b, n, seed);
    xp_sha256_hex(hex, b, n);
    free(b);
}

double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fast_config(struct xp_http_config *c)
{
    xp_http_config_init(c);
    c->backoff_base_ms = 10;
    c->backoff_max_ms = 50;
    c->timeout_ms = 20000;
}

struct xp_http *mk(const struct xp_http_config *c)
{
    struct xp_http *h = NULL;
    assert_int_equal(xp_http_new(&h, c), 0);
    return h;
}

struct xp_http *mk_fast(void)
{
    struct xp_http_config c;
    fast_config(&c);
    return mk(&c);
}

/* GET into memory; returns the code, fills resp. */
int get(struct xp_http *h, const char *url,
               struct xp_http_response *resp)
{
    struct xp_http_request rq = {.url = url};
    return xp_http_request(h, &rq, resp);
}

struct json_object *get_json(struct xp_http *h, const char *url)
{
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(get(h, url, &r), 0);
    struct json_object *o = json_tokener_parse(r.body.ptr);
    assert_non_null(o);
    xp_http_response_release(&r);
    return o;
}

int64_t jint(struct json_object *o, const char *k)
{
    struct json_object *v;
    assert_true(json_object_object_get_ex(o, k, &v));
    return json_object_get_int64(v);
}

int64_t server_stat(const char *field, const char *key)
{
    struct xp_http *h = mk_fast();
    char *u = url_at(&api, "/__stats?tag=%s", key ? key : "");
    struct json_object *o = get_json(h, u);
    int64_t v = jint(o, field);
    json_object_put(o);
    free(u);
    xp_http_free(h);
    return v;
}

void server_reset(void)
{
    struct xp_http *h = mk_fast();
    char *u = url_at(&api, "/__reset");
    struct json_object *o = get_json(h, u);
    json_object_put(o);
    free(u);
    xp_http_free(h);
}

void assert_body(const struct xp_http_response *r, size_t n, int seed)
{
    char want[65], got[65];
    expected_sha(want, n, seed);
    assert_int_equal(r->body.len, n);
    xp_sha256_hex(got, r->body.ptr, r->body.len);
    assert_string_equal(got, want);
}

void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("'%s' does not contain '%s'", hay ? hay : "(null)", needle);
}


int start_servers(void **state)
{
    if (tu_server_start_py(&api, "tests/servers/faultserver.py", NULL) ||
        tu_server_start_py(&other, "tests/servers/faultserver.py", NULL))
        return -1;
    return 0;
}

int stop_servers(void **state)
{
    tu_server_stop(&api);
    tu_server_stop(&other);
    return 0;
}

