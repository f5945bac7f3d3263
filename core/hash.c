/* SHA-256 (FIPS 180-4) and MD5 (RFC 1321), written from the specifications. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "hash_int.h"
#include "xport/hash.h"

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

static void sha256_block(struct xp_sha256 *c, const unsigned char *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3];
    uint32_t e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t S1 = ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + S1 + ch + K256[i] + w[i];
        uint32_t S0 = ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22);
        uint32_t mj = (a & b) ^ (a & cc) ^ (b & cc);
        uint32_t t2 = S0 + mj;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = cc;
        cc = b;
        b = a;
        a = t1 + t2;
    }
    c->h[0] += a;
    c->h[1] += b;
    c->h[2] += cc;
    c->h[3] += d;
    c->h[4] += e;
    c->h[5] += f;
    c->h[6] += g;
    c->h[7] += h;
}

void xp_sha256_init(struct xp_sha256 *c)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                   0xa54ff53a, 0x510e527f, 0x9b05688c,
                                   0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, iv, sizeof(iv));
    c->nbytes = 0;
    c->nblk = 0;
}

/* The 64-byte block buffering SHA-256 and MD5 share; blocks(ctx, p, n)
 * takes n whole blocks. */
static void feed_blocks(unsigned char blk[64], size_t *nblk, uint64_t *nbytes,
                        const void *data, size_t len,
                        void (*blocks)(void *ctx, const unsigned char *p, size_t n),
                        void *ctx)
{
    const unsigned char *p = data;
    *nbytes += len;
    if (*nblk) {
        size_t take = 64 - *nblk < len ? 64 - *nblk : len;
        memcpy(blk + *nblk, p, take);
        *nblk += take;
        p += take;
        len -= take;
        if (*nblk < 64)
            return;
        blocks(ctx, blk, 1);
        *nblk = 0;
    }
    if (len >= 64) {
        blocks(ctx, p, len / 64);
        p += len - len % 64;
        len %= 64;
    }
    memcpy(blk, p, len);
    *nblk = len;
}

/* -1 until the CPU is asked; then 1 when the SHA extensions are used */
static atomic_int sha_ni = -1;

void xp_sha256_portable(int on)
{
    atomic_store(&sha_ni, on ? 0 : -1);
}

static void sha256_blocks(void *ctx, const unsigned char *p, size_t n)
{
    struct xp_sha256 *c = ctx;
#ifdef XP_SHA256_NI
    int ni = atomic_load(&sha_ni);
    if (ni < 0) { /* threads may race here: all agree */
        __builtin_cpu_init();
        ni = __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1");
        atomic_store(&sha_ni, ni);
    }
    if (ni) {
        xp_sha256_blocks_ni(c->h, p, n, K256);
        return;
    }
#endif
    for (; n--; p += 64)
        sha256_block(c, p);
}

void xp_sha256_update(struct xp_sha256 *c, const void *data, size_t len)
{
    feed_blocks(c->blk, &c->nblk, &c->nbytes, data, len, sha256_blocks, c);
}

void xp_sha256_final(struct xp_sha256 *c, unsigned char out[32])
{
    uint64_t bits = c->nbytes * 8;
    unsigned char pad = 0x80;
    xp_sha256_update(c, &pad, 1);
    unsigned char z = 0;
    while (c->nblk != 56)
        xp_sha256_update(c, &z, 1);
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(bits >> (56 - 8 * i));
    xp_sha256_update(c, len, 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(c->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)c->h[i];
    }
}

void xp_sha256_hex(char out[65], const void *data, size_t len)
{
    struct xp_sha256 c;
    unsigned char d[32];
    xp_sha256_init(&c);
    xp_sha256_update(&c, data, len);
    xp_sha256_final(&c, d);
    xp_hex(out, d, 32);
}

/* ---- MD5 ---- */

static const uint32_t KMD5[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
    0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
    0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
    0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
    0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
    0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
    0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
    0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
    0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
static const unsigned char RMD5[64] = {
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

static void md5_block(struct xp_md5 *c, const unsigned char *p)
{
    uint32_t m[16];
    for (int i = 0; i < 16; i++)
        m[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
               (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
    uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3];
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        if (i < 16) {
            f = (b & cc) | (~b & d);
            g = i;
        } else if (i < 32) {
            f = (d & b) | (~d & cc);
            g = (5 * i + 1) & 15;
        } else if (i < 48) {
            f = b ^ cc ^ d;
            g = (3 * i + 5) & 15;
        } else {
            f = cc ^ (b | ~d);
            g = (7 * i) & 15;
        }
        uint32_t t = d;
        d = cc;
        cc = b;
        b = b + ROL(a + f + KMD5[i] + m[g], RMD5[i]);
        a = t;
    }
    c->h[0] += a;
    c->h[1] += b;
    c->h[2] += cc;
    c->h[3] += d;
}

void xp_md5_init(struct xp_md5 *c)
{
    c->h[0] = 0x67452301;
    c->h[1] = 0xefcdab89;
    c->h[2] = 0x98badcfe;
    c->h[3] = 0x10325476;
    c->nbytes = 0;
    c->nblk = 0;
}

static void md5_blocks(void *c, const unsigned char *p, size_t n)
{
    for (; n--; p += 64)
        md5_block(c, p);
}

void xp_md5_update(struct xp_md5 *c, const void *data, size_t len)
{
    feed_blocks(c->blk, &c->nblk, &c->nbytes, data, len, md5_blocks, c);
}

void xp_md5_final(struct xp_md5 *c, unsigned char out[16])
{
    uint64_t bits = c->nbytes * 8;
    unsigned char pad = 0x80, z = 0;
    xp_md5_update(c, &pad, 1);
    while (c->nblk != 56)
        xp_md5_update(c, &z, 1);
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(bits >> (8 * i));
    xp_md5_update(c, len, 8);
    for (int i = 0; i < 4; i++) {
        out[4 * i] = (unsigned char)c->h[i];
        out[4 * i + 1] = (unsigned char)(c->h[i] >> 8);
        out[4 * i + 2] = (unsigned char)(c->h[i] >> 16);
        out[4 * i + 3] = (unsigned char)(c->h[i] >> 24);
    }
}

void xp_hmac_sha256(unsigned char out[32], const void *key, size_t keylen,
                    const void *data, size_t len)
{
    unsigned char k[64] = {0}, pad[64], inner[32];
    struct xp_sha256 c;
    if (keylen > 64) {
        xp_sha256_init(&c);
        xp_sha256_update(&c, key, keylen);
        xp_sha256_final(&c, k);
    } else if (keylen) {
        memcpy(k, key, keylen);
    }
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    xp_sha256_init(&c);
    xp_sha256_update(&c, pad, 64);
    xp_sha256_update(&c, data, len);
    xp_sha256_final(&c, inner);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    xp_sha256_init(&c);
    xp_sha256_update(&c, pad, 64);
    xp_sha256_update(&c, inner, 32);
    xp_sha256_final(&c, out);
}

void xp_hex(char *out, const unsigned char *in, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int xp_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

void xp_base64(char *out, const unsigned char *in, size_t n)
{
    static const char t[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = t[(v >> 18) & 63];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = '\0';
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

long xp_base64_decode(unsigned char *out, size_t cap, const char *in,
                      size_t len)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '=')
            break;
        int v = b64val(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return (long)o;
}
