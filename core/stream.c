/* Pulling file bodies (include/xport/stream.h). */
#include <stdlib.h>

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
