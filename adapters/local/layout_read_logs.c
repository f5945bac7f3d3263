/* Reading an experiment's log lines (logs/logs.jsonl) in batches. */
#include <string.h>

#include <json-c/json.h>

#include "layout_read.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"

/* ---- logs ---- */

int lr_read_logs(struct layout_reader *r)
{
    lr_release_held(r);
    size_t n = 0;
    while (n < LOG_BATCH) {
        struct json_object *o;
        int rc = lr_next_json_line(r, &o);
        if (rc == XP_ITEROVER)
            break;
        if (rc)
            return rc;
        r->held[r->nheld++] = o;
        struct xp_log_entry *e = &r->logs[n];
        memset(e, 0, sizeof(*e));
        struct json_object *seq = xp_json_get(o, "sequenceNumber"), *msg = xp_json_get(o, "message");
        e->seq = seq && json_object_is_type(seq, json_type_int)
                     ? json_object_get_int64(seq)
                     : r->lineno - 1;
        e->timestamp = xp_json_str(o, "timestamp");
        e->level = xp_json_str(o, "level");
        e->stream = xp_json_str(o, "stream");
        if (!msg || !json_object_is_type(msg, json_type_string))
            return xp_error_set(XP_EINVALID, "'%s' line %ld has no \"message\"",
                                r->fp_path, r->lineno);
        e->message = json_object_get_string(msg);
        e->message_len = (size_t)json_object_get_string_len(msg);
        struct json_object *md = xp_json_get(o, "metadata");
        e->metadata = md && !json_object_is_type(md, json_type_null) ? md : NULL;
        n++;
    }
    if (n == 0)
        return XP_ITEROVER;
    r->rec.kind = XP_REC_LOGS;
    r->rec.u.logs.v = r->logs;
    r->rec.u.logs.n = n;
    return 0;
}
