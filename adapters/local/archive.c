/* The archive adapter: an xport layout inside a tar (plain, gzip, zstd,
 * xz) or zip file, for `xport download ... -o export.tar.zst`, `xport copy
 * export.tar.gz mldash:...` and `xport verify export.zip ./other`. It is
 * the local adapter over another file access (local_fs.c), so the layout's
 * format has one implementation:
 * - reading streams members through libarchive (archive_index.c,
 *   archive_stream.c): nothing is unpacked to disk, memory holds the
 *   member names and the small JSON documents;
 * - writing goes through the layout writer into a staging folder beside
 *   the archive (".NAME.xport-XXXXXX"), written out as the archive when the
 *   run has carried every experiment (publish, archive_write.c) and then
 *   removed. Parallel workers finish experiments in any order, and a tar is
 *   a sequence: staging the whole layout is what lets the members come out
 *   in one fixed order, at the cost of the layout's size on disk while the
 *   run lasts. A failed or interrupted run leaves no archive under the
 *   name (and an existing one untouched); the archive is always built
 *   whole, so --resume into one is refused. */
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "local.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/location.h"

extern const struct xp_adapter_type xp_local_adapter;

struct arc_writer {
    char *work;                 /* the staging folder, a layout */
    struct local_adapter *inner; /* the local adapter writing it */
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
    local_adapter_free(w->inner);
    if (w->work && xp_rm_rf(w->work))
        xp_error_clear(); /* named by the warning of a later run, if any */
    free(w->work);
    free(w);
}

/* The staging folder beside the archive, and the local adapter on it. */
static int need_writer(struct local_adapter *la)
{
    if (la->arcw)
        return 0;
    struct xp_buf t = XP_BUF_INIT;
    const char *slash = strrchr(la->root, '/');
    if (slash)
        xp_buf_printf(&t, "%.*s/.%s.xport-XXXXXX", (int)(slash - la->root), la->root,
                      slash + 1);
    else
        xp_buf_printf(&t, ".%s.xport-XXXXXX", la->root);
    if (slash && slash > la->root) {
        char *dir = xp_strndup(la->root, (size_t)(slash - la->root));
        int rc = xp_mkdir_p(dir);
        free(dir);
        if (rc) {
            xp_buf_release(&t);
            return rc;
        }
    }
    if (!mkdtemp(t.ptr)) {
        int rc = xp_error_set_os(XP_EIO, "cannot create a staging folder beside '%s'",
                                 la->root);
        xp_buf_release(&t);
        return rc;
    }
    struct arc_writer *w = xp_calloc(1, sizeof(*w));
    w->work = xp_buf_detach(&t);
    struct xp_location loc = {.adapter = "local", .path = w->work};
    int rc = local_adapter_new(&w->inner, &xp_local_adapter, &loc, NULL, la->base.ctx);
    if (!rc) {
        w->inner->flavor = LOCAL_XPORT;
        la->arcw = w;
    } else {
        writer_free(w);
    }
    return rc;
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
    pthread_mutex_unlock(&la->lock);
    return rc ? rc : local_write_experiment(out, &la->arcw->inner->base, meta, wo);
}

static int archive_publish(struct xp_adapter *a, int ok)
{
    struct local_adapter *la = (struct local_adapter *)a;
    int rc = 0;
    if (!la->arcw && ok) {
        /* nothing was written (nothing listed, or all skipped) */
        return 0;
    }
    if (ok)
        rc = arc_write_layout(la->root, la->arcw->work, la->base.ctx);
    else if (la->arcw)
        xp_ctx_warn(la->base.ctx, "'%s' was not written: the run did not carry every "
                    "experiment", la->root);
    writer_free(la->arcw);
    la->arcw = NULL;
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
               "(read streaming; written whole at the end of a run)",
    .caps = XP_CAP_READ | XP_CAP_WRITE | XP_CAP_NO_NETWORK,
    .open = archive_open,
    .close = archive_close,
    .list_experiments = archive_list,
    .read_experiment = archive_read,
    .write_experiment = archive_write,
    .publish = archive_publish,
};
