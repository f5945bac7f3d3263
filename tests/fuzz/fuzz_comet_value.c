/* Feeds bytes as a metric value in Comet's text to comet_value_parse and
 * writes what it read back with comet_value_put (adapters/comet/
 * comet_value.c). Oracle beyond the sanitizers: a number written and parsed
 * again is the same number, of the same type, floats to the bit; a text
 * read as a string is never written as a number. */
#include <stdlib.h>
#include <string.h>

#include "adapters/comet/comet_int.h"
#include "xport/buf.h"
#include "xport/error.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    struct xp_value v;
    comet_value_parse(&v, s, size);
    struct xp_buf b = XP_BUF_INIT;
    int rc = comet_value_put(&b, &v);
    xp_error_clear();
    if (v.type == XP_V_INT || v.type == XP_V_FLOAT) {
        if (rc != 0 || b.len < 2 || b.ptr[0] != '"' || b.ptr[b.len - 1] != '"')
            abort();
        struct xp_value back;
        comet_value_parse(&back, b.ptr + 1, b.len - 2);
        if (back.type != v.type)
            abort();
        if (v.type == XP_V_INT ? back.u.i != v.u.i
                               : (v.u.d != v.u.d ? back.u.d == back.u.d
                                                 : memcmp(&back.u.d, &v.u.d, sizeof(double))))
            abort();
    } else if (v.type == XP_V_STRING && rc == 1) {
        abort(); /* parse said string, put says it would read back as a number */
    }
    xp_buf_release(&b);
    free(s);
    return 0;
}
