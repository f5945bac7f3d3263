/* What every command shares below the commands themselves: the context
 * they give adapters (cancelled by SIGINT/SIGTERM through xp_cmd_cancel),
 * printing the last error, the monotonic clock, and a location's name in
 * journals (cmd/cmd.h). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/location.h"

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

int cmd_interrupted_exit(void)
{
    return xp_cmd_cancel == SIGTERM ? XP_EXIT_TERMINATED : XP_EXIT_INTERRUPTED;
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

/* A location as the journal records it: local paths made absolute, so a
 * resume from another directory still matches; never any option. */
char *cmd_location_id(const struct xp_location *loc)
{
    struct xp_buf b = XP_BUF_INIT;
    if (loc->path) {
        if (loc->path[0] != '/' && xp_location_on_disk(loc)) {
            char cwd[4096];
            if (getcwd(cwd, sizeof(cwd)))
                xp_buf_printf(&b, "%s/", cwd);
        }
        xp_buf_puts(&b, loc->path);
        if (loc->workspace || loc->project || loc->experiment)
            xp_buf_printf(&b, "::%s/%s/%s", loc->workspace ? loc->workspace : "*",
                          loc->project ? loc->project : "*",
                          loc->experiment ? loc->experiment : "*");
        return xp_buf_detach(&b);
    }
    return xp_location_str(loc);
}
