/* Writing one run to a W&B server (wandb_server.h): UpsertBucket creates it
 * with the source's id, name, config, tags, notes, group and job type
 * (wandb.md §2.1); series and log lines are spooled as they arrive and, at
 * commit, merged back into history rows (one per step) and events rows
 * (one per timestamp) and streamed through file_stream with the console and
 * summary (§2.2); run files go through createRunFiles and a PUT (§2.3);
 * the last request completes the run with its exit code.
 *
 * What W&B has no place for is kept where a W&B reader finds it again: the
 * "others" document and tracks become xport's own run files
 * (wandb_xfiles.h), uploaded as they arrive; a point's fields besides its
 * value, step, timestamp and runtime become keys "SERIES/FIELD" of its row,
 * recorded in the run file xport/fields.json (wandb_split.h), which also
 * says which points had no step of their own (wandb_steps.h); artifact
 * files are spooled and saved at commit as W&B artifacts logged by the run
 * (wandb_artifact.h), before the run is completed, so that a failure
 * leaves the run resumable.
 *
 * Reruns: a finished run is XP_EEXISTS; an unfinished one (an interrupted
 * copy) is resumed: the lines the server already counts
 * (historyLineCount, eventsLineCount, logLineCount) are not sent again,
 * files are replaced, and an artifact W&B already holds (same digest) is
 * not made again.
 *
 * This file is the sink: records as they arrive, commit, open and free;
 * the run and its files are in wandb_write_run.c, what is sent at commit
 * in wandb_write_rows.c (wandb_write.h). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/iso8601.h"
#include "xport/json.h"
#include "wandb_log.h"
#include "wandb_run.h"
#include "wandb_write.h"

static int fail(struct ws_sink *s, int rc)
{
    if (!s->err)
        s->err = rc;
    return rc;
}

/* ---- put ------------------------------------------------------------------ */

/* The first field other than the row's own: the series is split from its
 * next point on. */
static int split_series(struct ws_sink *s, struct wseries *ser)
{
    int rc = xp_spool_add(s->spool, &ser->xstream);
    if (rc)
        return rc;
    ser->split = xp_malloc(sizeof(*ser->split));
    wsplit_init(ser->split, ser->name, ser->kind);
    ser->x_from = xp_spool_count(s->spool, ser->stream);
    return 0;
}

static int put_points(struct ws_sink *s, const struct xp_record *rec)
{
    struct wseries *ser = &s->series[s->cur];
    if (s->in_track)
        return wxf_track_put(&s->track, rec->u.points.v, rec->u.points.n);
    if (ser->skip)
        return 0;
    for (size_t i = 0; i < rec->u.points.n; i++) {
        const struct xp_point *p = &rec->u.points.v[i];
        struct xp_value fv[WPT_NKEYS];
        int has[WPT_NKEYS] = {0}, rc;
        uint64_t pos = xp_spool_count(s->spool, ser->stream);
        if (!ser->renumbered && (p->index < 0 || (uint64_t)p->index != pos)) {
            /* W&B keeps the order of a key's values, not an index */
            ser->renumbered = 1;
            xp_sink_drop(&s->base, s->a->base.ctx,
                         "W&B run '%s': series '%s' has point index %" PRId64 " at position "
                         "%" PRIu64 "; W&B keeps no index, so its points come back numbered "
                         "0, 1, 2, ...",
                         s->run_id, ser->name, p->index, pos);
        }
        memset(fv, 0, sizeof(fv));
        xp_buf_reset(&s->xenc);
        for (size_t k = 0; k < p->nfields; k++) {
            const char *key = p->fields[k].key;
            int slot = !strcmp(key, "value")        ? WPT_VALUE
                       : !strcmp(key, "step")       ? WPT_STEP
                       : !strcmp(key, "timestamp")  ? WPT_TIMESTAMP
                       : !strcmp(key, "runtime")    ? WPT_RUNTIME
                       : !strcmp(key, "_step")      ? WPT_RAW_STEP
                       : !strcmp(key, "_timestamp") ? WPT_RAW_TIMESTAMP
                                                    : -1;
            if (slot < 0) {
                /* a key of its own in the row; whether it gets it is
                 * decided at commit, when every series is known */
                if (!ser->split && (rc = split_series(s, ser)))
                    return rc;
                wsplit_put(&s->xenc, wsplit_field(ser->split, key),
                           &p->fields[k].v);
                continue;
            }
            if (slot == WPT_STEP && p->fields[k].v.type != XP_V_INT &&
                has[WPT_RAW_STEP]) {
                xp_sink_drop(&s->base, s->a->base.ctx,
                             "W&B run '%s': point field '%s' of series '%s' "
                             "has no place in W&B history next to its '_step' "
                             "and is not written",
                             s->run_id, key, ser->name);
                continue;
            }
            if (slot == WPT_STEP && p->fields[k].v.type != XP_V_INT)
                slot = WPT_RAW_STEP;
            fv[slot] = p->fields[k].v;
            has[slot] = 1;
        }
        if (ser->kind == XP_SERIES_METRIC && has[WPT_STEP])
            ser->int_steps++;
        else if (ser->kind == XP_SERIES_METRIC && has[WPT_RAW_STEP] &&
                 wsw_whole_step(&fv[WPT_RAW_STEP]))
            /* maybe written as the integer it equals: decided at commit,
             * when the series' other steps are known (wsw_put_split_map) */
            ser->whole_steps++;
        else if (has[WPT_RAW_STEP] && ser->kind == XP_SERIES_METRIC) {
            /* a history row's _step is an integer: this step cannot be one */
            ser->frac_steps++;
            struct xp_buf v = XP_BUF_INIT;
            xp_json_put_value(&v, &fv[WPT_RAW_STEP], NULL);
            xp_sink_drop(&s->base, s->a->base.ctx,
                         "W&B run '%s': point %" PRId64 " of series '%s' has step %s; "
                         "W&B history steps are integers, so it is written at step %" PRId64,
                         s->run_id, p->index, ser->name, v.ptr,
                         has[WPT_STEP] && fv[WPT_STEP].type == XP_V_INT ? fv[WPT_STEP].u.i
                                                                        : p->index);
            xp_buf_release(&v);
        }
        if (ser->kind == XP_SERIES_METRIC) {
            /* a row needs a _step: a point without step gets its index,
             * recorded when it had none at all, so that the reader drops
             * it again (wandb_steps.h) */
            if (!has[WPT_STEP] && !has[WPT_RAW_STEP])
                wsteps_add(&ser->steps, xp_spool_count(s->spool, ser->stream),
                           p->index);
            else
                ser->steps.stepped++;
            if (!has[WPT_STEP]) {
                fv[WPT_STEP].type = XP_V_INT;
                fv[WPT_STEP].u.i = p->index;
                has[WPT_STEP] = 1;
            }
        }
        /* without a value the point stays: wsw_send_rows gives it a null or
         * its row holds its other fields */
        ser->has_value |= has[WPT_VALUE];
        xp_buf_reset(&s->enc);
        wpt_encode(&s->enc, fv, has);
        rc = xp_spool_put(s->spool, ser->stream, s->enc.ptr, s->enc.len);
        if (!rc && ser->split)
            rc = xp_spool_put(s->spool, ser->xstream, s->xenc.ptr,
                              s->xenc.len);
        if (rc)
            return rc;
    }
    return 0;
}

static int put_logs(struct ws_sink *s, const struct xp_record *rec)
{
    if (!s->have_logs) {
        int rc = xp_spool_add(s->spool, &s->log_stream);
        if (rc)
            return rc;
        s->have_logs = 1;
    }
    for (size_t i = 0; i < rec->u.logs.n; i++) {
        const struct xp_log_entry *e = &rec->u.logs.v[i];
        struct wlog_line l;
        memset(&l, 0, sizeof(l));
        int err_level = e->level && (!strcasecmp(e->level, "error") ||
                                     !strcasecmp(e->level, "fatal") ||
                                     !strcasecmp(e->level, "critical"));
        l.stream = e->stream ? strcmp(e->stream, "stderr") != 0 : !err_level;
        if (e->level && !err_level && strcasecmp(e->level, "info") &&
            !s->warned_level++)
            xp_ctx_warn(s->a->base.ctx,
                        "W&B run '%s': W&B keeps whether a console line is "
                        "stderr, not its level: level '%s' and others come "
                        "back as 'info' or 'error'",
                        s->run_id, e->level);
        const char *label = xp_json_str(e->metadata, "label");
        if (label) {
            l.label = label;
            l.label_len = strlen(label);
        }
        l.has_ts = e->timestamp && !xp_iso8601_parse(e->timestamp, &l.sec, &l.nanos);
        l.newline = 1;
        struct json_object *nl = wapi_path(e->metadata, "newline");
        if (nl && !json_object_get_boolean(nl) &&
            !(e->message_len && e->message[e->message_len - 1] == '\r')) {
            if (!s->warned_partial++)
                xp_ctx_warn(s->a->base.ctx,
                            "W&B run '%s': console lines are whole lines on "
                            "W&B; partial lines not ending in a carriage "
                            "return are sent as whole lines",
                            s->run_id);
        }
        l.text = e->message;
        l.len = e->message_len;
        xp_buf_reset(&s->enc);
        wline_encode(&s->enc, &l);
        int rc = xp_spool_put(s->spool, s->log_stream, s->enc.ptr, s->enc.len);
        if (rc)
            return rc;
    }
    return 0;
}

static int ws_put(struct xp_sink *base, const struct xp_record *rec)
{
    struct ws_sink *s = (struct ws_sink *)base;
    if (s->err)
        return s->err;
    int rc = 0;
    switch (rec->kind) {
    case XP_REC_EXPERIMENT:
        break; /* taken in ws_write_experiment */
    case XP_REC_DOCUMENT:
        if (rec->u.doc.kind == XP_DOC_PARAMETERS) {
            json_object_put(s->params);
            s->params = json_object_get(rec->u.doc.doc);
        } else if (rec->u.doc.kind == XP_DOC_SUMMARY) {
            json_object_put(s->summary);
            s->summary = json_object_get(rec->u.doc.doc);
        } else {
            rc = wsw_put_others(s, rec->u.doc.doc);
        }
        break;
    case XP_REC_SERIES_BEGIN: {
        s->series = xp_realloc(s->series,
                               (s->nseries + 1) * sizeof(*s->series));
        struct wseries *ser = &s->series[s->nseries];
        memset(ser, 0, sizeof(*ser));
        ser->name = xp_strdup(rec->u.series.name);
        ser->kind = rec->u.series.kind;
        s->cur = s->nseries++;
        if (ser->kind == XP_SERIES_TRACK) {
            ser->skip = 1; /* not a history column */
            rc = wsw_track_begin(s, &rec->u.series);
        } else {
            rc = xp_spool_add(s->spool, &ser->stream);
        }
        break;
    }
    case XP_REC_POINTS: rc = put_points(s, rec); break;
    case XP_REC_SERIES_END:
        if (s->in_track)
            rc = wsw_track_end(s);
        break;
    case XP_REC_LOGS: rc = put_logs(s, rec); break;
    case XP_REC_FILE: rc = wsw_put_file(s, rec); break;
    case XP_REC_END: break;
    }
    return rc ? fail(s, rc) : 0;
}

static int exit_code(struct ws_sink *s, int *complete)
{
    *complete = 1;
    struct json_object *ec = wapi_path(wsw_vendor(s, "exit"), "exit_code");
    int code = ec ? json_object_get_int(ec) : 0;
    if (s->status && !strcmp(s->status, "COMPLETED"))
        return 0;
    if (s->status && (!strcmp(s->status, "FAILED") ||
                      !strcmp(s->status, "CANCELLED")))
        return code ? code : 1;
    *complete = 0; /* running or unknown: leave it running */
    return 0;
}

static int ws_finish(struct xp_sink *base, int commit)
{
    struct ws_sink *s = (struct ws_sink *)base;
    if (s->err)
        return s->err;
    if (!commit)
        return 0; /* what was sent stays; a rerun resumes after it */
    int rc = wsw_ensure_run(s);
    int64_t hist = s->overwrite ? 0 : s->have_hist;
    int64_t events = s->overwrite ? 0 : s->have_events;
    if (!rc)
        rc = wsw_put_split_map(s);
    if (!rc)
        rc = wsw_send_rows(s, XP_SERIES_METRIC, "wandb-history.jsonl", hist);
    if (!rc)
        rc = wsw_send_rows(s, XP_SERIES_SYSTEM, "wandb-events.jsonl", events);
    if (!rc)
        rc = wsw_send_console(s);
    if (!rc && s->arts.n) {
        struct wart_target t = {&s->a->api, s->entity, s->project, s->run_id,
                                s->vendor, &s->base, s->a->base.ctx};
        rc = wart_save_all(&s->arts, &t, s->tmpdir);
    }
    if (!rc) {
        struct xp_buf sum = XP_BUF_INIT;
        if (s->summary)
            rc = xp_json_put_obj(&sum, s->summary, 0);
        int complete;
        int code = exit_code(s, &complete);
        if (!rc)
            rc = wstream_finish(&s->fs, s->summary ? sum.ptr : NULL, complete,
                                code);
        xp_buf_release(&sum);
    }
    return rc ? fail(s, rc) : 0;
}

static void ws_free(struct xp_sink *base)
{
    struct ws_sink *s = (struct ws_sink *)base;
    if (!s)
        return;
    wstream_release(&s->fs);
    wxf_track_out_release(&s->track);
    wart_set_release(&s->arts);
    xp_spool_free(s->spool);
    for (size_t i = 0; i < s->nseries; i++) {
        free(s->series[i].name);
        wsplit_release(s->series[i].split);
        free(s->series[i].split);
        wsteps_release(&s->series[i].steps);
        if (s->series[i].it_open)
            xp_spool_iter_close(&s->series[i].it);
    }
    free(s->series);
    for (size_t i = 0; i < s->ntags; i++)
        free(s->tags[i]);
    free(s->tags);
    json_object_put(s->vendor);
    json_object_put(s->params);
    json_object_put(s->summary);
    xp_buf_release(&s->enc);
    xp_buf_release(&s->xenc);
    xp_buf_release(&s->line);
    xp_buf_release(&s->key);
    if (s->tmpdir) {
        xp_rm_rf(s->tmpdir);
        free(s->tmpdir);
    }
    free(s->entity);
    free(s->project);
    free(s->run_id);
    free(s->display_name);
    free(s->notes);
    free(s->group);
    free(s->status);
    free(s->started_at);
    free(s);
}

static const char *ws_dest_id(struct xp_sink *base)
{
    return ((struct ws_sink *)base)->run_id;
}

/* The W&B run id: the source's id when W&B accepts it, else a stable one
 * derived from the source's vendor and id (or name). */
static char *pick_run_id(const struct xp_experiment_meta *m)
{
    if (wapi_run_id_ok(m->source_id))
        return xp_strdup(m->source_id);
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "%s\n%s\n%s\n%s", m->source_vendor ? m->source_vendor
                                                          : "",
                  m->source_id ? m->source_id : "", m->workspace, m->name);
    char hex[65];
    xp_sha256_hex(hex, b.ptr, b.len);
    xp_buf_release(&b);
    hex[12] = '\0';
    return xp_strdup(hex);
}

static int is_literal(const char *p)
{
    return p && *p && !strpbrk(p, "*?[{");
}

int ws_write_experiment(struct xp_sink **out, struct xp_adapter *base,
                        const struct xp_experiment_meta *m,
                        const struct xp_write_opts *wo)
{
    struct ws_adapter *a = (struct ws_adapter *)base;
    *out = NULL;
    struct ws_sink *s = xp_calloc(1, sizeof(*s));
    s->base.version = XP_SINK_VERSION;
    s->base.put = ws_put;
    s->base.finish = ws_finish;
    s->base.free = ws_free;
    s->base.dest_id = ws_dest_id;
    s->a = a;
    s->overwrite = wo && wo->overwrite;
    /* the location names where runs go; else they keep their own place */
    s->entity = xp_strdup(is_literal(a->entity_pat) ? a->entity_pat
                                                    : m->workspace);
    s->project = xp_strdup(is_literal(a->project_pat) ? a->project_pat
                                                      : m->project);
    s->run_id = pick_run_id(m);
    s->display_name = xp_strdup(m->name);
    s->notes = xp_strdup(m->description);
    s->group = xp_strdup(m->folder);
    s->status = xp_strdup(m->status);
    s->started_at = xp_strdup(m->started_at ? m->started_at
                                              : m->created_at);
    s->tags = xp_calloc(m->ntags + 1, sizeof(*s->tags));
    for (size_t i = 0; i < m->ntags; i++)
        s->tags[s->ntags++] = xp_strdup(m->tags[i]);
    s->vendor = m->vendor ? json_object_get(m->vendor)
                          : json_object_new_object();
    xp_buf_init(&s->enc);
    xp_buf_init(&s->xenc);
    xp_buf_init(&s->line);
    xp_buf_init(&s->key);
    wart_set_init(&s->arts);
    wstream_init(&s->fs, &a->api, s->entity, s->project, s->run_id);
    int rc = xp_spool_new(&s->spool, 0);
    const char *state = NULL;
    struct json_object *hold = NULL;
    if (!rc)
        rc = wsw_query_state(s, &state, &hold);
    if (!rc && s->exists && !s->overwrite && state &&
        strcmp(state, "running") && strcmp(state, "pending"))
        rc = XP_EEXISTS;
    json_object_put(hold);
    if (rc) {
        ws_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}
