/* Pulling file bodies (include/xport/stream.h). */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/stream.h"
#include "xport/sys/adapter.h"

#define CHUNK (1 << 16)

int xp_stream_pump(struct xp_stream *s, struct xp_afile *f, struct xp_sha256 *h,
                   int64_t *bytes, const struct xp_ctx *ctx)
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
        if (h)
            xp_sha256_update(h, chunk, (size_t)n);
        if (f) {
            xp_afile_write(f, chunk, (size_t)n);
            if ((rc = f->err))
                break;
        }
        total += n;
    }
    free(chunk);
    if (bytes)
        *bytes = total;
    return rc;
}

int xp_stream_save(struct xp_stream *s, const char *path, struct xp_md5 *md5,
                   int64_t *bytes, const struct xp_ctx *ctx)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return xp_error_set_os(XP_EIO, "cannot write '%s'", path);
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
        if (write(fd, chunk, (size_t)n) != n) {
            rc = xp_error_set_os(XP_EIO, "cannot write '%s'", path);
            break;
        }
        if (md5)
            xp_md5_update(md5, chunk, (size_t)n);
        total += n;
    }
    free(chunk);
    if (close(fd) != 0 && !rc)
        rc = xp_error_set_os(XP_EIO, "cannot write '%s'", path);
    if (rc)
        unlink(path);
    if (bytes)
        *bytes = total;
    return rc;
}
