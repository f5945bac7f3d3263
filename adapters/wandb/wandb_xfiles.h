/* xport's own run files on a W&B server. W&B has no place for a layout's
 * "others" document or for tracks (ml-dash 0.6 topics of flat rows), so the
 * writer stores them as ordinary run files under reserved names and the
 * reader turns those files back into the document and the series:
 *
 *   xport/others.json              the others document, one JSON object
 *   xport/tracks/<name>.jsonl      one track: <name> is the track's name
 *                                  encoded as layout names are (xp_name_encode)
 *   xport/fields.json              the map of split series (wandb_split.h)
 *
 * A track file's first line is a header {"xportTrack":1,"name":N[,
 * "description":D][,"metadata":M]} (the full name: a long one is cut in the
 * file name); each further line is one point in the layout's point format,
 * {"index":I,"data":{...}[,"createdAt":T]}, every field kept as it is.
 * Only these names are reserved; other files under xport/ are plain run
 * files.
 *
 * Ownership: the caller owns the structs (release functions below);
 * records returned point into them until the next call. */
#ifndef XPORT_WANDB_XFILES_H
#define XPORT_WANDB_XFILES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "xport/buf.h"
#include "xport/record.h"
#include "wandb_batch.h"

struct json_object;

#define WXF_OTHERS "xport/others.json"
#define WXF_TRACKS "xport/tracks/"
#define WXF_FIELDS "xport/fields.json"

int wxf_is_others(const char *name);
int wxf_is_track(const char *name);
int wxf_is_fields(const char *name);

/* The run file name of the track called name. */
int wxf_track_file(struct xp_buf *out, const char *name);

/* Write doc as the others file at path. */
int wxf_others_write(const char *path, struct json_object *doc);

/* ---- writing a track file ------------------------------------------------ */

struct wxf_track_out {
    FILE *fp;
    char *path;
    char *name;
    struct xp_buf line;
};

/* Create path and write the header for the series m. */
int wxf_track_open(struct wxf_track_out *t, const char *path,
                   const struct xp_series_meta *m);
int wxf_track_put(struct wxf_track_out *t, const struct xp_point *v,
                  size_t n);
/* Flush and close; the file stays at t->path. */
int wxf_track_close(struct wxf_track_out *t);
void wxf_track_out_release(struct wxf_track_out *t);

/* ---- reading a track file ------------------------------------------------ */

struct wxf_track_in {
    FILE *fp;
    char *path;
    struct json_object *header;
    const char *name;              /* borrowed from header */
    const char *description;       /* or NULL */
    struct json_object *metadata;  /* or NULL */
    long lineno;
    char *line;
    size_t linecap;
    struct wbatch batch;
    struct json_object **held;     /* json-c trees the batch points into */
    size_t nheld;
    struct xp_arena arena;
};

/* Open path and read its header: XP_EINVALID when it is not a track file.
 * what names the file in messages. */
int wxf_track_in_open(struct wxf_track_in *t, const char *path,
                      const char *what);
/* The next batch of at most XP_POINTS_BATCH points; XP_ITEROVER at the
 * end. */
int wxf_track_in_next(struct wxf_track_in *t, const struct xp_point **v,
                      size_t *n);
void wxf_track_in_release(struct wxf_track_in *t);

#endif
