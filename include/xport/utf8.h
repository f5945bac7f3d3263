/* UTF-8 validation, used by the file helpers (fs.h) and JSON (json.h). */
#ifndef XPORT_UTF8_H
#define XPORT_UTF8_H

#include <stddef.h>

/* 1 when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
int xp_utf8_valid(const char *s, size_t len);

#endif
