/* Reading a .wandb log on a second thread: file reads, CRC checks and
 * record assembly (wandb_log.c) run there while the caller decodes, so a
 * conversion uses both cores of a small machine. With rows on, history
 * records are also packed there (wandb_rows.h): their protobuf walked and
 * their numbers parsed. Entries travel in a few fixed batches, so memory
 * stays bounded whatever the file's size.
 *
 * Ownership: wpre_start takes the opened wlog for the thread's lifetime;
 * the caller may read the wlog's damage fields only after wpre_stop.
 * Entry bytes from wpre_next are borrowed until the next call. */
#ifndef XPORT_WANDB_PREFETCH_H
#define XPORT_WANDB_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

struct wlog;
struct wpre;

enum wpre_kind {
    WPRE_RECORD, /* a record as it is in the log */
    WPRE_ROW,    /* a history record packed: data is a struct wrow */
    WPRE_KEY     /* the name of the key numbered `key`, before its first row */
};

struct wpre_entry {
    enum wpre_kind kind;
    int64_t off; /* RECORD and ROW: the record's file offset */
    const unsigned char *data;
    size_t len;
    uint32_t key;
};

int wpre_start(struct wpre **out, struct wlog *l, int rows);
/* Next entry: 0 with e set; XP_ITEROVER at the end; or wlog_next's error,
 * with its message. */
int wpre_next(struct wpre *p, struct wpre_entry *e);
/* Stop the thread (early or at the end) and free everything. */
void wpre_stop(struct wpre *p);

#endif
