/* SHA-256 and MD5 (streaming), hex and base64 output. The caller owns the
 * context structs. */
#ifndef XPORT_HASH_H
#define XPORT_HASH_H

#include <stddef.h>
#include <stdint.h>

struct xp_sha256 {
    uint32_t h[8];
    uint64_t nbytes;
    unsigned char blk[64];
    size_t nblk;
};
void xp_sha256_init(struct xp_sha256 *c);
void xp_sha256_update(struct xp_sha256 *c, const void *data, size_t len);
void xp_sha256_final(struct xp_sha256 *c, unsigned char out[32]);
/* 1: the portable code even where the CPU has SHA extensions (tests hold
 * the two against each other); 0: back to the CPU's choice. Set it while
 * nothing else is hashing. */
void xp_sha256_portable(int on);
/* hex of sha256(data) into out[65] */
void xp_sha256_hex(char out[65], const void *data, size_t len);

struct xp_md5 {
    uint32_t h[4];
    uint64_t nbytes;
    unsigned char blk[64];
    size_t nblk;
};
void xp_md5_init(struct xp_md5 *c);
void xp_md5_update(struct xp_md5 *c, const void *data, size_t len);
void xp_md5_final(struct xp_md5 *c, unsigned char out[16]);

/* HMAC-SHA-256 (RFC 2104) of data under key into out[32]. */
void xp_hmac_sha256(unsigned char out[32], const void *key, size_t keylen,
                    const void *data, size_t len);

void xp_hex(char *out, const unsigned char *in, size_t n); /* out: 2n+1 */
/* The value of one hex digit (either case), or -1 when c is not one. */
int xp_hex_digit(int c);
/* Standard base64 with padding; out needs 4*((n+2)/3)+1 bytes. */
void xp_base64(char *out, const unsigned char *in, size_t n);
/* Decode standard or URL-safe base64; returns decoded length or -1. */
long xp_base64_decode(unsigned char *out, size_t cap, const char *in,
                      size_t len);

#endif
