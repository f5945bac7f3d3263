/* Feeds a JSON object to the scanner and, when it scans, writes its members
 * with type marks (core/typemark.c) and reads them back; oracle: every
 * member comes back with its type and value, floats to the bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/jscan.h"
#include "xport/typemark.h"

#define MAXF 32

/* Equal as the store must give it back: floats to the bit (any NaN, which
 * travels as "NaN"), nested JSON only by kind (it is re-serialised). */
static int same(const struct xp_value *a, const struct xp_value *b)
{
    if (a->type != b->type)
        return 0;
    if (a->type == XP_V_NULL || a->type == XP_V_JSON)
        return 1;
    if (a->type == XP_V_BOOL)
        return !a->u.b == !b->u.b;
    if (a->type == XP_V_STRING)
        return a->u.s.len == b->u.s.len && !memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len);
    if (a->type == XP_V_FLOAT && isnan(a->u.d))
        return isnan(b->u.d);
    return !memcmp(&a->u, &b->u, sizeof(int64_t)); /* int, uint, float bits */
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    memcpy(s, data, size);
    struct xp_field in[MAXF], out[MAXF + 1];
    size_t n = 0, m = 0;
    int marked = 0;
    if (xp_jscan_object(s, size, in, MAXF, &n) != 0)
        goto done;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (!strcmp(in[i].key, in[j].key))
                goto done; /* duplicate names: which one wins is not ours */
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_putc(&b, '{');
    if (xp_typemark_put_fields(&b, in, n, &marked) == 0) {
        xp_buf_putc(&b, '}');
        if (xp_jscan_object(b.ptr, b.len, out, MAXF + 1, &m) != 0)
            abort(); /* what we write, we must read */
        if (xp_typemark_decode(out, &m) != 0 || m != n)
            abort();
        for (size_t i = 0; i < n; i++) {
            size_t j = 0;
            while (j < m && strcmp(in[i].key, out[j].key))
                j++;
            if (j == m || !same(&in[i].v, &out[j].v))
                abort();
        }
    }
    xp_error_clear();
    xp_buf_release(&b);
done:
    /* the marker's reader on whatever the input says */
    memcpy(s, data, size);
    if (xp_jscan_object(s, size, in, MAXF, &n) == 0)
        xp_typemark_decode(in, &n);
    xp_error_clear();
    free(s);
    return 0;
}
