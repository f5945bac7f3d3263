/* Writing an experiment to s3://BUCKET/PREFIX: the local adapter's sink
 * (opened through the registry, never its headers) writes it into a
 * private temporary layout, and when it commits, its files go up as whole
 * objects, several at once (s3:parallel), and experiment.json alone after
 * every other one is stored, so that an experiment is in the bucket (and
 * listed) only once every object of it is.
 *
 * Why compose the local sink: the layout then has one writer, and what it
 * checks (names, the manifest, series files) holds for S3 unchanged.
 * Before it opens, the temporary layout gets the bucket's xport.json and
 * the experiment.json of the folders the experiment may land in (its name,
 * and "name~source id" beside a namesake), so the local sink's own rules
 * decide: the same source already there is XP_EEXISTS (a rerun never
 * duplicates, and --resume on any machine skips what is committed, since
 * the bucket holds the commit mark), another source goes beside it, and
 * with --overwrite the old objects are replaced: its experiment.json goes
 * first (uncommitted again), then the new objects, then the objects the new
 * copy does not have, then experiment.json. An upload cut short leaves no
 * experiment.json, so the next run writes the experiment whole again;
 * objects are whole-replaced, never appended. Disk use is one experiment
 * per job, removed when the sink is freed; the temporary layout is scratch
 * (xp_sys_scratch: no fsync), since what must last is in the bucket, where
 * it is complete or absent. */
#include <stdlib.h>
#include <string.h>

#include "s3.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/sysio.h"

struct s3_sink {
    struct xp_sink base;
    struct s3_adapter *s;
    struct xp_adapter *local;
    struct xp_sink *inner;
    char *tmp;
    int had_marker; /* the bucket has xport.json */
    int err;
};

int s3_experiment_rel(struct xp_buf *out, const char *ws, const char *proj,
                      const char *name)
{
    const char *parts[3] = {ws, proj, name};
    struct xp_buf e = XP_BUF_INIT;
    int rc = 0;
    xp_buf_reset(out);
    for (int i = 0; i < 3 && !rc; i++) {
        if (!parts[i])
            rc = xp_error_set(XP_EINVALID, "experiment has no %s name",
                              i == 0 ? "workspace" : i == 1 ? "project" : "experiment");
        if (!rc)
            rc = xp_name_encode(&e, parts[i]);
        if (!rc)
            xp_buf_printf(out, "%s%s", i ? "/" : "", e.ptr);
    }
    xp_buf_release(&e);
    return rc;
}

static int sk_put(struct xp_sink *base, const struct xp_record *rec)
{
    struct s3_sink *k = (struct s3_sink *)base;
    if (k->err)
        return k->err;
    int was = xp_sys_scratch(1);
    k->err = xp_sink_put(k->inner, rec);
    xp_sys_scratch(was);
    return k->err;
}

/* Every file under dir/sub, as paths relative to dir. */
static int files_under(const char *dir, const char *sub, char ***v, size_t *n)
{
    char *path = *sub ? xp_path_join(dir, sub) : xp_strdup(dir);
    char **names = NULL;
    size_t nn = 0;
    int rc = xp_list_dir(&names, &nn, path);
    for (size_t i = 0; i < nn && !rc; i++) {
        char *rel = *sub ? xp_path_join(sub, names[i]) : xp_strdup(names[i]);
        char *full = xp_path_join(dir, rel);
        if (xp_is_real_dir(full)) {
            rc = files_under(dir, rel, v, n);
            free(rel);
        } else {
            *v = xp_realloc(*v, (*n + 2) * sizeof(**v));
            (*v)[(*n)++] = rel;
            (*v)[*n] = NULL;
        }
        free(full);
    }
    xp_strv_free(names);
    free(path);
    return rc;
}

struct stale {
    struct s3_adapter *s;
    size_t plen;
    char **keep; /* the files just uploaded */
    size_t nkeep;
};

static int drop_stale(void *payload, const char *key, int64_t size)
{
    struct stale *st = payload;
    (void)size;
    const char *rel = key + st->plen;
    if (!strcmp(rel, "experiment.json"))
        return 0;
    for (size_t i = 0; i < st->nkeep; i++)
        if (!strcmp(st->keep[i], rel))
            return 0;
    return s3_delete(st->s, key);
}

/* The committed experiment in tmp/rel goes up, experiment.json last. */
static int upload(struct s3_sink *k, const char *rel, int replacing)
{
    struct s3_adapter *s = k->s;
    char *dir = xp_path_join(k->tmp, rel);
    char **files = NULL;
    size_t n = 0;
    struct xp_buf key = XP_BUF_INIT, r = XP_BUF_INIT;
    int rc = files_under(dir, "", &files, &n);
    if (!rc && replacing) {
        xp_buf_printf(&r, "%s/experiment.json", rel);
        s3_key(&key, s, r.ptr);
        rc = s3_delete(s, key.ptr);
    }
    /* every object but experiment.json, `parallel` at a time */
    struct s3_obj *v = xp_calloc(n ? n : 1, sizeof(*v));
    size_t nv = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(files[i], "experiment.json"))
            continue;
        xp_buf_reset(&r);
        xp_buf_printf(&r, "%s/%s", rel, files[i]);
        s3_key(&key, s, r.ptr);
        v[nv++] = (struct s3_obj){xp_buf_detach(&key), xp_path_join(dir, files[i]), -1};
    }
    if (!rc && xp_ctx_cancelled(s->base.ctx))
        rc = xp_error_set(XP_ECANCEL, "cancelled");
    if (!rc)
        rc = s3_put_files(s, v, nv);
    for (size_t i = 0; i < nv; i++) {
        free((char *)v[i].key);
        free((char *)v[i].path);
    }
    free(v);
    if (!rc && replacing) {
        xp_buf_reset(&r);
        xp_buf_printf(&r, "%s/", rel);
        s3_key(&key, s, r.ptr);
        struct stale st = {s, key.len, files, n};
        rc = s3_list(s, key.ptr, NULL, drop_stale, &st);
    }
    if (!rc && !k->had_marker) {
        char *m = xp_path_join(k->tmp, "xport.json");
        struct xp_buf body = XP_BUF_INIT;
        s3_key(&key, s, "xport.json");
        rc = s3_put_file(s, key.ptr, m);
        if (!rc && !xp_read_file(&body, m, 1 << 16))
            s3_marker_known(s, &body);
        xp_error_clear();
        xp_buf_release(&body);
        free(m);
    }
    if (!rc) {
        xp_buf_reset(&r);
        xp_buf_printf(&r, "%s/experiment.json", rel);
        s3_key(&key, s, r.ptr);
        char *path = xp_path_join(dir, "experiment.json");
        rc = s3_put_file(s, key.ptr, path);
        free(path);
    }
    if (rc)
        rc = xp_error_wrap(rc, "uploading '%s/%s'", s->url, rel);
    xp_strv_free(files);
    xp_buf_release(&key);
    xp_buf_release(&r);
    free(dir);
    return rc;
}

static int sk_finish(struct xp_sink *base, int commit)
{
    struct s3_sink *k = (struct s3_sink *)base;
    const char *rel = xp_sink_dest_id(k->inner);
    char *old = rel ? xp_path_join(k->tmp, rel) : NULL;
    char *old_json = old ? xp_path_join(old, "experiment.json") : NULL;
    int replacing = old_json && xp_is_file(old_json);
    free(old);
    free(old_json);
    int was = xp_sys_scratch(1);
    int rc = xp_sink_finish(k->inner, commit && !k->err);
    xp_sys_scratch(was);
    const char *first = NULL;
    int64_t dropped = xp_sink_dropped(k->inner, &first);
    for (int64_t i = 0; i < dropped; i++)
        xp_sink_drop(base, k->s->base.ctx, "%s", first);
    if (!commit)
        return 0;
    if (k->err)
        return k->err;
    if (!rc)
        rc = upload(k, rel, replacing);
    return k->err = rc;
}

static int sk_has_item(struct xp_sink *base, const char *key)
{
    return xp_sink_has_item(((struct s3_sink *)base)->inner, key);
}

static const char *sk_dest_id(struct xp_sink *base)
{
    return xp_sink_dest_id(((struct s3_sink *)base)->inner);
}

static void sk_free(struct xp_sink *base)
{
    struct s3_sink *k = (struct s3_sink *)base;
    if (!k)
        return;
    xp_sink_free(k->inner);
    xp_adapter_close(k->local);
    if (k->tmp)
        xp_rm_rf(k->tmp);
    free(k->tmp);
    free(k);
}

/* The bucket's experiment.json of rel into the temporary layout; *found
 * says whether there is one. */
static int prefetch(struct s3_sink *k, const char *rel, int *found)
{
    struct xp_buf r = XP_BUF_INIT, key = XP_BUF_INIT;
    xp_buf_printf(&r, "%s/experiment.json", rel);
    s3_key(&key, k->s, r.ptr);
    char *dir = xp_path_join(k->tmp, rel);
    char *path = xp_path_join(dir, "experiment.json");
    int rc = xp_mkdir_p(dir);
    if (!rc)
        rc = s3_get_file(k->s, key.ptr, path, -1);
    *found = rc == 0;
    if (rc == XP_ENOTFOUND) {
        xp_rm_rf(dir); /* leave no empty folder for the local sink to see */
        rc = 0;
    }
    free(dir);
    free(path);
    xp_buf_release(&r);
    xp_buf_release(&key);
    return rc;
}

int s3_write_experiment(struct xp_sink **out, struct xp_adapter *a,
                        const struct xp_experiment_meta *meta,
                        const struct xp_write_opts *wo)
{
    struct s3_adapter *s = (struct s3_adapter *)a;
    *out = NULL;
    struct s3_sink *k = xp_calloc(1, sizeof(*k));
    k->base.version = XP_SINK_VERSION;
    k->base.put = sk_put;
    k->base.finish = sk_finish;
    k->base.free = sk_free;
    k->base.has_item = sk_has_item;
    k->base.dest_id = sk_dest_id;
    k->s = s;
    struct xp_buf rel = XP_BUF_INIT;
    int rc = xp_tempdir(&k->tmp, "xport-s3"), found = 0;
    char *marker = rc ? NULL : xp_path_join(k->tmp, "xport.json");
    if (!rc)
        rc = s3_marker_to(s, marker, &k->had_marker);
    free(marker);
    /* where the local sink may place it: name, or name~source id when
     * name holds another experiment (only then does it look there) */
    if (!rc && k->had_marker)
        rc = s3_experiment_rel(&rel, meta->workspace, meta->project, meta->name);
    if (!rc && k->had_marker)
        rc = prefetch(k, rel.ptr, &found);
    if (!rc && found && meta->source_id && meta->name) {
        struct xp_buf alt = XP_BUF_INIT;
        xp_buf_printf(&alt, "%s~%s", meta->name, meta->source_id);
        rc = s3_experiment_rel(&rel, meta->workspace, meta->project, alt.ptr);
        xp_buf_release(&alt);
        if (!rc)
            rc = prefetch(k, rel.ptr, &found);
    }
    if (!rc)
        rc = s3_open_local(&k->local, k->tmp, a->ctx);
    int was = xp_sys_scratch(1);
    if (!rc)
        rc = xp_adapter_write(&k->inner, k->local, meta, wo);
    xp_sys_scratch(was);
    xp_buf_release(&rel);
    if (rc) {
        sk_free(&k->base);
        return rc;
    }
    *out = &k->base;
    return 0;
}
