/* Small pieces both Comet readers use: epoch milliseconds as ISO-8601 text,
 * a file body read from a descriptor, and cometx's file name cleaning. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "comet_int.h"
#include "xport/error.h"

void comet_iso_ms(char out[COMET_ISO_BUFSZ], int64_t ms)
{
    time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, COMET_ISO_BUFSZ, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
             tm.tm_sec, (int)(ms - (int64_t)s * 1000));
}

static ssize_t fd_read(struct xp_stream *s, void *buf, size_t len)
{
    struct comet_fd_stream *f = (struct comet_fd_stream *)s;
    for (;;) {
        ssize_t n = read(f->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return xp_error_set_os(XP_EIO, "cannot read file");
    }
}

static void fd_free(struct xp_stream *s)
{
    struct comet_fd_stream *f = (struct comet_fd_stream *)s;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

void comet_fd_stream_init(struct comet_fd_stream *f)
{
    f->base.read = fd_read;
    f->base.free = fd_free;
    f->fd = -1;
}

void comet_fd_stream_close(struct comet_fd_stream *f)
{
    fd_free(&f->base);
}

char *cometx_sanitize(const char *name)
{
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_putc(&b, '/');
    xp_buf_puts(&b, name);
    /* Python's str.replace: left to right, matches do not overlap */
    struct xp_buf o = XP_BUF_INIT;
    for (size_t i = 0; i < b.len;) {
        if (!strncmp(b.ptr + i, "/../", 4)) {
            xp_buf_putc(&o, '/');
            i += 4;
        } else {
            xp_buf_putc(&o, b.ptr[i] == ':' ? '-' : b.ptr[i]);
            i++;
        }
    }
    xp_buf_release(&b);
    size_t skip = 0;
    while (o.ptr[skip] == '/')
        skip++;
    char *r = xp_strdup(o.ptr + skip);
    xp_buf_release(&o);
    return r;
}
