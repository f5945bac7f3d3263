/* JSON text in and out. Parsing uses json-c; writing is our own so that every
 * double round-trips bit-exactly (shortest form that strtod reads back) and
 * stays a float (1.0, never 1). Non-finite doubles are written as the bare
 * tokens NaN, Infinity and -Infinity, as Python's json module and the ml-dash
 * SDK write them (schemas/README.md). Objects returned through **out are owned
 * by the caller (json_object_put). */
#ifndef XPORT_JSON_H
#define XPORT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "record.h"
#include "utf8.h" /* xp_utf8_valid, long declared here */

struct json_object;

#define XP_DOUBLE_BUFSZ 32
/* Write the shortest round-trip form of d into buf; returns its length. */
size_t xp_fmt_double(char buf[XP_DOUBLE_BUFSZ], double d);
#define XP_INT_BUFSZ 24
/* Write v in decimal into buf; returns its length. */
size_t xp_fmt_int(char buf[XP_INT_BUFSZ], int64_t v);
/* Strict parse of a number token as written by xp_fmt_double or any JSON
 * producer (also NaN/Infinity/-Infinity). Returns 0 on success. */
int xp_parse_double(const char *s, size_t len, double *out);

/* Exact fast conversion of a JSON number token already known to be well
 * formed (digits, optional fraction and exponent, no NaN/Infinity): 1 and
 * the value strtod would give, to the bit; 0 when only strtod can tell. */
int xp_fast_double(const char *s, size_t n, double *out);

/* Append a quoted, escaped JSON string. Fails with XP_EINVALID (and writes
 * nothing) when s is not valid UTF-8; `what` names it in the message. */
int xp_json_put_str(struct xp_buf *b, const char *s, size_t len,
                    const char *what);
void xp_json_put_int(struct xp_buf *b, int64_t v);
void xp_json_put_double(struct xp_buf *b, double d);
int xp_json_put_value(struct xp_buf *b, const struct xp_value *v,
                      const char *what);
/* Serialise a json-c tree. sort_keys gives a canonical form (for digests). */
int xp_json_put_obj(struct xp_buf *b, struct json_object *o, int sort_keys);

/* Parse one JSON text; `what` names the source in the error message.
 * Nesting deeper than XP_JSON_DEPTH levels is an error. */
#define XP_JSON_DEPTH 128
int xp_json_parse(struct json_object **out, const char *text, size_t len,
                  const char *what);
/* A server's answer: parsed whole with json-c only when its tree stays in
 * a budget. json-c spends ~70 bytes on each 2-byte "0," and ~790 on each
 * "{}," (core/jscan_cost.c measures it), so 30 MiB of [0,0,...], under the HTTP
 * engine's 32 MiB answer cap (include/xport/sys/http.h), would take 1.1 GiB.
 * The budget is XP_JSON_TREE_RATIO times the answer's size or
 * XP_JSON_TREE_FLOOR, whichever is larger, as xp_jscan_cost prices it:
 * - under the floor a whole process stays under 64 MiB (its own ~20 MiB,
 *   an answer of at most 8 MiB, the tree);
 * - real answers are dense only when small: a Neptune run of 9,000 fields
 *   (Neptune's limit) is 1.6 MiB priced at 26 MiB, a Neptune series page
 *   of 10,000 points 0.7 MiB at 14 MiB, a Comet page of 100 experiments
 *   10 times its size; big ones are mostly strings, W&B's history rows
 *   about 2 times their size;
 * - above the floor a process holds at most ~5 times the answer (it and
 *   its tree) besides its own: 30 MiB of [0,0,...] (priced at 1.7 GiB) is
 *   refused, a 30 MiB answer of 40-byte strings (~100 MiB) is not.
 * Beyond it xp_json_parse_answer fails with XP_EINVALID naming url
 * (redacted; may be NULL), the count of values and the size, before
 * anything is built. JSON texts inside answers (W&B's config, Comet's
 * logged others) and nested values kept as raw text (xp_json_put_value,
 * xp_value_to_json) are priced the same way. */
#define XP_JSON_TREE_FLOOR ((uint64_t)32 << 20)
#define XP_JSON_TREE_RATIO 4
int xp_json_parse_answer(struct json_object **out, const char *text, size_t len,
                         const char *what, const char *url);
/* Read and parse a whole file (bounded: files above 256 MiB are refused). */
int xp_json_read_file(struct json_object **out, const char *path);
/* Write o and a newline to path atomically (temp file, fsync, rename). */
int xp_json_write_file(const char *path, struct json_object *o);

/* Convert a json-c value to an xp_value. Strings point into `o`; nested
 * objects and arrays are serialised into `arena` (both must outlive it). */
int xp_value_from_json(struct xp_value *out, struct json_object *o,
                       struct xp_arena *arena);
/* Build a json-c object for a value (for documents). */
struct json_object *xp_value_to_json(const struct xp_value *v);

/* Borrowed string member or NULL when absent or not a string. */
const char *xp_json_str(struct json_object *o, const char *key);
/* A string member that names something (an experiment, a run) the way
 * xport carries names, as C strings: the borrowed string, or NULL when
 * absent or not a string; a name holding a NUL byte, which a C string would
 * cut short, is an error saying so (what names the thing, for the message)
 * and NULL. *rc is set to 0 or the error. */
const char *xp_json_name(struct json_object *o, const char *key, const char *what, int *rc);
/* Borrowed member or NULL (o may be NULL). */
struct json_object *xp_json_get(struct json_object *o, const char *key);
/* The string elements of an array member, borrowed from o, in a
 * NULL-terminated array the caller frees (NULL when there is no array). */
const char **xp_json_strings(struct json_object *o, const char *key, size_t *n);

#endif
