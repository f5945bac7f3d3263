/* The W&B server client shared by the `wandb` adapter's reader and writer:
 * the API key and base URL (wandb.md §1.1) and W&B's use of the shared
 * GraphQL client (include/xport/graphql.h): its headers, messages and
 * Relay paging (§1.2).
 *
 * Ownership: struct wapi belongs to the adapter instance and is released
 * with wapi_release; json-c objects returned through **out belong to the
 * caller (json_object_put). */
#ifndef XPORT_WANDB_API_H
#define XPORT_WANDB_API_H

#include <stdint.h>

#include "xport/buf.h"
#include "xport/sys/adapter.h"

#include "xport/graphql.h"

struct json_object;
struct xp_http;
struct xp_http_cred;

struct wapi {
    struct xp_ctx *ctx;
    struct xp_http *http;          /* borrowed: ctx->http */
    const struct xp_http_cred *cred;
    char *base;                    /* "https://api.wandb.ai", no '/' at end */
    struct xp_gql *gql;            /* base + "/graphql" */
    /* logLines paging: 0 not known yet, 1 useImprovedPagination (server
     * 0.77+), -1 the server rejects it (learned once, kept per adapter) */
    int log_paging;
};

/* Resolve the key (option api-key, env WANDB_API_KEY, ~/.netrc for the API
 * host) and the base URL (option remote, env WANDB_BASE_URL, default), and
 * register the key with the HTTP engine for the API host only. */
int wapi_open(struct wapi *a, const struct xp_options *opts,
              struct xp_ctx *ctx);
void wapi_release(struct wapi *a);

/* POST one GraphQL document (xp_gql_query: errors as graphql.h says). */
int wapi_gql(struct wapi *a, const char *op, const char *query,
             struct json_object *vars, struct json_object **data);

static inline struct json_object *wapi_path(struct json_object *root,
                                            const char *path)
{
    return xp_gql_path(root, path);
}

/* Every node of a paged connection, paged as W&B's public client pages:
 * `pageInfo { endCursor hasNextPage }`, the next page `after` the end
 * cursor (xp_gql_each, Relay). size_key and cursor_key are the document's
 * variables for `first` and `after`. */
int wapi_each_node(struct wapi *a, const char *op, const char *query,
                   struct json_object *vars, const char *size_key, int per_page,
                   const char *cursor_key, const char *conn_path,
                   const char *must_path, const char *what,
                   int (*each)(struct json_object *node, void *arg), void *arg);

/* The integer at path in a GraphQL answer (a number, or a string holding
 * one); def when it is missing or not an integer. */
int64_t wapi_node_int(struct json_object *root, const char *path,
                      int64_t def);

/* A W&B run id is [A-Za-z0-9_-]+; 1 when s is one. */
int wapi_run_id_ok(const char *s);


#endif
