/* Points without a step (wandb_steps.h): the _step values the writer made
 * up, checked, recorded in the map, and looked up by the reader. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "wandb_run.h"
#include "wandb_steps.h"

void wsteps_init(struct wsteps *s)
{
    memset(s, 0, sizeof(*s));
}

void wsteps_release(struct wsteps *s)
{
    free(s->r);
    memset(s, 0, sizeof(*s));
}

/* How many steps r holds. */
static uint64_t span(const struct wsteps_range *r)
{
    return (uint64_t)r->last - (uint64_t)r->first + 1;
}

static void push(struct wsteps *s, int64_t first, int64_t last, uint64_t pos)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->r = xp_realloc(s->r, s->cap * sizeof(*s->r));
    }
    s->r[s->n++] = (struct wsteps_range){first, last, pos};
}

void wsteps_add(struct wsteps *s, uint64_t pos, int64_t step)
{
    s->nostep++;
    if (s->overflow)
        return;
    /* indexes run on with the points: one range holds a stretch of them */
    struct wsteps_range *last = s->n ? &s->r[s->n - 1] : NULL;
    if (last && last->last < INT64_MAX && last->last + 1 == step &&
        last->pos + span(last) == pos) {
        last->last++;
        return;
    }
    if (s->n == WSTEPS_MAX) {
        s->overflow = 1;
        return;
    }
    push(s, step, step, pos);
}

static int by_step(const void *a, const void *b)
{
    const struct wsteps_range *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* The ranges v[0..n) sorted by step, overlapping or adjacent ones joined,
 * as a new array (*out_n of them). */
static struct wsteps_range *normalized(const struct wsteps_range *v, size_t n,
                                       size_t *out_n)
{
    struct wsteps_range *r = xp_calloc(n + 1, sizeof(*r));
    if (n)
        memcpy(r, v, n * sizeof(*r));
    qsort(r, n, sizeof(*r), by_step);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        /* sorted: r[i].first > INT64_MIN unless it is <= the last one */
        if (k && (r[i].first <= r[k - 1].last ||
                  r[i].first - 1 == r[k - 1].last)) {
            if (r[i].last > r[k - 1].last)
                r[k - 1].last = r[i].last;
            continue;
        }
        r[k] = r[i];
        r[k++].pos = 0;
    }
    *out_n = k;
    return r;
}

/* Whether step lies in the sorted, disjoint ranges r[0..n). */
static int in_ranges(const struct wsteps_range *r, size_t n, int64_t step)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].first <= step)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo && step <= r[lo - 1].last;
}

/* Read the stream through it once, then rewind it: the points outside
 * the made-up positions whose integer step lies in the sorted ranges
 * norm[0..nn). */
static int count_clashes(const struct wsteps *s, struct xp_spool_iter *it,
                         const struct wsteps_range *norm, size_t nn,
                         uint64_t *clashes)
{
    struct xp_arena ar = XP_ARENA_INIT;
    int rc;
    size_t at = 0; /* the range (in position order) at or after pos */
    for (uint64_t pos = 0;; pos++) {
        const void *data;
        size_t len;
        rc = xp_spool_iter_next(it, &data, &len);
        if (rc == XP_ITEROVER) {
            rc = 0;
            break;
        }
        if (rc)
            break;
        while (at < s->n && s->r[at].pos + span(&s->r[at]) <= pos)
            at++;
        if (at < s->n && s->r[at].pos <= pos)
            continue; /* its step is made up */
        struct xp_point p;
        struct xp_field f[WPT_NKEYS];
        xp_arena_reset(&ar);
        if ((rc = wpt_decode(&p, f, data, len, &ar)))
            break;
        for (size_t i = 0; i < p.nfields; i++)
            if (!strcmp(f[i].key, "step") && f[i].v.type == XP_V_INT &&
                in_ranges(norm, nn, f[i].v.u.i))
                ++*clashes;
    }
    xp_arena_release(&ar);
    return rc ? rc : xp_spool_iter_rewind(it);
}

int wsteps_check(struct wsteps *s, struct xp_spool_iter *it,
                 struct xp_buf *why)
{
    if (!s->stepped) {
        s->all = 1;
        return 0;
    }
    if (s->overflow) {
        xp_buf_printf(why, "the steps W&B history gives them would take more "
                           "than %d ranges in the map",
                      WSTEPS_MAX);
        return 1;
    }
    size_t nn;
    struct wsteps_range *norm = normalized(s->r, s->n, &nn);
    uint64_t clashes = 0;
    int rc = count_clashes(s, it, norm, nn, &clashes);
    if (rc || clashes) {
        free(norm);
        if (rc)
            return rc;
        xp_buf_printf(why, "W&B history gives them that as _step, which %llu "
                           "point%s with a step of the series also ha%s",
                      (unsigned long long)clashes, clashes == 1 ? "" : "s",
                      clashes == 1 ? "s" : "ve");
        return 1;
    }
    free(s->r);
    s->r = norm;
    s->n = s->cap = nn;
    return 0;
}

struct json_object *wsteps_to_json(const struct wsteps *s)
{
    if (s->all)
        return json_object_new_boolean(1);
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < s->n; i++) {
        struct json_object *r = json_object_new_array();
        json_object_array_add(r, json_object_new_int64(s->r[i].first));
        json_object_array_add(r, json_object_new_int64(s->r[i].last));
        json_object_array_add(a, r);
    }
    return a;
}

int wsteps_from_json(struct wsteps *s, struct json_object *j)
{
    wsteps_release(s);
    if (json_object_is_type(j, json_type_boolean)) {
        s->all = json_object_get_boolean(j);
        return 0;
    }
    if (!json_object_is_type(j, json_type_array))
        return -1;
    size_t n = json_object_array_length(j);
    struct wsteps_range *v = xp_calloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        struct json_object *r = json_object_array_get_idx(j, i);
        struct json_object *a = json_object_array_get_idx(r, 0);
        struct json_object *b = json_object_array_get_idx(r, 1);
        if (!json_object_is_type(r, json_type_array) ||
            json_object_array_length(r) != 2 ||
            !json_object_is_type(a, json_type_int) ||
            !json_object_is_type(b, json_type_int) ||
            json_object_get_int64(b) < json_object_get_int64(a)) {
            free(v);
            return -1;
        }
        v[i].first = json_object_get_int64(a);
        v[i].last = json_object_get_int64(b);
    }
    s->r = normalized(v, n, &s->n);
    s->cap = s->n;
    free(v);
    return 0;
}

int wsteps_made_up(const struct wsteps *s, const struct xp_value *step)
{
    if (!step || step->type != XP_V_INT)
        return 0;
    return s->all || in_ranges(s->r, s->n, step->u.i);
}
