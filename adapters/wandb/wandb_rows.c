/* Packing history records into compact rows (wandb_rows.h). */
#include <stdlib.h>
#include <string.h>

#include "wandb_item.h"
#include "xport/pb.h"
#include "wandb_rows.h"
#include "wandb_run.h"

/* The longest row-position cache: a bound on memory, not on rows. */
#define MAX_ORDER 4096

void wrows_init(struct wrows *p)
{
    memset(p, 0, sizeof(*p));
    wnames_init(&p->keys);
}

void wrows_release(struct wrows *p)
{
    wnames_release(&p->keys);
    free(p->order);
    memset(p, 0, sizeof(*p));
}

void wrow_value(struct xp_value *v, const struct wrow_item *it)
{
    memset(v, 0, sizeof(*v));
    v->type = (enum xp_vtype)it->type;
    if (v->type == XP_V_BOOL)
        v->u.b = it->u.b;
    else
        v->u.i = it->u.i; /* i and d share the bytes */
}

/* Top-level fields of a Record that wrun's decoder ignores (num, control,
 * uuid, _info): a record with any other field besides its history is left
 * to the decoder. Keep in step with decode_record in wandb_run.c. */
static int ignored_field(uint32_t num)
{
    return num == 1 || num == 16 || num == 19 || num == 200;
}

/* memcmp(a, b, n) == 0 for the short keys of history rows, without a
 * call: 8 bytes at a time, the last 8 overlapping. */
static int same_bytes(const char *a, const char *b, size_t n)
{
    uint64_t x, y;
    if (n < 8)
        return !memcmp(a, b, n);
    for (size_t i = 0; i + 8 < n; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return 0;
    }
    memcpy(&x, a + n - 8, 8);
    memcpy(&y, b + n - 8, 8);
    return x == y;
}

/* The number of key s[0..n) at position pos of the row: -1 when it cannot
 * name a series (the decoder will say so). Rows mostly repeat the last
 * row's keys in order, so one memcmp usually replaces hashing. */
static int64_t key_id(struct wrows *p, size_t pos, const char *s, size_t n)
{
    if (pos < p->norder) {
        const struct wname *e = &p->keys.v[p->order[pos]];
        if (e->n == n && same_bytes(e->s, s, n))
            return p->order[pos];
    }
    size_t id = wnames_find(&p->keys, s, n);
    if (id == WNAMES_NONE) {
        if (!witem_key_ok(s, n) || p->keys.n >= UINT32_MAX)
            return -1;
        id = wnames_add(&p->keys, s, n);
    }
    if (pos < MAX_ORDER) {
        if (pos >= p->norder) {
            p->order = xp_realloc(p->order, (pos + 1) * sizeof(*p->order));
            p->norder = pos + 1;
        }
        p->order[pos] = (uint32_t)id;
    }
    return (int64_t)id;
}

/* The item in f as W&B writes it almost always: one key (field 1 or 2)
 * then value_json (field 16), each with a one-byte length. Exactly what
 * witem_get(it, f, 0) would give for these bytes; 0 for anything else,
 * which then goes through witem_get. */
static int plain_item(struct witem *it, const struct xp_pb_field *f)
{
    const unsigned char *p = f->ptr;
    size_t n = f->len;
    if (f->wire != XP_PB_LEN || n < 5 || (p[0] != 0x0a && p[0] != 0x12) ||
        p[1] >= 0x80 || (size_t)p[1] + 5 > n)
        return 0;
    const unsigned char *v = p + 2 + p[1];
    if (v[0] != 0x82 || v[1] != 0x01 || v[2] >= 0x80 ||
        (size_t)p[1] + 5 + v[2] != n)
        return 0;
    it->path[0] = (const char *)p + 2;
    it->plen[0] = p[1];
    it->depth = 1;
    it->value = (const char *)v + 3;
    it->vlen = v[2];
    it->has_value = 1;
    return 1;
}

/* The HistoryStep message {num = 1}: the last num wins, as in wrun. */
static int history_step(const struct xp_pb_field *f, int64_t *step)
{
    struct xp_pb m;
    struct xp_pb_field h;
    int k;
    *step = 0; /* proto3 leaves step 0 out */
    xp_pb_sub(&m, f);
    while ((k = xp_pb_next(&m, &h)) > 0)
        if (h.num == 1 && h.wire == XP_PB_VARINT)
            *step = xp_pb_int64(&h);
    return k;
}

/* Room for one more item and `text` bytes after it at the end of out. */
static struct wrow_item *add_item(struct xp_buf *out, size_t text)
{
    size_t n = sizeof(struct wrow_item) + wrow_padded(text);
    if (out->len + n >= out->cap)
        xp_buf_grow(out, n);
    struct wrow_item *w = (struct wrow_item *)(void *)(out->ptr + out->len);
    out->len += n;
    return w;
}

int wrows_pack(struct wrows *p, const unsigned char *data, size_t len,
               size_t parse, struct xp_buf *out)
{
    struct xp_pb m;
    struct xp_pb_field f, hist = {0};
    int k, nhist = 0;
    xp_pb_init(&m, data, len);
    while ((k = xp_pb_next(&m, &f)) > 0) {
        if (f.num == 2) {
            hist = f;
            nhist++;
        } else if (!ignored_field(f.num)) {
            return 0;
        }
    }
    if (k < 0 || nhist != 1 || hist.wire != XP_PB_LEN)
        return 0;

    /* the header, then the items written in place as they come (a copy
     * of a struct just built field by field is slow to read) */
    size_t start = out->len;
    struct wrow h = {0};
    xp_buf_put(out, &h, sizeof(h));
    size_t nitems = 0;
    struct witem it;
    struct xp_pb_field g;
    int ok = 1;
    xp_pb_sub(&m, &hist);
    while (ok && (k = xp_pb_next(&m, &g)) > 0) {
        if (g.num == 2 && g.wire == XP_PB_LEN) {
            h.has_record_step = 1;
            ok = history_step(&g, &h.record_step) == 0;
            continue;
        }
        if (g.num != 1)
            continue;
        int64_t id;
        if ((!plain_item(&it, &g) && witem_get(&it, &g, 0)) ||
            it.depth != 1 || !it.has_value ||
            (id = key_id(p, nitems, it.path[0], it.plen[0])) < 0 ||
            nitems == UINT32_MAX) {
            ok = 0;
            break;
        }
        struct xp_value v;
        int parsed = nitems++ < parse && wval_scalar(&v, it.value, it.vlen);
        struct wrow_item *w = add_item(out, parsed ? 0 : it.vlen);
        memset(w, 0, sizeof(*w));
        w->key = (uint32_t)id;
        if (!parsed) {
            w->type = WROW_TEXT;
            w->u.len = it.vlen;
            char *t = (char *)(w + 1);
            size_t pn = wrow_padded(it.vlen);
            if (pn) { /* zero the padding: the last word, then the text */
                uint64_t zero = 0;
                memcpy(t + pn - 8, &zero, 8);
            }
            memcpy(t, it.value, it.vlen);
        } else {
            w->type = (uint8_t)v.type;
            if (v.type == XP_V_BOOL)
                w->u.b = v.u.b;
            else
                w->u.i = v.u.i;
        }
    }
    if (!ok || k < 0) {
        xp_buf_setlen(out, start);
        return 0;
    }
    out->ptr[out->len] = '\0'; /* as xp_buf keeps it */
    h.nitems = (uint32_t)nitems;
    memcpy(out->ptr + start, &h, sizeof(h));
    return 1;
}
