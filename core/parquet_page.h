/* Value decoding of one Parquet page (core/parquet_page.c), used by the
 * column chunk reader (core/parquet_chunk.c). */
#ifndef XPORT_PARQUET_PAGE_H
#define XPORT_PARQUET_PAGE_H

#include "core/parquet_int.h"

enum { XP_PQV_I64 = 1, XP_PQV_F64, XP_PQV_BYTES };

/* A growing array of values of one kind. */
struct xp_pq_vals {
    int kind;
    int set;      /* a dictionary: it has been read */
    size_t n, cap;
    int64_t *i64;
    double *f64;
    struct xp_pq_bytes *bytes;
};

void xp_pq_vals_reserve(struct xp_pq_vals *o, size_t n);
/* Append n values of the given encoding read from [p, end) to o. Byte
 * values point into [p, end) (or, for DELTA_BYTE_ARRAY, into *store, a new
 * buffer the caller keeps). */
int xp_pq_plain(const struct xp_pq_column *col, const unsigned char *p,
                const unsigned char *end, size_t n, struct xp_pq_vals *o);
int xp_pq_dict_indices(const struct xp_pq_vals *dict, const unsigned char *p,
                       const unsigned char *end, size_t n,
                       struct xp_pq_vals *o, uint32_t **scratch, size_t *scap);
int xp_pq_rle_bool(const unsigned char *p, const unsigned char *end, size_t n,
                   struct xp_pq_vals *o, uint32_t **scratch, size_t *scap);
int xp_pq_byte_stream_split(const struct xp_pq_column *col,
                            const unsigned char *p, const unsigned char *end,
                            size_t n, struct xp_pq_vals *o, char **store);
int xp_pq_delta_ints(const struct xp_pq_column *col, const unsigned char *p,
                     const unsigned char *end, size_t n, struct xp_pq_vals *o);
int xp_pq_delta_length(const unsigned char *p, const unsigned char *end,
                       size_t n, struct xp_pq_vals *o);
int xp_pq_delta_strings(const struct xp_pq_column *col,
                        const unsigned char *p, const unsigned char *end,
                        size_t n, struct xp_pq_vals *o, char **store);

#endif
