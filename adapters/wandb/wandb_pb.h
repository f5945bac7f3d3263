/* A small protobuf wire-format reader: enough to walk the fields of the
 * messages in a .wandb file (varint, fixed32, fixed64, length-delimited),
 * skipping whatever it does not know. Nothing is allocated: every pointer
 * points into the message buffer the caller owns. */
#ifndef XPORT_WANDB_PB_H
#define XPORT_WANDB_PB_H

#include <stddef.h>
#include <stdint.h>

enum wpb_wire { WPB_VARINT = 0, WPB_I64 = 1, WPB_LEN = 2, WPB_I32 = 5 };

struct wpb {
    const unsigned char *p, *end;
};

struct wpb_field {
    uint32_t num;
    enum wpb_wire wire;
    uint64_t u;              /* WPB_VARINT, WPB_I64, WPB_I32 */
    const unsigned char *ptr; /* WPB_LEN */
    size_t len;
};

static inline void wpb_init(struct wpb *m, const void *data, size_t len)
{
    m->p = (const unsigned char *)data;
    m->end = m->p + len;
}

/* Next field: 1 when one was read, 0 at the end of the message, -1 when the
 * bytes are not a valid message (groups count as invalid: proto3 has none). */
int wpb_next(struct wpb *m, struct wpb_field *f);

static inline void wpb_sub(struct wpb *sub, const struct wpb_field *f)
{
    wpb_init(sub, f->ptr, f->len);
}

static inline int64_t wpb_int64(const struct wpb_field *f)
{
    return (int64_t)f->u;
}

#endif
