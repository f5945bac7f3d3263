/* gzip compression of request bodies in memory (xport/gzip.h), through zlib. */
#include <zlib.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/gzip.h"

int xp_gzip(struct xp_buf *out, const void *data, size_t len)
{
    z_stream z = {0};
    /* 15 window bits + 16: a gzip header and trailer instead of zlib's */
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return xp_error_set(XP_ERROR, "cannot start gzip compression");
    size_t bound = deflateBound(&z, (uLong)len) + 32;
    xp_buf_grow(out, bound);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out->ptr + out->len;
    z.avail_out = (uInt)(out->cap - out->len - 1);
    int zr = deflate(&z, Z_FINISH);
    size_t made = (size_t)z.total_out;
    deflateEnd(&z);
    if (zr != Z_STREAM_END)
        return xp_error_set(XP_ERROR, "gzip compression of %zu bytes failed", len);
    xp_buf_setlen(out, out->len + made);
    return 0;
}
