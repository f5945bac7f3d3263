/* A small protobuf wire-format reader, and the varints it is made of: enough
 * to walk the fields of any message (varint, fixed32, fixed64,
 * length-delimited), skipping whatever the caller does not know. W&B's
 * .wandb files, Neptune's 3.x API and neptune-scale's SQLite rows are
 * protobuf. Nothing is allocated: every pointer points into the message
 * buffer the caller owns. The wire format:
 * https://protobuf.dev/programming-guides/encoding/ */
#ifndef XPORT_PB_H
#define XPORT_PB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum xp_pb_wire { XP_PB_VARINT = 0, XP_PB_I64 = 1, XP_PB_LEN = 2, XP_PB_I32 = 5 };

/* ---- varints ------------------------------------------------------------ */

#define XP_PB_VARINT_MAX 10 /* bytes in the longest varint (a uint64) */

/* Write v as a varint into out (XP_PB_VARINT_MAX bytes); returns its length. */
static inline size_t xp_pb_varint_put(unsigned char *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (unsigned char)v;
    return n;
}

/* The length of v as a varint. */
static inline size_t xp_pb_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Read a varint at *p (not past end) into *out and move *p past it; -1 when
 * it is truncated or longer than XP_PB_VARINT_MAX bytes (*p is then left
 * where it was). */
static inline int xp_pb_varint_get(const unsigned char **p,
                                   const unsigned char *end, uint64_t *out)
{
    uint64_t v = 0;
    const unsigned char *q = *p;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (q >= end)
            return -1;
        unsigned char c = *q++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            *p = q;
            return 0;
        }
    }
    return -1;
}

/* ---- messages ------------------------------------------------------------ */

struct xp_pb {
    const unsigned char *p, *end;
};

struct xp_pb_field {
    uint32_t num;
    uint32_t wire;           /* enum xp_pb_wire */
    uint64_t u;              /* XP_PB_VARINT, XP_PB_I64, XP_PB_I32 */
    const unsigned char *ptr; /* XP_PB_LEN */
    size_t len;
};

/* num and wire in one 8-byte store: callers test both at once, and the
 * compiler reads them as one 8-byte word, which two 4-byte stores just
 * before cannot forward (a stall of some 15 cycles on every field). */
static inline void xp_pb_set_key(struct xp_pb_field *f, uint32_t num,
                               uint32_t wire)
{
    struct {
        uint32_t num, wire;
    } k = {num, wire};
    memcpy(f, &k, sizeof(k));
}

static inline void xp_pb_init(struct xp_pb *m, const void *data, size_t len)
{
    m->p = (const unsigned char *)data;
    m->end = m->p + len;
}

/* Next field: 1 when one was read, 0 at the end of the message, -1 when the
 * bytes are not a valid message (groups count as invalid: proto3 has none). */
int xp_pb_next_any(struct xp_pb *m, struct xp_pb_field *f);

/* xp_pb_next_any, inline for the fields most messages are made of (a
 * tag of up to two bytes, then a one-byte varint or length): the history
 * items of millions of rows go through here. */
static inline int xp_pb_next(struct xp_pb *m, struct xp_pb_field *f)
{
    const unsigned char *p = m->p;
    ptrdiff_t left = m->end - p;
    /* a tag of one or two bytes (fields up to 2047), then one byte */
    size_t t = left >= 2 && p[0] < 0x80 ? 1 : left >= 3 && p[1] < 0x80 ? 2 : 0;
    if (t && p[t] < 0x80) {
        uint32_t key = t == 1 ? p[0] : (uint32_t)(p[0] & 0x7f) | (uint32_t)p[1] << 7;
        uint32_t wire = key & 7;
        if (key >= 8 && wire == XP_PB_VARINT) {
            xp_pb_set_key(f, key >> 3, wire);
            f->u = p[t];
            f->ptr = NULL;
            f->len = 0;
            m->p = p + t + 1;
            return 1;
        }
        if (key >= 8 && wire == XP_PB_LEN && p[t] <= left - (ptrdiff_t)t - 1) {
            xp_pb_set_key(f, key >> 3, wire);
            f->u = 0;
            f->ptr = p + t + 1;
            f->len = p[t];
            m->p = p + t + 1 + p[t];
            return 1;
        }
    }
    return xp_pb_next_any(m, f);
}

static inline void xp_pb_sub(struct xp_pb *sub, const struct xp_pb_field *f)
{
    xp_pb_init(sub, f->ptr, f->len);
}

static inline int64_t xp_pb_int64(const struct xp_pb_field *f)
{
    return (int64_t)f->u;
}

#endif
