/* The vendor-neutral GraphQL client: requests, error mapping, paging and
 * optional fields (include/xport/graphql.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/graphql.h"
#include "xport/json.h"
#include "xport/sys/http.h"

struct known {
    char *type, *field;
    enum xp_gql_has has;
};

struct typed {
    char *name;
    int answered; /* 1: the server listed its fields */
    int pending;  /* asked, no answer yet: others wait for it (cv) */
};

struct xp_gql {
    struct xp_http *http;
    char *endpoint, *vendor;
    const struct xp_http_cred *cred;
    struct xp_http_header *headers; /* Content-Type, Accept, then the caller's */
    size_t nheaders;
    int opname;

    pthread_mutex_t mu;       /* known, typed, introspect */
    pthread_cond_t cv;        /* an introspection answered */
    struct known *known;
    size_t nknown;
    struct typed *typed;      /* types introspection was asked about */
    size_t ntyped;
    int introspect;           /* 1 try, 0 never */
};

/* ---- what the server said is missing (per thread) ----------------------- */

static _Thread_local struct {
    char field[128];
    char type[256];
    int arg;
} missing;

int xp_gql_missing(const char **field, const char **type)
{
    if (field)
        *field = missing.field;
    if (type)
        *type = missing.type;
    return missing.arg;
}

/* The quoted word after `after` in s, into out; NULL when there is none. */
static const char *quoted_after(const char *s, const char *after, char *out,
                                size_t cap)
{
    const char *p = strstr(s, after);
    if (!p)
        return NULL;
    p += strlen(after);
    while (*p == ' ')
        p++;
    if (*p != '"')
        return NULL;
    const char *e = strchr(++p, '"');
    if (!e || (size_t)(e - p) >= cap)
        return NULL;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return e + 1;
}

/* Does msg say the schema lacks a field or an argument? Fills field/type. */
static int parse_missing(const char *msg, char *field, size_t fcap, char *type,
                         size_t tcap, int *arg)
{
    const char *rest;
    if ((rest = quoted_after(msg, "Cannot query field", field, fcap)) &&
        quoted_after(rest, "on type", type, tcap)) {
        *arg = 0;
        return 1;
    }
    if ((rest = quoted_after(msg, "Unknown argument", field, fcap)) &&
        (rest = quoted_after(rest, "on field", type, tcap))) {
        /* graphql-js 15: `on field "f" of type "T"`; 16 and Go: "T.f" */
        char t[128];
        if (quoted_after(rest, "of type", t, sizeof(t)) &&
            strlen(t) + 1 + strlen(type) < tcap) {
            size_t lt = strlen(t); /* "T.f": the field moves right, the type goes first */
            memmove(type + lt + 1, type, strlen(type) + 1);
            type[lt] = '.';
            memcpy(type, t, lt);
        }
        *arg = 1;
        return 1;
    }
    return 0;
}

/* ---- opening ------------------------------------------------------------ */

int xp_gql_open(struct xp_gql **out, struct xp_http *http,
                const struct xp_gql_config *cfg)
{
    *out = NULL;
    if (!http || !cfg || !cfg->endpoint)
        return xp_error_set(XP_EINVALID, "GraphQL client needs an endpoint "
                            "and the HTTP engine");
    struct xp_gql *g = xp_calloc(1, sizeof(*g));
    g->http = http;
    g->endpoint = xp_strdup(cfg->endpoint);
    g->vendor = xp_strdup(cfg->vendor ? cfg->vendor : "GraphQL");
    g->cred = cfg->cred;
    g->opname = cfg->send_operation_name;
    g->introspect = 1;
    g->nheaders = 2 + cfg->nheaders;
    g->headers = xp_calloc(g->nheaders, sizeof(*g->headers));
    g->headers[0].name = xp_strdup("Content-Type");
    g->headers[0].value = xp_strdup("application/json");
    g->headers[1].name = xp_strdup("Accept");
    g->headers[1].value = xp_strdup("application/json");
    for (size_t i = 0; i < cfg->nheaders; i++) {
        g->headers[2 + i].name = xp_strdup(cfg->headers[i].name);
        g->headers[2 + i].value = xp_strdup(cfg->headers[i].value);
    }
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    *out = g;
    return 0;
}

void xp_gql_free(struct xp_gql *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nheaders; i++) {
        free((char *)g->headers[i].name);
        free((char *)g->headers[i].value);
    }
    free(g->headers);
    for (size_t i = 0; i < g->nknown; i++) {
        free(g->known[i].type);
        free(g->known[i].field);
    }
    free(g->known);
    for (size_t i = 0; i < g->ntyped; i++)
        free(g->typed[i].name);
    free(g->typed);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g->endpoint);
    free(g->vendor);
    free(g);
}

/* ---- one request ---------------------------------------------------------- */

struct json_object *xp_gql_path(struct json_object *root, const char *path)
{
    struct json_object *o = root;
    char key[128];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        if (!json_object_is_type(o, json_type_object) ||
            !json_object_object_get_ex(o, key, &o))
            return NULL;
        path += n + (path[n] == '.');
    }
    return o && !json_object_is_type(o, json_type_null) ? o : NULL;
}

static int has_ci(const char *s, const char *needle)
{
    return s && strcasestr(s, needle) != NULL;
}

static struct json_object *errors_of(struct json_object *resp)
{
    struct json_object *errs;
    if (!json_object_object_get_ex(resp, "errors", &errs) ||
        !json_object_is_type(errs, json_type_array) ||
        !json_object_array_length(errs))
        return NULL;
    return errs;
}

static const char *message_of(struct json_object *e)
{
    const char *m = xp_json_str(e, "message");
    return m ? m : "unknown error";
}

/* A rate limit said inside the answer (some gateways answer 200 so). */
static int is_rate_limit(struct json_object *e)
{
    const char *m = message_of(e);
    const char *code = xp_json_str(xp_gql_path(e, "extensions"), "code");
    return has_ci(m, "rate limit") || has_ci(m, "ratelimit") ||
           has_ci(m, "too many requests") || has_ci(code, "RATE") ||
           has_ci(code, "TOO_MANY");
}

/* An answer looked into for its errors: NULL when it is not JSON or is too
 * dense to parse (xp_json_parse_answer), leaving the error as it was. */
static struct json_object *parse_quiet(const struct xp_buf *body, const char *url)
{
    struct xp_error keep = *xp_error_last();
    struct json_object *o = NULL;
    if (xp_json_parse_answer(&o, body->ptr, body->len, "GraphQL answer", url))
        xp_error_set_http(keep.code, keep.http_status, "%s", keep.message);
    return o;
}

/* The engine's hook: retry a 200 whose errors are all rate limits. */
static int retry_2xx(void *payload, const struct xp_buf *body,
                     struct xp_buf *why)
{
    (void)payload;
    if (!strstr(body->ptr, "\"errors\""))
        return 0;
    struct json_object *o = parse_quiet(body, NULL);
    struct json_object *errs = o ? errors_of(o) : NULL;
    int limited = errs != NULL;
    for (size_t i = 0; errs && i < json_object_array_length(errs); i++)
        limited &= is_rate_limit(json_object_array_get_idx(errs, i));
    if (limited)
        xp_buf_printf(why, "rate limited: %s",
                      message_of(json_object_array_get_idx(errs, 0)));
    json_object_put(o);
    return limited;
}

/* Map an answer's errors to a code and message; records what is missing. */
static int map_errors(struct xp_gql *g, const char *op, struct json_object *errs)
{
    size_t n = json_object_array_length(errs);
    for (size_t i = 0; i < n; i++) {
        const char *m = message_of(json_object_array_get_idx(errs, i));
        int arg;
        if (parse_missing(m, missing.field, sizeof(missing.field),
                          missing.type, sizeof(missing.type), &arg)) {
            missing.arg = arg;
            return xp_error_set(XP_ENOFIELD, "%s query '%s' failed: %s",
                                g->vendor, op, m);
        }
    }
    struct json_object *e = json_object_array_get_idx(errs, 0);
    const char *m = message_of(e);
    int code = has_ci(m, "permission") || has_ci(m, "unauthori") ||
                       has_ci(m, "not logged in") || has_ci(m, "api key")
                   ? XP_EAUTH
               : has_ci(m, "not found") ? XP_ENOTFOUND
               : is_rate_limit(e)       ? XP_ERETRY
                                        : XP_ERROR;
    return xp_error_set(code, "%s query '%s' failed: %s", g->vendor, op, m);
}

int xp_gql_query(struct xp_gql *g, const char *op, const char *query,
                 struct json_object *vars, struct json_object **data)
{
    *data = NULL;
    missing.field[0] = missing.type[0] = '\0';
    missing.arg = 0;
    struct xp_buf body = XP_BUF_INIT;
    int rc = 0;
    xp_buf_putc(&body, '{');
    if (g->opname && op) {
        xp_buf_puts(&body, "\"operationName\":");
        rc = xp_json_put_str(&body, op, strlen(op), "operation name");
        xp_buf_putc(&body, ',');
    }
    xp_buf_puts(&body, "\"query\":");
    if (!rc)
        rc = xp_json_put_str(&body, query, strlen(query), "query");
    xp_buf_puts(&body, ",\"variables\":");
    if (!rc && vars)
        rc = xp_json_put_obj(&body, vars, 0);
    else
        xp_buf_puts(&body, "{}");
    xp_buf_putc(&body, '}');
    if (rc) {
        xp_buf_release(&body);
        return rc;
    }
    struct xp_http_request req = {
        .method = "POST",
        .url = g->endpoint,
        .headers = g->headers,
        .nheaders = g->nheaders,
        .body = body.ptr,
        .body_len = body.len,
        .cred = g->cred,
        .retry_2xx = retry_2xx,
    };
    struct xp_http_response resp = XP_HTTP_RESPONSE_INIT;
    rc = xp_http_request(g->http, &req, &resp);
    struct json_object *eo = NULL;
    if (rc && resp.status >= 400 && resp.status < 500 && resp.status != 401 &&
        resp.status != 403 && resp.status != 429 && resp.body.len &&
        (eo = parse_quiet(&resp.body, g->endpoint)) && errors_of(eo)) {
        /* a GraphQL error answered with a 4xx (graphql-js and Apollo answer
         * validation errors with 400): the server's errors say more */
        rc = map_errors(g, op, errors_of(eo));
    } else if (rc == XP_EAUTH) {
        rc = xp_error_set_http(XP_EAUTH, resp.status,
                               "%s refused the credentials at '%s' (HTTP %ld)",
                               g->vendor, g->endpoint, resp.status);
    } else if (rc) {
        rc = xp_error_wrap(rc, "%s query '%s'", g->vendor, op);
    } else {
        struct json_object *o = NULL;
        rc = xp_json_parse_answer(&o, resp.body.ptr, resp.body.len, "GraphQL answer",
                                  g->endpoint);
        if (rc) {
            rc = xp_error_wrap(rc, "%s query '%s'", g->vendor, op);
        } else {
            struct json_object *errs = errors_of(o);
            struct json_object *d = xp_gql_path(o, "data");
            if (errs)
                rc = map_errors(g, op, errs);
            else if (!d || !json_object_is_type(d, json_type_object))
                rc = xp_error_set(XP_ERROR, "%s query '%s' answered no data",
                                  g->vendor, op);
            else
                *data = json_object_get(d);
            json_object_put(o);
        }
    }
    json_object_put(eo);
    xp_http_response_release(&resp);
    xp_buf_release(&body);
    return rc;
}

/* ---- paging --------------------------------------------------------------- */

static int each_of(struct json_object *list, int relay,
                   int (*each)(struct json_object *, void *), void *arg,
                   size_t *n)
{
    *n = list && json_object_is_type(list, json_type_array)
             ? json_object_array_length(list) : 0;
    int rc = 0;
    for (size_t i = 0; i < *n && !rc; i++) {
        struct json_object *e = json_object_array_get_idx(list, i);
        rc = each(relay ? xp_gql_path(e, "node") : e, arg);
    }
    return rc;
}

int xp_gql_each(struct xp_gql *g, const struct xp_gql_pager *p,
                int (*each)(struct json_object *node, void *arg), void *arg)
{
    int relay = p->offset_var == NULL;
    char *cursor = NULL;
    long offset = 0;
    int rc = 0;
    json_object_object_add(p->vars, p->size_var, json_object_new_int(p->per_page));
    if (relay)
        json_object_object_del(p->vars, p->cursor_var);
    else
        json_object_object_add(p->vars, p->offset_var, json_object_new_int64(0));
    for (;;) {
        struct json_object *d = NULL;
        if ((rc = xp_gql_query(g, p->op, p->query, p->vars, &d)))
            break;
        if (p->must_path && !xp_gql_path(d, p->must_path)) {
            json_object_put(d);
            rc = xp_error_set(XP_ENOTFOUND, "no %s %s", g->vendor, p->what);
            break;
        }
        struct json_object *conn = xp_gql_path(d, p->conn_path);
        size_t n;
        if (relay) {
            rc = each_of(xp_gql_path(conn, "edges"), 1, each, arg, &n);
            struct json_object *more = xp_gql_path(conn, "pageInfo.hasNextPage");
            const char *end = xp_json_str(xp_gql_path(conn, "pageInfo"), "endCursor");
            if (!rc && more && json_object_get_boolean(more)) {
                if (!end || (cursor && !strcmp(cursor, end)))
                    rc = xp_error_set(XP_ERROR, "%s query '%s': the server says "
                                      "there are more %s but gives %s cursor",
                                      g->vendor, p->op, p->what,
                                      end ? "the same" : "no");
                else {
                    free(cursor);
                    cursor = xp_strdup(end);
                    json_object_object_add(p->vars, p->cursor_var,
                                           json_object_new_string(cursor));
                    json_object_put(d);
                    continue;
                }
            }
        } else {
            rc = each_of(conn, 0, each, arg, &n);
            struct json_object *more = p->more_path ? xp_gql_path(d, p->more_path) : NULL;
            int go = more && json_object_is_type(more, json_type_boolean)
                         ? json_object_get_boolean(more)
                         : n >= (size_t)p->per_page;
            if (!rc && go && n) {
                offset += (long)n;
                json_object_object_add(p->vars, p->offset_var,
                                       json_object_new_int64(offset));
                json_object_put(d);
                continue;
            }
        }
        json_object_put(d);
        break;
    }
    free(cursor);
    return rc;
}

/* ---- optional fields -------------------------------------------------------- */

static struct known *find_known(struct xp_gql *g, const char *type,
                                const char *field)
{
    for (size_t i = 0; i < g->nknown; i++)
        if (!strcmp(g->known[i].type, type) && !strcmp(g->known[i].field, field))
            return &g->known[i];
    return NULL;
}

static void set_known(struct xp_gql *g, const char *type, const char *field,
                      enum xp_gql_has has)
{
    struct known *k = find_known(g, type, field);
    if (!k) {
        g->known = xp_realloc(g->known, (g->nknown + 1) * sizeof(*g->known));
        k = &g->known[g->nknown++];
        k->type = xp_strdup(type);
        k->field = xp_strdup(field);
    }
    k->has = has;
}

void xp_gql_set_field(struct xp_gql *g, const char *type, const char *field,
                      enum xp_gql_has has)
{
    pthread_mutex_lock(&g->mu);
    set_known(g, type, field, has);
    pthread_mutex_unlock(&g->mu);
}

void xp_gql_no_introspection(struct xp_gql *g)
{
    pthread_mutex_lock(&g->mu);
    g->introspect = 0;
    pthread_mutex_unlock(&g->mu);
}

static int name_ok(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

static struct typed *find_typed(struct xp_gql *g, const char *type)
{
    for (size_t i = 0; i < g->ntyped; i++)
        if (!strcmp(g->typed[i].name, type))
            return &g->typed[i];
    return NULL;
}

/* Ask the server for the fields of type, once per client. A server that
 * refuses (an error, or no such type) turns introspection off: what it
 * has is then learned from its answers. */
static int introspect(struct xp_gql *g, const char *type)
{
    pthread_mutex_lock(&g->mu);
    /* another thread asking about the type: its answer is ours (a query
     * sent meanwhile would keep fields the server lacks and try again) */
    struct typed *t;
    while ((t = find_typed(g, type)) && t->pending)
        pthread_cond_wait(&g->cv, &g->mu);
    int go = g->introspect && !t;
    if (go) {
        g->typed = xp_realloc(g->typed, (g->ntyped + 1) * sizeof(*g->typed));
        g->typed[g->ntyped].name = xp_strdup(type);
        g->typed[g->ntyped].pending = 1;
        g->typed[g->ntyped++].answered = 0;
    }
    pthread_mutex_unlock(&g->mu);
    if (!go)
        return 0;
    struct xp_buf q = XP_BUF_INIT;
    xp_buf_printf(&q, "query TypeFields { __type(name: \"%s\") { fields { "
                      "name } } }", type);
    struct json_object *d = NULL;
    int rc = xp_gql_query(g, "TypeFields", q.ptr, NULL, &d);
    xp_buf_release(&q);
    struct json_object *fields = xp_gql_path(d, "__type.fields");
    pthread_mutex_lock(&g->mu);
    find_typed(g, type)->pending = 0;
    pthread_cond_broadcast(&g->cv);
    if (rc == XP_ECANCEL || rc == XP_EAUTH || rc == XP_ERETRY) {
        pthread_mutex_unlock(&g->mu);
        json_object_put(d);
        return rc;
    }
    if (rc || !fields || !json_object_is_type(fields, json_type_array)) {
        g->introspect = 0;
    } else {
        find_typed(g, type)->answered = 1;
        for (size_t i = 0; i < json_object_array_length(fields); i++) {
            const char *f = xp_json_str(json_object_array_get_idx(fields, i),
                                        "name");
            if (f)
                set_known(g, type, f, XP_GQL_HAS);
        }
    }
    pthread_mutex_unlock(&g->mu);
    json_object_put(d);
    xp_error_clear();
    return 0;
}

/* What is known without asking; -1 for "ask". */
static int lookup(struct xp_gql *g, const char *type, const char *field)
{
    pthread_mutex_lock(&g->mu);
    struct known *k = find_known(g, type, field);
    struct typed *t = find_typed(g, type);
    int has = k && k->has != XP_GQL_UNKNOWN ? (int)k->has
              : t && t->answered            ? XP_GQL_LACKS
              : (!t || t->pending) && g->introspect ? -1
                                            : XP_GQL_UNKNOWN;
    pthread_mutex_unlock(&g->mu);
    return has;
}

int xp_gql_has_field(struct xp_gql *g, const char *type, const char *field)
{
    if (!name_ok(type) || !name_ok(field))
        return xp_error_set(XP_EINVALID, "bad GraphQL name '%s.%s'", type,
                            field);
    int has = lookup(g, type, field);
    if (has >= 0)
        return has;
    int rc = introspect(g, type);
    if (rc < 0)
        return rc;
    has = lookup(g, type, field);
    return has < 0 ? XP_GQL_UNKNOWN : has;
}

/* One marker, just after its "{{": `Type.field` or `Type.field.arg`, then
 * optionally `:text`, then "}}". An argument is known as ("Type.field",
 * "arg"), as servers name it in `Unknown argument "arg" on field
 * "Type.field"`, and is never introspected. */
struct marker {
    char type[256], field[128];
    const char *text; /* NULL: the field's name */
    size_t text_len;
    const char *end;  /* after the closing "}}" */
    int arg;
};

static int parse_marker(const char *s, struct marker *m)
{
    const char *close = strstr(s, "}}");
    if (!close)
        return -1;
    const char *colon = memchr(s, ':', (size_t)(close - s));
    const char *nend = colon ? colon : close;
    const char *dot = NULL;
    int dots = 0;
    for (const char *p = s; p < nend; p++)
        if (*p == '.') {
            dot = p;
            dots++;
        }
    if (dots < 1 || dots > 2 || (size_t)(dot - s) >= sizeof(m->type) ||
        (size_t)(nend - dot - 1) >= sizeof(m->field))
        return -1;
    memcpy(m->type, s, (size_t)(dot - s));
    m->type[dot - s] = '\0';
    memcpy(m->field, dot + 1, (size_t)(nend - dot - 1));
    m->field[nend - dot - 1] = '\0';
    m->arg = dots == 2;
    m->text = colon ? colon + 1 : NULL;
    m->text_len = colon ? (size_t)(close - colon - 1) : 0;
    m->end = close + 2;
    if (m->arg && !m->text)
        return -1;
    char *d = strchr(m->type, '.');
    if (d) {
        *d = '\0';
        int ok = name_ok(m->type) && name_ok(d + 1);
        *d = '.';
        return ok && name_ok(m->field) ? 0 : -1;
    }
    return name_ok(m->type) && name_ok(m->field) ? 0 : -1;
}

static int marker_has(struct xp_gql *g, const struct marker *m)
{
    if (m->arg) {
        int has = lookup(g, m->type, m->field);
        return has < 0 ? XP_GQL_UNKNOWN : has;
    }
    return xp_gql_has_field(g, m->type, m->field);
}

/* Expand the markers by what is known. */
static int expand(struct xp_gql *g, const char *query, struct xp_buf *out)
{
    const char *p = query;
    for (;;) {
        const char *o = strstr(p, "{{");
        if (!o) {
            xp_buf_puts(out, p);
            return 0;
        }
        xp_buf_put(out, p, (size_t)(o - p));
        struct marker m;
        if (parse_marker(o + 2, &m))
            return xp_error_set(XP_EINVALID, "bad optional field marker in "
                                "GraphQL document near '%.40s'", o);
        int has = marker_has(g, &m);
        if (has < 0)
            return has;
        if (has != XP_GQL_LACKS) {
            if (m.text)
                xp_buf_put(out, m.text, m.text_len);
            else
                xp_buf_puts(out, m.field);
        }
        p = m.end;
    }
}

/* Does what the server said is missing (missing.*) belong to a marker of
 * query? An argument's field may come with or without its type. */
static int marked(const char *query, struct marker *hit)
{
    for (const char *o = strstr(query, "{{"); o; o = strstr(o + 2, "{{")) {
        if (parse_marker(o + 2, hit) || hit->arg != missing.arg ||
            strcmp(hit->field, missing.field))
            continue;
        if (!strcmp(hit->type, missing.type))
            return 1;
        const char *d = strchr(hit->type, '.');
        if (hit->arg && !strchr(missing.type, '.') && d &&
            !strcmp(d + 1, missing.type))
            return 1;
    }
    return 0;
}

/* After an answer: every marker still unknown is one the server has. */
static void learn_present(struct xp_gql *g, const char *query)
{
    for (const char *o = strstr(query, "{{"); o; o = strstr(o + 2, "{{")) {
        struct marker m;
        if (parse_marker(o + 2, &m))
            continue;
        int has = lookup(g, m.type, m.field);
        if (has == XP_GQL_UNKNOWN || has < 0)
            xp_gql_set_field(g, m.type, m.field, XP_GQL_HAS);
    }
}

int xp_gql_query_opt(struct xp_gql *g, const char *op, const char *query,
                     struct json_object *vars, struct json_object **data)
{
    *data = NULL;
    int markers = 0;
    for (const char *o = strstr(query, "{{"); o; o = strstr(o + 2, "{{"))
        markers++;
    for (int round = 0;; round++) {
        struct xp_buf doc = XP_BUF_INIT;
        int rc = expand(g, query, &doc);
        if (!rc)
            rc = xp_gql_query(g, op, doc.ptr, vars, data);
        xp_buf_release(&doc);
        if (!rc)
            learn_present(g, query);
        struct marker m;
        if (rc != XP_ENOFIELD || round >= markers || !marked(query, &m))
            return rc;
        xp_gql_set_field(g, m.type, m.field, XP_GQL_LACKS);
    }
}
