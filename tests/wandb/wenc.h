/* A test-only writer of .wandb files: protobuf encoding of the few Record
 * messages the tests need, and the block/chunk framing in both layouts
 * (blocks from offset 0, or from offset 7 as the Go core wrote them before
 * 0.17.6). It follows the Python writer: a record meeting exactly 7 free
 * bytes starts with an empty FIRST chunk; fewer than 7 are zero padding.
 * The caller owns every struct; nothing here is used by xport itself. */
#ifndef XPORT_TESTS_WENC_H
#define XPORT_TESTS_WENC_H

#include <stdint.h>
#include <stdio.h>

#include "xport/buf.h"

/* ---- protobuf ----------------------------------------------------------- */
void we_varint(struct xp_buf *b, uint64_t v);
void we_uint(struct xp_buf *b, uint32_t num, uint64_t v);
void we_bytes(struct xp_buf *b, uint32_t num, const void *p, size_t n);
void we_str(struct xp_buf *b, uint32_t num, const char *s);
/* Append field num holding sub as a message. */
void we_msg(struct xp_buf *b, uint32_t num, const struct xp_buf *sub);

/* Record payloads (each appended to rec, which should start empty). */
void we_run(struct xp_buf *rec, const char *id, const char *entity,
            const char *project, const char *name, int64_t start_sec);
/* A HistoryItem with a one-part nested_key, appended to items. */
void we_item(struct xp_buf *items, const char *key, const char *value_json);
/* HistoryRecord from items; step < 0 leaves HistoryStep out. */
void we_history(struct xp_buf *rec, const struct xp_buf *items, int64_t step);
void we_exit(struct xp_buf *rec, int32_t code, int32_t runtime);
/* A Record of exactly `size` bytes that readers skip (only uuid); size is
 * at least 3 and not 131. */
void we_filler(struct xp_buf *rec, size_t size);

/* ---- framing ------------------------------------------------------------ */
struct we_writer {
    FILE *fp;
    int64_t off;
    int64_t base; /* 0 or 7 */
};
int we_open(struct we_writer *w, const char *path, int old_layout);
/* Write one record; returns the offset of its first chunk header. */
int64_t we_record(struct we_writer *w, const void *data, size_t len);
/* Bytes left in the current block. */
int64_t we_left(const struct we_writer *w);
int we_close(struct we_writer *w);

#define WE_BLOCK 32768

#endif
