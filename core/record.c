/* Helpers on records that the copy, verify and the sinks share (declared in
 * include/xport/sys/adapter.h): the key a resumable sink files an item
 * under. */
#include "xport/buf.h"
#include "xport/sys/adapter.h"

void xp_item_key(struct xp_buf *out, const struct xp_record *rec)
{
    xp_buf_reset(out);
    if (rec->kind == XP_REC_SERIES_BEGIN) {
        xp_buf_printf(out, "%s/%s", xp_series_dir(rec->u.series.kind),
                      rec->u.series.name);
    } else if (rec->kind == XP_REC_FILE) {
        if (rec->u.file.meta.artifact)
            xp_buf_printf(out, "artifacts/%s/%s", rec->u.file.meta.artifact,
                          rec->u.file.meta.path);
        else
            xp_buf_printf(out, "files/%s", rec->u.file.meta.path);
    }
}
