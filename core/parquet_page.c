/* Parquet page values: PLAIN, dictionary indices (PLAIN_DICTIONARY,
 * RLE_DICTIONARY), RLE booleans and the DELTA_* encodings, decoded into a
 * column chunk's value arrays (apache/parquet-format Encodings.md). */
#include <stdlib.h>
#include <string.h>

#include "core/parquet_page.h"
#include "xport/buf.h"
#include "xport/error.h"

const char *xp_pq_encoding_name(int enc)
{
    static const char *const names[] = {
        "PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
        "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
        "RLE_DICTIONARY", "BYTE_STREAM_SPLIT", "ALP"};
    if (enc >= 0 && enc < (int)(sizeof names / sizeof *names))
        return names[enc];
    return "unknown encoding";
}

/* Make room for n more values. */
void xp_pq_vals_reserve(struct xp_pq_vals *o, size_t n)
{
    if (o->n + n <= o->cap)
        return;
    size_t cap = o->cap ? o->cap : 1024;
    while (cap < o->n + n)
        cap *= 2;
    if (o->kind == XP_PQV_I64)
        o->i64 = xp_realloc(o->i64, cap * sizeof *o->i64);
    else if (o->kind == XP_PQV_F64)
        o->f64 = xp_realloc(o->f64, cap * sizeof *o->f64);
    else
        o->bytes = xp_realloc(o->bytes, cap * sizeof *o->bytes);
    o->cap = cap;
}

static inline uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int short_data(const char *enc, size_t got, size_t n)
{
    return xp_error_set(XP_EINVALID, "%s values end after %zu of %zu", enc,
                        got, n);
}

int xp_pq_plain(const struct xp_pq_column *col, const unsigned char *p,
                const unsigned char *end, size_t n, struct xp_pq_vals *o)
{
    size_t avail = (size_t)(end - p), i;
    /* every value takes bytes (a bit for booleans): a count the data cannot
     * hold is refused before anything is allocated for it */
    size_t least = col->type == XP_PQ_BOOLEAN ? 0
                   : col->type == XP_PQ_BYTE_ARRAY ? 4
                   : col->type == XP_PQ_FIXED ? (size_t)col->type_length
                   : col->type == XP_PQ_INT32 || col->type == XP_PQ_FLOAT ? 4 : 8;
    if ((least ? avail / least : avail * 8) < n)
        return short_data("PLAIN", least ? avail / least : avail * 8, n);
    xp_pq_vals_reserve(o, n);
    switch (col->type) {
    case XP_PQ_BOOLEAN:
        if (avail < (n + 7) / 8)
            return short_data("PLAIN", avail * 8, n);
        for (i = 0; i < n; i++)
            o->i64[o->n++] = (p[i >> 3] >> (i & 7)) & 1;
        return 0;
    case XP_PQ_INT32:
        if (avail / 4 < n)
            return short_data("PLAIN", avail / 4, n);
        for (i = 0; i < n; i++)
            o->i64[o->n++] = (int32_t)le32(p + 4 * i);
        return 0;
    case XP_PQ_INT64:
        if (avail / 8 < n)
            return short_data("PLAIN", avail / 8, n);
        for (i = 0; i < n; i++)
            o->i64[o->n++] = (int64_t)le64(p + 8 * i);
        return 0;
    case XP_PQ_FLOAT:
        if (avail / 4 < n)
            return short_data("PLAIN", avail / 4, n);
        for (i = 0; i < n; i++) {
            uint32_t u = le32(p + 4 * i);
            float fl;
            memcpy(&fl, &u, 4);
            o->f64[o->n++] = (double)fl; /* exact, NaN payloads aside */
        }
        return 0;
    case XP_PQ_DOUBLE:
        if (avail / 8 < n)
            return short_data("PLAIN", avail / 8, n);
        for (i = 0; i < n; i++) {
            uint64_t u = le64(p + 8 * i);
            memcpy(&o->f64[o->n++], &u, 8);
        }
        return 0;
    case XP_PQ_BYTE_ARRAY:
        for (i = 0; i < n; i++) {
            if (end - p < 4)
                return short_data("PLAIN", i, n);
            uint32_t len = le32(p);
            p += 4;
            if (len > (size_t)(end - p))
                return xp_error_set(XP_EINVALID, "PLAIN byte array %zu of %zu "
                                    "runs past the page (%u bytes)", i, n, len);
            o->bytes[o->n++] = (struct xp_pq_bytes){(const char *)p, len};
            p += len;
        }
        return 0;
    case XP_PQ_FIXED: {
        size_t w = (size_t)col->type_length;
        if (avail / w < n)
            return short_data("PLAIN", avail / w, n);
        for (i = 0; i < n; i++)
            o->bytes[o->n++] = (struct xp_pq_bytes){(const char *)p + w * i,
                                                    (uint32_t)w};
        return 0;
    }
    default:
        return xp_error_set(XP_ENOTSUP, "INT96 values are not supported");
    }
}

int xp_pq_dict_indices(const struct xp_pq_vals *dict, const unsigned char *p,
                       const unsigned char *end, size_t n,
                       struct xp_pq_vals *o, uint32_t **scratch,
                       size_t *scap)
{
    if (!dict->set)
        return xp_error_set(XP_EINVALID, "dictionary-encoded page without a "
                            "dictionary page");
    if (n == 0)
        return 0;
    if (p >= end)
        return xp_error_set(XP_EINVALID, "dictionary indices missing");
    int w = *p++;
    if (w > 32)
        return xp_error_set(XP_EINVALID, "dictionary index width %d", w);
    if (*scap < n) {
        *scap = n;
        *scratch = xp_realloc(*scratch, n * sizeof **scratch);
    }
    uint32_t *idx = *scratch;
    int rc = xp_pq_rle_decode(p, end, w, idx, n);
    if (rc < 0)
        return rc;
    xp_pq_vals_reserve(o, n);
    for (size_t i = 0; i < n; i++) {
        if (idx[i] >= dict->n)
            return xp_error_set(XP_EINVALID, "dictionary index %u out of range "
                                "(%zu entries)", idx[i], dict->n);
        if (o->kind == XP_PQV_I64)
            o->i64[o->n++] = dict->i64[idx[i]];
        else if (o->kind == XP_PQV_F64)
            o->f64[o->n++] = dict->f64[idx[i]];
        else
            o->bytes[o->n++] = dict->bytes[idx[i]];
    }
    return 0;
}

int xp_pq_rle_bool(const unsigned char *p, const unsigned char *end, size_t n,
                   struct xp_pq_vals *o, uint32_t **scratch, size_t *scap)
{
    if (end - p < 4)
        return xp_error_set(XP_EINVALID, "RLE booleans lack their length");
    uint32_t len = le32(p);
    p += 4;
    if (len > (size_t)(end - p))
        return xp_error_set(XP_EINVALID, "RLE booleans run past the page");
    if (*scap < n) {
        *scap = n;
        *scratch = xp_realloc(*scratch, (n ? n : 1) * sizeof **scratch);
    }
    int rc = xp_pq_rle_decode(p, p + len, 1, *scratch, n);
    if (rc < 0)
        return rc;
    xp_pq_vals_reserve(o, n);
    for (size_t i = 0; i < n; i++)
        o->i64[o->n++] = (*scratch)[i];
    return 0;
}

int xp_pq_byte_stream_split(const struct xp_pq_column *col,
                            const unsigned char *p, const unsigned char *end,
                            size_t n, struct xp_pq_vals *o, char **store)
{
    size_t w;
    switch (col->type) {
    case XP_PQ_INT32: case XP_PQ_FLOAT: w = 4; break;
    case XP_PQ_INT64: case XP_PQ_DOUBLE: w = 8; break;
    case XP_PQ_FIXED: w = (size_t)col->type_length; break;
    default:
        return xp_error_set(XP_EINVALID, "BYTE_STREAM_SPLIT on a column of "
                            "this type");
    }
    if ((size_t)(end - p) / w < n)
        return short_data("BYTE_STREAM_SPLIT", (size_t)(end - p) / w, n);
    /* gather each value's bytes back together, then read them as PLAIN */
    unsigned char *buf = xp_malloc(n * w + 1);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < w; k++)
            buf[i * w + k] = p[k * n + i];
    int rc = xp_pq_plain(col, buf, buf + n * w, n, o);
    if (col->type == XP_PQ_FIXED)
        *store = (char *)buf; /* the values point into it */
    else
        free(buf);
    return rc;
}

int xp_pq_delta_ints(const struct xp_pq_column *col, const unsigned char *p,
                     const unsigned char *end, size_t n, struct xp_pq_vals *o)
{
    xp_pq_vals_reserve(o, n);
    int rc = xp_pq_delta_decode(&p, end, col->type == XP_PQ_INT32 ? 32 : 64,
                                o->i64 + o->n, n);
    if (rc == 0)
        o->n += n;
    return rc;
}

/* DELTA_BINARY_PACKED lengths at *p: n of them into a new array, each
 * checked non-negative; *p moves past them. */
static int lengths(const unsigned char **p, const unsigned char *end,
                   size_t n, int64_t **out)
{
    size_t cnt;
    int rc = xp_pq_delta_count(*p, end, &cnt);
    if (rc < 0)
        return rc;
    if (cnt != n)
        return xp_error_set(XP_EINVALID, "%zu lengths for %zu values", cnt, n);
    *out = xp_malloc((n ? n : 1) * sizeof **out);
    if ((rc = xp_pq_delta_decode(p, end, 32, *out, n)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if ((*out)[i] < 0)
            return xp_error_set(XP_EINVALID, "negative length %lld",
                                (long long)(*out)[i]);
    return 0;
}

int xp_pq_delta_length(const unsigned char *p, const unsigned char *end,
                       size_t n, struct xp_pq_vals *o)
{
    int64_t *len = NULL;
    int rc = lengths(&p, end, n, &len);
    if (rc == 0) {
        xp_pq_vals_reserve(o, n);
        for (size_t i = 0; i < n; i++) {
            if ((uint64_t)len[i] > (uint64_t)(end - p)) {
                rc = xp_error_set(XP_EINVALID, "DELTA_LENGTH_BYTE_ARRAY value "
                                  "%zu runs past the page", i);
                break;
            }
            o->bytes[o->n++] = (struct xp_pq_bytes){(const char *)p,
                                                    (uint32_t)len[i]};
            p += len[i];
        }
    }
    free(len);
    return rc;
}

int xp_pq_delta_strings(const struct xp_pq_column *col,
                        const unsigned char *p, const unsigned char *end,
                        size_t n, struct xp_pq_vals *o, char **store)
{
    int64_t *pre = NULL, *suf = NULL;
    int rc = lengths(&p, end, n, &pre);
    if (rc == 0)
        rc = lengths(&p, end, n, &suf);
    uint64_t total = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if ((uint64_t)suf[i] > (uint64_t)(end - p) - total)
            rc = xp_error_set(XP_EINVALID, "DELTA_BYTE_ARRAY suffix %zu runs "
                              "past the page", i);
        total += (uint64_t)suf[i];
    }
    /* prefixes never exceed the previous value, so the whole is bounded */
    uint64_t size = 0, prevlen = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if ((uint64_t)pre[i] > prevlen)
            rc = xp_error_set(XP_EINVALID, "DELTA_BYTE_ARRAY prefix %zu longer "
                              "than the previous value", i);
        prevlen = (uint64_t)pre[i] + (uint64_t)suf[i];
        if (prevlen > UINT32_MAX || (size += prevlen) > ((uint64_t)1 << 31))
            rc = xp_error_set(XP_EINVALID, "DELTA_BYTE_ARRAY values too long");
        if (rc == 0 && col->type == XP_PQ_FIXED &&
            prevlen != (uint64_t)col->type_length)
            rc = xp_error_set(XP_EINVALID, "DELTA_BYTE_ARRAY value %zu is not "
                              "%d bytes long", i, col->type_length);
    }
    if (rc == 0) {
        char *buf = xp_malloc(size ? size : 1), *q = buf;
        *store = buf;
        const char *prev = NULL;
        xp_pq_vals_reserve(o, n);
        for (size_t i = 0; i < n; i++) {
            if (pre[i])
                memcpy(q, prev, (size_t)pre[i]);
            memcpy(q + pre[i], p, (size_t)suf[i]);
            p += suf[i];
            uint32_t len = (uint32_t)(pre[i] + suf[i]);
            o->bytes[o->n++] = (struct xp_pq_bytes){q, len};
            prev = q;
            q += len;
        }
    }
    free(pre);
    free(suf);
    return rc;
}
