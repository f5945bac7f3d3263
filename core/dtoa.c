/* Numbers to text: xp_fmt_double and xp_fmt_int (include/xport/json.h).
 *
 * xp_fmt_double finds the shortest decimal that reads back to the same
 * double (and of those the closest) by the scheme of Ulf Adams' "Ryu"
 * (PLDI 2018): the value and the two midpoints to its neighbours are
 * scaled by a power of ten in 128-bit fixed point (core/pow5_table.h), and
 * digits are dropped while the scaled interval still holds a candidate.
 * It costs a few multiplies where printf-and-check cost microseconds; every
 * point a download writes goes through here. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "xport/json.h"

#include "pow5_table.h"

/* The integer approximations of logarithms the scaling needs; exact over
 * the ranges a double's exponent spans (checked by the unit tests against
 * every exponent). */
static uint32_t pow5_bits(uint32_t e) /* bit length of 5^e */
{
    return ((e * 1217359u) >> 19) + 1;
}
static uint32_t log10_pow2(uint32_t e) /* floor(log10(2^e)) */
{
    return (e * 78913u) >> 18;
}
static uint32_t log10_pow5(uint32_t e) /* floor(log10(5^e)) */
{
    return (e * 732923u) >> 20;
}

/* (m * mul) >> j, mul a 128-bit table entry, 64 < j */
static uint64_t mul_shift(uint64_t m, const uint64_t mul[2], uint32_t j)
{
    unsigned __int128 lo = (unsigned __int128)m * mul[0];
    unsigned __int128 hi = (unsigned __int128)m * mul[1];
    return (uint64_t)(((lo >> 64) + hi) >> (j - 64));
}

static int pow5_divides(uint64_t v, uint32_t p) /* 5^p | v, v > 0 */
{
    uint32_t n = 0;
    while (v % 5 == 0) {
        v /= 5;
        n++;
    }
    return n >= p;
}

/* The scaled value and the bounds of its rounding interval. */
struct trio {
    uint64_t r, p, m;
};

/* Drop the last digits of all three (div a power of ten); the value's
 * dropped part. Inlined with div constant, the divisions are multiplies. */
static inline uint64_t drop(struct trio *t, uint64_t div)
{
    uint64_t rest = t->r % div;
    t->r /= div;
    t->p /= div;
    t->m /= div;
    return rest;
}

/* Shortest digits of a finite nonzero |d| given as IEEE fields: d equals
 * *digits * 10^*exp10 after reading back. */
static void shortest(uint64_t frac, uint32_t bexp, uint64_t *digits, int32_t *exp10)
{
    int32_t e2;
    uint64_t m2;
    if (bexp == 0) { /* subnormal */
        e2 = 1 - 1023 - 52 - 2;
        m2 = frac;
    } else {
        e2 = (int32_t)bexp - 1023 - 52 - 2;
        m2 = (UINT64_C(1) << 52) | frac;
    }
    /* strtod rounds half to even: an even mantissa owns its midpoints */
    int even = (m2 & 1) == 0;
    uint64_t mv = 4 * m2;
    /* the gap below is half as wide at a power of two (except the lowest) */
    uint32_t mm_shift = frac != 0 || bexp <= 1;
    uint64_t vr, vp, vm;
    int32_t e10;
    int vm_zeros = 0, vr_zeros = 0; /* digits dropped so far were all zero */
    if (e2 >= 0) {
        uint32_t q = log10_pow2((uint32_t)e2) - (e2 > 3);
        uint32_t j = (uint32_t)(-e2 + (int32_t)q + XP_POW5_BITS + (int32_t)pow5_bits(q) - 1);
        e10 = (int32_t)q;
        vr = mul_shift(mv, XP_POW5_INV[q], j);
        vp = mul_shift(mv + 2, XP_POW5_INV[q], j);
        vm = mul_shift(mv - 1 - mm_shift, XP_POW5_INV[q], j);
        if (q <= 21) { /* only then can the scaled values be exact */
            if (mv % 5 == 0)
                vr_zeros = pow5_divides(mv, q);
            else if (even)
                vm_zeros = pow5_divides(mv - 1 - mm_shift, q);
            else
                vp -= (uint64_t)pow5_divides(mv + 2, q);
        }
    } else {
        uint32_t q = log10_pow5((uint32_t)-e2) - (-e2 > 1);
        uint32_t i = (uint32_t)-e2 - q;
        uint32_t j = q - (pow5_bits(i) - XP_POW5_BITS);
        e10 = (int32_t)q + e2;
        vr = mul_shift(mv, XP_POW5[i], j);
        vp = mul_shift(mv + 2, XP_POW5[i], j);
        vm = mul_shift(mv - 1 - mm_shift, XP_POW5[i], j);
        if (q <= 1) {
            vr_zeros = 1;
            if (even)
                vm_zeros = mm_shift == 1;
            else
                vp--;
        } else if (q < 63) {
            vr_zeros = (mv & ((UINT64_C(1) << q) - 1)) == 0;
        }
    }
    struct trio t = {vr, vp, vm};
    int32_t removed = 0;
    uint64_t out;
    if (vm_zeros || vr_zeros) {
        /* exact cases: track the dropped digits to round half to even */
        unsigned last = 0;
        while (t.p / 10 > t.m / 10) {
            vm_zeros &= t.m % 10 == 0;
            vr_zeros &= last == 0;
            last = (unsigned)drop(&t, 10);
            removed++;
        }
        while (vm_zeros && t.m % 10 == 0) {
            vr_zeros &= last == 0;
            last = (unsigned)drop(&t, 10);
            removed++;
        }
        if (vr_zeros && last == 5 && t.r % 2 == 0)
            last = 4; /* an exact tie: to even */
        out = t.r + ((t.r == t.m && (!even || !vm_zeros)) || last >= 5);
    } else {
        /* only the highest dropped digit decides the rounding here, so
         * short values (0.125 held as 17+ digits) drop four at a time */
        int up = 0;
        while (t.p / 10000 > t.m / 10000) {
            up = drop(&t, 10000) >= 5000;
            removed += 4;
        }
        if (t.p / 100 > t.m / 100) {
            up = drop(&t, 100) >= 50;
            removed += 2;
        }
        if (t.p / 10 > t.m / 10) {
            up = drop(&t, 10) >= 5;
            removed++;
        }
        out = t.r + (t.r == t.m || up);
    }
    *digits = out;
    *exp10 = e10 + removed;
}

static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";

/* exactly 8 digits, leading zeros kept: four independent divisions */
static void put8(char *w, uint32_t v)
{
    uint32_t a = v / 10000, b = v % 10000;
    memcpy(w, pairs + 2 * (a / 100), 2);
    memcpy(w + 2, pairs + 2 * (a % 100), 2);
    memcpy(w + 4, pairs + 2 * (b / 100), 2);
    memcpy(w + 6, pairs + 2 * (b % 100), 2);
}

static size_t put_small(char *w, uint32_t v) /* v < 10^8, no leading zeros */
{
    size_t n = v < 10000 ? (v < 100 ? (v < 10 ? 1 : 2) : (v < 1000 ? 3 : 4))
                         : (v < 1000000 ? (v < 100000 ? 5 : 6) : (v < 10000000 ? 7 : 8));
    size_t k = n;
    while (k >= 2) {
        k -= 2;
        memcpy(w + k, pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    if (n & 1)
        w[0] = (char)('0' + v);
    return n;
}

/* A 17-digit mantissa as up to three independent groups of 8 rather than
 * one chain of divisions by 10: this was the hottest loop of a conversion. */
static size_t put_u64(char *w, uint64_t u) /* no terminator */
{
    if (u < 100000000)
        return put_small(w, (uint32_t)u);
    uint64_t hi = u / 100000000;
    size_t n;
    if (hi < 100000000) {
        n = put_small(w, (uint32_t)hi);
    } else {
        n = put_small(w, (uint32_t)(hi / 100000000));
        put8(w + n, (uint32_t)(hi % 100000000));
        n += 8;
    }
    put8(w + n, (uint32_t)(u % 100000000));
    return n + 8;
}

size_t xp_fmt_int(char buf[XP_INT_BUFSZ], int64_t v)
{
    size_t n = 0;
    uint64_t u = (uint64_t)v;
    if (v < 0) {
        buf[n++] = '-';
        u = (uint64_t)0 - u;
    }
    n += put_u64(buf + n, u);
    buf[n] = '\0';
    return n;
}

size_t xp_fmt_double(char buf[XP_DOUBLE_BUFSZ], double d)
{
    if (isnan(d)) {
        memcpy(buf, "NaN", 4);
        return 3;
    }
    if (isinf(d)) {
        const char *s = d > 0 ? "Infinity" : "-Infinity";
        size_t n = strlen(s);
        memcpy(buf, s, n + 1);
        return n;
    }
    uint64_t bits;
    memcpy(&bits, &d, 8);
    int neg = (int)(bits >> 63);
    char *w = buf;
    if (neg)
        *w++ = '-';
    /* Integral values below 2^53 print as integers plus ".0" (steps and
     * counters stored as floats); zero too, with its sign. */
    if (fabs(d) < 9007199254740992.0 && d == (double)(int64_t)d) {
        w += put_u64(w, (uint64_t)fabs(d));
        memcpy(w, ".0", 3);
        return (size_t)(w - buf) + 2;
    }
    uint64_t digits;
    int32_t e;
    shortest(bits & ((UINT64_C(1) << 52) - 1), (uint32_t)(bits >> 52) & 0x7ff, &digits, &e);
    char dg[20];
    int nd = (int)put_u64(dg, digits);
    e += nd - 1; /* the exponent of the first digit */
    /* Laid out as printf's %.<P>g with P = 15, 16 or 17 would (earlier
     * versions printed that way, and the layout's text stays stable). */
    int prec = nd < 15 ? 15 : nd;
    if (e < -4 || e >= prec) {
        *w++ = dg[0];
        if (nd > 1) {
            *w++ = '.';
            memcpy(w, dg + 1, (size_t)nd - 1);
            w += nd - 1;
        }
        *w++ = 'e';
        *w++ = e < 0 ? '-' : '+';
        int ae = e < 0 ? -e : e;
        if (ae < 10)
            *w++ = '0';
        w += put_u64(w, (uint64_t)ae);
    } else if (e < 0) {
        *w++ = '0';
        *w++ = '.';
        for (int z = -1; z > e; z--)
            *w++ = '0';
        memcpy(w, dg, (size_t)nd);
        w += nd;
    } else {
        for (int i = 0; i <= e; i++)
            *w++ = i < nd ? dg[i] : '0';
        if (nd > e + 1) {
            *w++ = '.';
            memcpy(w, dg + e + 1, (size_t)(nd - e - 1));
            w += nd - e - 1;
        } else {
            /* keep it a float: "5" needs ".0" (1e+20 has its 'e') */
            *w++ = '.';
            *w++ = '0';
        }
    }
    *w = '\0';
    return (size_t)(w - buf);
}
