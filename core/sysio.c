/* The destination's and journal's system calls, and the XPORT_FAULT hook of
 * test builds that fails the Nth of them, or kills or signals the process
 * there or at the Nth HTTP attempt (include/xport/sysio.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xport/numparse.h"
#include "xport/sysio.h"

#ifdef XPORT_FAULT_INJECTION
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

/* XPORT_FAULT=ENOSPC:N or EIO:N fails the Nth call (counting from 1) with
 * that errno; KILL:N, TERM:N or INT:N sends the process SIGKILL, SIGTERM or
 * SIGINT at the Nth call instead (the call then goes on, for the last two);
 * REQ-KILL:N, REQ-TERM:N and REQ-INT:N do the same when the Nth HTTP attempt
 * has its whole answer, before the caller sees it (xp_sys_http_done), and
 * BODY-KILL:N when half of the Nth attempt's answer body has arrived
 * (xp_sys_http_body). XPORT_FAULT=count prints "xport-fault: calls N" and
 * "xport-fault: requests M" to stderr at exit, so that a test knows how
 * many points there are to walk; XPORT_FAULT=trace also prints each call as
 * it is made ("xport-fault: call N open PATH"; write, fwrite and fsync name
 * no path), so that a test can find the call that touches a given file.
 * GATE:N:PATH holds the Nth call until PATH exists (at most 120 s), so that
 * a test can stop a run at a known point from outside (tests/slurm: a
 * scheduler cancels a task in flight). */
enum fault_on { ON_NONE, ON_CALL, ON_REQUEST, ON_BODY };
static int fault_errno, fault_signal;
static enum fault_on fault_on;
static long long fault_at;
static int fault_count, fault_trace;
static char *fault_gate; /* GATE's PATH */
static atomic_llong fault_calls, fault_requests;
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;

static void print_count(void)
{
    fprintf(stderr, "xport-fault: calls %lld\nxport-fault: requests %lld\n",
            (long long)atomic_load(&fault_calls), (long long)atomic_load(&fault_requests));
}

static const struct {
    const char *name;
    enum fault_on on;
    int err, sig;
} fault_kinds[] = {
    {"ENOSPC", ON_CALL, ENOSPC, 0},       {"EIO", ON_CALL, EIO, 0},
    {"KILL", ON_CALL, 0, SIGKILL},        {"TERM", ON_CALL, 0, SIGTERM},
    {"INT", ON_CALL, 0, SIGINT},          {"REQ-KILL", ON_REQUEST, 0, SIGKILL},
    {"REQ-TERM", ON_REQUEST, 0, SIGTERM}, {"REQ-INT", ON_REQUEST, 0, SIGINT},
    {"BODY-KILL", ON_BODY, 0, SIGKILL},
};

static void fault_init(void)
{
    const char *v = getenv("XPORT_FAULT");
    if (!v || !*v)
        return;
    if (!strcmp(v, "count")) {
        fault_count = 1;
        atexit(print_count);
        return;
    }
    if (!strcmp(v, "trace")) {
        fault_count = fault_trace = 1;
        atexit(print_count);
        return;
    }
    const char *colon = strchr(v, ':');
    int64_t n = 0;
    if (colon && (size_t)(colon - v) == 4 && !strncmp(v, "GATE", 4)) {
        const char *c2 = strchr(colon + 1, ':');
        if (c2 && c2[1] && !xp_parse_i64n(colon + 1, (size_t)(c2 - colon - 1), &n) && n >= 1) {
            fault_gate = strdup(c2 + 1);
            fault_on = ON_CALL;
            fault_at = n;
            return;
        }
    }
    if (colon && !xp_parse_i64n(colon + 1, strlen(colon + 1), &n) && n >= 1)
        for (size_t i = 0; i < sizeof(fault_kinds) / sizeof(*fault_kinds); i++)
            if (strlen(fault_kinds[i].name) == (size_t)(colon - v) &&
                !strncmp(v, fault_kinds[i].name, (size_t)(colon - v))) {
                fault_on = fault_kinds[i].on;
                fault_errno = fault_kinds[i].err;
                fault_signal = fault_kinds[i].sig;
                fault_at = n;
                return;
            }
    fprintf(stderr, "xport-fault: ignoring XPORT_FAULT='%s' (want ENOSPC:N, EIO:N, "
                    "KILL:N, TERM:N, INT:N, REQ-KILL:N, REQ-TERM:N, REQ-INT:N, "
                    "BODY-KILL:N, GATE:N:PATH, count or trace)\n", v);
}

static void fault_signal_now(const char *where, long long n)
{
    if (fault_signal == SIGKILL)
        fprintf(stderr, "xport-fault: SIGKILL at %s %lld\n", where, n);
    kill(getpid(), fault_signal);
}

/* Counts one call (ON_CALL, `what` on `path`) or HTTP attempt
 * (ON_REQUEST); 1 when this one is to fail (errno set). A signal is sent
 * instead of failing. */
static int fault_hit(enum fault_on on, const char *what, const char *path)
{
    pthread_once(&fault_once, fault_init);
    if (fault_on != on && !(fault_count && fault_on == ON_NONE))
        return 0;
    long long n = atomic_fetch_add(on == ON_CALL ? &fault_calls : &fault_requests, 1) + 1;
    if (fault_trace && on == ON_CALL)
        fprintf(stderr, "xport-fault: call %lld %s%s%s\n", n, what, path ? " " : "",
                path ? path : "");
    if (fault_on != on || n != fault_at)
        return 0;
    if (fault_gate) {
        fprintf(stderr, "xport-fault: gated at call %lld\n", n);
        for (int i = 0; i < 12000 && access(fault_gate, F_OK) != 0; i++)
            usleep(10000);
        return 0;
    }
    if (fault_signal) {
        fault_signal_now(on == ON_CALL ? "call" : "request", n);
        return 0;
    }
    errno = fault_errno;
    return 1;
}

static int fault_now(const char *what, const char *path)
{
    return fault_hit(ON_CALL, what, path);
}

void xp_sys_http_done(void)
{
    pthread_once(&fault_once, fault_init);
    if (fault_on == ON_BODY) /* the attempts are counted all the same */
        atomic_fetch_add(&fault_requests, 1);
    else
        fault_hit(ON_REQUEST, NULL, NULL);
}

void xp_sys_http_body(int64_t got, int64_t total)
{
    pthread_once(&fault_once, fault_init);
    /* the attempt under way is the one after those that ended */
    if (fault_on == ON_BODY && (total > 0 ? got * 2 >= total : got > 0) &&
        atomic_load(&fault_requests) + 1 == fault_at)
        fault_signal_now("the answer body of request", fault_at);
}
#else
static int fault_now(const char *what, const char *path)
{
    (void)what;
    (void)path;
    return 0;
}

void xp_sys_http_done(void)
{
}

void xp_sys_http_body(int64_t got, int64_t total)
{
    (void)got;
    (void)total;
}
#endif

int xp_sys_open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & O_CREAT) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (fault_now("open", path))
        return -1;
    return open(path, flags, mode);
}

ssize_t xp_sys_write(int fd, const void *data, size_t len)
{
    if (fault_now("write", NULL))
        return -1;
    return write(fd, data, len);
}

FILE *xp_sys_fopen(const char *path, const char *mode)
{
    if (fault_now("open", path))
        return NULL;
    return fopen(path, mode);
}

int xp_sys_fwrite(FILE *fp, const void *data, size_t len)
{
    if (fault_now("fwrite", NULL))
        return -1;
    return fwrite(data, 1, len, fp) == len ? 0 : -1;
}

/* Set on the threads writing a scratch copy (see include/xport/sysio.h). */
static _Thread_local int scratch;

int xp_sys_scratch(int on)
{
    int was = scratch;
    scratch = on;
    return was;
}

int xp_sys_fsync(int fd)
{
    if (fault_now("fsync", NULL))
        return -1;
    return scratch ? 0 : fsync(fd);
}

int xp_sys_rename(const char *from, const char *to)
{
    if (fault_now("rename", to))
        return -1;
    return rename(from, to);
}

int xp_sys_mkdir(const char *path, mode_t mode)
{
    if (fault_now("mkdir", path))
        return -1;
    return mkdir(path, mode);
}
