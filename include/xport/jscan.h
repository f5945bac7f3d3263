/* A fast, in-place scanner for one level of a JSON object: the hot path for
 * reading JSONL series. It writes NUL terminators and unescapes strings
 * inside the caller's mutable buffer, so it allocates nothing; returned
 * keys and strings point into that buffer. Nested objects and arrays come
 * back as XP_V_JSON spans of their raw text. Anything it does not accept
 * returns XP_EINVALID without a message: callers fall back to json-c,
 * which then says precisely what is wrong. */
#ifndef XPORT_JSCAN_H
#define XPORT_JSCAN_H

#include <stddef.h>

#include "record.h"

/* Scan the object in s[0..len). On success *n members are in out (at most
 * max; more is XP_EINVALID). The buffer must stay alive and unchanged while
 * the fields are used. */
int xp_jscan_object(char *s, size_t len, struct xp_field *out, size_t max,
                    size_t *n);

/* The same for an object that starts s[0..len) and may be followed by
 * anything: *end gets the offset just past its closing brace. */
int xp_jscan_object_at(char *s, size_t len, size_t *end, struct xp_field *out,
                       size_t max, size_t *n);

#endif
