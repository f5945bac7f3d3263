/* Feeds bytes as an ml-dash /data page or buffer body to the in-place point
 * scanner (adapters/mldash/mldash_scan.c: mld_page_open, mld_skip_value,
 * mld_scan_point) the way the metric reader walks it; oracle: the
 * sanitizers, and every point scanned ends inside the body. */
#include <stdlib.h>
#include <string.h>

#include "adapters/mldash/mldash_read.h"
#include "xport/buf.h"
#include "xport/error.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct page pg;
    memset(&pg, 0, sizeof(pg));
    xp_buf_init(&pg.resp.body);
    xp_buf_put(&pg.resp.body, data, size); /* a response body: NUL after len */
    if (mld_page_open(&pg, "fuzz page") != 0)
        goto out;
    struct xp_arena arena = XP_ARENA_INIT;
    static struct xp_field df[256];
    char *s = pg.sp.s;
    size_t len = pg.sp.len, i = pg.sp.pos;
    for (int n = 0; n < 4096; n++) {
        i = mld_skip_ws(s, i, len);
        if (i < len && s[i] == ',')
            i = mld_skip_ws(s, i + 1, len);
        if (i >= len || s[i] != '{')
            break;
        size_t whole = i;
        if (mld_skip_value(s, len, &whole) == 0 && (whole <= i || whole > len))
            abort();
        struct xp_point p;
        memset(&p, 0, sizeof(p));
        size_t used = 0, dn = 0;
        int rc = mld_scan_point(&arena, s + i, len - i, &used, &p, df, &dn);
        if (rc && rc != XP_ENOTFOUND)
            break;
        if (used == 0 || used > len - i || dn > 256)
            abort();
        i += used;
    }
    xp_arena_release(&arena);
out:
    /* the member finder on the raw body, as a chunk still arriving */
    {
        size_t at;
        if (mld_find_member(pg.resp.body.ptr, size, 1, "hasMore", &at) == 0 && at > size)
            abort();
    }
    xp_buf_release(&pg.resp.body);
    xp_error_clear();
    return 0;
}
