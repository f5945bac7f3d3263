/* Private to the ml-dash adapters: the connection to one ml-dash server
 * (both protocol generations) and the helpers the reader and the writer
 * share. The adapter instance owns every string in it; JSON objects
 * returned through **out belong to the caller. */
#ifndef XPORT_MLDASH_H
#define XPORT_MLDASH_H

#include <stdint.h>

#include "xport/buf.h"
#include "xport/sys/adapter.h"
#include "xport/sys/http.h"

struct json_object;
struct xp_gql;

struct mld {
    struct xp_adapter base;
    char *server;   /* "http://host:port", no trailing slash */
    char *rest;     /* REST base: server (v0.5) or server + "/api" (v0.6) */
    int gen;        /* 5 or 6 */
    char *token;    /* bearer token; never printed (the engine scrubs it) */
    char *ns;       /* namespace (workspace) */
    const struct xp_http_cred *cred;
    struct xp_location sel;
    int strict;
    int batch;        /* points per append-batch / chunk page */
    int log_batch;    /* log lines per request */
    int max_metrics;  /* metrics in flight at once */
    int max_files;
    int window;       /* chunks fetched at once */
    struct xp_gql *gql; /* {server}/graphql (xport/graphql.h) */
};

/* mldash_api.c: requests. Every request carries the adapter's credentials
 * (scoped to the server's origin by the engine). */
void mld_url(struct xp_buf *b, const struct mld *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* JSON request; *out (may be NULL) gets the parsed response body. */
int mld_json(struct mld *m, const char *method, const char *url,
             const struct xp_buf *body, unsigned flags, struct json_object **out);
/* GraphQL at {server}/graphql (xp_gql_query_opt: a field marked
 * {{Type.field}} is optional, learned once per run); *data is the "data"
 * member. op names the operation in messages. */
int mld_graphql(struct mld *m, const char *op, const char *query,
                struct json_object *vars, struct json_object **data);
/* An integer that may arrive as a JSON number or a decimal string. */
int mld_int(struct json_object *o, const char *key, int64_t *out);

/* mldash_jwt.c: the HS256 token the ml-dash v0.5.9 CLI mints from a user
 * name (mldash.md 1.1.1), with the given issue time. */
void mld_mint_token(struct xp_buf *out, const char *username, int64_t iat);

/* mldash_list.c (discovery) and mldash_read.c (one experiment; private
 * pieces in mldash_read.h) */
int mld_list_experiments(struct xp_adapter *a, xp_experiment_cb cb, void *payload);
int mld_read_experiment(struct xp_reader **out, struct xp_adapter *a,
                        const struct xp_experiment_ref *ref,
                        const struct xp_read_opts *ro);

/* mldash_chunks.c: a metric's sealed chunks streamed in index order, a
 * window of them in flight (m->window), so that parsing starts with the
 * first bytes and memory stays bounded however long the series is. The
 * reader sees the current chunk's bytes as they arrive and parses them in
 * place. One thread (the reader's) calls these. */
struct mld_chunks;
enum mld_chunk_state {
    MLD_CHUNK_ARRIVING, /* more bytes may come */
    MLD_CHUNK_COMPLETE, /* every byte is in the view */
    MLD_CHUNK_FAILED    /* the transfer outlived its retries; error set */
};
struct mld_view {
    char *s;    /* the current chunk's bytes not yet used: s[0..len) */
    size_t len;
    enum mld_chunk_state state;
    int restarted; /* a retry: the body starts again at s */
    int full;      /* no more bytes fit until the caller lets go of its points */
};
int mld_chunks_new(struct mld_chunks **out, struct mld *m);
/* Begin the chunks [0, total) of the metric at metric_url (".../metrics/
 * NAME"), dropping whatever the previous metric left in flight. */
void mld_chunks_start(struct mld_chunks *c, const char *metric_url, int64_t total);
/* The caller used the first `used` bytes of the last view; the view now
 * starts after them. MLD_MORE: the caller has looked at all of the rest
 * and needs more, so wait until the view has bytes the last one had not,
 * or the chunk ended, or (MLD_PINNED: the caller still points into bytes
 * it used, which then stay where they are) the pipe is full. Returns
 * XP_ECANCEL or 0. */
enum { MLD_MORE = 1, MLD_PINNED = 2 };
int mld_chunks_read(struct mld_chunks *c, size_t used, unsigned how,
                    struct mld_view *v);
/* Done with the current chunk (not pinned): on to the next; XP_ITEROVER
 * when it was the last. */
int mld_chunks_next(struct mld_chunks *c);
/* Abandon the chunks in flight (a fallback to /data paging). */
void mld_chunks_stop(struct mld_chunks *c);
void mld_chunks_free(struct mld_chunks *c);

/* mldash_write.c */
int mld_write_experiment(struct xp_sink **out, struct xp_adapter *a,
                         const struct xp_experiment_meta *meta,
                         const struct xp_write_opts *wo);

/* What ml-dash has no field for travels in metadata under these keys and is
 * taken out again on reading (README.md "What the server cannot hold"):
 * the experiment's summary and others documents, and per log line its
 * stream and which of timestamp/level the source did not have. */
#define MLD_DOCS_KEY "_xport_docs"
#define MLD_LOG_KEY "_xport_log" /* read only: uploads before MLD_TYPES_KEY */
/* A system series or track travels as a metric named "system/NAME" or
 * "track/NAME" whose metadata holds {kind, name} under this key. */
#define MLD_SERIES_KEY "_xport_series"
/* An artifact's file travels as "_xport_artifacts/<encoded name:version>/
 * PATH" whose metadata holds {artifact, path} under this key. */
#define MLD_FILE_KEY "_xport_file"
/* Exact value types (xport/typemark.h, the form kept apart), never in the
 * parameters, points or log lines themselves. In the experiment's metadata:
 * {"metadata": marks of that metadata, "parameters": marks of the
 * parameters, "logs": [[COUNT, EXTRA], ...] where EXTRA (or null) holds, for
 * COUNT log lines in a row, {"stream", "absent": [...], "types": marks of
 * the line's metadata}}; in a metric's metadata: {"points": column marks,
 * "metadata": marks of that metadata}. Both may hold "own" (a source
 * member of that name) and "nometa" (the source had no metadata). Its
 * presence says the object was written in this form: no in-object marker
 * is looked for (an older upload has them, and no such member). */
#define MLD_TYPES_KEY "_xport_types"

#endif
