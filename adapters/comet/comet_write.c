/* Writing one experiment to a Comet server: the records go through the cometx
 * writer into a private temporary folder (so a record becomes what Comet
 * keeps exactly as for a cometx folder: metric values as Comet's strings,
 * asset records, xport_* others), and when the sink commits, comet_upload.c
 * sends that folder to the server, what the destination lacks only. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "comet_api.h"
#include "xport/error.h"
#include "xport/fs.h"

struct rest_sink {
    struct xp_sink base;
    struct comet_rest *c;
    struct cometx_adapter cx; /* the cometx writer's view of tmp */
    struct xp_sink *inner;
    char *tmp, *ws, *proj, *dir, *dest_key;
    int err;
};

static int rs_put(struct xp_sink *base, const struct xp_record *rec)
{
    struct rest_sink *s = (struct rest_sink *)base;
    if (s->err)
        return s->err;
    int rc = xp_sink_put(s->inner, rec);
    /* what the cometx writer could not hold is this sink's loss too */
    const char *first = NULL;
    int64_t lost = xp_sink_dropped(s->inner, &first);
    while (lost > xp_sink_dropped(base, NULL))
        xp_sink_drop(base, s->c->base.ctx, "%s", first && *first ? first
                                                                  : "an item was dropped");
    return rc ? (s->err = rc) : 0;
}

static int rs_finish(struct xp_sink *base, int commit)
{
    struct rest_sink *s = (struct rest_sink *)base;
    int rc = s->err;
    int irc = xp_sink_finish(s->inner, commit && !rc);
    if (!commit)
        return 0;
    if (!rc)
        rc = irc;
    if (!rc)
        rc = comet_upload(s->c, base, s->dir, s->ws, s->proj, &s->dest_key);
    if (rc)
        s->err = rc;
    return rc;
}

static const char *rs_dest_id(struct xp_sink *base)
{
    return ((struct rest_sink *)base)->dest_key;
}

static void rs_free(struct xp_sink *base)
{
    struct rest_sink *s = (struct rest_sink *)base;
    if (!s)
        return;
    xp_sink_free(s->inner);
    if (s->tmp) {
        xp_rm_rf(s->tmp);
        free(s->tmp);
    }
    free(s->cx.root);
    json_object_put(s->cx.claimed);
    pthread_mutex_destroy(&s->cx.lock);
    free(s->ws);
    free(s->proj);
    free(s->dir);
    free(s->dest_key);
    free(s);
}

static int is_literal(const char *p)
{
    return p && *p && !strpbrk(p, "*?[{");
}

int comet_write_experiment(struct xp_sink **out, struct xp_adapter *base,
                           const struct xp_experiment_meta *meta,
                           const struct xp_write_opts *wo)
{
    struct comet_rest *c = (struct comet_rest *)base;
    *out = NULL;
    /* comet:WS/PROJECT names where experiments go; else they keep their own */
    const char *ws = is_literal(c->sel.workspace) ? c->sel.workspace : meta->workspace;
    const char *proj = is_literal(c->sel.project) ? c->sel.project : meta->project;
    if (!ws || !*ws || !proj || !*proj)
        return xp_error_set(XP_EINVALID, "no Comet workspace and project for '%s': give "
                            "comet:WORKSPACE/PROJECT", meta->name ? meta->name : "?");
    struct rest_sink *s = xp_calloc(1, sizeof(*s));
    s->base.version = XP_SINK_VERSION;
    s->base.put = rs_put;
    s->base.finish = rs_finish;
    s->base.free = rs_free;
    s->base.dest_id = rs_dest_id;
    s->c = c;
    s->ws = xp_strdup(ws);
    s->proj = xp_strdup(proj);
    pthread_mutex_init(&s->cx.lock, NULL);
    s->cx.claimed = json_object_new_object();
    s->cx.base.type = c->base.type;
    s->cx.base.ctx = c->base.ctx;
    int rc = xp_tempdir(&s->tmp, "xport-comet-up-");
    if (!rc) {
        s->cx.root = xp_strdup(s->tmp);
        struct xp_write_opts iwo = {.resources = wo ? wo->resources : 0, .ordinal = -1};
        rc = cometx_write_experiment(&s->inner, &s->cx.base, meta, &iwo);
    }
    if (!rc) {
        /* where the cometx writer puts the folder: ROOT/WS/PROJECT/KEY,
         * names encoded as it encodes them */
        struct xp_buf d = XP_BUF_INIT, w = XP_BUF_INIT, p = XP_BUF_INIT;
        rc = xp_name_encode(&w, meta->workspace);
        if (!rc)
            rc = xp_name_encode(&p, meta->project);
        xp_buf_printf(&d, "%s/%s/%s/%s", s->tmp, w.ptr, p.ptr,
                      xp_sink_dest_id(s->inner));
        s->dir = xp_buf_detach(&d);
        xp_buf_release(&w);
        xp_buf_release(&p);
    }
    if (rc) {
        rs_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}
