/* Discovery on an ml-dash server: the namespace's projects and their
 * experiments through GraphQL, every page. */
#define _GNU_SOURCE
#include <string.h>

#include <json-c/json.h>

#include "mldash.h"
#include "xport/error.h"
#include "xport/graphql.h"
#include "xport/json.h"
#include "xport/location.h"

#define PAGE 100 /* GraphQL page size for discovery */

/* Every node of a list: v0.6 pages it by limit/offset (xp_gql_each);
 * v0.5 has no paging and answers it whole. */
static int each_node(struct mld *m, const char *op, const char *query,
                     const char *list, const char *more, const char *project,
                     int (*each)(struct json_object *node, void *arg), void *arg)
{
    struct json_object *vars = json_object_new_object();
    json_object_object_add(vars, "ns", json_object_new_string(m->ns));
    if (project)
        json_object_object_add(vars, "p", json_object_new_string(project));
    int rc = 0;
    if (m->gen == 6) {
        struct xp_gql_pager pg = {.op = op, .query = query, .vars = vars,
                                  .size_var = "limit", .per_page = PAGE,
                                  .offset_var = "offset", .conn_path = list,
                                  .what = list, .more_path = more};
        rc = xp_gql_each(m->gql, &pg, each, arg);
    } else {
        struct json_object *d = NULL;
        rc = mld_graphql(m, op, query, vars, &d);
        struct json_object *arr = rc ? NULL : xp_gql_path(d, list);
        size_t n = arr && json_object_is_type(arr, json_type_array)
                       ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n && !rc; i++)
            rc = each(json_object_array_get_idx(arr, i), arg);
        json_object_put(d);
    }
    json_object_put(vars);
    return rc;
}

static int add_slug(struct json_object *node, void *arg)
{
    const char *slug = xp_json_str(node, "slug");
    if (slug)
        json_object_array_add(arg, json_object_new_string(slug));
    return 0;
}

/* The project slugs of the namespace. */
static int list_projects(struct mld *m, struct json_object **out)
{
    *out = json_object_new_array();
    return each_node(m, "P", m->gen == 6
        ? "query P($ns: String, $limit: Int!, $offset: Int!) { projectsPaginated("
          "namespaceSlug: $ns, limit: $limit, offset: $offset) { projects { slug } "
          "hasMore } }"
        : "query P($ns: String!) { projects(namespaceSlug: $ns) { slug } }",
        m->gen == 6 ? "projectsPaginated.projects" : "projects", "projectsPaginated.hasMore",
        NULL, add_slug, *out);
}

struct exp_walk {
    struct mld *m;
    const char *slug;
    xp_experiment_cb cb;
    void *payload;
};

static int each_experiment(struct json_object *e, void *arg)
{
    struct exp_walk *w = arg;
    int rc;
    const char *name = xp_json_name(e, "name", "ml-dash experiment", &rc);
    const char *id = json_object_get_string(xp_json_get(e, "id"));
    if (rc)
        return rc;
    if (!name || !id || !xp_location_selects(&w->m->sel, w->m->ns, w->slug, name))
        return 0;
    struct xp_experiment_ref ref = {w->m->ns, w->slug, name, id, -1};
    return w->cb(&ref, w->payload);
}

int mld_list_experiments(struct xp_adapter *a, xp_experiment_cb cb, void *payload)
{
    struct mld *m = (struct mld *)a;
    if (m->sel.workspace && !xp_pattern_match(m->sel.workspace, m->ns))
        return 0;
    struct json_object *projects = NULL;
    int rc = list_projects(m, &projects);
    size_t np = rc ? 0 : json_object_array_length(projects);
    for (size_t p = 0; p < np && !rc; p++) {
        const char *slug = json_object_get_string(json_object_array_get_idx(projects, p));
        if (!xp_pattern_match(m->sel.project, slug))
            continue;
        struct exp_walk w = {m, slug, cb, payload};
        rc = each_node(m, "E", m->gen == 6
            ? "query E($ns: String, $p: String!, $limit: Int!, $offset: Int!) { "
              "experimentsPaginated(namespaceSlug: $ns, projectSlug: $p, limit: "
              "$limit, offset: $offset) { experiments { id name } hasMore } }"
            : "query E($ns: String!, $p: String!) { experiments(namespaceSlug: $ns, "
              "projectSlug: $p) { id name } }",
            m->gen == 6 ? "experimentsPaginated.experiments" : "experiments",
            "experimentsPaginated.hasMore", slug, each_experiment, &w);
    }
    json_object_put(projects);
    return rc;
}
