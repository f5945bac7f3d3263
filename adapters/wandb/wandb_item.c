/* Items of W&B records (wandb_item.h). */
#include <string.h>

#include "xport/json.h"
#include "wandb_item.h"
#include "xport/pb.h"

int witem_key_ok(const char *s, size_t n)
{
    return !memchr(s, 0, n) && xp_utf8_valid(s, n);
}

int witem_get(struct witem *it, const struct xp_pb_field *f, int check_keys)
{
    struct xp_pb m;
    struct xp_pb_field g;
    int k;
    /* not memset: the path arrays are 512 bytes and items come by the
     * million; only what has been filled is read */
    it->depth = 0;
    it->value = NULL;
    it->vlen = 0;
    it->has_value = 0;
    if (f->wire != XP_PB_LEN)
        return -1;
    xp_pb_sub(&m, f);
    int has_key = 0;
    while ((k = xp_pb_next(&m, &g)) > 0) {
        if ((g.num == 1 || g.num == 2) && g.wire == XP_PB_LEN) {
            if (g.num == 1) {
                if (has_key || it->depth)
                    return -1; /* key and nested_key are exclusive */
                has_key = 1;
            } else if (has_key) {
                return -1;
            }
            if (it->depth == WITEM_MAX_DEPTH ||
                (check_keys && !witem_key_ok((const char *)g.ptr, g.len)))
                return -1;
            it->path[it->depth] = (const char *)g.ptr;
            it->plen[it->depth] = g.len;
            it->depth++;
        } else if (g.num == 16 && g.wire == XP_PB_LEN) {
            it->value = (const char *)g.ptr;
            it->vlen = g.len;
            it->has_value = 1;
        }
    }
    if (k < 0 || it->depth == 0)
        return -1;
    return 0;
}

int witem_is(const struct witem *it, const char *key)
{
    return it->depth == 1 && it->plen[0] == strlen(key) &&
           !memcmp(it->path[0], key, it->plen[0]);
}
