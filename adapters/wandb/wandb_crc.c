/* The IEEE CRC-32 of .wandb chunks (wlog_crc32 in wandb_log.h). Every byte
 * of a log goes through it, on the prefetch thread, so it has a fast path:
 * on x86-64 with PCLMULQDQ, inputs of 64 bytes and more are folded 64 bytes
 * at a time by carry-less multiplication, and only the last 16-byte
 * remainder and the tail go through the slicing-by-8 tables, which also
 * serve short inputs and other machines. Both give the same CRC (the tests
 * check one against the other at every length and alignment up to 600).
 *
 * Why folding works (polynomials over GF(2), P the CRC polynomial): a
 * message is A·x^n + rest, and A·x^n may be replaced by anything congruent
 * to it mod P without changing the CRC. With the reflected bit order CRC-32
 * uses, a 16-byte block loaded little-endian holds its highest-degree
 * coefficient in bit 0, so its low 64 bits are A_hi and its high 64 bits
 * A_lo (A = A_hi·x^64 + A_lo). Folding it forward by D bits multiplies
 * A_hi by (x^(D+64) mod P) and A_lo by (x^D mod P); in this bit order a
 * carry-less product lands one bit short, hence the constants use one
 * power of x less (D+63 and D-1). */
#include <pthread.h>
#include <string.h>

#include "wandb_log.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WCRC_CLMUL 1
#include <immintrin.h>
#endif

#define POLY_REFLECTED 0xEDB88320u
#define POLY_NORMAL 0x104C11DB7ull /* with its x^32 term */

static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

#ifdef WCRC_CLMUL
static int have_clmul;
static uint64_t k512[2], k128[2]; /* fold by 4 blocks, by 1 block */

/* x^n mod P in plain bit order (bit j is the coefficient of x^j). */
static uint64_t xpow_mod(unsigned n)
{
    uint64_t r = 1;
    for (unsigned i = 0; i < n; i++) {
        r <<= 1;
        if (r >> 32)
            r ^= POLY_NORMAL;
    }
    return r;
}

/* A polynomial of degree < 64 in reflected order: x^j in bit 63 - j. */
static uint64_t reflect64(uint64_t p)
{
    uint64_t r = 0;
    for (int j = 0; j < 64; j++)
        if ((p >> j) & 1)
            r |= 1ull << (63 - j);
    return r;
}

static void fold_constants(uint64_t k[2], unsigned bits)
{
    k[0] = reflect64(xpow_mod(bits + 63)); /* multiplies the low lane */
    k[1] = reflect64(xpow_mod(bits - 1));  /* and the high lane */
}
#endif

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? POLY_REFLECTED ^ (c >> 1) : c >> 1;
        crc_tab[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^
                            crc_tab[0][crc_tab[t - 1][i] & 0xff];
#ifdef WCRC_CLMUL
    fold_constants(k512, 512);
    fold_constants(k128, 128);
    __builtin_cpu_init();
    have_clmul = __builtin_cpu_supports("pclmul");
#endif
}

/* The CRC register (not inverted) after data, slicing by 8. */
static uint32_t crc_tables(uint32_t crc, const unsigned char *p, size_t len)
{
    while (len >= 8) {
        uint32_t a = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                            (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        crc = crc_tab[7][a & 0xff] ^ crc_tab[6][(a >> 8) & 0xff] ^
              crc_tab[5][(a >> 16) & 0xff] ^ crc_tab[4][a >> 24] ^
              crc_tab[3][p[4]] ^ crc_tab[2][p[5]] ^ crc_tab[1][p[6]] ^
              crc_tab[0][p[7]];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#ifdef WCRC_CLMUL
__attribute__((target("pclmul,sse2"))) static inline __m128i
fold(__m128i acc, __m128i k, __m128i next)
{
    return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(acc, k, 0x00),
                                       _mm_clmulepi64_si128(acc, k, 0x11)),
                         next);
}

/* The register after data (len >= 64). A register r in front of a message
 * acts as r XORed into its first four bytes, so it goes into the first
 * block and the folded remainder is finished from a zero register. */
__attribute__((target("pclmul,sse2"))) static uint32_t
crc_clmul(uint32_t crc, const unsigned char *p, size_t len)
{
    const __m128i K512 = _mm_set_epi64x((long long)k512[1], (long long)k512[0]);
    const __m128i K128 = _mm_set_epi64x((long long)k128[1], (long long)k128[0]);
    __m128i x0 = _mm_loadu_si128((const __m128i *)p);
    __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));
    x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)crc));
    p += 64;
    len -= 64;
    while (len >= 64) {
        x0 = fold(x0, K512, _mm_loadu_si128((const __m128i *)p));
        x1 = fold(x1, K512, _mm_loadu_si128((const __m128i *)(p + 16)));
        x2 = fold(x2, K512, _mm_loadu_si128((const __m128i *)(p + 32)));
        x3 = fold(x3, K512, _mm_loadu_si128((const __m128i *)(p + 48)));
        p += 64;
        len -= 64;
    }
    x1 = fold(x0, K128, x1);
    x2 = fold(x1, K128, x2);
    x3 = fold(x2, K128, x3);
    while (len >= 16) {
        x3 = fold(x3, K128, _mm_loadu_si128((const __m128i *)p));
        p += 16;
        len -= 16;
    }
    unsigned char rest[16];
    _mm_storeu_si128((__m128i *)rest, x3);
    return crc_tables(crc_tables(0, rest, 16), p, len);
}
#endif

uint32_t wlog_crc32(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
#ifdef WCRC_CLMUL
    if (len >= 64 && have_clmul)
        return ~crc_clmul(~crc, data, len);
#endif
    return ~crc_tables(~crc, data, len);
}

uint32_t wlog_crc32_tables(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
    return ~crc_tables(~crc, data, len);
}
