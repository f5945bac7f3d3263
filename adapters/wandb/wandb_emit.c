/* Records from a decoded run (wandb_emit.h). */
#include <string.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "wandb_emit.h"

#define LOG_BATCH 1024

void wemit_init(struct wemit *e, struct wrun *run)
{
    memset(e, 0, sizeof(*e));
    e->run = run;
    e->pts = xp_calloc(XP_POINTS_BATCH, sizeof(*e->pts));
    e->fields = xp_calloc((size_t)XP_POINTS_BATCH * WPT_NKEYS,
                          sizeof(*e->fields));
    e->logs = xp_calloc(LOG_BATCH, sizeof(*e->logs));
    e->log_meta = xp_calloc(LOG_BATCH, sizeof(*e->log_meta));
}

static void drop_log_meta(struct wemit *e)
{
    for (size_t i = 0; i < e->nlog_meta; i++)
        json_object_put(e->log_meta[i]);
    e->nlog_meta = 0;
}

void wemit_release(struct wemit *e)
{
    if (e->iter_open || e->log_iter_open)
        xp_spool_iter_close(&e->it);
    drop_log_meta(e);
    free(e->pts);
    free(e->fields);
    free(e->logs);
    free(e->log_meta);
    xp_arena_release(&e->arena);
    memset(e, 0, sizeof(*e));
}

struct json_object *wemit_parameters(struct json_object *config)
{
    struct json_object *p = json_object_new_object();
    json_object_object_foreach(config, k, v) {
        if (!strcmp(k, "_wandb") || !strcmp(k, "wandb_version"))
            continue;
        struct json_object *val = v, *inner;
        if (json_object_is_type(v, json_type_object) &&
            json_object_object_get_ex(v, "value", &inner)) {
            int only = 1;
            json_object_object_foreach(v, k2, v2) {
                (void)v2;
                if (strcmp(k2, "value") && strcmp(k2, "desc"))
                    only = 0;
            }
            if (only)
                val = inner;
        }
        json_object_object_add(p, k, json_object_get(val));
    }
    return p;
}

int wemit_series(struct wemit *e, struct xp_record *rec)
{
    struct wrun *r = e->run;
    while (e->phase < 2) {
        if (e->next_series >= r->nseries) {
            e->phase++;
            e->next_series = 0;
            continue;
        }
        size_t i = e->next_series++;
        const struct wrun_series *s = &r->series[i];
        enum xp_series_kind want = e->phase ? XP_SERIES_SYSTEM
                                            : XP_SERIES_METRIC;
        if (s->kind != want || !xp_spool_count(r->spool, s->stream))
            continue;
        int rc = xp_spool_iter_open(&e->it, r->spool, s->stream);
        if (rc)
            return rc;
        e->iter_open = 1;
        e->cur = i;
        e->index = 0;
        memset(rec, 0, sizeof(*rec));
        rec->kind = XP_REC_SERIES_BEGIN;
        rec->u.series.name = s->name;
        rec->u.series.kind = s->kind;
        rec->u.series.expected_points =
            (int64_t)xp_spool_count(r->spool, s->stream);
        return 1;
    }
    return 0;
}

int wemit_points(struct wemit *e, struct xp_record *rec)
{
    xp_arena_reset(&e->arena);
    size_t n = 0;
    while (n < XP_POINTS_BATCH) {
        const void *data;
        size_t len;
        int rc = xp_spool_iter_next(&e->it, &data, &len);
        if (rc == XP_ITEROVER)
            break;
        if (rc)
            return rc;
        rc = wpt_decode(&e->pts[n], &e->fields[n * WPT_NKEYS], data, len,
                        &e->arena);
        if (rc)
            return rc;
        e->pts[n].index = e->index++;
        n++;
    }
    memset(rec, 0, sizeof(*rec));
    if (!n) {
        xp_spool_iter_close(&e->it);
        e->iter_open = 0;
        rec->kind = XP_REC_SERIES_END;
        return 0;
    }
    rec->kind = XP_REC_POINTS;
    rec->u.points.v = e->pts;
    rec->u.points.n = n;
    return 1;
}

int wemit_logs(struct wemit *e, struct xp_record *rec)
{
    struct wrun *r = e->run;
    if (e->logs_done || !r->have_log_stream)
        return 0;
    if (!e->log_iter_open) {
        int rc = xp_spool_iter_open(&e->it, r->spool, r->log_stream);
        if (rc)
            return rc;
        e->log_iter_open = 1;
    }
    xp_arena_reset(&e->arena);
    drop_log_meta(e);
    size_t n = 0;
    while (n < LOG_BATCH) {
        const void *data;
        size_t len;
        int rc = xp_spool_iter_next(&e->it, &data, &len);
        if (rc == XP_ITEROVER)
            break;
        if (rc)
            return rc;
        struct wlog_line l;
        if ((rc = wline_decode(&l, data, len)))
            return rc;
        struct xp_log_entry *le = &e->logs[n];
        memset(le, 0, sizeof(*le));
        le->seq = e->log_seq++;
        if (l.has_ts) {
            char iso[40];
            wtime_iso(iso, l.sec, l.nanos);
            le->timestamp = xp_arena_strndup(&e->arena, iso, strlen(iso));
        }
        le->stream = l.stream ? "stdout" : "stderr";
        le->message = xp_arena_strndup(&e->arena, l.text, l.len);
        le->message_len = l.len;
        if (!l.newline) {
            /* a partial line (progress bars end in '\r'): say so, so that
             * output.log can be rebuilt byte for byte */
            struct json_object *md = json_object_new_object();
            json_object_object_add(md, "newline", json_object_new_boolean(0));
            le->metadata = md;
            e->log_meta[e->nlog_meta++] = md;
        }
        n++;
    }
    if (!n) {
        xp_spool_iter_close(&e->it);
        e->log_iter_open = 0;
        e->logs_done = 1;
        return 0;
    }
    memset(rec, 0, sizeof(*rec));
    rec->kind = XP_REC_LOGS;
    rec->u.logs.v = e->logs;
    rec->u.logs.n = n;
    return 1;
}
