/* The `wandb` adapter: opening it and listing runs (wandb_server.h).
 * Queries: wandb.md §1.3 (projects) and §1.4 (runs). */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/json.h"
#include "xport/sys/adapter.h"
#include "wandb_server.h"

static const char Q_PROJECTS[] =
    "query GetProjects($entity: String, $cursor: String, $perPage: Int = 50) "
    "{ models(entityName: $entity, after: $cursor, first: $perPage) { "
    "pageInfo { endCursor hasNextPage } "
    "edges { node { id name entityName createdAt } cursor } } }";

static const char Q_RUNS[] =
    "query Runs($project: String!, $entity: String!, $cursor: String, "
    "$perPage: Int = 50, $order: String, $filters: JSONString) { "
    "project(name: $project, entityName: $entity) { "
    "runs(filters: $filters, after: $cursor, first: $perPage, order: $order) "
    "{ edges { node { name displayName state historyLineCount } cursor } "
    "pageInfo { endCursor hasNextPage } } } }";

const char *ws_status_of_state(const char *state)
{
    if (!state)
        return NULL;
    if (!strcmp(state, "finished"))
        return "COMPLETED";
    if (!strcmp(state, "failed") || !strcmp(state, "crashed"))
        return "FAILED";
    if (!strcmp(state, "killed") || !strcmp(state, "preempted"))
        return "CANCELLED";
    return "RUNNING"; /* running, pending, preempting */
}

static int is_literal(const char *p)
{
    return p && *p && !strpbrk(p, "*?[{");
}

struct list_state {
    struct ws_adapter *a;
    xp_experiment_cb cb;
    void *payload;
};

static int list_runs(struct list_state *ls, const char *entity,
                     const char *project)
{
    struct ws_adapter *a = ls->a;
    char *cursor = NULL;
    int rc = 0;
    do {
        struct json_object *v = json_object_new_object(), *d = NULL;
        json_object_object_add(v, "entity", json_object_new_string(entity));
        json_object_object_add(v, "project", json_object_new_string(project));
        json_object_object_add(v, "perPage", json_object_new_int(a->per_page));
        json_object_object_add(v, "order", json_object_new_string(
                                               a->order ? a->order
                                                        : "+created_at"));
        if (a->filters)
            json_object_object_add(v, "filters",
                                   json_object_new_string(a->filters));
        if (cursor)
            json_object_object_add(v, "cursor", json_object_new_string(cursor));
        free(cursor);
        cursor = NULL;
        rc = wapi_gql(&a->api, "Runs", Q_RUNS, v, &d);
        json_object_put(v);
        if (rc)
            break;
        struct json_object *conn = wapi_path(d, "project.runs");
        if (!wapi_path(d, "project")) {
            json_object_put(d);
            rc = xp_error_set(XP_ENOTFOUND, "no W&B project '%s/%s'", entity,
                              project);
            break;
        }
        struct json_object *edges = wapi_path(conn, "edges");
        size_t n = edges ? json_object_array_length(edges) : 0;
        for (size_t i = 0; i < n && !rc; i++) {
            struct json_object *node =
                wapi_path(json_object_array_get_idx(edges, i), "node");
            const char *id = xp_json_str(node, "name");
            const char *dn = xp_json_str(node, "displayName");
            if (!id)
                continue;
            const char *name = dn && *dn ? dn : id;
            struct xp_location sel = {.workspace = a->entity_pat,
                                      .project = a->project_pat,
                                      .experiment = a->run_pat};
            /* a run is selected by its display name or by its id */
            if (!xp_location_selects(&sel, entity, project, name) &&
                !xp_location_selects(&sel, entity, project, id))
                continue;
            struct xp_experiment_ref ref = {entity, project, name, id, -1};
            rc = ls->cb(&ref, ls->payload);
        }
        const char *c = wapi_next_cursor(conn);
        cursor = c && n ? xp_strdup(c) : NULL;
        json_object_put(d);
    } while (!rc && cursor);
    free(cursor);
    return rc;
}

static int ws_list(struct xp_adapter *base, xp_experiment_cb cb,
                   void *payload)
{
    struct ws_adapter *a = (struct ws_adapter *)base;
    struct list_state ls = {a, cb, payload};
    if (!is_literal(a->entity_pat))
        return xp_error_set(XP_EINVALID,
                            "a W&B location needs an entity: "
                            "wandb:ENTITY[/PROJECT[/RUN]]");
    if (is_literal(a->project_pat))
        return list_runs(&ls, a->entity_pat, a->project_pat);
    char *cursor = NULL;
    int rc = 0;
    do {
        struct json_object *v = json_object_new_object(), *d = NULL;
        json_object_object_add(v, "entity",
                               json_object_new_string(a->entity_pat));
        json_object_object_add(v, "perPage", json_object_new_int(a->per_page));
        if (cursor)
            json_object_object_add(v, "cursor", json_object_new_string(cursor));
        free(cursor);
        cursor = NULL;
        if ((rc = wapi_gql(&a->api, "GetProjects", Q_PROJECTS, v, &d))) {
            json_object_put(v);
            break;
        }
        json_object_put(v);
        struct json_object *conn = wapi_path(d, "models");
        struct json_object *edges = wapi_path(conn, "edges");
        size_t n = edges ? json_object_array_length(edges) : 0;
        for (size_t i = 0; i < n && !rc; i++) {
            const char *p = xp_json_str(
                wapi_path(json_object_array_get_idx(edges, i), "node"),
                "name");
            if (p && xp_pattern_match(a->project_pat, p))
                rc = list_runs(&ls, a->entity_pat, p);
        }
        const char *c = wapi_next_cursor(conn);
        cursor = c && n ? xp_strdup(c) : NULL;
        json_object_put(d);
    } while (!rc && cursor);
    free(cursor);
    return rc;
}

static void ws_close(struct xp_adapter *base)
{
    struct ws_adapter *a = (struct ws_adapter *)base;
    if (!a)
        return;
    wapi_release(&a->api);
    free(a->entity_pat);
    free(a->project_pat);
    free(a->run_pat);
    free(a);
}

static char *dup_or_null(const char *s)
{
    return s && *s ? xp_strdup(s) : NULL;
}

static int int_option(const struct xp_options *o, const char *key, int def,
                      int lo, int hi)
{
    const char *v = xp_options_get(o, key);
    if (!v)
        return def;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < lo || n > hi)
        return -1;
    return (int)n;
}

static int ws_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                   const struct xp_location *loc, const struct xp_options *opts,
                   struct xp_ctx *ctx)
{
    *out = NULL;
    struct ws_adapter *a = xp_calloc(1, sizeof(*a));
    a->base.type = type;
    a->base.ctx = ctx;
    a->entity_pat = dup_or_null(loc->workspace);
    a->project_pat = dup_or_null(loc->project);
    a->run_pat = dup_or_null(loc->experiment);
    a->filters = xp_options_get(opts, "filters");
    a->order = xp_options_get(opts, "order");
    a->history_page = int_option(opts, "history-page", 1000, 10, 100000);
    a->per_page = int_option(opts, "page-size", 50, 1, 1000);
    int rc = 0;
    if (a->history_page < 0 || a->per_page < 0)
        rc = xp_error_set(XP_EINVALID, "bad 'history-page' or 'page-size' "
                                       "option for adapter 'wandb'");
    if (!rc)
        rc = wapi_open(&a->api, opts, ctx);
    if (rc) {
        ws_close(&a->base);
        return rc;
    }
    *out = &a->base;
    return 0;
}

const struct xp_adapter_type xp_wandb_adapter = {
    .abi = XP_ADAPTER_ABI,
    .name = "wandb",
    .summary = "W&B server (GraphQL, file_stream)",
    .caps = XP_CAP_READ | XP_CAP_WRITE | XP_CAP_LIST_PROJECTS |
            XP_CAP_NEEDS_TOKEN | XP_CAP_RESUME,
    .open = ws_open,
    .close = ws_close,
    .list_experiments = ws_list,
    .read_experiment = ws_read_experiment,
    .write_experiment = ws_write_experiment,
};
