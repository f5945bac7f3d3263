/* The W&B server client shared by the `wandb` adapter's reader and writer:
 * the API key and base URL, GraphQL requests (wandb.md §1.1) with their
 * errors mapped to XP_E* codes, and Relay paging (§1.2).
 *
 * Ownership: struct wapi belongs to the adapter instance and is released
 * with wapi_release; json-c objects returned through **out belong to the
 * caller (json_object_put). */
#ifndef XPORT_WANDB_API_H
#define XPORT_WANDB_API_H

#include "xport/buf.h"
#include "xport/sys/adapter.h"

struct json_object;
struct xp_http;
struct xp_http_cred;

struct wapi {
    struct xp_ctx *ctx;
    struct xp_http *http;          /* borrowed: ctx->http */
    const struct xp_http_cred *cred;
    char *base;                    /* "https://api.wandb.ai", no '/' at end */
    char *graphql;                 /* base + "/graphql" */
    int gql_retries;               /* for rate limits reported in the body */
};

/* Resolve the key (option api-key, env WANDB_API_KEY, ~/.netrc for the API
 * host) and the base URL (option remote, env WANDB_BASE_URL, default), and
 * register the key with the HTTP engine for the API host only. */
int wapi_open(struct wapi *a, const struct xp_options *opts,
              struct xp_ctx *ctx);
void wapi_release(struct wapi *a);

/* POST one GraphQL document. vars (borrowed, may be NULL) is an object.
 * *data gets the response's "data" object. GraphQL errors become XP_EAUTH
 * (permission), XP_ENOTFOUND (not found) or XP_ERROR with the server's
 * message; a rate-limit error inside a 200 answer is retried like a 429. */
int wapi_gql(struct wapi *a, const char *op, const char *query,
             struct json_object *vars, struct json_object **data);

/* Follow a dotted path of object members ("project.run.files"); NULL when
 * any is missing or null. Borrowed from root. */
struct json_object *wapi_path(struct json_object *root, const char *path);

/* Every node of a paged connection (wandb.md §1.2): per page, vars (the
 * caller's; size_key and cursor_key are set in it) go with op and query,
 * and each() gets every edge's node of the connection at conn_path, until
 * there is no next page or each() fails. When the answer lacks must_path
 * (may be NULL) the result is XP_ENOTFOUND "no W&B <what>". */
int wapi_each_node(struct wapi *a, const char *op, const char *query,
                   struct json_object *vars, const char *size_key, int per_page,
                   const char *cursor_key, const char *conn_path,
                   const char *must_path, const char *what,
                   int (*each)(struct json_object *node, void *arg), void *arg);

/* A W&B run id is [A-Za-z0-9_-]+; 1 when s is one. */
int wapi_run_id_ok(const char *s);

/* URL path segment escaping (RFC 3986 unreserved kept). */
void wapi_put_segment(struct xp_buf *b, const char *s);

#endif
