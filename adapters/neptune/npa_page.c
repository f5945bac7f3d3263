/* One page of series values ({"totalItemCount", "values": [{"step", "value",
 * "timestampMillis", ...}]}, FloatSeriesValuesDTO / StringSeriesValuesDTO of
 * neptune-ai/neptune-api commit 105043e codegen/swagger/leaderboard.json),
 * scanned in place (core/jscan.c) into an array reused from page to page;
 * a page the scanner does not take is parsed by json-c instead. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "npa.h"
#include "xport/error.h"
#include "xport/jscan.h"
#include "xport/json.h"

void npa_page_init(struct npa_page *p)
{
    memset(p, 0, sizeof(*p));
    xp_buf_init(&p->body);
    xp_buf_init(&p->scan);
}

void npa_page_release(struct npa_page *p)
{
    xp_buf_release(&p->body);
    xp_buf_release(&p->scan);
    json_object_put(p->tree);
    free(p->v);
    memset(p, 0, sizeof(*p));
}

static struct npa_pt *slot(struct npa_page *p)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 1024;
        p->v = xp_realloc(p->v, p->cap * sizeof(*p->v));
    }
    struct npa_pt *t = &p->v[p->n++];
    memset(t, 0, sizeof(*t));
    return t;
}

static int num(const struct xp_value *v, double *d)
{
    if (v->type == XP_V_FLOAT)
        *d = v->u.d;
    else if (v->type == XP_V_INT)
        *d = (double)v->u.i;
    else
        return -1;
    return 0;
}

/* The point in fields f[0..k); -1 when it is not one. */
static int take(struct npa_page *p, const struct xp_field *f, size_t k, int is_float)
{
    struct npa_pt *t = slot(p);
    int have_v = 0, have_ts = 0;
    for (size_t i = 0; i < k; i++) {
        const char *key = f[i].key;
        if (!strcmp(key, "value")) {
            if (is_float) {
                if (num(&f[i].v, &t->d))
                    return -1;
            } else if (f[i].v.type == XP_V_STRING) {
                t->s = f[i].v.u.s.ptr;
                t->slen = f[i].v.u.s.len;
            } else {
                return -1;
            }
            have_v = 1;
        } else if (!strcmp(key, "step")) {
            if (f[i].v.type != XP_V_NULL) {
                if (num(&f[i].v, &t->step))
                    return -1;
                t->has_step = 1;
            }
        } else if (!strcmp(key, "timestampMillis")) {
            if (f[i].v.type != XP_V_INT)
                return -1;
            t->ms = f[i].v.u.i;
            have_ts = 1;
        }
    }
    return have_v && have_ts ? 0 : -1;
}

/* The fast path: scan a copy of the body in place. */
int npa_page_scan(struct npa_page *p, int is_float)
{
    xp_buf_reset(&p->scan);
    xp_buf_put(&p->scan, p->body.ptr, p->body.len);
    struct xp_field top[8], f[16];
    size_t n, k;
    if (xp_jscan_object(p->scan.ptr, p->scan.len, top, 8, &n))
        return -1;
    const struct xp_value *vals = NULL;
    int have_total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(top[i].key, "values") && top[i].v.type == XP_V_JSON)
            vals = &top[i].v;
        else if (!strcmp(top[i].key, "totalItemCount") && top[i].v.type == XP_V_INT) {
            p->total = top[i].v.u.i;
            have_total = 1;
        }
    }
    if (!vals || !have_total)
        return -1;
    char *s = (char *)vals->u.s.ptr;
    size_t len = vals->u.s.len, i = 0;
#define WS() while (i < len && strchr(" \t\r\n", s[i])) i++
    WS();
    if (i == len || s[i++] != '[')
        return -1;
    for (;;) {
        WS();
        if (i < len && s[i] == ']')
            return 0;
        size_t end;
        if (xp_jscan_object_at(s + i, len - i, &end, f, 16, &k) || take(p, f, k, is_float))
            return -1;
        i += end;
        WS();
        if (i < len && s[i] == ',')
            i++;
        else if (i < len && s[i] == ']')
            return 0;
        else
            return -1;
    }
#undef WS
}

int npa_jdouble(struct json_object *v, double *out)
{
    if (!v)
        return -1;
    if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) {
        *out = json_object_get_double(v);
        return 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return -1;
    const char *s = json_object_get_string(v);
    if (!strcmp(s, "NaN"))
        *out = NAN;
    else if (!strcmp(s, "Infinity"))
        *out = INFINITY;
    else if (!strcmp(s, "-Infinity"))
        *out = -INFINITY;
    else
        return -1;
    return 0;
}

/* The slow path: json-c, which also says what is wrong; NaN and ±Inf may
 * come as strings here. */
int npa_page_json(struct npa_page *p, int is_float, const char *what)
{
    json_object_put(p->tree);
    p->tree = NULL;
    int rc = xp_json_parse_answer(&p->tree, p->body.ptr, p->body.len, what, NULL);
    if (rc)
        return rc;
    struct json_object *vals = xp_json_get(p->tree, "values");
    struct json_object *tot = xp_json_get(p->tree, "totalItemCount");
    if (!vals || !json_object_is_type(vals, json_type_array) || !tot ||
        !json_object_is_type(tot, json_type_int))
        return xp_error_set(XP_EINVALID, "%s: a page without values or totalItemCount", what);
    p->total = json_object_get_int64(tot);
    size_t n = json_object_array_length(vals);
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(vals, i);
        struct json_object *v = xp_json_get(e, "value"), *st = xp_json_get(e, "step"),
                           *ts = xp_json_get(e, "timestampMillis");
        struct npa_pt *t = slot(p);
        int bad = !ts || !json_object_is_type(ts, json_type_int);
        if (is_float) {
            bad = bad || npa_jdouble(v, &t->d);
        } else if (v && json_object_is_type(v, json_type_string)) {
            t->s = json_object_get_string(v);
            t->slen = (size_t)json_object_get_string_len(v);
        } else {
            bad = 1;
        }
        if (bad)
            return xp_error_set(XP_EINVALID, "%s: point %zu has no %s or timestampMillis",
                                what, i, is_float ? "number" : "string");
        t->ms = json_object_get_int64(ts);
        t->has_step = st && !npa_jdouble(st, &t->step);
    }
    return 0;
}

int npa_page_fetch(struct npa *n, struct npa_page *p, const char *url, int is_float,
                   const char *what)
{
    struct xp_http_header h = {"Accept", "application/json"};
    struct xp_http_request rq = {0};
    rq.url = url;
    rq.headers = &h;
    rq.nheaders = 1;
    struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
    int rc = npa_call(n, &rq, &r);
    if (!rc) { /* the response's body becomes the page's */
        struct xp_buf t = p->body;
        p->body = r.body;
        r.body = t;
    }
    xp_http_response_release(&r);
    return rc ? rc : npa_page_parse(p, is_float, what);
}

int npa_page_parse(struct npa_page *p, int is_float, const char *what)
{
    p->n = 0;
    p->total = 0;
    json_object_put(p->tree);
    p->tree = NULL;
    if (!npa_page_scan(p, is_float))
        return 0;
    p->n = 0;
    return npa_page_json(p, is_float, what);
}
