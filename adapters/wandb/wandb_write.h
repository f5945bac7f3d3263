/* Internals of the W&B server writer (wandb_server_write.c), shared by its
 * parts: the run and its files (wandb_write_run.c) and, at commit, the map
 * of split series and the rows and console streamed through file_stream
 * (wandb_write_rows.c). */
#ifndef XPORT_WANDB_WRITE_H
#define XPORT_WANDB_WRITE_H

#include <stdint.h>

#include <json-c/json.h>

#include "xport/buf.h"
#include "xport/spool.h"
#include "xport/sys/adapter.h"
#include "wandb_api.h"
#include "wandb_artifact.h"
#include "wandb_server.h"
#include "wandb_split.h"
#include "wandb_steps.h"
#include "wandb_stream.h"
#include "wandb_xfiles.h"

struct wseries {
    char *name;
    enum xp_series_kind kind;
    size_t stream;
    int skip;
    int has_value;        /* some point has a "value" */
    /* a point with other fields splits the series (wandb_split.h): their
     * values go to stream xstream, one record for each point from the
     * x_from-th on */
    struct wsplit *split;
    size_t xstream;
    uint64_t x_from;
    /* metrics: the points without step, whose _step is their index; the
     * stream read once to check them, left open for wsw_send_rows */
    struct wsteps steps;
    struct xp_spool_iter it;
    int it_open;
    int renumbered;       /* a point's index was not its position: told once */
    /* metrics: steps that were integers, decimals with whole values (0 to
     * 2^53, not -0), and other decimals; a series whose steps were all
     * whole decimals gets them as integer _steps and "float_steps" in the
     * map (wandb_split.h), decided at commit (float_steps) */
    uint64_t int_steps, whole_steps, frac_steps;
    int float_steps;
};

struct ws_sink {
    struct xp_sink base;
    struct ws_adapter *a;
    int err;
    char *entity, *project, *run_id;
    char *display_name, *notes, *group, *status, *started_at;
    char **tags;
    size_t ntags;
    struct json_object *vendor, *params, *summary;
    struct xp_spool *spool;
    struct wseries *series;
    size_t nseries, cur;
    int have_logs;
    size_t log_stream;
    int exists, created, overwrite;
    int64_t have_hist, have_events, have_logs_n;
    struct wstream fs;
    struct xp_buf enc, xenc, line, key;
    int warned_partial, warned_level;
    char *tmpdir;
    unsigned long tmpseq;
    struct wxf_track_out track; /* the track being received */
    int in_track;
    struct wart_set arts;
};

static inline struct json_object *wsw_vendor(struct ws_sink *s, const char *key)
{
    return wapi_path(s->vendor, key);
}

/* wandb_write_run.c */
/* What the server already has of this run: s->exists and the line counts;
 * *state_out the run's state, held by *hold (json_object_put). */
int wsw_query_state(struct ws_sink *s, const char **state_out,
                    struct json_object **hold);
/* UpsertBucket, once: the run with its name, notes, tags, group and config. */
int wsw_ensure_run(struct ws_sink *s);
int wsw_ensure_tmpdir(struct ws_sink *s);
/* A fresh path in the sink's temporary folder (caller frees). */
char *wsw_tmp_path(struct ws_sink *s, const char *what);
/* Upload the file at path as run file name, then remove it. */
int wsw_upload(struct ws_sink *s, const char *name, const char *path);
int wsw_put_file(struct ws_sink *s, const struct xp_record *rec);
/* The others document as xport/others.json. */
int wsw_put_others(struct ws_sink *s, struct json_object *doc);
/* A track as xport/tracks/<name>.jsonl: written while its points arrive,
 * uploaded at its end. */
int wsw_track_begin(struct ws_sink *s, const struct xp_series_meta *m);
int wsw_track_end(struct ws_sink *s);

/* wandb_write_rows.c */
/* Whether a decimal step is whole and W&B history can hold it as the
 * integer it equals, exactly and back (0 to 2^53; not -0). */
int wsw_whole_step(const struct xp_value *v);
/* At commit, before any row: which fields of split series get keys, and
 * xport/fields.json. */
int wsw_put_split_map(struct ws_sink *s);
/* Stream the series of one kind as rows of `file`; rows below `skip` were
 * sent by an earlier attempt. */
int wsw_send_rows(struct ws_sink *s, enum xp_series_kind kind,
                  const char *file, int64_t skip);
/* The console lines as output.log. */
int wsw_send_console(struct ws_sink *s);

#endif
