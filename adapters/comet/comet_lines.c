/* Metric lines spooled per metric in one pass and read back metric by
 * metric as series records, for the readers whose file holds every metric's
 * points interleaved: cometx's metrics.jsonl and comet-offline's
 * messages.json (comet_int.h). Memory stays within the spool's budget
 * however long the series are. */
#include <string.h>

#include <json-c/json.h>

#include "comet_int.h"
#include "xport/error.h"

void comet_lines_release(struct comet_lines *c)
{
    if (c->it_open)
        xp_spool_iter_close(&c->it);
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].name);
    free(c->v);
    json_object_put(c->index);
    xp_spool_free(c->spool);
    memset(c, 0, sizeof(*c));
}

int comet_lines_add(struct comet_lines *c, const char *name, enum xp_series_kind kind,
                    size_t lineno, const char *line, size_t len)
{
    int rc = 0;
    if (!c->spool && (rc = xp_spool_new(&c->spool, 0)))
        return rc;
    if (!c->index)
        c->index = json_object_new_object();
    size_t stream;
    struct json_object *at;
    if (json_object_object_get_ex(c->index, name, &at)) {
        stream = c->v[json_object_get_int64(at)].stream;
    } else {
        if ((rc = xp_spool_add(c->spool, &stream)))
            return rc;
        c->v = xp_realloc(c->v, (c->n + 1) * sizeof(*c->v));
        c->v[c->n] = (struct comet_line_series){xp_strdup(name), kind, stream};
        json_object_object_add(c->index, name, json_object_new_int64((int64_t)c->n++));
    }
    uint64_t no = lineno;
    void *rec;
    if (!(rc = xp_spool_reserve(c->spool, stream, sizeof(no) + len, &rec))) {
        memcpy(rec, &no, sizeof(no));
        memcpy((char *)rec + sizeof(no), line, len);
        rc = xp_spool_commit(c->spool, stream);
    }
    return rc ? xp_error_wrap(rc, "spooling metric '%s'", name) : 0;
}

/* The next batch of the current metric's points; each line is copied into
 * the arena, where its points' fields point until the next batch. */
static int next_points(struct comet_lines *c, struct xp_record *rec, comet_line_scan scan,
                       void *payload, struct xp_arena *arena, struct xp_point *pts,
                       struct xp_field *fields, size_t max, const char *where)
{
    const struct comet_line_series *s = &c->v[c->si];
    xp_arena_reset(arena);
    size_t n = 0;
    struct xp_field *f = fields;
    while (n < max) {
        const void *data;
        size_t len;
        int rc = xp_spool_iter_next(&c->it, &data, &len);
        if (rc == XP_ITEROVER)
            break;
        uint64_t lineno = 0;
        if (!rc && len < sizeof(lineno))
            rc = xp_error_set(XP_EIO, "a spooled line is cut short");
        if (rc)
            return xp_error_wrap(rc, "metric '%s' in '%s'", s->name, where);
        memcpy(&lineno, data, sizeof(lineno));
        len -= sizeof(lineno);
        char *line = xp_arena_alloc(arena, len + 1);
        memcpy(line, (const char *)data + sizeof(lineno), len);
        line[len] = '\0';
        size_t nf;
        const char *name;
        enum xp_series_kind kind;
        rc = scan(payload, line, len, (size_t)lineno, arena, f, &nf);
        if (!rc)
            rc = comet_point_from_fields(&pts[n], f, &nf, &name, &kind, c->pi);
        if (rc)
            return xp_error_wrap(rc < 0 ? rc : XP_EINVALID, "metric '%s' in '%s'", s->name,
                                 where);
        f += nf;
        n++;
        c->pi++;
    }
    if (n == 0)
        return XP_ITEROVER;
    rec->kind = XP_REC_POINTS;
    rec->u.points.v = pts;
    rec->u.points.n = n;
    return 0;
}

int comet_lines_next(struct comet_lines *c, struct xp_record *rec, comet_line_scan scan,
                     void *payload, struct xp_arena *arena, struct xp_point *pts,
                     struct xp_field *fields, size_t max, const char *where)
{
    if (c->si == c->n)
        return XP_ITEROVER;
    const struct comet_line_series *s = &c->v[c->si];
    memset(rec, 0, sizeof(*rec));
    if (!c->it_open) {
        int rc = xp_spool_iter_open(&c->it, c->spool, s->stream);
        if (rc)
            return xp_error_wrap(rc, "metric '%s' in '%s'", s->name, where);
        c->it_open = 1;
        c->pi = 0;
        rec->kind = XP_REC_SERIES_BEGIN;
        rec->u.series.name = s->name;
        rec->u.series.kind = s->kind;
        rec->u.series.expected_points = (int64_t)xp_spool_count(c->spool, s->stream);
        return 0;
    }
    int rc = next_points(c, rec, scan, payload, arena, pts, fields, max, where);
    if (rc != XP_ITEROVER)
        return rc;
    xp_spool_iter_close(&c->it);
    c->it_open = 0;
    c->si++;
    memset(rec, 0, sizeof(*rec));
    rec->kind = XP_REC_SERIES_END;
    return 0;
}
