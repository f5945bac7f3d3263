/* The copy run's lists of experiment refs (core/copy_int.h): their order
 * and the lookup in the destination's sorted list, used by the run
 * (core/copy.c) and by one experiment's stages (core/copy_one.c). */
#include <string.h>

#include "copy_int.h"

int copy_ref_cmp(const void *a, const void *b)
{
    const struct ref_item *x = a, *y = b;
    int c = strcmp(x->workspace, y->workspace);
    if (!c)
        c = strcmp(x->project, y->project);
    if (!c)
        c = strcmp(x->name, y->name);
    return c;
}

int copy_ref_order(const void *a, const void *b)
{
    const struct ref_item *x = a, *y = b;
    int c = copy_ref_cmp(a, b);
    if (!c)
        c = strcmp(x->key ? x->key : "", y->key ? y->key : "");
    return c;
}

/* First destination ref with the given names (name NULL: any in project,
 * project NULL: any in workspace): a binary search of the sorted list, ""
 * standing for "any" as the least name. */
const struct ref_item *copy_dst_find(const struct ref_list *l, const char *ws,
                                     const char *proj, const char *name)
{
    struct ref_item key = {(char *)ws, (char *)(proj ? proj : ""),
                           (char *)(proj && name ? name : ""), NULL, 0, NULL};
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (copy_ref_cmp(&l->v[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == l->n)
        return NULL;
    const struct ref_item *d = &l->v[lo];
    if (!strcmp(d->workspace, ws) && (!proj || !strcmp(d->project, proj)) &&
        (!name || !strcmp(d->name, name)))
        return d;
    return NULL;
}
