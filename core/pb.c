/* The protobuf wire-format field walker (include/xport/pb.h). */
#include "xport/pb.h"

int xp_pb_next_any(struct xp_pb *m, struct xp_pb_field *f)
{
    if (m->p >= m->end)
        return 0;
    uint64_t key;
    if (xp_pb_varint_get(&m->p, m->end, &key) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return -1;
    xp_pb_set_key(f, (uint32_t)(key >> 3), (uint32_t)(key & 7));
    f->u = 0;
    f->ptr = NULL;
    f->len = 0;
    switch (key & 7) {
    case XP_PB_VARINT:
        return xp_pb_varint_get(&m->p, m->end, &f->u) ? -1 : 1;
    case XP_PB_I64:
        if (m->end - m->p < 8)
            return -1;
        for (int i = 7; i >= 0; i--)
            f->u = (f->u << 8) | m->p[i];
        m->p += 8;
        return 1;
    case XP_PB_I32:
        if (m->end - m->p < 4)
            return -1;
        for (int i = 3; i >= 0; i--)
            f->u = (f->u << 8) | m->p[i];
        m->p += 4;
        return 1;
    case XP_PB_LEN: {
        uint64_t n;
        if (xp_pb_varint_get(&m->p, m->end, &n) || n > (uint64_t)(m->end - m->p))
            return -1;
        f->ptr = m->p;
        f->len = (size_t)n;
        m->p += n;
        return 1;
    }
    default:
        return -1;
    }
}
