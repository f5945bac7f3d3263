/* Feeds bytes as a .wandb transaction log to the framing reader
 * (adapters/wandb/wandb_log.c): every intact record is read to the end;
 * oracle: the sanitizers, records never larger than the file, and the
 * lost ranges lie inside it. */
#include <stdlib.h>

#include "adapters/wandb/wandb_log.h"
#include "fuzz_file.h"
#include "xport/buf.h"
#include "xport/error.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *path = fuzz_file(".wandb", data, size);
    struct wlog l;
    if (wlog_open(&l, path, NULL) != 0) {
        wlog_close(&l); /* the caller closes even a failed open */
        xp_error_clear();
        return 0;
    }
    const unsigned char *rec;
    size_t len;
    while (wlog_next(&l, &rec, &len) == 0)
        if (len > size)
            abort();
    for (size_t i = 0; i < l.nlost; i++)
        if (l.lost[i].start < 0 || l.lost[i].start > l.lost[i].end ||
            l.lost[i].end > (int64_t)size)
            abort();
    struct xp_buf b = XP_BUF_INIT;
    wlog_lost_str(&l, &b, 4);
    xp_buf_release(&b);
    wlog_close(&l);
    xp_error_clear();
    return 0;
}
