/* Writing the xport layout (schemas/README.md): the sink's life, placing
 * an experiment and committing it; series are written by
 * layout_write_series.c, logs, files and documents by layout_write_files.c,
 * over the staging paths and items log of layout_write_items.c.
 *
 * An experiment is written into ROOT/.xport/staging/<key>/ and moved into
 * place by one rename when the sink commits, so the tree only ever holds
 * complete experiments; a killed run leaves only staging debris, which the
 * next run for the same experiment removes. Every file is fsynced before
 * the rename and directories after it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "layout_write.h"
#include "local.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/json.h"
#include "xport/lines.h"
#include "xport/stage.h"
#include "xport/stream.h"


/* Remember the sink's first error; returns it. */
static int lw_fail(struct layout_sink *s, int rc)
{
    if (!s->err)
        s->err = rc ? rc : XP_ERROR;
    return s->err;
}

int local_experiment_relpath(struct xp_buf *out, const char *ws,
                             const char *proj, const char *name)
{
    struct xp_buf e = XP_BUF_INIT;
    const char *parts[3] = {ws, proj, name};
    const char *what[3] = {"workspace", "project", "experiment"};
    xp_buf_reset(out);
    for (int i = 0; i < 3; i++) {
        if (!parts[i]) {
            xp_buf_release(&e);
            return xp_error_set(XP_EINVALID, "experiment has no %s name",
                                what[i]);
        }
        int rc = xp_name_encode(&e, parts[i]);
        if (rc) {
            xp_buf_release(&e);
            return xp_error_wrap(rc, "%s name", what[i]);
        }
        if (i)
            xp_buf_putc(out, '/');
        xp_buf_put(out, e.ptr, e.len);
    }
    xp_buf_release(&e);
    return 0;
}

/* ---- the experiment ---- */

static struct json_object *build_experiment_json(const struct xp_experiment_meta *m)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(m->name));
    json_object_object_add(o, "project", json_object_new_string(m->project));
    json_object_object_add(o, "workspace", json_object_new_string(m->workspace));
    lw_put_str_or_null(o, "description", m->description);
    struct json_object *tags = json_object_new_array();
    for (size_t i = 0; i < m->ntags; i++)
        json_object_array_add(tags, json_object_new_string(m->tags[i]));
    json_object_object_add(o, "tags", tags);
    lw_put_str_or_null(o, "status", m->status);
    lw_put_str_or_null(o, "folder", m->folder);
    json_object_object_add(o, "metadata",
                           m->metadata ? json_object_get(m->metadata) : NULL);
    lw_put_str_or_null(o, "created_at", m->created_at);
    lw_put_str_or_null(o, "startedAt", m->started_at);
    lw_put_str_or_null(o, "endedAt", m->ended_at);
    struct json_object *src = json_object_new_object();
    lw_put_str_or_null(src, "vendor", m->source_vendor);
    lw_put_str_or_null(src, "id", m->source_id);
    lw_put_str_or_null(src, "url", m->source_url);
    json_object_object_add(src, "fields",
                           m->vendor ? json_object_get(m->vendor) : NULL);
    json_object_object_add(o, "source", src);
    struct json_object *x = json_object_new_object();
    json_object_object_add(x, "format", json_object_new_string(XP_LAYOUT_FORMAT));
    json_object_object_add(x, "version", json_object_new_int(XP_LAYOUT_VERSION));
    json_object_object_add(o, "xport", x);
    return o;
}

/* Serialise o (pretty enough: one object per file) and write atomically. */
/* ---- root and placement ---- */

static int ensure_root(struct local_adapter *la)
{
    char *marker = xp_path_join(la->root, "xport.json");
    int rc = 0;
    xp_tmp_clean(marker); /* a run killed while it wrote the marker */
    if (xp_is_file(marker))
        goto done;
    if (xp_is_dir(la->root)) {
        char **names;
        size_t n;
        rc = xp_list_dir(&names, &n, la->root);
        if (rc)
            goto done;
        /* .xport alone (a journal written first) still counts as empty, and
         * so does another writer's marker on its way in (shards of one
         * destination start at once): its temp file, or the marker itself
         * once the listing is done */
        size_t others = 0;
        for (size_t i = 0; i < n; i++)
            others += strcmp(names[i], ".xport") != 0 &&
                      strncmp(names[i], "xport.json.xport-tmp-", 21) != 0;
        xp_strv_free(names);
        if (others && xp_is_file(marker))
            goto done;
        if (others) {
            rc = xp_error_set(XP_EINVALID,
                              "'%s' is not empty and not an xport layout "
                              "(no xport.json); refusing to write into it",
                              la->root);
            goto done;
        }
    } else if ((rc = xp_mkdir_p(la->root))) {
        goto done;
    }
    {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "format", json_object_new_string(XP_LAYOUT_FORMAT));
        json_object_object_add(o, "version", json_object_new_int(XP_LAYOUT_VERSION));
        rc = xp_json_write_file(marker, o);
        json_object_put(o);
    }
done:
    free(marker);
    return rc;
}

/* Same experiment = same source vendor and id (or no id on either side). */
static int same_source(const char *dir, const struct xp_experiment_meta *m)
{
    char *p = xp_path_join(dir, "experiment.json");
    struct json_object *o = NULL;
    int same = 0;
    if (!xp_json_read_file(&o, p)) {
        struct json_object *src = NULL;
        json_object_object_get_ex(o, "source", &src);
        const char *v = xp_json_str(src, "vendor"), *id = xp_json_str(src, "id");
        if (!m->source_id && !id)
            same = 1;
        else if (m->source_id && id && !strcmp(m->source_id, id) &&
                 (!m->source_vendor || !v || !strcmp(m->source_vendor, v)))
            same = 1;
    } else {
        xp_error_clear();
    }
    json_object_put(o);
    free(p);
    return same;
}

/* Decide ROOT/ws/proj/<dir>: the encoded name, or name~<source id> when a
 * different experiment with the same name is already there. */
static int place_experiment(char **final_out, struct local_adapter *la,
                            const struct xp_experiment_meta *m)
{
    struct xp_buf rel = XP_BUF_INIT, e = XP_BUF_INIT;
    int rc = local_experiment_relpath(&rel, m->workspace, m->project, m->name);
    if (rc)
        goto done;
    char *dir = xp_path_join(la->root, rel.ptr);
    struct json_object *owner = NULL;
    int claimed = json_object_object_get_ex(la->claimed, dir, &owner);
    const char *owner_id = owner ? json_object_get_string(owner) : NULL;
    int other_claim = claimed && !(m->source_id && owner_id &&
                                   !strcmp(owner_id, m->source_id));
    struct json_object *was = NULL;
    int moved = la->placed && json_object_object_get_ex(la->placed, dir, &was);
    const char *was_id = was ? json_object_get_string(was) : NULL;
    int other_moved = moved && !((!m->source_id && !was_id) ||
                                 (m->source_id && was_id && !strcmp(was_id, m->source_id)));
    if (((xp_is_dir(dir) && !same_source(dir, m)) || other_claim || other_moved) &&
        m->source_id) {
        free(dir);
        struct xp_buf alt = XP_BUF_INIT;
        xp_buf_printf(&alt, "%s~%s", m->name, m->source_id);
        rc = local_experiment_relpath(&rel, m->workspace, m->project, alt.ptr);
        xp_buf_release(&alt);
        if (rc)
            goto done;
        dir = xp_path_join(la->root, rel.ptr);
    }
    *final_out = dir;
done:
    xp_buf_release(&rel);
    xp_buf_release(&e);
    return rc;
}

/* ---- the sink ---- */

static int sink_put(struct xp_sink *base, const struct xp_record *r)
{
    struct layout_sink *s = (struct layout_sink *)base;
    if (s->err)
        return s->err;
    int rc = 0;
    switch (r->kind) {
    case XP_REC_EXPERIMENT:
    case XP_REC_END:
        break;
    case XP_REC_DOCUMENT: rc = lw_doc_file(s, r->u.doc.kind, r->u.doc.doc); break;
    case XP_REC_SERIES_BEGIN: rc = lw_begin_series(s, &r->u.series); break;
    case XP_REC_POINTS: rc = lw_put_points(s, r->u.points.v, r->u.points.n); break;
    case XP_REC_SERIES_END: rc = lw_end_series(s); break;
    case XP_REC_LOGS: rc = lw_put_logs(s, r->u.logs.v, r->u.logs.n); break;
    case XP_REC_FILE: rc = lw_put_file(s, &r->u.file.meta, r->u.file.body); break;
    }
    return rc ? lw_fail(s, rc) : 0;
}

static int sink_finish(struct xp_sink *base, int commit)
{
    struct layout_sink *s = (struct layout_sink *)base;
    if (s->in_series) {
        xp_afile_abort(&s->ser.data);
        lw_series_clear(&s->ser);
        s->in_series = 0;
        if (commit)
            lw_fail(s, xp_error_set(XP_EINVALID, "series left open"));
    }
    int rc = s->err;
    if (s->logs_open) {
        if (commit && !rc)
            rc = xp_afile_commit(&s->logs);
        else
            xp_afile_abort(&s->logs);
        s->logs_open = 0;
    }
    if (commit && !rc) {
        rc = lw_write_manifest(s);
        char *items = lw_stage_path(s, ITEMS_FILE);
        if (!rc && unlink(items) != 0 && errno != ENOENT)
            rc = xp_error_set_os(XP_EIO, "cannot remove '%s'", items);
        free(items);
    }
    if (commit && !rc) {
        /* experiment.json last: its presence marks a complete experiment */
        char *p = lw_stage_path(s, "experiment.json");
        rc = xp_json_write_file(p, s->exp);
        free(p);
        if (!rc)
            rc = xp_fsync_dir(s->stage.dir);
        if (!rc)
            rc = xp_stage_publish(&s->stage);
    }
    if (!commit || rc) {
        int keep = s->err;
        /* with resume, complete items stay for the next attempt */
        if (!s->resume)
            xp_rm_rf(s->stage.dir);
        if (keep)
            rc = keep;
    }
    return commit ? rc : 0;
}

static int sink_has_item(struct xp_sink *base, const char *key)
{
    struct layout_sink *s = (struct layout_sink *)base;
    return xp_stage_item_has(&s->items, key);
}

static const char *sink_dest_id(struct xp_sink *base)
{
    return ((struct layout_sink *)base)->dest_rel;
}

static void sink_free(struct xp_sink *base)
{
    struct layout_sink *s = (struct layout_sink *)base;
    if (!s)
        return;
    if (s->in_series) {
        xp_afile_abort(&s->ser.data);
        lw_series_clear(&s->ser);
    }
    if (s->logs_open)
        xp_afile_abort(&s->logs);
    xp_stage_items_close(&s->items);
    free(s->dest_rel);
    if (s->final_dir) {
        pthread_mutex_lock(&s->la->lock);
        json_object_object_del(s->la->claimed, s->final_dir);
        pthread_mutex_unlock(&s->la->lock);
    }
    free(s->final_dir);
    xp_stage_release(&s->stage, 0);
    json_object_put(s->exp);
    json_object_put(s->series_seen);
    xp_buf_release(&s->line);
    free(s);
}

int local_write_experiment(struct xp_sink **out, struct xp_adapter *a,
                           const struct xp_experiment_meta *meta,
                           const struct xp_write_opts *wo)
{
    struct local_adapter *la = (struct local_adapter *)a;
    *out = NULL;
    if (la->flavor != LOCAL_XPORT)
        return xp_error_set(XP_ENOTSUP,
                            "'%s' is an ml-dash store; xport writes only the "
                            "xport layout there", la->root);
    char *final_dir = NULL;
    pthread_mutex_lock(&la->lock);
    /* under the lock: parallel writers must not race to create the root */
    int rc = ensure_root(la);
    if (!rc)
        rc = place_experiment(&final_dir, la, meta);
    if (!rc && json_object_object_get_ex(la->claimed, final_dir, NULL))
        rc = xp_error_set(XP_EEXISTS, "experiment '%s' is being written twice",
                          final_dir);
    if (!rc)
        json_object_object_add(la->claimed, final_dir,
                               meta->source_id ? json_object_new_string(meta->source_id)
                                               : NULL);
    pthread_mutex_unlock(&la->lock);
    if (rc) {
        free(final_dir);
        return rc == XP_EEXISTS ? XP_EINVALID : rc;
    }
    char *done_marker = xp_path_join(final_dir, "experiment.json");
    int exists = xp_is_file(done_marker);
    free(done_marker);
    pthread_mutex_lock(&la->lock);
    int moved = la->placed && json_object_object_get_ex(la->placed, final_dir, NULL);
    pthread_mutex_unlock(&la->lock);
    /* one already moved on into an archive is never written twice */
    if ((exists && !wo->overwrite) || moved) {
        pthread_mutex_lock(&la->lock);
        json_object_object_del(la->claimed, final_dir);
        pthread_mutex_unlock(&la->lock);
        free(final_dir);
        return XP_EEXISTS;
    }
    struct layout_sink *s = xp_calloc(1, sizeof(*s));
    s->base.version = XP_SINK_VERSION;
    s->base.put = sink_put;
    s->base.finish = sink_finish;
    s->base.free = sink_free;
    s->la = la;
    s->final_dir = final_dir;
    s->resources = wo->resources;
    xp_buf_init(&s->line);
    s->series_seen = json_object_new_object();
    s->items.fd = -1;
    s->resume = wo->resume;
    s->dest_rel = xp_strdup(final_dir + strlen(la->root) +
                            (final_dir[strlen(la->root)] == '/'));
    s->base.has_item = sink_has_item;
    s->base.dest_id = sink_dest_id;
    /* with resume, an interrupted attempt's staging folder is reused */
    rc = xp_stage_open(&s->stage, la->root, final_dir, s->resume);
    if (!rc && s->resume)
        lw_remove_temps(s->stage.dir);
    /* with resume, only items still there as the log records them count */
    if (!rc)
        rc = xp_stage_items_open(&s->items, &s->stage, s->resume);
    if (rc) {
        sink_free(&s->base);
        return rc;
    }
    s->exp = build_experiment_json(meta);
    *out = &s->base;
    return 0;
}
