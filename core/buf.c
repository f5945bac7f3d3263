/* Growable NUL-terminated buffer (include/xport/buf.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xport/buf.h"

const char xp_buf__empty[1] = "";

static void oom(size_t n)
{
    fprintf(stderr, "xport: fatal: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xp_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xp_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *xp_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *xp_strdup(const char *s)
{
    return s ? xp_strndup(s, strlen(s)) : NULL;
}

char *xp_strndup(const char *s, size_t n)
{
    char *p = xp_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void xp_buf_init(struct xp_buf *b)
{
    b->ptr = (char *)xp_buf__empty;
    b->len = 0;
    b->cap = 0;
}

void xp_buf_release(struct xp_buf *b)
{
    if (b->cap)
        free(b->ptr);
    xp_buf_init(b);
}

void xp_buf_grow(struct xp_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap * 2;
    if (b->cap) {
        b->ptr = xp_realloc(b->ptr, cap);
    } else {
        char *p = xp_malloc(cap);
        memcpy(p, b->ptr, b->len + 1);
        b->ptr = p;
    }
    b->cap = cap;
}

void xp_buf_puts(struct xp_buf *b, const char *s)
{
    xp_buf_put(b, s, strlen(s));
}

void xp_buf_vprintf(struct xp_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, cp);
    va_end(cp);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(tmp)) {
        xp_buf_put(b, tmp, (size_t)n);
        return;
    }
    xp_buf_grow(b, (size_t)n);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void xp_buf_printf(struct xp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xp_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void xp_buf_setlen(struct xp_buf *b, size_t len)
{
    if (!b->cap) /* the shared empty string is never written */
        return;
    b->len = len;
    b->ptr[len] = '\0';
}

char *xp_buf_detach(struct xp_buf *b)
{
    char *p = b->cap ? b->ptr : xp_strdup("");
    xp_buf_init(b);
    return p;
}

struct xp_arena_chunk {
    struct xp_arena_chunk *next;
    size_t used, cap;
    char data[];
};

void *xp_arena_alloc(struct xp_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct xp_arena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        c = xp_malloc(sizeof(*c) + cap);
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

char *xp_arena_strndup(struct xp_arena *a, const char *s, size_t n)
{
    char *p = xp_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void xp_arena_reset(struct xp_arena *a)
{
    struct xp_arena_chunk *c = a->head;
    if (!c)
        return;
    /* keep the newest chunk; bounded memory across batches */
    struct xp_arena_chunk *rest = c->next;
    while (rest) {
        struct xp_arena_chunk *n = rest->next;
        free(rest);
        rest = n;
    }
    c->next = NULL;
    c->used = 0;
}

void xp_arena_release(struct xp_arena *a)
{
    while (a->head) {
        struct xp_arena_chunk *n = a->head->next;
        free(a->head);
        a->head = n;
    }
}
