/* Throughput of the HTTP engine against a loopback server
 * (bench/http_bench.sh drives it and compares with the curl CLI).
 *
 *   xport-bench-http small BASE COUNT SIZE CONNS [DELAY_MS]
 *       COUNT files of SIZE bytes (BASE/bytes/SIZE?seed=i) in one batch
 *   xport-bench-http large BASE SIZE [DELAY_MS]
 *       one file of SIZE bytes, streamed through a callback
 *
 * Prints "bytes=<n> seconds=<s>" and exits non-zero on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/sys/http.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_bytes(void *p, const void *data, size_t len)
{
    *(long long *)p += (long long)len;
    return 0;
}

static int reset_bytes(void *p)
{
    *(long long *)p = 0;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: xport-bench-http small BASE COUNT SIZE CONNS "
                    "[DELAY_MS]\n       xport-bench-http large BASE SIZE "
                    "[DELAY_MS]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return usage();
    struct xp_http_config cfg;
    xp_http_config_init(&cfg);
    struct xp_http *h;
    long long total = 0;
    double t0;
    int rc;
    if (!strcmp(argv[1], "small") && argc >= 6) {
        size_t n = strtoul(argv[3], NULL, 10);
        long size = atol(argv[4]);
        cfg.max_connections = atoi(argv[5]);
        long delay = argc > 6 ? atol(argv[6]) : 0;
        if (xp_http_new(&h, &cfg))
            goto fail;
        struct xp_http_request *rq = xp_calloc(n, sizeof(*rq));
        struct xp_http_response *rs = xp_calloc(n, sizeof(*rs));
        char **urls = xp_calloc(n, sizeof(*urls));
        for (size_t i = 0; i < n; i++) {
            struct xp_buf u = XP_BUF_INIT;
            xp_buf_printf(&u, "%s/bytes/%ld?seed=%zu", argv[2], size, i % 251);
            if (delay)
                xp_buf_printf(&u, "&delay=%ld", delay);
            urls[i] = xp_buf_detach(&u);
            rq[i].url = urls[i];
            xp_http_response_init(&rs[i]);
        }
        t0 = now();
        rc = xp_http_batch(h, rq, rs, n);
        double dt = now() - t0;
        for (size_t i = 0; i < n; i++) {
            total += (long long)rs[i].body.len;
            xp_http_response_release(&rs[i]);
            free(urls[i]);
        }
        free(urls);
        free(rq);
        free(rs);
        xp_http_free(h);
        if (rc)
            goto fail;
        printf("bytes=%lld seconds=%.3f\n", total, dt);
        return 0;
    }
    if (!strcmp(argv[1], "large")) {
        long long size = atoll(argv[3]);
        long delay = argc > 4 ? atol(argv[4]) : 0;
        if (xp_http_new(&h, &cfg))
            goto fail;
        struct xp_buf u = XP_BUF_INIT;
        xp_buf_printf(&u, "%s/bytes/%lld", argv[2], size);
        if (delay)
            xp_buf_printf(&u, "?delay=%ld", delay);
        struct xp_http_request rq = {.url = u.ptr, .on_data = count_bytes,
                                     .on_reset = reset_bytes,
                                     .payload = &total,
                                     .expect_size = size,
                                     .flags = XP_HTTP_CHECK_SIZE};
        struct xp_http_response r = XP_HTTP_RESPONSE_INIT;
        t0 = now();
        rc = xp_http_request(h, &rq, &r);
        double dt = now() - t0;
        xp_http_response_release(&r);
        xp_buf_release(&u);
        xp_http_free(h);
        if (rc)
            goto fail;
        printf("bytes=%lld seconds=%.3f\n", total, dt);
        return 0;
    }
    return usage();
fail:
    fprintf(stderr, "xport-bench-http: %s\n", xp_error_last()->message);
    return 1;
}
