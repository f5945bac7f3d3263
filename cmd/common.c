/* What every command shares below the commands themselves: the context
 * they give adapters (cancelled by SIGINT/SIGTERM through xp_cmd_cancel),
 * printing the last error, and the monotonic clock (cmd/cmd.h). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "xport/error.h"

volatile sig_atomic_t xp_cmd_cancel;

static void warn_stderr(void *payload, const char *msg)
{
    (void)payload;
    fprintf(stderr, "warning: %s\n", msg);
}

void cmd_ctx_init(struct xp_ctx *ctx, int verbose, int quiet)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->cancel = &xp_cmd_cancel;
    ctx->verbose = verbose;
    ctx->warn = quiet ? NULL : warn_stderr;
}

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void print_error(int rc)
{
    const struct xp_error *e = xp_error_last();
    fprintf(stderr, "error: %s\n", e->message[0] ? e->message : xp_strerror(rc));
}
