/* Carrying exact value types through a store that reads JSON the way
 * JavaScript does (Node's JSON.parse/JSON.stringify, e.g. the ml-dash
 * server): every number becomes a double printed without a fraction when it
 * is whole, NaN and ±Infinity are not JSON, -0 prints as 0 and integers
 * beyond 2^53 lose digits.
 *
 * The writer sends such a value in a form the store keeps (a whole float as
 * its number, the others as strings, a nested object holding one of them as
 * its JSON text in a string) and names the field in a marker member of the
 * same object: "_xport": {"<field>": "f"|"i"|"u"|"j", ...}. The reader turns
 * the fields back and drops the marker, so types and bits survive; a store's
 * own users see plain numbers and strings. A source field that is itself
 * named "_xport" travels inside the marker as {"_xport": {"o": <value>}}.
 * Objects without a marker are read as they are. Nothing here allocates
 * beyond the caller's buffers. */
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

#endif
