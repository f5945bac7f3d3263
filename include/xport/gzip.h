/* gzip (RFC 1952) compression of a request body in memory, for APIs that
 * take gzip-encoded bodies (Comet's clientlib batch endpoints). */
#ifndef XPORT_GZIP_H
#define XPORT_GZIP_H

#include <stddef.h>

struct xp_buf;

/* Append the gzip form of data[0..len) to out (level 6). Returns 0, or
 * XP_ERROR with a message when zlib fails. */
int xp_gzip(struct xp_buf *out, const void *data, size_t len);

#endif
