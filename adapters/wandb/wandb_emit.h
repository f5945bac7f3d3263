/* Emitting a decoded run (struct wrun) as records, shared by every W&B
 * reader so that each maps a run the same way: after the reader's own
 * EXPERIMENT, its parameters and summary documents, its spooled series as
 * SERIES_BEGIN / POINTS / SERIES_END (metrics first, then system metrics)
 * and its spooled console output as LOGS; and the body of a FILE record
 * read from an open file.
 *
 * Ownership: the caller owns struct wemit (wemit_release); the run is
 * borrowed and must outlive it; records point into both until the next
 * call. */
#ifndef XPORT_WANDB_EMIT_H
#define XPORT_WANDB_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "xport/stream.h"
#include "xport/buf.h"
#include "xport/record.h"
#include "xport/spool.h"
#include "wandb_run.h"

struct json_object;

struct wemit {
    struct wrun *run;
    int stage;         /* what wemit_next yields next (wandb_emit.c) */
    int phase;         /* 0 metric series, 1 system series, 2 done */
    size_t next_series, cur;
    struct xp_spool_iter it;
    int iter_open, log_iter_open;
    struct xp_spool_iter rows; /* the run's rows stream (wpt_spool_ref) */
    int rows_open;
    int64_t index, log_seq;
    struct xp_point *pts;
    struct xp_field *fields;
    struct xp_arena arena;
    struct xp_log_entry *logs;
    struct json_object **log_meta;
    size_t nlog_meta;
    struct json_object *params;
};

void wemit_init(struct wemit *e, struct wrun *run);
void wemit_release(struct wemit *e);

/* The next record after EXPERIMENT: parameters (run->config unwrapped),
 * summary, then each series and the logs, as run->resources and
 * run->only_series allow. 1 with rec set, 0 when none is left, or an
 * error. */
int wemit_next(struct wemit *e, struct xp_record *rec);

/* The body of a FILE record: an open file read from its start. */
/* Take fd into b (closed on failure too): its SHA-256 (hex) and size go to
 * sha and *size, and b reads it from the start. name is for messages. */
int wemit_body_open(struct xp_fd_stream *b, int fd, const char *name,
                    char sha[65], int64_t *size);

#endif
