/* Pulling file bodies (include/xport/stream.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/stream.h"
#include "xport/sys/adapter.h"
#include "xport/sysio.h"

#define CHUNK (1 << 16)

/* Read s to its end, handing each chunk to take(); 0 or the first error. */
static int pull(struct xp_stream *s, const struct xp_ctx *ctx, int64_t *bytes,
                int (*take)(void *arg, const char *p, size_t n), void *arg)
{
    char *chunk = xp_malloc(CHUNK);
    int64_t total = 0;
    int rc = 0;
    for (;;) {
        if (xp_ctx_cancelled(ctx)) {
            rc = xp_error_set(XP_ECANCEL, "interrupted");
            break;
        }
        ssize_t n = s->read(s, chunk, CHUNK);
        if (n < 0) {
            rc = (int)n;
            break;
        }
        if (n == 0)
            break;
        if ((rc = take(arg, chunk, (size_t)n)))
            break;
        total += n;
    }
    free(chunk);
    if (bytes)
        *bytes = total;
    return rc;
}

struct to_afile {
    struct xp_afile *f;
    struct xp_sha256 *h;
};

static int take_afile(void *arg, const char *p, size_t n)
{
    struct to_afile *t = arg;
    if (t->h)
        xp_sha256_update(t->h, p, n);
    if (t->f) {
        xp_afile_write(t->f, p, n);
        return t->f->err;
    }
    return 0;
}

int xp_stream_pump(struct xp_stream *s, struct xp_afile *f, struct xp_sha256 *h,
                   int64_t *bytes, const struct xp_ctx *ctx)
{
    struct to_afile t = {f, h};
    return pull(s, ctx, bytes, take_afile, &t);
}

struct to_fd {
    int fd;
    const char *path;
    struct xp_md5 *md5;
};

static int take_fd(void *arg, const char *p, size_t n)
{
    struct to_fd *t = arg;
    if (xp_sys_write(t->fd, p, n) != (ssize_t)n)
        return xp_error_set_os(XP_EIO, "cannot write '%s'", t->path);
    if (t->md5)
        xp_md5_update(t->md5, p, n);
    return 0;
}

int xp_stream_save(struct xp_stream *s, const char *path, struct xp_md5 *md5,
                   int64_t *bytes, const struct xp_ctx *ctx)
{
    struct to_fd t = {xp_sys_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), path, md5};
    if (t.fd < 0)
        return xp_error_set_os(XP_EIO, "cannot write '%s'", path);
    int rc = pull(s, ctx, bytes, take_fd, &t);
    if (close(t.fd) != 0 && !rc)
        rc = xp_error_set_os(XP_EIO, "cannot write '%s'", path);
    if (rc)
        unlink(path);
    return rc;
}

int xp_stream_store(struct xp_stream *s, const char *path, const struct xp_file_meta *m,
                    char hex[65], int64_t *bytes, const struct xp_ctx *ctx)
{
    char *dir = xp_strdup(path), *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash) {
        *slash = '\0';
        rc = xp_mkdir_p(dir);
    }
    free(dir);
    struct xp_afile f;
    if (!rc)
        rc = xp_afile_open(&f, path);
    if (rc)
        return rc;
    struct xp_sha256 h;
    unsigned char d[32];
    xp_sha256_init(&h);
    *bytes = 0;
    rc = xp_stream_pump(s, &f, &h, bytes, ctx);
    xp_sha256_final(&h, d);
    xp_hex(hex, d, 32);
    if (!rc && m->size >= 0 && m->size != *bytes)
        rc = xp_error_set(XP_EINVALID, "file '%s' has %" PRId64 " bytes, the source said %" PRId64,
                          m->path, *bytes, m->size);
    if (!rc && m->sha256 && strcasecmp(m->sha256, hex))
        rc = xp_error_set(XP_EINVALID, "file '%s' has sha256 %s, the source said %s", m->path,
                          hex, m->sha256);
    if (rc) {
        xp_afile_abort(&f);
        return rc;
    }
    return xp_afile_commit(&f);
}

static ssize_t fd_stream_read(struct xp_stream *s, void *buf, size_t len)
{
    struct xp_fd_stream *f = (struct xp_fd_stream *)s;
    for (;;) {
        ssize_t n = read(f->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return xp_error_set_os(XP_EIO, "cannot read file");
    }
}

static void fd_stream_free(struct xp_stream *s)
{
    xp_fd_stream_close((struct xp_fd_stream *)s);
}

void xp_fd_stream_init(struct xp_fd_stream *f)
{
    f->base.read = fd_stream_read;
    f->base.free = fd_stream_free;
    f->fd = -1;
}

void xp_fd_stream_close(struct xp_fd_stream *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}
