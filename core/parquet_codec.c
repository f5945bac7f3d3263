/* Parquet page decompression: UNCOMPRESSED, SNAPPY (libsnappy), GZIP
 * (zlib) and ZSTD (libzstd); the other codecs of parquet.thrift's CompressionCodec are named
 * as unsupported. */
#include <string.h>

#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "core/parquet_int.h"
#include "xport/error.h"

const char *xp_pq_codec_name(int codec)
{
    static const char *const names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP",
                                        "LZO", "BROTLI", "LZ4", "ZSTD",
                                        "LZ4_RAW"};
    if (codec >= 0 && codec < (int)(sizeof names / sizeof *names))
        return names[codec];
    return "unknown codec";
}

int xp_pq_codec_check(int codec)
{
    if (codec == 0 || codec == 1 || codec == 2 || codec == 6)
        return 0;
    return xp_error_set(XP_ENOTSUP, "compression %s (%d) is not supported",
                        xp_pq_codec_name(codec), codec);
}

/* GZIP pages: one or more gzip members (zlib's inflate). */
static int gunzip(const void *src, size_t srclen, void *out, size_t outlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (srclen > UINT32_MAX || outlen > UINT32_MAX ||
        inflateInit2(&z, 15 + 16) != Z_OK)
        return xp_error_set(XP_EINVALID, "bad gzip data");
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)srclen;
    z.next_out = out;
    z.avail_out = (uInt)outlen;
    int zr;
    for (;;) {
        zr = inflate(&z, Z_FINISH);
        /* concatenated members: start the next one */
        if (zr == Z_STREAM_END && z.avail_in > 0 && z.avail_out > 0 &&
            inflateReset(&z) == Z_OK)
            continue;
        break;
    }
    size_t got = outlen - z.avail_out;
    int trailing = z.avail_in > 0;
    inflateEnd(&z);
    if (zr != Z_STREAM_END || trailing)
        return xp_error_set(XP_EINVALID, "bad gzip data");
    if (got != outlen)
        return xp_error_set(XP_EINVALID, "gzip data of %zu bytes where the page "
                            "header says %zu", got, outlen);
    return 0;
}

int xp_pq_decompress(int codec, const void *src, size_t srclen, void *out,
                     size_t outlen)
{
    int rc = xp_pq_codec_check(codec);
    if (rc < 0)
        return rc;
    if (codec == 0) {
        if (srclen != outlen)
            return xp_error_set(XP_EINVALID, "uncompressed page of %zu bytes "
                                "says it holds %zu", srclen, outlen);
        memcpy(out, src, outlen);
        return 0;
    }
    if (codec == 1) {
        size_t n;
        if (snappy_uncompressed_length(src, srclen, &n) != SNAPPY_OK)
            return xp_error_set(XP_EINVALID, "bad snappy data");
        if (n != outlen)
            return xp_error_set(XP_EINVALID, "snappy data of %zu bytes where "
                                "the page header says %zu", n, outlen);
        if (snappy_validate_compressed_buffer(src, srclen) != SNAPPY_OK ||
            snappy_uncompress(src, srclen, out, &n) != SNAPPY_OK ||
            n != outlen)
            return xp_error_set(XP_EINVALID, "bad snappy data");
        return 0;
    }
    if (codec == 2)
        return gunzip(src, srclen, out, outlen);
    size_t n = ZSTD_decompress(out, outlen, src, srclen);
    if (ZSTD_isError(n))
        return xp_error_set(XP_EINVALID, "bad zstd data: %s",
                            ZSTD_getErrorName(n));
    if (n != outlen)
        return xp_error_set(XP_EINVALID, "zstd data of %zu bytes where the "
                            "page header says %zu", n, outlen);
    return 0;
}
