/* Joining split series back (wandb_split.h) while the W&B server reader
 * reads history and events rows: the keys "S" and "S/F" of a series S that
 * xport/fields.json names become one series S again, one point per row
 * holding any of them, with the row's step, timestamp and runtime as every
 * other point of that row has them. A point lacks the fields its row
 * lacks. Without a map (no such file) no key is taken and every key stays a
 * series of its own.
 *
 * The map also says which points had no step before W&B was given their
 * index as _step (wandb_steps.h): a joined point of such a series leaves
 * that step out, and wmerge_stepless tells the reader the same for the
 * series that are not split (entries without fields, never joined). A
 * series whose steps were whole decimals ("float_steps") gets them back as
 * decimals the same ways (wmerge_step_type).
 *
 * Points are spooled in the run's spool (streams of their own, apart from
 * the wrun's series) and emitted after the run's other records.
 *
 * Ownership: the caller owns struct wmerge (wmerge_release); records
 * point into it until the next call. */
#ifndef XPORT_WANDB_MERGE_H
#define XPORT_WANDB_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "xport/buf.h"
#include "xport/record.h"
#include "xport/spool.h"
#include "wandb_batch.h"
#include "wandb_run.h"
#include "wandb_split.h"

struct json_object;
struct xp_ctx;

struct wmerge_one {
    size_t stream;
    int have_stream;
    int touched;                  /* the row being read holds a key of it */
    int has_value;
    struct xp_value value;        /* this row's key "S", borrowed */
    struct xp_buf fields;         /* this row's fields, wsplit_put */
};

struct wmerge {
    struct wsplit *v;             /* the map's series */
    struct wmerge_one *s;         /* and their state */
    size_t n;
    struct json_object *keys[2];  /* metric, system: key -> (series, field) */
    struct json_object *plain;    /* metric series not split -> entry, for
                                   * their points without step */
    size_t *touched;              /* series touched by the current row */
    size_t ntouched;
    struct xp_buf enc;
    /* emission */
    size_t next;
    struct xp_spool_iter it;
    int iter_open;
    int64_t index;
    struct wbatch batch;
    struct xp_arena arena;
};

void wmerge_init(struct wmerge *m);
void wmerge_release(struct wmerge *m);

/* Read the map file at path (what names it): XP_EINVALID when it is not a
 * map written by xport. A key the map gives twice keeps its first owner,
 * with a warning through ctx. */
int wmerge_load(struct wmerge *m, const char *path, const char *what,
                const struct xp_ctx *ctx);

/* Key `key` with value v of a row of that kind (events keys without their
 * "system." prefix): 1 when it belongs to a split series (taken for the row,
 * or left out when only_series names another series), 0 when it does not.
 * v must stay valid until wmerge_row_end. */
int wmerge_take(struct wmerge *m, enum xp_series_kind kind, const char *key,
                const struct xp_value *v, const char *only_series);
/* The end of a row: a point for each series it touched, with the row's
 * shared fields fv/has (step, timestamp, runtime; no value). */
int wmerge_row_end(struct wmerge *m, struct xp_spool *spool,
                   const struct xp_value fv[WPT_NKEYS],
                   const int has[WPT_NKEYS]);

/* Whether the point of metric series `name` (not a split one) in a row
 * whose _step is `step` had no step of its own. */
int wmerge_stepless(const struct wmerge *m, const char *name,
                    const struct xp_value *step);
/* The step of a point of metric series `name` (not a split one) as the
 * source had it: an integer _step back to the decimal it was, when the map
 * says so. */
void wmerge_step_type(const struct wmerge *m, const char *name, struct xp_value *step);

/* The next record of the joined series: 1 with rec set (SERIES_BEGIN,
 * POINTS, SERIES_END), 0 when none is left, or an error. */
int wmerge_next(struct wmerge *m, struct xp_spool *spool,
                struct xp_record *rec);

#endif
