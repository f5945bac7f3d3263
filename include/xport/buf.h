/* Growable byte buffer, always NUL-terminated (git strbuf rules).
 * The caller owns the struct; xp_buf_release frees its contents.
 * Allocation failure aborts the process: xport has no sensible way to go on
 * without memory, and one policy keeps every caller simple. */
#ifndef XPORT_BUF_H
#define XPORT_BUF_H

#include <stddef.h>
#include <stdarg.h>
#include <string.h>

struct xp_buf {
    char *ptr;   /* never NULL after init */
    size_t len;
    size_t cap;  /* 0 while ptr points at the shared empty string */
};

#define XP_BUF_INIT { (char *)xp_buf__empty, 0, 0 }
extern const char xp_buf__empty[1];

void xp_buf_init(struct xp_buf *b);
void xp_buf_release(struct xp_buf *b);
void xp_buf_grow(struct xp_buf *b, size_t extra);
void xp_buf_puts(struct xp_buf *b, const char *s);
/* Inline: writers call these per field of every point. */
static inline void xp_buf_put(struct xp_buf *b, const void *data, size_t len)
{
    if (b->len + len >= b->cap)
        xp_buf_grow(b, len);
    memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
}
static inline void xp_buf_putc(struct xp_buf *b, char c)
{
    if (b->len + 1 >= b->cap)
        xp_buf_grow(b, 1);
    b->ptr[b->len++] = c;
    b->ptr[b->len] = '\0';
}
void xp_buf_printf(struct xp_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void xp_buf_vprintf(struct xp_buf *b, const char *fmt, va_list ap);
void xp_buf_setlen(struct xp_buf *b, size_t len);
static inline void xp_buf_reset(struct xp_buf *b) { xp_buf_setlen(b, 0); }
/* Hand the string to the caller (free() it); the buffer is re-initialised. */
char *xp_buf_detach(struct xp_buf *b);

/* A string arena: allocations never move until reset, so many borrowed
 * strings of one batch can live in it. */
struct xp_arena_chunk;
struct xp_arena {
    struct xp_arena_chunk *head;
};
#define XP_ARENA_INIT { NULL }
char *xp_arena_strndup(struct xp_arena *a, const char *s, size_t n);
void *xp_arena_alloc(struct xp_arena *a, size_t n);
void xp_arena_reset(struct xp_arena *a); /* keeps one chunk for reuse */
void xp_arena_release(struct xp_arena *a);

/* Allocation helpers that abort on failure. */
void *xp_malloc(size_t n);
void *xp_calloc(size_t n, size_t size);
void *xp_realloc(void *p, size_t n);
char *xp_strdup(const char *s);
char *xp_strndup(const char *s, size_t n);

#endif
