/* Spool: append-only temporary streams for data that arrives in one order
 * and must be emitted in another (history rows of a run, emitted series by
 * series). Each stream is a file in a private directory made under $TMPDIR
 * (or /tmp); records are length-prefixed blobs, read back in the order they
 * were put. Memory stays bounded by the spool's budget however much is
 * spooled: buffers are flushed to disk when a stream's buffer or the total
 * reaches its limit.
 *
 * Ownership: the caller owns the spool and frees it with xp_spool_free, which
 * removes every file and the directory; data returned by xp_spool_iter_next
 * is borrowed until the next call on that iterator. */
#ifndef XPORT_SPOOL_H
#define XPORT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct xp_spool;

/* Create an empty spool. mem_budget bounds the bytes buffered in memory
 * across all streams (0: a default of 8 MiB). The directory is made lazily,
 * at the first flush, so a spool that never overflows touches no disk. */
int xp_spool_new(struct xp_spool **out, size_t mem_budget);
void xp_spool_free(struct xp_spool *s);

/* Add a stream; its id (0, 1, 2, ... in order of creation) goes to *id. */
int xp_spool_add(struct xp_spool *s, size_t *id);
size_t xp_spool_nstreams(const struct xp_spool *s);
/* Append one record to a stream. Fails with XP_EIO when the disk does, or
 * XP_EINVALID once the stream has been opened for reading. */
int xp_spool_put(struct xp_spool *s, size_t id, const void *data, size_t len);
/* xp_spool_put in two steps, for small records put by the million: room
 * for a record of len bytes in the stream's buffer, which the caller fills
 * before any other call on the spool, then xp_spool_commit. It saves a
 * copy, and a copy of bytes just written one by one is slow to read. */
int xp_spool_reserve(struct xp_spool *s, size_t id, size_t len, void **out);
int xp_spool_commit(struct xp_spool *s, size_t id);
/* Records put so far in a stream. */
uint64_t xp_spool_count(const struct xp_spool *s, size_t id);
/* Bytes spooled so far in all streams (payload plus length prefixes). */
uint64_t xp_spool_bytes(const struct xp_spool *s);

/* Reading one stream back. The iterator struct belongs to the caller; open
 * ends writing to that stream. */
struct xp_spool_iter {
    struct xp_spool *s;
    size_t id;
    int fd;
    uint64_t left;      /* records not yet returned */
    unsigned char *buf; /* file data being parsed */
    size_t cap, len, pos;
    int mem_done;       /* the in-memory tail has been moved into buf */
};
int xp_spool_iter_open(struct xp_spool_iter *it, struct xp_spool *s,
                       size_t id);
/* Next record: 0 with data and len set, XP_ITEROVER at the end, or an error. */
int xp_spool_iter_read(struct xp_spool_iter *it, const void **data,
                       size_t *len);
/* xp_spool_iter_read, inline for a short record already in the buffer:
 * readers take records by the million. */
static inline int xp_spool_iter_next(struct xp_spool_iter *it,
                                     const void **data, size_t *len)
{
    if (it->left && it->pos < it->len && it->buf[it->pos] < 0x80 &&
        it->buf[it->pos] < it->len - it->pos) {
        *len = it->buf[it->pos];
        *data = it->buf + it->pos + 1;
        it->pos += 1 + *len;
        it->left--;
        return 0;
    }
    return xp_spool_iter_read(it, data, len);
}
/* Back to the stream's first record, to read it again (a table that many
 * other streams refer to). */
int xp_spool_iter_rewind(struct xp_spool_iter *it);
/* Close the iterator and delete the stream's data (it cannot be reread). */
void xp_spool_iter_close(struct xp_spool_iter *it);

#endif
