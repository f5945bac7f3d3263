/* Error model: functions that can fail return 0 or a negative XP_E* code and
 * leave a one-line message (git style: lowercase, no full stop, subject in
 * quotes) in thread-local storage. Setting an error never allocates. */
#ifndef XPORT_ERROR_H
#define XPORT_ERROR_H

#include <stdarg.h>

enum xp_err {
    XP_OK = 0,
    XP_ERROR = -1,     /* generic failure; see xp_error_last() */
    XP_ENOTFOUND = -3, /* workspace/project/experiment/item missing */
    XP_EEXISTS = -4,   /* destination already has it */
    XP_EAUTH = -5,     /* missing or rejected credentials: fatal for the run */
    XP_ERETRY = -6,    /* transient failure that outlived its retries */
    XP_ENOTSUP = -7,   /* adapter lacks the capability */
    XP_EINVALID = -8,  /* bad input data: schema, JSON, UTF-8, unsafe name */
    XP_EUSER = -9,     /* a callback asked to stop */
    XP_ECANCEL = -10,  /* interrupted (SIGINT/SIGTERM) */
    XP_ENOMEM = -11,
    XP_EIO = -12,      /* local file system */
    XP_ENOFIELD = -13, /* a GraphQL server lacks a field asked for (graphql.h) */
    XP_ITEROVER = -31  /* end of iteration; not an error */
};

/* Process exit codes (docs/exit-codes.md). */
enum xp_exit {
    XP_EXIT_OK = 0,
    XP_EXIT_ERROR = 1,
    XP_EXIT_USAGE = 2,
    XP_EXIT_PARTIAL = 3,
    XP_EXIT_AUTH = 4,
    XP_EXIT_INTERRUPTED = 130, /* SIGINT: 128 + 2, as shells report it */
    XP_EXIT_TERMINATED = 143   /* SIGTERM: 128 + 15 */
};

struct xp_error {
    int code;         /* the enum xp_err last set */
    long http_status; /* 0 when not an HTTP failure */
    char message[1024];
};

/* Set the thread's error and return `code`, so callers write
 * `return xp_error_set(XP_EINVALID, "bad line %d in '%s'", n, path);` */
int xp_error_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int xp_error_setv(int code, const char *fmt, va_list ap);
int xp_error_set_http(int code, long status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like xp_error_set, with strerror(errno) appended after ": ". */
int xp_error_set_os(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix the current message with context: "reading 'x': <old message>". */
int xp_error_wrap(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const struct xp_error *xp_error_last(void);
void xp_error_clear(void);
const char *xp_strerror(int code);
/* Map a result code to a process exit code. */
int xp_exit_code(int code);

#endif
