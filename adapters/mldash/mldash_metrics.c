/* Reading an ml-dash metric: its stats, then its sealed chunks streamed in
 * index order and parsed as their bytes arrive (mldash_chunks.c), then
 * the paged buffer, and /data paging when a chunk cannot be had. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mldash_read.h"
#include "xport/error.h"
#include "xport/json.h"
#include "xport/typemark.h"

static const char *cur_metric(struct mld_reader *r)
{
    return json_object_get_string(json_object_array_get_idx(r->metrics, r->mi));
}

static void metric_url(struct mld_reader *r, const char *tail)
{
    mld_url(&r->url, r->m, "/experiments/%s/metrics/", r->id);
    xp_http_put_segment(&r->url, cur_metric(r));
    xp_buf_puts(&r->url, tail);
}

/* Only a data object with a key like the marker's can hold one: the check
 * is cheaper than xp_typemark_decode's look for it. */
static int has_marker(const struct xp_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].key[0] == XP_TYPEMARK_KEY[0])
            return 1;
    return 0;
}

/* Scan points of pg into r->pts until the batch is full, the array ends
 * or (arriving) the bytes so far do. Points below next_index (a chunk
 * sealed while we read, or a chunk's retry) are dropped. */
static int scan_points(struct mld_reader *r, struct span *pg, size_t *n,
                       size_t *nf, const char *what)
{
    char *s = pg->s;
    size_t len = pg->len;
    pg->need = 0;
    while (*n < XP_POINTS_BATCH) {
        size_t i = mld_skip_ws(s, pg->pos, len);
        if (i < len && s[i] == ',')
            i = mld_skip_ws(s, i + 1, len);
        if (i >= len && pg->more) {
            pg->need = 1;
            return 0;
        }
        if (i >= len)
            return xp_error_set(XP_EINVALID, "%s is truncated", what);
        if (s[i] == ']') {
            pg->active = 0;
            pg->pos = i;
            return 0;
        }
        size_t st = i;
        if (s[st] != '{')
            return xp_error_set(XP_EINVALID, "%s: bad point at byte %zu", what, st);
        if (r->fcap - *nf < 264)
            return 0; /* emit what we have; the fields pool is full */
        size_t whole = st;
        if (pg->more && len - st < MLD_NEAR && mld_skip_value(s, len, &whole)) {
            pg->need = 1;
            return 0;
        }
        struct xp_point *p = &r->pts[*n];
        memset(p, 0, sizeof(*p));
        size_t used, dn;
        int rc = mld_scan_point(&r->arena, s + st, len - st, &used, p, r->fields + *nf, &dn);
        if (rc == XP_EINVALID && pg->more && len - st >= MLD_NEAR) {
            pg->stuck = 1;
            pg->pos = st;
            return 0;
        }
        if (rc == XP_ENOTFOUND)
            return xp_error_set(XP_EINVALID, "%s: point at byte %zu lacks index or data",
                                what, st);
        if (rc)
            return xp_error_set(XP_EINVALID, "%s: cannot parse the point at byte %zu",
                                what, st);
        i = st + used;
        pg->pos = i;
        if (!r->ptypes && has_marker(r->fields + *nf, dn) &&
            xp_typemark_decode(r->fields + *nf, &dn)) {
            xp_ctx_warn(r->m->base.ctx, "%s, point %" PRId64 ": %s; kept as the server "
                        "holds it", what, p->index, xp_error_last()->message);
            xp_error_clear();
        }
        if (r->mp == MP_BUFFER && p->index > r->next_index) {
            /* a chunk sealed after stats: the buffer starts past what we
             * have; page the gap (and the rest) through /data */
            pg->pos = st;
            r->gap = 1;
            return 0;
        }
        pg->count++;
        if (p->index < r->next_index)
            continue; /* already emitted */
        if (r->ptypes)
            xp_tmread_apply(r->ptypes, r->emitted + (int64_t)*n, r->fields + *nf, dn);
        p->fields = r->fields + *nf;
        p->nfields = dn;
        *nf += dn;
        r->next_index = p->index + 1;
        (*n)++;
    }
    return 0;
}

/* Points of the current chunk as its bytes arrive, from *n on. A batch
 * ends with its chunk (chunk_done), so that the chunk's pipe can be used
 * again at the next call; a chunk that cannot be had ends it too
 * (chunk_failed, after a warning). */
static int chunk_points(struct mld_reader *r, size_t *n, size_t *nf, const char *what)
{
    unsigned how = 0; /* first look at what is there */
    for (;;) {
        struct mld_view v;
        int rc = mld_chunks_read(r->chunks, r->cused, how | (*n ? MLD_PINNED : 0), &v);
        r->cused = 0;
        if (rc)
            return rc;
        if (v.restarted)
            r->in_items = 0;
        /* a failed transfer's bytes are a cut body: its whole points count */
        struct span sp = {v.s, v.len, 0, v.state != MLD_CHUNK_COMPLETE, 1, 0, 0, 0};
        if (sp.more) {
            /* the bytes so far may end inside a token, which the scanners
             * would read past: stop at the last '}' */
            char *e = memrchr(v.s, '}', v.len);
            sp.len = e ? (size_t)(e - v.s) + 1 : 0;
        }
        if (!r->in_items) {
            size_t at;
            rc = mld_find_member(sp.s, sp.len, sp.more, "data", &at);
            if (!rc && sp.s[at] != '[')
                rc = XP_EINVALID;
            if (rc < 0)
                return xp_error_set(XP_EINVALID, "%s has no data array", what);
            r->in_items = !rc;
            sp.pos = rc ? 0 : at + 1;
            sp.need = rc == MLD_MORE_BYTES;
        }
        if (r->in_items && (rc = scan_points(r, &sp, n, nf, what)))
            return rc;
        r->cused = sp.pos;
        if (!sp.active) {
            r->chunk_done = 1;
            return 0;
        }
        if (sp.stuck) {
            r->chunk_failed = 1; /* a point longer than MLD_NEAR: see there */
            return 0;
        }
        if (!sp.need)
            return 0; /* the batch is full */
        if (v.state == MLD_CHUNK_FAILED) {
            xp_ctx_warn(r->m->base.ctx, "metric '%s' of '%s': %s; paging through "
                        "/data from point %" PRId64, cur_metric(r), r->name,
                        xp_error_last()->message, r->next_index);
            xp_error_clear();
            r->chunk_failed = 1;
            return 0;
        }
        if (v.state == MLD_CHUNK_COMPLETE)
            return xp_error_set(XP_EINVALID, "%s is truncated", what);
        if (v.full && *n > 0)
            return 0; /* let go of the points, so that the pipe has room */
        how = MLD_MORE;
    }
}

static int fetch_page(struct mld_reader *r, int64_t start, int buffer_only)
{
    struct xp_buf tail = XP_BUF_INIT;
    xp_buf_printf(&tail, "/data?startIndex=%" PRId64 "&limit=%d%s", start,
                  r->m->batch > 10000 ? 10000 : r->m->batch,
                  buffer_only ? "&bufferOnly=true" : "");
    metric_url(r, tail.ptr);
    xp_buf_release(&tail);
    struct xp_http_request rq = {0};
    rq.url = r->url.ptr;
    rq.cred = r->m->cred;
    int rc = xp_http_request(r->m->base.ctx->http, &rq, &r->pg.resp);
    if (!rc)
        rc = mld_page_open(&r->pg, "a metric data page");
    return rc;
}

int mld_metric_begin(struct mld_reader *r)
{
    struct json_object *st = NULL;
    metric_url(r, "/stats");
    int rc = mld_json(r->m, NULL, r->url.ptr, NULL, 0, &st);
    if (rc) {
        json_object_put(st);
        return xp_error_wrap(rc, "metric '%s' of '%s'", cur_metric(r), r->name);
    }
    int64_t tc = 0, total = -1, chunked;
    if (mld_int(st, "totalChunks", &tc))
        tc = 0;
    if (mld_int(st, "totalDataPoints", &total))
        total = -1;
    if (mld_int(st, "bufferedDataPoints", &r->buffered))
        r->buffered = -1;
    r->chunk = 0;
    r->next_index = 0;
    r->emitted = 0;
    r->cused = 0;
    r->in_items = r->chunk_done = r->chunk_failed = 0;
    /* no buffer at stats: nothing to ask for after the chunks (the ml-dash
     * CLI does not ask either) */
    r->mp = tc > 0 ? MP_CHUNKS : r->buffered ? MP_BUFFER : MP_END;
    r->pg.sp.active = 0;
    r->pg.has_more = 1;
    if (tc > 0) {
        if (!r->chunks && (rc = mld_chunks_new(&r->chunks, r->m))) {
            json_object_put(st);
            return rc;
        }
        metric_url(r, "");
        mld_chunks_start(r->chunks, r->url.ptr, tc);
        /* the buffer's first page while the first chunk is on its way: one
         * round trip less at the end. A chunk sealed since stats makes it
         * start past the chunks' last point, which pages (gap); any other
         * failure leaves it to be asked for again then */
        if (r->buffered > 0 && !mld_int(st, "chunkedDataPoints", &chunked) &&
            fetch_page(r, chunked, 1)) {
            r->pg.sp.active = 0;
            r->pg.has_more = 1;
            xp_error_clear();
        }
    }
    struct xp_series_meta *sm = &r->rec.u.series;
    memset(sm, 0, sizeof(*sm));
    sm->name = cur_metric(r);
    sm->kind = XP_SERIES_METRIC;
    sm->expected_points = total;
    json_object_put(r->doc);
    r->doc = st;
    sm->description = xp_json_str(st, "description");
    r->rec.created_at = xp_json_str(st, "createdAt");
    r->rec.updated_at = xp_json_str(st, "updatedAt");
    struct json_object *md = xp_json_get(st, "metadata");
    sm->metadata = md && json_object_is_type(md, json_type_object) ? md : NULL;
    int nometa = 0;
    struct json_object *types =
        sm->metadata ? mld_take_types(r, &sm->metadata, st, "metric metadata", &nometa)
                     : NULL;
    xp_tmread_free(r->ptypes);
    r->ptypes = NULL;
    if (!types) {
        mld_unmark(r, sm->metadata, "metric metadata");
    } else {
        /* no column marks: the points are as they are (none is looked at
         * for a marker of the first form) */
        struct json_object *pm = xp_json_get(types, "points");
        struct json_object *none = pm ? NULL : json_object_new_object();
        rc = xp_tmread_new(&r->ptypes, pm ? pm : none);
        json_object_put(none);
        if (rc)
            return xp_error_wrap(rc, "metric '%s' of '%s'", cur_metric(r), r->name);
    }
    struct json_object *x = xp_json_get(sm->metadata, MLD_SERIES_KEY);
    const char *kind = xp_json_str(x, "kind"), *name = xp_json_str(x, "name");
    if (kind && name && (!strcmp(kind, "system") || !strcmp(kind, "track"))) {
        /* a system series or track the writer carried as a metric (mldash.h);
         * the marker moves to st, which outlives the record */
        sm->kind = !strcmp(kind, "system") ? XP_SERIES_SYSTEM : XP_SERIES_TRACK;
        sm->name = name;
        mld_take_extras(&sm->metadata, MLD_SERIES_KEY, st);
    }
    if (nometa && sm->metadata && json_object_object_length(sm->metadata) == 0)
        sm->metadata = NULL;
    r->rec.kind = XP_REC_SERIES_BEGIN;
    return 0;
}

/* Next POINTS record of the current metric, or SERIES_END. */
int mld_metric_next(struct mld_reader *r)
{
    size_t n = 0, nf = 0;
    char what[96];
    xp_arena_reset(&r->arena); /* the last batch is the caller's no more */
    while (n == 0) {
        if (xp_ctx_cancelled(r->m->base.ctx))
            return xp_error_set(XP_ECANCEL, "interrupted");
        int rc = 0;
        switch (r->mp) {
        case MP_CHUNKS:
            if (r->chunk_failed) {
                /* page through /data from the first index not yet emitted */
                mld_chunks_stop(r->chunks);
                r->mp = MP_PAGING;
                r->pg.has_more = 1;
                r->pg.sp.active = 0;
                break;
            }
            if (r->chunk_done) {
                r->chunk_done = r->in_items = 0;
                r->cused = 0;
                r->chunk++;
                if (mld_chunks_next(r->chunks)) {
                    r->mp = r->buffered ? MP_BUFFER : MP_END;
                    break;
                }
            }
            snprintf(what, sizeof(what), "chunk %" PRId64, r->chunk);
            rc = chunk_points(r, &n, &nf, what);
            break;
        case MP_BUFFER:
        case MP_PAGING:
            if (!r->pg.sp.active) {
                if (!r->pg.has_more) {
                    r->mp = MP_END;
                    break;
                }
                rc = fetch_page(r, r->next_index, r->mp == MP_BUFFER);
                if (!rc && r->pg.sp.count == 0 && !r->pg.sp.active)
                    r->pg.has_more = 0;
            }
            if (!rc && r->pg.sp.active) {
                rc = scan_points(r, &r->pg.sp, &n, &nf, "a metric data page");
                if (!rc && r->gap) {
                    r->gap = 0;
                    r->mp = MP_PAGING;
                    r->pg.sp.active = 0;
                    r->pg.has_more = 1;
                    break;
                }
                if (!rc && !r->pg.sp.active && r->pg.sp.count == 0)
                    r->pg.has_more = 0; /* an empty page ends it */
            }
            break;
        case MP_END:
            r->rec.kind = XP_REC_SERIES_END;
            return 0;
        case MP_BEGIN:
            break;
        }
        if (rc)
            return xp_error_wrap(rc, "metric '%s' of '%s'", cur_metric(r), r->name);
    }
    r->emitted += (int64_t)n;
    r->rec.kind = XP_REC_POINTS;
    r->rec.u.points.v = r->pts;
    r->rec.u.points.n = n;
    return 0;
}
