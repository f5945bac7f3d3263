/* mldash-local's series: a metric or track written as data.jsonl lines as
 * its points arrive, and its metadata.json as the SDK writes it. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mldash_local.h"
#include "xport/error.h"
#include "xport/lines.h"

void mlocal_series_clear(struct lseries *o)
{
    free(o->dir);
    free(o->name);
    free(o->description);
    free(o->created_at);
    free(o->updated_at);
    json_object_put(o->metadata);
    json_object_put(o->columns);
    json_object_put(o->min_v);
    json_object_put(o->max_v);
    memset(o, 0, sizeof(*o));
}

int mlocal_begin_series(struct lsink *s, const struct xp_series_meta *m,
                        const char *created_at, const char *updated_at)
{
    if (m->kind == XP_SERIES_SYSTEM) {
        /* ml-dash has no system metrics; as metrics they would come back as
         * something else */
        xp_sink_drop(&s->base, s->ml->base.ctx, "%s: system series '%s' not written: an ml-dash "
                    "store has no system metrics", s->name, m->name);
        s->in_series = -1;
        return 0;
    }
    struct xp_buf rel = XP_BUF_INIT;
    int rc;
    if (m->kind == XP_SERIES_TRACK) {
        /* ml-dash names a track's folder by its topic with '/' as '_' */
        char *t = xp_strdup(m->name);
        for (char *p = t; *p; p++)
            if (*p == '/')
                *p = '_';
        xp_buf_puts(&rel, "tracks");
        rc = mlocal_put_segment(&rel, t, "track");
        free(t);
    } else {
        xp_buf_puts(&rel, "metrics");
        rc = mlocal_put_metric_path(&rel, m->name);
    }
    if (!rc && json_object_object_get_ex(s->seen, rel.ptr, NULL))
        rc = xp_error_set(XP_EINVALID, "series '%s' appears twice (as '%s')", m->name,
                          rel.ptr);
    char *dir = rc ? NULL : xp_path_join(s->stage.dir, rel.ptr);
    if (!rc)
        rc = xp_afile_open_in(&s->ser.data, dir, "data.jsonl");
    free(dir);
    if (rc) {
        xp_buf_release(&rel);
        return rc;
    }
    json_object_object_add(s->seen, rel.ptr, NULL);
    s->ser.dir = xp_buf_detach(&rel);
    s->ser.name = xp_strdup(m->name);
    s->ser.kind = m->kind;
    s->ser.description = m->description ? xp_strdup(m->description) : NULL;
    s->ser.created_at = created_at ? xp_strdup(created_at) : NULL;
    s->ser.updated_at = updated_at ? xp_strdup(updated_at) : NULL;
    s->ser.metadata = m->metadata ? json_object_get(m->metadata) : NULL;
    s->ser.columns = m->kind == XP_SERIES_TRACK ? json_object_new_object() : NULL;
    s->in_series = 1;
    return 0;
}

static int put_fields(struct xp_buf *b, const struct xp_point *p, const char *series)
{
    int rc = xp_pointline_put_fields(b, p);
    return rc ? xp_error_wrap(rc, "series '%s' point %" PRId64, series, p->index) : 0;
}

/* A track's first and last timestamp are its smallest and largest, as
 * the SDK keeps them (its rows need not come sorted), in the JSON type the
 * source used. */
static void track_time(struct lseries *o, const struct xp_value *v)
{
    double t;
    if (v->type == XP_V_FLOAT && !isnan(v->u.d))
        t = v->u.d;
    else if (v->type == XP_V_INT)
        t = (double)v->u.i;
    else
        return;
    int lo = !o->has_ts || t < o->min_ts, hi = !o->has_ts || t > o->max_ts;
    o->has_ts = 1;
    if (!lo && !hi)
        return;
    struct json_object *j = v->type == XP_V_INT ? json_object_new_int64(v->u.i)
                                                : json_object_new_double(v->u.d);
    if (lo) {
        o->min_ts = t;
        json_object_put(o->min_v);
        o->min_v = json_object_get(j);
    }
    if (hi) {
        o->max_ts = t;
        json_object_put(o->max_v);
        o->max_v = json_object_get(j);
    }
    json_object_put(j);
}

int mlocal_put_points(struct lsink *s, const struct xp_point *v, size_t n)
{
    if (s->in_series < 0)
        return 0;
    struct lseries *o = &s->ser;
    if (o->kind != XP_SERIES_TRACK) /* the SDK's lines always have createdAt */
        return xp_pointlines_write(&o->data, &s->line, v, n, o->name, s->now,
                                   &o->npoints, &o->next_index);
    struct xp_buf *b = &s->line;
    for (size_t i = 0; i < n; i++) {
        const struct xp_point *p = &v[i];
        xp_buf_putc(b, '{');
        int rc = put_fields(b, p, o->name);
        if (rc)
            return rc;
        xp_buf_puts(b, "}\n");
        for (size_t f = 0; f < p->nfields; f++) {
            const struct xp_field *fl = &p->fields[f];
            if (!strcmp(fl->key, "timestamp"))
                track_time(o, &fl->v);
            else if (!json_object_object_get_ex(o->columns, fl->key, NULL))
                json_object_object_add(o->columns, fl->key, NULL);
        }
        o->npoints++;
        if (p->index + 1 > o->next_index)
            o->next_index = p->index + 1;
        if (b->len >= (1u << 16))
            xp_afile_buf(&o->data, b);
    }
    xp_afile_buf(&o->data, b);
    return o->data.err;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The SDK lists a track's columns sorted. */
static struct json_object *sorted_keys(struct json_object *set)
{
    size_t n = (size_t)json_object_object_length(set), i = 0;
    const char **v = xp_calloc(n ? n : 1, sizeof(*v));
    json_object_object_foreach(set, k, val) {
        (void)val;
        v[i++] = k;
    }
    qsort(v, n, sizeof(*v), cmp_str);
    struct json_object *a = json_object_new_array();
    for (i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
    free(v);
    return a;
}

int mlocal_end_series(struct lsink *s)
{
    if (s->in_series < 0) {
        s->in_series = 0;
        return 0;
    }
    struct lseries *o = &s->ser;
    int rc = xp_afile_commit(&o->data);
    struct json_object *md = json_object_new_object();
    struct xp_buf id = XP_BUF_INIT;
    /* the ids the SDK makes: from the real name (the topic with '/' as
     * '_'), not from the folder */
    if (o->kind == XP_SERIES_TRACK) {
        xp_buf_printf(&id, "local-track-%s", o->name);
        for (char *p = id.ptr; *p; p++)
            if (*p == '/')
                *p = '_';
        json_object_object_add(md, "trackId", json_object_new_string(id.ptr));
        json_object_object_add(md, "topic", json_object_new_string(o->name));
        json_object_object_add(md, "columns", sorted_keys(o->columns));
        json_object_object_add(md, "totalEntries", json_object_new_int64(o->npoints));
        json_object_object_add(md, "firstTimestamp", json_object_get(o->min_v));
        json_object_object_add(md, "lastTimestamp", json_object_get(o->max_v));
        json_object_object_add(md, "createdAt", mlocal_time_or_now(s, o->created_at));
    } else {
        xp_buf_printf(&id, "local-metric-%s", o->name);
        json_object_object_add(md, "metricId", json_object_new_string(id.ptr));
        json_object_object_add(md, "name", json_object_new_string(o->name));
        json_object_object_add(md, "description", mlocal_str_or_null(o->description));
        json_object_object_add(md, "tags", json_object_new_array());
        json_object_object_add(md, "metadata",
                               o->metadata ? json_object_get(o->metadata) : NULL);
        json_object_object_add(md, "totalDataPoints", json_object_new_int64(o->npoints));
        json_object_object_add(md, "nextIndex", json_object_new_int64(o->next_index));
        json_object_object_add(md, "createdAt", mlocal_time_or_now(s, o->created_at));
        json_object_object_add(md, "updatedAt",
                               mlocal_time_or_now(s, o->updated_at ? o->updated_at
                                                                   : o->created_at));
    }
    xp_buf_release(&id);
    if (!rc) {
        struct xp_buf p = XP_BUF_INIT;
        xp_buf_printf(&p, "%s/metadata.json", o->dir);
        rc = mlocal_stage_json(s, p.ptr, md);
        xp_buf_release(&p);
    }
    json_object_put(md);
    mlocal_series_clear(o);
    s->in_series = 0;
    return rc;
}
