/* Private to the ml-dash server reader (mldash_read.c, mldash_scan.c,
 * mldash_read_extras.c, mldash_metrics.c, mldash_logs.c, mldash_files.c): the
 * reader's state and what its pieces share. */
#ifndef XPORT_MLDASH_READ_H
#define XPORT_MLDASH_READ_H

#include <stddef.h>
#include <stdint.h>

#include "mldash.h"
#include "xport/stream.h"
#include "xport/buf.h"
#include "xport/record.h"
#include "xport/typemark.h"

struct json_object;

/* ---- in-place scanning of point pages (mldash_scan.c) ---- */

static inline size_t mld_skip_ws(const char *s, size_t i, size_t len)
{
    while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
        i++;
    return i;
}

/* Skip one JSON value starting at s[*i]; strings and nesting respected.
 * Fails when the value runs past len. */
int mld_skip_value(const char *s, size_t len, size_t *i);

#define MLD_MORE_BYTES 1 /* mld_find_member: the object may go on past len */

/* Find the top-level member `key` of the object in s; *at gets the start
 * of its value. more: s may be the start of a body still arriving, and
 * MLD_MORE_BYTES means "not within these bytes". */
int mld_find_member(const char *s, size_t len, int more, const char *key, size_t *at);

/* Points being scanned in place: s[0..len), from pos (inside the "data"
 * array) on. A chunk still arriving (more) may end inside a point: the
 * scan then stops before it (need) and goes on once more bytes came. */
struct span {
    char *s;
    size_t len, pos;
    int more;
    int active; /* before the array's ']' */
    int need;   /* stopped at a point cut by len */
    int stuck;  /* see MLD_NEAR */
    int64_t count;
};

/* Only a point starting this close to the end of the bytes so far is
 * checked for completeness before it is scanned: checking every point
 * would cost half as much as scanning it, and the scanner changes the
 * bytes in place, so it cannot simply be tried again. A point longer than
 * this that fails to scan while the chunk arrives may be cut or bad: the
 * metric goes on through /data pages (stuck), which tell which. */
#define MLD_NEAR ((size_t)64 << 10)

/* A buffer or /data page of points: the response body. */
struct page {
    struct xp_http_response resp;
    struct span sp;
    int has_more; /* the page said hasMore */
};

/* The page's body: its "data" array found, hasMore read. */
int mld_page_open(struct page *pg, const char *what);

/* One point, {"index":..., "data":{...}, "createdAt":"..."} in any order,
 * into *p and its data's fields df[0..*dn); members it cannot read in
 * place are copied to arena. Returns XP_EINVALID when it cannot be read,
 * XP_ENOTFOUND when it lacks index or data. */
int mld_scan_point(struct xp_arena *arena, char *s, size_t len, size_t *end,
                   struct xp_point *p, struct xp_field *df, size_t *dn);

/* ---- the reader (mldash_read.c) ---- */

enum stage {
    ST_EXP, ST_PARAMS, ST_SUMMARY, ST_OTHERS, ST_METRIC, ST_LOGS, ST_FILES, ST_END, ST_DONE
};
enum mphase { MP_BEGIN, MP_CHUNKS, MP_BUFFER, MP_PAGING, MP_END };

struct mld_reader {
    struct xp_reader base;
    struct mld *m;
    struct xp_read_opts ro;
    char *id, *ws, *project, *name;
    enum stage stage;
    struct xp_record rec;
    struct json_object *exp;   /* the GraphQL experiment */
    struct json_object *doc;   /* current document / page */
    struct json_object *docs;  /* summary and others carried in metadata */
    struct json_object *types; /* the experiment's types kept apart, or NULL
                                * (an upload in the first form; mldash.h) */
    const char **tags;
    struct xp_buf url;

    /* metrics */
    struct json_object *metrics; /* array of names */
    size_t mi;
    enum mphase mp;
    int64_t chunk, next_index, emitted; /* chunk: the one being read */
    int64_t buffered; /* stats.bufferedDataPoints, -1 unknown */
    int gap; /* the buffer began past next_index */
    struct mld_chunks *chunks;
    size_t cused;   /* bytes of the chunk's last view used */
    int in_items;   /* the chunk's "data" array was found */
    int chunk_done; /* its array ended: the next chunk at the next call */
    int chunk_failed;
    struct page pg; /* buffer / paging page */
    struct xp_arena arena; /* members mld_scan_point could not read in place */
    struct xp_point *pts;
    struct xp_field *fields;
    size_t fcap;
    struct xp_tmread *ptypes; /* the metric's column marks, or NULL */

    /* logs */
    int64_t log_offset;
    int logs_done;
    size_t log_run;      /* the run of types->logs the next line is in */
    int64_t log_in_run;  /* lines of it already read */
    struct xp_log_entry *logv;

    /* files */
    struct json_object *files; /* array of {id, rel, checksum, ...} */
    size_t fi;
    char *tmpdir;
    struct xp_fd_stream stream;
};

/* mldash_read_extras.c */

/* Take the writer's extras (mldash.h) out of the metadata *md: they move
 * under key into keep (or NULL), which must outlive any string read from
 * them, and *md becomes NULL when the source had no metadata. */
void mld_take_extras(struct json_object **md, const char *key, struct json_object *keep);
/* Values the writer marked (xport/typemark.h) get their types back; a
 * marker that does not fit leaves the value as it is, with a warning. */
struct json_object *mld_unmark(struct mld_reader *r, struct json_object *o,
                               const char *what);
/* The types kept apart (MLD_TYPES_KEY) out of the metadata *md, and the
 * metadata's own marks applied; the types move into keep. NULL when *md
 * has none. *nometa: the source had no metadata. */
struct json_object *mld_take_types(struct mld_reader *r, struct json_object **md,
                                   struct json_object *keep, const char *what,
                                   int *nometa);

/* mldash_metrics.c: a metric's SERIES_BEGIN, then its POINTS records and
 * SERIES_END (r->mi is the metric, r->mp its phase). */
int mld_metric_begin(struct mld_reader *r);
int mld_metric_next(struct mld_reader *r);

/* mldash_logs.c: the next page of log lines as a LOGS record (*have). */
int mld_logs_next(struct mld_reader *r, int *have);

/* mldash_files.c: the next file as a FILE record (*have), downloaded and
 * checked; the list is made at the first call. */
int mld_file_next(struct mld_reader *r, int *have);

#endif
