/* Decoding the records of a .wandb file into a struct wrun (wandb_run.h).
 * Field numbers: wandb.md §3.4, checked against wandb_internal.proto. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/json.h"
#include "xport/spool.h"
#include "xport/sys/adapter.h"
#include "wandb_item.h"
#include "wandb_log.h"
#include "wandb_names.h"
#include "wandb_prefetch.h"
#include "wandb_rows.h"
#include "xport/pb.h"
#include "wandb_run.h"

/* Record.record_type fields we read */
enum {
    REC_HISTORY = 2,
    REC_SUMMARY = 3,
    REC_OUTPUT = 4,
    REC_CONFIG = 5,
    REC_FILES = 6,
    REC_STATS = 7,
    REC_ARTIFACT = 8,
    REC_TELEMETRY = 11,
    REC_OUTPUT_RAW = 13,
    REC_RUN = 17,
    REC_EXIT = 18,
    REC_FINAL = 20,
    REC_HEADER = 21
};

/* A record the decoder could not make sense of (it passed the checksum). */
#define BAD_RECORD (-100)

/* ---- name -> series map --------------------------------------------- */

struct wrun_map {
    struct wnames names;
    size_t *series; /* by name id */
};

static struct wrun_map *map_new(void)
{
    struct wrun_map *m = xp_calloc(1, sizeof(*m));
    wnames_init(&m->names);
    return m;
}

static void map_free(struct wrun_map *m)
{
    if (m) {
        wnames_release(&m->names);
        free(m->series);
        free(m);
    }
}

static int series_get(struct wrun *r, enum xp_series_kind kind,
                      const char *name, size_t n, size_t *out)
{
    struct wrun_map *m = kind == XP_SERIES_SYSTEM ? r->system_map
                                                  : r->metric_map;
    size_t id = wnames_find(&m->names, name, n);
    if (id != WNAMES_NONE) {
        *out = m->series[id];
        return 0;
    }
    if (r->nseries == r->capseries) {
        r->capseries = r->capseries ? r->capseries * 2 : 32;
        r->series = xp_realloc(r->series, r->capseries * sizeof(*r->series));
    }
    struct wrun_series *s = &r->series[r->nseries];
    memset(s, 0, sizeof(s[0]));
    s->name = xp_strndup(name, n);
    s->len = n;
    s->kind = kind;
    int rc = xp_spool_add(r->spool, &s->stream);
    if (rc) {
        free(s->name);
        return rc;
    }
    id = wnames_add(&m->names, name, n);
    if (id % 32 == 0)
        m->series = xp_realloc(m->series, (id + 32) * sizeof(*m->series));
    m->series[id] = r->nseries;
    *out = r->nseries++;
    return 0;
}

/* ---- small decoding helpers ------------------------------------------ */

/* A proto string as a NUL-terminated copy; BAD_RECORD when it is not UTF-8
 * or holds a NUL (neither can be a key or a name). */
static int dup_str(char **out, const struct xp_pb_field *f)
{
    if (f->wire != XP_PB_LEN || memchr(f->ptr, 0, f->len) ||
        !xp_utf8_valid((const char *)f->ptr, f->len))
        return BAD_RECORD;
    char *s = xp_strndup((const char *)f->ptr, f->len);
    free(*out);
    *out = s;
    return 0;
}

static int get_timestamp(const struct xp_pb_field *f, int64_t *sec,
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
static int get_item(struct witem *it, const struct xp_pb_field *f)
{
    return witem_get(it, f, 1) ? BAD_RECORD : 0;
}

/* Parse value_json into a json-c tree (NULL for JSON null). */
static int item_json(struct json_object **out, const struct witem *it)
{
    *out = NULL;
    if (!it->has_value)
        return BAD_RECORD;
    if (xp_json_parse(out, it->value, it->vlen, "value_json"))
        return BAD_RECORD;
    return 0;
}

/* Set root[path...] = val, making intermediate objects (a non-object in the
 * way is replaced, as W&B's nested updates do). Takes val's reference. */
static void json_set_path(struct json_object *root, const struct witem *it,
                          size_t from, struct json_object *val)
{
    struct json_object *o = root;
    char key[1024];
    for (size_t i = from; i < it->depth; i++) {
        size_t n = it->plen[i] < sizeof(key) - 1 ? it->plen[i]
                                                 : sizeof(key) - 1;
        memcpy(key, it->path[i], n);
        key[n] = '\0';
        char *k = it->plen[i] < sizeof(key) ? key
                                            : xp_strndup(it->path[i],
                                                         it->plen[i]);
        if (i + 1 == it->depth) {
            json_object_object_add(o, k, val);
        } else {
            struct json_object *c;
            if (!json_object_object_get_ex(o, k, &c) ||
                !json_object_is_type(c, json_type_object)) {
                c = json_object_new_object();
                json_object_object_add(o, k, c);
            }
            o = c;
        }
        if (k != key)
            free(k);
    }
}

static void json_del_path(struct json_object *root, const struct witem *it)
{
    struct json_object *o = root;
    for (size_t i = 0; i < it->depth && o; i++) {
        char *k = xp_strndup(it->path[i], it->plen[i]);
        if (i + 1 == it->depth) {
            json_object_object_del(o, k);
        } else {
            struct json_object *c = NULL;
            if (!json_object_object_get_ex(o, k, &c) ||
                !json_object_is_type(c, json_type_object))
                c = NULL;
            o = c;
        }
        free(k);
    }
}

/* ConfigRecord and SummaryRecord: {repeated update = 1; repeated remove = 2}
 * of items, applied in order to doc. */
static int apply_updates(struct json_object *doc, const struct xp_pb_field *f)
{
    struct xp_pb m;
    struct xp_pb_field g;
    struct witem it;
    int k, rc;
    if (f->wire != XP_PB_LEN)
        return BAD_RECORD;
    xp_pb_sub(&m, f);
    while ((k = xp_pb_next(&m, &g)) > 0) {
        if (g.num != 1 && g.num != 2)
            continue;
        if ((rc = get_item(&it, &g)))
            return rc;
        if (g.num == 2) {
            json_del_path(doc, &it);
            continue;
        }
        struct json_object *v;
        if ((rc = item_json(&v, &it)))
            return rc;
        json_set_path(doc, &it, 0, v);
    }
    return k < 0 ? BAD_RECORD : 0;
}

static void vendor_set(struct wrun *r, const char *key, struct json_object *v)
{
    json_object_object_add(r->vendor, key, v);
}

static struct json_object *vendor_list(struct wrun *r, const char *key)
{
    struct json_object *a;
    if (!json_object_object_get_ex(r->vendor, key, &a)) {
        a = json_object_new_array();
        vendor_set(r, key, a);
    }
    return a;
}

/* TelemetryRecord: the versions are what is worth keeping. */
static int decode_telemetry(struct wrun *r, const struct xp_pb_field *f)
{
    static const struct {
        uint32_t num;
        const char *name;
    } keep[] = {{4, "python_version"},
                {5, "cli_version"},
                {6, "huggingface_version"},
                {12, "core_version"}};
    struct xp_pb m;
    struct xp_pb_field g;
    int k;
    if (!r || f->wire != XP_PB_LEN)
        return f->wire == XP_PB_LEN ? 0 : BAD_RECORD;
    xp_pb_sub(&m, f);
    struct json_object *t;
    if (!json_object_object_get_ex(r->vendor, "telemetry", &t)) {
        t = json_object_new_object();
        vendor_set(r, "telemetry", t);
    }
    while ((k = xp_pb_next(&m, &g)) > 0) {
        for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
            if (g.num == keep[i].num && g.wire == XP_PB_LEN &&
                xp_utf8_valid((const char *)g.ptr, g.len) &&
                !memchr(g.ptr, 0, g.len))
                json_object_object_add(
                    t, keep[i].name,
                    json_object_new_string_len((const char *)g.ptr,
                                               (int)g.len));
        }
    }
    return k < 0 ? BAD_RECORD : 0;
}

/* RunRecord: later run records (updates) override what they set. With r
 * NULL only the metadata is decoded (listing). */
static int decode_run(struct wrun_meta *mt, struct wrun *r,
                      const struct xp_pb_field *f)
{
    struct xp_pb m;
    struct xp_pb_field g;
    int k, rc = 0, tags_reset = 0;
    if (f->wire != XP_PB_LEN)
        return BAD_RECORD;
    xp_pb_sub(&m, f);
    mt->has_run = 1;
    while ((k = xp_pb_next(&m, &g)) > 0 && !rc) {
        switch (g.num) {
        case 1: rc = dup_str(&mt->run_id, &g); break;
        case 2: rc = dup_str(&mt->entity, &g); break;
        case 3: rc = dup_str(&mt->project, &g); break;
        case 4:
            if (r && (r->resources & XP_RES_PARAMETERS))
                rc = apply_updates(r->config, &g);
            break;
        case 5:
            if (r && (r->resources & XP_RES_OTHERS))
                rc = apply_updates(r->summary, &g);
            break;
        case 6: rc = dup_str(&mt->group, &g); break;
        case 7: rc = dup_str(&mt->job_type, &g); break;
        case 8: rc = dup_str(&mt->display_name, &g); break;
        case 9: rc = dup_str(&mt->notes, &g); break;
        case 10: {
            char *t = NULL;
            if (!tags_reset) {
                for (size_t i = 0; i < mt->ntags; i++)
                    free(mt->tags[i]);
                mt->ntags = 0;
                tags_reset = 1;
            }
            if ((rc = dup_str(&t, &g)))
                break;
            mt->tags = xp_realloc(mt->tags, (mt->ntags + 1) * sizeof(char *));
            mt->tags[mt->ntags++] = t;
            break;
        }
        case 12: rc = dup_str(&mt->sweep_id, &g); break;
        case 13: rc = dup_str(&mt->host, &g); break;
        case 14: mt->starting_step = xp_pb_int64(&g); break;
        case 16: rc = dup_str(&mt->storage_id, &g); break;
        case 17:
            rc = get_timestamp(&g, &mt->start_sec, &mt->start_nanos);
            mt->has_start = 1;
            break;
        case 18: mt->resumed = g.u != 0; break;
        case 19: rc = decode_telemetry(r, &g); break;
        case 20: mt->runtime = (int32_t)g.u; break;
        case 21: {
            struct xp_pb gm;
            struct xp_pb_field h;
            int kk;
            if (g.wire != XP_PB_LEN) {
                rc = BAD_RECORD;
                break;
            }
            xp_pb_sub(&gm, &g);
            while ((kk = xp_pb_next(&gm, &h)) > 0 && !rc) {
                if (h.num == 1)
                    rc = dup_str(&mt->git_remote, &h);
                else if (h.num == 2)
                    rc = dup_str(&mt->git_commit, &h);
            }
            if (kk < 0)
                rc = BAD_RECORD;
            break;
        }
        case 22: mt->forked = g.u != 0; break;
        default: break;
        }
    }
    return rc ? rc : k < 0 ? BAD_RECORD : 0;
}

static int decode_exit(struct wrun_meta *mt, const struct xp_pb_field *f)
{
    struct xp_pb m;
    struct xp_pb_field g;
    int k;
    if (f->wire != XP_PB_LEN)
        return BAD_RECORD;
    xp_pb_sub(&m, f);
    mt->has_exit = 1;
    mt->exit_code = 0;
    mt->exit_runtime = 0;
    mt->not_complete = 0;
    while ((k = xp_pb_next(&m, &g)) > 0) {
        if (g.num == 1)
            mt->exit_code = (int32_t)g.u;
        else if (g.num == 2)
            mt->exit_runtime = (int32_t)g.u;
        else if (g.num == 3)
            mt->not_complete = g.u != 0;
    }
    return k < 0 ? BAD_RECORD : 0;
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

static void scratch_reset(struct scratch *s)
{
    for (size_t i = 0; i < s->nh; i++)
        json_object_put(s->hold[i]);
    for (size_t i = 0; i < s->nn; i++)
        json_object_put(s->nest[i].obj);
    s->nh = s->nn = s->ne = 0;
    xp_arena_reset(&s->arena);
}

static void scratch_release(struct scratch *s)
{
    scratch_reset(s);
    free(s->e);
    free(s->nest);
    free(s->hold);
    free(s->order);
    for (size_t i = 0; i < s->nkeys; i++)
        free(s->keys[i].name);
    free(s->keys);
    xp_arena_release(&s->arena);
    xp_buf_release(&s->enc);
}

static void hold(struct scratch *s, struct json_object *o)
{
    if (!o)
        return;
    if (s->nh == s->caph) {
        s->caph = s->caph ? s->caph * 2 : 16;
        s->hold = xp_realloc(s->hold, s->caph * sizeof(*s->hold));
    }
    s->hold[s->nh++] = o;
}

/* The row's entry for a series: the last value in a row wins. */
static struct row_entry *row_slot(struct wrun *r, struct scratch *s,
                                  size_t series)
{
    struct wrun_series *ser = &r->series[series];
    if (ser->last_row == r->nrows + 1) {
        for (size_t i = 0; i < s->ne; i++)
            if (s->e[i].series == series)
                return &s->e[i];
    }
    ser->last_row = r->nrows + 1;
    if (s->ne == s->cape) {
        s->cape = s->cape ? s->cape * 2 : 32;
        s->e = xp_realloc(s->e, s->cape * sizeof(*s->e));
    }
    s->e[s->ne].series = series;
    return &s->e[s->ne++];
}

static int wanted(const struct wrun *r, const char *name, size_t n)
{
    return !r->only_series ||
           (strlen(r->only_series) == n && !memcmp(r->only_series, name, n));
}

void wrow_special(struct xp_value fv[WPT_NKEYS], int has[WPT_NKEYS],
                  int which, const struct xp_value *v)
{
    int slot = which;
    if (which == WPT_STEP && v->type != XP_V_INT) {
        slot = WPT_RAW_STEP;
    } else if (which == WPT_TIMESTAMP) {
        if (v->type == XP_V_INT || v->type == XP_V_FLOAT) {
            fv[slot].type = XP_V_FLOAT;
            fv[slot].u.d = v->type == XP_V_INT ? (double)v->u.i : v->u.d;
            has[slot] = 1;
            return;
        }
        slot = WPT_RAW_TIMESTAMP;
    }
    fv[slot] = *v;
    has[slot] = 1;
}

int64_t wrun_row_end(struct wrun *r, struct xp_value fv[WPT_NKEYS],
                     int has[WPT_NKEYS], const int64_t *record_step)
{
    /* W&B rebuilds a missing _step from the record's step, else counts */
    if (!has[WPT_STEP]) {
        fv[WPT_STEP].type = XP_V_INT;
        fv[WPT_STEP].u.i = record_step ? *record_step : r->next_step;
        has[WPT_STEP] = 1;
    }
    /* in unsigned arithmetic: a _step of INT64_MAX is followed by
     * INT64_MIN, as it always was in practice, without overflowing */
    r->next_step = (int64_t)((uint64_t)fv[WPT_STEP].u.i + 1);
    r->nrows++;
    has[WPT_VALUE] = 1;
    return fv[WPT_STEP].u.i;
}

/* The metric series of the row's pos-th plain item, named name[0..n). */
static int row_series(struct wrun *r, struct scratch *s, size_t pos,
                      const char *name, size_t n, size_t *out)
{
    if (pos < s->norder) {
        const struct wrun_series *ser = &r->series[s->order[pos]];
        if (ser->len == n && !memcmp(ser->name, name, n)) {
            *out = s->order[pos];
            return 0;
        }
    }
    int rc = series_get(r, XP_SERIES_METRIC, name, n, out);
    if (rc)
        return rc;
    if (pos >= s->norder) {
        if (pos >= 4096)
            return 0; /* a bound on the cache, not on the row */
        s->order = xp_realloc(s->order, (pos + 1) * sizeof(*s->order));
        s->norder = pos + 1;
    }
    s->order[pos] = *out;
    return 0;
}

/* The end of a history row: its shared fields completed, then one point
 * for each of its series. */
static int put_row(struct wrun *r, struct scratch *s,
                   struct xp_value fv[WPT_NKEYS], int has[WPT_NKEYS],
                   const int64_t *record_step)
{
    wrun_row_end(r, fv, has, record_step);
    if (!s->ne)
        return 0;
    /* the shared fields once, in the rows stream; the points refer to
     * them (wpt_spool_ref), which spools a third of the bytes */
    int rc;
    if (!r->have_rows_stream) {
        if ((rc = xp_spool_add(r->spool, &r->rows_stream)))
            return rc;
        r->have_rows_stream = 1;
    }
    has[WPT_VALUE] = 0;
    xp_buf_reset(&s->enc);
    wpt_encode(&s->enc, fv, has);
    has[WPT_VALUE] = 1;
    if ((rc = xp_spool_put(r->spool, r->rows_stream, s->enc.ptr, s->enc.len)))
        return rc;
    uint64_t row = xp_spool_count(r->spool, r->rows_stream);
    for (size_t i = 0; i < s->ne; i++) {
        struct wrun_series *ser = &r->series[s->e[i].series];
        rc = wpt_spool_ref(r->spool, ser->stream, row - ser->last_ref,
                           &s->e[i].v);
        ser->last_ref = row;
        if (rc)
            return rc;
    }
    return 0;
}

/* HistoryRecord {repeated item = 1; HistoryStep step = 2}: one row. Each
 * top-level key is a series; items with a deeper nested_key (media, nested
 * dicts) are assembled into one JSON object per top-level key, the way
 * W&B's own row has them. */
static int decode_history(struct wrun *r, struct scratch *s,
                          const struct xp_pb_field *f)
{
    struct xp_pb m;
    struct xp_pb_field g;
    struct witem it;
    int k, rc = 0;
    struct xp_value fv[WPT_NKEYS];
    int has[WPT_NKEYS] = {0};
    int has_record_step = 0;
    int64_t record_step = 0;
    size_t nitem = 0;
    if (f->wire != XP_PB_LEN)
        return BAD_RECORD;
    xp_pb_sub(&m, f);
    memset(fv, 0, sizeof(fv));
    while ((k = xp_pb_next(&m, &g)) > 0 && !rc) {
        if (g.num == 2 && g.wire == XP_PB_LEN) {
            struct xp_pb sm;
            struct xp_pb_field h;
            int kk;
            has_record_step = 1;
            record_step = 0; /* proto3 leaves step 0 out */
            xp_pb_sub(&sm, &g);
            while ((kk = xp_pb_next(&sm, &h)) > 0)
                if (h.num == 1 && h.wire == XP_PB_VARINT)
                    record_step = xp_pb_int64(&h);
            if (kk < 0)
                rc = BAD_RECORD;
            continue;
        }
        if (g.num != 1)
            continue;
        if ((rc = get_item(&it, &g)))
            break;
        int special = witem_is(&it, "_step")        ? WPT_STEP
                      : witem_is(&it, "_timestamp") ? WPT_TIMESTAMP
                      : witem_is(&it, "_runtime")   ? WPT_RUNTIME
                                                   : -1;
        if (special < 0 && !wanted(r, it.path[0], it.plen[0]))
            continue;
        if (it.depth > 1) {
            size_t idx;
            if ((rc = series_get(r, XP_SERIES_METRIC, it.path[0], it.plen[0],
                                 &idx)))
                break;
            struct json_object *v;
            if ((rc = item_json(&v, &it)))
                break;
            size_t i;
            for (i = 0; i < s->nn; i++)
                if (s->nest[i].series == idx)
                    break;
            if (i == s->nn) {
                if (s->nn == s->capn) {
                    s->capn = s->capn ? s->capn * 2 : 8;
                    s->nest = xp_realloc(s->nest, s->capn * sizeof(*s->nest));
                }
                s->nest[i].series = idx;
                s->nest[i].obj = json_object_new_object();
                s->nn++;
            }
            json_set_path(s->nest[i].obj, &it, 1, v);
            continue;
        }
        if (!it.has_value) {
            rc = BAD_RECORD;
            break;
        }
        struct xp_value v;
        struct json_object *o;
        if (wval_parse(&v, it.value, it.vlen, &o, &s->arena)) {
            rc = BAD_RECORD;
            break;
        }
        hold(s, o);
        if (special >= 0) {
            wrow_special(fv, has, special, &v);
        } else {
            size_t idx;
            if ((rc = row_series(r, s, nitem++, it.path[0], it.plen[0],
                                 &idx)))
                break;
            row_slot(r, s, idx)->v = v;
        }
    }
    if (!rc && k < 0)
        rc = BAD_RECORD;
    if (rc)
        return rc;
    for (size_t i = 0; i < s->nn; i++) {
        struct xp_value v;
        if ((rc = xp_value_from_json(&v, s->nest[i].obj, &s->arena)))
            return rc;
        row_slot(r, s, s->nest[i].series)->v = v;
    }
    return put_row(r, s, fv, has, has_record_step ? &record_step : NULL);
}

/* A history row packed by the prefetch thread (wandb_rows.h): the same
 * steps as decode_history, in the same order, minus the protobuf and the
 * numbers it has parsed already. */
static int decode_row(struct wrun *r, struct scratch *s,
                      const struct wrow *row)
{
    struct xp_value fv[WPT_NKEYS];
    int has[WPT_NKEYS] = {0};
    const struct wrow_item *it = wrow_first(row);
    int rc;
    memset(fv, 0, sizeof(fv));
    for (uint32_t i = 0; i < row->nitems; i++, it = wrow_next(it)) {
        struct row_key *k = &s->keys[it->key];
        if (k->special < 0 && !k->wanted)
            continue;
        struct xp_value v;
        if (it->type == WROW_TEXT) {
            struct json_object *o;
            if (wval_parse(&v, wrow_item_text(it), (size_t)it->u.len, &o,
                           &s->arena))
                return BAD_RECORD;
            hold(s, o);
        } else {
            wrow_value(&v, it);
        }
        if (k->special >= 0) {
            wrow_special(fv, has, k->special, &v);
            continue;
        }
        if (k->series == WNAMES_NONE &&
            (rc = series_get(r, XP_SERIES_METRIC, k->name, k->len,
                             &k->series)))
            return rc;
        row_slot(r, s, k->series)->v = v;
    }
    return put_row(r, s, fv, has,
                   row->has_record_step ? &row->record_step : NULL);
}

/* The prefetch thread numbered a new key: its name, before its first row. */
static void row_key_add(struct wrun *r, struct scratch *s,
                        const struct wpre_entry *e)
{
    if (s->nkeys == s->capkeys) {
        s->capkeys = s->capkeys ? s->capkeys * 2 : 32;
        s->keys = xp_realloc(s->keys, s->capkeys * sizeof(*s->keys));
    }
    struct row_key *k = &s->keys[s->nkeys++];
    const char *name = (const char *)e->data;
    struct witem it = {.path = {name}, .plen = {e->len}, .depth = 1};
    k->name = xp_strndup(name, e->len);
    k->len = e->len;
    k->special = witem_is(&it, "_step")        ? WPT_STEP
                 : witem_is(&it, "_timestamp") ? WPT_TIMESTAMP
                 : witem_is(&it, "_runtime")   ? WPT_RUNTIME
                                               : -1;
    k->wanted = wanted(r, name, e->len);
    k->series = WNAMES_NONE;
}

/* StatsRecord {stats_type = 1; Timestamp timestamp = 2; repeated item = 3}:
 * one point in each stat's system series. */
static int decode_stats(struct wrun *r, struct scratch *s,
                        const struct xp_pb_field *f)
{
    struct xp_pb m;
    struct xp_pb_field g;
    int k, rc = 0;
    struct xp_value fv[WPT_NKEYS];
    int has[WPT_NKEYS] = {0};
    int64_t sec = 0;
    int32_t nanos = 0;
    int has_ts = 0;
    if (f->wire != XP_PB_LEN)
        return BAD_RECORD;
    memset(fv, 0, sizeof(fv));
    /* the timestamp may follow the items: find it first */
    xp_pb_sub(&m, f);
    while ((k = xp_pb_next(&m, &g)) > 0)
        if (g.num == 2) {
            if ((rc = get_timestamp(&g, &sec, &nanos)))
                return rc;
            has_ts = 1;
        }
    if (k < 0)
        return BAD_RECORD;
    if (has_ts) {
        fv[WPT_TIMESTAMP].type = XP_V_FLOAT;
        fv[WPT_TIMESTAMP].u.d = (double)sec + (double)nanos / 1e9;
        has[WPT_TIMESTAMP] = 1;
    }
    has[WPT_VALUE] = 1;
    xp_pb_sub(&m, f);
    while ((k = xp_pb_next(&m, &g)) > 0 && !rc) {
        if (g.num != 3)
            continue;
        struct witem it;
        if ((rc = get_item(&it, &g)))
            break;
        if (it.depth != 1 || !it.has_value) {
            rc = BAD_RECORD;
            break;
        }
        if (!wanted(r, it.path[0], it.plen[0]))
            continue;
        struct json_object *o;
        if (wval_parse(&fv[WPT_VALUE], it.value, it.vlen, &o, &s->arena)) {
            rc = BAD_RECORD;
            break;
        }
        hold(s, o);
        size_t idx;
        if ((rc = series_get(r, XP_SERIES_SYSTEM, it.path[0], it.plen[0],
                             &idx)))
            break;
        xp_buf_reset(&s->enc);
        wpt_encode(&s->enc, fv, has);
        rc = xp_spool_put(r->spool, r->series[idx].stream, s->enc.ptr,
                          s->enc.len);
    }
    if (!rc && k < 0)
        rc = BAD_RECORD;
    return rc;
}

/* OutputRecord / OutputRawRecord {output_type = 1 (STDERR 0, STDOUT 1);
 * Timestamp timestamp = 2; string line = 3}: one log entry per line. */
static int decode_output(struct wrun *r, struct scratch *s,
                         const struct xp_pb_field *f)
{
    struct xp_pb m;
    struct xp_pb_field g;
    int k, rc;
    struct wlog_line l;
    const unsigned char *text = NULL;
    size_t len = 0;
    memset(&l, 0, sizeof(l));
    if (f->wire != XP_PB_LEN)
        return BAD_RECORD;
    xp_pb_sub(&m, f);
    while ((k = xp_pb_next(&m, &g)) > 0) {
        if (g.num == 1 && g.wire == XP_PB_VARINT) {
            l.stream = g.u == 1;
        } else if (g.num == 2) {
            if ((rc = get_timestamp(&g, &l.sec, &l.nanos)))
                return rc;
            l.has_ts = 1;
        } else if (g.num == 3 && g.wire == XP_PB_LEN) {
            text = g.ptr;
            len = g.len;
        }
    }
    if (k < 0 || (text && !xp_utf8_valid((const char *)text, len)))
        return BAD_RECORD;
    if (!len)
        return 0;
    if (!r->have_log_stream) {
        if ((rc = xp_spool_add(r->spool, &r->log_stream)))
            return rc;
        r->have_log_stream = 1;
    }
    /* a record may hold several lines, or a part of one (no '\n') */
    size_t i = 0;
    do {
        const unsigned char *nl = len > i ? memchr(text + i, '\n', len - i)
                                          : NULL;
        size_t end = nl ? (size_t)(nl - text) : len;
        if (!nl && end == i && i > 0)
            break; /* nothing after the last newline */
        l.text = (const char *)text + i;
        l.len = end - i;
        l.newline = nl != NULL;
        xp_buf_reset(&s->enc);
        wline_encode(&s->enc, &l);
        if ((rc = xp_spool_put(r->spool, r->log_stream, s->enc.ptr,
                               s->enc.len)))
            return rc;
        r->nlogs++;
        i = end + 1;
    } while (i < len);
    return 0;
}

/* FilesRecord {repeated FilesItem files = 1}: FilesItem {path = 1;
 * policy = 2; type = 3}, kept for the vendor record. */
static int decode_files(struct wrun *r, const struct xp_pb_field *f)
{
    static const char *const policy[] = {"now", "end", "live"};
    static const char *const type[] = {"other", "wandb", "media", "artifact"};
    struct xp_pb m, im;
    struct xp_pb_field g, h;
    int k, kk;
    if (f->wire != XP_PB_LEN)
        return BAD_RECORD;
    xp_pb_sub(&m, f);
    while ((k = xp_pb_next(&m, &g)) > 0) {
        if (g.num != 1 || g.wire != XP_PB_LEN)
            continue;
        char *path = NULL;
        uint64_t pol = 0, ty = 0;
        xp_pb_sub(&im, &g);
        while ((kk = xp_pb_next(&im, &h)) > 0) {
            if (h.num == 1 && dup_str(&path, &h)) {
                free(path);
                return BAD_RECORD;
            }
            if (h.num == 2)
                pol = h.u;
            if (h.num == 3)
                ty = h.u;
        }
        if (kk < 0 || !path) {
            free(path);
            return BAD_RECORD;
        }
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "path", json_object_new_string(path));
        json_object_object_add(
            o, "policy",
            pol < 3 ? json_object_new_string(policy[pol])
                    : json_object_new_int64((int64_t)pol));
        json_object_object_add(o, "type",
                               ty < 4 ? json_object_new_string(type[ty])
                                      : json_object_new_int64((int64_t)ty));
        json_object_array_add(vendor_list(r, "files"), o);
        free(path);
    }
    return k < 0 ? BAD_RECORD : 0;
}

/* ArtifactRecord: name (5), type (4) and digest (6) say what was logged. */
static int decode_artifact(struct wrun *r, const struct xp_pb_field *f)
{
    struct xp_pb m;
    struct xp_pb_field g;
    int k, rc = 0;
    char *name = NULL, *type = NULL, *digest = NULL;
    if (f->wire != XP_PB_LEN)
        return BAD_RECORD;
    xp_pb_sub(&m, f);
    while ((k = xp_pb_next(&m, &g)) > 0 && !rc) {
        if (g.num == 4)
            rc = dup_str(&type, &g);
        else if (g.num == 5)
            rc = dup_str(&name, &g);
        else if (g.num == 6)
            rc = dup_str(&digest, &g);
    }
    if (!rc && k < 0)
        rc = BAD_RECORD;
    if (!rc) {
        struct json_object *o = json_object_new_object();
        if (name)
            json_object_object_add(o, "name", json_object_new_string(name));
        if (type)
            json_object_object_add(o, "type", json_object_new_string(type));
        if (digest)
            json_object_object_add(o, "digest",
                                   json_object_new_string(digest));
        json_object_array_add(vendor_list(r, "artifacts"), o);
    }
    free(name);
    free(type);
    free(digest);
    return rc;
}

static int decode_header(struct wrun *r, const struct xp_pb_field *f)
{
    struct xp_pb m, vm;
    struct xp_pb_field g, h;
    int k, kk;
    if (f->wire != XP_PB_LEN)
        return BAD_RECORD;
    xp_pb_sub(&m, f);
    while ((k = xp_pb_next(&m, &g)) > 0) {
        if (g.num != 1 || g.wire != XP_PB_LEN)
            continue;
        xp_pb_sub(&vm, &g);
        while ((kk = xp_pb_next(&vm, &h)) > 0) {
            char *s = NULL;
            if ((h.num == 1 || h.num == 2) && !dup_str(&s, &h))
                vendor_set(r, h.num == 1 ? "producer" : "min_consumer",
                           json_object_new_string(s));
            free(s);
        }
        if (kk < 0)
            return BAD_RECORD;
    }
    return k < 0 ? BAD_RECORD : 0;
}

/* One Record message. Unknown record types are skipped. (The prefetch
 * thread packs history records whose other fields are ones this ignores,
 * ignored_field in wandb_rows.c: keep the two in step.) */
static int decode_record(struct wrun *r, struct scratch *s,
                         const unsigned char *data, size_t len)
{
    struct xp_pb m;
    struct xp_pb_field f;
    int k, rc = 0;
    xp_pb_init(&m, data, len);
    while ((k = xp_pb_next(&m, &f)) > 0 && !rc) {
        unsigned res = r->resources;
        switch (f.num) {
        case REC_RUN: rc = decode_run(&r->m, r, &f); break;
        case REC_EXIT: rc = decode_exit(&r->m, &f); break;
        case REC_HISTORY:
            if (res & XP_RES_METRICS)
                rc = decode_history(r, s, &f);
            break;
        case REC_STATS:
            if (res & XP_RES_SYSTEM)
                rc = decode_stats(r, s, &f);
            break;
        case REC_CONFIG:
            if (res & XP_RES_PARAMETERS)
                rc = apply_updates(r->config, &f);
            break;
        case REC_SUMMARY:
            if (res & XP_RES_OTHERS)
                rc = apply_updates(r->summary, &f);
            break;
        case REC_OUTPUT:
        case REC_OUTPUT_RAW:
            if ((res & XP_RES_LOGS) && !r->only_series)
                rc = decode_output(r, s, &f);
            break;
        case REC_FILES: rc = decode_files(r, &f); break;
        case REC_ARTIFACT: rc = decode_artifact(r, &f); break;
        case REC_TELEMETRY: rc = decode_telemetry(r, &f); break;
        case REC_HEADER: rc = decode_header(r, &f); break;
        case REC_FINAL:
            vendor_set(r, "final", json_object_new_boolean(1));
            break;
        default: break;
        }
        scratch_reset(s);
    }
    if (!rc && k < 0)
        rc = BAD_RECORD;
    return rc;
}

/* ---- scanning ---------------------------------------------------------- */

static void meta_release(struct wrun_meta *m)
{
    char **strs[] = {&m->run_id,   &m->entity,   &m->project,
                     &m->display_name, &m->notes, &m->group,
                     &m->job_type, &m->sweep_id, &m->host,
                     &m->storage_id, &m->git_remote, &m->git_commit};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        free(*strs[i]);
    for (size_t i = 0; i < m->ntags; i++)
        free(m->tags[i]);
    free(m->tags);
    memset(m, 0, sizeof(*m));
}

void wrun_meta_release(struct wrun_meta *m)
{
    meta_release(m);
}

void wrun_release(struct wrun *r)
{
    meta_release(&r->m);
    json_object_put(r->config);
    json_object_put(r->summary);
    json_object_put(r->vendor);
    xp_spool_free(r->spool);
    for (size_t i = 0; i < r->nseries; i++)
        free(r->series[i].name);
    free(r->series);
    map_free(r->metric_map);
    map_free(r->system_map);
    free(r->path);
    free(r->lost);
    memset(r, 0, sizeof(*r));
}

int wrun_init(struct wrun *r, const char *path, unsigned resources,
              const char *only_series, const struct xp_ctx *ctx)
{
    memset(r, 0, sizeof(*r));
    r->ctx = ctx;
    r->path = xp_strdup(path);
    r->resources = resources;
    r->only_series = only_series;
    r->config = json_object_new_object();
    r->summary = json_object_new_object();
    r->vendor = json_object_new_object();
    r->metric_map = map_new();
    r->system_map = map_new();
    return xp_spool_new(&r->spool, 0);
}

int wrun_series_get(struct wrun *r, enum xp_series_kind kind,
                    const char *name, size_t n, size_t *out)
{
    return series_get(r, kind, name, n, out);
}

int wrun_scan(struct wrun *r, const char *path, unsigned resources,
              const char *only_series, const struct xp_ctx *ctx)
{
    int rc = wrun_init(r, path, resources, only_series, ctx);
    if (rc)
        return rc;

    struct wlog l;
    rc = wlog_open(&l, path, ctx);
    if (rc) {
        wlog_close(&l);
        return rc;
    }
    r->version = l.version;
    r->old_layout = l.base != 0;

    struct scratch s;
    memset(&s, 0, sizeof(s));
    xp_buf_init(&s.enc);
    size_t nbad = 0;
    struct xp_buf bad = XP_BUF_INIT;
    struct wpre *pre = NULL;
    struct wpre_entry e;
    /* history is packed on the prefetch thread only when it is read;
     * XPORT_WANDB_NO_PACK=1 leaves it all to the decoder, to compare */
    rc = wpre_start(&pre, &l, (resources & XP_RES_METRICS) &&
                                  !getenv("XPORT_WANDB_NO_PACK"));
    while (!rc && (rc = wpre_next(pre, &e)) == 0) {
        if (e.kind == WPRE_KEY) {
            row_key_add(r, &s, &e);
            continue;
        }
        if (xp_ctx_cancelled(ctx)) {
            rc = xp_error_set(XP_ECANCEL, "interrupted");
            break;
        }
        r->nrecords++;
        rc = e.kind == WPRE_ROW
                 ? decode_row(r, &s, (const struct wrow *)(const void *)e.data)
                 : decode_record(r, &s, e.data, e.len);
        scratch_reset(&s);
        if (rc == BAD_RECORD) {
            /* it passed the checksum but is not a record we can read */
            xp_ctx_warn(ctx, "'%s': undecodable record at offset %" PRId64,
                        path, e.off);
            if (nbad < 8)
                xp_buf_printf(&bad, "%s%" PRId64, nbad ? ", " : "",
                              e.off);
            nbad++;
            rc = 0;
        } else if (rc) {
            break;
        }
    }
    wpre_stop(pre); /* l's damage fields are ours again */
    scratch_release(&s);
    if (rc == XP_ITEROVER)
        rc = 0;
    if (!rc && (l.nlost || nbad)) {
        struct xp_buf msg = XP_BUF_INIT;
        if (l.nlost) {
            xp_buf_puts(&msg, "lost bytes ");
            wlog_lost_str(&l, &msg, 8);
        }
        if (nbad)
            xp_buf_printf(&msg, "%sundecodable record%s at offset%s %s%s",
                          l.nlost ? "; " : "", nbad > 1 ? "s" : "",
                          nbad > 1 ? "s" : "", bad.ptr,
                          nbad > 8 ? " and more" : "");
        r->nlost = l.nlost + nbad;
        r->lost = xp_buf_detach(&msg);
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; i < l.nlost; i++) {
            struct json_object *p = json_object_new_array();
            json_object_array_add(p, json_object_new_int64(l.lost[i].start));
            json_object_array_add(p, json_object_new_int64(l.lost[i].end));
            json_object_array_add(a, p);
        }
        vendor_set(r, "lost_byte_ranges", a);
        if (nbad)
            vendor_set(r, "undecodable_records",
                       json_object_new_int64((int64_t)nbad));
    }
    xp_buf_release(&bad);
    wlog_close(&l);
    return rc;
}

int wrun_peek(struct wrun_meta *m, const char *path)
{
    memset(m, 0, sizeof(*m));
    struct wlog l;
    int rc = wlog_open(&l, path, NULL);
    if (rc) {
        wlog_close(&l);
        return rc;
    }
    const unsigned char *data;
    size_t len;
    /* the run record comes first (after a header); look a little further
     * in case a writer put telemetry or output before it */
    for (int n = 0; n < 64 && !m->has_run; n++) {
        rc = wlog_next(&l, &data, &len);
        if (rc == XP_ITEROVER) {
            rc = 0;
            break;
        }
        if (rc)
            break;
        struct xp_pb pm;
        struct xp_pb_field f;
        xp_pb_init(&pm, data, len);
        while (xp_pb_next(&pm, &f) > 0) {
            if (f.num == REC_RUN) {
                if (decode_run(m, NULL, &f))
                    meta_release(m); /* unreadable: fall back to defaults */
                break;
            }
        }
    }
    wlog_close(&l);
    return rc;
}
