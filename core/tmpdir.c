/* Private temporary folders (xp_tempdir, include/xport/fs.h), and the
 * removal of those an xport process left when it was killed.
 *
 * Every process keeps its folders under one parent, $TMPDIR/xport-live-ID/
 * (TMPDIR unset: /tmp), beside a lock file $TMPDIR/xport-live-ID.lock that
 * it holds with flock(2) for as long as it lives. The kernel drops the lock
 * when the process ends, however it ends (SIGKILL included), so the first
 * xp_tempdir of any later process finds the lock free and removes the parent
 * and the lock. The lock is taken under a temporary name and renamed into
 * place, so no other process can see it untaken. Unlike a process id, a lock
 * is right across PID namespaces that share a /tmp. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"

#define LIVE "xport-live-"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char *parent; /* this process's $TMPDIR/xport-live-ID, NULL: none */
static char *parent_base; /* the $TMPDIR it is in (one set later is used as is) */
static int lock_fd = -1;
static pid_t owner; /* a child forked later makes its folders in $TMPDIR */

static const char *tmp_base(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

/* Removes what the process behind base/NAME left, when it has ended; NAME
 * is its lock, the folder's name and then ".lock" (suffix_len 5), or
 * ".lock-new" (9) when it was killed before the rename. */
static void sweep_one(const char *base, const char *name, size_t suffix_len)
{
    char *lock = xp_path_join(base, name);
    int fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
        /* (a process between its open and flock of .lock-new then finds the
         * file gone at its rename, and makes its folders in base itself) */
        char *dir = xp_strndup(lock, strlen(lock) - suffix_len);
        if (!xp_rm_rf(dir))
            unlink(lock);
        free(dir);
    }
    if (fd >= 0)
        close(fd);
    free(lock);
}

static void sweep(const char *base)
{
    char **names = NULL;
    size_t n = 0;
    if (xp_list_dir(&names, &n, base))
        return;
    size_t ll = strlen(LIVE);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (len <= ll + 9 || strncmp(names[i], LIVE, ll))
            continue;
        if (!strcmp(names[i] + len - 5, ".lock"))
            sweep_one(base, names[i], 5);
        else if (!strcmp(names[i] + len - 9, ".lock-new"))
            sweep_one(base, names[i], 9);
    }
    xp_strv_free(names);
}

/* At exit: the parent (what is left in it) and the lock. */
static void finish(void)
{
    if (!parent || getpid() != owner)
        return;
    struct xp_buf l = XP_BUF_INIT;
    xp_buf_printf(&l, "%s.lock", parent);
    if (!xp_rm_rf(parent))
        unlink(l.ptr);
    xp_buf_release(&l);
    close(lock_fd);
    free(parent);
    free(parent_base);
    parent = parent_base = NULL;
}

static pthread_once_t swept = PTHREAD_ONCE_INIT;

static void sweep_base(void)
{
    sweep(tmp_base());
    xp_error_clear();
}

void xp_tempdir_sweep(void)
{
    pthread_once(&swept, sweep_base);
}

static void start(void)
{
    const char *base = tmp_base();
    xp_tempdir_sweep();
    struct xp_buf d = XP_BUF_INIT;
    xp_buf_printf(&d, "%s/" LIVE "XXXXXX", base);
    if (!mkdtemp(d.ptr)) {
        xp_buf_release(&d);
        return; /* xp_tempdir then makes its folders in base itself */
    }
    struct xp_buf t = XP_BUF_INIT, l = XP_BUF_INIT;
    xp_buf_printf(&t, "%s.lock-new", d.ptr);
    xp_buf_printf(&l, "%s.lock", d.ptr);
    int fd = open(t.ptr, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0 && flock(fd, LOCK_EX) == 0 && rename(t.ptr, l.ptr) == 0) {
        lock_fd = fd;
        parent = xp_buf_detach(&d);
        parent_base = xp_strdup(base);
        owner = getpid();
        atexit(finish);
    } else {
        if (fd >= 0)
            close(fd);
        unlink(t.ptr);
        rmdir(d.ptr);
    }
    xp_buf_release(&d);
    xp_buf_release(&t);
    xp_buf_release(&l);
    xp_error_clear();
}

int xp_tempdir(char **out, const char *prefix)
{
    pthread_once(&once, start);
    struct xp_buf b = XP_BUF_INIT;
    *out = NULL;
    const char *base = tmp_base();
    int mine = parent && getpid() == owner && !strcmp(base, parent_base);
    xp_buf_printf(&b, "%s/%s-XXXXXX", mine ? parent : base, prefix);
    if (!mkdtemp(b.ptr)) {
        int rc = xp_error_set_os(XP_EIO, "cannot create a temporary folder '%s'", b.ptr);
        xp_buf_release(&b);
        return rc;
    }
    *out = xp_buf_detach(&b);
    return 0;
}
