/* Packing history records into compact rows (wandb_rows.h). */
#include <stdlib.h>
#include <string.h>

#include "wandb_item.h"
#include "wandb_pb.h"
#include "wandb_rows.h"
#include "wandb_run.h"

/* The longest row-position cache: a bound on memory, not on rows. */
#define MAX_ORDER 4096

void wrows_init(struct wrows *p)
{
    memset(p, 0, sizeof(*p));
    wnames_init(&p->keys);
    xp_buf_init(&p->text);
    xp_buf_init(&p->row);
}

void wrows_release(struct wrows *p)
{
    wnames_release(&p->keys);
    free(p->order);
    free(p->items);
    xp_buf_release(&p->text);
    xp_buf_release(&p->row);
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

/* The number of key s[0..n) at position pos of the row: -1 when it cannot
 * name a series (the decoder will say so). Rows mostly repeat the last
 * row's keys in order, so one memcmp usually replaces hashing. */
static int64_t key_id(struct wrows *p, size_t pos, const char *s, size_t n,
                      wrows_key_cb new_key, void *arg)
{
    if (pos < p->norder) {
        const struct wname *e = &p->keys.v[p->order[pos]];
        if (e->n == n && !memcmp(e->s, s, n))
            return p->order[pos];
    }
    size_t id = wnames_find(&p->keys, s, n);
    if (id == WNAMES_NONE) {
        if (!witem_key_ok(s, n) || p->keys.n >= UINT32_MAX)
            return -1;
        id = wnames_add(&p->keys, s, n);
        new_key(arg, (uint32_t)id, s, n);
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

/* The HistoryStep message {num = 1}: the last num wins, as in wrun. */
static int history_step(const struct wpb_field *f, int64_t *step)
{
    struct wpb m;
    struct wpb_field h;
    int k;
    *step = 0; /* proto3 leaves step 0 out */
    wpb_sub(&m, f);
    while ((k = wpb_next(&m, &h)) > 0)
        if (h.num == 1 && h.wire == WPB_VARINT)
            *step = wpb_int64(&h);
    return k;
}

int wrows_pack(struct wrows *p, const unsigned char *data, size_t len,
               size_t parse, wrows_key_cb new_key, void *arg)
{
    struct wpb m;
    struct wpb_field f, hist = {0};
    int k, nhist = 0;
    wpb_init(&m, data, len);
    while ((k = wpb_next(&m, &f)) > 0) {
        if (f.num == 2) {
            hist = f;
            nhist++;
        } else if (!ignored_field(f.num)) {
            return 0;
        }
    }
    if (k < 0 || nhist != 1 || hist.wire != WPB_LEN)
        return 0;

    struct wrow h = {0};
    size_t nitems = 0;
    struct witem it;
    struct wpb_field g;
    int ok = 1;
    wpb_sub(&m, &hist);
    while (ok && (k = wpb_next(&m, &g)) > 0) {
        if (g.num == 2 && g.wire == WPB_LEN) {
            h.has_record_step = 1;
            ok = history_step(&g, &h.record_step) == 0;
            continue;
        }
        if (g.num != 1)
            continue;
        int64_t id;
        if (witem_get(&it, &g, 0) || it.depth != 1 || !it.has_value ||
            (id = key_id(p, nitems, it.path[0], it.plen[0], new_key, arg)) < 0 ||
            it.vlen > UINT32_MAX - p->text.len) {
            ok = 0;
            break;
        }
        if (nitems == p->capitems) {
            p->capitems = p->capitems ? p->capitems * 2 : 64;
            p->items = xp_realloc(p->items, p->capitems * sizeof(*p->items));
        }
        struct wrow_item *w = &p->items[nitems++];
        memset(w, 0, sizeof(*w));
        w->key = (uint32_t)id;
        struct xp_value v;
        if (nitems <= parse && wval_scalar(&v, it.value, it.vlen)) {
            w->type = (uint8_t)v.type;
            if (v.type == XP_V_BOOL)
                w->u.b = v.u.b;
            else
                w->u.i = v.u.i;
        } else {
            w->type = WROW_TEXT;
            w->u.t.off = (uint32_t)p->text.len;
            w->u.t.len = (uint32_t)it.vlen;
            xp_buf_put(&p->text, it.value, it.vlen);
        }
    }
    if (k < 0 || nitems > UINT32_MAX)
        ok = 0;
    if (ok) {
        h.nitems = (uint32_t)nitems;
        xp_buf_reset(&p->row);
        xp_buf_put(&p->row, &h, sizeof(h));
        xp_buf_put(&p->row, p->items, nitems * sizeof(*p->items));
        xp_buf_put(&p->row, p->text.ptr, p->text.len);
    }
    xp_buf_reset(&p->text);
    return ok;
}
