/* Internal to core/hash.c and core/sha256_ni.c. */
#ifndef XPORT_HASH_INT_H
#define XPORT_HASH_INT_H

#include <stddef.h>
#include <stdint.h>

/* clang (14 at least) does not know "sha" in __builtin_cpu_supports: a
 * clang build (the fuzz targets) uses the portable code */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(__clang__)
#define XP_SHA256_NI 1
/* nblocks 64-byte blocks into the state h (host order words); only where
 * the CPU has the SHA extensions. */
void xp_sha256_blocks_ni(uint32_t h[8], const unsigned char *p, size_t nblocks,
                         const uint32_t k[64]);
#endif

#endif
