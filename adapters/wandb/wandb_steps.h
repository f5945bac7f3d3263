/* Points without a step, on their way through W&B history.
 *
 * A history row needs "_step", so the writer gives a metric point that has
 * no step its index as _step; read back, the point would gain a step it
 * never had. The writer therefore records, per series, which _step values
 * it made up, in the series' entry of the map xport/fields.json
 * (wandb_split.h), and the reader drops exactly those steps again:
 *
 *   "stepless": true               no point of the series had a step
 *   "stepless": [[1,1],[3,9]]      the points whose _step lies in one of
 *                                  these ranges (inclusive) had none
 *
 * The second form is exact only when no point that had a step has one in
 * those ranges, and it is bounded (WSTEPS_MAX ranges): the writer checks
 * both (wsteps_check) and records nothing for a series that fails, so
 * its points without step come back with their index as step (the writer
 * counts them as dropped). Without the key, steps stay as read.
 *
 * Ownership: the caller owns struct wsteps (wsteps_release). */
#ifndef XPORT_WANDB_STEPS_H
#define XPORT_WANDB_STEPS_H

#include <stddef.h>
#include <stdint.h>

#include "xport/buf.h"
#include "xport/spool.h"

struct json_object;
struct xp_value;

/* The most ranges one series records; past that the writer gives up. */
#define WSTEPS_MAX 4096

/* The made-up steps first..last (inclusive); the writer also knows where
 * their points are in the series' spool stream (from pos on). */
struct wsteps_range {
    int64_t first, last;
    uint64_t pos;
};

struct wsteps {
    int all;                 /* every point had no step */
    struct wsteps_range *r;  /* else these, sorted by step when read */
    size_t n, cap;
    uint64_t nostep;         /* writer: points without step */
    uint64_t stepped;        /* writer: points with one */
    int overflow;            /* writer: more than WSTEPS_MAX ranges */
};

void wsteps_init(struct wsteps *s);
void wsteps_release(struct wsteps *s);

/* ---- writer ----------------------------------------------------------------- */

/* The point at position pos of the series' stream had no step and was given
 * `step`. */
void wsteps_add(struct wsteps *s, uint64_t pos, int64_t step);
/* After the last point: 0 when s can be recorded (s->all set when no point
 * had a step; else its ranges sorted by step), or 1 with *why saying why
 * not (too many ranges; points with a step in them), or an error. For a
 * series with both kinds of point, it reads the series' spool stream
 * through `it` (open) and rewinds it. */
int wsteps_check(struct wsteps *s, struct xp_spool_iter *it,
                 struct xp_buf *why);
/* The map's value for s: true or the ranges (a new reference). */
struct json_object *wsteps_to_json(const struct wsteps *s);

/* ---- reader ----------------------------------------------------------------- */

/* s from the map's value j: 0, or -1 when j is not one. */
int wsteps_from_json(struct wsteps *s, struct json_object *j);
/* Whether a point whose _step is `step` (NULL: none) had no step. */
int wsteps_made_up(const struct wsteps *s, const struct xp_value *step);

#endif
