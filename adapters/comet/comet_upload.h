/* Private to comet_upload.c and comet_upload_data.c: one experiment folder
 * (cometx layout) being sent to a Comet server, and what the destination
 * already holds of it. */
#ifndef XPORT_COMET_UPLOAD_H
#define XPORT_COMET_UPLOAD_H

#include "comet_api.h"

struct json_object;

struct comet_up {
    struct comet_rest *c;
    struct xp_sink *sink; /* for xp_sink_drop */
    const char *dir;
    char *key;     /* the destination's experiment key */
    int fresh;     /* created by this upload: the destination holds nothing */
    struct json_object *md; /* the folder's metadata.json */
    /* what the destination holds (NULL when fresh) */
    struct json_object *have_md, *have_others, *have_params, *have_tags, *have_assets;
    struct json_object *have_counts; /* metric name -> points held */
    int64_t have_lines;              /* output lines held */
    struct json_object *have_text;   /* "html", "code", "graph", "git", "system" -> 1 */
    int64_t requests;
};

/* comet_upload_find.c: u->key (and u->fresh when made now) for the
 * experiment of this source in WS/PROJECT; the value of the other `name`
 * in a log-other values list; one other logged. */
int comet_up_find_or_create(struct comet_up *u, const char *ws, const char *proj,
                            const char *src_vendor, const char *src_id, const char *name);
const char *comet_up_other_value(struct json_object *others, const char *name);
int comet_up_log_other(struct comet_up *u, const char *name, struct json_object *v);

/* comet_upload_metrics.c */
int comet_up_metrics(struct comet_up *u);
/* comet_upload_data.c */
int comet_up_output(struct comet_up *u);
int comet_up_assets(struct comet_up *u);

/* comet_upload_data.c too: a POST of body to the REST path (clientlib: the batch base), counted. */
int comet_up_post(struct comet_up *u, int clientlib, const char *path,
                  const struct xp_buf *body, unsigned flags);
/* {"experimentKey": KEY, — the start of every write body. */
void comet_up_begin(struct comet_up *u, struct xp_buf *b);

#endif
