/* The W&B server reader's history and system metrics: HistoryPage step
 * windows and wandb-events.jsonl (or events(samples:)) rows turned into
 * series (wandb_read.h). */
#define _GNU_SOURCE
#include "wandb_read.h"

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
    int rc = xp_json_parse_answer(&o, text, len, "history row", NULL);
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

/* One history row: like wdec_history in wandb_run_history.c, every
 * top-level key but _step, _timestamp and _runtime is a series, but for
 * the keys of split series, which are joined back. */
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
        struct xp_value step_v = fv[WPT_STEP];
        if (step && wmerge_stepless(&r->merge, k, &fv[WPT_STEP]))
            has[WPT_STEP] = 0;
        else if (step)
            wmerge_step_type(&r->merge, k, &fv[WPT_STEP]);
        rc = spool_point(w, &r->enc, idx, fv, has);
        has[WPT_STEP] = step;
        fv[WPT_STEP] = step_v;
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

/* The full history: windows [lo, lo+width) of steps asked with
 * samples = page. A window returning fewer rows than page was not sampled,
 * so the width may grow over sparse steps; a full answer from a window
 * wider than page may be a sample, so it is asked again narrower. A window
 * of page steps holds at most page rows: never sampled. */
int wsr_read_history(struct ws_reader *r)
{
    struct ws_adapter *a = r->a;
    int64_t last = -1;
    struct json_object *hk;
    int rc = wsr_json_string_field(&hk, r->run, "historyKeys");
    if (rc)
        return rc;
    if (hk) {
        last = wapi_node_int(hk, "lastStep", -1);
        json_object_put(hk);
    }
    int64_t lines = wapi_node_int(r->run, "historyLineCount", 0);
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
    while (lo <= last && !rc) {
        if (xp_ctx_cancelled(a->base.ctx))
            return xp_error_set(XP_ECANCEL, "interrupted");
        int64_t hi = width > INT64_MAX - lo ? INT64_MAX : lo + width;
        struct json_object *v = wsr_vars3(r, "run"), *d = NULL;
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
        if (hi == INT64_MAX) /* the last window: lo = hi would ask it forever */
            break;
        lo = hi;
        /* no cap below INT64_MAX: a lastStep far out (a step in ns, or
         * a hostile server's) must be reached in a few dozen pages */
        if ((int64_t)n < page / 2 && width <= INT64_MAX / 2)
            width *= 2;
    }
    if (!rc && lines > 0 && got < (uint64_t)lines && !r->only_series)
        xp_ctx_warn(a->base.ctx,
                    "W&B run '%s/%s/%s': read %" PRIu64 " history rows of "
                    "the %" PRId64 " the server counts",
                    r->entity, r->project, r->run_name, got, lines);
    return rc;
}

static int event_line(struct ws_reader *r, const char *s, size_t n, int nl)
{
    (void)nl;
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' '))
        n--;
    return n ? events_row(r, s, n) : 0;
}

int wsr_read_events(struct ws_reader *r)
{
    const struct rfile *f = wsr_find_file(r, "wandb-events.jsonl");
    if (f) {
        char *path;
        int rc = wsr_download(r, f, &path);
        if (rc)
            return rc;
        rc = wsr_each_line(r, path, event_line);
        unlink(path);
        free(path);
        return rc;
    }
    /* no events file: events(samples) with samples >= the line count is
     * every row */
    struct json_object *v = wsr_vars3(r, "name"), *d = NULL;
    int rc = wapi_gql(&r->a->api, "RunResumeStatus", Q_EVENTS_COUNT, v, &d);
    json_object_put(v);
    if (rc)
        return rc;
    int64_t count = wapi_node_int(wapi_path(d, "model.bucket"), "eventsLineCount", -1);
    json_object_put(d);
    d = NULL;
    if (count == 0)
        return 0;
    const int64_t samples = count > 0 ? count : 100000;
    v = wsr_vars3(r, "run");
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
