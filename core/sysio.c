/* The destination's and journal's system calls, and the XPORT_FAULT hook of
 * test builds that fails the Nth of them (include/xport/sysio.h). */
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
#include <stdatomic.h>

/* XPORT_FAULT=ENOSPC:N or EIO:N fails the Nth call (counting from 1) with
 * that errno; XPORT_FAULT=count prints "xport-fault: calls N" to stderr at
 * exit, so that a test knows how many points there are to walk. */
static int fault_errno;
static long long fault_at;
static int fault_count;
static atomic_llong fault_calls;
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;

static void print_count(void)
{
    fprintf(stderr, "xport-fault: calls %lld\n", (long long)atomic_load(&fault_calls));
}

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
    const char *colon = strchr(v, ':');
    int64_t n = 0;
    if (!colon || xp_parse_i64n(colon + 1, strlen(colon + 1), &n) || n < 1) {
        fprintf(stderr, "xport-fault: ignoring XPORT_FAULT='%s' (want ENOSPC:N, "
                        "EIO:N or count)\n", v);
        return;
    }
    if ((size_t)(colon - v) == 6 && !strncmp(v, "ENOSPC", 6))
        fault_errno = ENOSPC;
    else if ((size_t)(colon - v) == 3 && !strncmp(v, "EIO", 3))
        fault_errno = EIO;
    else
        fprintf(stderr, "xport-fault: ignoring XPORT_FAULT='%s' (want ENOSPC:N, "
                        "EIO:N or count)\n", v);
    fault_at = n;
}

/* 1 (errno set) when this call is the one to fail. */
static int fault_now(void)
{
    pthread_once(&fault_once, fault_init);
    if (!fault_errno && !fault_count)
        return 0;
    long long n = atomic_fetch_add(&fault_calls, 1) + 1;
    if (fault_errno && n == fault_at) {
        errno = fault_errno;
        return 1;
    }
    return 0;
}
#else
static int fault_now(void)
{
    return 0;
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
    if (fault_now())
        return -1;
    return open(path, flags, mode);
}

ssize_t xp_sys_write(int fd, const void *data, size_t len)
{
    if (fault_now())
        return -1;
    return write(fd, data, len);
}

int xp_sys_fwrite(FILE *fp, const void *data, size_t len)
{
    if (fault_now())
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
    if (fault_now())
        return -1;
    return scratch ? 0 : fsync(fd);
}

int xp_sys_rename(const char *from, const char *to)
{
    if (fault_now())
        return -1;
    return rename(from, to);
}

int xp_sys_mkdir(const char *path, mode_t mode)
{
    if (fault_now())
        return -1;
    return mkdir(path, mode);
}
