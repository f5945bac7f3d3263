/* The W&B server writer's run and its files (wandb_write.h): what the
 * server already has of the run (RunResumeStatus, RunState), UpsertBucket
 * with the run's config, and run files, the others document and tracks
 * uploaded through createRunFiles and a PUT. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xport/error.h"
#include "xport/fs.h"
#include "xport/iso8601.h"
#include "xport/json.h"
#include "xport/stream.h"
#include "wandb_upload.h"
#include "wandb_write.h"

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

/* ---- the run ------------------------------------------------------------ */

static struct json_object *run_vars(struct ws_sink *s)
{
    struct json_object *v = json_object_new_object();
    json_object_object_add(v, "entity", json_object_new_string(s->entity));
    json_object_object_add(v, "project", json_object_new_string(s->project));
    json_object_object_add(v, "name", json_object_new_string(s->run_id));
    return v;
}

/* What the server already has of this run. */
int wsw_query_state(struct ws_sink *s, const char **state_out,
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
    s->have_hist = wapi_node_int(run, "historyLineCount", 0);
    s->have_events = wapi_node_int(run, "eventsLineCount", 0);
    s->have_logs_n = wapi_node_int(run, "logLineCount", 0);
    return 0;
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
    struct json_object *cw = wsw_vendor(s, "config_wandb");
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
        int64_t sec;
        int32_t ns;
        if (!xp_iso8601_parse(s->started_at, &sec, &ns))
            json_object_object_add(wb, "start_time",
                                   json_object_new_double((double)sec + ns / 1e9));
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

int wsw_ensure_run(struct ws_sink *s)
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
    add_str(v, "commit", xp_json_str(wsw_vendor(s, "git"), "commit"));
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
        s->have_hist = wapi_node_int(bucket, "historyLineCount", 0);
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

int wsw_ensure_tmpdir(struct ws_sink *s)
{
    return s->tmpdir ? 0 : xp_tempdir(&s->tmpdir, "xport-wandb-up");
}

/* A fresh path in the sink's temporary folder (caller frees). */
char *wsw_tmp_path(struct ws_sink *s, const char *what)
{
    struct xp_buf p = XP_BUF_INIT;
    xp_buf_printf(&p, "%s/%s-%lu", s->tmpdir, what, ++s->tmpseq);
    return xp_buf_detach(&p);
}

/* Upload the file at path as run file name, then remove it. */
int wsw_upload(struct ws_sink *s, const char *name, const char *path)
{
    int rc = wsw_ensure_run(s);
    if (!rc)
        rc = wup_run_file(&s->a->api, s->entity, s->project, s->run_id, name,
                          path);
    unlink(path);
    return rc;
}

int wsw_put_file(struct ws_sink *s, const struct xp_record *rec)
{
    const struct xp_file_meta *m = &rec->u.file.meta;
    int rc = wsw_ensure_tmpdir(s);
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
    char *tmp = wsw_tmp_path(s, "file");
    rc = xp_stream_save(rec->u.file.body, tmp, NULL, NULL, s->a->base.ctx);
    if (!rc)
        rc = wsw_upload(s, m->path, tmp);
    unlink(tmp);
    free(tmp);
    return rc;
}

/* The others document as xport/others.json. */
int wsw_put_others(struct ws_sink *s, struct json_object *doc)
{
    int rc = wsw_ensure_tmpdir(s);
    if (rc)
        return rc;
    char *tmp = wsw_tmp_path(s, "others");
    rc = wxf_others_write(tmp, doc);
    if (!rc)
        rc = wsw_upload(s, WXF_OTHERS, tmp);
    unlink(tmp);
    free(tmp);
    return rc;
}

/* A track as xport/tracks/<name>.jsonl: written while its points arrive,
 * uploaded at its end. */
int wsw_track_begin(struct ws_sink *s, const struct xp_series_meta *m)
{
    int rc = wsw_ensure_tmpdir(s);
    if (rc)
        return rc;
    char *tmp = wsw_tmp_path(s, "track");
    rc = wxf_track_open(&s->track, tmp, m);
    free(tmp);
    s->in_track = 1;
    return rc;
}

int wsw_track_end(struct ws_sink *s)
{
    s->in_track = 0;
    struct xp_buf name = XP_BUF_INIT;
    int rc = wxf_track_close(&s->track);
    if (!rc)
        rc = wxf_track_file(&name, s->track.name);
    if (!rc)
        rc = wsw_upload(s, name.ptr, s->track.path);
    if (rc)
        rc = xp_error_wrap(rc, "track '%s'", s->track.name);
    unlink(s->track.path);
    wxf_track_out_release(&s->track);
    xp_buf_release(&name);
    return rc;
}
