/* The mldash-local adapter: writes the ml-dash v0.6 local store
 * (mldash.md 2.2), ROOT/owner/project/folders.../experiment/, so the
 * ml-dash SDK (and xport's local adapter) can open what xport copied.
 *
 * Checked against the SDK v0.6.27 itself (tests/mldash/check_sdk_store.py):
 * it finds everything at ROOT/<prefix> and a metric at metrics/<name>, so
 * names are written as they are wherever ml-dash could write them, and
 * "prefix" is exactly the experiment's path. A name that cannot be one safe
 * segment ('/', "..", a leading '.', ...) is encoded whole by
 * xp_name_encode, so nothing escapes ROOT; the real names stay in
 * experiment.json and metadata.json. An experiment is built in
 * ROOT/.xport/staging/<key>/ and moved into place with one rename after
 * every file is fsynced, like the xport layout writer, so the store only
 * ever holds complete experiments. Names on disk are in
 * mldash_local_names.c, series in mldash_local_series.c, files in
 * mldash_local_files.c. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <json-c/json.h>

#include "mldash_local.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/iso8601.h"
#include "xport/lines.h"
#include "xport/stage.h"
#include "xport/sysio.h"

static int sink_fail(struct lsink *s, int rc)
{
    if (!s->err)
        s->err = rc ? rc : XP_ERROR;
    return s->err;
}

/* ---- experiment.json ---- */

static struct json_object *vendor_field(const struct xp_experiment_meta *m,
                                        const char *key)
{
    struct json_object *v = NULL;
    if (m->vendor && json_object_is_type(m->vendor, json_type_object) &&
        json_object_object_get_ex(m->vendor, key, &v) && v)
        return json_object_get(v);
    return NULL;
}

/* 1 when the folder is what the prefix says (its segments joined by '/'):
 * otherwise (a v0.5 "/a/b", empty segments) experiment.json keeps it as
 * "folder" too, which ml-dash's readers ignore and the local adapter
 * prefers. */
static int folder_in_prefix(const char *f)
{
    if (!*f || *f == '/' || f[strlen(f) - 1] == '/')
        return 0;
    return strstr(f, "//") == NULL;
}

static struct json_object *build_experiment(struct lsink *s,
                                            const struct xp_experiment_meta *m)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(m->name));
    json_object_object_add(o, "project", json_object_new_string(m->project));
    json_object_object_add(o, "description", mlocal_str_or_null(m->description));
    struct json_object *tags = json_object_new_array();
    for (size_t i = 0; i < m->ntags; i++)
        json_object_array_add(tags, json_object_new_string(m->tags[i]));
    json_object_object_add(o, "tags", tags);
    struct json_object *b = vendor_field(m, "bindrs");
    json_object_object_add(o, "bindrs", b ? b : json_object_new_array());
    json_object_object_add(o, "prefix", json_object_new_string(s->prefix));
    json_object_object_add(o, "metadata",
                           m->metadata ? json_object_get(m->metadata) : NULL);
    json_object_object_add(o, "created_at",
                           json_object_new_string(m->created_at ? m->created_at : s->now));
    struct json_object *wp = vendor_field(m, "write_protected");
    json_object_object_add(o, "write_protected", wp ? wp : json_object_new_boolean(0));
    /* not in a fresh SDK store, but ml-dash has these and its readers
     * ignore keys they do not use: keep them rather than lose them */
    if (m->status)
        json_object_object_add(o, "status", json_object_new_string(m->status));
    if (m->started_at)
        json_object_object_add(o, "started_at", json_object_new_string(m->started_at));
    if (m->ended_at)
        json_object_object_add(o, "ended_at", json_object_new_string(m->ended_at));
    if (m->folder && !folder_in_prefix(m->folder))
        json_object_object_add(o, "folder", json_object_new_string(m->folder));
    return o;
}

static int put_doc(struct lsink *s, enum xp_doc_kind k, struct json_object *doc,
                   const char *created_at, const char *updated_at)
{
    if (k != XP_DOC_PARAMETERS) {
        xp_sink_drop(&s->base, s->ml->base.ctx, "%s: %s not written: an ml-dash store has no "
                    "place for it", s->name, k == XP_DOC_SUMMARY ? "summary" : "others");
        return 0;
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "version", json_object_new_int(1));
    json_object_object_add(o, "data", json_object_get(doc));
    json_object_object_add(o, "createdAt", mlocal_time_or_now(s, created_at));
    json_object_object_add(o, "updatedAt",
                           mlocal_time_or_now(s, updated_at ? updated_at : created_at));
    int rc = mlocal_stage_json(s, "parameters.json", o);
    json_object_put(o);
    return rc;
}

/* ---- logs ---- */

static int put_logs(struct lsink *s, const struct xp_log_entry *v, size_t n)
{
    int rc = 0;
    if (!s->logs_open) {
        char *dir = xp_path_join(s->stage.dir, "logs");
        rc = xp_afile_open_in(&s->logs, dir, "logs.jsonl");
        free(dir);
        if (rc)
            return rc;
        s->logs_open = 1;
    }
    /* a line without a timestamp or level stays so (the server writer
     * leaves them out too): the SDK's only reader of this file, upload,
     * needs just "message" and sends level "info" for a line without */
    return xp_loglines_write(&s->logs, &s->line, v, n, &s->next_seq);
}

static int sink_put(struct xp_sink *base, const struct xp_record *r)
{
    struct lsink *s = (struct lsink *)base;
    if (s->err)
        return s->err;
    int rc = 0;
    switch (r->kind) {
    case XP_REC_EXPERIMENT:
    case XP_REC_END:
        break;
    case XP_REC_DOCUMENT:
        rc = put_doc(s, r->u.doc.kind, r->u.doc.doc, r->created_at,
                     r->updated_at);
        break;
    case XP_REC_SERIES_BEGIN:
        rc = mlocal_begin_series(s, &r->u.series, r->created_at, r->updated_at);
        break;
    case XP_REC_POINTS: rc = mlocal_put_points(s, r->u.points.v, r->u.points.n); break;
    case XP_REC_SERIES_END: rc = mlocal_end_series(s); break;
    case XP_REC_LOGS: rc = put_logs(s, r->u.logs.v, r->u.logs.n); break;
    case XP_REC_FILE: rc = mlocal_put_file(s, &r->u.file.meta, r->u.file.body); break;
    }
    return rc ? sink_fail(s, rc) : 0;
}

/* The SDK's upload finds experiments by globbing every experiment.json
 * below ROOT, dot folders included, so ROOT/.xport must never hold one: not
 * in staging, nor in the old copy xp_stage_publish moves aside there. The
 * marker is staged under a hidden name and given its own only once the
 * folder is in place (the old copy's is hidden before it is moved). Every
 * state an interruption can leave has at most the one marker in place, and
 * a folder without it is written again next time. */
#define HIDDEN_EXP ".experiment.json.xport"
#define HIDDEN_OLD ".experiment.json.xport-old"

static int rename_in(const char *dir, const char *from, const char *to)
{
    char *a = xp_path_join(dir, from), *b = xp_path_join(dir, to);
    int rc = xp_sys_rename(a, b) ? xp_error_set_os(XP_EIO, "cannot rename '%s'", a) : 0;
    free(a);
    free(b);
    return rc;
}

static int publish(struct lsink *s)
{
    char *old = xp_path_join(s->final_dir, "experiment.json");
    int hid = xp_is_file(old) && !rename_in(s->final_dir, "experiment.json", HIDDEN_OLD);
    free(old);
    int rc = xp_stage_publish(&s->stage);
    if (rc) {
        if (hid) /* the old copy is back in place: show it again */
            rename_in(s->final_dir, HIDDEN_OLD, "experiment.json");
        return rc;
    }
    rc = rename_in(s->final_dir, HIDDEN_EXP, "experiment.json");
    return rc ? rc : xp_fsync_dir(s->final_dir);
}

static int sink_finish(struct xp_sink *base, int commit)
{
    struct lsink *s = (struct lsink *)base;
    if (s->in_series) {
        if (s->in_series > 0)
            xp_afile_abort(&s->ser.data);
        mlocal_series_clear(&s->ser);
        s->in_series = 0;
        if (commit)
            sink_fail(s, xp_error_set(XP_EINVALID, "series left open"));
    }
    int rc = s->err;
    if (s->logs_open) {
        if (commit && !rc)
            rc = xp_afile_commit(&s->logs);
        else
            xp_afile_abort(&s->logs);
        s->logs_open = 0;
        if (commit && !rc) {
            char b[32];
            int n = snprintf(b, sizeof(b), "%" PRId64, s->next_seq);
            char *p = xp_path_join(s->stage.dir, "logs/.log_sequence");
            rc = xp_write_file_atomic(p, b, (size_t)n);
            free(p);
        }
    }
    if (commit && !rc && json_object_array_length(s->files) > 0) {
        char *dir = xp_path_join(s->stage.dir, "files");
        rc = xp_mkdir_p(dir);
        free(dir);
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "files", json_object_get(s->files));
        if (!rc)
            rc = mlocal_stage_json(s, "files/.files_metadata.json", o);
        json_object_put(o);
    }
    if (commit && !rc) {
        /* experiment.json last: its presence marks a complete experiment */
        rc = mlocal_stage_json(s, HIDDEN_EXP, s->exp);
        if (!rc)
            rc = xp_fsync_dir(s->stage.dir);
        if (!rc)
            rc = publish(s);
    }
    if (!commit || rc) {
        xp_rm_rf(s->stage.dir);
        if (s->err)
            rc = s->err;
    }
    return commit ? rc : 0;
}

static void sink_free(struct xp_sink *base)
{
    struct lsink *s = (struct lsink *)base;
    if (!s)
        return;
    if (s->in_series > 0)
        xp_afile_abort(&s->ser.data);
    mlocal_series_clear(&s->ser);
    if (s->logs_open)
        xp_afile_abort(&s->logs);
    free(s->final_dir);
    xp_stage_release(&s->stage, 0);
    free(s->name);
    free(s->prefix);
    free(s->files_exp_id);
    json_object_put(s->exp);
    json_object_put(s->files);
    json_object_put(s->file_ids);
    json_object_put(s->seen);
    xp_buf_release(&s->line);
    free(s);
}

static const char *sink_dest_id(struct xp_sink *base)
{
    return ((struct lsink *)base)->prefix;
}

static int ml_write_experiment(struct xp_sink **out, struct xp_adapter *a,
                               const struct xp_experiment_meta *meta,
                               const struct xp_write_opts *wo)
{
    struct mlocal *ml = (struct mlocal *)a;
    *out = NULL;
    struct xp_buf rel = XP_BUF_INIT;
    int rc = mlocal_experiment_path(&rel, meta);
    if (rc) {
        xp_buf_release(&rel);
        return xp_error_wrap(rc, "experiment '%s'", meta->name);
    }
    struct lsink *s = xp_calloc(1, sizeof(*s));
    s->base.version = XP_SINK_VERSION;
    s->base.put = sink_put;
    s->base.finish = sink_finish;
    s->base.free = sink_free;
    s->base.dest_id = sink_dest_id;
    s->ml = ml;
    s->final_dir = xp_path_join(ml->root, rel.ptr);
    s->prefix = xp_strdup(rel.ptr);
    s->name = xp_strdup(meta->name);
    xp_buf_init(&s->line);
    xp_iso8601_now(s->now, 6);
    struct xp_buf eid = XP_BUF_INIT;
    xp_buf_printf(&eid, "%s/%s", meta->project, s->prefix); /* as ml-dash 0.6 */
    s->files_exp_id = xp_buf_detach(&eid);
    s->files = json_object_new_array();
    s->file_ids = json_object_new_object();
    s->seen = json_object_new_object();
    char *marker = xp_path_join(s->final_dir, "experiment.json");
    int exists = xp_is_file(marker);
    free(marker);
    if (exists && !wo->overwrite) {
        xp_buf_release(&rel);
        sink_free(&s->base);
        return XP_EEXISTS;
    }
    xp_buf_release(&rel);
    rc = xp_stage_open(&s->stage, ml->root, s->final_dir, 0);
    /* the SDK makes these three for every experiment */
    static const char *const sub[] = {"logs", "metrics", "files"};
    for (size_t i = 0; i < 3 && !rc; i++) {
        char *d = xp_path_join(s->stage.dir, sub[i]);
        rc = xp_mkdir_p(d);
        free(d);
    }
    if (rc) {
        sink_free(&s->base);
        return rc;
    }
    s->exp = build_experiment(s, meta);
    *out = &s->base;
    return 0;
}

static int ml_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                   const struct xp_location *loc, const struct xp_options *opts,
                   struct xp_ctx *ctx)
{
    (void)opts;
    *out = NULL;
    if (!loc->path || !*loc->path)
        return xp_error_set(XP_EINVALID, "mldash-local needs a folder: "
                                         "mldash-local:PATH");
    struct mlocal *ml = xp_calloc(1, sizeof(*ml));
    ml->base.type = type;
    ml->base.ctx = ctx;
    ml->root = xp_strdup(loc->path);
    size_t n = strlen(ml->root);
    while (n > 1 && ml->root[n - 1] == '/')
        ml->root[--n] = '\0';
    *out = &ml->base;
    return 0;
}

static void ml_close(struct xp_adapter *a)
{
    struct mlocal *ml = (struct mlocal *)a;
    if (!ml)
        return;
    free(ml->root);
    free(ml);
}

const struct xp_adapter_type xp_mldash_local_adapter = {
    .abi = XP_ADAPTER_ABI,
    .name = "mldash-local",
    .summary = "ml-dash v0.6 local stores (.dash/owner/project/...) (write; read them "
               "with the local adapter)",
    .caps = XP_CAP_WRITE | XP_CAP_NO_NETWORK,
    .open = ml_open,
    .close = ml_close,
    .write_experiment = ml_write_experiment,
};
