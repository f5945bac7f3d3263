/* Temporary append-only record streams (include/xport/spool.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/pb.h"
#include "xport/spool.h"
#include "xport/sysio.h"

#define SPOOL_DEFAULT_BUDGET ((size_t)8 << 20)
/* A stream's buffer is written out once it holds this much: big enough for
 * few system calls, small enough that many streams fit in the budget. */
#define SPOOL_STREAM_CHUNK ((size_t)64 << 10)
#define SPOOL_READ_CHUNK ((size_t)64 << 10)
#define SPOOL_MAX_RECORD ((size_t)1 << 30)

struct spool_stream {
    struct xp_buf mem; /* records not yet on disk */
    uint64_t count;
    int on_disk;       /* the stream's file exists */
    int reading;
};

struct xp_spool {
    char *dir; /* NULL until the first flush */
    struct spool_stream *v;
    size_t n, cap;
    size_t budget;
    size_t held; /* sum of the streams' buffer capacities */
    uint64_t bytes;
};

int xp_spool_new(struct xp_spool **out, size_t mem_budget)
{
    struct xp_spool *s = xp_calloc(1, sizeof(*s));
    s->budget = mem_budget ? mem_budget : SPOOL_DEFAULT_BUDGET;
    *out = s;
    return 0;
}

void xp_spool_free(struct xp_spool *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        xp_buf_release(&s->v[i].mem);
    free(s->v);
    if (s->dir && xp_rm_rf(s->dir))
        fprintf(stderr, "warning: %s\n", xp_error_last()->message);
    free(s->dir);
    free(s);
}

int xp_spool_add(struct xp_spool *s, size_t *id)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = xp_realloc(s->v, s->cap * sizeof(*s->v));
    }
    memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
    xp_buf_init(&s->v[s->n].mem);
    *id = s->n++;
    return 0;
}

size_t xp_spool_nstreams(const struct xp_spool *s)
{
    return s->n;
}

uint64_t xp_spool_count(const struct xp_spool *s, size_t id)
{
    return id < s->n ? s->v[id].count : 0;
}

uint64_t xp_spool_bytes(const struct xp_spool *s)
{
    return s->bytes;
}

static int make_dir(struct xp_spool *s)
{
    return xp_tempdir(&s->dir, "xport-spool");
}

static void stream_path(struct xp_buf *p, const struct xp_spool *s, size_t id)
{
    xp_buf_reset(p);
    xp_buf_printf(p, "%s/%zu", s->dir, id);
}

static int write_all(int fd, const char *data, size_t len, const char *path)
{
    while (len) {
        ssize_t n = xp_sys_write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return xp_error_set_os(XP_EIO, "cannot write spool file '%s'",
                                   path);
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Move a stream's buffer to its file; release the buffer too when asked,
 * which is how the budget is enforced. */
static int flush_stream(struct xp_spool *s, size_t id, int release)
{
    struct spool_stream *st = &s->v[id];
    int rc = 0;
    if (st->mem.len) {
        if (!s->dir && (rc = make_dir(s)))
            return rc;
        struct xp_buf p = XP_BUF_INIT;
        stream_path(&p, s, id);
        int fd = xp_sys_open(p.ptr, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) {
            rc = xp_error_set_os(XP_EIO, "cannot open spool file '%s'", p.ptr);
        } else {
            rc = write_all(fd, st->mem.ptr, st->mem.len, p.ptr);
            if (close(fd) != 0 && !rc)
                rc = xp_error_set_os(XP_EIO, "cannot close spool file '%s'",
                                     p.ptr);
        }
        xp_buf_release(&p);
        if (rc)
            return rc;
        st->on_disk = 1;
        xp_buf_reset(&st->mem);
    }
    if (release) {
        s->held -= st->mem.cap;
        xp_buf_release(&st->mem);
    }
    return 0;
}

static int flush_all(struct xp_spool *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].reading)
            continue;
        int rc = flush_stream(s, i, 1);
        if (rc)
            return rc;
    }
    return 0;
}

int xp_spool_reserve(struct xp_spool *s, size_t id, size_t len, void **out)
{
    if (id >= s->n)
        return xp_error_set(XP_EINVALID, "no spool stream %zu", id);
    struct spool_stream *st = &s->v[id];
    if (st->reading)
        return xp_error_set(XP_EINVALID,
                            "spool stream %zu is already being read", id);
    if (len > SPOOL_MAX_RECORD)
        return xp_error_set(XP_EINVALID, "spool record of %zu bytes is too big",
                            len);
    size_t hn = xp_pb_varint_len(len);
    size_t before = st->mem.cap;
    if (st->mem.len + hn + len >= st->mem.cap)
        xp_buf_grow(&st->mem, hn + len);
    xp_pb_varint_put((unsigned char *)st->mem.ptr + st->mem.len, len);
    *out = st->mem.ptr + st->mem.len + hn;
    st->mem.len += hn + len;
    st->mem.ptr[st->mem.len] = '\0';
    s->held += st->mem.cap - before;
    st->count++;
    s->bytes += hn + len;
    return 0;
}

int xp_spool_commit(struct xp_spool *s, size_t id)
{
    if (s->v[id].mem.len >= SPOOL_STREAM_CHUNK) {
        int rc = flush_stream(s, id, 0);
        if (rc)
            return rc;
    }
    if (s->held > s->budget)
        return flush_all(s);
    return 0;
}

int xp_spool_put(struct xp_spool *s, size_t id, const void *data, size_t len)
{
    void *p = NULL;
    int rc = xp_spool_reserve(s, id, len, &p);
    if (rc)
        return rc;
    memcpy(p, data, len);
    return xp_spool_commit(s, id);
}

int xp_spool_iter_open(struct xp_spool_iter *it, struct xp_spool *s,
                       size_t id)
{
    memset(it, 0, sizeof(*it));
    it->fd = -1;
    if (id >= s->n)
        return xp_error_set(XP_EINVALID, "no spool stream %zu", id);
    struct spool_stream *st = &s->v[id];
    it->s = s;
    it->id = id;
    it->left = st->count;
    if (st->on_disk) {
        int rc = flush_stream(s, id, 1);
        if (rc)
            return rc;
        struct xp_buf p = XP_BUF_INIT;
        stream_path(&p, s, id);
        it->fd = open(p.ptr, O_RDONLY | O_CLOEXEC);
        if (it->fd < 0) {
            rc = xp_error_set_os(XP_EIO, "cannot open spool file '%s'", p.ptr);
            xp_buf_release(&p);
            return rc;
        }
        xp_buf_release(&p);
        it->cap = SPOOL_READ_CHUNK;
        it->buf = xp_malloc(it->cap);
    } else {
        /* never left memory: read the buffer in place */
        it->buf = (unsigned char *)st->mem.ptr;
        it->len = st->mem.len;
    }
    st->reading = 1;
    return 0;
}

/* Make at least `need` unread bytes available; *eof says the data ended
 * first. */
static int fill(struct xp_spool_iter *it, size_t need, int *eof)
{
    *eof = 0;
    while (it->len - it->pos < need) {
        if (it->fd < 0) {
            *eof = 1;
            return 0;
        }
        if (it->pos) {
            memmove(it->buf, it->buf + it->pos, it->len - it->pos);
            it->len -= it->pos;
            it->pos = 0;
        }
        if (it->cap - it->len < SPOOL_READ_CHUNK / 2 || it->cap < need) {
            size_t want = it->cap * 2 > need ? it->cap * 2 : need;
            it->buf = xp_realloc(it->buf, want);
            it->cap = want;
        }
        ssize_t n = read(it->fd, it->buf + it->len, it->cap - it->len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return xp_error_set_os(XP_EIO, "cannot read spool stream %zu",
                                   it->id);
        }
        if (n == 0) {
            *eof = 1;
            return 0;
        }
        it->len += (size_t)n;
    }
    return 0;
}

int xp_spool_iter_read(struct xp_spool_iter *it, const void **data,
                       size_t *len)
{
    if (!it->s || it->left == 0)
        return XP_ITEROVER;
    int eof, rc;
    uint64_t v = 0;
    size_t k = 0;
    for (;;) {
        if ((rc = fill(it, k + 1, &eof)))
            return rc;
        if (eof)
            return xp_error_set(XP_EIO, "spool stream %zu is truncated",
                                it->id);
        unsigned char c = it->buf[it->pos + k];
        v |= (uint64_t)(c & 0x7f) << (7 * k);
        k++;
        if (!(c & 0x80))
            break;
        if (k >= 5)
            return xp_error_set(XP_EIO, "spool stream %zu is damaged", it->id);
    }
    if (v > SPOOL_MAX_RECORD)
        return xp_error_set(XP_EIO, "spool stream %zu is damaged", it->id);
    if ((rc = fill(it, k + (size_t)v, &eof)))
        return rc;
    if (eof)
        return xp_error_set(XP_EIO, "spool stream %zu is truncated", it->id);
    *data = it->buf + it->pos + k;
    *len = (size_t)v;
    it->pos += k + (size_t)v;
    it->left--;
    return 0;
}

int xp_spool_iter_rewind(struct xp_spool_iter *it)
{
    if (!it->s)
        return xp_error_set(XP_EINVALID, "spool iterator is not open");
    if (it->fd >= 0) {
        if (lseek(it->fd, 0, SEEK_SET) != 0)
            return xp_error_set_os(XP_EIO, "cannot rewind spool stream %zu",
                                   it->id);
        it->len = 0; /* a stream read from its file is all in the file */
    }
    it->pos = 0;
    it->left = it->s->v[it->id].count;
    return 0;
}

void xp_spool_iter_close(struct xp_spool_iter *it)
{
    if (!it->s)
        return;
    struct xp_spool *s = it->s;
    struct spool_stream *st = &s->v[it->id];
    if (it->fd >= 0) {
        close(it->fd);
        free(it->buf);
        struct xp_buf p = XP_BUF_INIT;
        stream_path(&p, s, it->id);
        unlink(p.ptr);
        xp_buf_release(&p);
    }
    s->held -= st->mem.cap;
    xp_buf_release(&st->mem);
    st->count = 0;
    st->on_disk = 0;
    memset(it, 0, sizeof(*it));
    it->fd = -1;
}
