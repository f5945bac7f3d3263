/* One writer per destination: an flock(2) on a lock file that holds the
 * holder's pid. The kernel drops the lock when its process dies, so kill -9
 * never leaves a stale lock; the file itself stays (its pid is only news
 * while the lock is held). The caller owns the struct. */
#ifndef XPORT_LOCK_H
#define XPORT_LOCK_H

struct xp_lock {
    int fd;
    int held;
    char *path;
};

/* Called once, before blocking, when another process holds the lock;
 * pid is the holder's (0 when it has not written it yet). */
typedef void (*xp_lock_wait_cb)(void *payload, const char *path, long pid);

/* Take the lock at path (its folder is created). With wait, block until
 * the holder is done (calling waiting first, if not NULL); without, fail
 * with XP_ERROR naming the lock file and the holder's pid. */
int xp_lock_take(struct xp_lock *l, const char *path, int wait,
                 xp_lock_wait_cb waiting, void *payload);
void xp_lock_release(struct xp_lock *l);

/* The lock file of a destination folder: DIR/.xport/lock, where DIR is the
 * xport layout PATH is in (PATH or up to three folders up, as the local
 * adapter finds it), else PATH itself. */
char *xp_lock_path_for_dir(const char *path);

#endif
