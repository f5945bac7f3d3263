/* Internals shared by the Parquet reader's files: the Thrift compact
 * protocol reader (parquet_thrift.c), page headers (parquet_meta.c),
 * decompression (parquet_codec.c) and value decoding (parquet_decode.c). */
#ifndef XPORT_PARQUET_INT_H
#define XPORT_PARQUET_INT_H

#include <stddef.h>
#include <stdint.h>

#include "xport/parquet.h"

/* ---- Thrift compact protocol (parquet_thrift.c) ---- */

enum {
    XP_TC_STOP = 0,
    XP_TC_TRUE = 1,
    XP_TC_FALSE = 2,
    XP_TC_I8 = 3,
    XP_TC_I16 = 4,
    XP_TC_I32 = 5,
    XP_TC_I64 = 6,
    XP_TC_DOUBLE = 7,
    XP_TC_BINARY = 8,
    XP_TC_LIST = 9,
    XP_TC_SET = 10,
    XP_TC_MAP = 11,
    XP_TC_STRUCT = 12
};

/* A reader over one serialized Thrift structure. `base` is the file offset
 * of `start`, for messages. On error the message names the byte. */
struct xp_tc {
    const unsigned char *start, *p, *end;
    int64_t base;
    int depth;
};

struct xp_tc_field {
    int16_t id;
    int type;    /* XP_TC_*, with TRUE/FALSE for booleans */
};

void xp_tc_init(struct xp_tc *t, const void *data, size_t len, int64_t base);
/* Enter / leave a structure: `last` keeps the previous field id. */
int xp_tc_struct_begin(struct xp_tc *t);
void xp_tc_struct_end(struct xp_tc *t);
/* The next field header: 1 with *f filled, 0 at STOP, or XP_EINVALID. */
int xp_tc_field(struct xp_tc *t, int16_t *last, struct xp_tc_field *f);
int xp_tc_i64(struct xp_tc *t, const struct xp_tc_field *f, int64_t *out);
/* An i8/i16/i32 field or element into an int (range-checked). */
int xp_tc_i32(struct xp_tc *t, const struct xp_tc_field *f, int32_t *out);
int xp_tc_bool(struct xp_tc *t, const struct xp_tc_field *f, int *out);
int xp_tc_binary(struct xp_tc *t, const struct xp_tc_field *f,
                 const unsigned char **p, size_t *len);
/* A list header: element type and count (count bounded by the bytes left). */
int xp_tc_list(struct xp_tc *t, const struct xp_tc_field *f, int *etype,
               size_t *n);
/* Skip a value of the given type. */
int xp_tc_skip(struct xp_tc *t, int type);
/* Fail naming the current place: "bad thrift at byte N: why". */
int xp_tc_fail(const struct xp_tc *t, const char *why);
int64_t xp_tc_offset(const struct xp_tc *t);

/* ---- page headers (parquet_meta.c) ---- */

enum { XP_PQ_PAGE_DATA = 0, XP_PQ_PAGE_INDEX = 1, XP_PQ_PAGE_DICT = 2,
       XP_PQ_PAGE_DATA_V2 = 3 };

struct xp_pq_page {
    int type;
    int32_t uncompressed, compressed;
    int32_t num_values;      /* level entries (data) or entries (dict) */
    int32_t num_nulls, num_rows;  /* v2 */
    int encoding;
    int def_encoding, rep_encoding; /* v1 */
    int32_t def_len, rep_len;       /* v2 */
    int is_compressed;              /* v2, default true */
    int has_header;                 /* the type's header was present */
};
/* Parse a page header at t; t is left after it. */
int xp_pq_page_header(struct xp_tc *t, struct xp_pq_page *pg);

/* ---- decompression (parquet_codec.c) ---- */

/* Decompress src into out (exactly outlen bytes expected). The message
 * names the codec; the caller adds the place. */
int xp_pq_decompress(int codec, const void *src, size_t srclen, void *out,
                     size_t outlen);
/* 0 when the codec is one the reader handles, else XP_ENOTSUP. */
int xp_pq_codec_check(int codec);

/* ---- value decoding (parquet_decode.c) ---- */

/* The RLE / bit-packed hybrid (Encodings.md), for levels and dictionary
 * indices: decode n values of bit width w from [p, end) into out. */
int xp_pq_rle_decode(const unsigned char *p, const unsigned char *end,
                     int w, uint32_t *out, size_t n);
/* DELTA_BINARY_PACKED: decode exactly n values (n from the caller, checked
 * against the header's count) into out; *p is left after the last block
 * read. bits is 32 or 64 (the physical width, for wrapping). */
int xp_pq_delta_decode(const unsigned char **p, const unsigned char *end,
                       int bits, int64_t *out, size_t n);
/* The count a DELTA_BINARY_PACKED header announces (without moving). */
int xp_pq_delta_count(const unsigned char *p, const unsigned char *end,
                      size_t *n);

/* Bit width of max (0 for 0). */
static inline int xp_pq_bit_width(uint32_t max)
{
    int w = 0;
    while (max) {
        w++;
        max >>= 1;
    }
    return w;
}

#endif
