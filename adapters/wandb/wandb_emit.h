/* Emitting a decoded run (struct wrun) as records: its parameters, its
 * spooled series as SERIES_BEGIN / POINTS / SERIES_END (metrics first,
 * then system metrics) and its spooled console output as LOGS, the way the
 * wandb-offline reader emits them, so that every W&B reader maps a run the
 * same way.
 *
 * Ownership: the caller owns struct wemit (wemit_release); the run is
 * borrowed and must outlive it; records point into both until the next
 * call. */
#ifndef XPORT_WANDB_EMIT_H
#define XPORT_WANDB_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "xport/buf.h"
#include "xport/record.h"
#include "xport/spool.h"
#include "wandb_run.h"

struct json_object;

struct wemit {
    struct wrun *run;
    int phase; /* 0 metric series, 1 system series, 2 done */
    size_t next_series, cur;
    struct xp_spool_iter it;
    int iter_open, log_iter_open, logs_done;
    int64_t index, log_seq;
    struct xp_point *pts;
    struct xp_field *fields;
    struct xp_arena arena;
    struct xp_log_entry *logs;
    struct json_object **log_meta;
    size_t nlog_meta;
};

void wemit_init(struct wemit *e, struct wrun *run);
void wemit_release(struct wemit *e);

/* config as W&B's API shows it: {"value": v} (with "desc") becomes v;
 * _wandb is left out. A new object. */
struct json_object *wemit_parameters(struct json_object *config);

/* The next series: 1 with rec set to its SERIES_BEGIN, 0 when none is
 * left, or an error. */
int wemit_series(struct wemit *e, struct xp_record *rec);
/* Points of the current series: 1 with rec set to POINTS, 0 at its end
 * (rec set to SERIES_END), or an error. */
int wemit_points(struct wemit *e, struct xp_record *rec);
/* Console lines: 1 with rec set to LOGS, 0 when none is left, or an
 * error. */
int wemit_logs(struct wemit *e, struct xp_record *rec);

#endif
