/* Private to the local adapter's reader (layout_read*.c): the reader's
 * state and the functions its files share. */
#ifndef XPORT_LOCAL_LAYOUT_READ_H
#define XPORT_LOCAL_LAYOUT_READ_H

#include <stdio.h>
#include <sys/types.h>

#include "local.h"
#include "xport/stream.h"
#include "xport/json.h"

#define LOG_BATCH 1024

enum stage {
    ST_EXPERIMENT,
    ST_PARAMS,
    ST_SUMMARY,
    ST_OTHERS,
    ST_SERIES,
    ST_LOGS,
    ST_FILES,
    ST_END,
    ST_DONE
};

struct series_item {
    enum xp_series_kind kind;
    char *dir;  /* absolute */
    char *name;
};

struct file_item {
    char *path;    /* relative path in the xport layout */
    char *disk;    /* absolute path of the bytes */
    struct json_object *entry; /* manifest entry, owned */
};


struct layout_reader {
    struct xp_reader base;
    struct local_adapter *la;
    char *dir;
    struct xp_read_opts ro;
    enum stage stage;
    struct xp_record rec;
    struct json_object *exp_json;
    struct experiment_names names;
    const char **tags;
    struct json_object *doc;
    struct json_object *vendor_obj;

    struct series_item *series;
    size_t nseries, cur_series;
    int series_state; /* 0 begin, 1 points, 2 end */
    struct json_object *series_md;

    FILE *fp;         /* current JSONL file */
    char *fp_path;
    long lineno;
    off_t offset;     /* bytes consumed so far (ftello costs a syscall) */
    /* progress: bytes of the JSONL files to read, and of those closed */
    int64_t read_total, read_closed;
    size_t line_len;  /* of r->line without its line end */
    char *line;
    size_t line_cap;
    struct json_tokener *tok;

    struct xp_point *points;
    struct xp_field *fields;
    size_t fields_cap;
    struct json_object **held; /* parsed lines kept alive for one batch */
    size_t nheld;
    struct xp_arena arena;
    struct xp_log_entry *logs;

    struct file_item *files;
    size_t nfiles, cur_file;
    int files_collected;
    struct xp_fd_stream stream;
    struct xp_stream *body; /* of the file being read: &stream, or from an archive */
};

/* layout_read_lines.c: the JSONL file being read, one line at a time */
int lr_open_fp(struct layout_reader *r, const char *path);
int lr_close_fp(struct layout_reader *r);
/* Drop the parsed lines the last batch kept alive. */
void lr_release_held(struct layout_reader *r);
/* Next raw line into r->line; 0, XP_ITEROVER, or an error. Empty lines
 * are skipped; a last line without '\n' is flagged in *complete. */
int lr_next_raw_line(struct layout_reader *r, int *complete);
/* Next non-empty line parsed as a JSON object; XP_ITEROVER at the end. */
int lr_next_json_line(struct layout_reader *r, struct json_object **out);
/* The line lr_next_raw_line read, parsed as lr_next_json_line does. */
int lr_parse_json_line(struct layout_reader *r, int complete, struct json_object **out);

/* layout_read_meta.c */
int lr_fill_experiment(struct layout_reader *r);
/* The document in file (if there is one) as r->rec; *have says whether. */
int lr_load_doc(struct layout_reader *r, const char *file,
                enum xp_doc_kind kind, int *have);

/* layout_read_series.c */
void lr_collect_series(struct layout_reader *r);
int lr_series_begin(struct layout_reader *r, struct series_item *it);
/* The next batch of points as r->rec; XP_ITEROVER after the last. */
int lr_read_points(struct layout_reader *r, struct series_item *it);

/* layout_read_logs.c: the next batch of log lines; XP_ITEROVER at the end */
int lr_read_logs(struct layout_reader *r);

/* layout_read_files.c */
void lr_close_body(struct layout_reader *r);
int lr_collect_files_xport(struct layout_reader *r);
int lr_collect_files_mldash(struct layout_reader *r);
int lr_emit_file(struct layout_reader *r, struct file_item *f);

#endif
