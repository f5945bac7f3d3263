/* Reading one experiment from a Comet server: comet_fetch.c brings it into a
 * private temporary folder in the layout `cometx download` writes, and the
 * cometx reader turns that folder into records; the folder goes when the
 * reader is freed. */
#include <stdlib.h>
#include <string.h>

#include "comet_api.h"
#include "xport/error.h"
#include "xport/fs.h"

struct rest_reader {
    struct xp_reader base;
    struct xp_reader *inner;
    char *tmp;
};

static int rr_next(struct xp_reader *base, const struct xp_record **out)
{
    struct rest_reader *r = (struct rest_reader *)base;
    return xp_reader_next(r->inner, out);
}

static void rr_free(struct xp_reader *base)
{
    struct rest_reader *r = (struct rest_reader *)base;
    if (!r)
        return;
    xp_reader_free(r->inner);
    if (r->tmp) {
        xp_rm_rf(r->tmp);
        free(r->tmp);
    }
    free(r);
}

int comet_read_experiment(struct xp_reader **out, struct xp_adapter *base,
                          const struct xp_experiment_ref *ref,
                          const struct xp_read_opts *ro)
{
    struct comet_rest *c = (struct comet_rest *)base;
    *out = NULL;
    if (!ref || !ref->key || !ref->workspace || !ref->project)
        return xp_error_set(XP_ENOTFOUND, "no Comet experiment key given");
    if (!xp_segment_safe(ref->workspace) || !xp_segment_safe(ref->project) ||
        !xp_segment_safe(ref->key))
        return xp_error_set(XP_EINVALID, "Comet experiment '%s/%s/%s' has a name that "
                            "cannot be a folder", ref->workspace, ref->project, ref->key);
    struct rest_reader *r = xp_calloc(1, sizeof(*r));
    r->base.version = XP_READER_VERSION;
    r->base.next = rr_next;
    r->base.free = rr_free;
    int rc = xp_tempdir(&r->tmp, "xport-comet-");
    char *dir = NULL;
    if (!rc) {
        char *ws = xp_path_join(r->tmp, ref->workspace);
        char *proj = xp_path_join(ws, ref->project);
        dir = xp_path_join(proj, ref->key);
        free(ws);
        free(proj);
        rc = comet_fetch(c, ref->key, dir, ro);
    }
    if (!rc) {
        struct xp_experiment_ref in = *ref;
        in.key = dir;
        rc = cometx_read_experiment(&r->inner, &c->cx.base, &in, ro);
    }
    free(dir);
    if (rc) {
        rr_free(&r->base);
        return rc;
    }
    *out = &r->base;
    return 0;
}
