/* Location comparison (include/xport/verify.h). Each experiment is reduced
 * to a map item -> sha256 of a canonical encoding, so memory does not grow
 * with series length; a series whose digests differ is read again on both
 * sides to name the first point that differs. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/hash.h"
#include "xport/json.h"
#include "xport/walk.h"
#include "xport/stream.h"
#include "xport/sys/adapter.h"
#include "xport/verify.h"

struct vref {
    char *ws, *proj, *name, *key;
    const char *pws, *pproj; /* the names it pairs by (borrowed) */
};

struct vlist {
    struct vref *v;
    size_t n, cap;
};

static int collect(const struct xp_experiment_ref *r, void *payload)
{
    struct vlist *l = payload;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 32;
        l->v = xp_realloc(l->v, l->cap * sizeof(*l->v));
    }
    struct vref *x = &l->v[l->n++];
    x->ws = xp_strdup(r->workspace);
    x->proj = xp_strdup(r->project);
    x->name = xp_strdup(r->name);
    x->key = xp_strdup(r->key);
    x->pws = x->ws;
    x->pproj = x->proj;
    return 0;
}

static int vref_cmp(const void *a, const void *b)
{
    const struct vref *x = a, *y = b;
    int c = strcmp(x->pws, y->pws);
    if (!c)
        c = strcmp(x->pproj, y->pproj);
    if (!c)
        c = strcmp(x->name, y->name);
    return c;
}

static void vlist_free(struct vlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].ws);
        free(l->v[i].proj);
        free(l->v[i].name);
        free(l->v[i].key);
    }
    free(l->v);
}

/* ---- canonical encodings ---- */

static void put_u64le(struct xp_buf *b, uint64_t v)
{
    unsigned char t[8];
    for (int i = 0; i < 8; i++)
        t[i] = (unsigned char)(v >> (8 * i));
    xp_buf_put(b, t, 8);
}

/* Point in a canonical binary form: index, field count, then fields sorted by key, each
 * as key NUL, a type byte and the value (floats by their bits, every NaN
 * alike: no source keeps NaN payloads; strings and JSON length-prefixed).
 * Binary, not text: this runs for every point of both sides and was half
 * of verify's time as printf output. */
static void canon_point(struct xp_buf *b, const struct xp_point *p, int with_index)
{
    xp_buf_reset(b);
    if (with_index)
        put_u64le(b, (uint64_t)p->index);
    put_u64le(b, p->nfields); /* points follow each other unambiguously */
    const struct xp_field *stack[64];
    const struct xp_field **f = p->nfields <= 64 ? stack
                                                 : xp_malloc(p->nfields * sizeof(*f));
    /* insertion sort: a handful of fields, usually in order already */
    for (size_t i = 0; i < p->nfields; i++) {
        size_t j = i;
        while (j > 0 && strcmp(f[j - 1]->key, p->fields[i].key) > 0) {
            f[j] = f[j - 1];
            j--;
        }
        f[j] = &p->fields[i];
    }
    for (size_t i = 0; i < p->nfields; i++) {
        const struct xp_value *v = &f[i]->v;
        xp_buf_put(b, f[i]->key, strlen(f[i]->key) + 1);
        xp_buf_putc(b, (char)('0' + v->type));
        switch (v->type) {
        case XP_V_NULL: break;
        case XP_V_BOOL: xp_buf_putc(b, v->u.b ? 't' : 'f'); break;
        case XP_V_INT: put_u64le(b, (uint64_t)v->u.i); break;
        case XP_V_UINT: put_u64le(b, v->u.u); break;
        case XP_V_FLOAT: {
            double d = isnan(v->u.d) ? NAN : v->u.d;
            uint64_t bits;
            memcpy(&bits, &d, 8);
            put_u64le(b, bits);
            break;
        }
        case XP_V_STRING:
            put_u64le(b, v->u.s.len);
            xp_buf_put(b, v->u.s.ptr, v->u.s.len);
            break;
        case XP_V_JSON: {
            struct json_object *o = xp_value_to_json(v);
            size_t at = b->len;
            put_u64le(b, 0);
            xp_json_put_obj(b, o, 1);
            json_object_put(o);
            uint64_t n = b->len - at - 8;
            for (int k = 0; k < 8; k++)
                b->ptr[at + (size_t)k] = (char)(n >> (8 * k));
            break;
        }
        }
    }
    if (f != stack)
        free(f);
}

struct item {
    struct xp_sha256 h;
    int64_t count;
};

static struct item *item_get(struct json_object *map, const char *key)
{
    struct json_object *o;
    if (json_object_object_get_ex(map, key, &o))
        return (struct item *)(uintptr_t)json_object_get_int64(o);
    struct item *it = xp_calloc(1, sizeof(*it));
    xp_sha256_init(&it->h);
    json_object_object_add(map, key, json_object_new_int64((int64_t)(uintptr_t)it));
    return it;
}

static void map_free(struct json_object *map)
{
    if (!map)
        return;
    json_object_object_foreach(map, k, v) {
        (void)k;
        free((struct item *)(uintptr_t)json_object_get_int64(v));
    }
    json_object_put(map);
}

static void hash_str(struct xp_sha256 *h, const char *s)
{
    xp_sha256_update(h, s ? s : "\x00null", s ? strlen(s) + 1 : 6);
}

/* Hashes of one experiment's items, fed a record at a time. */
struct digest {
    struct json_object *map; /* item key -> struct item */
    struct item *cur;        /* the open series */
    struct xp_buf b, key;
    struct xp_ctx *ctx;
};

static void digest_meta(struct digest *d, const struct xp_experiment_meta *m)
{
    struct item *it = item_get(d->map, "experiment");
    hash_str(&it->h, m->description);
    hash_str(&it->h, m->status);
    hash_str(&it->h, m->folder);
    for (size_t i = 0; i < m->ntags; i++)
        hash_str(&it->h, m->tags[i]);
    xp_buf_reset(&d->b);
    if (m->metadata)
        xp_json_put_obj(&d->b, m->metadata, 1);
    hash_str(&it->h, d->b.ptr);
    it->count = 1;
}

static void digest_logs(struct digest *d, const struct xp_log_entry *v, size_t n)
{
    struct item *it = item_get(d->map, "logs");
    for (size_t i = 0; i < n; i++) {
        const struct xp_log_entry *e = &v[i];
        xp_buf_reset(&d->b);
        xp_buf_printf(&d->b, "%" PRId64, e->seq);
        hash_str(&it->h, d->b.ptr);
        hash_str(&it->h, e->timestamp);
        hash_str(&it->h, e->level);
        hash_str(&it->h, e->stream);
        xp_sha256_update(&it->h, e->message, e->message_len);
        xp_buf_reset(&d->b);
        if (e->metadata)
            xp_json_put_obj(&d->b, e->metadata, 1);
        hash_str(&it->h, d->b.ptr);
    }
    it->count += (int64_t)n;
}

static int digest_record(struct digest *d, const struct xp_record *rec)
{
    int rc = 0;
    struct item *it;
    switch (rec->kind) {
    case XP_REC_EXPERIMENT: digest_meta(d, &rec->u.exp); break;
    case XP_REC_DOCUMENT:
        it = item_get(d->map, rec->u.doc.kind == XP_DOC_PARAMETERS ? "parameters"
                              : rec->u.doc.kind == XP_DOC_SUMMARY  ? "summary"
                                                                   : "others");
        xp_buf_reset(&d->b);
        rc = xp_json_put_obj(&d->b, rec->u.doc.doc, 1);
        xp_sha256_update(&it->h, d->b.ptr, d->b.len);
        it->count = 1;
        break;
    case XP_REC_SERIES_BEGIN:
        xp_item_key(&d->key, rec);
        d->cur = item_get(d->map, d->key.ptr);
        break;
    case XP_REC_POINTS:
        for (size_t i = 0; i < rec->u.points.n; i++) {
            canon_point(&d->b, &rec->u.points.v[i], 1);
            xp_sha256_update(&d->cur->h, d->b.ptr, d->b.len);
        }
        d->cur->count += (int64_t)rec->u.points.n;
        break;
    case XP_REC_SERIES_END: d->cur = NULL; break;
    case XP_REC_LOGS: digest_logs(d, rec->u.logs.v, rec->u.logs.n); break;
    case XP_REC_FILE: {
        xp_item_key(&d->key, rec);
        it = item_get(d->map, d->key.ptr);
        int64_t n = 0;
        rc = xp_stream_pump(rec->u.file.body, NULL, &it->h, &n, d->ctx);
        it->count += n;
        break;
    }
    case XP_REC_END: break;
    }
    return rc;
}

static int digest_experiment(struct json_object **out, struct xp_adapter *a,
                             const struct vref *r, unsigned resources, int readahead)
{
    struct xp_experiment_ref ref = {r->ws, r->proj, r->name, r->key, -1};
    struct xp_read_opts ro = {resources, NULL};
    struct xp_walk w; /* decoding on a second thread while this one hashes */
    struct digest d = {json_object_new_object(), NULL, XP_BUF_INIT, XP_BUF_INIT, a->ctx};
    const struct xp_record *rec;
    int rc = xp_walk_open(&w, a, &ref, &ro, readahead);
    while (!rc && (rc = xp_walk_next(&w, &rec)) == 0)
        rc = digest_record(&d, rec);
    if (rc == XP_ITEROVER)
        rc = 0;
    xp_walk_close(&w);
    xp_buf_release(&d.b);
    xp_buf_release(&d.key);
    if (rc) {
        map_free(d.map);
        return rc;
    }
    *out = d.map;
    return 0;
}

/* ---- first differing point of a series ---- */

struct pcursor {
    struct xp_walk w;
    const struct xp_record *rec;
    size_t i;
    int done;
};

static int pc_next(struct pcursor *c, const struct xp_point **out)
{
    while (!c->done) {
        if (c->rec && c->rec->kind == XP_REC_POINTS && c->i < c->rec->u.points.n) {
            *out = &c->rec->u.points.v[c->i++];
            return 0;
        }
        int rc = xp_walk_next(&c->w, &c->rec);
        c->i = 0;
        if (rc == XP_ITEROVER) {
            c->done = 1;
            break;
        }
        if (rc)
            return rc;
    }
    *out = NULL;
    return 0;
}

static void point_text(struct xp_buf *b, const struct xp_point *p)
{
    xp_buf_reset(b);
    if (!p) {
        xp_buf_puts(b, "(none)");
        return;
    }
    xp_buf_printf(b, "index %" PRId64 " {", p->index);
    for (size_t i = 0; i < p->nfields; i++) {
        xp_buf_printf(b, "%s%s: ", i ? ", " : "", p->fields[i].key);
        xp_json_put_value(b, &p->fields[i].v, NULL);
    }
    xp_buf_putc(b, '}');
}

static void locate_point_diff(struct xp_adapter *a, const struct vref *ra,
                              struct xp_adapter *b, const struct vref *rb,
                              const char *series, struct xp_buf *msg)
{
    struct xp_read_opts ro = {XP_RES_METRICS | XP_RES_SYSTEM, series};
    struct xp_experiment_ref ea = {ra->ws, ra->proj, ra->name, ra->key, -1};
    struct xp_experiment_ref eb = {rb->ws, rb->proj, rb->name, rb->key, -1};
    struct pcursor ca = {0}, cb = {0};
    struct xp_buf x = XP_BUF_INIT, y = XP_BUF_INIT, tx = XP_BUF_INIT, ty = XP_BUF_INIT;
    if (xp_walk_open(&ca.w, a, &ea, &ro, 0) || xp_walk_open(&cb.w, b, &eb, &ro, 0)) {
        xp_buf_puts(msg, " (could not re-read to locate the difference)");
        goto done;
    }
    for (int64_t n = 0;; n++) {
        const struct xp_point *pa, *pb;
        if (pc_next(&ca, &pa) || pc_next(&cb, &pb)) {
            xp_buf_puts(msg, " (read error while locating the difference)");
            break;
        }
        if (!pa && !pb)
            break;
        if (pa)
            canon_point(&x, pa, 1);
        if (pb)
            canon_point(&y, pb, 1);
        if (!pa || !pb || x.len != y.len || memcmp(x.ptr, y.ptr, x.len)) {
            point_text(&tx, pa);
            point_text(&ty, pb);
            xp_buf_printf(msg, ": point %" PRId64 " differs: %s vs %s", n, tx.ptr, ty.ptr);
            break;
        }
    }
done:
    xp_walk_close(&ca.w);
    xp_walk_close(&cb.w);
    xp_buf_release(&x);
    xp_buf_release(&y);
    xp_buf_release(&tx);
    xp_buf_release(&ty);
}

static void emit(const struct xp_verify_opts *o, long *ndiff, struct xp_buf *line)
{
    (*ndiff)++;
    if (o->diff)
        o->diff(o->payload, line->ptr);
    xp_buf_reset(line);
}

static int compare_maps(struct xp_adapter *a, const struct vref *ra,
                        struct xp_adapter *b, const struct vref *rb,
                        struct json_object *ma, struct json_object *mb,
                        const struct xp_verify_opts *o, long *ndiff)
{
    struct xp_buf line = XP_BUF_INIT;
    unsigned char da[32], db[32];
    json_object_object_foreach(ma, k, va) {
        struct item *ia = (struct item *)(uintptr_t)json_object_get_int64(va);
        struct json_object *vb;
        if (!json_object_object_get_ex(mb, k, &vb)) {
            xp_buf_printf(&line, "%s/%s/%s: %s: only in A", ra->ws, ra->proj, ra->name, k);
            emit(o, ndiff, &line);
            continue;
        }
        struct item *ib = (struct item *)(uintptr_t)json_object_get_int64(vb);
        struct xp_sha256 ha = ia->h, hb = ib->h;
        xp_sha256_final(&ha, da);
        xp_sha256_final(&hb, db);
        if (ia->count == ib->count && !memcmp(da, db, 32))
            continue;
        xp_buf_printf(&line, "%s/%s/%s: %s differs", ra->ws, ra->proj, ra->name, k);
        if (ia->count != ib->count)
            xp_buf_printf(&line, " (%" PRId64 " vs %" PRId64 " %s)", ia->count,
                          ib->count, !strncmp(k, "files/", 6) || !strncmp(k, "artifacts/", 10)
                                         ? "bytes" : "items");
        const char *slash = strchr(k, '/');
        if (slash && !o->quick && strncmp(k, "files/", 6) && strncmp(k, "artifacts/", 10))
            locate_point_diff(a, ra, b, rb, slash + 1, &line);
        emit(o, ndiff, &line);
    }
    json_object_object_foreach(mb, k2, v2) {
        (void)v2;
        if (!json_object_object_get_ex(ma, k2, NULL)) {
            xp_buf_printf(&line, "%s/%s/%s: %s: only in B", rb->ws, rb->proj, rb->name, k2);
            emit(o, ndiff, &line);
        }
    }
    xp_buf_release(&line);
    return 0;
}

int xp_verify_experiment(struct xp_adapter *a, const struct xp_experiment_ref *ra,
                         struct xp_adapter *b, const struct xp_experiment_ref *rb,
                         const struct xp_verify_opts *o, long *ndiff)
{
    struct vref va = {(char *)ra->workspace, (char *)ra->project, (char *)ra->name,
                      (char *)ra->key};
    struct vref vb = {(char *)rb->workspace, (char *)rb->project, (char *)rb->name,
                      (char *)rb->key};
    unsigned res = o->resources ? o->resources : XP_RES_ALL;
    struct json_object *ma = NULL, *mb = NULL;
    *ndiff = 0;
    int rc = digest_experiment(&ma, a, &va, res, !o->no_readahead);
    if (!rc)
        rc = digest_experiment(&mb, b, &vb, res, !o->no_readahead);
    if (!rc)
        compare_maps(a, &va, b, &vb, ma, mb, o, ndiff);
    map_free(ma);
    map_free(mb);
    if (!rc && *ndiff)
        rc = xp_error_set(XP_EINVALID, "%ld difference(s)", *ndiff);
    return rc;
}

int xp_verify(struct xp_adapter *a, struct xp_adapter *b,
              const struct xp_verify_opts *o, long *ndiff)
{
    struct vlist la = {0}, lb = {0};
    struct xp_buf line = XP_BUF_INIT;
    unsigned res = o->resources ? o->resources : XP_RES_ALL;
    *ndiff = 0;
    int rc = xp_adapter_list(a, collect, &la);
    if (!rc)
        rc = xp_adapter_list(b, collect, &lb);
    if (rc)
        goto done;
    for (size_t k = 0; k < la.n; k++) {
        if (o->b_workspace)
            la.v[k].pws = o->b_workspace;
        if (o->b_project)
            la.v[k].pproj = o->b_project;
    }
    if (la.n) /* an empty side has no array at all */
        qsort(la.v, la.n, sizeof(*la.v), vref_cmp);
    if (lb.n)
        qsort(lb.v, lb.n, sizeof(*lb.v), vref_cmp);
    size_t i = 0, j = 0;
    while (i < la.n || j < lb.n) {
        int c = i >= la.n ? 1 : j >= lb.n ? -1 : vref_cmp(&la.v[i], &lb.v[j]);
        if (c < 0) {
            xp_buf_printf(&line, "%s/%s/%s: only in A", la.v[i].ws, la.v[i].proj, la.v[i].name);
            emit(o, ndiff, &line);
            i++;
            continue;
        }
        if (c > 0) {
            xp_buf_printf(&line, "%s/%s/%s: only in B", lb.v[j].ws, lb.v[j].proj, lb.v[j].name);
            emit(o, ndiff, &line);
            j++;
            continue;
        }
        struct json_object *ma = NULL, *mb = NULL;
        rc = digest_experiment(&ma, a, &la.v[i], res, !o->no_readahead);
        if (!rc)
            rc = digest_experiment(&mb, b, &lb.v[j], res, !o->no_readahead);
        if (!rc)
            compare_maps(a, &la.v[i], b, &lb.v[j], ma, mb, o, ndiff);
        map_free(ma);
        map_free(mb);
        if (rc)
            goto done;
        i++;
        j++;
    }
    if (*ndiff)
        rc = xp_error_set(XP_EINVALID, "%ld difference(s)", *ndiff);
done:
    vlist_free(&la);
    vlist_free(&lb);
    xp_buf_release(&line);
    return rc;
}
