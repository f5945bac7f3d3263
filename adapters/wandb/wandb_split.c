/* Split series (wandb_split.h): field names, their spool encoding, which
 * fields get a history key, and the map file xport/fields.json. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/json.h"
#include "wandb_run.h"
#include "wandb_split.h"

#define HEADER_KEY "xportFields"

void wsplit_init(struct wsplit *w, const char *name, enum xp_series_kind kind)
{
    memset(w, 0, sizeof(*w));
    w->name = xp_strdup(name);
    w->kind = kind;
    w->index = json_object_new_object();
}

void wsplit_release(struct wsplit *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nfields; i++)
        free(w->fields[i]);
    free(w->fields);
    free(w->keep);
    free(w->name);
    json_object_put(w->index);
    wsteps_release(&w->steps);
    memset(w, 0, sizeof(*w));
}

size_t wsplit_field(struct wsplit *w, const char *name)
{
    struct json_object *at;
    if (json_object_object_get_ex(w->index, name, &at))
        return (size_t)json_object_get_int64(at);
    if (w->nfields == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 8;
        w->fields = xp_realloc(w->fields, w->cap * sizeof(*w->fields));
        w->keep = xp_realloc(w->keep, w->cap);
    }
    w->fields[w->nfields] = xp_strdup(name);
    w->keep[w->nfields] = 1;
    json_object_object_add(w->index, name,
                           json_object_new_int64((int64_t)w->nfields));
    return w->nfields++;
}

void wsplit_key(struct xp_buf *out, const char *series, const char *field)
{
    xp_buf_puts(out, series);
    xp_buf_putc(out, '/');
    xp_buf_puts(out, field);
}

/* ---- the spool encoding --------------------------------------------------- */

/* Each field is its position and the length of its value, host order, then
 * the value as the point encoding holds one (wpt_encode with only
 * WPT_VALUE), so that values are kept exactly as points keep theirs. */
void wsplit_put(struct xp_buf *b, size_t idx, const struct xp_value *v)
{
    struct xp_value fv[WPT_NKEYS];
    int has[WPT_NKEYS] = {0};
    memset(fv, 0, sizeof(fv));
    fv[WPT_VALUE] = *v;
    has[WPT_VALUE] = 1;
    uint32_t hdr[2] = {(uint32_t)idx, 0};
    size_t at = b->len;
    xp_buf_put(b, hdr, sizeof(hdr));
    wpt_encode(b, fv, has);
    hdr[1] = (uint32_t)(b->len - at - sizeof(hdr));
    memcpy(b->ptr + at, hdr, sizeof(hdr));
}

int wsplit_get(const unsigned char **p, const unsigned char *end, size_t *idx,
               struct xp_value *v, struct xp_arena *arena)
{
    uint32_t hdr[2];
    if (*p == end)
        return 0;
    if ((size_t)(end - *p) < sizeof(hdr))
        goto bad;
    memcpy(hdr, *p, sizeof(hdr));
    *p += sizeof(hdr);
    if (hdr[1] > (size_t)(end - *p))
        goto bad;
    struct xp_point pt;
    struct xp_field f[WPT_NKEYS];
    int rc = wpt_decode(&pt, f, *p, hdr[1], arena);
    if (rc)
        return rc;
    if (pt.nfields != 1 || strcmp(f[0].key, "value"))
        goto bad;
    *p += hdr[1];
    *idx = hdr[0];
    *v = f[0].v;
    return 1;
bad:
    return xp_error_set(XP_EIO, "damaged point fields in the spool");
}

/* ---- which fields get a key ------------------------------------------------ */

void wsplit_resolve(struct wsplit *const *v, size_t n,
                    struct json_object *taken[2], wsplit_drop_fn drop,
                    void *payload)
{
    struct xp_buf key = XP_BUF_INIT, why = XP_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        struct wsplit *w = v[i];
        struct json_object *map = taken[w->kind == XP_SERIES_SYSTEM];
        for (size_t k = 0; k < w->nfields; k++) {
            const char *f = w->fields[k];
            struct json_object *owner;
            xp_buf_reset(&key);
            xp_buf_reset(&why);
            wsplit_key(&key, w->name, f);
            if (!*f) {
                xp_buf_puts(&why, "a field needs a name to have a W&B key");
            } else if (json_object_object_get_ex(map, key.ptr, &owner)) {
                /* a series holds its name with no owner, a field its own */
                if (owner)
                    xp_buf_printf(&why, "its W&B key '%s' is also the key of "
                                        "%s", key.ptr,
                                  json_object_get_string(owner));
                else
                    xp_buf_printf(&why, "its W&B key '%s' is also a series "
                                        "of its own", key.ptr);
            } else {
                struct xp_buf who = XP_BUF_INIT;
                xp_buf_printf(&who, "field '%s' of series '%s'", f, w->name);
                json_object_object_add(map, key.ptr,
                                       json_object_new_string(who.ptr));
                xp_buf_release(&who);
                w->keep[k] = 1;
                continue;
            }
            w->keep[k] = 0;
            drop(payload, w, f, why.ptr);
        }
    }
    xp_buf_release(&key);
    xp_buf_release(&why);
}

/* ---- the run file ----------------------------------------------------------- */

int wsplit_file_write(const char *path, struct wsplit *const *v, size_t n)
{
    struct json_object *doc = json_object_new_object();
    struct json_object *list = json_object_new_array();
    json_object_object_add(doc, HEADER_KEY, json_object_new_int(1));
    json_object_object_add(doc, "series", list);
    for (size_t i = 0; i < n; i++) {
        const struct wsplit *w = v[i];
        struct json_object *fields = json_object_new_array();
        for (size_t k = 0; k < w->nfields; k++)
            if (w->keep[k])
                json_object_array_add(fields,
                                      json_object_new_string(w->fields[k]));
        int steps = w->steps.all || w->steps.n;
        if (!json_object_array_length(fields) && !steps && !w->float_steps) {
            json_object_put(fields);
            continue;
        }
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "name", json_object_new_string(w->name));
        json_object_object_add(e, "kind",
                               json_object_new_string(
                                   w->kind == XP_SERIES_SYSTEM ? "system"
                                                               : "metric"));
        json_object_object_add(e, "value",
                               json_object_new_boolean(w->has_value));
        json_object_object_add(e, "fields", fields);
        if (steps)
            json_object_object_add(e, "stepless", wsteps_to_json(&w->steps));
        if (w->float_steps)
            json_object_object_add(e, "float_steps", json_object_new_boolean(1));
        json_object_array_add(list, e);
    }
    int rc = xp_json_write_file(path, doc);
    json_object_put(doc);
    return rc ? xp_error_wrap(rc, "the map of split series") : 0;
}

/* One entry of the map into w: 0, or -1 when it is not one. */
static int read_entry(struct wsplit *w, struct json_object *e)
{
    const char *name = xp_json_str(e, "name");
    const char *kind = xp_json_str(e, "kind");
    struct json_object *fields = xp_json_get(e, "fields");
    struct json_object *value = xp_json_get(e, "value");
    struct json_object *steps = xp_json_get(e, "stepless");
    struct json_object *fsteps = xp_json_get(e, "float_steps");
    if (!name || !fields || !json_object_is_type(fields, json_type_array) ||
        (fsteps && !json_object_is_type(fsteps, json_type_boolean)) ||
        (kind && strcmp(kind, "metric") && strcmp(kind, "system")) ||
        (value && !json_object_is_type(value, json_type_boolean)))
        return -1;
    wsplit_init(w, name, kind && !strcmp(kind, "system") ? XP_SERIES_SYSTEM
                                                         : XP_SERIES_METRIC);
    w->has_value = !value || json_object_get_boolean(value);
    w->float_steps = fsteps && json_object_get_boolean(fsteps);
    size_t n = json_object_array_length(fields);
    for (size_t k = 0; k < n; k++) {
        struct json_object *f = json_object_array_get_idx(fields, k);
        if (!json_object_is_type(f, json_type_string))
            return -1;
        wsplit_field(w, json_object_get_string(f));
    }
    return steps ? wsteps_from_json(&w->steps, steps) : 0;
}

int wsplit_file_read(struct wsplit **out, size_t *n, const char *path,
                     const char *what)
{
    *out = NULL;
    *n = 0;
    struct json_object *doc = NULL;
    int rc = xp_json_read_file(&doc, path);
    if (rc == XP_EINVALID) {
        xp_error_clear();
        return xp_error_set(XP_EINVALID, "'%s' is not JSON", what);
    }
    if (rc)
        return rc;
    struct json_object *ver = xp_json_get(doc, HEADER_KEY);
    struct json_object *list = xp_json_get(doc, "series");
    if (!ver || !json_object_is_type(ver, json_type_int) || !list ||
        !json_object_is_type(list, json_type_array)) {
        json_object_put(doc);
        return xp_error_set(XP_EINVALID, "'%s' is not a map of split series",
                            what);
    }
    if (json_object_get_int64(ver) != 1) {
        rc = xp_error_set(XP_EINVALID,
                          "'%s' is a map of split series of version %lld; "
                          "this xport reads version 1",
                          what, (long long)json_object_get_int64(ver));
        json_object_put(doc);
        return rc;
    }
    size_t len = json_object_array_length(list);
    struct wsplit *v = xp_calloc(len + 1, sizeof(*v));
    size_t i = 0;
    for (; i < len; i++)
        if (read_entry(&v[i], json_object_array_get_idx(list, i)))
            break;
    json_object_put(doc);
    if (i < len) {
        for (size_t k = 0; k <= i; k++)
            wsplit_release(&v[k]);
        free(v);
        return xp_error_set(XP_EINVALID,
                            "'%s': entry %zu is not a split series {\"name\", "
                            "\"kind\", \"value\", \"fields\", "
                            "\"stepless\", \"float_steps\"}",
                            what, i);
    }
    *out = v;
    *n = len;
    return 0;
}
