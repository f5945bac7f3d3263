/* Carrying exact value types through a store that reads JSON the way
 * JavaScript does (Node's JSON.parse/JSON.stringify, e.g. the ml-dash
 * server): every number becomes a double printed without a fraction when it
 * is whole, NaN and ±Infinity are not JSON, -0 prints as 0 and integers
 * beyond 2^53 lose digits.
 *
 * The writer sends such a value in a form the store keeps (a whole float as
 * its number, the others as strings, a nested object holding one of them as
 * its JSON text in a string) and names the field with a code: 'f' a float,
 * 'i'/'u' an int64/uint64 as its decimal string, 'j' JSON text.
 *
 * Two forms. The first (in-object) puts the codes in a marker member of the
 * same object: "_xport": {"<field>": "f"|"i"|"u"|"j", ...}; a source field
 * that is itself named "_xport" travels inside the marker as
 * {"_xport": {"o": <value>}}. The second (apart) keeps the objects plain
 * and returns the codes separately, for the caller to keep where the
 * store's users do not browse them as data: a marks tree for one document
 * (xp_typemark_tree_split), or column marks for a series of objects that
 * share field names (xp_tmcols, below), where one code covers a whole
 * column and only a column that mixes cases lists the objects it marks.
 * The reader of either form turns the fields back, so types and bits
 * survive; objects without marks are read as they are. */
#ifndef XPORT_TYPEMARK_H
#define XPORT_TYPEMARK_H

#include <stddef.h>

#include "buf.h"
#include "record.h"

#define XP_TYPEMARK_KEY "_xport"

/* Write the members of one object, fields[0..n), as "k":v pairs separated by
 * commas (no braces), marker last when needed. *marked gets 1 when a marker
 * was written. Fails with XP_EINVALID on a key or string that is not UTF-8
 * or a nested value that is not JSON. */
int xp_typemark_put_fields(struct xp_buf *b, const struct xp_field *fields,
                           size_t n, int *marked);

/* Undo the marker in place: fields[0..*n) as scanned by xp_jscan_object from
 * a mutable buffer (the marker's raw text is scanned in place, so it must
 * lie in that buffer). Values named by the marker are converted and the
 * marker member removed. Returns 0, or XP_EINVALID with a message when the
 * marker is present but does not fit its fields (the fields are then left
 * as they were, marker included). */
int xp_typemark_decode(struct xp_field *fields, size_t *n);

/* The same for json-c documents (parameters, metadata): a new tree the
 * store keeps exactly, with a marker in each object that needs one; an
 * array holding a changed number travels whole as its JSON text ('j').
 * Returns a new reference (o itself, referenced, when it is not an object). */
struct json_object *xp_typemark_tree_encode(struct json_object *o);

/* Undo it in place, in o and every object below it. Returns 0, or
 * XP_EINVALID when a marker does not fit (that object is left as it is). */
int xp_typemark_tree_decode(struct json_object *o);

/* ---- the second form: marks kept apart ---- */

/* A new tree the store keeps exactly, with no marker in it; *marks gets a
 * tree that mirrors o's objects and holds the code of every member that
 * changed ({"lr": "f", "model": {"seed": "i"}}), or NULL when none did.
 * A member named "_xport" is an ordinary member here. */
struct json_object *xp_typemark_tree_split(struct json_object *o,
                                           struct json_object **marks);

/* Undo xp_typemark_tree_split in o, in place. A member the marks name that
 * does not fit its code is left as it is and makes the result XP_EINVALID
 * (with a message); the others are converted. */
int xp_typemark_tree_apply(struct json_object *o, struct json_object *marks);

/* 1 when a key of o or of an object below it starts with prefix. */
int xp_typemark_tree_mentions(struct json_object *o, const char *prefix);

/* Column marks for a series of objects (points). The writer puts every
 * object through xp_tmcols_put, which writes its members as the store
 * keeps them, and at the end asks xp_tmcols_marks for
 *   {"<field>": "<code>", "<other>": {"<code>": [K, [FROM, TO], ...]}}
 * where a string covers every object of the series (each value the code
 * does not fit, such as a fraction under 'f' or a word under 'i', stays as
 * it is: the writer checked that this brings back every value exactly) and
 * an object lists the ordinals (0-based positions in the series; ranges
 * inclusive) of the objects whose field has that code, for a column where
 * no one code fits every object. */
struct xp_tmcols;
struct xp_tmcols *xp_tmcols_new(void);
void xp_tmcols_free(struct xp_tmcols *c);
/* Append the members of the next object as "k":v pairs (no braces). Fails
 * with XP_EINVALID as xp_typemark_put_fields does; a failed object does not
 * count. */
int xp_tmcols_put(struct xp_tmcols *c, struct xp_buf *b, const struct xp_field *fields,
                  size_t n);
/* The marks (new reference), or NULL when no field needs one and none is
 * named like the first form's marker (an object then, maybe empty, so that
 * a reader never takes a source field named "_xport" for a marker). */
struct json_object *xp_tmcols_marks(const struct xp_tmcols *c);

/* Reading column marks: xp_tmread_apply converts the fields of the object
 * at ordinal k in place (strings stay in their buffers). */
struct xp_tmread;
/* XP_EINVALID when marks are not column marks. */
int xp_tmread_new(struct xp_tmread **out, struct json_object *marks);
void xp_tmread_apply(struct xp_tmread *r, int64_t k, struct xp_field *fields, size_t n);
void xp_tmread_free(struct xp_tmread *r);

#endif
