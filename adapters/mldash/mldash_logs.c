/* Reading an ml-dash experiment's log lines, a page at a time, with what
 * the writer kept apart for each line put back. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mldash_read.h"
#include "xport/error.h"
#include "xport/json.h"
#include "xport/typemark.h"

/* The line's stream and the fields its source lacked, as the extra x
 * (either form) says. */
static void log_stream_absent(struct xp_log_entry *l, struct json_object *x)
{
    const char *st = xp_json_str(x, "stream");
    if (st)
        l->stream = st;
    struct json_object *ab = xp_json_get(x, "absent");
    for (size_t i = 0; ab && json_object_is_type(ab, json_type_array) &&
                       i < json_object_array_length(ab); i++) {
        const char *f = json_object_get_string(json_object_array_get_idx(ab, i));
        if (f && !strcmp(f, "timestamp"))
            l->timestamp = NULL;
        else if (f && !strcmp(f, "level"))
            l->level = NULL;
    }
}

/* Undo what the writer put in a log line's metadata (mldash.h): the
 * stream, fields the source lacked, metadata it did not have. The extras
 * move from the metadata to the line's object, which outlives the entry. */
static void log_extras(struct xp_log_entry *l, struct json_object *e)
{
    struct json_object *x = xp_json_get(l->metadata, MLD_LOG_KEY);
    if (!x || !json_object_is_type(x, json_type_object))
        return;
    mld_take_extras(&l->metadata, MLD_LOG_KEY, e);
    log_stream_absent(l, x);
}

/* What the writer kept apart for the next log line (mldash.h): the extra
 * of its run in the experiment's types, or NULL. */
static struct json_object *log_extra(struct mld_reader *r)
{
    struct json_object *runs = xp_json_get(r->types, "logs");
    size_t n = json_object_is_type(runs, json_type_array) ? json_object_array_length(runs) : 0;
    while (r->log_run < n) {
        struct json_object *run = json_object_array_get_idx(runs, r->log_run);
        int64_t count = json_object_get_int64(json_object_array_get_idx(run, 0));
        if (r->log_in_run < count) {
            r->log_in_run++;
            struct json_object *x = json_object_array_get_idx(run, 1);
            return json_object_is_type(x, json_type_object) ? x : NULL;
        }
        r->log_run++;
        r->log_in_run = 0;
    }
    return NULL;
}

/* Apply the extra x to a line (the second form). */
static void log_apart(struct mld_reader *r, struct xp_log_entry *l, struct json_object *x)
{
    log_stream_absent(l, x);
    struct json_object *t = xp_json_get(x, "types");
    if (t && xp_typemark_tree_apply(l->metadata, t)) {
        xp_ctx_warn(r->m->base.ctx, "log metadata of '%s': %s; kept as the server holds it",
                    r->name, xp_error_last()->message);
        xp_error_clear();
    }
}

int mld_logs_next(struct mld_reader *r, int *have)
{
    *have = 0;
    if (r->logs_done)
        return 0;
    mld_url(&r->url, r->m, "/experiments/%s/logs?limit=%d&offset=%" PRId64
            "&orderBy=sequenceNumber&order=asc", r->id, r->m->log_batch, r->log_offset);
    json_object_put(r->doc);
    r->doc = NULL;
    int rc = mld_json(r->m, NULL, r->url.ptr, NULL, 0, &r->doc);
    if (rc)
        return xp_error_wrap(rc, "logs of '%s'", r->name);
    struct json_object *arr = xp_json_get(r->doc, "logs");
    size_t n = arr && json_object_is_type(arr, json_type_array)
                   ? json_object_array_length(arr) : 0;
    if (n == 0 || !json_object_get_boolean(xp_json_get(r->doc, "hasMore")))
        r->logs_done = 1;
    if (n == 0)
        return 0;
    free(r->logv);
    r->logv = xp_calloc(n, sizeof(*r->logv));
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(arr, i);
        struct xp_log_entry *l = &r->logv[i];
        int64_t seq;
        l->seq = mld_int(e, "sequenceNumber", &seq) ? r->log_offset + (int64_t)i : seq;
        l->timestamp = xp_json_str(e, "timestamp");
        l->level = xp_json_str(e, "level");
        struct json_object *msg = xp_json_get(e, "message");
        l->message = msg ? json_object_get_string(msg) : "";
        l->message_len = msg ? (size_t)json_object_get_string_len(msg) : 0;
        struct json_object *md = xp_json_get(e, "metadata");
        l->metadata = md && json_object_is_type(md, json_type_object) ? md : NULL;
        if (r->types) {
            log_apart(r, l, log_extra(r));
        } else {
            mld_unmark(r, l->metadata, "log metadata");
            log_extras(l, e);
        }
    }
    r->log_offset += (int64_t)n;
    r->rec.kind = XP_REC_LOGS;
    r->rec.u.logs.v = r->logv;
    r->rec.u.logs.n = n;
    *have = 1;
    return 0;
}
