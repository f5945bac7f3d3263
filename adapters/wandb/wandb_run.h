/* One W&B offline run decoded from its .wandb file: the run's metadata,
 * config and summary in memory, and its history, system stats and console
 * output transposed into spool streams (one per series, one for the logs),
 * so that memory stays bounded whatever the run's length.
 *
 * Ownership: the caller owns struct wrun and releases it with
 * wrun_release, which also removes the spool. */
#ifndef XPORT_WANDB_RUN_H
#define XPORT_WANDB_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "xport/buf.h"
#include "xport/record.h"

struct json_object;
struct xp_ctx;
struct xp_spool;
struct xp_spool_iter;

struct wrun_meta {
    char *run_id, *entity, *project, *display_name, *notes, *group;
    char *job_type, *sweep_id, *host, *storage_id, *git_remote, *git_commit;
    char **tags;
    size_t ntags;
    int has_run;
    int has_start;
    int64_t start_sec;
    int32_t start_nanos;
    int64_t starting_step;
    int32_t runtime;
    int resumed, forked;
    int has_exit;
    int32_t exit_code, exit_runtime;
    int not_complete;
};

struct wrun_series {
    char *name;
    size_t len;        /* strlen(name) */
    enum xp_series_kind kind;
    size_t stream;     /* spool stream id */
    uint64_t last_row; /* the history row that last gave it a value, + 1 */
    uint64_t last_ref; /* the rows record its last point refers to, + 1 */
};

struct wrun_map; /* name -> series index (wandb_run_history.c) */

struct wrun {
    const struct xp_ctx *ctx;
    char *path; /* the .wandb file */
    int version, old_layout;
    unsigned resources;
    const char *only_series; /* borrowed */
    struct wrun_meta m;
    struct json_object *config;  /* accumulated, still wrapped/raw */
    struct json_object *summary;
    struct json_object *vendor;  /* extra facts for the experiment's vendor */
    struct xp_spool *spool;
    struct wrun_series *series;
    size_t nseries, capseries;
    struct wrun_map *metric_map, *system_map;
    int have_log_stream;
    size_t log_stream;
    int have_rows_stream; /* the rows shared by points (wpt_spool_ref) */
    size_t rows_stream;
    uint64_t nlogs;
    uint64_t nrecords, nrows;
    int64_t next_step; /* for rows that carry no step */
    /* damage: */
    size_t nlost;
    char *lost;        /* "a-b, c-d" or NULL */
};

/* Decode the whole run at `path`. Records of resources outside `resources`
 * are skipped; only_series (or NULL) restricts history and stats to one
 * series. Damage is warned about through ctx and left in r->lost. */
int wrun_scan(struct wrun *r, const char *path, unsigned resources,
              const char *only_series, const struct xp_ctx *ctx);
/* Read only as far as the first run record (for listing); quiet. A file
 * whose first records are damaged still opens, with what was found. */
int wrun_peek(struct wrun_meta *m, const char *path);
void wrun_meta_release(struct wrun_meta *m);
/* An empty run to fill by other means (the W&B server reader): path names
 * its source in messages. */
int wrun_init(struct wrun *r, const char *path, unsigned resources,
              const char *only_series, const struct xp_ctx *ctx);
/* The series called name[0..n) of that kind, made (with its spool stream)
 * on first use; its index goes to *out. */
int wrun_series_get(struct wrun *r, enum xp_series_kind kind,
                    const char *name, size_t n, size_t *out);
void wrun_release(struct wrun *r);

/* ---- the spool encoding of points and log lines (wandb_points.c) -------- */

enum wpt_key {
    WPT_VALUE,
    WPT_STEP,
    WPT_TIMESTAMP,
    WPT_RUNTIME,
    WPT_RAW_STEP,      /* "_step" when it is not an integer */
    WPT_RAW_TIMESTAMP, /* "_timestamp" when it is not a number */
    WPT_NKEYS
};

/* Append one point (fields[k] used where has[k]) to b. */
void wpt_encode(struct xp_buf *b, const struct xp_value fields[WPT_NKEYS],
                const int has[WPT_NKEYS]);
/* A history row's _step, _timestamp or _runtime value (which: WPT_STEP,
 * WPT_TIMESTAMP or WPT_RUNTIME) into the fields all its points share: a
 * step that is not an integer and a timestamp that is not a number are
 * kept raw. */
void wrow_special(struct xp_value fv[WPT_NKEYS], int has[WPT_NKEYS],
                  int which, const struct xp_value *v);
/* The end of a row's shared fields: a missing step is the record's step
 * (record_step, or NULL when it has none) or else the last row's + 1; the
 * row is counted and its step returned. */
int64_t wrun_row_end(struct wrun *r, struct xp_value fv[WPT_NKEYS],
                     int has[WPT_NKEYS], const int64_t *record_step);
/* Decode into out/fields (room for WPT_NKEYS); strings are copied to arena. */
int wpt_decode(struct xp_point *out, struct xp_field *fields,
               const void *data, size_t len, struct xp_arena *arena);

/* The points of a history row share all fields but their value, so the
 * offline reader spools those once per row, in the run's rows stream
 * (encoded by wpt_encode, without value), and each point as its value and
 * the number of rows from its series' previous point to its own (from the
 * start for the first). A series is read back along with the rows stream;
 * a point spooled by wpt_encode stands alone as before. */
#define WPT_REF 0x80 /* the first byte of a point that refers to its row */
/* Spool such a point: its value and row distance `back`. */
int wpt_spool_ref(struct xp_spool *sp, size_t stream, uint64_t back,
                  const struct xp_value *value);
/* wpt_decode for both kinds: rows is the rows stream, open and read as far
 * as this series' previous point (NULL when the run has none). */
int wpt_decode_row(struct xp_point *out, struct xp_field *fields,
                   const void *data, size_t len, struct xp_spool_iter *rows,
                   struct xp_arena *arena);

struct wlog_line {
    int stream;      /* 0 stderr, 1 stdout */
    int has_ts;
    int64_t sec;
    int32_t nanos;
    int newline;     /* the line ended with '\n' */
    const char *text;
    size_t len;
    /* the server's logLines level and label (wandb.md §1.7); NULL: none */
    const char *level, *label;
    size_t level_len, label_len;
};
void wline_encode(struct xp_buf *b, const struct wlog_line *l);
int wline_decode(struct wlog_line *l, const void *data, size_t len);

/* Parse a value_json text into v. Scalars are parsed directly; strings,
 * objects and arrays go through json-c, whose object is left in *hold (put
 * it once v is no longer used; NULL when none) and whose serialisation for
 * objects and arrays goes to arena. */
int wval_parse(struct xp_value *v, const char *text, size_t len,
               struct json_object **hold, struct xp_arena *arena);
/* The part of wval_parse that needs neither json-c nor an arena (numbers,
 * NaN and ±Infinity, true, false, null): 1 with v set, 0 when text is
 * something else. Any thread may call it. */
int wval_scalar(struct xp_value *v, const char *text, size_t len);

#endif
