/* Fetching one experiment of s3://BUCKET/PREFIX into a folder of this
 * machine: its objects as the layout's listing saw them (kept sorted by
 * key, so reading needs no listing request of its own), or, when it was
 * not listed or has changed since, as a listing of its folder says; then
 * every object at once, `parallel` requests in flight, each written
 * atomically with its size checked.
 *
 * Why keep the listing: a listing request costs a round trip per
 * experiment, and a store may pay for it by the size of the folder around
 * (s3rver walks every sibling folder), where the layout's own listing has
 * already named each object and its size. */
#include <stdlib.h>
#include <string.h>

#include "s3.h"
#include "xport/error.h"
#include "xport/fs.h"

struct s3_objects {
    struct xp_buf names; /* each key below the prefix and its '/', NUL-ended */
    struct ent {
        size_t off; /* in names */
        const char *name; /* set when sealed */
        int64_t size;
    } *v;
    size_t n, cap;
};

struct s3_objects *s3_objects_new(void)
{
    struct s3_objects *o = xp_calloc(1, sizeof(*o));
    xp_buf_init(&o->names);
    return o;
}

void s3_objects_add(struct s3_objects *o, const char *rel, int64_t size)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 256;
        o->v = xp_realloc(o->v, o->cap * sizeof(*o->v));
    }
    o->v[o->n].off = o->names.len;
    o->v[o->n].size = size;
    o->v[o->n++].name = NULL;
    xp_buf_put(&o->names, rel, strlen(rel) + 1);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct ent *)a)->name, ((const struct ent *)b)->name);
}

void s3_objects_free(struct s3_objects *o)
{
    if (!o)
        return;
    xp_buf_release(&o->names);
    free(o->v);
    free(o);
}

void s3_listed_set(struct s3_adapter *s, struct s3_objects *o)
{
    for (size_t i = 0; i < o->n; i++)
        o->v[i].name = o->names.ptr + o->v[i].off;
    if (o->n)
        qsort(o->v, o->n, sizeof(*o->v), by_name);
    pthread_mutex_lock(&s->lock);
    struct s3_objects *old = s->listed;
    s->listed = o;
    pthread_mutex_unlock(&s->lock);
    s3_objects_free(old);
}

/* The listed objects under "rel/" into o (names below rel/); 0 when the
 * experiment was not in the last listing. */
static size_t listed_under(struct s3_adapter *s, const char *rel, struct s3_objects *o)
{
    size_t rl = strlen(rel), found = 0;
    pthread_mutex_lock(&s->lock);
    const struct s3_objects *l = s->listed;
    size_t lo = 0, hi = l ? l->n : 0;
    while (lo < hi) { /* the first name not below rel */
        size_t mid = lo + (hi - lo) / 2;
        int c = strncmp(l->v[mid].name, rel, rl);
        if (c < 0 || (c == 0 && (unsigned char)l->v[mid].name[rl] < '/'))
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; l && i < l->n; i++) {
        const char *nm = l->v[i].name;
        if (strncmp(nm, rel, rl) || nm[rl] != '/')
            break;
        s3_objects_add(o, nm + rl + 1, l->v[i].size);
        found++;
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

struct collect {
    struct s3_objects *o;
    size_t plen; /* of the experiment's key prefix, its '/' included */
};

static int on_object(void *payload, const char *key, int64_t size)
{
    struct collect *c = payload;
    if (strlen(key) <= c->plen || size < 0)
        return 0;
    s3_objects_add(c->o, key + c->plen, size);
    return 0;
}

/* Every object in o into dir at once; *gone: one vanished (XP_ENOTFOUND,
 * no message set). */
static int get_all(struct s3_adapter *s, const char *rel, const struct s3_objects *o,
                   const char *dir, int *gone)
{
    struct s3_obj *v = xp_calloc(o->n ? o->n : 1, sizeof(*v));
    struct xp_buf r = XP_BUF_INIT, key = XP_BUF_INIT;
    int rc = 0;
    size_t n = 0;
    for (size_t i = 0; i < o->n && !rc; i++) {
        const char *name = o->names.ptr + o->v[i].off;
        if (!xp_relpath_safe(name)) {
            rc = xp_error_set(XP_EINVALID, "object '%s/%s' is not a layout path", rel, name);
            break;
        }
        char *path = xp_path_join(dir, name);
        char *slash = strrchr(path, '/');
        *slash = '\0';
        rc = xp_mkdir_p(path);
        *slash = '/';
        xp_buf_reset(&r);
        xp_buf_printf(&r, "%s/%s", rel, name);
        s3_key(&key, s, r.ptr);
        v[n++] = (struct s3_obj){xp_buf_detach(&key), path, o->v[i].size};
    }
    size_t bad = 0;
    if (!rc)
        rc = s3_get_files(s, v, n, &bad);
    *gone = rc == XP_ENOTFOUND;
    if (*gone)
        xp_error_set(rc, "object '%s' vanished while being read", v[bad].key);
    for (size_t i = 0; i < n; i++) {
        free((char *)v[i].key);
        free((char *)v[i].path);
    }
    free(v);
    xp_buf_release(&r);
    xp_buf_release(&key);
    return rc;
}

int s3_fetch_experiment(struct s3_adapter *s, const char *rel, const char *dir)
{
    struct s3_objects *o = s3_objects_new();
    int from_listing = listed_under(s, rel, o) > 0, gone = 0, rc;
    for (int pass = 0;; pass++) {
        if (!from_listing) {
            struct xp_buf r = XP_BUF_INIT, key = XP_BUF_INIT;
            xp_buf_printf(&r, "%s/", rel);
            s3_key(&key, s, r.ptr);
            struct collect c = {o, key.len};
            rc = s3_list(s, key.ptr, NULL, on_object, &c);
            xp_buf_release(&r);
            xp_buf_release(&key);
            if (rc)
                break;
        }
        rc = get_all(s, rel, o, dir, &gone);
        /* what the layout's listing saw may be gone by now (an overwrite):
         * once more, from a listing of the experiment alone */
        if (!(rc && gone && from_listing && pass == 0))
            break;
        from_listing = 0;
        s3_objects_free(o);
        o = s3_objects_new();
        xp_rm_rf(dir);
        xp_error_clear();
    }
    s3_objects_free(o);
    return rc;
}
