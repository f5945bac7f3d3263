/* A fast, in-place scanner for one level of a JSON object: the hot path for
 * reading JSONL series. It writes NUL terminators and unescapes strings
 * inside the caller's mutable buffer, so it allocates nothing; returned
 * keys and strings point into that buffer. Nested objects and arrays come
 * back as XP_V_JSON spans of their raw text. Anything it does not accept
 * returns XP_EINVALID without a message: callers fall back to json-c,
 * which then says precisely what is wrong. Also the price of a text's
 * json-c tree, found without building it (core/jscan_cost.c). */
#ifndef XPORT_JSCAN_H
#define XPORT_JSCAN_H

#include <stddef.h>

#include <stdint.h>

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

/* What json-c would allocate to parse s[0..len) whole, in bytes: an upper
 * estimate from one pass over the text that builds nothing (its weights are
 * json-c 0.16's measured costs per object, array, string and scalar, on a
 * 64-bit glibc; core/jscan_cost.c). *values (may be NULL) gets the number of
 * values. Malformed text gets an estimate too: json-c says what is wrong;
 * past XP_JSON_DEPTH levels (json.h), where json-c stops, pricing stops. */
uint64_t xp_jscan_cost(const char *s, size_t len, uint64_t *values);

#endif
