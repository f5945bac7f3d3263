/* xport's own run files on a W&B server (wandb_xfiles.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"
#include "xport/lines.h"
#include "xport/sysio.h"
#include "wandb_xfiles.h"

#define HEADER_KEY "xportTrack"

int wxf_is_others(const char *name)
{
    return name && !strcmp(name, WXF_OTHERS);
}

int wxf_is_fields(const char *name)
{
    return name && !strcmp(name, WXF_FIELDS);
}

int wxf_is_track(const char *name)
{
    size_t n = name ? strlen(name) : 0, p = strlen(WXF_TRACKS);
    return n > p + 6 && !strncmp(name, WXF_TRACKS, p) &&
           !strcmp(name + n - 6, ".jsonl") && !strchr(name + p, '/');
}

int wxf_track_file(struct xp_buf *out, const char *name)
{
    struct xp_buf enc = XP_BUF_INIT;
    int rc = xp_name_encode(&enc, name);
    if (!rc)
        xp_buf_printf(out, "%s%s.jsonl", WXF_TRACKS, enc.ptr);
    xp_buf_release(&enc);
    return rc ? xp_error_wrap(rc, "track name") : 0;
}

int wxf_others_write(const char *path, struct json_object *doc)
{
    int rc = xp_json_write_file(path, doc);
    return rc ? xp_error_wrap(rc, "the others document") : 0;
}

/* ---- writing ------------------------------------------------------------- */

int wxf_track_open(struct wxf_track_out *t, const char *path,
                   const struct xp_series_meta *m)
{
    memset(t, 0, sizeof(*t));
    xp_buf_init(&t->line);
    t->path = xp_strdup(path);
    t->name = xp_strdup(m->name);
    struct xp_buf *b = &t->line;
    xp_buf_puts(b, "{\"" HEADER_KEY "\":1,\"name\":");
    int rc = xp_json_put_str(b, m->name, strlen(m->name), "track name");
    if (!rc && m->description) {
        xp_buf_puts(b, ",\"description\":");
        rc = xp_json_put_str(b, m->description, strlen(m->description),
                             "track description");
    }
    if (!rc && m->metadata) {
        xp_buf_puts(b, ",\"metadata\":");
        rc = xp_json_put_obj(b, m->metadata, 0);
    }
    xp_buf_puts(b, "}\n");
    if (rc)
        return rc;
    t->fp = xp_sys_fopen(path, "wbe");
    if (!t->fp)
        return xp_error_set_os(XP_EIO, "cannot write '%s'", path);
    if (xp_sys_fwrite(t->fp, b->ptr, b->len) != 0)
        return xp_error_set_os(XP_EIO, "cannot write '%s'", path);
    return 0;
}

int wxf_track_put(struct wxf_track_out *t, const struct xp_point *v, size_t n)
{
    struct xp_buf *b = &t->line;
    for (size_t i = 0; i < n; i++) {
        const struct xp_point *p = &v[i];
        int rc = 0;
        xp_buf_reset(b);
        rc = xp_pointline_put(b, p);
        if (rc)
            return xp_error_wrap(rc, "track '%s' point %lld", t->name,
                                 (long long)p->index);
        if (xp_sys_fwrite(t->fp, b->ptr, b->len) != 0)
            return xp_error_set_os(XP_EIO, "cannot write '%s'", t->path);
    }
    return 0;
}

int wxf_track_close(struct wxf_track_out *t)
{
    if (!t->fp)
        return 0;
    int bad = fclose(t->fp) != 0;
    t->fp = NULL;
    return bad ? xp_error_set_os(XP_EIO, "cannot write '%s'", t->path) : 0;
}

void wxf_track_out_release(struct wxf_track_out *t)
{
    if (t->fp)
        fclose(t->fp);
    free(t->path);
    free(t->name);
    xp_buf_release(&t->line);
    memset(t, 0, sizeof(*t));
}

/* ---- reading ------------------------------------------------------------- */

/* The next line without its newline: 0, XP_ITEROVER at the end. */
static int next_line(struct wxf_track_in *t, size_t *len)
{
    errno = 0;
    ssize_t n = getline(&t->line, &t->linecap, t->fp);
    if (n < 0)
        return ferror(t->fp)
                   ? xp_error_set_os(XP_EIO, "cannot read '%s'", t->path)
                   : XP_ITEROVER;
    t->lineno++;
    if (n && t->line[n - 1] == '\n')
        t->line[--n] = '\0';
    *len = (size_t)n;
    return 0;
}

int wxf_track_in_open(struct wxf_track_in *t, const char *path,
                      const char *what)
{
    memset(t, 0, sizeof(*t));
    t->path = xp_strdup(what);
    t->fp = fopen(path, "rbe");
    if (!t->fp)
        return xp_error_set_os(XP_EIO, "cannot open '%s'", path);
    size_t len;
    int rc = next_line(t, &len);
    if (rc == XP_ITEROVER)
        return xp_error_set(XP_EINVALID, "'%s' is empty", what);
    if (rc)
        return rc;
    if (xp_json_parse(&t->header, t->line, len, what)) {
        xp_error_clear();
        return xp_error_set(XP_EINVALID, "'%s' has no track header", what);
    }
    t->name = xp_json_str(t->header, "name");
    struct json_object *ver = xp_json_get(t->header, HEADER_KEY);
    if (!t->name || !ver || !json_object_is_type(ver, json_type_int))
        return xp_error_set(XP_EINVALID, "'%s' has no track header", what);
    if (json_object_get_int64(ver) != 1)
        return xp_error_set(XP_EINVALID,
                            "'%s' is a track file of version %lld; this "
                            "xport reads version 1",
                            what, (long long)json_object_get_int64(ver));
    t->description = xp_json_str(t->header, "description");
    struct json_object *md = xp_json_get(t->header, "metadata");
    t->metadata = md && json_object_is_type(md, json_type_object) ? md : NULL;
    wbatch_init(&t->batch);
    t->held = xp_calloc(XP_POINTS_BATCH, sizeof(*t->held));
    return 0;
}

/* One point line scanned in place (a copy in the arena): 0, or non-zero
 * when json-c must read it. */
static int scan_point(struct wxf_track_in *t, size_t len, struct xp_point *p,
                      size_t used, size_t *nf)
{
    char *copy = xp_arena_strndup(&t->arena, t->line, len);
    wbatch_room(&t->batch, used, 256);
    return xp_pointline_scan(copy, len, p, t->batch.fields + used, 256, nf);
}

/* The same line through json-c, which also says what is wrong with it. */
static int parse_point(struct wxf_track_in *t, size_t len, struct xp_point *p,
                       size_t used, size_t *nf, size_t slot)
{
    struct json_object *o;
    int rc = xp_json_parse(&o, t->line, len, t->path);
    if (rc)
        return xp_error_wrap(rc, "line %ld", t->lineno);
    t->held[slot] = o;
    t->nheld = slot + 1;
    struct json_object *idx = xp_json_get(o, "index");
    struct json_object *data = xp_json_get(o, "data");
    if (!idx || !json_object_is_type(idx, json_type_int) || !data ||
        !json_object_is_type(data, json_type_object))
        return xp_error_set(XP_EINVALID,
                            "'%s' line %ld is not a point {\"index\", "
                            "\"data\"}",
                            t->path, t->lineno);
    p->index = json_object_get_int64(idx);
    p->created_at = xp_json_str(o, "createdAt");
    size_t k = 0;
    wbatch_room(&t->batch, used, (size_t)json_object_object_length(data));
    struct xp_field *f = t->batch.fields + used;
    json_object_object_foreach(data, key, v) {
        f[k].key = key;
        if ((rc = xp_value_from_json(&f[k].v, v, &t->arena)))
            return rc;
        k++;
    }
    *nf = k;
    return 0;
}

static void release_batch(struct wxf_track_in *t)
{
    for (size_t i = 0; i < t->nheld; i++) {
        json_object_put(t->held[i]);
        t->held[i] = NULL;
    }
    t->nheld = 0;
    xp_arena_reset(&t->arena);
}

int wxf_track_in_next(struct wxf_track_in *t, const struct xp_point **v,
                      size_t *n)
{
    release_batch(t);
    size_t np = 0, used = 0;
    while (np < XP_POINTS_BATCH) {
        size_t len, nf = 0;
        int rc = next_line(t, &len);
        if (rc == XP_ITEROVER)
            break;
        if (rc)
            return rc;
        if (!len)
            continue;
        struct xp_point *p = &t->batch.pts[np];
        memset(p, 0, sizeof(*p));
        if (scan_point(t, len, p, used, &nf) &&
            (rc = parse_point(t, len, p, used, &nf, np)))
            return rc;
        t->batch.nf[np++] = nf;
        used += nf;
    }
    if (!np)
        return XP_ITEROVER;
    wbatch_finish(&t->batch, np);
    *v = t->batch.pts;
    *n = np;
    return 0;
}

void wxf_track_in_release(struct wxf_track_in *t)
{
    if (t->held)
        release_batch(t);
    if (t->fp)
        fclose(t->fp);
    json_object_put(t->header);
    free(t->path);
    free(t->line);
    wbatch_release(&t->batch);
    free(t->held);
    xp_arena_release(&t->arena);
    memset(t, 0, sizeof(*t));
}
