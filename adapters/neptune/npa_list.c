/* The neptune adapter (a Neptune 2.x server): opening it (credentials,
 * options), its registration, and the listing of projects and runs, paged by
 * key past the server's 10,000 offset cap (neptune-client dev/1.x
 * src/neptune/api/searching_entries.py, internal/backends/nql.py). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "npa.h"
#include "xport/error.h"
#include "xport/json.h"
#include "xport/numparse.h"

/* An NQL string literal: "..." with '"' and '\' escaped. */
static void nql_lit(struct xp_buf *b, const char *s)
{
    xp_buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            xp_buf_putc(b, '\\');
        xp_buf_putc(b, *s);
    }
    xp_buf_putc(b, '"');
}

static int has_glob(const char *s)
{
    return s && strpbrk(s, "*?[{") != NULL;
}

/* The listing's query: the user's, trashed runs, one run, after a key. */
static void run_query(struct xp_buf *q, const struct npa *n, int trashed, const char *after)
{
    xp_buf_reset(q);
    int k = 0;
#define AND() (k++ ? xp_buf_puts(q, " AND ") : (void)0)
    if (n->query && *n->query) {
        AND();
        xp_buf_printf(q, "(%s)", n->query);
    }
    if (trashed >= 0) {
        AND();
        xp_buf_printf(q, "(`sys/trashed`:bool = %s)", trashed ? "true" : "false");
    }
    if (n->sel.experiment && !has_glob(n->sel.experiment)) {
        AND();
        xp_buf_puts(q, "(`sys/id`:string = ");
        nql_lit(q, n->sel.experiment);
        xp_buf_putc(q, ')');
    }
    if (after) {
        AND();
        xp_buf_puts(q, "(`sys/id`:string > ");
        nql_lit(q, after);
        xp_buf_putc(q, ')');
    }
#undef AND
}

/* searchLeaderboardEntries: one page of containers of one type (run, model,
 * modelVersion), sorted by sys/id ascending. */
static int search(struct npa *n, const char *ws, const char *proj, const char *type,
                  const char *query, int limit, struct json_object **out)
{
    struct json_object *b = json_object_new_object(), *s = json_object_new_object(),
                       *by = json_object_new_object(), *af = json_object_new_array(),
                       *pg = json_object_new_object(), *qo = json_object_new_object();
    json_object_object_add(s, "dir", json_object_new_string("ascending"));
    json_object_object_add(s, "aggregationMode", json_object_new_string("none"));
    json_object_object_add(by, "name", json_object_new_string("sys/id"));
    json_object_object_add(by, "type", json_object_new_string("string"));
    json_object_object_add(s, "sortBy", by);
    json_object_object_add(b, "sorting", s);
    static const char *const cols[] = {"sys/id", "sys/trashed", "sys/size"};
    for (size_t i = 0; i < 3; i++) {
        struct json_object *f = json_object_new_object();
        json_object_object_add(f, "path", json_object_new_string(cols[i]));
        json_object_array_add(af, f);
    }
    json_object_object_add(b, "attributeFilters", af);
    json_object_object_add(qo, "query", json_object_new_string(query));
    json_object_object_add(b, "query", qo);
    json_object_object_add(pg, "limit", json_object_new_int(limit));
    json_object_object_add(pg, "offset", json_object_new_int(0));
    json_object_object_add(b, "pagination", pg);
    struct xp_buf body = XP_BUF_INIT, u = XP_BUF_INIT;
    int rc = xp_json_put_obj(&body, b, 0);
    json_object_put(b);
    npa_url(&u, n, "/api/leaderboard/v1/leaderboard/entries/search?projectIdentifier=");
    npa_qs(&u, ws);
    xp_buf_putc(&u, '/');
    npa_qs(&u, proj);
    xp_buf_printf(&u, "&type=%s", type);
    if (!rc)
        rc = npa_json(n, u.ptr, &body, out);
    xp_buf_release(&body);
    xp_buf_release(&u);
    return rc;
}

/* The value of attribute name in a search entry's attributes[]. */
static struct json_object *entry_attr(struct json_object *ent, const char *name)
{
    struct json_object *arr = xp_json_get(ent, "attributes");
    size_t na = arr && json_object_is_type(arr, json_type_array)
                    ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < na; i++) {
        struct json_object *a = json_object_array_get_idx(arr, i);
        const char *nm = xp_json_str(a, "name"), *t = xp_json_str(a, "type");
        if (!nm || !t || strcmp(nm, name))
            continue;
        struct xp_buf k = XP_BUF_INIT;
        xp_buf_printf(&k, "%sProperties", t);
        struct json_object *v = xp_json_get(xp_json_get(a, k.ptr), "value");
        xp_buf_release(&k);
        return v;
    }
    return NULL;
}

/* Every container of one type in one project: pages of n->page after the
 * last sys/id seen, each a fresh query from offset 0, so the 10,000 cap never
 * bites and nothing is listed twice. Models and model versions (the 2.x
 * model registry) get keys "model:<id>" and "modelVersion:<id>". */
static int list_type(struct npa *n, const char *ws, const char *proj, const char *type,
                     xp_experiment_cb cb, void *payload)
{
    struct xp_buf q = XP_BUF_INIT, key = XP_BUF_INIT;
    char *last = NULL;
    int rc = 0, run = !strcmp(type, "run");
    for (;;) {
        run_query(&q, n, n->trashed ? -1 : 0, last);
        struct json_object *d = NULL;
        if ((rc = search(n, ws, proj, type, q.ptr, n->page, &d)))
            break;
        struct json_object *ents = xp_json_get(d, "entries");
        if (!ents || !json_object_is_type(ents, json_type_array)) {
            /* an answer of another shape is not an empty project */
            json_object_put(d);
            rc = xp_error_set(XP_EINVALID, "the Neptune server's list of %ss of '%s/%s' "
                              "has no entries", type, ws, proj);
            break;
        }
        size_t ne = json_object_array_length(ents);
        for (size_t i = 0; i < ne && !rc; i++) {
            struct json_object *e = json_object_array_get_idx(ents, i);
            const char *id = xp_json_str(e, "experimentId");
            const char *sid = json_object_get_string(entry_attr(e, "sys/id"));
            if (!id || !sid) {
                rc = xp_error_set(XP_EINVALID, "a %s of '%s/%s' has no id", type, ws, proj);
                break;
            }
            if (last && strcmp(sid, last) <= 0) {
                rc = xp_error_set(XP_EINVALID, "the Neptune server listed '%s' after '%s' "
                                  "when asked for %ss sorted by sys/id", sid, last, type);
                break;
            }
            free(last);
            last = xp_strdup(sid);
            if (!xp_location_selects(&n->sel, ws, proj, sid))
                continue;
            xp_buf_reset(&key);
            if (!run)
                xp_buf_printf(&key, "%s:", type);
            xp_buf_puts(&key, id);
            struct json_object *sz = entry_attr(e, "sys/size");
            struct xp_experiment_ref ref = {ws, proj, sid, key.ptr,
                                            sz ? (int64_t)json_object_get_double(sz) : -1};
            n->runs_listed++;
            rc = cb(&ref, payload);
        }
        json_object_put(d);
        if (rc || (int)ne < n->page)
            break;
    }
    if (!rc && !n->trashed) {
        /* how many trashed ones were left out */
        struct json_object *d = NULL;
        run_query(&q, n, 1, NULL);
        if (!search(n, ws, proj, type, q.ptr, 0, &d)) {
            int64_t c = json_object_get_int64(xp_json_get(d, "matchingItemCount"));
            if (c > 0) {
                n->trashed_left_out += c;
                xp_ctx_warn(n->base.ctx, "%" PRId64 " trashed %s%s of '%s/%s' left out "
                            "(--opt trashed=include reads them)", c,
                            run ? "run" : !strcmp(type, "model") ? "model" : "model version",
                            c == 1 ? "" : "s", ws, proj);
            }
        }
        xp_error_clear();
        json_object_put(d);
    }
    free(last);
    xp_buf_release(&q);
    xp_buf_release(&key);
    return rc;
}

/* Runs, then models and model versions, of one project. */
static int list_runs(struct npa *n, const char *ws, const char *proj, xp_experiment_cb cb,
                     void *payload)
{
    static const char *const types[] = {"run", "model", "modelVersion"};
    int rc = 0;
    for (size_t i = 0; i < 3 && !rc; i++)
        rc = list_type(n, ws, proj, types[i], cb, payload);
    return rc;
}

/* listProjects of one workspace (or all the token sees), paged. */
static int list_projects(struct npa *n, xp_experiment_cb cb, void *payload)
{
    const char *ws = n->sel.workspace && !has_glob(n->sel.workspace) ? n->sel.workspace : NULL;
    struct xp_buf u = XP_BUF_INIT;
    int rc = 0;
    for (int64_t off = 0;; off += 100) {
        npa_url(&u, n, "/api/backend/v1/projects?offset=%" PRId64 "&limit=100", off);
        if (ws) {
            xp_buf_puts(&u, "&organizationIdentifier=");
            npa_qs(&u, ws);
        }
        struct json_object *d = NULL;
        if ((rc = npa_json(n, u.ptr, NULL, &d)))
            break;
        struct json_object *ents = xp_json_get(d, "entries");
        if (!ents || !json_object_is_type(ents, json_type_array)) {
            json_object_put(d);
            rc = xp_error_set(XP_EINVALID, "the Neptune server's list of projects has no "
                              "entries");
            break;
        }
        size_t ne = json_object_array_length(ents);
        for (size_t i = 0; i < ne && !rc; i++) {
            struct json_object *p = json_object_array_get_idx(ents, i);
            const char *org = xp_json_str(p, "organizationName"), *nm = xp_json_str(p, "name");
            if (!org || !nm)
                continue;
            if (xp_pattern_match(n->sel.workspace, org) && xp_pattern_match(n->sel.project, nm))
                rc = list_runs(n, org, nm, cb, payload);
        }
        int64_t total = json_object_get_int64(xp_json_get(d, "matchingItemCount"));
        json_object_put(d);
        if (rc || !ne || off + (int64_t)ne >= total)
            break;
    }
    xp_buf_release(&u);
    return rc;
}

int npa_list_experiments(struct xp_adapter *a, xp_experiment_cb cb, void *payload)
{
    struct npa *n = (struct npa *)a;
    if (n->sel.workspace && n->sel.project && !has_glob(n->sel.workspace) &&
        !has_glob(n->sel.project))
        return list_runs(n, n->sel.workspace, n->sel.project, cb, payload);
    return list_projects(n, cb, payload);
}

/* ---- the adapter ---- */

static void npa_close(struct xp_adapter *a)
{
    struct npa *n = (struct npa *)a;
    if (!n)
        return;
    xp_location_release(&n->sel);
    free(n->api);
    free(n->app);
    free(n->query);
    if (n->refresh)
        memset(n->refresh, 0, strlen(n->refresh));
    free(n->refresh);
    free(n->refresh_url);
    free(n->client_id);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

static int npa_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                    const struct xp_location *loc, const struct xp_options *opts,
                    struct xp_ctx *ctx)
{
    struct npa *n = xp_calloc(1, sizeof(*n));
    pthread_mutex_init(&n->mu, NULL);
    *out = &n->base;
    n->base.type = type;
    n->base.ctx = ctx;
    n->sel.workspace = xp_strdup(loc->workspace);
    n->sel.project = xp_strdup(loc->project);
    n->sel.experiment = xp_strdup(loc->experiment);
    n->query = xp_strdup(xp_options_get(opts, "query"));
    const char *t = xp_options_get(opts, "trashed");
    n->trashed = t && !strcmp(t, "include");
    n->page = 1000;
    const char *ps = xp_options_get(opts, "page-size");
    int64_t v;
    if (ps && !xp_parse_i64(ps, &v) && v >= 1 && v <= 10000)
        n->page = (int)v;
    if (!ctx->http)
        return xp_error_set(XP_EINVALID, "the neptune adapter needs the HTTP engine");
    if (!n->sel.workspace)
        return xp_error_set(XP_EINVALID, "name a Neptune workspace: neptune:WS[/PROJECT[/RUN]]");
    const char *key = xp_options_get(opts, "api-key");
    if (!key || !*key)
        key = getenv("NEPTUNE_API_TOKEN");
    if (!key || !*key)
        return xp_error_set(XP_EAUTH, "no Neptune credentials: give --api-key or "
                                      "NEPTUNE_API_TOKEN");
    return npa_connect(n, key);
}

static const char *const npa_trashed[] = {"exclude", "include", NULL};
static const struct xp_option_decl npa_options[] = {
    {"api-key", XP_OPT_STRING, XP_OPT_FLAG, 0, 0, NULL,
     "Neptune API token (else NEPTUNE_API_TOKEN)"},
    {"query", XP_OPT_STRING, XP_OPT_FLAG, 0, 0, NULL,
     "NQL passed to the server, AND-ed to the listing's own terms"},
    {"trashed", XP_OPT_CHOICE, 0, 0, 0, npa_trashed,
     "trashed runs: exclude (default, counted in a warning) or include"},
    {"page-size", XP_OPT_INT, 0, 1, 10000, NULL, "runs per listing request (default 1000)"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

const struct xp_adapter_type xp_neptune_adapter = {
    .abi = XP_ADAPTER_ABI,
    .name = "neptune",
    .summary = "Neptune 2.x servers (the API of neptune-client 1.x; read only)",
    .caps = XP_CAP_READ | XP_CAP_LIST_PROJECTS | XP_CAP_NEEDS_TOKEN,
    .open = npa_open,
    .close = npa_close,
    .list_experiments = npa_list_experiments,
    .read_experiment = npa_read_experiment,
    .options = npa_options,
};
