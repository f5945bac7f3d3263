/* Reading a .wandb log on a second thread: file reads, CRC checks and
 * record assembly (wandb_log.c) run there while the caller decodes, so a
 * conversion uses both cores of a small machine. Records travel in a few
 * fixed batches, so memory stays bounded whatever the file's size.
 *
 * Ownership: wpre_start takes the opened wlog for the thread's lifetime;
 * the caller may read the wlog's damage fields only after wpre_stop.
 * Record bytes from wpre_next are borrowed until the next call. */
#ifndef XPORT_WANDB_PREFETCH_H
#define XPORT_WANDB_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

struct wlog;
struct wpre;

int wpre_start(struct wpre **out, struct wlog *l);
/* Next record: 0 with data, len and the record's file offset; XP_ITEROVER
 * at the end; or wlog_next's error, with its message. */
int wpre_next(struct wpre *p, const unsigned char **data, size_t *len,
              int64_t *off);
/* Stop the thread (early or at the end) and free everything. */
void wpre_stop(struct wpre *p);

#endif
