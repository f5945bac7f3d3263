/* A streaming Parquet reader for the files Arrow-based writers produce: the
 * footer and schema (core/parquet_meta.c), one column chunk of one row group
 * at a time decoded into levels and values (core/parquet_chunk.c), and a
 * cursor that walks those values row by row.
 *
 * Format facts: apache/parquet-format, src/main/thrift/parquet.thrift and
 * Encodings.md. Memory is bounded by a column chunk (a row group), never the
 * file. Whatever the reader does not support (INT96, LZ4,
 * BROTLI, encrypted files ...) is an XP_ENOTSUP error naming the file,
 * the column and the feature; damaged input is an XP_EINVALID error naming
 * the file and the place. */
#ifndef XPORT_PARQUET_H
#define XPORT_PARQUET_H

#include <stddef.h>
#include <stdint.h>

/* Physical types (parquet.thrift enum Type). */
enum xp_pq_type {
    XP_PQ_BOOLEAN = 0,
    XP_PQ_INT32 = 1,
    XP_PQ_INT64 = 2,
    XP_PQ_INT96 = 3,
    XP_PQ_FLOAT = 4,
    XP_PQ_DOUBLE = 5,
    XP_PQ_BYTE_ARRAY = 6,
    XP_PQ_FIXED = 7 /* FIXED_LEN_BYTE_ARRAY */
};

/* What a leaf's value means, from its LogicalType or, in older files, its
 * ConvertedType. */
enum xp_pq_logical {
    XP_PQL_NONE = 0,
    XP_PQL_STRING,    /* STRING / UTF8, ENUM, JSON: UTF-8 text */
    XP_PQL_DECIMAL,   /* scale, precision */
    XP_PQL_TIMESTAMP, /* unit, utc */
    XP_PQL_DATE,
    XP_PQL_TIME,
    XP_PQL_INT,       /* bits, is_signed */
    XP_PQL_OTHER      /* UUID, FLOAT16, BSON, ... (named in `logical_name`) */
};

enum xp_pq_unit { XP_PQ_MILLIS = 1, XP_PQ_MICROS, XP_PQ_NANOS };
enum xp_pq_rep { XP_PQ_REQUIRED = 0, XP_PQ_OPTIONAL = 1, XP_PQ_REPEATED = 2 };

/* One node on a leaf's path from the root (the root excluded). */
struct xp_pq_node {
    const char *name;
    enum xp_pq_rep rep;
    int def;        /* the definition level at which this node is present */
    int rep_level;  /* the repetition level of this node (repeated nodes) */
    int is_list;    /* annotated LIST (or MAP) */
};

/* A leaf column. */
struct xp_pq_column {
    char *path;                 /* dotted: "histogram_value.edges.list.element" */
    struct xp_pq_node *nodes;   /* nnodes entries, the leaf last */
    size_t nnodes;
    enum xp_pq_type type;
    int type_length;            /* FIXED_LEN_BYTE_ARRAY */
    int max_def, max_rep;
    enum xp_pq_logical logical;
    const char *logical_name;   /* e.g. "UUID" for XP_PQL_OTHER */
    int scale, precision;       /* decimal */
    enum xp_pq_unit unit;       /* timestamp, time */
    int utc;                    /* timestamp: isAdjustedToUTC */
    int bits, is_signed;        /* integer annotation */
};

/* Where one column chunk of one row group lies. */
struct xp_pq_chunk_meta {
    int codec;                  /* parquet.thrift CompressionCodec */
    int64_t num_values;
    int64_t data_page_offset;
    int64_t dict_page_offset;   /* 0 when none */
    int64_t total_compressed;
    int64_t total_uncompressed;
};

struct xp_pq_rowgroup {
    int64_t num_rows;
    struct xp_pq_chunk_meta *chunks; /* one per leaf column */
};

struct xp_pq_file {
    char *path;
    int fd;
    int64_t size;
    int64_t num_rows;
    char *created_by;           /* or NULL */
    struct xp_pq_column *cols;
    size_t ncols;
    struct xp_pq_rowgroup *rgs;
    size_t nrgs;
    void *priv;                 /* the schema's string storage */
};

/* Open a file and read its footer and schema. */
int xp_pq_open(struct xp_pq_file **out, const char *path);
void xp_pq_close(struct xp_pq_file *f);
/* The leaf whose dotted path is `path`, or -1. */
int xp_pq_find(const struct xp_pq_file *f, const char *path);

/* A byte string inside a decoded column chunk (BYTE_ARRAY and
 * FIXED_LEN_BYTE_ARRAY values). */
struct xp_pq_bytes {
    const char *ptr;
    uint32_t len;
};

/* One column chunk decoded: a level entry per value slot (nulls and empty
 * lists included), and the non-null values in order. */
struct xp_pq_values {
    const struct xp_pq_column *col;
    size_t n;           /* level entries */
    int16_t *def;       /* NULL when max_def is 0 (every entry a value) */
    int16_t *rep;       /* NULL when max_rep is 0 (every entry a row) */
    size_t nvals;       /* non-null values */
    /* exactly one of these holds the values, by physical type */
    int64_t *i64;       /* BOOLEAN (0/1), INT32 (sign-extended), INT64 */
    double *f64;        /* FLOAT (widened, exactly), DOUBLE */
    struct xp_pq_bytes *bytes; /* BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY */
    void *priv;         /* buffers the bytes point into */
};

/* Decode column `col` of row group `rg`. */
int xp_pq_read(struct xp_pq_file *f, size_t rg, size_t col,
               struct xp_pq_values *out);
void xp_pq_values_release(struct xp_pq_values *v);

/* Walks the rows of a decoded chunk: each call gives the level entries of
 * the next row [*lvl, *lvl + *nlvl) and the index of its first value. */
struct xp_pq_cursor {
    const struct xp_pq_values *v;
    size_t lvl, val;
};
void xp_pq_cursor_init(struct xp_pq_cursor *c, const struct xp_pq_values *v);
/* 0 with the row, XP_ITEROVER at the end. */
int xp_pq_cursor_next(struct xp_pq_cursor *c, size_t *lvl, size_t *nlvl,
                      size_t *val);
/* The definition level of entry i (max_def when the column has none). */
static inline int xp_pq_def(const struct xp_pq_values *v, size_t i)
{
    return v->def ? v->def[i] : v->col->max_def;
}

/* Decimals: a FIXED_LEN_BYTE_ARRAY or BYTE_ARRAY big-endian two's
 * complement of up to 16 bytes (decimal128), or an INT32/INT64 unscaled
 * value, written as exact decimal text ("-12.500000" for scale 6) into
 * out (at least 48 bytes). Returns the length, or XP_EINVALID. */
int xp_pq_decimal_text(const struct xp_pq_values *v, size_t val, char *out,
                       size_t outsz);

/* The name of a compression codec or encoding (for messages). */
const char *xp_pq_codec_name(int codec);
const char *xp_pq_encoding_name(int enc);

#endif
