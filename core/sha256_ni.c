/* SHA-256 blocks with the x86 SHA extensions (core/hash.c picks this when
 * the CPU has them). Four to five times the portable code's speed: verify
 * hashes every point of both sides, and downloads hash every file. The
 * instructions keep the state as the pairs ABEF and CDGH; each
 * sha256rnds2 does two rounds, sha256msg1/msg2 the message schedule. */
#include "hash_int.h"

#ifdef XP_SHA256_NI
#include <immintrin.h>

__attribute__((target("sha,ssse3,sse4.1"))) void
xp_sha256_blocks_ni(uint32_t h[8], const unsigned char *p, size_t nblocks,
                    const uint32_t k[64])
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i t = _mm_loadu_si128((const __m128i *)&h[0]);   /* D C B A */
    __m128i s1 = _mm_loadu_si128((const __m128i *)&h[4]);  /* H G F E */
    t = _mm_shuffle_epi32(t, 0xB1);                         /* C D A B */
    s1 = _mm_shuffle_epi32(s1, 0x1B);                       /* E F G H */
    __m128i s0 = _mm_alignr_epi8(t, s1, 8);                 /* A B E F */
    s1 = _mm_blend_epi16(s1, t, 0xF0);                      /* C D G H */
    for (; nblocks--; p += 64) {
        __m128i a0 = s0, a1 = s1, m[4];
        for (int g = 0; g < 16; g++) {
            __m128i w;
            if (g < 4) {
                w = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
            } else {
                /* W[t-16] + s0(W[t-15]), + W[t-7], + s1(W[t-2]) */
                w = _mm_sha256msg1_epu32(m[g % 4], m[(g + 1) % 4]);
                w = _mm_add_epi32(w, _mm_alignr_epi8(m[(g + 3) % 4], m[(g + 2) % 4], 4));
                w = _mm_sha256msg2_epu32(w, m[(g + 3) % 4]);
            }
            m[g % 4] = w;
            __m128i wk = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)&k[4 * g]));
            s1 = _mm_sha256rnds2_epu32(s1, s0, wk);
            s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(wk, 0x0E));
        }
        s0 = _mm_add_epi32(s0, a0);
        s1 = _mm_add_epi32(s1, a1);
    }
    t = _mm_shuffle_epi32(s0, 0x1B);                        /* F E B A */
    s1 = _mm_shuffle_epi32(s1, 0xB1);                       /* D C H G */
    s0 = _mm_blend_epi16(t, s1, 0xF0);                      /* D C B A */
    s1 = _mm_alignr_epi8(s1, t, 8);                         /* H G F E */
    _mm_storeu_si128((__m128i *)&h[0], s0);
    _mm_storeu_si128((__m128i *)&h[4], s1);
}
#endif
