/* Joining split series back (wandb_merge.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/json.h"
#include "xport/sys/adapter.h"
#include "wandb_merge.h"

void wmerge_init(struct wmerge *m)
{
    memset(m, 0, sizeof(*m));
    xp_buf_init(&m->enc);
}

void wmerge_release(struct wmerge *m)
{
    if (m->iter_open)
        xp_spool_iter_close(&m->it);
    for (size_t i = 0; i < m->n; i++) {
        wsplit_release(&m->v[i]);
        xp_buf_release(&m->s[i].fields);
    }
    free(m->v);
    free(m->s);
    json_object_put(m->keys[0]);
    json_object_put(m->keys[1]);
    json_object_put(m->plain);
    free(m->touched);
    xp_buf_release(&m->enc);
    wbatch_release(&m->batch);
    xp_arena_release(&m->arena);
    memset(m, 0, sizeof(*m));
}

/* key -> series i, field f (0: the value, else field f - 1) */
static void claim(struct wmerge *m, struct json_object *map, const char *key,
                  size_t i, size_t f, const char *what,
                  const struct xp_ctx *ctx)
{
    struct json_object *had;
    if (json_object_object_get_ex(map, key, &had)) {
        xp_ctx_warn(ctx, "%s gives W&B key '%s' twice; it stays with series "
                         "'%s'",
                    what, key,
                    m->v[(uint64_t)json_object_get_int64(had) >> 32].name);
        return;
    }
    json_object_object_add(map, key,
                           json_object_new_int64((int64_t)(i << 32 | f)));
}

int wmerge_load(struct wmerge *m, const char *path, const char *what,
                const struct xp_ctx *ctx)
{
    struct wsplit *v;
    size_t n;
    int rc = wsplit_file_read(&v, &n, path, what);
    if (rc)
        return rc;
    wmerge_release(m);
    wmerge_init(m);
    m->v = v;
    m->n = n;
    m->s = xp_calloc(n + 1, sizeof(*m->s));
    m->touched = xp_calloc(n + 1, sizeof(*m->touched));
    m->keys[0] = json_object_new_object();
    m->keys[1] = json_object_new_object();
    struct xp_buf key = XP_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        struct json_object *map = m->keys[v[i].kind == XP_SERIES_SYSTEM];
        xp_buf_init(&m->s[i].fields);
        if (!v[i].nfields) {
            /* listed for its steps only: its key stays a series of its own */
            if (v[i].kind == XP_SERIES_METRIC) {
                if (!m->plain)
                    m->plain = json_object_new_object();
                json_object_object_add(m->plain, v[i].name,
                                       json_object_new_int64((int64_t)i));
            }
            continue;
        }
        claim(m, map, v[i].name, i, 0, what, ctx);
        for (size_t f = 0; f < v[i].nfields; f++) {
            xp_buf_reset(&key);
            wsplit_key(&key, v[i].name, v[i].fields[f]);
            claim(m, map, key.ptr, i, f + 1, what, ctx);
        }
    }
    xp_buf_release(&key);
    return 0;
}

int wmerge_take(struct wmerge *m, enum xp_series_kind kind, const char *key,
                const struct xp_value *v, const char *only_series)
{
    struct json_object *at;
    if (!m->n ||
        !json_object_object_get_ex(m->keys[kind == XP_SERIES_SYSTEM], key,
                                   &at))
        return 0;
    uint64_t x = (uint64_t)json_object_get_int64(at);
    size_t i = (size_t)(x >> 32), f = (size_t)(x & 0xffffffffu);
    if (only_series && strcmp(only_series, m->v[i].name))
        return 1;
    struct wmerge_one *s = &m->s[i];
    if (!s->touched) {
        s->touched = 1;
        s->has_value = 0;
        xp_buf_reset(&s->fields);
        m->touched[m->ntouched++] = i;
    }
    if (f == 0) {
        /* a null where no point had a value only keeps a point */
        if (m->v[i].has_value || v->type != XP_V_NULL) {
            s->value = *v;
            s->has_value = 1;
        }
    } else {
        wsplit_put(&s->fields, f - 1, v);
    }
    return 1;
}

/* A whole decimal step that W&B history holds as an integer, back as the
 * decimal it was (the map's "float_steps"; the writer checks that every
 * such integer is exact as a double). */
static void to_float_step(const struct wsplit *w, struct xp_value *step)
{
    if (w->float_steps && step->type == XP_V_INT) {
        double d = (double)step->u.i;
        step->type = XP_V_FLOAT;
        step->u.d = d;
    }
}

/* A joined point: the length of its shared part, the shared part (value,
 * step, timestamp, runtime, as wpt_encode puts them), then its fields. */
int wmerge_row_end(struct wmerge *m, struct xp_spool *spool,
                   const struct xp_value fv[WPT_NKEYS],
                   const int has[WPT_NKEYS])
{
    int rc = 0;
    for (size_t t = 0; t < m->ntouched && !rc; t++) {
        struct wmerge_one *s = &m->s[m->touched[t]];
        struct xp_value row[WPT_NKEYS];
        int rhas[WPT_NKEYS];
        memcpy(row, fv, sizeof(row));
        memcpy(rhas, has, sizeof(rhas));
        row[WPT_VALUE] = s->value;
        rhas[WPT_VALUE] = s->has_value;
        if (rhas[WPT_STEP] &&
            wsteps_made_up(&m->v[m->touched[t]].steps, &row[WPT_STEP]))
            rhas[WPT_STEP] = 0;
        if (rhas[WPT_STEP])
            to_float_step(&m->v[m->touched[t]], &row[WPT_STEP]);
        xp_buf_reset(&m->enc);
        uint32_t len = 0;
        xp_buf_put(&m->enc, &len, sizeof(len));
        wpt_encode(&m->enc, row, rhas);
        len = (uint32_t)(m->enc.len - sizeof(len));
        memcpy(m->enc.ptr, &len, sizeof(len));
        xp_buf_put(&m->enc, s->fields.ptr, s->fields.len);
        if (!s->have_stream) {
            if ((rc = xp_spool_add(spool, &s->stream)))
                break;
            s->have_stream = 1;
        }
        rc = xp_spool_put(spool, s->stream, m->enc.ptr, m->enc.len);
    }
    for (size_t t = 0; t < m->ntouched; t++)
        m->s[m->touched[t]].touched = 0;
    m->ntouched = 0;
    return rc;
}

int wmerge_stepless(const struct wmerge *m, const char *name,
                    const struct xp_value *step)
{
    struct json_object *at;
    if (!m->plain || !json_object_object_get_ex(m->plain, name, &at))
        return 0;
    return wsteps_made_up(&m->v[json_object_get_int64(at)].steps, step);
}

void wmerge_step_type(const struct wmerge *m, const char *name, struct xp_value *step)
{
    struct json_object *at;
    if (m->plain && json_object_object_get_ex(m->plain, name, &at))
        to_float_step(&m->v[json_object_get_int64(at)], step);
}

/* ---- emission --------------------------------------------------------------- */

/* Decode one joined point of series w into the batch's fields from used on:
 * the value,
 * the fields in the row's order, then step, timestamp and runtime. */
static int decode(struct wmerge *m, const struct wsplit *w, const void *data,
                  size_t len, size_t used, size_t *nf)
{
    const unsigned char *p = data, *end = p + len;
    uint32_t wlen;
    struct xp_point pt;
    struct xp_field shared[WPT_NKEYS];
    if (len < sizeof(wlen))
        goto bad;
    memcpy(&wlen, p, sizeof(wlen));
    p += sizeof(wlen);
    if (wlen > (size_t)(end - p))
        goto bad;
    int rc = wpt_decode(&pt, shared, p, wlen, &m->arena);
    if (rc)
        return rc;
    p += wlen;
    wbatch_room(&m->batch, used, pt.nfields + 1);
    size_t k = 0, first = 0;
    if (pt.nfields && !strcmp(shared[0].key, "value")) {
        m->batch.fields[used + k++] = shared[0];
        first = 1;
    }
    for (;;) {
        size_t idx;
        struct xp_value v;
        rc = wsplit_get(&p, end, &idx, &v, &m->arena);
        if (rc < 0)
            return rc;
        if (!rc)
            break;
        if (idx >= w->nfields)
            goto bad;
        wbatch_room(&m->batch, used + k, pt.nfields + 1);
        m->batch.fields[used + k].key = w->fields[idx];
        m->batch.fields[used + k++].v = v;
    }
    for (size_t i = first; i < pt.nfields; i++)
        m->batch.fields[used + k++] = shared[i];
    *nf = k;
    return 0;
bad:
    return xp_error_set(XP_EIO, "damaged point in the spool");
}

static int emit_points(struct wmerge *m, struct xp_record *rec)
{
    const struct wsplit *w = &m->v[m->next - 1];
    xp_arena_reset(&m->arena);
    size_t np = 0, used = 0;
    while (np < XP_POINTS_BATCH) {
        const void *data;
        size_t len, nf;
        int rc = xp_spool_iter_next(&m->it, &data, &len);
        if (rc == XP_ITEROVER)
            break;
        if (rc || (rc = decode(m, w, data, len, used, &nf)))
            return rc;
        struct xp_point *p = &m->batch.pts[np];
        memset(p, 0, sizeof(*p));
        p->index = m->index++;
        m->batch.nf[np++] = nf;
        used += nf;
    }
    memset(rec, 0, sizeof(*rec));
    if (!np) {
        xp_spool_iter_close(&m->it);
        m->iter_open = 0;
        rec->kind = XP_REC_SERIES_END;
        return 1;
    }
    wbatch_finish(&m->batch, np);
    rec->kind = XP_REC_POINTS;
    rec->u.points.v = m->batch.pts;
    rec->u.points.n = np;
    return 1;
}

int wmerge_next(struct wmerge *m, struct xp_spool *spool,
                struct xp_record *rec)
{
    if (m->iter_open)
        return emit_points(m, rec);
    while (m->next < m->n) {
        size_t i = m->next++;
        const struct wmerge_one *s = &m->s[i];
        if (!s->have_stream || !xp_spool_count(spool, s->stream))
            continue;
        int rc = xp_spool_iter_open(&m->it, spool, s->stream);
        if (rc)
            return rc;
        m->iter_open = 1;
        m->index = 0;
        if (!m->batch.pts)
            wbatch_init(&m->batch);
        memset(rec, 0, sizeof(*rec));
        rec->kind = XP_REC_SERIES_BEGIN;
        rec->u.series.name = m->v[i].name;
        rec->u.series.kind = m->v[i].kind;
        rec->u.series.expected_points =
            (int64_t)xp_spool_count(spool, s->stream);
        return 1;
    }
    return 0;
}
