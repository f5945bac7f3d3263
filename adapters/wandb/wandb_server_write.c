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
 * not made again. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/stream.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/json.h"
#include "xport/spool.h"
#include "xport/sys/http.h"
#include "wandb_artifact.h"
#include "wandb_run.h"
#include "wandb_server.h"
#include "wandb_split.h"
#include "wandb_stream.h"
#include "wandb_upload.h"
#include "wandb_xfiles.h"

/* What W&B has of a run: the Go core's RunResumeStatus (line counts) and
 * the Python public API's RunState */
static const char Q_COUNTS[] =
    "query RunResumeStatus($project: String, $entity: String, $name: String!) "
    "{ model(name: $project, entityName: $entity) { bucket(name: $name, "
    "missingOk: true) { id historyLineCount eventsLineCount logLineCount } } }";

static const char Q_STATE[] =
    "query RunState($project: String!, $entity: String!, $name: String!) { "
    "project(name: $project, entityName: $entity) { run(name: $name) { "
    "state } } }";

static const char M_UPSERT[] =
    "mutation UpsertBucket($id: String, $name: String, $project: String, "
    "$entity: String, $groupName: String, $description: String, "
    "$displayName: String, $notes: String, $commit: String, "
    "$config: JSONString, $host: String, $jobType: String, $state: String, "
    "$tags: [String!], $summaryMetrics: JSONString) { "
    "upsertBucket(input: {id: $id, name: $name, groupName: $groupName, "
    "modelName: $project, entityName: $entity, description: $description, "
    "displayName: $displayName, notes: $notes, config: $config, "
    "commit: $commit, host: $host, jobType: $jobType, state: $state, "
    "tags: $tags, summaryMetrics: $summaryMetrics}) { "
    "bucket { id name displayName historyLineCount } inserted } }";

struct wseries {
    char *name;
    enum xp_series_kind kind;
    size_t stream;
    int skip;
    int has_value;        /* some point has a "value" */
    /* a point with other fields splits the series (wandb_split.h): their
     * values go to stream xstream, one record for each point from the
     * x_from-th on */
    struct wsplit *split;
    size_t xstream;
    uint64_t x_from;
    /* metrics: the points without step, whose _step is their index; the
     * stream read once to check them, left open for send_rows */
    struct wsteps steps;
    struct xp_spool_iter it;
    int it_open;
    int renumbered;       /* a point's index was not its position: told once */
};

struct ws_sink {
    struct xp_sink base;
    struct ws_adapter *a;
    int err;
    char *entity, *project, *run_id;
    char *display_name, *notes, *group, *status, *started_at;
    char **tags;
    size_t ntags;
    struct json_object *vendor, *params, *summary;
    struct xp_spool *spool;
    struct wseries *series;
    size_t nseries, cur;
    int have_logs;
    size_t log_stream;
    int exists, created, overwrite;
    int64_t have_hist, have_events, have_logs_n;
    struct wstream fs;
    struct xp_buf enc, xenc, line, key;
    int warned_partial, warned_level;
    char *tmpdir;
    unsigned long tmpseq;
    struct wxf_track_out track; /* the track being received */
    int in_track;
    struct wart_set arts;
};

static int fail(struct ws_sink *s, int rc)
{
    if (!s->err)
        s->err = rc;
    return rc;
}

static char *dup_or_null(const char *p)
{
    return p ? xp_strdup(p) : NULL;
}

/* ---- the run ------------------------------------------------------------ */

static int64_t node_int(struct json_object *o, const char *key)
{
    struct json_object *v = wapi_path(o, key);
    if (!v)
        return 0;
    if (json_object_is_type(v, json_type_string))
        return strtoll(json_object_get_string(v), NULL, 10);
    return json_object_get_int64(v);
}

static struct json_object *run_vars(struct ws_sink *s)
{
    struct json_object *v = json_object_new_object();
    json_object_object_add(v, "entity", json_object_new_string(s->entity));
    json_object_object_add(v, "project", json_object_new_string(s->project));
    json_object_object_add(v, "name", json_object_new_string(s->run_id));
    return v;
}

/* What the server already has of this run. */
static int query_state(struct ws_sink *s, const char **state_out,
                       struct json_object **hold)
{
    struct json_object *v = run_vars(s), *d = NULL;
    int rc = wapi_gql(&s->a->api, "RunResumeStatus", Q_COUNTS, v, &d);
    if (rc) {
        json_object_put(v);
        return rc;
    }
    struct json_object *run = wapi_path(d, "model.bucket");
    *hold = d;
    *state_out = NULL;
    if (!run) {
        json_object_put(v);
        return 0;
    }
    s->exists = 1;
    struct json_object *st = NULL;
    rc = wapi_gql(&s->a->api, "RunState", Q_STATE, v, &st);
    json_object_put(v);
    if (rc)
        return rc;
    /* hold both answers: the state string lives in the second */
    json_object_object_add(d, "xport_state", st);
    *state_out = xp_json_str(wapi_path(st, "project.run"), "state");
    s->have_hist = node_int(run, "historyLineCount");
    s->have_events = node_int(run, "eventsLineCount");
    s->have_logs_n = node_int(run, "logLineCount");
    return 0;
}

static struct json_object *vendor_get(struct ws_sink *s, const char *key)
{
    return wapi_path(s->vendor, key);
}

/* The config as W&B stores it: {key: {"value": v}}, with _wandb carrying
 * the source's start time (the server sets its own createdAt). */
static struct json_object *build_config(struct ws_sink *s)
{
    struct json_object *c = json_object_new_object();
    if (s->params) {
        json_object_object_foreach(s->params, k, v) {
            struct json_object *w = json_object_new_object();
            json_object_object_add(w, "value", json_object_get(v));
            json_object_object_add(c, k, w);
        }
    }
    struct json_object *cw = vendor_get(s, "config_wandb");
    struct json_object *inner = NULL;
    if (cw && json_object_is_type(cw, json_type_object)) {
        struct json_object *val = wapi_path(cw, "value");
        inner = val && json_object_is_type(val, json_type_object)
                    ? val : json_object_is_type(cw, json_type_object) ? cw
                                                                       : NULL;
    }
    struct json_object *wb = json_object_new_object();
    if (inner) {
        json_object_object_foreach(inner, k, v)
            json_object_object_add(wb, k, json_object_get(v));
    }
    if (s->started_at && !json_object_object_get_ex(wb, "start_time", NULL)) {
        struct tm tm = {0};
        const char *end = strptime(s->started_at, "%Y-%m-%dT%H:%M:%S", &tm);
        if (end) {
            double t = (double)timegm(&tm);
            if (*end == '.')
                t += strtod(end, NULL);
            json_object_object_add(wb, "start_time",
                                   json_object_new_double(t));
        }
    }
    if (json_object_object_length(wb)) {
        struct json_object *w = json_object_new_object();
        json_object_object_add(w, "value", wb);
        json_object_object_add(c, "_wandb", w);
    } else {
        json_object_put(wb);
    }
    return c;
}

static void add_str(struct json_object *v, const char *k, const char *val)
{
    if (val && *val)
        json_object_object_add(v, k, json_object_new_string(val));
}

static int ensure_run(struct ws_sink *s)
{
    if (s->created)
        return 0;
    struct json_object *v = json_object_new_object(), *d = NULL;
    json_object_object_add(v, "name", json_object_new_string(s->run_id));
    json_object_object_add(v, "project", json_object_new_string(s->project));
    json_object_object_add(v, "entity", json_object_new_string(s->entity));
    add_str(v, "displayName", s->display_name);
    add_str(v, "notes", s->notes);
    add_str(v, "groupName", s->group);
    add_str(v, "jobType", xp_json_str(s->vendor, "job_type"));
    add_str(v, "host", xp_json_str(s->vendor, "host"));
    add_str(v, "commit", xp_json_str(vendor_get(s, "git"), "commit"));
    add_str(v, "sweep", NULL);
    json_object_object_add(v, "state", json_object_new_string("running"));
    struct json_object *tags = json_object_new_array();
    for (size_t i = 0; i < s->ntags; i++)
        json_object_array_add(tags, json_object_new_string(s->tags[i]));
    json_object_object_add(v, "tags", tags);
    struct json_object *cfg = build_config(s);
    struct xp_buf b = XP_BUF_INIT;
    int rc = xp_json_put_obj(&b, cfg, 0);
    json_object_put(cfg);
    if (!rc) {
        json_object_object_add(v, "config",
                               json_object_new_string_len(b.ptr, (int)b.len));
        rc = wapi_gql(&s->a->api, "UpsertBucket", M_UPSERT, v, &d);
    }
    xp_buf_release(&b);
    json_object_put(v);
    if (rc)
        return rc;
    struct json_object *bucket = wapi_path(d, "upsertBucket.bucket");
    if (!bucket) {
        json_object_put(d);
        return xp_error_set(XP_ERROR, "W&B did not create run '%s/%s/%s'",
                            s->entity, s->project, s->run_id);
    }
    if (!s->overwrite && s->exists)
        s->have_hist = node_int(bucket, "historyLineCount");
    json_object_put(d);
    s->created = 1;
    if (s->started_at)
        xp_ctx_warn(s->a->base.ctx,
                    "W&B run '%s/%s/%s': the server sets its own creation "
                    "time; the original start %s is kept in config "
                    "_wandb.start_time",
                    s->entity, s->project, s->run_id, s->started_at);
    return 0;
}

/* ---- files ---------------------------------------------------------------- */

static int is_stream_file(const char *name)
{
    return !strcmp(name, "output.log") || !strcmp(name, "wandb-summary.json") ||
           !strcmp(name, "wandb-history.jsonl") ||
           !strcmp(name, "wandb-events.jsonl");
}

static int ensure_tmpdir(struct ws_sink *s)
{
    return s->tmpdir ? 0 : xp_tempdir(&s->tmpdir, "xport-wandb-up");
}

/* A fresh path in the sink's temporary folder (caller frees). */
static char *tmp_path(struct ws_sink *s, const char *what)
{
    struct xp_buf p = XP_BUF_INIT;
    xp_buf_printf(&p, "%s/%s-%lu", s->tmpdir, what, ++s->tmpseq);
    return xp_buf_detach(&p);
}

/* Upload the file at path as run file name, then remove it. */
static int upload(struct ws_sink *s, const char *name, const char *path)
{
    int rc = ensure_run(s);
    if (!rc)
        rc = wup_run_file(&s->a->api, s->entity, s->project, s->run_id, name,
                          path);
    unlink(path);
    return rc;
}

static int put_file(struct ws_sink *s, const struct xp_record *rec)
{
    const struct xp_file_meta *m = &rec->u.file.meta;
    int rc = ensure_tmpdir(s);
    if (rc)
        return rc;
    if (m->artifact)
        return wart_add(&s->arts, s->tmpdir, m, rec->u.file.body);
    if (is_stream_file(m->path)) {
        xp_ctx_warn(s->a->base.ctx,
                    "W&B run '%s': '%s' is not uploaded: the server makes it "
                    "from the run's streamed data",
                    s->run_id, m->path);
        return 0;
    }
    if (wxf_is_others(m->path) || wxf_is_track(m->path) ||
        wxf_is_fields(m->path)) {
        xp_sink_drop(&s->base, s->a->base.ctx,
                     "W&B run '%s': file '%s' is not written: xport keeps "
                     "its own data under that name",
                     s->run_id, m->path);
        return 0;
    }
    /* spool the body to disk: the PUT may need to be retried */
    char *tmp = tmp_path(s, "file");
    rc = xp_stream_save(rec->u.file.body, tmp, NULL, NULL, s->a->base.ctx);
    if (!rc)
        rc = upload(s, m->path, tmp);
    unlink(tmp);
    free(tmp);
    return rc;
}

/* The others document as xport/others.json. */
static int put_others(struct ws_sink *s, struct json_object *doc)
{
    int rc = ensure_tmpdir(s);
    if (rc)
        return rc;
    char *tmp = tmp_path(s, "others");
    rc = wxf_others_write(tmp, doc);
    if (!rc)
        rc = upload(s, WXF_OTHERS, tmp);
    unlink(tmp);
    free(tmp);
    return rc;
}

/* A track as xport/tracks/<name>.jsonl: written while its points arrive,
 * uploaded at its end. */
static int track_begin(struct ws_sink *s, const struct xp_series_meta *m)
{
    int rc = ensure_tmpdir(s);
    if (rc)
        return rc;
    char *tmp = tmp_path(s, "track");
    rc = wxf_track_open(&s->track, tmp, m);
    free(tmp);
    s->in_track = 1;
    return rc;
}

static int track_end(struct ws_sink *s)
{
    s->in_track = 0;
    struct xp_buf name = XP_BUF_INIT;
    int rc = wxf_track_close(&s->track);
    if (!rc)
        rc = wxf_track_file(&name, s->track.name);
    if (!rc)
        rc = upload(s, name.ptr, s->track.path);
    if (rc)
        rc = xp_error_wrap(rc, "track '%s'", s->track.name);
    unlink(s->track.path);
    wxf_track_out_release(&s->track);
    xp_buf_release(&name);
    return rc;
}

/* ---- split series --------------------------------------------------------- */

static void drop_field(void *payload, const struct wsplit *w,
                       const char *field, const char *why)
{
    struct ws_sink *s = payload;
    xp_sink_drop(&s->base, s->a->base.ctx,
                 "W&B run '%s': point field '%s' of series '%s' is not "
                 "written: %s",
                 s->run_id, field, w->name, why);
}

/* A metric series some of whose points had no step: an entry of the map
 * that says which (moved into the series' split entry, or a new entry
 * *plain without fields), or a drop when the map cannot say it exactly. */
static int steps_entry(struct ws_sink *s, struct wseries *ser,
                       struct wsplit **plain)
{
    *plain = NULL;
    struct wsteps *st = &ser->steps;
    if (ser->kind != XP_SERIES_METRIC || !st->nostep)
        return 0;
    struct xp_buf why = XP_BUF_INIT;
    int rc = 0;
    if (st->stepped && !st->overflow &&
        !(rc = xp_spool_iter_open(&ser->it, s->spool, ser->stream)))
        ser->it_open = 1;
    if (!rc)
        rc = wsteps_check(st, &ser->it, &why);
    if (rc == 1) {
        int one = st->nostep == 1;
        xp_sink_drop(&s->base, s->a->base.ctx,
                     "W&B run '%s': %llu point%s of series '%s' without step "
                     "come%s back with %s index as step: %s",
                     s->run_id, (unsigned long long)st->nostep, one ? "" : "s",
                     ser->name, one ? "s" : "", one ? "its" : "their",
                     why.ptr);
        wsteps_release(st);
        rc = 0;
    } else if (!rc) {
        struct wsplit *w = ser->split;
        if (!w) {
            w = *plain = xp_malloc(sizeof(*w));
            wsplit_init(w, ser->name, ser->kind);
            w->has_value = ser->has_value;
        }
        w->steps = *st;
        wsteps_init(st);
    }
    xp_buf_release(&why);
    return rc;
}

/* At commit, before any row: which fields of split series get keys (a key
 * that is also a series' name, or an earlier field's key, would mix two
 * things that the reader could not tell apart), and the map that lets the
 * reader join them back and drop the steps W&B needed where points had
 * none, xport/fields.json. An overwritten run gets a map even without
 * entries, so that an older one does not stay. */
static int put_split_map(struct ws_sink *s)
{
    struct wsplit **v = xp_calloc(2 * s->nseries + 1, sizeof(*v));
    size_t n = 0, nsplit;
    int rc = 0;
    struct json_object *taken[2] = {json_object_new_object(),
                                    json_object_new_object()};
    for (size_t i = 0; i < s->nseries; i++) {
        struct wseries *ser = &s->series[i];
        if (ser->skip)
            continue;
        json_object_object_add(taken[ser->kind == XP_SERIES_SYSTEM],
                               ser->name, NULL);
        if (ser->split) {
            ser->split->has_value = ser->has_value;
            v[n++] = ser->split;
        }
    }
    wsplit_resolve(v, n, taken, drop_field, s);
    json_object_put(taken[0]);
    json_object_put(taken[1]);
    nsplit = n;
    for (size_t i = 0; i < s->nseries && !rc; i++)
        if (!s->series[i].skip &&
            !(rc = steps_entry(s, &s->series[i], &v[n])) && v[n])
            n++;
    if (!rc && (n || (s->exists && s->overwrite))) {
        rc = ensure_tmpdir(s);
        char *tmp = rc ? NULL : tmp_path(s, "fields");
        if (!rc)
            rc = wsplit_file_write(tmp, v, n);
        if (!rc)
            rc = upload(s, WXF_FIELDS, tmp);
        if (tmp)
            unlink(tmp);
        free(tmp);
    }
    for (size_t i = nsplit; i < n; i++) {
        wsplit_release(v[i]);
        free(v[i]);
    }
    free(v);
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
        if (has[WPT_RAW_STEP] && ser->kind == XP_SERIES_METRIC) {
            /* a history row's _step is an integer: this step cannot be one */
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
        /* without a value the point stays: send_rows gives it a null or
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

static int parse_iso(const char *t, int64_t *sec, int32_t *nanos)
{
    struct tm tm = {0};
    const char *end = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end)
        return -1;
    *sec = (int64_t)timegm(&tm);
    *nanos = 0;
    if (*end == '.') {
        int nd = 0;
        for (end++; *end >= '0' && *end <= '9'; end++, nd++)
            if (nd < 9)
                *nanos = *nanos * 10 + (*end - '0');
        for (; nd < 9; nd++)
            *nanos *= 10;
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
        l.has_ts = e->timestamp && !parse_iso(e->timestamp, &l.sec, &l.nanos);
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
            rc = put_others(s, rec->u.doc.doc);
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
            rc = track_begin(s, &rec->u.series);
        } else {
            rc = xp_spool_add(s->spool, &ser->stream);
        }
        break;
    }
    case XP_REC_POINTS: rc = put_points(s, rec); break;
    case XP_REC_SERIES_END:
        if (s->in_track)
            rc = track_end(s);
        break;
    case XP_REC_LOGS: rc = put_logs(s, rec); break;
    case XP_REC_FILE: rc = put_file(s, rec); break;
    case XP_REC_END: break;
    }
    return rc ? fail(s, rc) : 0;
}

/* ---- merging series back into rows -------------------------------------- */

struct head {
    size_t series;
    struct xp_spool_iter it;
    int live;
    struct xp_buf raw;
    struct xp_point p;
    struct xp_field f[WPT_NKEYS];
    struct xp_arena ar;
    double key;
    const struct xp_value *step, *ts, *rt;
    /* a split series: the point's fields that have keys */
    struct xp_spool_iter xit;
    int xopen;
    uint64_t pos;          /* points read */
    struct xp_field *xf;
    size_t nxf, xcap;
};

static const struct xp_value *field(const struct xp_point *p, const char *k)
{
    for (size_t i = 0; i < p->nfields; i++)
        if (!strcmp(p->fields[i].key, k))
            return &p->fields[i].v;
    return NULL;
}

static double num(const struct xp_value *v)
{
    if (!v)
        return 0;
    return v->type == XP_V_INT ? (double)v->u.i
           : v->type == XP_V_FLOAT ? v->u.d : 0;
}

/* The fields of the head's point that have keys, from its split series'
 * stream (points before x_from have none). */
static int head_fields(struct head *h, const struct wseries *ser)
{
    h->nxf = 0;
    if (!h->xopen || h->pos++ < ser->x_from)
        return 0;
    const void *data;
    size_t len, idx;
    int rc = xp_spool_iter_next(&h->xit, &data, &len);
    if (rc)
        return rc == XP_ITEROVER
                   ? xp_error_set(XP_EIO, "damaged point fields in the spool")
                   : rc;
    const unsigned char *p = data, *end = p + len;
    struct xp_value v;
    while ((rc = wsplit_get(&p, end, &idx, &v, &h->ar)) == 1) {
        if (idx >= ser->split->nfields)
            return xp_error_set(XP_EIO, "damaged point fields in the spool");
        if (!ser->split->keep[idx])
            continue;
        if (h->nxf == h->xcap) {
            h->xcap = h->xcap ? h->xcap * 2 : 16;
            h->xf = xp_realloc(h->xf, h->xcap * sizeof(*h->xf));
        }
        h->xf[h->nxf].key = ser->split->fields[idx];
        h->xf[h->nxf++].v = v;
    }
    return rc;
}

static int head_next(struct head *h, const struct wseries *ser, int by_time)
{
    const void *data;
    size_t len;
    int rc = xp_spool_iter_next(&h->it, &data, &len);
    if (rc == XP_ITEROVER) {
        h->live = 0;
        return 0;
    }
    if (rc)
        return rc;
    xp_buf_reset(&h->raw);
    xp_buf_put(&h->raw, data, len);
    xp_arena_reset(&h->ar);
    if ((rc = wpt_decode(&h->p, h->f, h->raw.ptr, h->raw.len, &h->ar)) ||
        (rc = head_fields(h, ser)))
        return rc;
    h->step = field(&h->p, "step");
    h->ts = field(&h->p, "timestamp");
    h->rt = field(&h->p, "runtime");
    h->key = by_time ? num(h->ts) : num(h->step);
    h->live = 1;
    return 0;
}

static int same_value(const struct xp_value *a, const struct xp_value *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case XP_V_INT: return a->u.i == b->u.i;
    case XP_V_FLOAT: return !memcmp(&a->u.d, &b->u.d, 8);
    default: return 0;
    }
}

static void put_special(struct xp_buf *b, const char *k,
                        const struct xp_value *v, int *first)
{
    if (!v)
        return;
    xp_buf_printf(b, "%s\"%s\":", *first ? "" : ",", k);
    xp_json_put_value(b, v, k);
    *first = 0;
}

/* One key of a row and its value (null for none): the series' name, in
 * events rows after "system.", and "/field" for a field of a split
 * series. */
static int put_key_value(struct ws_sink *s, int by_time, const char *name,
                         const char *field, const struct xp_value *v,
                         int *first)
{
    struct xp_buf *b = &s->line, *k = &s->key;
    if (!*first)
        xp_buf_putc(b, ',');
    *first = 0;
    int rc;
    if (!by_time && !field) {
        rc = xp_json_put_str(b, name, strlen(name), "series name");
    } else {
        xp_buf_reset(k);
        if (by_time)
            xp_buf_puts(k, "system.");
        if (field)
            wsplit_key(k, name, field);
        else
            xp_buf_puts(k, name);
        rc = xp_json_put_str(b, k->ptr, k->len, "series name");
    }
    xp_buf_putc(b, ':');
    if (!rc && v && v->type == XP_V_JSON)
        xp_buf_put(b, v->u.s.ptr, v->u.s.len);
    else if (!rc && v)
        rc = xp_json_put_value(b, v, name);
    else
        xp_buf_puts(b, "null");
    return rc;
}

/* Stream the series of one kind as rows of `file`: points with the same
 * step (metrics) or timestamp (system) and the same _timestamp/_runtime
 * share a row. Rows below `skip` were sent by an earlier attempt. */
static int send_rows(struct ws_sink *s, enum xp_series_kind kind,
                     const char *file, int64_t skip)
{
    int by_time = kind == XP_SERIES_SYSTEM;
    size_t nh = 0;
    for (size_t i = 0; i < s->nseries; i++)
        if (s->series[i].kind == kind && !s->series[i].skip &&
            xp_spool_count(s->spool, s->series[i].stream))
            nh++;
    if (!nh)
        return 0;
    struct head *h = xp_calloc(nh, sizeof(*h));
    size_t *grp = xp_calloc(nh, sizeof(*grp));
    int rc = 0;
    size_t j = 0;
    for (size_t i = 0; i < s->nseries && !rc; i++) {
        struct wseries *ser = &s->series[i];
        if (ser->kind != kind || ser->skip ||
            !xp_spool_count(s->spool, ser->stream))
            continue;
        h[j].series = i;
        xp_buf_init(&h[j].raw);
        if (ser->it_open) {
            h[j].it = ser->it; /* opened by steps_entry, rewound */
            ser->it_open = 0;
        } else {
            rc = xp_spool_iter_open(&h[j].it, s->spool, ser->stream);
        }
        if (!rc && ser->split &&
            !(rc = xp_spool_iter_open(&h[j].xit, s->spool, ser->xstream)))
            h[j].xopen = 1;
        if (!rc)
            rc = head_next(&h[j], ser, by_time);
        j++;
    }
    nh = j;
    if (!rc)
        rc = wstream_begin(&s->fs, file, skip > 0 ? skip : 0);
    int64_t row = 0;
    while (!rc) {
        /* the smallest key among the heads */
        size_t lead = nh;
        for (size_t i = 0; i < nh; i++)
            if (h[i].live && (lead == nh || h[i].key < h[lead].key))
                lead = i;
        if (lead == nh)
            break;
        size_t ng = 0;
        for (size_t i = 0; i < nh; i++)
            if (h[i].live && h[i].key == h[lead].key &&
                same_value(h[i].ts, h[lead].ts) &&
                same_value(h[i].rt, h[lead].rt) &&
                (by_time || same_value(h[i].step, h[lead].step)))
                grp[ng++] = i;
        if (row++ >= skip) {
            struct xp_buf *b = &s->line;
            int first = 1;
            xp_buf_reset(b);
            xp_buf_putc(b, '{');
            if (by_time) {
                xp_buf_puts(b, "\"_wandb\":true");
                first = 0;
            } else {
                put_special(b, "_step", h[lead].step, &first);
            }
            put_special(b, "_timestamp", h[lead].ts, &first);
            put_special(b, "_runtime", h[lead].rt, &first);
            for (size_t g = 0; g < ng && !rc; g++) {
                const struct head *hg = &h[grp[g]];
                const struct xp_value *v = field(&hg->p, "value");
                const char *name = s->series[hg->series].name;
                /* a point without value whose fields have keys needs no
                 * null to be there */
                if (v || !hg->nxf)
                    rc = put_key_value(s, by_time, name, NULL, v, &first);
                for (size_t x = 0; x < hg->nxf && !rc; x++)
                    rc = put_key_value(s, by_time, name, hg->xf[x].key,
                                       &hg->xf[x].v, &first);
            }
            xp_buf_putc(b, '}');
            if (!rc && b->len > WSTREAM_MAX_LINE)
                xp_sink_drop(&s->base, s->a->base.ctx,
                            "W&B run '%s': a %s line of %zu bytes is over "
                            "W&B's limit and is not sent",
                            s->run_id, file, b->len);
            else if (!rc)
                rc = wstream_line(&s->fs, b->ptr, b->len);
        }
        for (size_t g = 0; g < ng && !rc; g++)
            rc = head_next(&h[grp[g]], &s->series[h[grp[g]].series],
                           by_time);
        if (!rc && xp_ctx_cancelled(s->a->base.ctx))
            rc = xp_error_set(XP_ECANCEL, "interrupted");
    }
    if (!rc)
        rc = wstream_flush(&s->fs);
    for (size_t i = 0; i < nh; i++) {
        xp_spool_iter_close(&h[i].it);
        if (h[i].xopen)
            xp_spool_iter_close(&h[i].xit);
        free(h[i].xf);
        xp_buf_release(&h[i].raw);
        xp_arena_release(&h[i].ar);
    }
    free(h);
    free(grp);
    return rc;
}

/* Console lines in file_stream's plain form: "ERROR " for stderr, the
 * time with microseconds (nanoseconds when the source has them), text. */
static int send_console(struct ws_sink *s)
{
    if (!s->have_logs || !xp_spool_count(s->spool, s->log_stream))
        return 0;
    struct xp_spool_iter it;
    int rc = xp_spool_iter_open(&it, s->spool, s->log_stream);
    if (rc)
        return rc;
    int64_t skip = s->overwrite ? 0 : s->have_logs_n;
    rc = wstream_begin(&s->fs, "output.log", skip);
    int64_t n = 0;
    while (!rc) {
        const void *data;
        size_t len;
        rc = xp_spool_iter_next(&it, &data, &len);
        if (rc == XP_ITEROVER) {
            rc = 0;
            break;
        }
        struct wlog_line l;
        if (rc || (rc = wline_decode(&l, data, len)))
            break;
        if (n++ < skip)
            continue;
        struct xp_buf *b = &s->line;
        xp_buf_reset(b);
        if (!l.stream)
            xp_buf_puts(b, "ERROR ");
        if (l.has_ts) {
            char iso[40];
            wtime_iso(iso, l.sec, 0);
            iso[strlen(iso) - 1] = '\0'; /* no Z */
            if (l.nanos % 1000)
                xp_buf_printf(b, "%s.%09" PRId32 " ", iso, l.nanos);
            else
                xp_buf_printf(b, "%s.%06" PRId32 " ", iso, l.nanos / 1000);
        }
        /* the Go core's legacy console format: "[label] " after the time
         * (core/internal/runconsolelogs/runlogschangemodel.go, LegacyFormat) */
        if (l.label) {
            xp_buf_putc(b, '[');
            xp_buf_put(b, l.label, l.label_len);
            xp_buf_puts(b, "] ");
        }
        xp_buf_put(b, l.text, l.len);
        rc = wstream_line(&s->fs, b->ptr, b->len);
    }
    xp_spool_iter_close(&it);
    if (!rc)
        rc = wstream_flush(&s->fs);
    return rc;
}

static int exit_code(struct ws_sink *s, int *complete)
{
    *complete = 1;
    struct json_object *ec = wapi_path(vendor_get(s, "exit"), "exit_code");
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
    int rc = ensure_run(s);
    int64_t hist = s->overwrite ? 0 : s->have_hist;
    int64_t events = s->overwrite ? 0 : s->have_events;
    if (!rc)
        rc = put_split_map(s);
    if (!rc)
        rc = send_rows(s, XP_SERIES_METRIC, "wandb-history.jsonl", hist);
    if (!rc)
        rc = send_rows(s, XP_SERIES_SYSTEM, "wandb-events.jsonl", events);
    if (!rc)
        rc = send_console(s);
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
    s->display_name = dup_or_null(m->name);
    s->notes = dup_or_null(m->description);
    s->group = dup_or_null(m->folder);
    s->status = dup_or_null(m->status);
    s->started_at = dup_or_null(m->started_at ? m->started_at
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
        rc = query_state(s, &state, &hold);
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
