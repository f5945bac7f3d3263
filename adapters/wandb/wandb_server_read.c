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
#include "xport/jscan.h"
#include "xport/json.h"
#include "xport/spool.h"
#include "xport/sys/http.h"
#include "wandb_emit.h"
#include "wandb_merge.h"
#include "wandb_run.h"
#include "wandb_server.h"
#include "wandb_xfiles.h"

static const char Q_RUN[] =
    "query Run($project: String!, $entity: String!, $name: String!) { "
    "project(name: $project, entityName: $entity) { run(name: $name) { "
    "id tags name displayName sweepName state config group jobType commit "
    "createdAt heartbeatAt description notes summaryMetrics "
    "historyLineCount logLineCount historyKeys "
    "user { name username } } } }";

/* The console, as the Go core reads it (core/api/graphql/
 * query_run_console_logs.graphql): forward pages need useImprovedPagination
 * (server 0.77+); without it the legacy resolver ignores `first` and reads
 * `after` as a backward offset from the end, so a server that rejects the
 * argument is read with one tail of logLineCount lines. */
static const char Q_LOG_PAGE[] =
    "query RunConsoleLogPage($entity: String!, $project: String!, "
    "$runName: String!, $first: Int, $after: String) { "
    "project(name: $project, entityName: $entity) { run(name: $runName) { "
    "logLineCount logLines(first: $first, after: $after, "
    "useImprovedPagination: true) { edges { node { number timestamp level "
    "label line } } pageInfo { endCursor hasNextPage } } } } }";

static const char Q_LOG_TAIL[] =
    "query RunConsoleLogTail($entity: String!, $project: String!, "
    "$runName: String!, $last: Int!) { "
    "project(name: $project, entityName: $entity) { run(name: $runName) { "
    "logLineCount logLines(last: $last) { edges { node { number timestamp "
    "level label line } } } } } }";


static const char Q_HISTORY[] =
    "query HistoryPage($entity: String!, $project: String!, $run: String!, "
    "$minStep: Int64!, $maxStep: Int64!, $pageSize: Int!) { "
    "project(name: $project, entityName: $entity) { run(name: $run) { "
    "history(minStep: $minStep, maxStep: $maxStep, samples: $pageSize) } } }";

/* the count of events rows, as the Go core's RunResumeStatus asks for it */
static const char Q_EVENTS_COUNT[] =
    "query RunResumeStatus($project: String, $entity: String, $name: String!) "
    "{ model(name: $project, entityName: $entity) { bucket(name: $name, "
    "missingOk: true) { eventsLineCount } } }";

static const char Q_EVENTS[] =
    "query RunFullHistory($entity: String!, $project: String!, $run: String!, "
    "$samples: Int!) { project(name: $project, entityName: $entity) { "
    "run(name: $run) { events(samples: $samples) } } }";

static const char Q_FILES[] =
    "query RunFiles($project: String!, $entity: String!, $name: String!, "
    "$fileCursor: String, $fileLimit: Int = 50) { "
    "project(name: $project, entityName: $entity) { run(name: $name) { "
    "fileCount files(after: $fileCursor, first: $fileLimit) { "
    "edges { node { id name url directUrl sizeBytes mimetype updatedAt md5 } "
    "} pageInfo { endCursor hasNextPage } } } } }";

static const char Q_ARTIFACTS[] =
    "query RunOutputArtifacts($entity: String!, $project: String!, "
    "$run: String!, $cursor: String, $perPage: Int) { "
    "project(entityName: $entity, name: $project) { run(name: $run) { "
    "artifacts: outputArtifacts(after: $cursor, first: $perPage) { "
    "pageInfo { endCursor hasNextPage } edges { node { id "
    "artifactSequence { name } versionIndex artifactType { name } digest "
    "description metadata historyStep tags { name } aliases { alias } } "
    "} } } } }";

static const char Q_MANIFEST[] =
    "query ArtifactManifest($artifact_id: ID!) { artifact(id: $artifact_id) "
    "{ currentManifest { file { directUrl } } } }";

static const char Q_ARTIFACT_FILES[] =
    "query ArtifactFileURLs($id: ID!, $cursor: String, $perPage: Int) { "
    "artifact(id: $id) { files(after: $cursor, first: $perPage) { "
    "pageInfo { endCursor hasNextPage } "
    "edges { node { name directUrl } } } } }";

/* Run files that are the server's rendering of file_stream data; their
 * content comes out as history, system series, logs and summary. */
static int is_stream_file(const char *name)
{
    return !strcmp(name, "output.log") || !strcmp(name, "wandb-summary.json") ||
           !strcmp(name, "wandb-history.jsonl") ||
           !strcmp(name, "wandb-events.jsonl");
}

enum rkind { RF_PLAIN, RF_OTHERS, RF_TRACK, RF_FIELDS };

struct rfile {
    char *name, *url, *md5, *artifact, *content_type;
    int64_t size;
    int auth; /* the URL is W&B-served: send the key */
    enum rkind kind;
    char *local; /* xport's own files: downloaded here */
};

enum rstate { S_EXP, S_RUN, S_SPLIT, S_OTHERS, S_TRACKS, S_FILES, S_END,
              S_DONE };

struct ws_reader {
    struct xp_reader base;
    struct ws_adapter *a;
    char *entity, *project, *run_name;
    unsigned resources;
    const char *only_series;
    struct xp_read_opts ro;
    struct json_object *run;     /* the Run node */
    struct json_object *vendor;
    char started[40];            /* from config _wandb.start_time, or "" */
    struct wrun w;
    struct wemit em;
    struct wmerge merge;         /* split series, from xport/fields.json */
    enum rstate state;
    struct xp_record rec;
    const char **tags;
    size_t ntags;
    char *tmpdir;
    struct rfile *files;
    size_t nfiles, capfiles, next_file;
    struct wemit_body body;
    char sha[65];
    char *body_path;
    struct json_object *others;  /* from xport/others.json */
    size_t next_track;
    struct wxf_track_in trk;
    int trk_open;
    /* scratch for rows */
    struct xp_field *rf;
    size_t rfcap;
    struct xp_buf row;
    struct xp_buf enc;
    struct xp_arena arena;
};

/* ---- helpers ------------------------------------------------------------ */

static struct json_object *vars3(struct ws_reader *r, const char *runkey)
{
    struct json_object *v = json_object_new_object();
    json_object_object_add(v, "entity", json_object_new_string(r->entity));
    json_object_object_add(v, "project", json_object_new_string(r->project));
    json_object_object_add(v, runkey, json_object_new_string(r->run_name));
    return v;
}

/* A JSONString field: a string holding JSON, or (lenient) the JSON itself. */
static struct json_object *json_string_field(struct json_object *node,
                                             const char *key)
{
    struct json_object *f = wapi_path(node, key);
    if (!f)
        return NULL;
    if (!json_object_is_type(f, json_type_string))
        return json_object_get(f);
    struct json_object *o = NULL;
    if (xp_json_parse(&o, json_object_get_string(f),
                      (size_t)json_object_get_string_len(f), key)) {
        xp_error_clear();
        return NULL;
    }
    return o;
}

static void add_file(struct ws_reader *r, const char *name, const char *url,
                     int auth, const char *md5, int64_t size,
                     const char *artifact, const char *ctype)
{
    if (r->nfiles == r->capfiles) {
        r->capfiles = r->capfiles ? r->capfiles * 2 : 16;
        r->files = xp_realloc(r->files, r->capfiles * sizeof(*r->files));
    }
    struct rfile *f = &r->files[r->nfiles++];
    memset(f, 0, sizeof(*f));
    f->name = xp_strdup(name);
    f->url = xp_strdup(url);
    f->auth = auth;
    f->md5 = md5 && *md5 ? xp_strdup(md5) : NULL;
    f->size = size;
    f->artifact = artifact ? xp_strdup(artifact) : NULL;
    f->content_type = ctype && *ctype ? xp_strdup(ctype) : NULL;
    f->kind = artifact             ? RF_PLAIN
              : wxf_is_others(name) ? RF_OTHERS
              : wxf_is_track(name)  ? RF_TRACK
              : wxf_is_fields(name) ? RF_FIELDS
                                    : RF_PLAIN;
}

static int ensure_tmpdir(struct ws_reader *r)
{
    if (r->tmpdir)
        return 0;
    return xp_tempdir(&r->tmpdir, "xport-wandb");
}

/* Download a file into the reader's temporary folder; *path gets it. */
static int download(struct ws_reader *r, const struct rfile *f, char **path)
{
    int rc = ensure_tmpdir(r);
    if (rc)
        return rc;
    static unsigned long seq;
    struct xp_buf p = XP_BUF_INIT;
    xp_buf_printf(&p, "%s/f%lu", r->tmpdir,
                  __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
    struct xp_http_request req = {
        .url = f->url,
        .out_path = p.ptr,
        .expect_md5 = f->md5,
        .flags = f->auth ? 0 : XP_HTTP_NO_AUTH,
        .cred = f->auth ? r->a->api.cred : NULL,
    };
    struct xp_http_response resp = XP_HTTP_RESPONSE_INIT;
    rc = xp_http_request(r->a->api.http, &req, &resp);
    xp_http_response_release(&resp);
    if (rc) {
        rc = xp_error_wrap(rc, "downloading '%s' of W&B run '%s/%s/%s'",
                           f->name, r->entity, r->project, r->run_name);
        xp_buf_release(&p);
        return rc;
    }
    *path = xp_buf_detach(&p);
    return 0;
}

static const struct rfile *find_file(struct ws_reader *r, const char *name)
{
    for (size_t i = 0; i < r->nfiles; i++)
        if (!r->files[i].artifact && r->files[i].kind == RF_PLAIN &&
            !strcmp(r->files[i].name, name))
            return &r->files[i];
    return NULL;
}

/* ---- rows -> series ----------------------------------------------------- */

static int wanted(const struct ws_reader *r, const char *name)
{
    return !r->only_series || !strcmp(r->only_series, name);
}

/* Parse one row object into r->rf (fields borrowed from r->row / arena). */
static int scan_row(struct ws_reader *r, const char *text, size_t len,
                    size_t *n, struct json_object **hold)
{
    *hold = NULL;
    xp_buf_reset(&r->row);
    xp_buf_put(&r->row, text, len);
    if (!r->rfcap) {
        r->rfcap = 256;
        r->rf = xp_calloc(r->rfcap, sizeof(*r->rf));
    }
    for (;;) {
        int rc = xp_jscan_object(r->row.ptr, r->row.len, r->rf, r->rfcap, n);
        if (!rc)
            return 0;
        if (r->rfcap >= 65536)
            break;
        /* maybe just too many keys: retry wider before falling back */
        r->rfcap *= 4;
        r->rf = xp_realloc(r->rf, r->rfcap * sizeof(*r->rf));
        xp_buf_reset(&r->row);
        xp_buf_put(&r->row, text, len);
    }
    /* the scanner refused it: json-c says what is wrong, or reads it */
    struct json_object *o;
    int rc = xp_json_parse(&o, text, len, "history row");
    if (rc)
        return rc;
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return xp_error_set(XP_EINVALID, "a history row is not an object");
    }
    size_t i = 0;
    json_object_object_foreach(o, k, v) {
        if (i == r->rfcap)
            break;
        r->rf[i].key = k;
        if ((rc = xp_value_from_json(&r->rf[i].v, v, &r->arena))) {
            json_object_put(o);
            return rc;
        }
        i++;
    }
    *n = i;
    *hold = o;
    return 0;
}

static int spool_point(struct wrun *w, struct xp_buf *enc, size_t idx,
                       const struct xp_value fv[WPT_NKEYS],
                       const int has[WPT_NKEYS])
{
    xp_buf_reset(enc);
    wpt_encode(enc, fv, has);
    return xp_spool_put(w->spool, w->series[idx].stream, enc->ptr, enc->len);
}

/* One history row: like decode_history in wandb_run.c, every top-level key
 * but _step, _timestamp and _runtime is a series, but for the keys of split
 * series, which are joined back. */
static int history_row(struct ws_reader *r, const char *text, size_t len,
                       int64_t *step_out)
{
    struct wrun *w = &r->w;
    size_t n;
    struct json_object *hold;
    int rc = scan_row(r, text, len, &n, &hold);
    if (rc)
        return rc;
    struct xp_value fv[WPT_NKEYS];
    int has[WPT_NKEYS] = {0};
    memset(fv, 0, sizeof(fv));
    for (size_t i = 0; i < n; i++) {
        const char *k = r->rf[i].key;
        const struct xp_value *v = &r->rf[i].v;
        if (!strcmp(k, "_step"))
            wrow_special(fv, has, WPT_STEP, v);
        else if (!strcmp(k, "_timestamp"))
            wrow_special(fv, has, WPT_TIMESTAMP, v);
        else if (!strcmp(k, "_runtime"))
            wrow_special(fv, has, WPT_RUNTIME, v);
    }
    *step_out = wrun_row_end(w, fv, has, NULL);
    for (size_t i = 0; i < n && !rc; i++) {
        const char *k = r->rf[i].key;
        if (!strcmp(k, "_step") || !strcmp(k, "_timestamp") ||
            !strcmp(k, "_runtime") ||
            wmerge_take(&r->merge, XP_SERIES_METRIC, k, &r->rf[i].v,
                        r->only_series) ||
            !wanted(r, k))
            continue;
        size_t idx;
        if ((rc = wrun_series_get(w, XP_SERIES_METRIC, k, strlen(k), &idx)))
            break;
        fv[WPT_VALUE] = r->rf[i].v;
        /* a step W&B needed where the point had none is left out */
        int step = has[WPT_STEP];
        if (step && wmerge_stepless(&r->merge, k, &fv[WPT_STEP]))
            has[WPT_STEP] = 0;
        rc = spool_point(w, &r->enc, idx, fv, has);
        has[WPT_STEP] = step;
    }
    if (!rc)
        rc = wmerge_row_end(&r->merge, w->spool, fv, has);
    json_object_put(hold);
    xp_arena_reset(&r->arena);
    return rc;
}

/* One events row: system.<key> values with _timestamp (and _runtime), as
 * the offline reader maps stats records. */
static int events_row(struct ws_reader *r, const char *text, size_t len)
{
    struct wrun *w = &r->w;
    size_t n;
    struct json_object *hold;
    int rc = scan_row(r, text, len, &n, &hold);
    if (rc)
        return rc;
    struct xp_value fv[WPT_NKEYS];
    int has[WPT_NKEYS] = {0};
    memset(fv, 0, sizeof(fv));
    for (size_t i = 0; i < n; i++) {
        const struct xp_value *v = &r->rf[i].v;
        if (!strcmp(r->rf[i].key, "_timestamp") &&
            (v->type == XP_V_INT || v->type == XP_V_FLOAT)) {
            fv[WPT_TIMESTAMP].type = XP_V_FLOAT;
            fv[WPT_TIMESTAMP].u.d = v->type == XP_V_INT ? (double)v->u.i
                                                         : v->u.d;
            has[WPT_TIMESTAMP] = 1;
        } else if (!strcmp(r->rf[i].key, "_runtime")) {
            fv[WPT_RUNTIME] = *v;
            has[WPT_RUNTIME] = 1;
        }
    }
    has[WPT_VALUE] = 1;
    for (size_t i = 0; i < n && !rc; i++) {
        const char *k = r->rf[i].key;
        if (k[0] == '_')
            continue;
        if (!strncmp(k, "system.", 7))
            k += 7; /* the server's prefix (wandb.md §1.6) */
        if (wmerge_take(&r->merge, XP_SERIES_SYSTEM, k, &r->rf[i].v,
                        r->only_series) ||
            !wanted(r, k))
            continue;
        size_t idx;
        if ((rc = wrun_series_get(w, XP_SERIES_SYSTEM, k, strlen(k), &idx)))
            break;
        fv[WPT_VALUE] = r->rf[i].v;
        rc = spool_point(w, &r->enc, idx, fv, has);
    }
    if (!rc)
        rc = wmerge_row_end(&r->merge, w->spool, fv, has);
    json_object_put(hold);
    xp_arena_reset(&r->arena);
    return rc;
}

static int64_t node_int(struct json_object *o, const char *key, int64_t def)
{
    struct json_object *v = wapi_path(o, key);
    if (!v)
        return def;
    if (json_object_is_type(v, json_type_string)) {
        char *end;
        long long x = strtoll(json_object_get_string(v), &end, 10);
        return *end ? def : (int64_t)x;
    }
    return json_object_get_int64(v);
}

/* The full history: windows [lo, lo+width) of steps asked with
 * samples = page. A window returning fewer rows than page was not sampled,
 * so the width may grow over sparse steps; a full answer from a window
 * wider than page may be a sample, so it is asked again narrower. A window
 * of page steps holds at most page rows: never sampled. */
static int read_history(struct ws_reader *r)
{
    struct ws_adapter *a = r->a;
    int64_t last = -1;
    struct json_object *hk = json_string_field(r->run, "historyKeys");
    if (hk) {
        last = node_int(hk, "lastStep", -1);
        json_object_put(hk);
    }
    int64_t lines = node_int(r->run, "historyLineCount", 0);
    struct json_object *ss = wapi_path(r->w.summary, "_step");
    if (ss && json_object_is_type(ss, json_type_int) &&
        json_object_get_int64(ss) > last)
        last = json_object_get_int64(ss);
    if (last < lines - 1)
        last = lines - 1;
    if (last < 0)
        return 0;
    const int64_t page = a->history_page;
    int64_t lo = 0, width = page;
    uint64_t got = 0;
    int rc = 0;
    while (lo <= last && !rc) {
        if (xp_ctx_cancelled(a->base.ctx))
            return xp_error_set(XP_ECANCEL, "interrupted");
        int64_t hi = width > INT64_MAX - lo ? INT64_MAX : lo + width;
        struct json_object *v = vars3(r, "run"), *d = NULL;
        json_object_object_add(v, "minStep", json_object_new_int64(lo));
        json_object_object_add(v, "maxStep", json_object_new_int64(hi));
        json_object_object_add(v, "pageSize", json_object_new_int64(page));
        rc = wapi_gql(&a->api, "HistoryPage", Q_HISTORY, v, &d);
        json_object_put(v);
        if (rc)
            break;
        struct json_object *rows = wapi_path(d, "project.run.history");
        size_t n = rows && json_object_is_type(rows, json_type_array)
                       ? json_object_array_length(rows) : 0;
        if ((int64_t)n >= page && width > page) {
            json_object_put(d);
            width = width / 4 > page ? width / 4 : page;
            continue;
        }
        for (size_t i = 0; i < n && !rc; i++) {
            struct json_object *row = json_object_array_get_idx(rows, i);
            int64_t step;
            if (json_object_is_type(row, json_type_string)) {
                rc = history_row(r, json_object_get_string(row),
                                 (size_t)json_object_get_string_len(row),
                                 &step);
            } else {
                /* some servers hand rows back as objects */
                struct xp_buf t = XP_BUF_INIT;
                rc = xp_json_put_obj(&t, row, 0);
                if (!rc)
                    rc = history_row(r, t.ptr, t.len, &step);
                xp_buf_release(&t);
            }
            got++;
        }
        json_object_put(d);
        lo = hi;
        if ((int64_t)n < page / 2 && width < ((int64_t)1 << 40))
            width *= 2;
    }
    if (!rc && lines > 0 && got < (uint64_t)lines && !r->only_series)
        xp_ctx_warn(a->base.ctx,
                    "W&B run '%s/%s/%s': read %" PRIu64 " history rows of "
                    "the %" PRId64 " the server counts",
                    r->entity, r->project, r->run_name, got, lines);
    return rc;
}

/* Call fn for each line of a downloaded file. */
static int each_line(struct ws_reader *r, const char *path,
                     int (*fn)(struct ws_reader *, const char *, size_t, int))
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return xp_error_set_os(XP_EIO, "cannot open '%s'", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (!rc && (n = getline(&line, &cap, fp)) > 0) {
        int nl = line[n - 1] == '\n';
        rc = fn(r, line, (size_t)n - (size_t)nl, nl);
    }
    free(line);
    fclose(fp);
    return rc;
}

static int event_line(struct ws_reader *r, const char *s, size_t n, int nl)
{
    (void)nl;
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' '))
        n--;
    return n ? events_row(r, s, n) : 0;
}

static int read_events(struct ws_reader *r)
{
    const struct rfile *f = find_file(r, "wandb-events.jsonl");
    if (f) {
        char *path;
        int rc = download(r, f, &path);
        if (rc)
            return rc;
        rc = each_line(r, path, event_line);
        unlink(path);
        free(path);
        return rc;
    }
    /* no events file: events(samples) with samples >= the line count is
     * every row */
    struct json_object *v = vars3(r, "name"), *d = NULL;
    int rc = wapi_gql(&r->a->api, "RunResumeStatus", Q_EVENTS_COUNT, v, &d);
    json_object_put(v);
    if (rc)
        return rc;
    int64_t count = node_int(wapi_path(d, "model.bucket"), "eventsLineCount", -1);
    json_object_put(d);
    d = NULL;
    if (count == 0)
        return 0;
    const int64_t samples = count > 0 ? count : 100000;
    v = vars3(r, "run");
    json_object_object_add(v, "samples", json_object_new_int64(samples));
    rc = wapi_gql(&r->a->api, "RunFullHistory", Q_EVENTS, v, &d);
    json_object_put(v);
    if (rc)
        return rc;
    struct json_object *rows = wapi_path(d, "project.run.events");
    size_t n = rows && json_object_is_type(rows, json_type_array)
                   ? json_object_array_length(rows) : 0;
    for (size_t i = 0; i < n && !rc; i++) {
        struct json_object *row = json_object_array_get_idx(rows, i);
        if (json_object_is_type(row, json_type_string))
            rc = events_row(r, json_object_get_string(row),
                            (size_t)json_object_get_string_len(row));
    }
    if (!rc && count < 0 && n >= (size_t)samples)
        xp_ctx_warn(r->a->base.ctx,
                    "W&B run '%s/%s/%s': system metrics may be sampled "
                    "(no wandb-events.jsonl)",
                    r->entity, r->project, r->run_name);
    json_object_put(d);
    return rc;
}

/* ---- console ------------------------------------------------------------ */

static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* "YYYY-MM-DDTHH:MM:SS[.f+][Z] " at s: its length (with the blank) or 0. */
static size_t parse_ts(const char *s, size_t n, int64_t *sec, int32_t *nanos)
{
    if (n < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) ||
        s[7] != '-' || !digits(s + 8, 2) || s[10] != 'T' ||
        !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) ||
        s[16] != ':' || !digits(s + 17, 2))
        return 0;
    struct tm tm = {0};
    tm.tm_year = atoi(s) - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    tm.tm_hour = atoi(s + 11);
    tm.tm_min = atoi(s + 14);
    tm.tm_sec = atoi(s + 17);
    size_t i = 19;
    int32_t ns = 0;
    if (i < n && s[i] == '.') {
        int nd = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++)
            if (nd < 9)
                ns = ns * 10 + (s[i] - '0');
        for (; nd < 9; nd++)
            ns *= 10;
    }
    if (i < n && s[i] == 'Z')
        i++;
    if (i >= n || s[i] != ' ')
        return 0;
    *sec = (int64_t)timegm(&tm);
    *nanos = ns;
    return i + 1;
}

/* Spool one console line. */
static int spool_line(struct ws_reader *r, const struct wlog_line *l)
{
    struct wrun *w = &r->w;
    if (!w->have_log_stream) {
        int rc = xp_spool_add(w->spool, &w->log_stream);
        if (rc)
            return rc;
        w->have_log_stream = 1;
    }
    xp_buf_reset(&r->enc);
    wline_encode(&r->enc, l);
    w->nlogs++;
    return xp_spool_put(w->spool, w->log_stream, r->enc.ptr, r->enc.len);
}

/* One output.log line in file_stream's plain form (wandb.md §1.7):
 * ["ERROR "] [timestamp " "] ["[label] "] text. */
static int console_line(struct ws_reader *r, const char *s, size_t n, int nl)
{
    struct wlog_line l;
    memset(&l, 0, sizeof(l));
    l.stream = 1;
    if (n >= 6 && !memcmp(s, "ERROR ", 6) &&
        parse_ts(s + 6, n - 6, &l.sec, &l.nanos)) {
        l.stream = 0;
        s += 6;
        n -= 6;
    }
    size_t t = parse_ts(s, n, &l.sec, &l.nanos);
    if (t) {
        l.has_ts = 1;
        s += t;
        n -= t;
    }
    if (!xp_utf8_valid(s, n))
        return xp_error_set(XP_EINVALID, "output.log of W&B run '%s' is not "
                                         "UTF-8", r->run_name);
    l.text = s;
    l.len = n;
    /* W&B keeps whole lines; a progress bar's '\r'-ended segment was a
     * partial line at the source (the offline reader marks it so) */
    l.newline = nl && !(n && s[n - 1] == '\r');
    return spool_line(r, &l);
}

/* The level a logLines node gives names stderr output: the Go core and the
 * Python SDK send stderr lines as "ERROR ..." (wandb/sdk/internal/
 * file_stream.py, CRDedupeFilePolicy), which the server reads as level
 * error. */
static int level_is_stderr(const char *s, size_t n)
{
    return (n == 5 && !strncasecmp(s, "error", 5)) ||
           (n == 5 && !strncasecmp(s, "fatal", 5)) ||
           (n == 6 && !strncasecmp(s, "stderr", 6));
}

struct logread {
    struct ws_reader *r;
    int64_t last;  /* the number of the last line taken, -1 before any */
    int64_t taken;
};

/* One logLines node (number, timestamp, level, label, line): taken once,
 * in order of number. A node with neither level nor timestamp is a line
 * in file_stream's plain form. */
static int log_node(struct logread *lr, struct json_object *node)
{
    struct json_object *line = wapi_path(node, "line");
    if (!line)
        return 0;
    int64_t num = node_int(node, "number", -1);
    if (num >= 0) {
        if (num <= lr->last)
            return 0; /* given again: each line once */
        lr->last = num;
    }
    lr->taken++;
    const char *s = json_object_get_string(line);
    size_t n = (size_t)json_object_get_string_len(line);
    const char *level = xp_json_str(node, "level");
    const char *label = xp_json_str(node, "label");
    const char *ts = xp_json_str(node, "timestamp");
    if (!level && !ts)
        return console_line(lr->r, s, n, 1);
    if (!xp_utf8_valid(s, n))
        return xp_error_set(XP_EINVALID, "console line of W&B run '%s' is "
                            "not UTF-8", lr->r->run_name);
    struct wlog_line l;
    memset(&l, 0, sizeof(l));
    l.newline = !(n && s[n - 1] == '\r');
    l.text = s;
    l.len = n;
    if (level && *level) {
        l.level = level;
        l.level_len = strlen(level);
    }
    l.stream = !(level && level_is_stderr(level, l.level_len));
    if (label && *label) {
        l.label = label;
        l.label_len = strlen(label);
    }
    if (ts) {
        struct xp_buf t = XP_BUF_INIT;
        xp_buf_printf(&t, "%s ", ts);
        l.has_ts = parse_ts(t.ptr, t.len, &l.sec, &l.nanos) == t.len;
        xp_buf_release(&t);
    }
    return spool_line(lr->r, &l);
}

static int log_edges(struct logread *lr, struct json_object *conn,
                     int64_t *last_num)
{
    struct json_object *edges = wapi_path(conn, "edges");
    size_t n = edges && json_object_is_type(edges, json_type_array)
                   ? json_object_array_length(edges) : 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        struct json_object *node =
            wapi_path(json_object_array_get_idx(edges, i), "node");
        rc = log_node(lr, node);
        if (last_num)
            *last_num = node_int(node, "number", *last_num);
    }
    return rc;
}

/* Legacy servers: one tail of every line the server counts (both
 * resolvers give the tail in ascending order). */
static int read_log_tail(struct ws_reader *r, struct logread *lr,
                         int64_t total)
{
    struct json_object *v = vars3(r, "runName"), *d = NULL;
    json_object_object_add(v, "last", json_object_new_int64(total));
    int rc = wapi_gql(&r->a->api, "RunConsoleLogTail", Q_LOG_TAIL, v, &d);
    json_object_put(v);
    if (rc)
        return rc;
    rc = log_edges(lr, wapi_path(d, "project.run.logLines"), NULL);
    json_object_put(d);
    if (!rc && lr->taken < total)
        rc = xp_error_set(XP_ERROR, "W&B gave %lld of the %lld console lines "
                          "of run '%s/%s/%s' (a server before 0.77 cannot "
                          "page them from the start)",
                          (long long)lr->taken, (long long)total, r->entity,
                          r->project, r->run_name);
    return rc;
}

/* The console's logLines, each line once and in order (wandb.md §1.7). */
static int read_log_lines(struct ws_reader *r, int64_t total)
{
    struct logread lr = {.r = r, .last = -1};
    struct wapi *api = &r->a->api;
    if (api->log_paging < 0)
        return read_log_tail(r, &lr, total);
    char *after = NULL;
    int rc = 0;
    for (;;) {
        struct json_object *v = vars3(r, "runName"), *d = NULL;
        json_object_object_add(v, "first", json_object_new_int(r->a->log_page));
        if (after)
            json_object_object_add(v, "after", json_object_new_string(after));
        rc = wapi_gql(api, "RunConsoleLogPage", Q_LOG_PAGE, v, &d);
        json_object_put(v);
        const char *field;
        if (rc == XP_ENOFIELD && !after && !lr.taken &&
            (xp_gql_missing(&field, NULL), !strcmp(field, "useImprovedPagination"))) {
            /* a server before 0.77: learned once per run of xport */
            xp_error_clear();
            api->log_paging = -1;
            rc = read_log_tail(r, &lr, total);
            break;
        }
        if (rc)
            break;
        api->log_paging = 1;
        struct json_object *run = wapi_path(d, "project.run");
        struct json_object *conn = wapi_path(run, "logLines");
        int64_t count = node_int(run, "logLineCount", total);
        int64_t last_num = -1;
        rc = log_edges(&lr, conn, &last_num);
        const char *end = xp_json_str(wapi_path(conn, "pageInfo"), "endCursor");
        struct json_object *hn = wapi_path(conn, "pageInfo.hasNextPage");
        /* the server may cut a page short and say there is no next one
         * in the middle of the log: line numbers tell (runhandler.go,
         * pageHasNextLines) */
        int more = (hn && json_object_get_boolean(hn)) ||
                   (last_num >= 0 && last_num + 1 < count);
        if (!rc && more && end && *end && after && !strcmp(after, end))
            rc = xp_error_set(XP_ERROR, "W&B gave the same console page of "
                              "run '%s' twice", r->run_name);
        if (rc || !more || !end || !*end) {
            json_object_put(d);
            break;
        }
        free(after);
        after = xp_strdup(end);
        json_object_put(d);
    }
    free(after);
    return rc;
}

/* The console: the logLines the server counts, else output.log. */
static int read_console(struct ws_reader *r)
{
    int64_t total = node_int(r->run, "logLineCount", 0);
    if (total > 0)
        return read_log_lines(r, total);
    const struct rfile *f = find_file(r, "output.log");
    if (!f)
        return 0;
    char *path;
    int rc = download(r, f, &path);
    if (rc)
        return rc;
    rc = each_line(r, path, console_line);
    unlink(path);
    free(path);
    return rc;
}

/* ---- files and artifacts ------------------------------------------------ */

static int one_file(struct json_object *node, void *arg)
{
    struct ws_reader *r = arg;
    const char *name = xp_json_str(node, "name");
    const char *direct = xp_json_str(node, "directUrl");
    const char *url = xp_json_str(node, "url");
    if (!name || (!direct && !url))
        return 0;
    if (!xp_relpath_safe(name)) {
        xp_ctx_warn(r->a->base.ctx,
                    "W&B run '%s': skipping a file with an unsafe name", r->run_name);
        return 0;
    }
    add_file(r, name, direct ? direct : url, !direct, xp_json_str(node, "md5"),
             node_int(node, "sizeBytes", -1), NULL, xp_json_str(node, "mimetype"));
    return 0;
}

static int list_files(struct ws_reader *r)
{
    struct json_object *v = vars3(r, "name");
    int rc = wapi_each_node(&r->a->api, "RunFiles", Q_FILES, v, "fileLimit",
                            r->a->per_page, "fileCursor", "project.run.files", NULL,
                            NULL, one_file, r);
    json_object_put(v);
    return rc;
}

/* What the layout keeps of an artifact besides its files, in the vendor
 * object's "artifacts" list: the W&B writer makes it again from there. */
static void vendor_artifact(struct ws_reader *r, struct json_object *node,
                            const char *seq)
{
    struct json_object *e = json_object_new_object();
    json_object_object_add(e, "name", json_object_new_string(seq));
    struct xp_buf v = XP_BUF_INIT;
    xp_buf_printf(&v, "v%" PRId64, node_int(node, "versionIndex", 0));
    json_object_object_add(e, "version", json_object_new_string(v.ptr));
    xp_buf_release(&v);
    const char *type = xp_json_str(wapi_path(node, "artifactType"), "name");
    if (type)
        json_object_object_add(e, "type", json_object_new_string(type));
    struct json_object *al = json_object_new_array();
    struct json_object *src = wapi_path(node, "aliases");
    size_t n = src && json_object_is_type(src, json_type_array)
                   ? json_object_array_length(src) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *a = xp_json_str(json_object_array_get_idx(src, i), "alias");
        if (a)
            json_object_array_add(al, json_object_new_string(a));
    }
    json_object_object_add(e, "aliases", al);
    const char *desc = xp_json_str(node, "description");
    if (desc)
        json_object_object_add(e, "description", json_object_new_string(desc));
    struct json_object *md = json_string_field(node, "metadata");
    if (md && json_object_is_type(md, json_type_object))
        json_object_object_add(e, "metadata", md);
    else
        json_object_put(md);
    src = wapi_path(node, "tags");
    n = src && json_object_is_type(src, json_type_array)
            ? json_object_array_length(src) : 0;
    if (n) {
        struct json_object *tl = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
            const char *t = xp_json_str(json_object_array_get_idx(src, i),
                                        "name");
            if (t)
                json_object_array_add(tl, json_object_new_string(t));
        }
        json_object_object_add(e, "tags", tl);
    }
    struct json_object *hs = wapi_path(node, "historyStep");
    if (hs && json_object_is_type(hs, json_type_int))
        json_object_object_add(e, "historyStep", json_object_get(hs));
    const char *dg = xp_json_str(node, "digest");
    if (dg)
        json_object_object_add(e, "digest", json_object_new_string(dg));
    struct json_object *list = wapi_path(r->vendor, "artifacts");
    if (!list) {
        list = json_object_new_array();
        json_object_object_add(r->vendor, "artifacts", list);
    }
    json_object_array_add(list, e);
}

static int one_file_url(struct json_object *node, void *arg)
{
    const char *nm = xp_json_str(node, "name");
    const char *u = xp_json_str(node, "directUrl");
    if (nm && u)
        json_object_object_add(arg, nm, json_object_new_string(u));
    return 0;
}

/* The artifact's manifest (wandb.md §1.9): path -> digest, size. */
static int artifact_files(struct ws_reader *r, struct json_object *node)
{
    const char *id = xp_json_str(node, "id");
    const char *seq = xp_json_str(wapi_path(node, "artifactSequence"), "name");
    if (!id || !seq)
        return 0;
    struct json_object *mv = json_object_new_object(), *md = NULL;
    json_object_object_add(mv, "artifact_id", json_object_new_string(id));
    int mrc = wapi_gql(&r->a->api, "ArtifactManifest", Q_MANIFEST, mv, &md);
    json_object_put(mv);
    if (mrc)
        return mrc;
    const char *murl = xp_json_str(wapi_path(md, "artifact.currentManifest.file"),
                                   "directUrl");
    if (!murl) {
        json_object_put(md);
        return 0;
    }
    vendor_artifact(r, node, seq);
    struct xp_buf label = XP_BUF_INIT;
    xp_buf_printf(&label, "%s:v%" PRId64, seq,
                  node_int(node, "versionIndex", 0));
    struct rfile mf = {.name = "wandb_manifest.json", .url = (char *)murl};
    char *mpath = NULL;
    struct json_object *man = NULL, *urls = json_object_new_object();
    int rc = download(r, &mf, &mpath);
    if (!rc)
        rc = xp_json_read_file(&man, mpath);
    /* the files' download URLs */
    if (!rc) {
        struct json_object *v = json_object_new_object();
        json_object_object_add(v, "id", json_object_new_string(id));
        rc = wapi_each_node(&r->a->api, "ArtifactFileURLs", Q_ARTIFACT_FILES, v,
                            "perPage", r->a->per_page, "cursor", "artifact.files",
                            NULL, NULL,
                            one_file_url, urls);
        json_object_put(v);
    }
    struct json_object *contents = wapi_path(man, "contents");
    if (!rc && contents && json_object_is_type(contents, json_type_object)) {
        json_object_object_foreach(contents, path, entry) {
            const char *u = xp_json_str(urls, path);
            if (xp_json_str(entry, "ref")) {
                xp_ctx_warn(r->a->base.ctx,
                            "W&B artifact '%s': '%s' is a reference to '%s', "
                            "not downloaded",
                            label.ptr, path, xp_json_str(entry, "ref"));
                continue;
            }
            if (!u || !xp_relpath_safe(path)) {
                xp_ctx_warn(r->a->base.ctx,
                            "W&B artifact '%s': no download for '%s'",
                            label.ptr, path);
                continue;
            }
            add_file(r, path, u, 0, xp_json_str(entry, "digest"),
                     node_int(entry, "size", -1), label.ptr, NULL);
        }
    }
    if (mpath) {
        unlink(mpath);
        free(mpath);
    }
    json_object_put(man);
    json_object_put(urls);
    json_object_put(md);
    xp_buf_release(&label);
    return rc;
}

static int one_artifact(struct json_object *node, void *arg)
{
    return artifact_files(arg, node);
}

static int list_artifacts(struct ws_reader *r)
{
    struct json_object *v = vars3(r, "run");
    int rc = wapi_each_node(&r->a->api, "RunOutputArtifacts", Q_ARTIFACTS, v, "perPage",
                            r->a->per_page, "cursor", "project.run.artifacts", NULL, NULL,
                            one_artifact, r);
    json_object_put(v);
    return rc;
}

/* A file with a reserved name whose reading said XP_EINVALID (the message
 * says why) is not xport's: it is read as a plain run file, with a
 * warning. Other results pass through. */
static int not_xport_file(struct ws_reader *r, struct rfile *f, int rc)
{
    if (rc != XP_EINVALID)
        return rc;
    xp_ctx_warn(r->a->base.ctx, "W&B run '%s': %s; it is read as a file",
                r->run_name, xp_error_last()->message);
    xp_error_clear();
    f->kind = RF_PLAIN;
    return 0;
}

/* xport's own run files (wandb_xfiles.h), fetched before the records
 * start: the others document, the map of split series, and the tracks
 * (checked, read later). One that does not read as such stays a plain run
 * file. */
static int load_xfiles(struct ws_reader *r)
{
    int rc = 0;
    for (size_t i = 0; i < r->nfiles && !rc; i++) {
        struct rfile *f = &r->files[i];
        int want = f->kind == RF_OTHERS
                       ? (r->resources & XP_RES_OTHERS) && !r->only_series
                   : f->kind == RF_TRACK ? (r->resources & XP_RES_METRICS) != 0
                   : f->kind == RF_FIELDS
                       ? (r->resources & (XP_RES_METRICS | XP_RES_SYSTEM)) != 0
                       : 0;
        if (!want)
            continue;
        char *path = NULL;
        if ((rc = download(r, f, &path)))
            break;
        if (f->kind == RF_OTHERS) {
            struct json_object *o = NULL;
            if (xp_json_read_file(&o, path) == 0 &&
                json_object_is_type(o, json_type_object)) {
                json_object_put(r->others);
                r->others = o;
            } else {
                xp_error_clear();
                json_object_put(o);
                f->kind = RF_PLAIN;
                xp_ctx_warn(r->a->base.ctx,
                            "W&B run '%s': '%s' is not an others document "
                            "written by xport; it is read as a file",
                            r->run_name, f->name);
            }
            unlink(path);
            free(path);
            continue;
        }
        if (f->kind == RF_FIELDS) {
            rc = not_xport_file(r, f, wmerge_load(&r->merge, path, f->name,
                                                  r->a->base.ctx));
            unlink(path);
            free(path);
            continue;
        }
        struct wxf_track_in t;
        rc = not_xport_file(r, f, wxf_track_in_open(&t, path, f->name));
        if (!rc && f->kind == RF_TRACK &&
            (!r->only_series || !strcmp(r->only_series, t.name))) {
            f->local = path;
            path = NULL;
        }
        wxf_track_in_release(&t);
        if (path) {
            unlink(path);
            free(path);
        }
    }
    return rc;
}

/* The next record of the tracks: 1 with r->rec set, 0 when none is left. */
static int next_track(struct ws_reader *r)
{
    for (;;) {
        if (r->trk_open) {
            const struct xp_point *v;
            size_t n;
            int rc = wxf_track_in_next(&r->trk, &v, &n);
            if (rc == 0) {
                r->rec.kind = XP_REC_POINTS;
                r->rec.u.points.v = v;
                r->rec.u.points.n = n;
                return 1;
            }
            if (rc != XP_ITEROVER)
                return rc;
            wxf_track_in_release(&r->trk);
            r->trk_open = 0;
            r->rec.kind = XP_REC_SERIES_END;
            return 1;
        }
        struct rfile *f = NULL;
        while (r->next_track < r->nfiles && !f) {
            struct rfile *c = &r->files[r->next_track++];
            if (c->kind == RF_TRACK && c->local)
                f = c;
        }
        if (!f)
            return 0;
        int rc = wxf_track_in_open(&r->trk, f->local, f->name);
        r->trk_open = 1;
        if (rc)
            return rc;
        if (r->ro.have_item) {
            struct xp_buf key = XP_BUF_INIT;
            xp_buf_printf(&key, "tracks/%s", r->trk.name);
            int have = r->ro.have_item(r->ro.have_payload, key.ptr);
            xp_buf_release(&key);
            if (have) {
                wxf_track_in_release(&r->trk);
                r->trk_open = 0;
                continue;
            }
        }
        r->rec.kind = XP_REC_SERIES_BEGIN;
        struct xp_series_meta *m = &r->rec.u.series;
        m->name = r->trk.name;
        m->kind = XP_SERIES_TRACK;
        m->description = r->trk.description;
        m->metadata = r->trk.metadata;
        m->expected_points = -1;
        return 1;
    }
}

static void drop_body(struct ws_reader *r)
{
    wemit_body_close(&r->body);
    if (r->body_path) {
        unlink(r->body_path);
        free(r->body_path);
        r->body_path = NULL;
    }
}

/* The next file to emit: 1 with r->rec set, 0 when none is left. */
static int next_file(struct ws_reader *r)
{
    while (r->next_file < r->nfiles) {
        const struct rfile *f = &r->files[r->next_file++];
        if (f->kind != RF_PLAIN || (!f->artifact && is_stream_file(f->name)))
            continue;
        if (f->artifact ? !(r->resources & XP_RES_ARTIFACTS)
                        : !(r->resources & XP_RES_FILES))
            continue;
        if (r->ro.have_item) {
            struct xp_buf key = XP_BUF_INIT;
            if (f->artifact)
                xp_buf_printf(&key, "artifacts/%s/%s", f->artifact, f->name);
            else
                xp_buf_printf(&key, "files/%s", f->name);
            int have = r->ro.have_item(r->ro.have_payload, key.ptr);
            xp_buf_release(&key);
            if (have)
                continue;
        }
        int rc = download(r, f, &r->body_path);
        if (rc)
            return rc;
        int fd = open(r->body_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return xp_error_set_os(XP_EIO, "cannot open '%s'", r->body_path);
        int64_t size;
        if ((rc = wemit_body_open(&r->body, fd, f->name, r->sha, &size)))
            return rc;
        memset(&r->rec, 0, sizeof(r->rec));
        r->rec.kind = XP_REC_FILE;
        struct xp_file_meta *m = &r->rec.u.file.meta;
        m->path = f->name;
        m->size = size;
        m->sha256 = r->sha;
        m->vendor_checksum_algo = f->md5 ? "md5" : NULL;
        m->vendor_checksum = f->md5;
        m->content_type = f->content_type;
        m->artifact = f->artifact;
        r->rec.u.file.body = &r->body.base;
        return 1;
    }
    return 0;
}

/* ---- the record stream ---------------------------------------------------- */

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
            wtime_iso(r->started, sec, us * 1000);
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
    drop_body(r);
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
            rc = next_track(r);
            if (rc < 0)
                return rc;
            if (rc)
                return 0;
            r->state = S_FILES;
            continue;
        case S_FILES:
            rc = r->only_series ? 0 : next_file(r);
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
    drop_body(r);
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
static void object_field(struct json_object **slot, struct json_object *node,
                         const char *key)
{
    struct json_object *o = json_string_field(node, key);
    if (o && json_object_is_type(o, json_type_object)) {
        json_object_put(*slot);
        *slot = o;
    } else {
        json_object_put(o);
    }
}

static int load_run(struct ws_reader *r)
{
    struct json_object *v = vars3(r, "name"), *d = NULL;
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
    object_field(&r->w.config, r->run, "config");
    object_field(&r->w.summary, r->run, "summaryMetrics");
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
        rc = list_files(r);
    if (!rc)
        rc = load_xfiles(r);
    if (!rc && (res & XP_RES_METRICS))
        rc = read_history(r);
    if (!rc && (res & XP_RES_SYSTEM))
        rc = read_events(r);
    if (!rc && (res & XP_RES_LOGS) && !r->only_series)
        rc = read_console(r);
    if (!rc && (res & XP_RES_ARTIFACTS) && !r->only_series)
        rc = list_artifacts(r);
    if (rc) {
        ws_reader_free(&r->base);
        return rc;
    }
    *out = &r->base;
    return 0;
}
