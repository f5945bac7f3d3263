/* Test-only .wandb writer (wenc.h). The CRC is computed here bit by bit,
 * independently of the adapter's table-driven one. */
#include <string.h>

#include "wenc.h"

void we_varint(struct xp_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        xp_buf_putc(b, (char)(v | 0x80));
        v >>= 7;
    }
    xp_buf_putc(b, (char)v);
}

static void tag(struct xp_buf *b, uint32_t num, int wire)
{
    we_varint(b, ((uint64_t)num << 3) | (uint64_t)wire);
}

void we_uint(struct xp_buf *b, uint32_t num, uint64_t v)
{
    tag(b, num, 0);
    we_varint(b, v);
}

void we_bytes(struct xp_buf *b, uint32_t num, const void *p, size_t n)
{
    tag(b, num, 2);
    we_varint(b, n);
    xp_buf_put(b, p, n);
}

void we_str(struct xp_buf *b, uint32_t num, const char *s)
{
    we_bytes(b, num, s, strlen(s));
}

void we_msg(struct xp_buf *b, uint32_t num, const struct xp_buf *sub)
{
    we_bytes(b, num, sub->ptr, sub->len);
}

void we_run(struct xp_buf *rec, const char *id, const char *entity,
            const char *project, const char *name, int64_t start_sec)
{
    struct xp_buf run = XP_BUF_INIT, ts = XP_BUF_INIT;
    we_str(&run, 1, id);
    if (entity)
        we_str(&run, 2, entity);
    if (project)
        we_str(&run, 3, project);
    if (name)
        we_str(&run, 8, name);
    if (start_sec) {
        we_uint(&ts, 1, (uint64_t)start_sec);
        we_msg(&run, 17, &ts);
    }
    we_msg(rec, 17, &run);
    xp_buf_release(&run);
    xp_buf_release(&ts);
}

void we_item(struct xp_buf *items, const char *key, const char *value_json)
{
    struct xp_buf it = XP_BUF_INIT;
    we_str(&it, 2, key);
    we_str(&it, 16, value_json);
    we_msg(items, 1, &it);
    xp_buf_release(&it);
}

void we_history(struct xp_buf *rec, const struct xp_buf *items, int64_t step)
{
    struct xp_buf h = XP_BUF_INIT, st = XP_BUF_INIT;
    xp_buf_put(&h, items->ptr, items->len);
    if (step >= 0) {
        if (step)
            we_uint(&st, 1, (uint64_t)step);
        we_msg(&h, 2, &st);
    }
    we_msg(rec, 2, &h);
    xp_buf_release(&h);
    xp_buf_release(&st);
}

void we_exit(struct xp_buf *rec, int32_t code, int32_t runtime)
{
    struct xp_buf e = XP_BUF_INIT;
    if (code)
        we_uint(&e, 1, (uint64_t)(int64_t)code);
    if (runtime)
        we_uint(&e, 2, (uint64_t)runtime);
    we_msg(rec, 18, &e);
    xp_buf_release(&e);
}

void we_filler(struct xp_buf *rec, size_t size)
{
    /* uuid (field 19): 2 tag bytes, the length as a varint, the text */
    size_t n = 0;
    for (size_t l = 1; l <= 3; l++) {
        n = size - 2 - l;
        if ((n < 128) == (l == 1) && (n < 16384) == (l <= 2))
            break;
    }
    xp_buf_putc(rec, (char)0x9a);
    xp_buf_putc(rec, 0x01);
    we_varint(rec, n);
    for (size_t i = 0; i < n; i++)
        xp_buf_putc(rec, 'f');
}

static uint32_t crc32_bitwise(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

int we_open(struct we_writer *w, const char *path, int old_layout)
{
    static const unsigned char hdr[7] = {':', 'W', '&', 'B', 0xE1, 0xBE, 0};
    w->fp = fopen(path, "wb");
    if (!w->fp)
        return -1;
    fwrite(hdr, 1, 7, w->fp);
    w->off = 7;
    w->base = old_layout ? 7 : 0;
    return 0;
}

int64_t we_left(const struct we_writer *w)
{
    return WE_BLOCK - (w->off - w->base) % WE_BLOCK;
}

static void chunk(struct we_writer *w, int type, const unsigned char *p,
                  size_t n)
{
    unsigned char h[7], t = (unsigned char)type;
    uint32_t crc = crc32_bitwise(crc32_bitwise(0, &t, 1), p, n);
    h[0] = (unsigned char)crc;
    h[1] = (unsigned char)(crc >> 8);
    h[2] = (unsigned char)(crc >> 16);
    h[3] = (unsigned char)(crc >> 24);
    h[4] = (unsigned char)n;
    h[5] = (unsigned char)(n >> 8);
    h[6] = t;
    fwrite(h, 1, 7, w->fp);
    fwrite(p, 1, n, w->fp);
    w->off += 7 + (int64_t)n;
}

int64_t we_record(struct we_writer *w, const void *data, size_t len)
{
    const unsigned char *p = data;
    int first = 1;
    int64_t start = -1;
    for (;;) {
        int64_t left = we_left(w);
        if (left < 7) {
            static const unsigned char zeros[7];
            fwrite(zeros, 1, (size_t)left, w->fp);
            w->off += left;
            left = WE_BLOCK;
        }
        if (start < 0)
            start = w->off;
        size_t avail = (size_t)(left - 7);
        size_t n = len < avail ? len : avail;
        int last = n == len;
        int type = first && last ? 1 : first ? 2 : last ? 4 : 3;
        chunk(w, type, p, n);
        p += n;
        len -= n;
        first = 0;
        if (last)
            return start;
    }
}

int we_close(struct we_writer *w)
{
    return fclose(w->fp);
}
