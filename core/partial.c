/* What readers of damaged or incomplete sources could not carry, and the
 * one rule at a run's end: an error naming it, or with allow-partial a
 * warning (include/xport/sys/adapter.h). */
#include <stdarg.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/sys/adapter.h"

void xp_lost_add(struct xp_buf *lost, const char *fmt, ...)
{
    if (lost->len)
        xp_buf_puts(lost, "; ");
    va_list ap;
    va_start(ap, fmt);
    xp_buf_vprintf(lost, fmt, ap);
    va_end(ap);
}

int xp_lost_finish(const struct xp_ctx *ctx, const struct xp_buf *lost,
                   const char *name, const char *where, int allow_partial)
{
    if (!lost->len)
        return 0;
    if (!allow_partial)
        return xp_error_set(XP_EINVALID, "run '%s' in '%s' is incomplete: %s "
                            "(--allow-partial keeps what is there)",
                            name, where, lost->ptr);
    xp_ctx_warn(ctx, "run '%s' in '%s' is incomplete: %s; keeping what is there",
                name, where, lost->ptr);
    return 0;
}
