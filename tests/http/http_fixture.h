/* What the HTTP engine's test suites share: the two fault-injecting
 * loopback servers (tests/servers/faultserver.py), engines configured for
 * fast retries, request helpers and body checks (http_fixture.c). */
#ifndef XPORT_TEST_HTTP_FIXTURE_H
#define XPORT_TEST_HTTP_FIXTURE_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "testutil.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/sys/http.h"


extern struct tu_server api, other;

char *url_at(const struct tu_server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void gen_bytes(unsigned char *out, size_t n, int seed);
void expected_sha(char hex[65], size_t n, int seed);
double now(void);
void fast_config(struct xp_http_config *c);
struct xp_http *mk(const struct xp_http_config *c);
struct xp_http *mk_fast(void);
int get(struct xp_http *h, const char *url, struct xp_http_response *resp);
struct json_object *get_json(struct xp_http *h, const char *url);
int64_t jint(struct json_object *o, const char *k);
int64_t server_stat(const char *field, const char *key);
void server_reset(void);
void assert_body(const struct xp_http_response *r, size_t n, int seed);
void assert_contains(const char *hay, const char *needle);
int start_servers(void **state);
int stop_servers(void **state);

#endif
