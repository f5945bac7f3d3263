/* A file_stream writer for one run (wandb.md §2.2): lines of one stream
 * file (wandb-history.jsonl, wandb-events.jsonl, output.log) are batched
 * into POSTs of at most about 4 MiB, each carrying its first line's
 * offset; the last request carries the summary and `complete`.
 *
 * Ownership: the caller owns struct wstream (wstream_release); the client
 * is borrowed and must outlive it. */
#ifndef XPORT_WANDB_STREAM_H
#define XPORT_WANDB_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "xport/buf.h"
#include "wandb_api.h"

/* The longest line W&B accepts: 10 MiB - 100 KiB. */
#define WSTREAM_MAX_LINE (10 * 1024 * 1024 - 100 * 1024)

struct wstream {
    struct wapi *api;
    char *url;
    const char *file; /* the stream file of the pending batch */
    int64_t offset;   /* line number of the batch's first line */
    size_t nlines;
    struct xp_buf body;
    size_t batch_bytes;
    int64_t requests;
};

void wstream_init(struct wstream *s, struct wapi *api, const char *entity,
                  const char *project, const char *run);
void wstream_release(struct wstream *s);
/* Start a stream file whose next line has number offset. */
int wstream_begin(struct wstream *s, const char *file, int64_t offset);
/* Queue one line (sent when the batch is full or at wstream_flush). */
int wstream_line(struct wstream *s, const char *line, size_t len);
int wstream_flush(struct wstream *s);
/* Send the summary (may be NULL) and, when complete, the exit code. */
int wstream_finish(struct wstream *s, const char *summary_json, int complete,
                   int exitcode);

#endif
