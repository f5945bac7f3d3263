/* Private to the ml-dash server writer (mldash_write.c, mldash_write_extras.c,
 * mldash_create.c, mldash_append.c, mldash_upload.c): the sink's state and
 * what its pieces share. */
#ifndef XPORT_MLDASH_WRITE_H
#define XPORT_MLDASH_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "mldash.h"
#include "xport/buf.h"
#include "xport/record.h"
#include "xport/typemark.h"

struct json_object;
struct xp_spool;

struct wseries {
    char *name;       /* as ml-dash names the metric (mldash.h) */
    char *head;       /* ,"description":..,"metadata":.. for append-batch,
                       * made when the series is complete */
    char *src_name;   /* the source's name, for a system series or track */
    char *description;
    enum xp_series_kind kind;
    struct json_object *metadata; /* the source's, or NULL */
    struct xp_tmcols *cols;       /* the points' types (xport/typemark.h) */
    size_t sid; /* spool stream */
    int64_t count;
};

struct wfile {
    char *tmp, *rel, *sha256, *ctype;
    int64_t size;
    struct json_object *metadata;
};

struct mld_sink {
    struct xp_sink base;
    struct mld *m;
    int err;
    char *project, *name, *description, *status, *folder;
    char **tags;
    size_t ntags;
    struct json_object *metadata, *params, *summary, *others;
    struct json_object *param_marks; /* types kept apart (mldash.h) */
    struct json_object *log_runs;    /* [[count, extra], ...] per log line */
    struct xp_buf log_last;          /* the last run's extra as text */
    int log_extra;                   /* a run has an extra */
    int mentions; /* a source key reads like an in-object marker's */
    struct xp_spool *spool;
    size_t logs_sid;
    int64_t nlogs, log_line;
    struct wseries *ser;
    size_t nser;
    int in_series, skip_series;
    int64_t point_line;
    struct wfile *files;
    size_t nfiles;
    char *tmpdir;
    int64_t invalid;
    struct xp_buf line;
    /* set while sending */
    char *exp_id, *node_id;
};

/* mldash_write_extras.c: what ml-dash has no field for, carried in
 * metadata (mldash.h). */

/* A shallow copy of metadata (or a new object) with the extras x under
 * key; takes x. */
struct json_object *mld_carry(struct json_object *md, const char *key, struct json_object *x);
/* The experiment's metadata as sent. */
struct json_object *mld_exp_metadata(struct mld_sink *s);
/* A log line's metadata as sent; *extra gets what it carries apart. */
struct json_object *mld_log_metadata(const struct xp_log_entry *e, struct json_object **extra);
/* One more log line sent with extra (or none): the runs grow. */
void mld_log_run(struct mld_sink *s, struct json_object *extra);
/* The members that create a metric with its description and metadata,
 * or NULL (error set). */
char *mld_series_head(const struct wseries *w);

/* mldash_create.c: the experiment (and its folders) on the server, its
 * parameters and its status. */
int mld_create_folder(struct mld_sink *s, const char *parent, const char *name, int in_exp,
                      char **out);
int mld_create_experiment(struct mld_sink *s);
int mld_send_params(struct mld_sink *s);
int mld_send_status(struct mld_sink *s);

/* mldash_append.c: the logs and the metrics appended exactly once. */
int mld_send_logs(struct mld_sink *s);
int mld_send_metrics(struct mld_sink *s);

/* mldash_upload.c: the files the server does not have yet, uploaded. */
int mld_send_files(struct mld_sink *s);

#endif
