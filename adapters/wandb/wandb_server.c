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
    "edges { node { id name entityName createdAt } } } }";

static const char Q_RUNS[] =
    "query Runs($project: String!, $entity: String!, $cursor: String, "
    "$perPage: Int = 50, $order: String, $filters: JSONString) { "
    "project(name: $project, entityName: $entity) { "
    "runs(filters: $filters, after: $cursor, first: $perPage, order: $order) "
    "{ edges { node { name displayName state historyLineCount } } "
    "pageInfo { endCursor hasNextPage } } } }";

static int is_literal(const char *p)
{
    return p && *p && !strpbrk(p, "*?[{");
}

struct list_state {
    struct ws_adapter *a;
    xp_experiment_cb cb;
    void *payload;
    const char *entity, *project; /* the project being listed */
};

static int one_run(struct json_object *node, void *arg)
{
    struct list_state *ls = arg;
    struct ws_adapter *a = ls->a;
    int rc, rc2;
    const char *id = xp_json_name(node, "name", "W&B run", &rc);
    const char *dn = xp_json_name(node, "displayName", "W&B run", &rc2);
    if (rc || rc2)
        return rc ? rc : rc2;
    if (!id)
        return 0;
    const char *name = dn && *dn ? dn : id;
    struct xp_location sel = {.workspace = a->entity_pat,
                              .project = a->project_pat,
                              .experiment = a->run_pat};
    /* a run is selected by its display name or by its id */
    if (!xp_location_selects(&sel, ls->entity, ls->project, name) &&
        !xp_location_selects(&sel, ls->entity, ls->project, id))
        return 0;
    struct xp_experiment_ref ref = {ls->entity, ls->project, name, id, -1};
    return ls->cb(&ref, ls->payload);
}

static int list_runs(struct list_state *ls, const char *entity,
                     const char *project)
{
    struct ws_adapter *a = ls->a;
    ls->entity = entity;
    ls->project = project;
    struct json_object *v = json_object_new_object();
    json_object_object_add(v, "entity", json_object_new_string(entity));
    json_object_object_add(v, "project", json_object_new_string(project));
    json_object_object_add(v, "order", json_object_new_string(
                                           a->order ? a->order : "+created_at"));
    if (a->filters)
        json_object_object_add(v, "filters", json_object_new_string(a->filters));
    struct xp_buf what = XP_BUF_INIT;
    xp_buf_printf(&what, "project '%s/%s'", entity, project);
    int rc = wapi_each_node(&a->api, "Runs", Q_RUNS, v, "perPage", a->per_page,
                            "cursor", "project.runs", "project", what.ptr, one_run, ls);
    json_object_put(v);
    xp_buf_release(&what);
    return rc;
}

static int one_project(struct json_object *node, void *arg)
{
    struct list_state *ls = arg;
    const char *p = xp_json_str(node, "name");
    return p && xp_pattern_match(ls->a->project_pat, p)
               ? list_runs(ls, ls->a->entity_pat, p) : 0;
}

static int ws_list(struct xp_adapter *base, xp_experiment_cb cb,
                   void *payload)
{
    struct ws_adapter *a = (struct ws_adapter *)base;
    struct list_state ls = {a, cb, payload, NULL, NULL};
    if (!is_literal(a->entity_pat))
        return xp_error_set(XP_EINVALID,
                            "a W&B location needs an entity: "
                            "wandb:ENTITY[/PROJECT[/RUN]]");
    if (is_literal(a->project_pat))
        return list_runs(&ls, a->entity_pat, a->project_pat);
    struct json_object *v = json_object_new_object();
    json_object_object_add(v, "entity", json_object_new_string(a->entity_pat));
    int rc = wapi_each_node(&a->api, "GetProjects", Q_PROJECTS, v, "perPage",
                            a->per_page, "cursor", "models", NULL, NULL, one_project,
                            &ls);
    json_object_put(v);
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
    long hp = 0, pp = 0, lp = 0;
    int rc = xp_option_int(type, opts, "history-page", 1000, &hp);
    if (!rc)
        rc = xp_option_int(type, opts, "page-size", 50, &pp);
    if (!rc)
        rc = xp_option_int(type, opts, "log-page", 1000, &lp);
    a->history_page = (int)hp;
    a->per_page = (int)pp;
    a->log_page = (int)lp;
    if (!rc)
        rc = wapi_open(&a->api, opts, ctx);
    if (rc) {
        ws_close(&a->base);
        return rc;
    }
    *out = &a->base;
    return 0;
}

/* Every option ws_open and wapi_open read (include/xport/sys/adapter.h). */
static const struct xp_option_decl ws_options[] = {
    {"api-key", XP_OPT_STRING, XP_OPT_FLAG, 0, 0, NULL,
     "API key (else WANDB_API_KEY, then ~/.netrc)"},
    {"remote", XP_OPT_STRING, XP_OPT_FLAG, 0, 0, NULL,
     "base URL (else WANDB_BASE_URL, then https://api.wandb.ai)"},
    {"filters", XP_OPT_STRING, 0, 0, 0, NULL, "a runs filter, as JSON (W&B's MongoDB-style filters)"},
    {"order", XP_OPT_STRING, 0, 0, 0, NULL, "the runs' order (e.g. +created_at)"},
    {"history-page", XP_OPT_INT, 0, 10, 100000, NULL, "history rows per request (default 1000)"},
    {"page-size", XP_OPT_INT, 0, 1, 1000, NULL, "runs per listing request (default 50)"},
    {"log-page", XP_OPT_INT, 0, 1, 10000, NULL, "console lines per request (default 1000)"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

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
    .options = ws_options,
};
