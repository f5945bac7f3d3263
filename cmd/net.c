/* The run's shared HTTP engine, configured from the command line. */
#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#include "cmd.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/sys/http.h"

/* "10M" -> 10485760; -1 when malformed */
static int64_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return -1;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': v *= 1024; end++; break;
    case 'm': case 'M': v *= 1024 * 1024; end++; break;
    case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
    default: return -1;
    }
    return *end ? -1 : (int64_t)v;
}

int cmd_http_new(struct xp_http **out, const struct cmd_http_opts *a,
                 struct xp_ctx *ctx)
{
    struct xp_http_config cfg;
    xp_http_config_init(&cfg);
    if (a->max_connections > 0)
        cfg.max_connections = a->max_connections;
    if (a->retries >= 0)
        cfg.max_retries = a->retries;
    if (a->low_speed_limit > 0)
        cfg.low_speed_limit = a->low_speed_limit;
    if (a->low_speed_time > 0)
        cfg.low_speed_time_s = a->low_speed_time;
    if (a->timeout > 0)
        cfg.timeout_ms = (long)a->timeout * 1000;
    if (a->limit_rate && (cfg.limit_rate = parse_size(a->limit_rate)) < 0) {
        opt_error(NULL, "--limit-rate", "needs a rate such as 500k or 10M, not '%s'",
                  a->limit_rate);
        return -1;
    }
    if (a->bytes_per_hour &&
        (cfg.bytes_per_hour = parse_size(a->bytes_per_hour)) < 0) {
        opt_error(NULL, "--bytes-per-hour", "needs a size such as 500M or 2G, not '%s'",
                  a->bytes_per_hour);
        return -1;
    }
    cfg.verbose = a->verbose;
    cfg.cancel = ctx->cancel;
    if (xp_http_new(out, &cfg)) {
        print_error(XP_ERROR);
        return -1;
    }
    ctx->http = *out;
    return 0;
}
