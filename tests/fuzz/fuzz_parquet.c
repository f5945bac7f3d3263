/* Feeds bytes as a Parquet file to the reader (core/parquet_*.c): footer,
 * schema, then every column chunk decoded and walked row by row; oracle:
 * the sanitizers, and the cursor's rows stay inside the decoded levels. */
#include <stdlib.h>

#include "fuzz_file.h"
#include "xport/error.h"
#include "xport/parquet.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *path = fuzz_file(".parquet", data, size);
    struct xp_pq_file *f;
    if (xp_pq_open(&f, path) != 0) {
        xp_error_clear();
        return 0;
    }
    for (size_t rg = 0; rg < f->nrgs && rg < 8; rg++)
        for (size_t c = 0; c < f->ncols && c < 32; c++) {
            struct xp_pq_values v;
            if (xp_pq_read(f, rg, c, &v) != 0) {
                xp_error_clear();
                continue;
            }
            if (v.nvals > v.n)
                abort();
            struct xp_pq_cursor cur;
            size_t lvl, nlvl, val;
            xp_pq_cursor_init(&cur, &v);
            while (xp_pq_cursor_next(&cur, &lvl, &nlvl, &val) == 0) {
                if (lvl + nlvl > v.n || val > v.nvals)
                    abort();
                for (size_t i = lvl; i < lvl + nlvl; i++)
                    (void)xp_pq_def(&v, i);
            }
            char text[64];
            for (size_t i = 0; i < v.nvals && i < 16; i++)
                xp_pq_decimal_text(&v, i, text, sizeof(text));
            xp_pq_values_release(&v);
        }
    xp_pq_close(f);
    xp_error_clear();
    return 0;
}
