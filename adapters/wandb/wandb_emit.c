/* Records from a decoded run (wandb_emit.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/hash.h"
#include "xport/iso8601.h"
#include "wandb_emit.h"

#define LOG_BATCH 1024

enum { WE_PARAMS, WE_SUMMARY, WE_SERIES, WE_POINTS, WE_LOGS, WE_DONE };

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
    if (e->rows_open)
        xp_spool_iter_close(&e->rows);
    drop_log_meta(e);
    json_object_put(e->params);
    free(e->pts);
    free(e->fields);
    free(e->logs);
    free(e->log_meta);
    xp_arena_release(&e->arena);
    memset(e, 0, sizeof(*e));
}

/* config as W&B's API shows it: {"value": v} (with "desc") becomes v;
 * the internal keys _wandb and wandb_version are left out. */
static struct json_object *parameters(struct json_object *config)
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

/* The next series: 1 with rec set to its SERIES_BEGIN, 0 when none is
 * left, or an error. */
static int emit_series(struct wemit *e, struct xp_record *rec)
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
        /* its points refer to rows from the first on */
        if (e->rows_open)
            rc = xp_spool_iter_rewind(&e->rows);
        else if (r->have_rows_stream && s->kind == XP_SERIES_METRIC &&
                 !(rc = xp_spool_iter_open(&e->rows, r->spool, r->rows_stream)))
            e->rows_open = 1;
        if (rc)
            return rc;
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

/* Points of the current series: 1 with rec set to POINTS, 0 at its end
 * (rec set to SERIES_END), or an error. */
static int emit_points(struct wemit *e, struct xp_record *rec)
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
        rc = wpt_decode_row(&e->pts[n], &e->fields[n * WPT_NKEYS], data, len,
                            e->rows_open ? &e->rows : NULL, &e->arena);
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

/* Console lines: 1 with rec set to LOGS, 0 when none is left, or an
 * error. */
static int emit_logs(struct wemit *e, struct xp_record *rec)
{
    struct wrun *r = e->run;
    if (!r->have_log_stream)
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
            xp_iso8601_format(iso, l.sec, l.nanos, XP_ISO_TRIM);
            le->timestamp = xp_arena_strndup(&e->arena, iso, strlen(iso));
        }
        le->stream = l.stream ? "stdout" : "stderr";
        /* W&B's level: "error" for stderr lines, none otherwise
         * (wandb/apis/public/console_logs.py, ConsoleLogLine) */
        if (l.level && l.level_len)
            le->level = xp_arena_strndup(&e->arena, l.level, l.level_len);
        else if (!l.stream)
            le->level = "error";
        le->message = xp_arena_strndup(&e->arena, l.text, l.len);
        le->message_len = l.len;
        if (!l.newline || l.label) {
            /* a partial line (progress bars end in '\r'): say so, so that
             * output.log can be rebuilt byte for byte; the server's label
             * (the stream's namespace the user gave) is kept too */
            struct json_object *md = json_object_new_object();
            if (!l.newline)
                json_object_object_add(md, "newline", json_object_new_boolean(0));
            if (l.label)
                json_object_object_add(md, "label",
                                       json_object_new_string_len(
                                           l.label, (int)l.label_len));
            le->metadata = md;
            e->log_meta[e->nlog_meta++] = md;
        }
        n++;
    }
    if (!n) {
        xp_spool_iter_close(&e->it);
        e->log_iter_open = 0;
        return 0;
    }
    memset(rec, 0, sizeof(*rec));
    rec->kind = XP_REC_LOGS;
    rec->u.logs.v = e->logs;
    rec->u.logs.n = n;
    return 1;
}

int wemit_next(struct wemit *e, struct xp_record *rec)
{
    struct wrun *r = e->run;
    int rc;
    memset(rec, 0, sizeof(*rec));
    for (;;) {
        switch (e->stage) {
        case WE_PARAMS:
            e->stage = WE_SUMMARY;
            if (!(r->resources & XP_RES_PARAMETERS) || r->only_series)
                continue;
            e->params = parameters(r->config);
            if (!json_object_object_length(e->params))
                continue;
            rec->kind = XP_REC_DOCUMENT;
            rec->u.doc.kind = XP_DOC_PARAMETERS;
            rec->u.doc.doc = e->params;
            return 1;
        case WE_SUMMARY:
            e->stage = WE_SERIES;
            if (!(r->resources & XP_RES_OTHERS) || r->only_series ||
                !r->summary || !json_object_object_length(r->summary))
                continue;
            rec->kind = XP_REC_DOCUMENT;
            rec->u.doc.kind = XP_DOC_SUMMARY;
            rec->u.doc.doc = r->summary;
            return 1;
        case WE_SERIES:
            rc = emit_series(e, rec);
            if (rc < 0)
                return rc;
            e->stage = rc ? WE_POINTS : WE_LOGS;
            if (rc)
                return 1;
            continue;
        case WE_POINTS:
            rc = emit_points(e, rec);
            if (rc < 0)
                return rc;
            if (rc == 0)
                e->stage = WE_SERIES; /* rec is the SERIES_END */
            return 1;
        case WE_LOGS:
            rc = emit_logs(e, rec);
            if (rc)
                return rc;
            e->stage = WE_DONE;
            continue;
        default:
            return 0;
        }
    }
}

/* ---- file bodies ---------------------------------------------------------- */

int wemit_body_open(struct xp_fd_stream *b, int fd, const char *name,
                    char sha[65], int64_t *size)
{
    struct xp_sha256 c;
    unsigned char buf[65536], dig[32];
    int64_t total = 0;
    xp_fd_stream_close(b);
    xp_fd_stream_init(b);
    b->fd = fd;
    xp_sha256_init(&c);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int rc = xp_error_set_os(XP_EIO, "cannot read '%s'", name);
            xp_fd_stream_close(b);
            return rc;
        }
        if (n == 0)
            break;
        xp_sha256_update(&c, buf, (size_t)n);
        total += n;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        int rc = xp_error_set_os(XP_EIO, "cannot rewind '%s'", name);
        xp_fd_stream_close(b);
        return rc;
    }
    xp_sha256_final(&c, dig);
    xp_hex(sha, dig, 32);
    *size = total;
    return 0;
}
