/* Pulling an xp_stream (a file body) to its end. Everything is borrowed. */
#ifndef XPORT_STREAM_H
#define XPORT_STREAM_H

#include <stdint.h>

#include "fs.h"
#include "hash.h"
#include "record.h"

struct xp_ctx;

/* Read s to its end; each chunk goes to f and into h when they are not
 * NULL; *bytes (if not NULL) gets the total. Returns 0, the stream's error,
 * f's sticky write error, or XP_ECANCEL when ctx says so. */
int xp_stream_pump(struct xp_stream *s, struct xp_afile *f, struct xp_sha256 *h,
                   int64_t *bytes, const struct xp_ctx *ctx);

/* Read s to its end into a new file at path (plain, not atomic: for a
 * temporary copy to upload or retry); chunks also go into md5 when not
 * NULL. On failure the file is removed. */
int xp_stream_save(struct xp_stream *s, const char *path, struct xp_md5 *md5,
                   int64_t *bytes, const struct xp_ctx *ctx);
/* Store s at path atomically (its folder created), as the writers store a
 * file record: checked against the source's size and sha256 when m gives
 * them, hex getting its sha256 and *bytes its size. Nothing is left at
 * path on failure. */
int xp_stream_store(struct xp_stream *s, const char *path, const struct xp_file_meta *m,
                    char hex[65], int64_t *bytes, const struct xp_ctx *ctx);

/* A file body read from an open descriptor: the one fd-backed stream the
 * readers hand out. The stream owns fd: its free() (and
 * xp_fd_stream_close) closes it and sets it to -1, so the struct can be
 * given the next file's descriptor. */
struct xp_fd_stream {
    struct xp_stream base;
    int fd;
};
void xp_fd_stream_init(struct xp_fd_stream *f); /* no file yet: fd -1 */
void xp_fd_stream_close(struct xp_fd_stream *f);

#endif
