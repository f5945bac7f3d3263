/* Private to the mldash-local writer (mldash_local.c, mldash_local_names.c,
 * mldash_local_series.c, mldash_local_files.c): the sink's state, the
 * small helpers its pieces share, and what each piece offers. */
#ifndef XPORT_MLDASH_LOCAL_H
#define XPORT_MLDASH_LOCAL_H

#include <stdint.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "xport/buf.h"
#include "xport/fs.h"
#include "xport/iso8601.h"
#include "xport/json.h"
#include "xport/stage.h"
#include "xport/sys/adapter.h"

struct mlocal {
    struct xp_adapter base;
    char *root;
};

struct lseries {
    struct xp_afile data;
    char *dir; /* staging-relative */
    char *name;
    enum xp_series_kind kind;
    char *description;
    char *created_at, *updated_at; /* the source's, or NULL */
    struct json_object *metadata;
    struct json_object *columns; /* tracks: the set of column names */
    int64_t npoints, next_index;
    int has_ts;
    double min_ts, max_ts;
    struct json_object *min_v, *max_v; /* as the source wrote them */
};

struct lsink {
    struct xp_sink base;
    struct mlocal *ml;
    int err;
    char *final_dir;
    struct xp_stage stage; /* ROOT/.xport/staging/<key> */
    char *name, *prefix, *files_exp_id;
    char now[XP_ISO8601_BUFSZ];
    struct json_object *exp;   /* experiment.json */
    struct json_object *files; /* .files_metadata.json "files" */
    struct json_object *file_ids; /* ids used, so each is unique */
    struct json_object *seen;  /* series directories used */
    struct lseries ser;
    int in_series;
    struct xp_afile logs;
    int logs_open;
    int64_t next_seq;
    struct xp_buf line;
};

static inline struct json_object *mlocal_str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

/* One line of JSON plus a newline, written atomically. */
static inline int mlocal_stage_json(struct lsink *s, const char *rel, struct json_object *o)
{
    char *p = xp_path_join(s->stage.dir, rel);
    int rc = xp_json_write_file(p, o);
    free(p);
    return rc;
}

/* The source's time, else the copy's. */
static inline struct json_object *mlocal_time_or_now(const struct lsink *s, const char *t)
{
    return json_object_new_string(t ? t : s->now);
}

/* mldash_local_names.c: names as path segments, verbatim wherever ml-dash
 * could write them, else encoded whole. */

/* Append name as one segment ("/" first unless b is empty). */
int mlocal_put_segment(struct xp_buf *b, const char *name, const char *what);
/* metrics/<name>: nested at its '/' when every segment may be verbatim. */
int mlocal_put_metric_path(struct xp_buf *b, const char *name);
/* owner/project/folders.../experiment: the experiment's "prefix". */
int mlocal_experiment_path(struct xp_buf *rel, const struct xp_experiment_meta *m);

/* mldash_local_series.c: metrics and tracks, each a data.jsonl and its
 * metadata.json. */
void mlocal_series_clear(struct lseries *o);
int mlocal_begin_series(struct lsink *s, const struct xp_series_meta *m,
                        const char *created_at, const char *updated_at);
int mlocal_put_points(struct lsink *s, const struct xp_point *v, size_t n);
int mlocal_end_series(struct lsink *s);

/* mldash_local_files.c: a file stored under files/ and its entry in
 * .files_metadata.json. */
int mlocal_put_file(struct lsink *s, const struct xp_file_meta *m, struct xp_stream *body);

#endif
