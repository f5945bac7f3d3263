/* Feeds W&B value_json texts (history, summary and config values, from
 * .wandb items and GraphQL rows alike) to wval_parse and wval_scalar
 * (adapters/wandb), and bytes as a HistoryRecord to the row packer
 * (wrows_pack, then each row walked) and as a console line to wline_decode;
 * oracle: the sanitizers, and wval_scalar and wval_parse agree to the bit
 * on what wval_scalar takes. */
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/wandb/wandb_rows.h"
#include "adapters/wandb/wandb_run.h"
#include "xport/buf.h"
#include "xport/error.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *s = (const char *)data;
    struct xp_value a, b;
    struct json_object *hold = NULL;
    struct xp_arena arena = XP_ARENA_INIT;
    int scalar = wval_scalar(&a, s, size);
    if (wval_parse(&b, s, size, &hold, &arena) == 0 && scalar) {
        if (a.type != b.type)
            abort();
        if (a.type == XP_V_FLOAT && !(isnan(a.u.d) && isnan(b.u.d)) &&
            memcmp(&a.u.d, &b.u.d, sizeof(double)))
            abort();
        if ((a.type == XP_V_INT || a.type == XP_V_UINT) && a.u.u != b.u.u)
            abort();
    }
    json_object_put(hold);
    xp_arena_release(&arena);

    /* the same bytes as a record for the packer */
    struct wrows p;
    struct xp_buf out = XP_BUF_INIT;
    wrows_init(&p);
    if (wrows_pack(&p, data, size, 4, &out) == 1) {
        if (out.len < sizeof(struct wrow))
            abort();
        const struct wrow *w = (const struct wrow *)out.ptr;
        const struct wrow_item *it = wrow_first(w);
        for (uint32_t i = 0; i < w->nitems; i++) {
            if ((const char *)(it + 1) > out.ptr + out.len)
                abort();
            struct xp_value v;
            if (it->type != WROW_TEXT)
                wrow_value(&v, it);
            it = wrow_next(it);
        }
    }
    wrows_release(&p);
    xp_buf_release(&out);

    struct wlog_line l;
    if (wline_decode(&l, data, size) == 0 && l.text &&
        (l.text < s || l.text + l.len > s + size))
        abort();
    xp_error_clear();
    return 0;
}
