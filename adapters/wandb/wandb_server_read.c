/* Reading one run from a W&B server (wandb_server.h). The run is mapped
 * exactly as the wandb-offline reader maps the same run: its history rows
 * are transposed into one spool stream per key through the same struct wrun
 * and point encoding, and emitted by the same code (wandb_emit.h).
 *
 * History is read in full with the step-window scan of wandb.md §1.6 (3),
 * never the 500-row sample; system metrics come from the run file
 * wandb-events.jsonl (complete) or else events(samples:); console output
 * from output.log (§1.7); run files are checked against their base64 MD5
 * (§1.8); artifacts are their manifest's files, checked against each
 * entry's digest (§1.9), with their name, version, type, aliases,
 * description, metadata, tags and history step in the experiment's vendor
 * object ("artifacts"), where the W&B writer looks for them.
 *
 * xport's own run files (wandb_xfiles.h) are not files of the run: the
 * others file becomes the others document, each track file a track, and
 * the map of split series joins their keys back into one series each
 * (wandb_merge.h), which is why files are listed before history is read. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/iso8601.h"
#include "xport/jscan.h"
#include "xport/json.h"
#include "xport/spool.h"
#include "xport/sys/http.h"
#include "wandb_emit.h"
#include "wandb_merge.h"
#include "wandb_run.h"
#include "wandb_server.h"
#include "wandb_xfiles.h"
#include "wandb_read.h"

static const char Q_RUN[] =
    "query Run($project: String!, $entity: String!, $name: String!) { "
    "project(name: $project, entityName: $entity) { run(name: $name) { "
    "id tags name displayName sweepName state config group jobType commit "
    "createdAt heartbeatAt description notes summaryMetrics "
    "historyLineCount logLineCount historyKeys "
    "user { name username } } } }";

static void fill_experiment(struct ws_reader *r)
{
    struct json_object *n = r->run;
    struct xp_experiment_meta *e = &r->rec.u.exp;
    r->rec.kind = XP_REC_EXPERIMENT;
    e->workspace = r->entity;
    e->project = r->project;
    const char *dn = xp_json_str(n, "displayName");
    e->name = dn && *dn ? dn : r->run_name;
    const char *notes = xp_json_str(n, "notes");
    e->description = notes && *notes ? notes : NULL;
    e->tags = r->tags;
    e->ntags = r->ntags;
    e->status = ws_status_of_state(xp_json_str(n, "state"));
    e->created_at = xp_json_str(n, "createdAt");
    /* the run's own start, which the SDK (and xport's writer, since W&B
     * sets createdAt itself) keeps in config _wandb.start_time */
    struct json_object *st = wapi_path(r->w.config, "_wandb.value.start_time");
    if (!st)
        st = wapi_path(r->w.config, "_wandb.start_time");
    if (st && (json_object_is_type(st, json_type_double) ||
               json_object_is_type(st, json_type_int))) {
        double t = json_object_get_double(st);
        if (t > 0 && t < 1e11) {
            int64_t sec = (int64_t)t;
            /* a double holds an epoch time to about a microsecond */
            int32_t us = (int32_t)((t - (double)sec) * 1e6 + 0.5);
            if (us >= 1000000) {
                sec++;
                us -= 1000000;
            }
            xp_iso8601_format(r->started, sec, us * 1000, XP_ISO_TRIM);
            e->started_at = r->started;
        }
    }
    const char *g = xp_json_str(n, "group");
    e->folder = g && *g ? g : NULL;
    e->source_vendor = "wandb";
    e->source_id = r->run_name;
    e->vendor = r->vendor;
}

static struct json_object *build_vendor(struct ws_reader *r)
{
    static const char *const keys[] = {"id", "jobType", "sweepName",
                                       "commit", "state", "heartbeatAt",
                                       "description", "historyLineCount"};
    struct json_object *v = json_object_new_object();
    json_object_object_add(v, "run_id", json_object_new_string(r->run_name));
    json_object_object_add(v, "entity", json_object_new_string(r->entity));
    json_object_object_add(v, "project", json_object_new_string(r->project));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        struct json_object *x = wapi_path(r->run, keys[i]);
        if (x)
            json_object_object_add(v, keys[i], json_object_get(x));
    }
    const char *dn = xp_json_str(r->run, "displayName");
    if (dn)
        json_object_object_add(v, "display_name", json_object_new_string(dn));
    const char *jt = xp_json_str(r->run, "jobType");
    if (jt && *jt)
        json_object_object_add(v, "job_type", json_object_new_string(jt));
    struct json_object *user = wapi_path(r->run, "user");
    if (user)
        json_object_object_add(v, "user", json_object_get(user));
    struct json_object *w = wapi_path(r->w.config, "_wandb");
    if (w)
        json_object_object_add(v, "config_wandb", json_object_get(w));
    return v;
}

static int ws_next(struct xp_reader *base, const struct xp_record **out)
{
    struct ws_reader *r = (struct ws_reader *)base;
    int rc;
    wsr_drop_body(r);
    if (r->state != S_DONE && r->state != S_END &&
        xp_ctx_cancelled(r->a->base.ctx))
        return xp_error_set(XP_ECANCEL, "interrupted");
    memset(&r->rec, 0, sizeof(r->rec));
    *out = &r->rec;
    for (;;) {
        switch (r->state) {
        case S_EXP:
            fill_experiment(r);
            r->state = S_RUN;
            return 0;
        case S_RUN:
            rc = wemit_next(&r->em, &r->rec);
            if (rc < 0)
                return rc;
            if (rc)
                return 0;
            r->state = S_SPLIT;
            continue;
        case S_SPLIT:
            rc = wmerge_next(&r->merge, r->w.spool, &r->rec);
            if (rc < 0)
                return rc;
            if (rc)
                return 0;
            r->state = S_OTHERS;
            continue;
        case S_OTHERS:
            r->state = S_TRACKS;
            if (!r->others)
                continue;
            r->rec.kind = XP_REC_DOCUMENT;
            r->rec.u.doc.kind = XP_DOC_OTHERS;
            r->rec.u.doc.doc = r->others;
            return 0;
        case S_TRACKS:
            rc = wsr_next_track(r);
            if (rc < 0)
                return rc;
            if (rc)
                return 0;
            r->state = S_FILES;
            continue;
        case S_FILES:
            rc = r->only_series ? 0 : wsr_next_file(r);
            if (rc < 0)
                return rc;
            if (rc == 0) {
                r->state = S_END;
                continue;
            }
            return 0;
        case S_END:
            r->rec.kind = XP_REC_END;
            r->state = S_DONE;
            return 0;
        case S_DONE:
            *out = NULL;
            return XP_ITEROVER;
        }
    }
}

static void ws_reader_free(struct xp_reader *base)
{
    struct ws_reader *r = (struct ws_reader *)base;
    if (!r)
        return;
    wsr_drop_body(r);
    wemit_release(&r->em);
    wmerge_release(&r->merge);
    wrun_release(&r->w);
    json_object_put(r->run);
    json_object_put(r->vendor);
    if (r->trk_open)
        wxf_track_in_release(&r->trk);
    json_object_put(r->others);
    for (size_t i = 0; i < r->nfiles; i++) {
        if (r->files[i].local) {
            unlink(r->files[i].local);
            free(r->files[i].local);
        }
        free(r->files[i].name);
        free(r->files[i].url);
        free(r->files[i].md5);
        free(r->files[i].artifact);
        free(r->files[i].content_type);
    }
    free(r->files);
    free(r->tags);
    if (r->tmpdir) {
        xp_rm_rf(r->tmpdir);
        free(r->tmpdir);
    }
    free(r->rf);
    xp_buf_release(&r->row);
    xp_buf_release(&r->enc);
    xp_arena_release(&r->arena);
    free(r->entity);
    free(r->project);
    free(r->run_name);
    free(r);
}

/* A JSONString field holding an object replaces *slot; anything else
 * leaves *slot (an empty object) as it is. */
static int object_field(struct json_object **slot, struct json_object *node,
                        const char *key)
{
    struct json_object *o;
    int rc = wsr_json_string_field(&o, node, key);
    if (o && json_object_is_type(o, json_type_object)) {
        json_object_put(*slot);
        *slot = o;
    } else {
        json_object_put(o);
    }
    return rc;
}

static int load_run(struct ws_reader *r)
{
    struct json_object *v = wsr_vars3(r, "name"), *d = NULL;
    int rc = wapi_gql(&r->a->api, "Run", Q_RUN, v, &d);
    json_object_put(v);
    if (rc)
        return rc;
    struct json_object *run = wapi_path(d, "project.run");
    if (!run) {
        json_object_put(d);
        return xp_error_set(XP_ENOTFOUND, "no W&B run '%s/%s/%s'", r->entity,
                            r->project, r->run_name);
    }
    r->run = json_object_get(run);
    json_object_put(d);
    if ((rc = object_field(&r->w.config, r->run, "config")) ||
        (rc = object_field(&r->w.summary, r->run, "summaryMetrics")))
        return xp_error_wrap(rc, "W&B run '%s/%s/%s'", r->entity, r->project,
                             r->run_name);
    struct json_object *tags = wapi_path(r->run, "tags");
    size_t nt = tags && json_object_is_type(tags, json_type_array)
                    ? json_object_array_length(tags) : 0;
    r->tags = xp_calloc(nt + 1, sizeof(*r->tags));
    for (size_t i = 0; i < nt; i++) {
        const char *t = json_object_get_string(json_object_array_get_idx(tags, i));
        if (t)
            r->tags[r->ntags++] = t;
    }
    r->vendor = build_vendor(r);
    return 0;
}

int ws_read_experiment(struct xp_reader **out, struct xp_adapter *base,
                       const struct xp_experiment_ref *ref,
                       const struct xp_read_opts *ro)
{
    struct ws_adapter *a = (struct ws_adapter *)base;
    *out = NULL;
    if (!ref || !ref->key || !ref->workspace || !ref->project)
        return xp_error_set(XP_EINVALID, "a W&B run needs entity, project "
                                         "and run id");
    struct ws_reader *r = xp_calloc(1, sizeof(*r));
    r->base.version = XP_READER_VERSION;
    r->base.next = ws_next;
    r->base.free = ws_reader_free;
    r->a = a;
    r->body.fd = -1;
    xp_buf_init(&r->row);
    xp_buf_init(&r->enc);
    r->entity = xp_strdup(ref->workspace);
    r->project = xp_strdup(ref->project);
    r->run_name = xp_strdup(ref->key);
    r->resources = ro && ro->resources ? ro->resources : XP_RES_ALL;
    r->only_series = ro ? ro->only_series : NULL;
    if (ro)
        r->ro = *ro;
    struct xp_buf where = XP_BUF_INIT;
    xp_buf_printf(&where, "wandb:%s/%s/%s", r->entity, r->project,
                  r->run_name);
    int rc = wrun_init(&r->w, where.ptr, r->resources, r->only_series,
                       base->ctx);
    xp_buf_release(&where);
    wemit_init(&r->em, &r->w);
    wmerge_init(&r->merge);
    if (!rc)
        rc = load_run(r);
    unsigned res = r->resources;
    /* metrics and others too: tracks, the others document and the map of
     * split series are files; the map is needed before the rows */
    if (!rc && (res & (XP_RES_FILES | XP_RES_LOGS | XP_RES_SYSTEM |
                       XP_RES_METRICS | XP_RES_OTHERS)))
        rc = wsr_list_files(r);
    if (!rc)
        rc = wsr_load_xfiles(r);
    if (!rc && (res & XP_RES_METRICS))
        rc = wsr_read_history(r);
    if (!rc && (res & XP_RES_SYSTEM))
        rc = wsr_read_events(r);
    if (!rc && (res & XP_RES_LOGS) && !r->only_series)
        rc = wsr_read_console(r);
    if (!rc && (res & XP_RES_ARTIFACTS) && !r->only_series)
        rc = wsr_list_artifacts(r);
    if (rc) {
        ws_reader_free(&r->base);
        return rc;
    }
    *out = &r->base;
    return 0;
}
