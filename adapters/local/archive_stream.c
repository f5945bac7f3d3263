/* Reading members' bytes out of an archive: libarchive hands members out
 * in order only, so handles (cursors) are kept in a small pool at their
 * position, and a member is read through the pooled handle furthest along
 * that is not past it. An archive xport wrote is read in one pass per
 * parallel worker; a member behind every handle (an archive in another
 * order) costs a new pass from the start, which is warned about once.
 * Bodies come out as a FILE* (glibc's fopencookie) for the layout reader's
 * JSONL code, or as an xp_stream for files; nothing is unpacked to disk and
 * at most one read buffer per open member is held. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>

#include "archive.h"
#include "xport/error.h"
#include "xport/json.h"
#include "xport/sys/adapter.h"

struct arc_cursor {
    struct archive *a;
    size_t next; /* ordinal of the header read next */
};

static void arc_cursor_close(struct arc_cursor *c)
{
    if (!c)
        return;
    archive_read_free(c->a);
    free(c);
}

void arc_pool_close(struct arc_index *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->npool; i++)
        arc_cursor_close(x->pool[i]);
    x->npool = 0;
}

static const char *arc_msg(struct archive *a)
{
    const char *s = archive_error_string(a);
    return s ? s : "corrupt or truncated";
}

/* Give a handle back to the pool (the one furthest behind is closed when
 * the pool is full). */
static void cursor_put(struct arc_index *x, struct arc_cursor *c)
{
    pthread_mutex_lock(&x->lock);
    if (x->npool == ARC_POOL) {
        size_t lo = 0;
        for (size_t i = 1; i < x->npool; i++)
            if (x->pool[i]->next < x->pool[lo]->next)
                lo = i;
        if (x->pool[lo]->next < c->next) {
            struct arc_cursor *old = x->pool[lo];
            x->pool[lo] = c;
            c = old;
        }
        arc_cursor_close(c);
    } else {
        x->pool[x->npool++] = c;
    }
    pthread_mutex_unlock(&x->lock);
}

/* The last member this thread asked for: an experiment is read by one
 * thread, and workers take experiments in the archive's order, so a thread
 * going back means members out of the order xport writes (across threads,
 * going back is only another worker). */
static _Thread_local const struct arc_index *tl_index;
static _Thread_local size_t tl_last;

/* A handle positioned at the data of the member at ordinal. */
static int cursor_get(struct arc_index *x, size_t ordinal, struct arc_cursor **out)
{
    *out = NULL;
    struct arc_cursor *c = NULL;
    int back = tl_index == x && ordinal < tl_last;
    tl_index = x;
    tl_last = ordinal;
    pthread_mutex_lock(&x->lock);
    size_t best = x->npool;
    for (size_t i = 0; i < x->npool; i++)
        if (x->pool[i]->next <= ordinal && (best == x->npool || x->pool[i]->next > x->pool[best]->next))
            best = i;
    if (best < x->npool) {
        c = x->pool[best];
        x->pool[best] = x->pool[--x->npool];
    } else {
        x->passes++;
        if (back && !x->warned_order) {
            x->warned_order = 1;
            xp_ctx_warn(x->ctx, "'%s' is not in the order xport writes archives: its "
                        "members are read in extra passes over it (copy it once into a "
                        "folder or an archive xport writes to read it in one)", x->path);
        }
    }
    pthread_mutex_unlock(&x->lock);
    if (!c) {
        c = xp_calloc(1, sizeof(*c));
        int rc = arc_read_open(&c->a, x->path);
        if (rc) {
            free(c);
            return rc;
        }
    }
    struct archive_entry *e;
    void *loc = arc_utf8_enter();
    for (;;) {
        int r = archive_read_next_header(c->a, &e);
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            int rc = xp_error_set(XP_EINVALID, "cannot read archive '%s': %s", x->path,
                                  r == ARCHIVE_EOF ? "it changed since it was opened"
                                                   : arc_msg(c->a));
            arc_cursor_close(c);
            arc_utf8_leave(loc);
            return rc;
        }
        if (c->next++ == ordinal)
            break;
        if (archive_read_data_skip(c->a) != ARCHIVE_OK) {
            int rc = xp_error_set(XP_EINVALID, "cannot read archive '%s': %s", x->path,
                                  arc_msg(c->a));
            arc_cursor_close(c);
            arc_utf8_leave(loc);
            return rc;
        }
    }
    arc_utf8_leave(loc);
    *out = c;
    return 0;
}

/* The member holding name's bytes (links resolved). */
static int data_member(struct arc_index *x, const char *name, const struct arc_member **out)
{
    const struct arc_member *m = arc_find(x, name);
    if (!m)
        return xp_error_set(XP_ENOTFOUND, "no file '%s' in '%s'", name, x->path);
    *out = &x->m[m->data];
    return 0;
}

/* ---- a member's bytes ---- */

struct arc_body {
    struct xp_stream base;
    struct arc_index *x;
    struct arc_cursor *c;
    int64_t left; /* bytes the header promised and not yet read */
    char *what;
    int failed;
};

/* Bytes of the member, checked against its size so that a truncated
 * archive is an error, never a short file. */
static ssize_t body_read(struct arc_body *b, void *buf, size_t len)
{
    if (!b->c)
        return 0;
    la_ssize_t k = archive_read_data(b->c->a, buf, len);
    if (k < 0 || (k == 0 && b->left > 0)) {
        b->failed = 1;
        return xp_error_set(XP_EINVALID, "cannot read '%s': %s", b->what,
                            k < 0 ? arc_msg(b->c->a) : "the archive is truncated");
    }
    b->left -= k;
    return k;
}

static void body_end(struct arc_body *b)
{
    if (b->c && !b->failed)
        cursor_put(b->x, b->c);
    else if (b->c)
        arc_cursor_close(b->c);
    b->c = NULL;
    free(b->what);
    b->what = NULL;
}

static int body_open(struct arc_body *b, struct arc_index *x, const char *name,
                     const char *what)
{
    const struct arc_member *m = NULL;
    memset(b, 0, sizeof(*b));
    b->x = x;
    int rc = data_member(x, name, &m);
    if (!rc)
        rc = cursor_get(x, m->ordinal, &b->c);
    if (rc)
        return rc;
    b->left = m->size;
    b->what = xp_strdup(what);
    return 0;
}

static ssize_t stream_read(struct xp_stream *s, void *buf, size_t len)
{
    return body_read((struct arc_body *)s, buf, len);
}

static void stream_free(struct xp_stream *s)
{
    body_end((struct arc_body *)s);
    free(s);
}

int arc_open_body(struct arc_index *x, const char *name, const char *what,
                  struct xp_stream **out)
{
    *out = NULL;
    struct arc_body *b = xp_malloc(sizeof(*b));
    int rc = body_open(b, x, name, what);
    if (rc) {
        free(b);
        return rc;
    }
    b->base.read = stream_read;
    b->base.free = stream_free;
    *out = &b->base;
    return 0;
}

/* ---- as a FILE* ---- */

static ssize_t cookie_read(void *p, char *buf, size_t len)
{
    struct arc_body *b = p;
    ssize_t k = body_read(b, buf, len);
    if (k < 0) {
        /* stdio keeps only errno: say what libarchive said here */
        xp_ctx_warn(b->x->ctx, "%s", xp_error_last()->message);
        errno = EIO;
        return -1;
    }
    return k;
}

static int cookie_close(void *p)
{
    body_end(p);
    free(p);
    return 0;
}

FILE *arc_fopen(struct arc_index *x, const char *name, const char *what)
{
    struct arc_body *b = xp_malloc(sizeof(*b));
    if (body_open(b, x, name, what)) {
        free(b);
        errno = ENOENT;
        return NULL;
    }
    cookie_io_functions_t io = {cookie_read, NULL, NULL, cookie_close};
    FILE *f = fopencookie(b, "r", io);
    if (!f) {
        body_end(b);
        free(b);
        xp_error_set_os(XP_EIO, "cannot open '%s'", what);
    }
    return f;
}

int arc_read_json(struct arc_index *x, const char *name, const char *what,
                  struct json_object **out)
{
    *out = NULL;
    const struct arc_member *m = NULL;
    int rc = data_member(x, name, &m);
    if (rc)
        return rc;
    if (m->doc)
        return xp_json_parse(out, m->doc, (size_t)m->size, what);
    if (m->size > ((int64_t)256 << 20))
        return xp_error_set(XP_EINVALID, "'%s' is larger than 256 MiB", what);
    struct arc_body b;
    if ((rc = body_open(&b, x, name, what)))
        return rc;
    struct xp_buf buf = XP_BUF_INIT;
    xp_buf_grow(&buf, (size_t)m->size + 1);
    char chunk[65536];
    ssize_t k;
    while ((k = body_read(&b, chunk, sizeof(chunk))) > 0)
        xp_buf_put(&buf, chunk, (size_t)k);
    body_end(&b);
    rc = k < 0 ? (int)k : xp_json_parse(out, buf.ptr, buf.len, what);
    xp_buf_release(&buf);
    return rc;
}
