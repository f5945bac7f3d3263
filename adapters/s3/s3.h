/* Private to the s3 adapter: an xport layout kept in an S3 bucket under a
 * prefix (s3://BUCKET/PREFIX), its configuration, and the object calls
 * (s3_api.c) the reader and the sink (s3.c, s3_sink.c) are built on. The
 * adapter instance owns every string in it. */
#ifndef XPORT_S3_H
#define XPORT_S3_H

#include <pthread.h>
#include <stdint.h>

#include "xport/buf.h"
#include "xport/sys/adapter.h"
#include "xport/sys/http.h"

struct s3_adapter {
    struct xp_adapter base;
    char *url;      /* "s3://BUCKET/PREFIX" as given, for messages and keys */
    char *bucket;
    char *prefix;   /* without leading or trailing '/'; "" for the root */
    char *endpoint; /* scheme://host[:port] requests go to */
    int path_style; /* 1: endpoint/BUCKET/KEY; 0: BUCKET is in the host */
    char *region;
    const struct xp_http_cred *cred;
    char *cred_from; /* where the keys came from, for messages */
    int64_t part_size; /* objects above this go up in parts of this size */
    long list_page;    /* keys per ListObjectsV2 page (max-keys) */
    long parallel;     /* requests in flight per experiment (s3:parallel) */
    struct xp_location sel; /* --workspace/--project/--experiment patterns */
    /* the objects of the experiments last listed, sorted by key (s3_fetch.c),
     * so that reading one needs no listing of its own (under lock) */
    struct s3_objects *listed;
    /* the bucket's xport.json once seen or written (under lock), so that
     * each experiment does not fetch it again */
    pthread_mutex_t lock;
    char *marker;
};

/* s3_conf.c: region, endpoint and credentials from the options, the
 * environment and ~/.aws (see s3_conf.c), registered with the engine. */
int s3_configure(struct s3_adapter *s, const struct xp_options *opts);

/* s3_api.c: one object or listing per call; keys are full object keys
 * (the prefix included). Every request carries x-amz-content-sha256. */

/* The object key of rel under the prefix ("" rel: the prefix itself). */
void s3_key(struct xp_buf *out, const struct s3_adapter *s, const char *rel);
/* An object and a file of this machine: the source of an upload, or where
 * a download goes (size: the object's, checked; < 0: not checked). */
struct s3_obj {
    const char *key;
    const char *path;
    int64_t size;
};
/* S3's multipart limits (docs.aws.amazon.com/AmazonS3/latest/userguide/
 * qfacts.html): parts of 5 MiB to 5 GiB (the last may be smaller), at most
 * 10,000 of them. */
#define S3_MIN_PART (5LL << 20)
#define S3_MAX_PART (5LL << 30)
#define S3_MAX_PARTS 10000
/* The part size for an object of size bytes: want, or the fewest whole MiB
 * that fit it in 10,000 parts; XP_EINVALID when even 5 GiB parts do not. */
int s3_part_size(int64_t want, int64_t size, int64_t *out);
/* Upload each file whole: up to part_size in one PUT, else as a multipart
 * upload; `parallel` requests at a time (parts too), bodies streamed from
 * the files. Each request's body is checked by its sha256
 * (x-amz-content-sha256) and MD5 (Content-MD5, and the ETag answered).
 * 0 only when every one is stored. */
int s3_put_files(struct s3_adapter *s, const struct s3_obj *v, size_t n);
int s3_put_file(struct s3_adapter *s, const char *key, const char *path);
/* Download the objects, `parallel` at a time, each into its path (written
 * atomically: whole or absent); *bad (may be NULL) gets the index of the
 * one that failed. */
int s3_get_files(struct s3_adapter *s, const struct s3_obj *v, size_t n, size_t *bad);
/* One object; XP_ENOTFOUND when there is none (no error message set). */
int s3_get_file(struct s3_adapter *s, const char *key, const char *path, int64_t size);
int s3_delete(struct s3_adapter *s, const char *key);

/* One listing entry: an object (size >= 0) or, with a delimiter, a common
 * prefix (size -1). A non-zero return stops the listing and is returned. */
typedef int (*s3_list_cb)(void *payload, const char *key, int64_t size);
/* ListObjectsV2 of every key under prefix, page by page (continuation
 * tokens); delimiter "/" or NULL. */
int s3_list(struct s3_adapter *s, const char *prefix, const char *delimiter,
            s3_list_cb cb, void *payload);

/* s3_layout.c: the bucket's xport.json into path, from the adapter's copy once
 * it has one; *have: whether the bucket has one (0 and no file if not). */
int s3_marker_to(struct s3_adapter *s, const char *path, int *have);
/* Remember the bucket's xport.json (body is taken). */
void s3_marker_known(struct s3_adapter *s, struct xp_buf *body);

/* s3_fetch.c: the objects a listing saw (keys below the prefix and its
 * '/', with sizes), kept by the adapter for reading. */
struct s3_objects;
struct s3_objects *s3_objects_new(void);
void s3_objects_add(struct s3_objects *o, const char *rel, int64_t size);
void s3_objects_free(struct s3_objects *o);
/* Keep o (taken) as the adapter's listing, replacing the last one. */
void s3_listed_set(struct s3_adapter *s, struct s3_objects *o);
/* Every object of the experiment at rel ("ws/proj/exp" below the prefix)
 * into dir/..., `parallel` at a time: those the last listing saw, else
 * (or when one has vanished since) those a listing of rel/ finds. */
int s3_fetch_experiment(struct s3_adapter *s, const char *rel, const char *dir);

/* s3_sink.c */
int s3_write_experiment(struct xp_sink **out, struct xp_adapter *a,
                        const struct xp_experiment_meta *meta,
                        const struct xp_write_opts *wo);
/* The encoded "ws/proj/name" of an experiment, as the layout names it
 * (schemas/README.md); XP_EINVALID for names that cannot be encoded. */
int s3_experiment_rel(struct xp_buf *out, const char *ws, const char *proj,
                      const char *name);
/* s3_state.c: the adapter's state_get, state_put and state_list, on
 * objects PREFIX/.xport/NAME. */
int s3_state_get(struct xp_adapter *a, const char *name, const char *local_path);
int s3_state_put(struct xp_adapter *a, const char *name, const char *local_path);
int s3_state_list(struct xp_adapter *a, xp_state_cb cb, void *payload);
/* s3_layout.c: open the local adapter (through the registry) on a folder
 * of this machine, for the sink and the reader to compose. */
int s3_open_local(struct xp_adapter **out, const char *dir, struct xp_ctx *ctx);

#endif
