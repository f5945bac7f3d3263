/* The W&B server reader's console: logLines (paged as the Go core pages
 * them, or one tail on servers before 0.77) or output.log, each line with
 * its stream, level, label and time (wandb_read.h). */
#define _GNU_SOURCE
#include "wandb_read.h"
#include "xport/iso8601.h"

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

/* "YYYY-MM-DDTHH:MM:SS[.f+][Z] " at s: its length (with the blank) or 0. */
static size_t parse_ts(const char *s, size_t n, int64_t *sec, int32_t *nanos)
{
    /* only the form W&B writes: 'T', '.', naive or 'Z' (no offsets) */
    enum xp_iso_zone z;
    size_t i = xp_iso8601_scan(s, n, sec, nanos, &z);
    if (!i || s[10] != 'T' || (i > 19 && s[19] == ',') || z == XP_ISO_OFFSET ||
        (z == XP_ISO_UTC && s[i - 1] != 'Z'))
        return 0;
    return i < n && s[i] == ' ' ? i + 1 : 0;
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
    int64_t num = wapi_node_int(node, "number", -1);
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
            *last_num = wapi_node_int(node, "number", *last_num);
    }
    return rc;
}

/* Legacy servers: one tail of every line the server counts (both
 * resolvers give the tail in ascending order). */
static int read_log_tail(struct ws_reader *r, struct logread *lr,
                         int64_t total)
{
    struct json_object *v = wsr_vars3(r, "runName"), *d = NULL;
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
        struct json_object *v = wsr_vars3(r, "runName"), *d = NULL;
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
        int64_t count = wapi_node_int(run, "logLineCount", total);
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
int wsr_read_console(struct ws_reader *r)
{
    int64_t total = wapi_node_int(r->run, "logLineCount", 0);
    if (total > 0)
        return read_log_lines(r, total);
    const struct rfile *f = wsr_find_file(r, "output.log");
    if (!f)
        return 0;
    char *path;
    int rc = wsr_download(r, f, &path);
    if (rc)
        return rc;
    rc = wsr_each_line(r, path, console_line);
    unlink(path);
    free(path);
    return rc;
}
