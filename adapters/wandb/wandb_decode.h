/* Internals of the .wandb decoder (wandb_run.c), shared by its parts: the
 * run's metadata and documents (wandb_run_meta.c) and history, system
 * metrics and console records (wandb_run_history.c); the small field
 * readers every part uses per item are static inline here. */
#ifndef XPORT_WANDB_DECODE_H
#define XPORT_WANDB_DECODE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/json.h"
#include "xport/pb.h"
#include "wandb_item.h"
#include "wandb_prefetch.h"
#include "wandb_run.h"

/* A record the decoder could not make sense of (it passed the checksum). */
#define BAD_RECORD (-100)

struct wrow;

/* ---- small decoding helpers ------------------------------------------ */

/* A proto string as a NUL-terminated copy; BAD_RECORD when it is not UTF-8
 * or holds a NUL (neither can be a key or a name). */
static inline int wdec_dup_str(char **out, const struct xp_pb_field *f)
{
    if (f->wire != XP_PB_LEN || memchr(f->ptr, 0, f->len) ||
        !xp_utf8_valid((const char *)f->ptr, f->len))
        return BAD_RECORD;
    char *s = xp_strndup((const char *)f->ptr, f->len);
    free(*out);
    *out = s;
    return 0;
}

static inline int wdec_timestamp(const struct xp_pb_field *f, int64_t *sec,
                                 int32_t *nanos)
{
    struct xp_pb m;
    struct xp_pb_field g;
    int k;
    *sec = 0;
    *nanos = 0;
    if (f->wire != XP_PB_LEN)
        return BAD_RECORD;
    xp_pb_sub(&m, f);
    while ((k = xp_pb_next(&m, &g)) > 0) {
        if (g.num == 1 && g.wire == XP_PB_VARINT)
            *sec = xp_pb_int64(&g);
        else if (g.num == 2 && g.wire == XP_PB_VARINT)
            *nanos = (int32_t)g.u;
    }
    return k < 0 ? BAD_RECORD : 0;
}

/* An item, BAD_RECORD when it is not a valid one. */
static inline int wdec_item(struct witem *it, const struct xp_pb_field *f)
{
    return witem_get(it, f, 1) ? BAD_RECORD : 0;
}

/* Parse value_json into a json-c tree (NULL for JSON null). */
static inline int wdec_item_json(struct json_object **out, const struct witem *it)
{
    *out = NULL;
    if (!it->has_value)
        return BAD_RECORD;
    if (xp_json_parse(out, it->value, it->vlen, "value_json"))
        return BAD_RECORD;
    return 0;
}

static inline void wdec_vendor_set(struct wrun *r, const char *key,
                                   struct json_object *v)
{
    json_object_object_add(r->vendor, key, v);
}

/* ---- history ----------------------------------------------------------- */

struct row_entry {
    size_t series;
    struct xp_value v;
};

struct nested {
    size_t series;
    struct json_object *obj;
};

/* Per-scan scratch, reused from row to row. */
struct scratch {
    struct row_entry *e;
    size_t ne, cape;
    struct nested *nest;
    size_t nn, capn;
    struct json_object **hold;
    size_t nh, caph;
    struct xp_arena arena;
    struct xp_buf enc;
    /* the series of the last history row's items, by position: rows
     * usually repeat their keys in the same order, so one memcmp replaces
     * a hash lookup */
    size_t *order;
    size_t norder;
    /* the keys of packed rows, by the prefetch thread's numbers */
    struct row_key *keys;
    size_t nkeys, capkeys;
};

/* A key of packed rows: what the decoder makes of its name, once. */
struct row_key {
    char *name;
    size_t len;
    int special; /* WPT_STEP, WPT_TIMESTAMP, WPT_RUNTIME or -1 */
    int wanted;
    size_t series; /* WNAMES_NONE until its first value */
};

static inline void wdec_scratch_reset(struct scratch *s)
{
    for (size_t i = 0; i < s->nh; i++)
        json_object_put(s->hold[i]);
    for (size_t i = 0; i < s->nn; i++)
        json_object_put(s->nest[i].obj);
    s->nh = s->nn = s->ne = 0;
    xp_arena_reset(&s->arena);
}

/* wandb_run_meta.c */
/* Set root[path...] = val from the item's from-th key on, making
 * intermediate objects. Takes val's reference. */
void wdec_set_path(struct json_object *root, const struct witem *it,
                   size_t from, struct json_object *val);
/* ConfigRecord and SummaryRecord updates, applied in order to doc. */
int wdec_apply_updates(struct json_object *doc, const struct xp_pb_field *f);
int wdec_telemetry(struct wrun *r, const struct xp_pb_field *f);
/* RunRecord; with r NULL only the metadata is decoded (listing). */
int wdec_run(struct wrun_meta *mt, struct wrun *r,
             const struct xp_pb_field *f);
int wdec_exit(struct wrun_meta *mt, const struct xp_pb_field *f);
int wdec_files(struct wrun *r, const struct xp_pb_field *f);
int wdec_artifact(struct wrun *r, const struct xp_pb_field *f);
int wdec_header(struct wrun *r, const struct xp_pb_field *f);

/* wandb_run_history.c */
struct wrun_map *wdec_map_new(void);
void wdec_map_free(struct wrun_map *m);
void wdec_scratch_release(struct scratch *s);
/* HistoryRecord: one row. */
int wdec_history(struct wrun *r, struct scratch *s,
                 const struct xp_pb_field *f);
/* A history row packed by the prefetch thread (wandb_rows.h). */
int wdec_row(struct wrun *r, struct scratch *s, const struct wrow *row);
/* The prefetch thread numbered a new key: its name, before its first row. */
void wdec_row_key_add(struct wrun *r, struct scratch *s,
                      const struct wpre_entry *e);
/* StatsRecord: one events row. */
int wdec_stats(struct wrun *r, struct scratch *s,
               const struct xp_pb_field *f);
/* OutputRecord / OutputRawRecord: console lines. */
int wdec_output(struct wrun *r, struct scratch *s,
                const struct xp_pb_field *f);

#endif
