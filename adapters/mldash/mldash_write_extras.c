/* What the ml-dash writer carries in metadata for what the server has no
 * field for (mldash.h): the summary and others documents, a log line's
 * stream and absent fields, a series' kind, and the exact value types. */
#define _GNU_SOURCE
#include <string.h>

#include <json-c/json.h>

#include "mldash_write.h"
#include "xport/json.h"
#include "xport/typemark.h"

/* A shallow copy of metadata (or a new object) with the extras x under
 * key (mldash.h); x also says when the source had no metadata, so that the
 * reader can give back none rather than an empty object. */
struct json_object *mld_carry(struct json_object *md, const char *key,
                              struct json_object *x)
{
    if (!md)
        json_object_object_add(x, "nometa", json_object_new_boolean(1));
    struct json_object *c = json_object_new_object();
    if (md) {
        json_object_object_foreach(md, k, mv) json_object_object_add(c, k, json_object_get(mv));
    }
    json_object_object_add(c, key, x);
    return c;
}

/* Metadata md as sent, the types it and others carry (MLD_TYPES_KEY)
 * added: types holds what else needs marks, and gets md's own marks and a
 * member of md that has the key's name. need: write the types even when
 * nothing needs a mark. Takes md and types. */
static struct json_object *with_types(struct json_object *md, struct json_object *marks,
                                      struct json_object *types, int need)
{
    if (marks)
        json_object_object_add(types, "metadata", marks);
    struct json_object *own = xp_json_get(md, MLD_TYPES_KEY);
    if (own) {
        json_object_object_add(types, "own", json_object_get(own));
        json_object_object_del(md, MLD_TYPES_KEY);
    }
    if (!need && json_object_object_length(types) == 0) {
        json_object_put(types);
        return md;
    }
    if (!md) {
        md = json_object_new_object();
        json_object_object_add(types, "nometa", json_object_new_boolean(1));
    }
    json_object_object_add(md, MLD_TYPES_KEY, types);
    return md;
}

/* Experiment metadata as sent: the source's, plus the summary and others
 * documents, which ml-dash has no place for (their values marked in the
 * first form: they are xport's own member), plus the exact types of the
 * metadata, the parameters and the log lines. */
struct json_object *mld_exp_metadata(struct mld_sink *s)
{
    struct json_object *marks = NULL;
    struct json_object *md = s->metadata ? xp_typemark_tree_split(s->metadata, &marks)
                                         : NULL;
    if (s->summary || s->others) {
        struct json_object *d = json_object_new_object();
        if (s->summary)
            json_object_object_add(d, "summary", json_object_get(s->summary));
        if (s->others)
            json_object_object_add(d, "others", json_object_get(s->others));
        struct json_object *e = xp_typemark_tree_encode(d);
        json_object_put(d);
        struct json_object *c = mld_carry(md, MLD_DOCS_KEY, e);
        json_object_put(md);
        md = c;
    }
    struct json_object *types = json_object_new_object();
    if (s->param_marks)
        json_object_object_add(types, "parameters", json_object_get(s->param_marks));
    if (s->log_extra)
        json_object_object_add(types, "logs", json_object_get(s->log_runs));
    int need = s->mentions || (s->metadata &&
                                xp_typemark_tree_mentions(s->metadata, XP_TYPEMARK_KEY));
    return with_types(md, marks, types, need);
}

/* Log metadata as sent (plain); *extra gets what the line carries apart
 * (mldash.h, MLD_TYPES_KEY "logs"): its stream, which of timestamp and
 * level the source lacked (the server would fill them in), the types of
 * its metadata; NULL when none. */
struct json_object *mld_log_metadata(const struct xp_log_entry *e,
                                     struct json_object **extra)
{
    struct json_object *marks = NULL;
    struct json_object *md = e->metadata ? xp_typemark_tree_split(e->metadata, &marks)
                                         : NULL;
    *extra = NULL;
    if (!e->stream && e->timestamp && e->level && !marks)
        return md;
    struct json_object *x = json_object_new_object();
    if (e->stream)
        json_object_object_add(x, "stream", json_object_new_string(e->stream));
    if (!e->timestamp || !e->level) {
        struct json_object *a = json_object_new_array();
        if (!e->timestamp)
            json_object_array_add(a, json_object_new_string("timestamp"));
        if (!e->level)
            json_object_array_add(a, json_object_new_string("level"));
        json_object_object_add(x, "absent", a);
    }
    if (marks)
        json_object_object_add(x, "types", marks);
    *extra = x;
    return md;
}

/* One more log line sent with extra (or none): the runs grow. */
void mld_log_run(struct mld_sink *s, struct json_object *extra)
{
    const char *t = extra ? json_object_to_json_string_ext(extra, JSON_C_TO_STRING_PLAIN)
                          : "null";
    size_t n = json_object_array_length(s->log_runs);
    struct json_object *last = n ? json_object_array_get_idx(s->log_runs, n - 1) : NULL;
    if (last && s->log_last.len == strlen(t) && !memcmp(s->log_last.ptr, t, s->log_last.len)) {
        int64_t k = json_object_get_int64(json_object_array_get_idx(last, 0));
        json_object_array_put_idx(last, 0, json_object_new_int64(k + 1));
        return;
    }
    xp_buf_reset(&s->log_last);
    xp_buf_puts(&s->log_last, t);
    struct json_object *run = json_object_new_array();
    json_object_array_add(run, json_object_new_int64(1));
    json_object_array_add(run, json_object_get(extra));
    json_object_array_add(s->log_runs, run);
    s->log_extra |= extra != NULL;
}

/* The members that create the metric with its description and metadata;
 * a system series or track says what it was (mldash.h), and the types of
 * its points and metadata go along (MLD_TYPES_KEY). */
char *mld_series_head(const struct wseries *w)
{
    struct json_object *marks = NULL;
    struct json_object *md = w->metadata ? xp_typemark_tree_split(w->metadata, &marks)
                                         : NULL;
    if (w->kind != XP_SERIES_METRIC) {
        struct json_object *x = json_object_new_object();
        json_object_object_add(x, "kind", json_object_new_string(
                                              w->kind == XP_SERIES_TRACK ? "track" : "system"));
        json_object_object_add(x, "name", json_object_new_string(w->src_name));
        struct json_object *c = mld_carry(md, MLD_SERIES_KEY, x);
        json_object_put(md);
        md = c;
    }
    struct json_object *types = json_object_new_object();
    struct json_object *pm = xp_tmcols_marks(w->cols);
    if (pm)
        json_object_object_add(types, "points", pm);
    md = with_types(md, marks, types,
                    w->metadata && xp_typemark_tree_mentions(w->metadata, XP_TYPEMARK_KEY));
    struct xp_buf h = XP_BUF_INIT;
    int rc = 0;
    if (w->description) {
        xp_buf_puts(&h, ",\"description\":");
        rc = xp_json_put_str(&h, w->description, strlen(w->description), "description");
    }
    if (!rc && md) {
        xp_buf_puts(&h, ",\"metadata\":");
        rc = xp_json_put_obj(&h, md, 0);
    }
    json_object_put(md);
    if (rc) {
        xp_buf_release(&h);
        return NULL;
    }
    return xp_buf_detach(&h);
}
