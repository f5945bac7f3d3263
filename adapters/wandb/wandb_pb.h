/* A small protobuf wire-format reader: enough to walk the fields of the
 * messages in a .wandb file (varint, fixed32, fixed64, length-delimited),
 * skipping whatever it does not know. Nothing is allocated: every pointer
 * points into the message buffer the caller owns. */
#ifndef XPORT_WANDB_PB_H
#define XPORT_WANDB_PB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum wpb_wire { WPB_VARINT = 0, WPB_I64 = 1, WPB_LEN = 2, WPB_I32 = 5 };

struct wpb {
    const unsigned char *p, *end;
};

struct wpb_field {
    uint32_t num;
    uint32_t wire;           /* enum wpb_wire */
    uint64_t u;              /* WPB_VARINT, WPB_I64, WPB_I32 */
    const unsigned char *ptr; /* WPB_LEN */
    size_t len;
};

/* num and wire in one 8-byte store: callers test both at once, and the
 * compiler reads them as one 8-byte word, which two 4-byte stores just
 * before cannot forward (a stall of some 15 cycles on every field). */
static inline void wpb_set_key(struct wpb_field *f, uint32_t num,
                               uint32_t wire)
{
    struct {
        uint32_t num, wire;
    } k = {num, wire};
    memcpy(f, &k, sizeof(k));
}

static inline void wpb_init(struct wpb *m, const void *data, size_t len)
{
    m->p = (const unsigned char *)data;
    m->end = m->p + len;
}

/* Next field: 1 when one was read, 0 at the end of the message, -1 when the
 * bytes are not a valid message (groups count as invalid: proto3 has none). */
int wpb_next_any(struct wpb *m, struct wpb_field *f);

/* wpb_next_any, inline for the fields most of a .wandb file is made of (a
 * tag of up to two bytes, then a one-byte varint or length): the history
 * items of millions of rows go through here. */
static inline int wpb_next(struct wpb *m, struct wpb_field *f)
{
    const unsigned char *p = m->p;
    ptrdiff_t left = m->end - p;
    /* a tag of one or two bytes (fields up to 2047), then one byte */
    size_t t = left >= 2 && p[0] < 0x80 ? 1 : left >= 3 && p[1] < 0x80 ? 2 : 0;
    if (t && p[t] < 0x80) {
        uint32_t key = t == 1 ? p[0] : (uint32_t)(p[0] & 0x7f) | (uint32_t)p[1] << 7;
        uint32_t wire = key & 7;
        if (key >= 8 && wire == WPB_VARINT) {
            wpb_set_key(f, key >> 3, wire);
            f->u = p[t];
            f->ptr = NULL;
            f->len = 0;
            m->p = p + t + 1;
            return 1;
        }
        if (key >= 8 && wire == WPB_LEN && p[t] <= left - (ptrdiff_t)t - 1) {
            wpb_set_key(f, key >> 3, wire);
            f->u = 0;
            f->ptr = p + t + 1;
            f->len = p[t];
            m->p = p + t + 1 + p[t];
            return 1;
        }
    }
    return wpb_next_any(m, f);
}

static inline void wpb_sub(struct wpb *sub, const struct wpb_field *f)
{
    wpb_init(sub, f->ptr, f->len);
}

static inline int64_t wpb_int64(const struct wpb_field *f)
{
    return (int64_t)f->u;
}

#endif
