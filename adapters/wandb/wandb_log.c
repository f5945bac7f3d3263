/* .wandb block and chunk framing with damage recovery (wandb_log.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xport/error.h"
#include "xport/sys/adapter.h"
#include "wandb_log.h"

enum { CHUNK_FULL = 1, CHUNK_FIRST = 2, CHUNK_MIDDLE = 3, CHUNK_LAST = 4 };

/* ---- helpers ---------------------------------------------------------- */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static int chunk_ok(const unsigned char *h, size_t avail)
{
    size_t len = (size_t)h[4] | (size_t)h[5] << 8;
    unsigned type = h[6];
    if (type < CHUNK_FULL || type > CHUNK_LAST || 7 + len > avail)
        return 0;
    return wlog_crc32(wlog_crc32(0, h + 6, 1), h + 7, len) == le32(h);
}

static int pread_all(int fd, void *buf, size_t len, int64_t off, size_t *got)
{
    size_t n = 0;
    while (n < len) {
        ssize_t r = pread(fd, (char *)buf + n, len - n, (off_t)(off + (int64_t)n));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *got = n;
    return 0;
}

/* Record a lost range; ranges come in increasing order, and ones separated
 * only by block padding are merged. */
static void add_lost(struct wlog *l, int64_t start, int64_t end)
{
    if (end <= start)
        return;
    if (l->nlost) {
        struct wlog_range *last = &l->lost[l->nlost - 1];
        if (start <= last->end + (WLOG_HEADER - 1)) {
            if (end > last->end)
                last->end = end;
            return;
        }
    }
    if (l->nlost == l->caplost) {
        l->caplost = l->caplost ? l->caplost * 2 : 8;
        l->lost = xp_realloc(l->lost, l->caplost * sizeof(*l->lost));
    }
    l->lost[l->nlost].start = start;
    l->lost[l->nlost].end = end;
    l->nlost++;
}

/* Forget a record in progress, counting its bytes up to `upto` as lost. */
static void drop_partial(struct wlog *l, int64_t upto)
{
    if (l->rec_start >= 0)
        add_lost(l, l->rec_start, upto);
    l->rec_start = -1;
    xp_buf_reset(&l->rec);
}

/* ---- open / close ------------------------------------------------------ */

/* Is there an intact chunk at file offset off? */
static int valid_chunk_at(struct wlog *l, int64_t off, int *ok)
{
    unsigned char c[WLOG_BLOCK];
    size_t got;
    *ok = 0;
    if (off >= l->size)
        return 0;
    if (pread_all(l->fd, c, sizeof(c), off, &got))
        return xp_error_set_os(XP_EIO, "cannot read '%s'", l->path);
    *ok = got >= WLOG_HEADER && chunk_ok(c, got);
    return 0;
}

int wlog_open(struct wlog *l, const char *path, const struct xp_ctx *ctx)
{
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    l->rec_start = -1;
    l->block_off = -1;
    l->ctx = ctx;
    xp_buf_init(&l->rec);
    l->path = xp_strdup(path);
    l->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (l->fd < 0)
        return xp_error_set_os(errno == ENOENT ? XP_ENOTFOUND : XP_EIO,
                               "cannot open '%s'", path);
    struct stat st;
    if (fstat(l->fd, &st) != 0)
        return xp_error_set_os(XP_EIO, "cannot stat '%s'", path);
    l->size = (int64_t)st.st_size;

    unsigned char h[WLOG_HEADER];
    size_t got;
    if (pread_all(l->fd, h, sizeof(h), 0, &got))
        return xp_error_set_os(XP_EIO, "cannot read '%s'", path);
    if (got < WLOG_HEADER || memcmp(h, ":W&B", 4) || h[4] != 0xE1 ||
        h[5] != 0xBE)
        return xp_error_set(XP_EINVALID,
                            "'%s' is not a W&B transaction log (bad header)",
                            path);
    if (h[6] > 1)
        return xp_error_set(XP_EINVALID,
                            "'%s' has unsupported W&B log version %u", path,
                            h[6]);
    l->version = h[6];

    /* Both layouts agree up to the first block boundary; there a chunk
     * starts at 32768 (current) or at 32775 (Go core before 0.17.6). A
     * damaged boundary says nothing, so look at the next ones too. */
    for (int64_t k = 1; k <= 64; k++) {
        int64_t at = k * WLOG_BLOCK;
        if (at + WLOG_HEADER > l->size)
            break;
        int ok_new = 0, ok_old = 0;
        int rc = valid_chunk_at(l, at, &ok_new);
        if (!rc && !ok_new)
            rc = valid_chunk_at(l, at + WLOG_HEADER, &ok_old);
        if (rc)
            return rc;
        if (ok_new)
            break;
        if (ok_old) {
            l->base = WLOG_HEADER;
            break;
        }
    }
    l->block = xp_malloc(WLOG_BLOCK);
    return 0;
}

void wlog_close(struct wlog *l)
{
    if (l->fd >= 0)
        close(l->fd);
    free(l->block);
    free(l->path);
    free(l->lost);
    xp_buf_release(&l->rec);
    memset(l, 0, sizeof(*l));
    l->fd = -1;
}

/* ---- reading ----------------------------------------------------------- */

/* Load the block after the current one; 0 at end of file. */
static int next_block(struct wlog *l)
{
    int64_t off = l->block_off < 0 ? l->base : l->block_off + WLOG_BLOCK;
    if (off >= l->size)
        return 0;
    size_t got;
    if (pread_all(l->fd, l->block, WLOG_BLOCK, off, &got))
        return xp_error_set_os(XP_EIO, "cannot read '%s'", l->path);
    l->block_off = off;
    l->block_len = got;
    l->pos = off == 0 ? WLOG_HEADER : 0;
    return got ? 1 : 0;
}

static int64_t at(const struct wlog *l, size_t pos)
{
    return l->block_off + (int64_t)pos;
}

static void skip_block(struct wlog *l, const char *why, int64_t from)
{
    int64_t to = at(l, l->block_len);
    drop_partial(l, from);
    add_lost(l, from, to);
    if (l->ctx)
        xp_ctx_warn(l->ctx,
                    "'%s': %s at offset %" PRId64 ", skipping %" PRId64
                    " bytes to the next block",
                    l->path, why, from, to - from);
    l->pos = l->block_len;
}

static int finish(struct wlog *l)
{
    if (!l->done) {
        l->done = 1;
        if (l->rec_start >= 0) {
            if (l->ctx)
                xp_ctx_warn(l->ctx,
                            "'%s': record at offset %" PRId64
                            " is cut short by the end of the file",
                            l->path, l->rec_start);
            drop_partial(l, l->size);
        }
    }
    return XP_ITEROVER;
}

int wlog_next(struct wlog *l, const unsigned char **data, size_t *len)
{
    if (l->done)
        return XP_ITEROVER;
    for (;;) {
        if (l->block_off < 0 || l->block_len - l->pos < WLOG_HEADER) {
            if (l->block_off >= 0 && l->block_len < WLOG_BLOCK &&
                l->pos < l->block_len) {
                /* a short last block ending inside a chunk header */
                int64_t from = at(l, l->pos);
                drop_partial(l, from);
                add_lost(l, from, l->size);
                if (l->ctx)
                    xp_ctx_warn(l->ctx,
                                "'%s': truncated chunk header at offset %" PRId64,
                                l->path, from);
                return finish(l);
            }
            int rc = next_block(l);
            if (rc < 0)
                return rc;
            if (rc == 0)
                return finish(l);
            continue;
        }
        const unsigned char *h = l->block + l->pos;
        size_t clen = (size_t)h[4] | (size_t)h[5] << 8;
        unsigned type = h[6];
        int64_t coff = at(l, l->pos);
        if (le32(h) == 0 && clen == 0 && type == 0) {
            /* zero-filled (preallocated) space, not a chunk */
            drop_partial(l, coff);
            l->pos = l->block_len;
            continue;
        }
        if (l->pos + WLOG_HEADER + clen > l->block_len) {
            if (l->block_len < WLOG_BLOCK &&
                l->pos + WLOG_HEADER + clen <= WLOG_BLOCK) {
                drop_partial(l, coff);
                add_lost(l, coff, l->size);
                if (l->ctx)
                    xp_ctx_warn(l->ctx,
                                "'%s': chunk at offset %" PRId64
                                " is cut short by the end of the file",
                                l->path, coff);
                return finish(l);
            }
            skip_block(l, "impossible chunk length", coff);
            continue;
        }
        if (!chunk_ok(h, l->block_len - l->pos)) {
            skip_block(l, type >= CHUNK_FULL && type <= CHUNK_LAST
                              ? "bad checksum"
                              : "bad chunk type",
                       coff);
            continue;
        }
        const unsigned char *payload = h + WLOG_HEADER;
        l->pos += WLOG_HEADER + clen;
        switch (type) {
        case CHUNK_FULL:
            drop_partial(l, coff);
            l->rec_off = coff;
            *data = payload;
            *len = clen;
            return 0;
        case CHUNK_FIRST:
            drop_partial(l, coff);
            l->rec_start = coff;
            xp_buf_put(&l->rec, payload, clen);
            break;
        case CHUNK_MIDDLE:
        case CHUNK_LAST:
            if (l->rec_start < 0) {
                /* the rest of a record whose start was lost */
                add_lost(l, coff, at(l, l->pos));
                break;
            }
            xp_buf_put(&l->rec, payload, clen);
            if (type == CHUNK_LAST) {
                l->rec_off = l->rec_start;
                l->rec_start = -1;
                *data = (const unsigned char *)l->rec.ptr;
                *len = l->rec.len;
                /* the buffer is reset when the next record starts */
                return 0;
            }
            break;
        }
    }
}

void wlog_lost_str(const struct wlog *l, struct xp_buf *out, size_t max)
{
    for (size_t i = 0; i < l->nlost && i < max; i++)
        xp_buf_printf(out, "%s%" PRId64 "-%" PRId64, i ? ", " : "",
                      l->lost[i].start, l->lost[i].end);
    if (l->nlost > max)
        xp_buf_printf(out, " and %zu more", l->nlost - max);
}
