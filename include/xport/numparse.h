/* Strict integer parsing, once for every caller: the whole text must be a
 * decimal integer in range, unlike atoi/strtol which take "12abc" as 12. */
#ifndef XPORT_NUMPARSE_H
#define XPORT_NUMPARSE_H

#include <stddef.h>
#include <stdint.h>

/* Parses s[0..n) as an optional '-' or '+' and then one or more decimal
 * digits, nothing else (no spaces). 0 on success, -1 when the text is
 * empty, has any other byte or overflows int64. */
int xp_parse_i64n(const char *s, size_t n, int64_t *out);

/* Unsigned: one or more digits only (no sign), up to UINT64_MAX. */
int xp_parse_u64n(const char *s, size_t n, uint64_t *out);

/* The same for a NUL-terminated string (NULL is -1). */
int xp_parse_i64(const char *s, int64_t *out);

/* xp_parse_i64 and then min <= *out <= max, else -1. */
int xp_parse_range(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
