/* The layout's JSONL lines, written (and points scanned) in one place for
 * every adapter that stores this form (the layout, ml-dash local stores,
 * xport's W&B track files): points {"index":N,"data":{...},"createdAt":..}
 * (schemas/series-point.schema.json) and log lines {"sequenceNumber":N,
 * "timestamp":..,"level":..,"stream":..,"message":..,"metadata":{..}}
 * (schemas/log-line.schema.json; absent members stay absent). */
#ifndef XPORT_LINES_H
#define XPORT_LINES_H

#include <stddef.h>

#include "buf.h"
#include "fs.h"
#include "record.h"

/* Append p's data members as "k":v pairs (no braces). */
int xp_pointline_put_fields(struct xp_buf *b, const struct xp_point *p);
/* Append p as one line, newline included. Fails with XP_EINVALID (and a
 * message naming the field) on a key or string that is not UTF-8. */
int xp_pointline_put(struct xp_buf *b, const struct xp_point *p);

/* Scan one line in place (line is modified; p's strings point into it) in
 * the canonical shape xp_pointline_put writes, the data members going to
 * fields[0..max). 0 on success; -1 for anything else, which callers hand
 * to json-c to read or to name what is wrong. */
int xp_pointline_scan(char *line, size_t len, struct xp_point *p,
                      struct xp_field *fields, size_t max, size_t *nf);

/* Append e as one log line, newline included. */
int xp_logline_put(struct xp_buf *b, const struct xp_log_entry *e);

/* The writers' loops: lines of v[0..n) through the buffer b into the file f
 * (b is flushed to f every 64 KiB and at the end). Points: *count gains n and
 * *next becomes at least one past the highest index; a point without
 * createdAt gets created_at when that is not NULL; a failure names `series`
 * and the point. Logs: *next becomes at least one past the highest
 * sequence number (next may be NULL). Both return the first failure,
 * the file's included. */
int xp_pointlines_write(struct xp_afile *f, struct xp_buf *b, const struct xp_point *v,
                        size_t n, const char *series, const char *created_at,
                        int64_t *count, int64_t *next);
int xp_loglines_write(struct xp_afile *f, struct xp_buf *b, const struct xp_log_entry *v,
                      size_t n, int64_t *next);

#endif
