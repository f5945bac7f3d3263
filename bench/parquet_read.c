/* Reads every column of every row group of a Parquet file through the core
 * reader (core/parquet_*.c), walking each row, and prints the row count and
 * a checksum of the values (so nothing is optimised away).
 * Usage: xport-bench-parquet-read FILE */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "xport/error.h"
#include "xport/parquet.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: xport-bench-parquet-read FILE\n");
        return 2;
    }
    struct xp_pq_file *f;
    int rc = xp_pq_open(&f, argv[1]);
    if (rc) {
        fprintf(stderr, "error: %s\n", xp_error_last()->message);
        return 1;
    }
    uint64_t sum = 0;
    int64_t rows = 0;
    for (size_t g = 0; g < f->nrgs; g++) {
        for (size_t c = 0; c < f->ncols; c++) {
            struct xp_pq_values v;
            if ((rc = xp_pq_read(f, g, c, &v))) {
                fprintf(stderr, "error: %s\n", xp_error_last()->message);
                return 1;
            }
            struct xp_pq_cursor cur;
            size_t lvl, nlvl, val;
            xp_pq_cursor_init(&cur, &v);
            while (xp_pq_cursor_next(&cur, &lvl, &nlvl, &val) == 0)
                sum += nlvl + val;
            for (size_t i = 0; i < v.nvals; i++) {
                if (v.i64)
                    sum += (uint64_t)v.i64[i];
                else if (v.f64) {
                    uint64_t u;
                    memcpy(&u, &v.f64[i], 8);
                    sum += u;
                } else
                    sum += v.bytes[i].len;
            }
            xp_pq_values_release(&v);
        }
        rows += f->rgs[g].num_rows;
    }
    printf("rows=%" PRId64 " checksum=%" PRIu64 "\n", rows, sum);
    xp_pq_close(f);
    return 0;
}
