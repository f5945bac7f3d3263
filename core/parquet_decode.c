/* Parquet's integer encodings (apache/parquet-format Encodings.md): the
 * RLE / bit-packed hybrid of levels and dictionary indices, and
 * DELTA_BINARY_PACKED. Every read is bounded by the buffer. */
#include <string.h>

#include "core/parquet_int.h"
#include "xport/error.h"
#include "xport/pb.h"

/* Value k of width w (1..64) in a little-endian bit-packed run at p; the
 * caller has checked that the run's bytes are there. */
static inline uint64_t get_bits(const unsigned char *p, size_t k, int w)
{
    size_t bit = k * (size_t)w;
    size_t byte = bit >> 3;
    int sh = (int)(bit & 7);
    uint64_t v = (uint64_t)(p[byte++] >> sh);
    int got = 8 - sh;
    while (got < w) {
        v |= (uint64_t)p[byte++] << got;
        got += 8;
    }
    return w < 64 ? v & ((UINT64_C(1) << w) - 1) : v;
}

int xp_pq_rle_decode(const unsigned char *p, const unsigned char *end,
                     int w, uint32_t *out, size_t n)
{
    size_t i = 0;
    if (w < 0 || w > 32)
        return xp_error_set(XP_EINVALID, "bit width %d out of range", w);
    while (i < n) {
        uint64_t h;
        if (xp_pb_varint_get(&p, end, &h) < 0)
            return xp_error_set(XP_EINVALID, "run-length data ends after %zu "
                                "of %zu values", i, n);
        if (h & 1) {
            uint64_t groups = h >> 1;
            if (groups == 0 || groups > ((uint64_t)1 << 28))
                return xp_error_set(XP_EINVALID, "bad bit-packed run");
            uint64_t bytes = groups * (uint64_t)w;
            size_t cnt = (size_t)groups * 8;
            if (bytes > (uint64_t)(end - p)) {
                /* the last run may be cut to the bytes its values need */
                uint64_t need = ((uint64_t)(n - i) * (uint64_t)w + 7) / 8;
                if (need > (uint64_t)(end - p) || cnt < n - i)
                    return xp_error_set(XP_EINVALID, "bit-packed run runs past "
                                        "the end of its data");
                bytes = (uint64_t)(end - p);
            }
            size_t take = cnt < n - i ? cnt : n - i;
            for (size_t k = 0; k < take; k++)
                out[i + k] = w ? (uint32_t)get_bits(p, k, w) : 0;
            i += take;
            p += bytes;
        } else {
            uint64_t cnt = h >> 1;
            int nb = (w + 7) / 8;
            if (cnt == 0)
                return xp_error_set(XP_EINVALID, "empty run in run-length data");
            if (end - p < nb)
                return xp_error_set(XP_EINVALID, "run-length data ends inside "
                                    "a run");
            uint32_t v = 0;
            for (int b = 0; b < nb; b++)
                v |= (uint32_t)p[b] << (8 * b);
            p += nb;
            if (w < 32 && (v >> w))
                return xp_error_set(XP_EINVALID, "run value %u wider than %d "
                                    "bits", v, w);
            size_t take = cnt < (uint64_t)(n - i) ? (size_t)cnt : n - i;
            for (size_t k = 0; k < take; k++)
                out[i + k] = v;
            i += take;
        }
    }
    return 0;
}

struct dheader {
    uint64_t block, nmini, total;
    int64_t first;
};

static int delta_header(const unsigned char **p, const unsigned char *end,
                        struct dheader *h)
{
    uint64_t z;
    if (xp_pb_varint_get(p, end, &h->block) < 0 ||
        xp_pb_varint_get(p, end, &h->nmini) < 0 ||
        xp_pb_varint_get(p, end, &h->total) < 0 ||
        xp_pb_varint_get(p, end, &z) < 0)
        return xp_error_set(XP_EINVALID, "truncated delta header");
    h->first = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
    if (h->block == 0 || h->block % 128 || h->block > (1u << 20) ||
        h->nmini == 0 || h->block % h->nmini || (h->block / h->nmini) % 32)
        return xp_error_set(XP_EINVALID, "bad delta header (block %llu, "
                            "%llu miniblocks)", (unsigned long long)h->block,
                            (unsigned long long)h->nmini);
    return 0;
}

int xp_pq_delta_count(const unsigned char *p, const unsigned char *end,
                      size_t *n)
{
    struct dheader h;
    int rc = delta_header(&p, end, &h);
    if (rc < 0)
        return rc;
    if (h.total > ((uint64_t)1 << 31))
        return xp_error_set(XP_EINVALID, "delta count %llu too large",
                            (unsigned long long)h.total);
    *n = (size_t)h.total;
    return 0;
}

int xp_pq_delta_decode(const unsigned char **pp, const unsigned char *end,
                       int bits, int64_t *out, size_t n)
{
    const unsigned char *p = *pp;
    struct dheader h;
    int rc = delta_header(&p, end, &h);
    if (rc < 0)
        return rc;
    if (h.total != n)
        return xp_error_set(XP_EINVALID, "delta data holds %llu values where "
                            "%zu are expected", (unsigned long long)h.total, n);
    size_t per = (size_t)(h.block / h.nmini), i = 0;
    uint64_t prev = (uint64_t)h.first;
    if (n > 0) {
        out[i++] = bits == 32 ? (int64_t)(int32_t)(uint32_t)prev
                              : (int64_t)prev;
    }
    while (i < n) {
        uint64_t z;
        if (xp_pb_varint_get(&p, end, &z) < 0)
            return xp_error_set(XP_EINVALID, "truncated delta block");
        uint64_t mind = (z >> 1) ^ -(z & 1);
        if ((uint64_t)(end - p) < h.nmini)
            return xp_error_set(XP_EINVALID, "truncated delta block");
        const unsigned char *widths = p;
        p += h.nmini;
        for (size_t m = 0; m < h.nmini && i < n; m++) {
            int w = widths[m];
            if (w > bits)
                return xp_error_set(XP_EINVALID, "delta miniblock width %d "
                                    "exceeds %d bits", w, bits);
            size_t bytes = per * (size_t)w / 8;
            if ((size_t)(end - p) < bytes)
                return xp_error_set(XP_EINVALID, "truncated delta miniblock");
            for (size_t k = 0; k < per && i < n; k++) {
                uint64_t d = w ? get_bits(p, k, w) : 0;
                prev = prev + mind + d;
                out[i++] = bits == 32 ? (int64_t)(int32_t)(uint32_t)prev
                                      : (int64_t)prev;
            }
            p += bytes;
        }
    }
    *pp = p;
    return 0;
}
