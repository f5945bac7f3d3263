/* Feeds bytes to the protobuf walker (core/pb.c, include/xport/pb.h) as a
 * message, descending into every length-delimited field as if it were one;
 * oracle: the sanitizers, fields stay inside their message, and the inline
 * fast path agrees with xp_pb_next_any field for field. */
#include <stdlib.h>
#include <string.h>

#include "xport/pb.h"

static void walk(const unsigned char *p, size_t len, int depth)
{
    struct xp_pb a, b;
    struct xp_pb_field fa, fb;
    xp_pb_init(&a, p, len);
    xp_pb_init(&b, p, len);
    for (;;) {
        int ra = xp_pb_next(&a, &fa), rb = xp_pb_next_any(&b, &fb);
        if (ra != rb)
            abort();
        if (ra != 1)
            break;
        if (fa.num != fb.num || fa.wire != fb.wire || a.p != b.p || a.p > p + len)
            abort();
        if (fa.wire == XP_PB_LEN) {
            if (fa.ptr != fb.ptr || fa.len != fb.len || fa.ptr < p || fa.ptr + fa.len > p + len)
                abort();
            if (depth < 16)
                walk(fa.ptr, fa.len, depth + 1);
        } else if (fa.u != fb.u) {
            abort();
        }
        if (fa.num == 0)
            abort(); /* field 0 is not a valid field number */
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    unsigned char *m = malloc(size ? size : 1);
    memcpy(m, data, size);
    walk(m, size, 0);
    /* varints: what is read is written back the same length or shorter */
    const unsigned char *q = m;
    uint64_t v;
    if (xp_pb_varint_get(&q, m + size, &v) == 0) {
        unsigned char out[XP_PB_VARINT_MAX];
        size_t n = xp_pb_varint_put(out, v);
        if (n != xp_pb_varint_len(v) || n > (size_t)(q - m))
            abort();
    }
    free(m);
    return 0;
}
