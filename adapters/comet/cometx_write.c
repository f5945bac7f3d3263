/* Writing one experiment as a cometx folder that `cometx copy` consumes
 * (adapters/comet/README.md). The folder is built under
 * ROOT/.xport/staging/ and moved to ROOT/WS/PROJECT/<experimentKey> with one
 * rename when the sink commits, so a cometx folder xport wrote is never
 * half done; a rerun finds the experiment by its key and adds nothing. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "comet_int.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/json.h"
#include "xport/lines.h"
#include "xport/stage.h"
#include "xport/stream.h"

struct cx_sink {
    struct xp_sink base;
    struct cometx_adapter *a;
    int err;
    char *final_dir, *proj_dir, *key;
    struct xp_stage stage;
    int comet_origin; /* the source is Comet: its own key and metadata */
    struct json_object *md;      /* metadata.json being built */
    struct json_object *project; /* project_metadata.json when new */
    struct json_object *params;  /* parameters.json list */
    struct json_object *others;  /* others.jsonl lines */
    struct json_object *remote;  /* remote assets to list */
    /* series */
    struct xp_afile metrics;
    int metrics_open, in_series;
    char *sname;
    enum xp_series_kind skind;
    int64_t spos;
    /* logs */
    struct xp_afile out, side;
    int logs_open, need_side;
    int64_t lcount;
    /* assets */
    struct xp_afile amd;
    int amd_open;
    struct json_object *disk_used;
    struct xp_buf line;
};

static int fail(struct cx_sink *s, int rc)
{
    if (!s->err)
        s->err = rc ? rc : XP_ERROR;
    return s->err;
}

static char *stage_path(struct cx_sink *s, const char *rel)
{
    return xp_path_join(s->stage.dir, rel);
}

static void other_add(struct cx_sink *s, const char *name, struct json_object *v)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "valueMax", json_object_get(v));
    json_object_object_add(o, "valueMin", json_object_get(v));
    json_object_object_add(o, "valueCurrent", json_object_get(v));
    json_object_object_add(o, "editable", json_object_new_boolean(0));
    json_object_array_add(s->others, o);
    json_object_put(v);
}

static void other_str(struct cx_sink *s, const char *name, const char *v)
{
    if (v)
        other_add(s, name, json_object_new_string(v));
}

static void add_extra(void *payload, const char *name, const char *text)
{
    other_str(payload, name, text);
}

/* ---- JSON text as Python's json.dumps writes it ----------------------- */

/* xp_json_put_obj is exact for numbers; Python puts a space after ',' and
 * ':' outside strings. */
static int put_pyjson(struct xp_buf *b, struct json_object *o)
{
    struct xp_buf t = XP_BUF_INIT;
    int rc = xp_json_put_obj(&t, o, 0);
    int in_str = 0;
    for (size_t i = 0; !rc && i < t.len; i++) {
        char c = t.ptr[i];
        xp_buf_putc(b, c);
        if (in_str) {
            if (c == '\\')
                xp_buf_putc(b, t.ptr[++i]);
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == ',' || c == ':') {
            xp_buf_putc(b, ' ');
        }
    }
    xp_buf_release(&t);
    return rc;
}

static int write_json(struct cx_sink *s, const char *rel, struct json_object *o,
                      int lines)
{
    struct xp_afile f;
    char *p = stage_path(s, rel);
    int rc = xp_afile_open(&f, p);
    free(p);
    if (rc)
        return rc;
    xp_buf_reset(&s->line);
    size_t n = lines ? json_object_array_length(o) : 1;
    for (size_t i = 0; !rc && i < n; i++) {
        rc = put_pyjson(&s->line, lines ? json_object_array_get_idx(o, i) : o);
        if (lines)
            xp_buf_putc(&s->line, '\n');
        xp_afile_buf(&f, &s->line);
    }
    return rc ? (xp_afile_abort(&f), rc) : xp_afile_commit(&f);
}

/* ---- the experiment ---------------------------------------------------- */

static void set(struct json_object *o, const char *k, struct json_object *v)
{
    json_object_object_add(o, k, v);
}

static void build_metadata(struct cx_sink *s, const struct xp_experiment_meta *m)
{
    struct json_object *vmd = xp_json_get(m->vendor, "metadata");
    if (s->comet_origin && vmd && json_object_is_type(vmd, json_type_object)) {
        json_object_deep_copy(vmd, &s->md, NULL);
    } else {
        s->md = json_object_new_object();
        static const char *const keys[] = {"experimentKey", "experimentName",
            "optimizationId", "projectId", "projectName", "workspaceName",
            "filePath", "fileName", "durationMillis", "startTimeMillis",
            "endTimeMillis", "archived", "running", "throttle", NULL};
        for (int i = 0; keys[i]; i++)
            set(s->md, keys[i], NULL);
        set(s->md, "archived", json_object_new_boolean(0));
        set(s->md, "throttle", json_object_new_boolean(0));
    }
    set(s->md, "experimentKey", json_object_new_string(s->key));
    set(s->md, "experimentName", json_object_new_string(m->name));
    set(s->md, "projectName", json_object_new_string(m->project));
    set(s->md, "workspaceName", json_object_new_string(m->workspace));
    int64_t t0 = 0, t1 = 0;
    int h0 = xp_iso8601_parse_ms(m->started_at ? m->started_at : m->created_at, &t0) == 0;
    int h1 = xp_iso8601_parse_ms(m->ended_at, &t1) == 0;
    if (h0)
        set(s->md, "startTimeMillis", json_object_new_int64(t0));
    if (h1)
        set(s->md, "endTimeMillis", json_object_new_int64(t1));
    if (h0 && h1)
        set(s->md, "durationMillis", json_object_new_int64(t1 - t0));
    int running = m->status && !strcmp(m->status, "RUNNING");
    set(s->md, "running", json_object_new_boolean(running));
    struct json_object *tags = json_object_new_array();
    for (size_t i = 0; i < m->ntags; i++)
        json_object_array_add(tags, json_object_new_string(m->tags[i]));
    set(s->md, "tags", tags);

    /* what metadata.json has no place for travels as xport_* others */
    comet_extras_put(m, s->comet_origin, 1, add_extra, s);
    struct json_object *vp = xp_json_get(m->vendor, "project");
    if (s->comet_origin && vp && json_object_is_type(vp, json_type_object)) {
        json_object_deep_copy(vp, &s->project, NULL);
    } else {
        s->project = json_object_new_object();
        set(s->project, "projectId", NULL);
        set(s->project, "projectName", json_object_new_string(m->project));
        set(s->project, "ownerUserName", NULL);
        set(s->project, "projectDescription", NULL);
        set(s->project, "workspaceName", json_object_new_string(m->workspace));
        set(s->project, "public", json_object_new_boolean(0));
    }
    struct json_object *ra = xp_json_get(m->vendor, "remote_assets");
    if (s->comet_origin && ra && json_object_is_type(ra, json_type_array))
        s->remote = json_object_get(ra);
}

/* ---- documents --------------------------------------------------------- */

static void flatten(struct cx_sink *s, struct xp_buf *prefix, struct json_object *o)
{
    json_object_object_foreach(o, k, v) {
        size_t at = prefix->len;
        if (at)
            xp_buf_putc(prefix, '|');
        xp_buf_puts(prefix, k);
        if (json_object_is_type(v, json_type_object) && json_object_object_length(v)) {
            flatten(s, prefix, v);
        } else {
            struct json_object *p = json_object_new_object();
            set(p, "name", json_object_new_string(prefix->ptr));
            set(p, "valueMax", json_object_get(v));
            set(p, "valueMin", json_object_get(v));
            set(p, "valueCurrent", json_object_get(v));
            set(p, "editable", json_object_new_boolean(0));
            json_object_array_add(s->params, p);
        }
        xp_buf_setlen(prefix, at);
    }
}

static int put_doc(struct cx_sink *s, enum xp_doc_kind k, struct json_object *doc)
{
    if (k == XP_DOC_PARAMETERS) {
        struct xp_buf prefix = XP_BUF_INIT;
        flatten(s, &prefix, doc);
        xp_buf_release(&prefix);
    } else if (k == XP_DOC_OTHERS) {
        json_object_object_foreach(doc, key, v) {
            if (!strcmp(key, "Name") || !strncmp(key, COMET_X_PREFIX, strlen(COMET_X_PREFIX))) {
                xp_sink_drop(&s->base, s->a->base.ctx, "other '%s' clashes with a "
                             "name cometx folders reserve", key);
                continue;
            }
            other_add(s, key, json_object_get(v));
        }
    } else {
        struct xp_buf b = XP_BUF_INIT;
        int rc = xp_json_put_obj(&b, doc, 0);
        if (!rc)
            other_str(s, COMET_X_PREFIX "summary", b.ptr);
        xp_buf_release(&b);
        return rc;
    }
    return 0;
}

/* ---- series ------------------------------------------------------------ */

static int begin_series(struct cx_sink *s, const struct xp_series_meta *m)
{
    if (!s->metrics_open) {
        char *p = stage_path(s, "metrics.jsonl");
        int rc = xp_afile_open(&s->metrics, p);
        free(p);
        if (rc)
            return rc;
        s->metrics_open = 1;
    }
    s->sname = xp_strdup(m->name);
    s->skind = m->kind;
    s->spos = 0;
    s->in_series = 1;
    return 0;
}

static int put_points(struct cx_sink *s, const struct xp_point *v, size_t n)
{
    if (!s->sname)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int rc = comet_point_put(&s->line, s->sname, s->skind, &v[i], s->spos);
        if (rc)
            return xp_error_wrap(rc, "metric '%s' point %" PRId64, s->sname, v[i].index);
        s->spos++;
        if (s->line.len >= (1u << 16))
            xp_afile_buf(&s->metrics, &s->line);
    }
    xp_afile_buf(&s->metrics, &s->line);
    return s->metrics.err;
}

/* ---- logs -------------------------------------------------------------- */

static int put_logs(struct cx_sink *s, const struct xp_log_entry *v, size_t n)
{
    if (!s->logs_open) {
        char *dir = stage_path(s, "run");
        int rc = xp_afile_open_in(&s->out, dir, "output.txt");
        if (!rc && (rc = xp_afile_open_in(&s->side, dir, "xport_logs.jsonl" /* COMET_XPORT_LOGS */)))
            xp_afile_abort(&s->out);
        free(dir);
        if (rc)
            return rc;
        s->logs_open = 1;
    }
    for (size_t i = 0; i < n; i++) {
        const struct xp_log_entry *e = &v[i];
        /* output.txt holds lines of text only; anything more (a stream, a
         * time, a level, a newline inside) also goes to the side file */
        if (e->seq != s->lcount || e->timestamp || e->level || e->stream ||
            e->metadata || memchr(e->message, '\n', e->message_len))
            s->need_side = 1;
        s->lcount++;
        xp_afile_write(&s->out, e->message, e->message_len);
        xp_afile_write(&s->out, "\n", 1);
    }
    return xp_loglines_write(&s->side, &s->line, v, n, NULL);
}

/* ---- files ------------------------------------------------------------- */

static int special_path(const char *p)
{
    return !strcmp(p, "system_details.json") ||
           (!strncmp(p, "run/", 4) && strcmp(p, "run/output.txt") &&
            strcmp(p, "run/xport_logs.jsonl")) ||
           !strncmp(p, "assets/html/", 12);
}

static struct json_object *fresh_record(struct cx_sink *s, const struct xp_file_meta *m)
{
    struct json_object *r = json_object_new_object();
    set(r, "fileName", json_object_new_string(m->path));
    set(r, "fileSize", NULL);
    set(r, "runContext", NULL);
    set(r, "step", NULL);
    set(r, "remote", json_object_new_boolean(0));
    set(r, "link", NULL);
    set(r, "compressedAssetLink", NULL);
    set(r, "createdAt", NULL);
    set(r, "dir", json_object_new_string("assets"));
    set(r, "canView", json_object_new_boolean(0));
    set(r, "audio", json_object_new_boolean(0));
    set(r, "video", json_object_new_boolean(0));
    set(r, "histogram", json_object_new_boolean(0));
    set(r, "image", json_object_new_boolean(0));
    set(r, "type", json_object_new_string("asset"));
    struct xp_buf b = XP_BUF_INIT;
    if (m->metadata && json_object_is_type(m->metadata, json_type_object) &&
        !xp_json_put_obj(&b, m->metadata, 0))
        set(r, "metadata", json_object_new_string(b.ptr));
    else
        set(r, "metadata", NULL);
    xp_buf_reset(&b);
    xp_buf_printf(&b, "%s/%s", s->key, m->path);
    char hex[65];
    xp_sha256_hex(hex, b.ptr, b.len);
    xp_buf_release(&b);
    hex[32] = '\0';
    set(r, "assetId", json_object_new_string(hex));
    set(r, "tags", json_object_new_array());
    return r;
}

/* A disk name not used yet in its type's folder, as cometx names
 * duplicates: base_N.ext. */
static char *disk_name(struct cx_sink *s, const char *type, const char *fname,
                       struct json_object *rec)
{
    struct xp_buf cand = XP_BUF_INIT, full = XP_BUF_INIT;
    const char *dot = strrchr(fname, '.');
    const char *slash = strrchr(fname, '/');
    if (dot && slash && dot < slash)
        dot = NULL;
    for (int k = 0;; k++) {
        xp_buf_reset(&cand);
        if (k == 0)
            xp_buf_puts(&cand, fname);
        else if (dot)
            xp_buf_printf(&cand, "%.*s_%d%s", (int)(dot - fname), fname, k, dot);
        else
            xp_buf_printf(&cand, "%s_%d", fname, k);
        char *clean = cometx_sanitize(cand.ptr);
        xp_buf_reset(&full);
        xp_buf_printf(&full, "assets/%s/%s", type, clean);
        free(clean);
        if (!json_object_object_get_ex(s->disk_used, full.ptr, NULL))
            break;
    }
    json_object_object_add(s->disk_used, full.ptr, NULL);
    if (strcmp(cand.ptr, fname))
        set(rec, "diskFileName", json_object_new_string(cand.ptr));
    else
        json_object_object_del(rec, "diskFileName");
    xp_buf_release(&cand);
    return xp_buf_detach(&full);
}

static int put_file(struct cx_sink *s, const struct xp_file_meta *m,
                    struct xp_stream *body)
{
    if (!xp_relpath_safe(m->path))
        return xp_error_set(XP_EINVALID, "unsafe file path '%s'", m->path);
    if (m->artifact) {
        xp_sink_drop(&s->base, s->a->base.ctx, "artifact file '%s/%s': a cometx "
                     "folder keeps no artifacts with an experiment", m->artifact, m->path);
        return 0;
    }
    char hex[65];
    int64_t size = 0;
    if (special_path(m->path)) {
        if (json_object_object_get_ex(s->disk_used, m->path, NULL))
            return xp_error_set(XP_EINVALID, "file '%s' appears twice", m->path);
        json_object_object_add(s->disk_used, m->path, NULL);
        char *dst = stage_path(s, m->path);
        int rc = xp_stream_store(body, dst, m, hex, &size, s->a->base.ctx);
        free(dst);
        return rc;
    }
    struct json_object *rec = comet_carried_record(m), *copy = NULL;
    if (rec)
        json_object_deep_copy(rec, &copy, NULL);
    else
        copy = fresh_record(s, m);
    const char *type = xp_json_str(copy, "type");
    if (!type || !*type)
        type = "asset";
    char *rel = disk_name(s, type, xp_json_str(copy, "fileName"), copy);
    char *dst = stage_path(s, rel);
    int rc = xp_relpath_safe(rel) ? 0 : xp_error_set(XP_EINVALID, "unsafe asset name "
                                                     "'%s'", rel);
    if (!rc)
        rc = xp_stream_store(body, dst, m, hex, &size, s->a->base.ctx);
    free(dst);
    free(rel);
    if (!rc) {
        set(copy, "fileSize", json_object_new_int64(size));
        if (!s->amd_open) {
            char *dir = stage_path(s, "assets");
            rc = xp_afile_open_in(&s->amd, dir, "assets_metadata.jsonl");
            free(dir);
            s->amd_open = !rc;
        }
    }
    if (!rc) {
        xp_buf_reset(&s->line);
        rc = put_pyjson(&s->line, copy);
        xp_buf_putc(&s->line, '\n');
        xp_afile_buf(&s->amd, &s->line);
    }
    json_object_put(copy);
    return rc;
}

/* ---- put / finish ------------------------------------------------------ */

static int sink_put(struct xp_sink *base, const struct xp_record *r)
{
    struct cx_sink *s = (struct cx_sink *)base;
    if (s->err)
        return s->err;
    int rc = 0;
    switch (r->kind) {
    case XP_REC_EXPERIMENT:
    case XP_REC_END:
        break;
    case XP_REC_DOCUMENT: rc = put_doc(s, r->u.doc.kind, r->u.doc.doc); break;
    case XP_REC_SERIES_BEGIN: rc = begin_series(s, &r->u.series); break;
    case XP_REC_POINTS: rc = put_points(s, r->u.points.v, r->u.points.n); break;
    case XP_REC_SERIES_END:
        free(s->sname);
        s->sname = NULL;
        s->in_series = 0;
        break;
    case XP_REC_LOGS: rc = put_logs(s, r->u.logs.v, r->u.logs.n); break;
    case XP_REC_FILE: rc = put_file(s, &r->u.file.meta, r->u.file.body); break;
    }
    return rc ? fail(s, rc) : 0;
}

static void abort_files(struct cx_sink *s)
{
    if (s->metrics_open)
        xp_afile_abort(&s->metrics);
    if (s->logs_open) {
        xp_afile_abort(&s->out);
        xp_afile_abort(&s->side);
    }
    if (s->amd_open)
        xp_afile_abort(&s->amd);
    s->metrics_open = s->logs_open = s->amd_open = 0;
}

static int commit_files(struct cx_sink *s)
{
    int rc = 0;
    if (s->metrics_open) {
        s->metrics_open = 0;
        rc = xp_afile_commit(&s->metrics);
    }
    if (s->logs_open) {
        s->logs_open = 0;
        int r1 = xp_afile_commit(&s->out);
        if (s->need_side) {
            int r2 = xp_afile_commit(&s->side);
            r1 = r1 ? r1 : r2;
        } else {
            xp_afile_abort(&s->side);
        }
        rc = rc ? rc : r1;
    }
    if (s->remote) {
        for (size_t i = 0; !rc && i < json_object_array_length(s->remote); i++) {
            if (!s->amd_open) {
                char *dir = stage_path(s, "assets");
                rc = xp_afile_open_in(&s->amd, dir, "assets_metadata.jsonl");
                free(dir);
                s->amd_open = !rc;
            }
            xp_buf_reset(&s->line);
            if (!rc)
                rc = put_pyjson(&s->line, json_object_array_get_idx(s->remote, i));
            xp_buf_putc(&s->line, '\n');
            if (!rc)
                xp_afile_buf(&s->amd, &s->line);
        }
    }
    if (s->amd_open) {
        s->amd_open = 0;
        int r1 = rc ? (xp_afile_abort(&s->amd), rc) : xp_afile_commit(&s->amd);
        rc = rc ? rc : r1;
    }
    return rc;
}

/* project_metadata.json beside the experiments, when the project has none */
static int write_project(struct cx_sink *s)
{
    char *p = xp_path_join(s->proj_dir, "project_metadata.json");
    int rc = 0;
    if (!xp_is_file(p)) {
        struct xp_buf b = XP_BUF_INIT;
        rc = xp_mkdir_p(s->proj_dir);
        if (!rc)
            rc = put_pyjson(&b, s->project);
        if (!rc)
            rc = xp_write_file_atomic(p, b.ptr, b.len);
        xp_buf_release(&b);
    }
    free(p);
    return rc;
}

static int sink_finish(struct xp_sink *base, int commit)
{
    struct cx_sink *s = (struct cx_sink *)base;
    if (s->in_series && commit)
        fail(s, xp_error_set(XP_EINVALID, "series left open"));
    int rc = s->err;
    if (!commit || rc) {
        abort_files(s);
        xp_rm_rf(s->stage.dir);
        return commit ? rc : 0;
    }
    rc = commit_files(s);
    /* cometx writes parameters.json and others.jsonl always; the experiment's
     * name is the "Name" other, which cometx copy reads */
    if (!rc)
        rc = write_json(s, "parameters.json", s->params, 0);
    if (!rc) {
        struct json_object *all = json_object_new_array();
        struct json_object *name = json_object_new_object();
        set(name, "name", json_object_new_string("Name"));
        const char *nm = xp_json_str(s->md, "experimentName");
        set(name, "valueMax", json_object_new_string(nm));
        set(name, "valueMin", json_object_new_string(nm));
        set(name, "valueCurrent", json_object_new_string(nm));
        set(name, "editable", json_object_new_boolean(0));
        json_object_array_add(all, name);
        for (size_t i = 0; i < json_object_array_length(s->others); i++)
            json_object_array_add(all, json_object_get(json_object_array_get_idx(s->others, i)));
        rc = write_json(s, "others.jsonl", all, 1);
        json_object_put(all);
    }
    if (!rc)
        rc = write_json(s, "metadata.json", s->md, 0);
    if (!rc)
        rc = xp_fsync_dir(s->stage.dir);
    if (!rc)
        rc = write_project(s);
    if (!rc)
        rc = xp_mkdir_p(s->proj_dir);
    if (!rc)
        rc = xp_stage_publish(&s->stage);
    if (rc) {
        xp_rm_rf(s->stage.dir);
        fail(s, rc);
    }
    return rc;
}

static const char *sink_dest_id(struct xp_sink *base)
{
    return ((struct cx_sink *)base)->key;
}

static void sink_free(struct xp_sink *base)
{
    struct cx_sink *s = (struct cx_sink *)base;
    if (!s)
        return;
    abort_files(s);
    if (s->final_dir) {
        pthread_mutex_lock(&s->a->lock);
        json_object_object_del(s->a->claimed, s->final_dir);
        pthread_mutex_unlock(&s->a->lock);
    }
    xp_stage_release(&s->stage, 0);
    free(s->final_dir);
    free(s->proj_dir);
    free(s->key);
    free(s->sname);
    json_object_put(s->md);
    json_object_put(s->project);
    json_object_put(s->params);
    json_object_put(s->others);
    json_object_put(s->remote);
    json_object_put(s->disk_used);
    xp_buf_release(&s->line);
    free(s);
}

int cometx_write_experiment(struct xp_sink **out, struct xp_adapter *base,
                            const struct xp_experiment_meta *meta,
                            const struct xp_write_opts *wo)
{
    struct cometx_adapter *a = (struct cometx_adapter *)base;
    *out = NULL;
    int origin = comet_origin(meta);
    struct xp_buf ws = XP_BUF_INIT, pj = XP_BUF_INIT;
    int rc = xp_name_encode(&ws, meta->workspace);
    if (rc)
        rc = xp_error_wrap(rc, "workspace name");
    if (!rc && (rc = xp_name_encode(&pj, meta->project)))
        rc = xp_error_wrap(rc, "project name");
    if (rc) {
        xp_buf_release(&ws);
        xp_buf_release(&pj);
        return rc;
    }
    struct cx_sink *s = xp_calloc(1, sizeof(*s));
    s->base.version = XP_SINK_VERSION;
    s->base.put = sink_put;
    s->base.finish = sink_finish;
    s->base.free = sink_free;
    s->base.dest_id = sink_dest_id;
    s->a = a;
    s->comet_origin = origin;
    s->key = comet_experiment_key(meta, origin, 0);
    s->params = json_object_new_array();
    s->others = json_object_new_array();
    s->disk_used = json_object_new_object();
    xp_buf_init(&s->line);
    struct xp_buf d = XP_BUF_INIT;
    xp_buf_printf(&d, "%s/%s/%s", a->root, ws.ptr, pj.ptr);
    s->proj_dir = xp_strdup(d.ptr);
    xp_buf_printf(&d, "/%s", s->key);
    char *final_dir = xp_buf_detach(&d);
    xp_buf_release(&ws);
    xp_buf_release(&pj);

    pthread_mutex_lock(&a->lock);
    if (json_object_object_get_ex(a->claimed, final_dir, NULL))
        rc = xp_error_set(XP_EINVALID, "experiment '%s' is being written twice",
                          final_dir);
    else
        json_object_object_add(a->claimed, final_dir, NULL);
    pthread_mutex_unlock(&a->lock);
    if (rc) {
        free(final_dir);
        sink_free(&s->base);
        return rc;
    }
    s->final_dir = final_dir;
    char *done = xp_path_join(final_dir, "metadata.json");
    int exists = xp_is_file(done);
    free(done);
    if (exists && !wo->overwrite) {
        sink_free(&s->base);
        return XP_EEXISTS;
    }
    rc = xp_mkdir_p(a->root);
    if (!rc)
        rc = xp_stage_open(&s->stage, a->root, final_dir, 0);
    if (rc) {
        sink_free(&s->base);
        return rc;
    }
    build_metadata(s, meta);
    *out = &s->base;
    return 0;
}
