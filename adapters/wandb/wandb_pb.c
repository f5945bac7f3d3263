/* Protobuf wire-format field walker (wandb_pb.h). */
#include "wandb_pb.h"

static int get_varint(struct wpb *m, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (m->p >= m->end)
            return -1;
        unsigned char c = *m->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1; /* more than 10 bytes */
}

int wpb_next_any(struct wpb *m, struct wpb_field *f)
{
    if (m->p >= m->end)
        return 0;
    uint64_t key;
    if (get_varint(m, &key) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return -1;
    wpb_set_key(f, (uint32_t)(key >> 3), (uint32_t)(key & 7));
    f->u = 0;
    f->ptr = NULL;
    f->len = 0;
    switch (key & 7) {
    case WPB_VARINT:
        return get_varint(m, &f->u) ? -1 : 1;
    case WPB_I64:
        if (m->end - m->p < 8)
            return -1;
        for (int i = 7; i >= 0; i--)
            f->u = (f->u << 8) | m->p[i];
        m->p += 8;
        return 1;
    case WPB_I32:
        if (m->end - m->p < 4)
            return -1;
        for (int i = 3; i >= 0; i--)
            f->u = (f->u << 8) | m->p[i];
        m->p += 4;
        return 1;
    case WPB_LEN: {
        uint64_t n;
        if (get_varint(m, &n) || n > (uint64_t)(m->end - m->p))
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
