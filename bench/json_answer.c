/* What pricing an answer before json-c parses it costs (xp_jscan_cost,
 * xp_json_parse_answer): on a W&B history page, a Neptune series page and
 * a Comet experiments page as their servers send them, the pass's time and
 * json-c's, the best of 5 rounds of 100 parses each.
 * Usage: xport-bench-json-answer */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <json-c/json.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/jscan.h"
#include "xport/json.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void run(const char *name, const struct xp_buf *b)
{
    double price = 1e9, parse = 1e9;
    uint64_t n = 0, c = 0;
    for (int round = 0; round < 5; round++) {
        double t0 = now();
        for (int i = 0; i < 100; i++)
            c = xp_jscan_cost(b->ptr, b->len, &n);
        double t1 = now();
        for (int i = 0; i < 100; i++) {
            struct json_object *o;
            if (xp_json_parse(&o, b->ptr, b->len, name)) {
                fprintf(stderr, "error: %s\n", xp_error_last()->message);
                exit(1);
            }
            json_object_put(o);
        }
        double t2 = now();
        price = t1 - t0 < price ? t1 - t0 : price;
        parse = t2 - t1 < parse ? t2 - t1 : parse;
    }
    printf("%-26s %7zu bytes %6llu values, priced at %4.1fx its size: pass %.3f ms, "
           "json-c %.3f ms (%.1f%%)\n", name, b->len, (unsigned long long)n,
           (double)c / (double)b->len, price * 10, parse * 10, 100 * price / parse);
}

int main(void)
{
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_puts(&b, "{\"data\":{\"project\":{\"run\":{\"history\":[");
    for (int i = 0; i < 1000; i++)
        xp_buf_printf(&b, "%s\"{\\\"_step\\\":%d,\\\"_runtime\\\":%d.25,\\\"_timestamp\\\":"
                      "1700000%03d.123,\\\"m0\\\":0.%d123456789,\\\"m1\\\":1.%d23456,"
                      "\\\"m2\\\":%d}\"", i ? "," : "", i, i, i % 1000, i, i, i);
    xp_buf_puts(&b, "]}}}}");
    run("W&B history page (1000)", &b);
    xp_buf_reset(&b);
    xp_buf_puts(&b, "{\"values\":[");
    for (int i = 0; i < 10000; i++)
        xp_buf_printf(&b, "%s{\"step\":%d.0,\"value\":0.%d123456789,\"timestampMillis\":"
                      "1700000000%03d}", i ? "," : "", i, i, i % 1000);
    xp_buf_puts(&b, "],\"totalItemCount\":10000}");
    run("Neptune series page (10000)", &b);
    xp_buf_reset(&b);
    xp_buf_puts(&b, "{\"experiments\":[");
    for (int i = 0; i < 100; i++)
        xp_buf_printf(&b, "%s{\"experimentKey\":\"%032d\",\"experimentName\":\"exp-%d\","
                      "\"optimizationId\":\"%032d\",\"projectId\":\"%032d\","
                      "\"durationMillis\":%d,\"startTimeMillis\":1700000000000,"
                      "\"endTimeMillis\":1700000001000,\"running\":false,\"archived\":false,"
                      "\"hasImages\":false,\"fileName\":\"train.py\",\"filePath\":"
                      "\"src/train.py\"}", i ? "," : "", i, i, i, i, i);
    xp_buf_puts(&b, "]}");
    run("Comet experiments (100)", &b);
    xp_buf_release(&b);
    return 0;
}
