/* Reading an experiment's series from its directory: listing the metric,
 * track and system series folders (ml-dash nests metric names as paths),
 * each one's metadata, and its points in batches, scanned in place on the
 * fast path and parsed with json-c otherwise. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "layout_read.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/jscan.h"
#include "xport/json.h"
#include "xport/lines.h"
#include "xport/numparse.h"

/* ---- series ---- */

/* The series folders below base. ml-dash names a metric's folder by joining
 * its name into the path, so in its stores "train/loss" is
 * metrics/train/loss (below metric "train", if there is one): there the
 * search goes on into subfolders, the name being the metadata's or else
 * the relative path. */
static void add_series_at(struct layout_reader *r, enum xp_series_kind kind,
                          const char *base, const char *rel, size_t *cap, int depth)
{
    char **names;
    size_t n;
    if (lfs_list_dir(r->la, &names, &n, base)) {
        xp_error_clear();
        return;
    }
    int nest = r->la->flavor != LOCAL_XPORT && kind == XP_SERIES_METRIC && depth < 16;
    for (size_t i = 0; i < n; i++) {
        char *d = xp_path_join(base, names[i]);
        char *data = xp_path_join(d, "data.jsonl");
        if (!lfs_is_dir(r->la, d)) {
            if (depth == 0 && strlen(names[i]) > 6 &&
                !strcmp(names[i] + strlen(names[i]) - 6, ".jsonl"))
                xp_ctx_warn(r->la->base.ctx,
                            "'%s' is a legacy flat metric file and is not read",
                            d);
            free(d);
            free(data);
            continue;
        }
        char *relname = rel ? xp_path_join(rel, names[i]) : xp_strdup(names[i]);
        if (!lfs_is_file(r->la, data)) {
            if (nest && names[i][0] != '.')
                add_series_at(r, kind, d, relname, cap, depth + 1);
            free(d);
            free(data);
            free(relname);
            continue;
        }
        int64_t size = lfs_size(r->la, data);
        if (size > 0)
            r->read_total += size;
        free(data);
        if (r->nseries == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            r->series = xp_realloc(r->series, *cap * sizeof(*r->series));
        }
        struct series_item *it = &r->series[r->nseries++];
        it->kind = kind;
        it->dir = xp_strdup(d);
        /* the name: metadata.json wins; else the decoded directory name */
        char *mdp = xp_path_join(d, "metadata.json");
        struct json_object *md = NULL;
        const char *nm = NULL;
        if (lfs_is_file(r->la, mdp) && !lfs_read_json(r->la, &md, mdp))
            nm = xp_json_str(md, kind == XP_SERIES_TRACK ? "topic" : "name");
        xp_error_clear();
        if (nm) {
            it->name = xp_strdup(nm);
        } else if (r->la->flavor == LOCAL_XPORT) {
            struct xp_buf dec = XP_BUF_INIT;
            it->name = xp_name_decode(&dec, names[i]) ? xp_strdup(names[i])
                                                      : xp_buf_detach(&dec);
            xp_buf_release(&dec);
        } else {
            it->name = xp_strdup(relname);
        }
        json_object_put(md);
        free(mdp);
        if (nest && names[i][0] != '.')
            add_series_at(r, kind, d, relname, cap, depth + 1);
        free(relname);
        free(d);
    }
    xp_strv_free(names);
}

static void add_series_dir(struct layout_reader *r, enum xp_series_kind kind,
                           const char *top, size_t *cap)
{
    char *base = xp_path_join(r->dir, top);
    add_series_at(r, kind, base, NULL, cap, 0);
    free(base);
}

void lr_collect_series(struct layout_reader *r)
{
    size_t cap = 0;
    if (r->ro.resources & XP_RES_METRICS) {
        add_series_dir(r, XP_SERIES_METRIC, "metrics", &cap);
        add_series_dir(r, XP_SERIES_TRACK, "tracks", &cap);
    }
    if (r->ro.resources & XP_RES_SYSTEM)
        add_series_dir(r, XP_SERIES_SYSTEM, "system", &cap);
    if ((r->ro.resources & XP_RES_LOGS) && !r->ro.only_series) {
        char *p = xp_path_join(r->dir, "logs/logs.jsonl");
        int64_t size = lfs_size(r->la, p);
        if (size > 0)
            r->read_total += size;
        free(p);
    }
    if (r->ro.only_series) {
        size_t k = 0;
        for (size_t i = 0; i < r->nseries; i++) {
            if (!strcmp(r->series[i].name, r->ro.only_series)) {
                r->series[k++] = r->series[i];
            } else {
                free(r->series[i].dir);
                free(r->series[i].name);
            }
        }
        r->nseries = k;
    }
}

int lr_series_begin(struct layout_reader *r, struct series_item *it)
{
    char *data = xp_path_join(it->dir, "data.jsonl");
    int rc = lr_open_fp(r, data);
    free(data);
    if (rc)
        return rc;
    char *mdp = xp_path_join(it->dir, "metadata.json");
    json_object_put(r->series_md);
    r->series_md = NULL;
    if (lfs_is_file(r->la, mdp) && (rc = lfs_read_json(r->la, &r->series_md, mdp))) {
        free(mdp);
        return rc;
    }
    free(mdp);
    struct xp_series_meta *m = &r->rec.u.series;
    memset(m, 0, sizeof(*m));
    m->name = it->name;
    m->kind = it->kind;
    m->expected_points = -1;
    r->rec.created_at = r->rec.updated_at = NULL;
    if (r->series_md) {
        m->description = xp_json_str(r->series_md, "description");
        r->rec.created_at = xp_json_str(r->series_md, "createdAt");
        r->rec.updated_at = xp_json_str(r->series_md, "updatedAt");
        struct json_object *md = xp_json_get(r->series_md, "metadata");
        if (it->kind == XP_SERIES_TRACK && r->la->flavor != LOCAL_XPORT)
            md = r->series_md; /* ml-dash track metadata as a whole */
        m->metadata = md && !json_object_is_type(md, json_type_null) ? md : NULL;
        struct json_object *t = xp_json_get(r->series_md, it->kind == XP_SERIES_TRACK
                                                      ? "totalEntries"
                                                      : "totalDataPoints");
        if (t && json_object_is_type(t, json_type_int))
            m->expected_points = json_object_get_int64(t);
    }
    r->rec.kind = XP_REC_SERIES_BEGIN;
    return 0;
}

static int add_fields(struct layout_reader *r, struct json_object *data,
                      size_t *nf)
{
    json_object_object_foreach(data, k, v) {
        if (*nf == r->fields_cap) {
                /* points are re-pointed at the array after the batch */
            r->fields_cap = r->fields_cap ? r->fields_cap * 2 : 4 * XP_POINTS_BATCH;
            r->fields = xp_realloc(r->fields, r->fields_cap * sizeof(*r->fields));
        }
        r->fields[*nf].key = k;
        int rc = xp_value_from_json(&r->fields[*nf].v, v, &r->arena);
        if (rc)
            return rc;
        (*nf)++;
    }
    return 0;
}

/* The fast path: scan a canonical point line in place, in the batch's own
 * line storage. 0 on success; anything else means "use json-c". */
static int scan_point_line(struct layout_reader *r, struct series_item *it,
                           struct xp_point *p, size_t *nf)
{
    size_t len = r->line_len;
    char *copy = xp_arena_strndup(&r->arena, r->line, len);
    if (it->kind == XP_SERIES_TRACK) {
        if (*nf + 64 > r->fields_cap) {
            r->fields_cap = r->fields_cap ? r->fields_cap * 2 : 4 * XP_POINTS_BATCH;
            r->fields = xp_realloc(r->fields, r->fields_cap * sizeof(*r->fields));
        }
        size_t k;
        if (xp_jscan_object(copy, len, r->fields + *nf, 64, &k))
            return -1;
        p->index = r->lineno - 1;
        p->nfields = k;
        *nf += k;
        return 0;
    }
    if (*nf + 64 > r->fields_cap) {
        r->fields_cap = r->fields_cap ? r->fields_cap * 2 : 4 * XP_POINTS_BATCH;
        r->fields = xp_realloc(r->fields, r->fields_cap * sizeof(*r->fields));
    }
    size_t k;
    if (xp_pointline_scan(copy, len, p, r->fields + *nf, 64, &k))
        return -1;
    *nf += k;
    return 0;
}

int lr_read_points(struct layout_reader *r, struct series_item *it)
{
    lr_release_held(r);
    size_t n = 0, nf = 0;
    memset(r->points, 0, XP_POINTS_BATCH * sizeof(*r->points));
    while (n < XP_POINTS_BATCH) {
        int complete = 1;
        int rc = lr_next_raw_line(r, &complete);
        if (rc == XP_ITEROVER)
            break;
        if (rc)
            return rc;
        if (complete && scan_point_line(r, it, &r->points[n], &nf) == 0) {
            n++;
            continue;
        }
        /* slow path: parse this same line with json-c (the scanner worked
         * on a copy), without seeking back: an archive member's FILE*
         * cannot seek */
        struct json_object *o;
        if ((rc = lr_parse_json_line(r, complete, &o)))
            return rc;
        r->held[r->nheld++] = o;
        struct xp_point *p = &r->points[n];
        size_t first = nf;
        if (it->kind == XP_SERIES_TRACK) {
            p->index = r->lineno - 1;
            if ((rc = add_fields(r, o, &nf)))
                return rc;
        } else {
            struct json_object *idx = xp_json_get(o, "index"), *data = xp_json_get(o, "data");
            if (!data || !json_object_is_type(data, json_type_object))
                return xp_error_set(XP_EINVALID, "'%s' line %ld has no \"data\" object",
                                    r->fp_path, r->lineno);
            if (idx && json_object_is_type(idx, json_type_int))
                p->index = json_object_get_int64(idx);
            else if (idx && json_object_is_type(idx, json_type_string)) {
                int64_t x;
                if (xp_parse_i64(json_object_get_string(idx), &x))
                    return xp_error_set(XP_EINVALID, "'%s' line %ld has index '%s', "
                                        "not a whole number", r->fp_path, r->lineno,
                                        json_object_get_string(idx));
                p->index = x;
            } else
                p->index = r->lineno - 1;
            p->created_at = xp_json_str(o, "createdAt");
            if ((rc = add_fields(r, data, &nf)))
                return rc;
        }
        p->nfields = nf - first;
        n++;
    }
    /* fields may have moved while growing: recompute from counts */
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        r->points[i].fields = r->fields + off;
        off += r->points[i].nfields;
    }
    if (n == 0)
        return XP_ITEROVER;
    r->rec.kind = XP_REC_POINTS;
    r->rec.u.points.v = r->points;
    r->rec.u.points.n = n;
    return 0;
}
