/* Private to the comet adapter (a Comet server over REST v2 and the
 * clientlib batch endpoints): the connection, its requests, and the pieces
 * the lister, the reader and the writer share. Only comet_api.c,
 * comet_list.c, comet_fetch.c, comet_read.c, comet_write.c and
 * comet_upload.c include this. */
#ifndef XPORT_COMET_API_H
#define XPORT_COMET_API_H

#include <pthread.h>
#include <stdint.h>

#include "comet_int.h"
#include "xport/buf.h"
#include "xport/sys/adapter.h"
#include "xport/sys/http.h"

struct json_object;

/* What a Comet point has no place for, kept beside the points as an asset
 * of this name (comet_upload_metrics.c writes it, comet_fetch.c merges it
 * back into the points). */
#define COMET_XPORT_POINTS "run/xport_points.jsonl"

struct comet_rest {
    struct xp_adapter base;
    char *root;  /* "https://www.comet.com": url_override without /clientlib/ */
    char *key;   /* sent as "Authorization: KEY", to root's origin only */
    const struct xp_http_cred *cred;
    struct xp_location sel;
    int archived;   /* also list archived experiments */
    int page_size;  /* experiments per listing page */
    int batch;      /* values per batch request (the SDK's 1000) */
    int no_gzip;    /* send batch bodies uncompressed */
    int get_all;    /* -1 unknown, 0 server lacks metrics/get-all, 1 has it */
    /* destination experiments xport wrote, per "WS/PROJECT": an object
     * "<source vendor>\n<source id>" -> experiment key (comet_upload.c) */
    pthread_mutex_t lock;
    struct json_object *index;
    struct json_object *projects; /* "WS/PROJECT" -> project record (comet_fetch.c) */
    /* the cometx view of the staging folders the reader and writer use */
    struct cometx_adapter cx;
};

/* comet_api.c: requests. path is relative to <root>/api/rest/v2/ ("experiment/metadata");
 * query holds name, value pairs ended by NULL (values percent-encoded here). */
void comet_url(struct xp_buf *b, const struct comet_rest *c, const char *path,
               const char *const *query);
/* GET a JSON object; *out owned by the caller. */
int comet_get_json(struct comet_rest *c, const char *path, const char *const *query,
                   struct json_object **out);
/* GET into a file, written atomically; expect_size >= 0 is checked. */
int comet_get_file(struct comet_rest *c, const char *path, const char *const *query,
                   const char *out_path, int64_t expect_size);
/* GET paths[i]?experimentKey=key for each i at once (within the engine's
 * connection limit); outs[i] gets each parsed object (all NULL on failure). */
int comet_get_many(struct comet_rest *c, const char *const *paths, size_t n,
                   const char *key, struct json_object **outs);
/* GET urls[i] into out_paths[i] (atomically; sizes[i] >= 0 checked) at once;
 * the key goes to the server's origin only. */
int comet_get_files(struct comet_rest *c, const char *const *urls, const char *const *out_paths,
                    const int64_t *sizes, size_t n);
/* GET a remote asset's http(s) link into a file, with no credentials. */
int comet_get_url(struct comet_rest *c, const char *url, const char *out_path);
/* GET streamed to on_data (on_reset before a retry). */
int comet_get_stream(struct comet_rest *c, const char *path, const char *const *query,
                     int (*on_data)(void *, const void *, size_t),
                     int (*on_reset)(void *), void *payload);
/* POST a JSON body to <root>/api/rest/v2/PATH, or to <root>/clientlib/PATH
 * when clientlib; gzip when the body is large enough and gzip is on. *out
 * (may be NULL) gets the parsed answer. flags: XP_HTTP_NOT_IDEMPOTENT for a
 * write the server would keep twice (a create, an append). */
int comet_post_json(struct comet_rest *c, int clientlib, const char *path,
                    const struct xp_buf *body, unsigned flags, struct json_object **out);
/* POST bodies[i] (JSON) to <root>/clientlib/PATH for each i at once, gzip
 * as comet_post_json does; 0 when every one succeeded. They are appends:
 * sent XP_HTTP_NOT_IDEMPOTENT. */
int comet_post_many(struct comet_rest *c, const char *path, const struct xp_buf *bodies,
                    size_t n);
/* POST multipart to <root>/api/rest/v2/PATH?query with the parts given. */
int comet_post_parts(struct comet_rest *c, const char *path, const char *const *query,
                     const struct xp_http_part *parts, size_t nparts, unsigned flags,
                     struct json_object **out);

/* comet_list.c */
int comet_list(struct xp_adapter *a, xp_experiment_cb cb, void *payload);
/* fn(payload, record) for every experiment of WS/PROJECT (archived ones too
 * when archived), paged through to the end; a non-zero return stops. */
int comet_each_experiment(struct comet_rest *c, const char *ws, const char *proj, int archived,
                          int (*fn)(void *payload, struct json_object *e), void *payload);

/* comet_fetch.c: one experiment into dir (ROOT/WS/PROJECT/KEY of a private
 * staging root) in the layout `cometx download` writes, every metric point
 * and every asset, so the cometx reader reads it. */
int comet_fetch(struct comet_rest *c, const char *key, const char *dir,
                const struct xp_read_opts *ro);
/* Only dir/metrics.jsonl (absent when the experiment has no points). */
int comet_fetch_metrics(struct comet_rest *c, const char *key, const char *dir);

/* comet_read.c / comet_write.c */
int comet_read_experiment(struct xp_reader **out, struct xp_adapter *a,
                          const struct xp_experiment_ref *ref,
                          const struct xp_read_opts *ro);
int comet_write_experiment(struct xp_sink **out, struct xp_adapter *a,
                           const struct xp_experiment_meta *meta,
                           const struct xp_write_opts *wo);

/* comet_upload.c: send the cometx folder dir (written by the cometx writer)
 * to WS/PROJECT on the server, what the destination does not hold yet
 * only; what Comet has no place for is counted on s (xp_sink_drop);
 * *dest_key gets the experiment's key there (owned). */
int comet_upload(struct comet_rest *c, struct xp_sink *s, const char *dir, const char *ws,
                 const char *proj, char **dest_key);

#endif
