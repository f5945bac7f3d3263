/* The framing of a .wandb transaction log (wandb.md §3.2-3.3): a 7-byte
 * header, then LevelDB-style 32 KiB blocks of chunks, each with a 7-byte
 * header (IEEE CRC-32 of type byte and payload, unmasked; length; type
 * FULL/FIRST/MIDDLE/LAST). Files written by the Go core before 0.17.6 count
 * blocks from offset 7 instead of 0; wlog_open tells which from the chunk at
 * the first block boundary.
 *
 * Damage is not fatal: a bad checksum, an impossible length or a truncated
 * tail loses the rest of that block (and any record it was part of), reading
 * resumes at the next block, and the lost byte ranges are kept for the
 * caller to report. Ownership: the caller owns the struct (wlog_close);
 * record bytes returned by wlog_next are borrowed until the next call. */
#ifndef XPORT_WANDB_LOG_H
#define XPORT_WANDB_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "xport/buf.h"

#define WLOG_BLOCK 32768
#define WLOG_HEADER 7

struct xp_ctx;

struct wlog_range {
    int64_t start, end; /* [start, end) in file offsets */
};

struct wlog {
    char *path;
    int fd;
    int64_t size;
    int64_t base; /* 0, or 7 for the old layout */
    int version;  /* the header's version byte */
    const struct xp_ctx *ctx; /* warnings go here; NULL: stay quiet */

    unsigned char *block;
    int64_t block_off; /* file offset of block[0]; -1 before the first */
    size_t block_len, pos;

    struct xp_buf rec;  /* a record being assembled from FIRST..LAST */
    int64_t rec_start;  /* offset of its FIRST chunk, -1 when none */
    int64_t rec_off;    /* offset of the record wlog_next returned last */
    int done;

    struct wlog_range *lost;
    size_t nlost, caplost;
};

/* Open and check the header; XP_EINVALID when it is not a W&B log. */
int wlog_open(struct wlog *l, const char *path, const struct xp_ctx *ctx);
/* Next intact record: 0 with data and len (and l->rec_off), XP_ITEROVER at
 * the end, or XP_EIO when reading fails. */
int wlog_next(struct wlog *l, const unsigned char **data, size_t *len);
void wlog_close(struct wlog *l);

/* "143-293, 40000-40960" (at most `max` ranges, then "and N more"). */
void wlog_lost_str(const struct wlog *l, struct xp_buf *out, size_t max);

/* IEEE CRC-32 (zlib's), continuing from crc (0 to start); wandb_crc.c.
 * wlog_crc32_tables is the same without the carry-less multiply path, for
 * the tests to hold one against the other. */
uint32_t wlog_crc32(uint32_t crc, const void *data, size_t len);
uint32_t wlog_crc32_tables(uint32_t crc, const void *data, size_t len);

#endif
