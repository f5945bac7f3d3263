/* Writes a .wandb run for the benchmark: ROWS history rows of METRICS
 * values each (20 in 23 floats, the rest ints), plus _step, _timestamp and
 * _runtime, framed like the Go core writes them; rows of ~900 bytes, so
 * some cross the 32 KiB blocks.
 * usage: xport-bench-wandb-gen OUT.wandb [ROWS] [METRICS] */
#include <stdio.h>
#include <stdlib.h>

#include "wenc.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT.wandb [ROWS] [METRICS]\n", argv[0]);
        return 2;
    }
    long rows = argc > 2 ? atol(argv[2]) : 1000000;
    int metrics = argc > 3 ? atoi(argv[3]) : 23;
    struct we_writer w;
    if (we_open(&w, argv[1], 0)) {
        perror(argv[1]);
        return 1;
    }
    struct xp_buf rec = XP_BUF_INIT, items = XP_BUF_INIT, v = XP_BUF_INIT;
    we_run(&rec, "bench01", "bench", "bench", "bench-run", 1767323045);
    we_record(&w, rec.ptr, rec.len);
    uint64_t x = 88172645463325252ull; /* xorshift: same file every time */
    for (long r = 0; r < rows; r++) {
        xp_buf_reset(&items);
        xp_buf_reset(&rec);
        xp_buf_reset(&v);
        xp_buf_printf(&v, "%ld", r);
        we_item(&items, "_step", v.ptr);
        xp_buf_reset(&v);
        xp_buf_printf(&v, "%.17g", 1767323045.0 + (double)r * 0.125);
        we_item(&items, "_timestamp", v.ptr);
        xp_buf_reset(&v);
        xp_buf_printf(&v, "%.17g", (double)r * 0.125);
        we_item(&items, "_runtime", v.ptr);
        for (int m = 0; m < metrics; m++) {
            char key[32];
            snprintf(key, sizeof(key), "train/metric_%02d", m);
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            xp_buf_reset(&v);
            if (m % 8 == 7)
                xp_buf_printf(&v, "%llu", (unsigned long long)(x % 100000));
            else
                xp_buf_printf(&v, "%.17g", (double)(x >> 11) / 9007199254740992.0);
            we_item(&items, key, v.ptr);
        }
        we_history(&rec, &items, r);
        we_record(&w, rec.ptr, rec.len);
    }
    xp_buf_reset(&rec);
    we_exit(&rec, 0, (int32_t)(rows / 8));
    we_record(&w, rec.ptr, rec.len);
    xp_buf_release(&rec);
    xp_buf_release(&items);
    xp_buf_release(&v);
    if (we_close(&w)) {
        perror(argv[1]);
        return 1;
    }
    return 0;
}
