/* Private to the local adapter's writer (layout_write*.c and
 * layout_writer.c): the sink's state and the functions its files share. */
#ifndef XPORT_LOCAL_LAYOUT_WRITE_H
#define XPORT_LOCAL_LAYOUT_WRITE_H

#include "local.h"
#include "xport/hash.h"
#include "xport/fs.h"
#include "xport/json.h"
#include "xport/stage.h"

struct open_series {
    struct xp_afile data;
    struct xp_sha256 sha; /* of data.jsonl as written, for the items log */
    char *dir;       /* staging-relative directory */
    char *name;
    enum xp_series_kind kind;
    char *description;
    struct json_object *metadata;
    int64_t npoints;
    int64_t next_index;
    struct json_object *columns; /* tracks: column names seen, in order */
    int has_ts;
    double first_ts, last_ts;
};

struct layout_sink {
    struct xp_sink base;
    struct local_adapter *la;
    int err;
    char *final_dir;   /* ROOT/ws/proj/exp */
    struct xp_stage stage; /* ROOT/.xport/staging/<key> */
    struct json_object *exp; /* experiment.json being built */
    struct open_series ser;
    int in_series;
    struct json_object *series_seen; /* encoded dir names used */
    struct xp_afile logs;
    int logs_open;
    struct xp_stage_items items; /* which items in staging are complete */
    int resume;
    char *dest_rel;             /* final dir relative to the root */
    struct xp_buf line;
    unsigned resources;
};

#define ITEMS_FILE XP_STAGE_ITEMS
#define ITEMS_FILE XP_STAGE_ITEMS

/* layout_write_items.c */
/* A path inside the staging folder; caller frees. */
char *lw_stage_path(struct layout_sink *s, const char *rel);
void lw_put_str_or_null(struct json_object *o, const char *k, const char *v);
/* Remove the temp files an interrupted attempt left in staging. */
void lw_remove_temps(const char *dir);
/* files.jsonl from the items log, in the order the files completed. */
int lw_write_manifest(struct layout_sink *s);

/* layout_write_series.c */
int lw_begin_series(struct layout_sink *s, const struct xp_series_meta *m);
int lw_put_points(struct layout_sink *s, const struct xp_point *v, size_t n);
int lw_end_series(struct layout_sink *s);
void lw_series_clear(struct open_series *o);

/* layout_write_files.c */
int lw_put_logs(struct layout_sink *s, const struct xp_log_entry *v, size_t n);
int lw_put_file(struct layout_sink *s, const struct xp_file_meta *m,
                struct xp_stream *body);
int lw_doc_file(struct layout_sink *s, enum xp_doc_kind k,
                struct json_object *doc);

#endif
