/* Feeds bytes as a zip archive to the reader (core/zip.c): open, list,
 * check against small limits and read every entry that passes; oracle: the
 * sanitizers, and an entry read whole has its declared size. */
#include <stdlib.h>

#include "fuzz_file.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/zip.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *path = fuzz_file(".zip", data, size);
    struct xp_zip *z;
    if (xp_zip_open(&z, path) != 0) {
        xp_error_clear();
        return 0;
    }
    struct xp_zip_limits lim;
    xp_zip_limits_init(&lim);
    lim.max_total = 1 << 22;
    lim.max_entry = 1 << 20;
    lim.max_entries = 256;
    size_t n = xp_zip_count(z);
    for (size_t i = 0; i < n && i < 256; i++) {
        struct xp_zip_entry e;
        if (xp_zip_entry(z, i, &e) == 0 && e.name) {
            xp_zip_name_safe(e.name);
            size_t at;
            xp_zip_find(z, e.name, &at);
        }
    }
    if (xp_zip_check(z, &lim) == 0) {
        struct xp_buf b = XP_BUF_INIT;
        for (size_t i = 0; i < n; i++) {
            struct xp_zip_entry e;
            if (xp_zip_entry(z, i, &e) == 0 && !e.is_dir &&
                xp_zip_read(z, i, &b, 1 << 20) == 0 && b.len != e.size)
                abort();
        }
        xp_buf_release(&b);
    }
    xp_zip_close(z);
    xp_error_clear();
    return 0;
}
