/* Destination locks (include/xport/lock.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/lock.h"
#include "xport/numparse.h"
#include "xport/sysio.h"

static long read_pid(int fd)
{
    char b[32];
    ssize_t n = pread(fd, b, sizeof(b) - 1, 0);
    if (n <= 0)
        return 0;
    while (n && (b[n - 1] == '\n' || b[n - 1] == ' '))
        n--;
    int64_t pid;
    return xp_parse_i64n(b, (size_t)n, &pid) || pid <= 0 || pid > INT32_MAX ? 0 : (long)pid;
}

static int lock_fd(int fd, int wait)
{
    int rc;
    while ((rc = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB))) != 0 && errno == EINTR)
        ;
    return rc;
}

int xp_lock_take(struct xp_lock *l, const char *path, int wait,
                 xp_lock_wait_cb waiting, void *payload)
{
    l->fd = -1;
    l->held = 0;
    l->path = xp_strdup(path);
    char *dir = xp_strdup(path), *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        rc = xp_mkdir_p(dir);
    }
    free(dir);
    if (!rc && (l->fd = xp_sys_open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
        rc = xp_error_set_os(XP_EIO, "cannot open lock file '%s'", path);
    if (!rc && lock_fd(l->fd, 0) != 0) {
        if (errno != EWOULDBLOCK) {
            rc = xp_error_set_os(XP_EIO, "cannot lock '%s'", path);
        } else if (!wait) {
            long pid = read_pid(l->fd);
            rc = pid ? xp_error_set(XP_ERROR, "another xport (pid %ld) is writing to this "
                                    "destination; lock file '%s' (run again when it is "
                                    "done, or leave out --no-wait to wait)", pid, path)
                     : xp_error_set(XP_ERROR, "another xport is writing to this "
                                    "destination; lock file '%s' (run again when it is "
                                    "done, or leave out --no-wait to wait)", path);
        } else {
            if (waiting)
                waiting(payload, path, read_pid(l->fd));
            if (lock_fd(l->fd, 1) != 0)
                rc = xp_error_set_os(XP_EIO, "cannot lock '%s'", path);
        }
    }
    if (!rc) {
        l->held = 1;
        char b[32];
        int n = snprintf(b, sizeof(b), "%ld\n", (long)getpid());
        if (ftruncate(l->fd, 0) != 0 || pwrite(l->fd, b, (size_t)n, 0) != n)
            rc = xp_error_set_os(XP_EIO, "cannot write lock file '%s'", path);
    }
    if (rc)
        xp_lock_release(l);
    return rc;
}

void xp_lock_release(struct xp_lock *l)
{
    /* the pid is no longer news; closing lets the next one in */
    if (l->held && ftruncate(l->fd, 0) != 0) {
        /* harmless: the lock is what counts, not the file */
    }
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    l->held = 0;
    free(l->path);
    l->path = NULL;
}

char *xp_lock_path_for_dir(const char *path)
{
    char *p = xp_strdup(path), *root = NULL;
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        p[--len] = '\0';
    for (int up = 0; up <= 3 && !root; up++) {
        char *marker = xp_path_join(p, "xport.json");
        if (xp_is_file(marker))
            root = xp_strdup(p);
        free(marker);
        char *slash = strrchr(p, '/');
        if (!slash || slash == p)
            break;
        *slash = '\0';
    }
    free(p);
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "%s/.xport/lock", root ? root : path);
    free(root);
    return xp_buf_detach(&b);
}
