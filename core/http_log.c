/* The HTTP engine's log and failure messages, scrubbed of every known
 * secret whatever path it took into the text; and whether the run was
 * cancelled. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http_int.h"
#include "xport/error.h"

void xp__http_log(struct xp_http *h, int level, const char *fmt, ...)
{
    if (h->cfg.verbose < level)
        return;
    struct xp_buf raw = XP_BUF_INIT, line = XP_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    xp_buf_vprintf(&raw, fmt, ap);
    va_end(ap);
    /* Belt and braces: whatever path a secret took into the text. */
    xp__http_scrub(h, &line, raw.ptr);
    pthread_mutex_lock(&h->log_mu);
    if (h->cfg.log)
        h->cfg.log(h->cfg.log_payload, line.ptr);
    else
        fprintf(stderr, "xport: http: %s\n", line.ptr);
    pthread_mutex_unlock(&h->log_mu);
    xp_buf_release(&raw);
    xp_buf_release(&line);
}

void xp__http_log_header(struct xp_http *h, char dir, const char *line)
{
    if (h->cfg.verbose < 2)
        return;
    const char *colon = strchr(line, ':');
    if (colon) {
        char name[128];
        size_t n = (size_t)(colon - line);
        if (n >= sizeof(name))
            n = sizeof(name) - 1;
        memcpy(name, line, n);
        name[n] = '\0';
        if (xp__http_secret_header(h, name)) {
            xp__http_log(h, 2, "%c %s: <redacted>", dir, name);
            return;
        }
    }
    xp__http_log(h, 2, "%c %s", dir, line);
}

int xp__http_cancelled(const struct xp_http *h)
{
    return h->cfg.cancel && *h->cfg.cancel;
}

/* Fail the transfer for good with a scrubbed message. */
void xp__http_fail(struct xfer *x, int code, const char *fmt, ...)
{
    struct xp_buf raw = XP_BUF_INIT, msg = XP_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    xp_buf_vprintf(&raw, fmt, ap);
    va_end(ap);
    xp__http_scrub(x->h, &msg, raw.ptr);
    xp_buf_release(&raw);
    free(x->resp->error);
    x->resp->error = xp_buf_detach(&msg);
    x->resp->code = code;
    x->done = 1;
}
