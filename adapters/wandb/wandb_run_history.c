/* The .wandb decoder's series (wandb_decode.h): history rows (as records or
 * packed by the prefetch thread), system metrics and console records
 * spooled point by point, and the map from names to series; the per-point
 * path, kept in one file. */
#include <inttypes.h>

#include "xport/spool.h"
#include "wandb_names.h"
#include "wandb_rows.h"
#include "wandb_decode.h"

/* ---- name -> series map --------------------------------------------- */

/* ---- name -> series map --------------------------------------------- */

struct wrun_map {
    struct wnames names;
    size_t *series; /* by name id */
};

struct wrun_map *wdec_map_new(void)
{
    struct wrun_map *m = xp_calloc(1, sizeof(*m));
    wnames_init(&m->names);
    return m;
}

void wdec_map_free(struct wrun_map *m)
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

int wrun_series_get(struct wrun *r, enum xp_series_kind kind,
                    const char *name, size_t n, size_t *out)
{
    return series_get(r, kind, name, n, out);
}

void wdec_scratch_release(struct scratch *s)
{
    wdec_scratch_reset(s);
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
int wdec_history(struct wrun *r, struct scratch *s,
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
        if ((rc = wdec_item(&it, &g)))
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
            if ((rc = wdec_item_json(&v, &it)))
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
            wdec_set_path(s->nest[i].obj, &it, 1, v);
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
 * steps as wdec_history, in the same order, minus the protobuf and the
 * numbers it has parsed already. */
int wdec_row(struct wrun *r, struct scratch *s,
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
void wdec_row_key_add(struct wrun *r, struct scratch *s,
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
int wdec_stats(struct wrun *r, struct scratch *s,
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
            if ((rc = wdec_timestamp(&g, &sec, &nanos)))
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
        if ((rc = wdec_item(&it, &g)))
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
int wdec_output(struct wrun *r, struct scratch *s,
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
            if ((rc = wdec_timestamp(&g, &l.sec, &l.nanos)))
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
