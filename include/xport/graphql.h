/* A vendor-neutral GraphQL client over the HTTP engine: one POST per
 * document, `errors[]` mapped to XP_E* codes, rate limits reported inside a
 * 200 answer retried by the engine like a 429, Relay and offset paging, and
 * fields that a server may or may not have ("optional fields").
 *
 * Errors (xp_gql_query and everything built on it):
 *   XP_EAUTH      the engine's 401/403, or an error whose message speaks of
 *                 permission, authorization, login or an API key
 *   XP_ENOTFOUND  an error whose message says "not found"
 *   XP_ENOFIELD   the server's schema lacks a field or argument the document
 *                 asks for: `Cannot query field "F" on type "T"` or
 *                 `Unknown argument "A" on field "T.F"` (graphql-js and
 *                 gqlgen wording); xp_gql_missing() names them
 *   XP_ERETRY     a rate limit that outlived the engine's attempts or the
 *                 run's retry budget, or the engine's own transient failure
 *   XP_ERROR      any other error, with the server's first message
 * Every message starts "<vendor> query '<operation>'".
 *
 * Ownership: struct xp_gql belongs to its opener (xp_gql_free); the config's
 * strings and headers are copied; json-c objects returned through **out
 * belong to the caller (json_object_put). One client may be used by any
 * number of threads at once. */
#ifndef XPORT_GRAPHQL_H
#define XPORT_GRAPHQL_H

#include <stddef.h>

struct json_object;
struct xp_http;
struct xp_http_cred;
struct xp_http_header;

struct xp_gql_config {
    const char *endpoint;              /* "https://api.wandb.ai/graphql" */
    const char *vendor;                /* "W&B", for messages */
    const struct xp_http_cred *cred;   /* NULL: the engine's for the origin */
    const struct xp_http_header *headers; /* extra request headers */
    size_t nheaders;
    int send_operation_name;           /* put "operationName" in the body */
};

struct xp_gql;
int xp_gql_open(struct xp_gql **out, struct xp_http *http,
                const struct xp_gql_config *cfg);
void xp_gql_free(struct xp_gql *g);

/* POST one document. vars (borrowed, may be NULL) is a JSON object. *data
 * gets the answer's "data" object (errors: see above). */
int xp_gql_query(struct xp_gql *g, const char *op, const char *query,
                 struct json_object *vars, struct json_object **data);

/* After XP_ENOFIELD on this thread: the missing field (or argument) and the
 * type the server named (for an argument, the field as the server names it:
 * "Type.field", or "field" alone); returns 1 for an argument, 0 for a field.
 * The strings stay valid until the thread's next query. */
int xp_gql_missing(const char **field, const char **type);

/* Follow a dotted path of object members ("project.run.files"); NULL when
 * any is missing or null. Borrowed from root. */
struct json_object *xp_gql_path(struct json_object *root, const char *path);

/* Paging: per page, vars (the caller's; size_var and the cursor or offset
 * variable are set in it) go with op and query, and each() gets every node
 * of the list at conn_path until the last page or until each() fails.
 *
 * Relay (offset_var NULL): conn_path is a connection; its nodes are
 * `edges[].node`, and the next page starts at `pageInfo.endCursor` (passed
 * as cursor_var) while `pageInfo.hasNextPage` is true. A page that says
 * there is more without an endCursor, or with the one it was asked with, is
 * an error (the server would have us ask forever).
 * Offset (offset_var set): conn_path is an array of nodes; the next page
 * starts at offset + its length, and a page shorter than per_page is the
 * last, unless more_path names a boolean in the answer that says whether
 * there is another page (a server may cap the page below per_page). An
 * empty page is always the last.
 * When the answer lacks must_path (may be NULL) the result is XP_ENOTFOUND
 * "no <vendor> <what>". */
struct xp_gql_pager {
    const char *op, *query;
    struct json_object *vars; /* borrowed; modified */
    const char *size_var;     /* "perPage" */
    int per_page;
    const char *cursor_var;   /* Relay: "cursor" */
    const char *offset_var;   /* offset paging: "offset"; else NULL */
    const char *conn_path;
    const char *must_path;
    const char *what;
    const char *more_path;    /* offset paging: "projectsPaginated.hasMore" */
};
int xp_gql_each(struct xp_gql *g, const struct xp_gql_pager *p,
                int (*each)(struct json_object *node, void *arg), void *arg);

/* Optional fields. What the client has learned of one field: */
enum xp_gql_has {
    XP_GQL_UNKNOWN = 0, /* not asked yet, or the server hides its schema */
    XP_GQL_HAS = 1,
    XP_GQL_LACKS = 2
};

/* Whether the server's type has the field, learned once per client: by
 * introspection (`__type(name: "T") { fields { name } }`, one query per type)
 * where the server allows it; XP_GQL_UNKNOWN when it does not (then
 * xp_gql_query_opt learns it from the answer). <0 on a transport error. */
int xp_gql_has_field(struct xp_gql *g, const char *type, const char *field);

/* Record what is known of a field (e.g. a field learned from a version). */
void xp_gql_set_field(struct xp_gql *g, const char *type, const char *field,
                      enum xp_gql_has has);

/* xp_gql_query with optional parts. In query, `{{Type.field}}` stands for
 * the field `field`, `{{Type.field:text}}` for text (the field with
 * arguments or a selection), and `{{Type.field.arg:text}}` for text that
 * passes the argument `arg` of Type.field ("arg: $var"). Each is kept where
 * the server has it or it is not known yet, and left out where it lacks it.
 * Fields are looked up by introspection first (xp_gql_has_field); arguments
 * never are. When the server answers XP_ENOFIELD naming a marked field or
 * argument, it is recorded as lacking and the query asked again without it;
 * after an answer, every marked part still unknown is recorded as present.
 * So each is learned once per client. */
int xp_gql_query_opt(struct xp_gql *g, const char *op, const char *query,
                     struct json_object *vars, struct json_object **data);

/* Turn introspection off (a server or a vendor rule that forbids it). */
void xp_gql_no_introspection(struct xp_gql *g);

#endif
