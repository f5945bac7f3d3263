/* Thread-local last error (include/xport/error.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xport/error.h"

static _Thread_local struct xp_error last;

int xp_error_setv(int code, const char *fmt, va_list ap)
{
    last.code = code;
    last.http_status = 0;
    vsnprintf(last.message, sizeof(last.message), fmt, ap);
    return code;
}

int xp_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xp_error_setv(code, fmt, ap);
    va_end(ap);
    return code;
}

int xp_error_set_http(int code, long status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xp_error_setv(code, fmt, ap);
    va_end(ap);
    last.http_status = status;
    return code;
}

int xp_error_set_os(int code, const char *fmt, ...)
{
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    xp_error_setv(code, fmt, ap);
    va_end(ap);
    size_t n = strlen(last.message);
    snprintf(last.message + n, sizeof(last.message) - n, ": %s", strerror(e));
    return code;
}

int xp_error_wrap(int code, const char *fmt, ...)
{
    char old[sizeof(last.message)];
    memcpy(old, last.message, sizeof(old));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last.message, sizeof(last.message), fmt, ap);
    va_end(ap);
    size_t n = strlen(last.message);
    if (old[0])
        snprintf(last.message + n, sizeof(last.message) - n, ": %s", old);
    last.code = code;
    return code;
}

const struct xp_error *xp_error_last(void)
{
    return &last;
}

void xp_error_clear(void)
{
    last.code = 0;
    last.http_status = 0;
    last.message[0] = '\0';
}

const char *xp_strerror(int code)
{
    switch (code) {
    case XP_OK: return "ok";
    case XP_ENOTFOUND: return "not found";
    case XP_EEXISTS: return "already exists";
    case XP_EAUTH: return "authentication failed";
    case XP_ERETRY: return "transient failure, retries exhausted";
    case XP_ENOTSUP: return "not supported";
    case XP_EINVALID: return "invalid input";
    case XP_EUSER: return "stopped by callback";
    case XP_ECANCEL: return "interrupted";
    case XP_ENOMEM: return "out of memory";
    case XP_EIO: return "i/o error";
    case XP_ENOFIELD: return "field not in the server's schema";
    case XP_ITEROVER: return "end of iteration";
    default: return "error";
    }
}

int xp_exit_code(int code)
{
    switch (code) {
    case XP_OK: return XP_EXIT_OK;
    case XP_EAUTH: return XP_EXIT_AUTH;
    case XP_ECANCEL: return XP_EXIT_INTERRUPTED;
    default: return XP_EXIT_ERROR;
    }
}
