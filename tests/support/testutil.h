/* Test helpers shared by every cmocka suite. Strings returned are owned by
 * the caller unless said otherwise. */
#ifndef XPORT_TESTUTIL_H
#define XPORT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "xport/error.h"

/* Assert that an xport call returns 0; on failure say which call, its
 * code and xport's error message (clar's cl_git_pass). */
#define tu_pass(expr)                                                           \
    do {                                                                        \
        int tu_rc_ = (expr);                                                    \
        if (tu_rc_ != 0)                                                        \
            fail_msg("%s:%d: %s returned %d: %s", __FILE__, __LINE__, #expr,    \
                     tu_rc_, xp_error_last()->message);                         \
    } while (0)
/* The same for a call expected to fail with code, its message holding
 * text (NULL: any message). */
#define tu_fail_with(code, text, expr)                                          \
    do {                                                                        \
        int tu_rc_ = (expr);                                                    \
        const char *tu_t_ = (text);                                             \
        if (tu_rc_ != (code) ||                                                 \
            (tu_t_ && !strstr(xp_error_last()->message, tu_t_)))                \
            fail_msg("%s:%d: %s returned %d (wanted %d): %s", __FILE__,         \
                     __LINE__, #expr, tu_rc_, (int)(code),                      \
                     xp_error_last()->message);                                 \
    } while (0)

/* A fresh empty directory under $TMPDIR (or /tmp); removed by tu_rmtree. */
char *tu_mkdtemp(void);
void tu_rmtree(const char *dir);
/* Path of a file under the source tree: XPORT_SOURCE_DIR/rel. */
char *tu_src(const char *rel);
/* Run the xport binary ($XPORT_BIN) with a NULL-terminated argument list,
 * capturing stdout and stderr (both NUL-terminated, caller frees).
 * Returns the exit status, or 128+signal. */
int tu_run_xport(char **out, char **err, const char *const *argv);
/* tu_run_xport, printing both outputs when it fails; *err (when err is not
 * NULL) gets stderr, to free. */
int tu_xport(char **err, const char *const *argv);
/* Run any shell command line; returns its exit status. */
int tu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Read a whole file into a NUL-terminated string (NULL if missing). */
char *tu_slurp(const char *path);
void tu_write(const char *path, const char *text);
/* Number of regular files under dir whose path does not start with prefix. */
int tu_count_files(const char *dir);
/* The same, leaving out xport's own folders (.xport: journals, locks,
 * staging), so that a test counts only the data a destination holds. */
int tu_count_data_files(const char *dir);

/* A loopback server started by a test. The program must print
 * "PORT <n>" as its first line on stdout once it listens on 127.0.0.1:<n>.
 * tu_server_start runs argv[0] (a path) with argv; returns 0 on success. */
struct tu_server {
    int pid;
    int port;
};
int tu_server_start(struct tu_server *s, const char *const *argv);
/* Run a Python script from the source tree with XPORT_PYTHON. */
int tu_server_start_py(struct tu_server *s, const char *script_rel,
                       const char *const *args);
void tu_server_stop(struct tu_server *s);

#endif
