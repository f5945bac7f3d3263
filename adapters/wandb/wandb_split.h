/* Split series: points with more fields than a W&B history key holds.
 *
 * A history row has one value per key, so a point's fields besides the
 * ones W&B keeps for itself (value, step, timestamp, runtime, _step,
 * _timestamp) get keys of their own in the point's row: field F of series
 * S is the key "S/F" (in events rows "system.S/F"), the way W&B users log
 * {"train/loss": ..., "train/accuracy": ...} and W&B shows as a section
 * with a chart per key. The point's value stays key "S".
 *
 * The writer records which series it split, and their field names in
 * order, in xport's run file xport/fields.json (WXF_FIELDS), so that the
 * reader can join the keys back into one series (wandb_merge.h):
 *
 *   {"xportFields":1,"series":[{"name":"train","kind":"metric",
 *    "value":false,"fields":["loss","accuracy","epoch"]}, ...]}
 *
 * "kind" is "metric" (history) or "system" (events); "value" says whether
 * key "S" holds the points' values (false: no point had a value, and a
 * null there only keeps a point whose row holds no field of it). An entry
 * may also say which of the series' points had no step ("stepless",
 * wandb_steps.h); a series listed only for that has no fields ("fields":
 * []) and is not split: the reader joins nothing for it. "float_steps": true
 * says that the series' steps were decimals with whole values (Neptune
 * logs every step as a double): W&B history took them as the integers they
 * equal, and the reader gives them back as decimals.
 *
 * Ownership: the caller owns struct wsplit (wsplit_release). */
#ifndef XPORT_WANDB_SPLIT_H
#define XPORT_WANDB_SPLIT_H

#include <stddef.h>

#include "xport/buf.h"
#include "xport/record.h"
#include "wandb_steps.h"

struct json_object;

/* One split series and its field names, in the order first seen. */
struct wsplit {
    char *name;
    enum xp_series_kind kind;
    int has_value;
    char **fields;
    size_t nfields, cap;
    unsigned char *keep;       /* writer: the field has a key (resolved) */
    struct json_object *index; /* field name -> position */
    struct wsteps steps;       /* the points that had no step */
    int float_steps;           /* the steps were whole decimals ("float_steps") */
};

void wsplit_init(struct wsplit *w, const char *name, enum xp_series_kind kind);
void wsplit_release(struct wsplit *w);
/* The position of field `name`, added at the end when new. */
size_t wsplit_field(struct wsplit *w, const char *name);

/* The key of field `field` of series `series`, "series/field", appended to
 * out (the writer puts "system." before it in events rows). */
void wsplit_key(struct xp_buf *out, const char *series, const char *field);

/* ---- the spool encoding of fields ---------------------------------------- */

/* Append field idx with value v to b: a point's fields are a run of these. */
void wsplit_put(struct xp_buf *b, size_t idx, const struct xp_value *v);
/* The next field of such a run at *p (before end): 1 with idx and v set
 * (strings copied to arena), 0 at the end, or XP_EIO when damaged. */
int wsplit_get(const unsigned char **p, const unsigned char *end, size_t *idx,
               struct xp_value *v, struct xp_arena *arena);

/* ---- which fields get a key (writer) ------------------------------------- */

/* Called for a field that gets no key, with why ("its W&B key 'a/b' is
 * also a series of its own", ...). */
typedef void (*wsplit_drop_fn)(void *payload, const struct wsplit *w,
                               const char *field, const char *why);

/* Decide w->keep for the split series v[0..n), in order: a field gets its
 * key unless its name is empty or the key is taken. taken[0] (metrics) and
 * taken[1] (system) map the names of every series of that kind that is
 * written (the keys of their values) and receive the keys given out. */
void wsplit_resolve(struct wsplit *const *v, size_t n,
                    struct json_object *taken[2], wsplit_drop_fn drop,
                    void *payload);

/* ---- the run file --------------------------------------------------------- */

/* Write the map of v[0..n) (the fields with keys, and the points without
 * step; series with neither are left out) to path. */
int wsplit_file_write(const char *path, struct wsplit *const *v, size_t n);
/* Read the map at path into a new array *out of *n entries (fields all
 * kept; entries without fields are not split series). XP_EINVALID when it is not a map written by xport; what names the
 * file in messages. */
int wsplit_file_read(struct wsplit **out, size_t *n, const char *path,
                     const char *what);

#endif
