/* Internals of the W&B server reader (wandb_server_read.c), shared by its
 * parts: history and events (wandb_read_rows.c), the console
 * (wandb_read_console.c), files, artifacts and xport's own run files
 * (wandb_read_files.c). */
#ifndef XPORT_WANDB_READ_H
#define XPORT_WANDB_READ_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/jscan.h"
#include "xport/json.h"
#include "xport/spool.h"
#include "xport/sys/http.h"
#include "wandb_emit.h"
#include "wandb_merge.h"
#include "wandb_run.h"
#include "wandb_server.h"
#include "wandb_xfiles.h"

enum rkind { RF_PLAIN, RF_OTHERS, RF_TRACK, RF_FIELDS };

struct rfile {
    char *name, *url, *md5, *artifact, *content_type;
    int64_t size;
    int auth; /* the URL is W&B-served: send the key */
    enum rkind kind;
    char *local; /* xport's own files: downloaded here */
};

enum rstate { S_EXP, S_RUN, S_SPLIT, S_OTHERS, S_TRACKS, S_FILES, S_END,
              S_DONE };

struct ws_reader {
    struct xp_reader base;
    struct ws_adapter *a;
    char *entity, *project, *run_name;
    unsigned resources;
    const char *only_series;
    struct xp_read_opts ro;
    struct json_object *run;     /* the Run node */
    struct json_object *vendor;
    char started[40];            /* from config _wandb.start_time, or "" */
    struct wrun w;
    struct wemit em;
    struct wmerge merge;         /* split series, from xport/fields.json */
    enum rstate state;
    struct xp_record rec;
    const char **tags;
    size_t ntags;
    char *tmpdir;
    struct rfile *files;
    size_t nfiles, capfiles, next_file;
    struct xp_fd_stream body;
    char sha[65];
    char *body_path;
    struct json_object *others;  /* from xport/others.json */
    size_t next_track;
    struct wxf_track_in trk;
    int trk_open;
    /* scratch for rows */
    struct xp_field *rf;
    size_t rfcap;
    struct xp_buf row;
    struct xp_buf enc;
    struct xp_arena arena;
};

/* wandb_server_read.c */
struct json_object *wsr_vars3(struct ws_reader *r, const char *runkey);
/* A JSONString field: a string holding JSON, or (lenient) the JSON itself,
 * into *out (NULL when the field is absent); a string that is not JSON (too
 * deep, a number out of range) is an error, never a field dropped. */
int wsr_json_string_field(struct json_object **out, struct json_object *node,
                          const char *key);
void wsr_add_file(struct ws_reader *r, const char *name, const char *url,
                  int auth, const char *md5, int64_t size,
                  const char *artifact, const char *ctype);
/* Download a file into the reader's temporary folder; *path gets it. */
int wsr_download(struct ws_reader *r, const struct rfile *f, char **path);
const struct rfile *wsr_find_file(struct ws_reader *r, const char *name);
/* Call fn for each line of a downloaded file. */
int wsr_each_line(struct ws_reader *r, const char *path,
                  int (*fn)(struct ws_reader *, const char *, size_t, int));

/* wandb_read_rows.c */
/* The full history: windows [lo, lo+width) of steps asked with
 * samples = page. A window returning fewer rows than page was not sampled,
 * so the width may grow over sparse steps; a full answer from a window
 * wider than page may be a sample, so it is asked again narrower. A window
 * of page steps holds at most page rows: never sampled. */
int wsr_read_history(struct ws_reader *r);
int wsr_read_events(struct ws_reader *r);

/* wandb_read_console.c */
/* The console: the logLines the server counts, else output.log. */
int wsr_read_console(struct ws_reader *r);

/* wandb_read_files.c */
int wsr_list_files(struct ws_reader *r);
int wsr_list_artifacts(struct ws_reader *r);
/* xport's own run files (wandb_xfiles.h), fetched before the records
 * start: the others document, the map of split series, and the tracks
 * (checked, read later). One that does not read as such stays a plain run
 * file. */
int wsr_load_xfiles(struct ws_reader *r);
/* The next record of the tracks: 1 with r->rec set, 0 when none is left. */
int wsr_next_track(struct ws_reader *r);
void wsr_drop_body(struct ws_reader *r);
/* The next file to emit: 1 with r->rec set, 0 when none is left. */
int wsr_next_file(struct ws_reader *r);

#endif
