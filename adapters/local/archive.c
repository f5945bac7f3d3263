/* The archive adapter: an xport layout inside a tar (plain, gzip, zstd,
 * xz) or zip file, for `xport download ... -o export.tar.zst`, `xport copy
 * export.tar.gz mldash:...` and `xport verify export.zip ./other`. It is
 * the local adapter over another file access (local_fs.c), so the layout's
 * format has one implementation:
 * - reading streams members through libarchive (archive_index.c,
 *   archive_stream.c): nothing is unpacked to disk, memory holds the
 *   member names and the small JSON documents;
 * - writing goes experiment by experiment. The layout writer writes each
 *   experiment into a staging folder beside the archive
 *   (".NAME.xport-tmp-PID-N", no fsync there: it is scratch). xp_copy
 *   hands experiments out in a fixed order and gives each its position
 *   (xp_write_opts.ordinal); when one commits, every committed experiment
 *   whose position is the next one due is appended to the one open archive
 *   (a temp name beside it, archive_write.c, xport.json first) and its
 *   staged folder removed. publish appends what is left in position order
 *   (the positions of experiments skipped or failed never come), closes,
 *   fsyncs and renames the archive; a failed or interrupted run leaves no
 *   archive under the name (and an existing one untouched) and removes its
 *   staging. The same experiments thus give the same bytes whatever -j and
 *   whatever order the source lists them in.
 *   Disk beside the archive: the archive so far, plus the experiments
 *   committed ahead of one still in flight. With -j1 that is the one being
 *   written; with -jN, the experiments that finish while a slower one
 *   before them is still on its way, up to the rest of the run behind a
 *   very slow one. An experiment that fails before anything of it is
 *   written holds back every later one until the run ends (and the run
 *   then fails: nothing is published). Memory: the archive writer's
 *   buffers, plus the names of the experiments already appended.
 *   Both temp names carry the writer's PID: the next run into the same
 *   archive removes those of a process that is gone (xp_tmp_clean), so
 *   kill -9 leaves nothing for good. An archive is built whole by one run:
 *   --resume into one is refused. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "archive.h"
#include "local.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"
#include "xport/location.h"
#include "xport/sysio.h"

extern const struct xp_adapter_type xp_local_adapter;

/* An experiment committed to the staging folder, waiting for its turn. */
struct arc_ready {
    int64_t ordinal; /* -1: none given (appended at publish, by name) */
    char *rel;       /* below the staging folder; NULL: skipped */
    char *source_id;
};

struct arc_writer {
    char *work;                  /* the staging folder, a layout */
    struct local_adapter *inner; /* the local adapter writing it */
    struct json_object *placed;  /* inner->placed: appended, dir -> source id */
    struct arc_out *out;         /* the archive, from the first append on */
    int64_t next;                /* the position due next */
    struct arc_ready *ready;
    size_t nready, cap;
    int err;                     /* the first failure to append, sticky */
    char *errmsg;
};

/* The index, made on first use (a destination has no archive yet). */
static int need_index(struct local_adapter *la)
{
    pthread_mutex_lock(&la->lock);
    int rc = la->arc ? 0 : arc_index_open(&la->arc, la->root, la->base.ctx);
    pthread_mutex_unlock(&la->lock);
    return rc;
}

static int archive_list(struct xp_adapter *a, xp_experiment_cb cb, void *payload)
{
    struct local_adapter *la = (struct local_adapter *)a;
    if (!xp_is_file(la->root))
        return xp_error_set(XP_ENOTFOUND, "no such archive '%s'", la->root);
    int rc = need_index(la);
    return rc ? rc : local_list_experiments(a, cb, payload);
}

static int archive_read(struct xp_reader **out, struct xp_adapter *a,
                        const struct xp_experiment_ref *ref, const struct xp_read_opts *ro)
{
    struct local_adapter *la = (struct local_adapter *)a;
    int rc = need_index(la);
    return rc ? (*out = NULL, rc) : local_read_experiment(out, a, ref, ro);
}

static void writer_free(struct arc_writer *w)
{
    if (!w)
        return;
    arc_out_free(w->out, 0);
    local_adapter_free(w->inner);
    json_object_put(w->placed);
    if (w->work && xp_rm_rf(w->work))
        xp_error_clear(); /* a later run into the archive removes it */
    for (size_t i = 0; i < w->nready; i++) {
        free(w->ready[i].rel);
        free(w->ready[i].source_id);
    }
    free(w->ready);
    free(w->errmsg);
    free(w->work);
    free(w);
}

/* "DIR/.NAME" for the archive DIR/NAME: its staging folders are named
 * after it by xp_tmp_name. */
static char *staging_base(const char *root)
{
    struct xp_buf t = XP_BUF_INIT;
    const char *slash = strrchr(root, '/');
    if (slash)
        xp_buf_printf(&t, "%.*s/.%s", (int)(slash - root), root, slash + 1);
    else
        xp_buf_printf(&t, ".%s", root);
    return xp_buf_detach(&t);
}

/* What runs killed before they ended left beside the archive: temp
 * archives and staging folders whose process is gone. */
static void clean_stale(const char *root)
{
    char *base = staging_base(root);
    xp_tmp_clean(base);
    xp_tmp_clean(root);
    free(base);
}

/* The staging folder beside the archive, and the local adapter on it. */
static int need_writer(struct local_adapter *la)
{
    if (la->arcw)
        return 0;
    const char *slash = strrchr(la->root, '/');
    if (slash && slash > la->root) {
        char *dir = xp_strndup(la->root, (size_t)(slash - la->root));
        int rc = xp_mkdir_p(dir);
        free(dir);
        if (rc)
            return rc;
    }
    clean_stale(la->root);
    char *base = staging_base(la->root), *work = xp_tmp_name(base);
    free(base);
    int made = xp_sys_mkdir(work, 0700) == 0;
    if (!made && errno == EEXIST && !xp_rm_rf(work)) /* a dead namesake's (its PID) */
        made = xp_sys_mkdir(work, 0700) == 0;
    if (!made) {
        int rc = xp_error_set_os(XP_EIO, "cannot create the staging folder '%s'", work);
        free(work);
        return rc;
    }
    struct arc_writer *w = xp_calloc(1, sizeof(*w));
    w->work = work;
    w->placed = json_object_new_object();
    struct xp_location loc = {.adapter = "local", .path = w->work};
    int rc = local_adapter_new(&w->inner, &xp_local_adapter, &loc, NULL, la->base.ctx);
    if (!rc) {
        w->inner->flavor = LOCAL_XPORT;
        w->inner->placed = w->placed;
        la->arcw = w;
    } else {
        writer_free(w);
    }
    return rc;
}

/* One staged experiment into the archive (opened with xport.json first
 * when it is the first), then out of the staging folder. */
static int append(struct local_adapter *la, struct arc_ready *r)
{
    struct arc_writer *w = la->arcw;
    int rc = 0;
    if (!w->out) {
        rc = arc_out_open(&w->out, la->root, la->base.ctx);
        if (!rc)
            rc = arc_out_file(w->out, w->work, "xport.json");
    }
    if (!rc)
        rc = arc_out_experiment(w->out, w->work, r->rel);
    char *dir = xp_path_join(w->work, r->rel);
    pthread_mutex_lock(&w->inner->lock);
    json_object_object_add(w->placed, dir,
                           r->source_id ? json_object_new_string(r->source_id) : NULL);
    pthread_mutex_unlock(&w->inner->lock);
    if (!rc)
        rc = xp_rm_rf(dir);
    free(dir);
    return rc;
}

/* The sticky failure to append, again for each experiment it concerns. */
static int writer_failed(struct local_adapter *la, int rc)
{
    struct arc_writer *w = la->arcw;
    if (rc && !w->err) {
        w->err = rc;
        w->errmsg = xp_strdup(xp_error_last()->message);
    }
    if (!w->err)
        return 0;
    return xp_error_set(w->err, "%s", w->errmsg);
}

static void ready_drop(struct arc_writer *w, size_t i)
{
    free(w->ready[i].rel);
    free(w->ready[i].source_id);
    w->ready[i] = w->ready[--w->nready];
}

/* An experiment committed (rel) or skipped (rel NULL) at its position;
 * then every one due is appended, in position order. Under la->lock. */
static int staged(struct local_adapter *la, int64_t ordinal, const char *rel,
                  const char *source_id)
{
    struct arc_writer *w = la->arcw;
    if (w->nready == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->ready = xp_realloc(w->ready, w->cap * sizeof(*w->ready));
    }
    w->ready[w->nready++] = (struct arc_ready){ordinal, rel ? xp_strdup(rel) : NULL,
                                               source_id ? xp_strdup(source_id) : NULL};
    int rc = 0;
    for (size_t i = 0; i < w->nready && !w->err && !rc;) {
        if (w->ready[i].ordinal != w->next || w->ready[i].ordinal < 0) {
            i++;
            continue;
        }
        if (w->ready[i].rel)
            rc = append(la, &w->ready[i]);
        ready_drop(w, i);
        w->next++;
        i = 0; /* the one after it may be waiting already */
    }
    return writer_failed(la, rc);
}

static int ready_cmp(const void *a, const void *b)
{
    const struct arc_ready *x = a, *y = b;
    uint64_t ox = (uint64_t)x->ordinal, oy = (uint64_t)y->ordinal; /* -1 last */
    if (ox != oy)
        return ox < oy ? -1 : 1;
    return strcmp(x->rel ? x->rel : "", y->rel ? y->rel : "");
}

/* The archive's sink: the layout writer's into the staging folder; its
 * commit appends what is due. */
struct arc_sink {
    struct xp_sink base;
    struct xp_sink *in;
    struct local_adapter *la;
    int64_t ordinal;
    char *source_id;
};

static int as_put(struct xp_sink *base, const struct xp_record *rec)
{
    struct arc_sink *k = (struct arc_sink *)base;
    int was = xp_sys_scratch(1);
    int rc = xp_sink_put(k->in, rec);
    xp_sys_scratch(was);
    return rc;
}

static int as_finish(struct xp_sink *base, int commit)
{
    struct arc_sink *k = (struct arc_sink *)base;
    int was = xp_sys_scratch(1);
    int rc = xp_sink_finish(k->in, commit);
    xp_sys_scratch(was);
    const char *first = NULL;
    int64_t dropped = xp_sink_dropped(k->in, &first);
    for (int64_t i = 0; i < dropped; i++)
        xp_sink_drop(base, k->la->base.ctx, "%s", first);
    if (!commit || rc)
        return commit ? rc : 0;
    pthread_mutex_lock(&k->la->lock);
    rc = staged(k->la, k->ordinal, xp_sink_dest_id(k->in), k->source_id);
    pthread_mutex_unlock(&k->la->lock);
    return rc;
}

static const char *as_dest_id(struct xp_sink *base)
{
    return xp_sink_dest_id(((struct arc_sink *)base)->in);
}

static void as_free(struct xp_sink *base)
{
    struct arc_sink *k = (struct arc_sink *)base;
    if (!k)
        return;
    xp_sink_free(k->in);
    free(k->source_id);
    free(k);
}

static int archive_write(struct xp_sink **out, struct xp_adapter *a,
                         const struct xp_experiment_meta *meta,
                         const struct xp_write_opts *wo)
{
    struct local_adapter *la = (struct local_adapter *)a;
    *out = NULL;
    if (wo->resume)
        return xp_error_set(XP_ENOTSUP, "'%s' is an archive, which a run writes whole: "
                            "--resume cannot continue it (run again without --resume to "
                            "build it anew)", la->root);
    pthread_mutex_lock(&la->lock);
    int rc = need_writer(la);
    if (!rc && la->arcw->err)
        rc = writer_failed(la, 0);
    pthread_mutex_unlock(&la->lock);
    if (rc)
        return rc;
    struct arc_sink *k = xp_calloc(1, sizeof(*k));
    k->base.version = XP_SINK_VERSION;
    k->base.put = as_put;
    k->base.finish = as_finish;
    k->base.free = as_free;
    k->base.dest_id = as_dest_id;
    k->la = la;
    k->ordinal = wo->ordinal;
    k->source_id = meta->source_id ? xp_strdup(meta->source_id) : NULL;
    int was = xp_sys_scratch(1);
    rc = xp_adapter_write(&k->in, &la->arcw->inner->base, meta, wo);
    xp_sys_scratch(was);
    if (rc == XP_EEXISTS && wo->ordinal >= 0) {
        /* skipped (the same experiment twice): not waited for */
        pthread_mutex_lock(&la->lock);
        int src = staged(la, wo->ordinal, NULL, NULL);
        pthread_mutex_unlock(&la->lock);
        rc = src ? src : XP_EEXISTS;
    }
    if (rc) {
        as_free(&k->base);
        return rc;
    }
    *out = &k->base;
    return 0;
}

static int archive_publish(struct xp_adapter *a, int ok)
{
    struct local_adapter *la = (struct local_adapter *)a;
    struct arc_writer *w = la->arcw;
    int rc = 0;
    pthread_mutex_lock(&la->lock);
    if (ok)
        clean_stale(la->root); /* (it clears the error: not on failure) */
    if (ok && w) {
        /* what waits on positions that never came (skipped), in order */
        if (w->nready)
            qsort(w->ready, w->nready, sizeof(*w->ready), ready_cmp);
        for (size_t i = 0; i < w->nready && !rc && !w->err; i++)
            if (w->ready[i].rel)
                rc = append(la, &w->ready[i]);
        rc = writer_failed(la, rc);
        if (!rc && !w->out) { /* every experiment skipped: the layout's marker alone */
            rc = arc_out_open(&w->out, la->root, la->base.ctx);
            if (!rc)
                rc = arc_out_file(w->out, w->work, "xport.json");
        }
        if (!rc) {
            rc = arc_out_close(w->out);
            w->out = NULL;
        }
    } else if (w) {
        xp_ctx_warn(la->base.ctx, "'%s' was not written: the run did not carry every "
                    "experiment", la->root);
    }
    writer_free(w);
    la->arcw = NULL;
    pthread_mutex_unlock(&la->lock);
    return rc;
}

static void archive_close(struct xp_adapter *a)
{
    struct local_adapter *la = (struct local_adapter *)a;
    if (!la)
        return;
    writer_free(la->arcw);
    arc_pool_close(la->arc);
    arc_index_free(la->arc);
    local_adapter_free(la);
}

static int archive_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                        const struct xp_location *loc, const struct xp_options *opts,
                        struct xp_ctx *ctx)
{
    struct local_adapter *la;
    int rc = local_adapter_new(&la, type, loc, opts, ctx);
    *out = &la->base;
    if (rc)
        return rc;
    la->flavor = LOCAL_XPORT;
    if (!xp_archive_kind(la->root))
        return xp_error_set(XP_EINVALID, "'%s' does not name an archive (.tar, .tar.gz, "
                            ".tgz, .tar.zst, .tar.xz or .zip)", la->root);
    return 0;
}

const struct xp_adapter_type xp_archive_adapter = {
    .abi = XP_ADAPTER_ABI,
    .name = "archive",
    .summary = "an xport layout in a .tar, .tar.gz, .tar.zst, .tar.xz or .zip "
               "(read and written streaming; published whole at the end of a run)",
    .caps = XP_CAP_READ | XP_CAP_WRITE | XP_CAP_NO_NETWORK,
    .open = archive_open,
    .close = archive_close,
    .list_experiments = archive_list,
    .read_experiment = archive_read,
    .write_experiment = archive_write,
    .publish = archive_publish,
};
