/* The shared GraphQL client (core/graphql.c) against the loopback server
 * tests/servers/gqlserver.py: error mapping, rate limits inside a 200
 * answer retried through the HTTP engine, Relay and offset paging, the
 * missing-field error and optional fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "testutil.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/graphql.h"
#include "xport/json.h"
#include "xport/sys/http.h"

static struct tu_server srv;

static struct xp_http *mk_http(int retries, long budget)
{
    struct xp_http_config c;
    xp_http_config_init(&c);
    c.backoff_base_ms = 5;
    c.backoff_max_ms = 20;
    c.timeout_ms = 20000;
    c.max_retries = retries;
    c.retry_budget = budget;
    struct xp_http *h = NULL;
    assert_int_equal(xp_http_new(&h, &c), 0);
    return h;
}

/* A client for one scenario of the server. */
static struct xp_gql *mk(struct xp_http *h, const char *scenario)
{
    struct xp_buf url = XP_BUF_INIT;
    xp_buf_printf(&url, "http://127.0.0.1:%d/%s/graphql", srv.port, scenario);
    const struct xp_gql_config cfg = {
        .endpoint = url.ptr,
        .vendor = "Acme",
        .send_operation_name = 1,
    };
    struct xp_gql *g = NULL;
    assert_int_equal(xp_gql_open(&g, h, &cfg), 0);
    xp_buf_release(&url);
    return g;
}

/* The documents the server received for a scenario. */
static struct json_object *server_log(const char *scenario)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/__log?s=%s", srv.port,
             scenario);
    struct xp_http *h = mk_http(0, 0);
    struct xp_http_request req = {.url = url};
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    assert_int_equal(xp_http_request(h, &req, &r), 0);
    struct json_object *o = NULL;
    assert_int_equal(xp_json_parse(&o, r.body.ptr, r.body.len, "log"), 0);
    xp_http_response_release(&r);
    xp_http_free(h);
    struct json_object *q = json_object_get(xp_gql_path(o, "queries"));
    json_object_put(o);
    return q;
}

static size_t log_len(const char *scenario)
{
    struct json_object *q = server_log(scenario);
    size_t n = json_object_array_length(q);
    json_object_put(q);
    return n;
}

static const char *log_at(struct json_object *q, size_t i)
{
    return json_object_get_string(json_object_array_get_idx(q, i));
}

static void test_query(void **state)
{
    (void)state;
    struct xp_http *h = mk_http(3, -1);
    struct xp_gql *g = mk(h, "q1");
    struct json_object *vars = json_object_new_object();
    json_object_object_add(vars, "x", json_object_new_int(7));
    struct json_object *d = NULL;
    assert_int_equal(xp_gql_query(g, "Echo", "query Echo { echo }", vars, &d), 0);
    assert_int_equal(json_object_get_int(xp_gql_path(d, "echo.variables.x")), 7);
    assert_string_equal(json_object_get_string(xp_gql_path(d, "echo.query")),
                        "query Echo { echo }");
    json_object_put(d);
    json_object_put(vars);
    xp_gql_free(g);
    xp_http_free(h);
}

static void test_rate_limit_retried(void **state)
{
    (void)state;
    struct xp_http *h = mk_http(3, -1);
    struct xp_gql *g = mk(h, "rl=2");
    struct json_object *d = NULL;
    assert_int_equal(xp_gql_query(g, "Echo", "{ echo }", NULL, &d), 0);
    assert_non_null(xp_gql_path(d, "echo"));
    json_object_put(d);
    assert_int_equal(log_len("rl=2"), 3);
    xp_gql_free(g);
    xp_http_free(h);
}

static void test_rate_limit_attempts(void **state)
{
    (void)state;
    /* 2 retries per request: 3 attempts, then XP_ERETRY */
    struct xp_http *h = mk_http(2, -1);
    struct xp_gql *g = mk(h, "rl=50,t=a");
    struct json_object *d = NULL;
    assert_int_equal(xp_gql_query(g, "Echo", "{ echo }", NULL, &d), XP_ERETRY);
    assert_null(d);
    assert_non_null(strstr(xp_error_last()->message, "rate limit"));
    assert_non_null(strstr(xp_error_last()->message, "Acme query 'Echo'"));
    assert_int_equal(log_len("rl=50,t=a"), 3);
    xp_gql_free(g);
    xp_http_free(h);
}

static void test_rate_limit_budget(void **state)
{
    (void)state;
    /* the run's retry budget counts these retries too */
    struct xp_http *h = mk_http(5, 1);
    struct xp_gql *g = mk(h, "rl=50,t=b");
    struct json_object *d = NULL;
    assert_int_equal(xp_gql_query(g, "Echo", "{ echo }", NULL, &d), XP_ERETRY);
    assert_non_null(strstr(xp_error_last()->message, "budget"));
    assert_int_equal(log_len("rl=50,t=b"), 2);
    assert_int_equal(xp_http_retries_left(h), 0);
    xp_gql_free(g);
    xp_http_free(h);
}

static void check_err(struct xp_gql *g, int code, const char *msg)
{
    struct json_object *d = NULL;
    assert_int_equal(xp_gql_query(g, "Op", "{ echo }", NULL, &d), code);
    assert_null(d);
    if (!strstr(xp_error_last()->message, msg))
        fail_msg("'%s' lacks '%s'", xp_error_last()->message, msg);
}

static void test_errors(void **state)
{
    (void)state;
    struct xp_http *h = mk_http(1, -1);
    struct xp_gql *g = mk(h, "err=permission_denied_for_project");
    check_err(g, XP_EAUTH, "Acme query 'Op' failed: permission denied");
    xp_gql_free(g);
    g = mk(h, "err=project_not_found");
    check_err(g, XP_ENOTFOUND, "Acme query 'Op' failed: project not found");
    xp_gql_free(g);
    g = mk(h, "err=boom");
    check_err(g, XP_ERROR, "Acme query 'Op' failed: boom");
    xp_gql_free(g);
    xp_http_free(h);
}

static void test_missing_field(void **state)
{
    (void)state;
    struct xp_http *h = mk_http(1, -1);
    struct xp_gql *g = mk(h, "f1");
    struct json_object *d = NULL;
    const char *field, *type;
    assert_int_equal(xp_gql_query(g, "T", "{ thing { a zz } }", NULL, &d),
                     XP_ENOFIELD);
    assert_int_equal(xp_gql_missing(&field, &type), 0);
    assert_string_equal(field, "zz");
    assert_string_equal(type, "Thing");
    assert_non_null(strstr(xp_error_last()->message, "Cannot query field"));
    assert_int_equal(xp_gql_query(g, "T", "{ thing(k: 1) { a } }", NULL, &d),
                     XP_ENOFIELD);
    assert_int_equal(xp_gql_missing(&field, &type), 1);
    assert_string_equal(field, "k");
    assert_string_equal(type, "Query.thing");
    xp_gql_free(g);
    /* graphql-js 15 names the type apart */
    g = mk(h, "oldargs=1");
    assert_int_equal(xp_gql_query(g, "T", "{ thing(k: 1) { a } }", NULL, &d),
                     XP_ENOFIELD);
    assert_int_equal(xp_gql_missing(&field, &type), 1);
    assert_string_equal(type, "Query.thing");
    /* any other error clears it */
    assert_int_equal(xp_gql_query(g, "T", "{ thing { a } }", NULL, &d), 0);
    json_object_put(d);
    assert_int_equal(xp_gql_missing(&field, &type), 0);
    assert_string_equal(field, "");
    xp_gql_free(g);
    /* graphql-js and Apollo answer validation errors with HTTP 400 */
    g = mk(h, "status=400");
    assert_int_equal(xp_gql_query(g, "T", "{ thing { a zz } }", NULL, &d),
                     XP_ENOFIELD);
    assert_int_equal(xp_gql_missing(&field, &type), 0);
    assert_string_equal(field, "zz");
    assert_string_equal(type, "Thing");
    xp_gql_free(g);
    g = mk(h, "status=400,err=project_not_found");
    check_err(g, XP_ENOTFOUND, "Acme query 'Op' failed: project not found");
    xp_gql_free(g);
    g = mk(h, "status=422,err=boom");
    check_err(g, XP_ERROR, "Acme query 'Op' failed: boom");
    xp_gql_free(g);
    xp_http_free(h);
}

static int collect(struct json_object *node, void *arg)
{
    struct xp_buf *b = arg;
    xp_buf_printf(b, "%d,", json_object_get_int(xp_gql_path(node, "i")));
    return 0;
}

static const char *Q_ITEMS =
    "query Items($first: Int, $after: String) { items(first: $first, "
    "after: $after) { edges { node { i } } pageInfo { endCursor hasNextPage "
    "} } }";

static int relay(const char *scenario, int per_page, struct xp_buf *out,
                 const char *query)
{
    struct xp_http *h = mk_http(1, -1);
    struct xp_gql *g = mk(h, scenario);
    struct json_object *vars = json_object_new_object();
    const struct xp_gql_pager p = {
        .op = "Items", .query = query, .vars = vars, .size_var = "first",
        .per_page = per_page, .cursor_var = "after", .conn_path = "items",
        .must_path = "items", .what = "items",
    };
    int rc = xp_gql_each(g, &p, collect, out);
    json_object_put(vars);
    xp_gql_free(g);
    xp_http_free(h);
    return rc;
}

static void test_relay(void **state)
{
    (void)state;
    struct xp_buf b = XP_BUF_INIT;
    assert_int_equal(relay("n=7,t=r1", 3, &b, Q_ITEMS), 0);
    assert_string_equal(b.ptr, "0,1,2,3,4,5,6,");
    assert_int_equal(log_len("n=7,t=r1"), 3);
    xp_buf_reset(&b);
    assert_int_equal(relay("n=6,t=r2", 3, &b, Q_ITEMS), 0);
    assert_string_equal(b.ptr, "0,1,2,3,4,5,");
    assert_int_equal(log_len("n=6,t=r2"), 2);
    xp_buf_reset(&b);
    assert_int_equal(relay("n=0,t=r3", 3, &b, Q_ITEMS), 0);
    assert_string_equal(b.ptr, "");
    /* a server that never moves on, or gives no cursor, is an error */
    xp_buf_reset(&b);
    assert_int_equal(relay("n=9,stuck=1", 3, &b, Q_ITEMS), XP_ERROR);
    assert_non_null(strstr(xp_error_last()->message, "the same cursor"));
    assert_int_equal(log_len("n=9,stuck=1"), 2);
    xp_buf_reset(&b);
    assert_int_equal(relay("n=9,nocursor=1", 3, &b, Q_ITEMS), XP_ERROR);
    assert_non_null(strstr(xp_error_last()->message, "no cursor"));
    /* an edge's cursor is not something every server has */
    xp_buf_reset(&b);
    assert_int_equal(relay("n=3,t=r4", 3, &b,
                           "query Items($first: Int, $after: String) { "
                           "items(first: $first, after: $after) { edges { "
                           "node { i } cursor } pageInfo { endCursor "
                           "hasNextPage } } }"),
                     XP_ENOFIELD);
    xp_buf_release(&b);
}

static void test_offset(void **state)
{
    (void)state;
    struct xp_http *h = mk_http(1, -1);
    const char *sc[] = {"n=7,t=o1", "n=6,t=o2"};
    const size_t want_requests[] = {3, 3};
    for (int i = 0; i < 2; i++) {
        struct xp_gql *g = mk(h, sc[i]);
        struct json_object *vars = json_object_new_object();
        const struct xp_gql_pager p = {
            .op = "Rows", .query = "query Rows($limit: Int, $offset: Int) { "
                                   "rows(limit: $limit, offset: $offset) { i } }",
            .vars = vars, .size_var = "limit", .per_page = 3,
            .offset_var = "offset", .conn_path = "rows", .what = "rows",
        };
        struct xp_buf b = XP_BUF_INIT;
        assert_int_equal(xp_gql_each(g, &p, collect, &b), 0);
        assert_string_equal(b.ptr, i ? "0,1,2,3,4,5," : "0,1,2,3,4,5,6,");
        assert_int_equal(log_len(sc[i]), want_requests[i]);
        xp_buf_release(&b);
        json_object_put(vars);
        xp_gql_free(g);
    }
    xp_http_free(h);
}

static int stop_at_two(struct json_object *node, void *arg)
{
    (void)arg;
    return json_object_get_int(xp_gql_path(node, "i")) == 2
               ? xp_error_set(XP_EUSER, "enough") : 0;
}

static void test_each_stops(void **state)
{
    (void)state;
    struct xp_http *h = mk_http(1, -1);
    struct xp_gql *g = mk(h, "n=9,t=s");
    struct json_object *vars = json_object_new_object();
    const struct xp_gql_pager p = {
        .op = "Items", .query = Q_ITEMS, .vars = vars, .size_var = "first",
        .per_page = 2, .cursor_var = "after", .conn_path = "items",
    };
    assert_int_equal(xp_gql_each(g, &p, stop_at_two, NULL), XP_EUSER);
    assert_int_equal(log_len("n=9,t=s"), 2);
    json_object_put(vars);
    xp_gql_free(g);
    xp_http_free(h);
}

static const char *Q_OPT = "query T { thing { a {{Thing.c}} {{Thing.b:b}} } }";

static void test_optional_introspected(void **state)
{
    (void)state;
    struct xp_http *h = mk_http(1, -1);
    struct xp_gql *g = mk(h, "fields=a.b,t=i");
    struct json_object *d = NULL;
    assert_int_equal(xp_gql_query_opt(g, "T", Q_OPT, NULL, &d), 0);
    assert_string_equal(json_object_get_string(xp_gql_path(d, "thing.b")), "B");
    assert_null(xp_gql_path(d, "thing.c"));
    json_object_put(d);
    assert_int_equal(xp_gql_query_opt(g, "T", Q_OPT, NULL, &d), 0);
    json_object_put(d);
    assert_int_equal(xp_gql_has_field(g, "Thing", "c"), XP_GQL_LACKS);
    assert_int_equal(xp_gql_has_field(g, "Thing", "a"), XP_GQL_HAS);
    /* one introspection, then the two queries; none ever asked for c */
    struct json_object *q = server_log("fields=a.b,t=i");
    assert_int_equal(json_object_array_length(q), 3);
    assert_non_null(strstr(log_at(q, 0), "__type(name: \"Thing\")"));
    assert_string_equal(log_at(q, 1), "query T { thing { a  b } }");
    assert_string_equal(log_at(q, 2), log_at(q, 1));
    json_object_put(q);
    xp_gql_free(g);
    xp_http_free(h);
}

static void test_optional_by_retry(void **state)
{
    (void)state;
    struct xp_http *h = mk_http(1, -1);
    struct xp_gql *g = mk(h, "fields=a.b,nointro=1");
    struct json_object *d = NULL;
    assert_int_equal(xp_gql_query_opt(g, "T", Q_OPT, NULL, &d), 0);
    assert_string_equal(json_object_get_string(xp_gql_path(d, "thing.b")), "B");
    json_object_put(d);
    assert_int_equal(xp_gql_query_opt(g, "T", Q_OPT, NULL, &d), 0);
    json_object_put(d);
    /* refused introspection, the query with c, without c, without c */
    struct json_object *q = server_log("fields=a.b,nointro=1");
    assert_int_equal(json_object_array_length(q), 4);
    assert_non_null(strstr(log_at(q, 0), "__type"));
    assert_string_equal(log_at(q, 1), "query T { thing { a c b } }");
    assert_string_equal(log_at(q, 2), "query T { thing { a  b } }");
    assert_string_equal(log_at(q, 3), log_at(q, 2));
    json_object_put(q);
    assert_int_equal(xp_gql_has_field(g, "Thing", "c"), XP_GQL_LACKS);
    assert_int_equal(xp_gql_has_field(g, "Thing", "b"), XP_GQL_HAS);
    xp_gql_free(g);

    /* a server that has it keeps it, learned from the answer */
    g = mk(h, "fields=a.b.c,nointro=1");
    xp_gql_no_introspection(g);
    assert_int_equal(xp_gql_query_opt(g, "T", Q_OPT, NULL, &d), 0);
    assert_string_equal(json_object_get_string(xp_gql_path(d, "thing.c")), "C");
    json_object_put(d);
    assert_int_equal(xp_gql_has_field(g, "Thing", "c"), XP_GQL_HAS);
    assert_int_equal(log_len("fields=a.b.c,nointro=1"), 1);
    xp_gql_free(g);
    xp_http_free(h);
}

static void test_optional_argument(void **state)
{
    (void)state;
    const char *doc = "query T { thing{{Query.thing.k:(k: 1)}} { a } }";
    const char *sc[] = {"nointro=1,t=a1", "nointro=1,oldargs=1",
                        "nointro=1,args=k"};
    const char *want[] = {"query T { thing { a } }", "query T { thing { a } }",
                          "query T { thing(k: 1) { a } }"};
    const size_t requests[] = {2, 2, 1};
    struct xp_http *h = mk_http(1, -1);
    for (int i = 0; i < 3; i++) {
        struct xp_gql *g = mk(h, sc[i]);
        struct json_object *d = NULL;
        for (int twice = 0; twice < 2; twice++) {
            assert_int_equal(xp_gql_query_opt(g, "T", doc, NULL, &d), 0);
            json_object_put(d);
        }
        struct json_object *q = server_log(sc[i]);
        /* arguments are never introspected */
        assert_int_equal(json_object_array_length(q), requests[i] + 1);
        assert_string_equal(log_at(q, requests[i] - 1), want[i]);
        assert_string_equal(log_at(q, requests[i]), want[i]);
        json_object_put(q);
        xp_gql_free(g);
    }
    xp_http_free(h);
}

static void test_optional_not_marked(void **state)
{
    (void)state;
    /* a missing field that is not optional is the caller's error */
    struct xp_http *h = mk_http(1, -1);
    struct xp_gql *g = mk(h, "nointro=1,t=n");
    struct json_object *d = NULL;
    assert_int_equal(xp_gql_query_opt(g, "T", "{ thing { zz {{Thing.c}} } }",
                                      NULL, &d), XP_ENOFIELD);
    const char *field;
    xp_gql_missing(&field, NULL);
    assert_string_equal(field, "zz");
    assert_int_equal(xp_gql_query_opt(g, "T", "{ thing { {{Thing.c", NULL, &d),
                     XP_EINVALID);
    xp_gql_free(g);
    xp_http_free(h);
}

static int start(void **state)
{
    (void)state;
    return tu_server_start_py(&srv, "tests/servers/gqlserver.py", NULL);
}

static int stop(void **state)
{
    (void)state;
    tu_server_stop(&srv);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_rate_limit_retried),
        cmocka_unit_test(test_rate_limit_attempts),
        cmocka_unit_test(test_rate_limit_budget),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_missing_field),
        cmocka_unit_test(test_relay),
        cmocka_unit_test(test_offset),
        cmocka_unit_test(test_each_stops),
        cmocka_unit_test(test_optional_introspected),
        cmocka_unit_test(test_optional_by_retry),
        cmocka_unit_test(test_optional_argument),
        cmocka_unit_test(test_optional_not_marked),
    };
    return cmocka_run_group_tests_name("graphql", tests, start, stop);
}
