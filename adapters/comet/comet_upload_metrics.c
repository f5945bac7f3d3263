/* Every metric point of an experiment folder sent to a Comet server
 * (comet_upload.h) through the SDK's batch endpoint
 * (clientlib batch/logger/experiment/metric: gzip bodies, at most c->batch
 * values each), skipping the points the destination holds. The series go
 * LANES at a time, each series' batches one after the other, so that what
 * the server holds of a series is always its first points. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "comet_upload.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"

#define LANES 4

/* Points per metric name the destination holds (they arrive in the order
 * they were sent, so the first N of a series are there). */
static int count_held(struct comet_up *u)
{
    u->have_counts = json_object_new_object();
    if (u->fresh)
        return 0;
    char *tmp = NULL;
    int rc = xp_tempdir(&tmp, "xport-comet-have-");
    if (!rc)
        rc = comet_fetch_metrics(u->c, u->key, tmp);
    char *p = rc ? NULL : xp_path_join(tmp, "metrics.jsonl");
    FILE *f = p ? fopen(p, "r") : NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    struct xp_arena arena = {0};
    struct xp_field fl[COMET_MAX_FIELDS];
    while (f && !rc && (n = getline(&line, &cap, f)) > 0) {
        size_t nf = 0;
        xp_arena_reset(&arena);
        rc = comet_scan_object(line, (size_t)n, &arena, fl, COMET_MAX_FIELDS, &nf);
        for (size_t i = 0; i < nf && !rc; i++)
            if (!strcmp(fl[i].key, "metricName") && fl[i].v.type == XP_V_STRING) {
                char *name = xp_strndup(fl[i].v.u.s.ptr, fl[i].v.u.s.len);
                struct json_object *c = NULL;
                int64_t k = json_object_object_get_ex(u->have_counts, name, &c)
                                ? json_object_get_int64(c) : 0;
                json_object_object_add(u->have_counts, name, json_object_new_int64(k + 1));
                free(name);
            }
    }
    if (f)
        fclose(f);
    free(line);
    free(p);
    xp_arena_release(&arena);
    if (tmp) {
        xp_rm_rf(tmp);
        free(tmp);
    }
    return rc;
}

/* The lines of one metric name: runs of lines in the file. */
struct seg {
    off_t off;
    int64_t n;
};
struct mseries {
    char *name;
    struct seg *segs;
    size_t nseg, cap;
    int64_t held; /* points the destination has */
    int64_t lines;
};

/* One series being sent: its file cursor and the batch being built. */
struct lane {
    struct comet_up *u;
    struct mseries *s;
    FILE *f;
    size_t segi;
    int64_t left;  /* lines left in the current run */
    int64_t seen;  /* points of the series read so far */
    struct xp_buf b;
    int n;
    struct xp_arena arena;
    struct xp_field fl[COMET_MAX_FIELDS];
    char *line;
    size_t cap;
};

static const char *name_of(struct xp_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(f[i].key, "metricName") && f[i].v.type == XP_V_STRING)
            return f[i].v.u.s.ptr; /* NUL-terminated in place by the scanner */
    return NULL;
}

/* The series of the file in order of first appearance, with their runs. */
/* Is k a member the batch item has a place for? */
static int batch_member(const char *k)
{
    return !strcmp(k, "metricName") || !strcmp(k, "metricValue") || !strcmp(k, "step") ||
           !strcmp(k, "epoch") || !strcmp(k, "timestamp") || !strcmp(k, "runContext") ||
           !strcmp(k, "offset");
}

/* The members of a point the batch item has no place for (the cometx
 * form's xport_* members: exact times, typed values, ...), as one line
 * {"metricName", "i": position in its series, "x": {members}} of side;
 * JSON values and booleans in metricValue too, which go as their text. */
static int side_line(struct xp_buf *side, const char *name, int64_t pos, struct xp_field *f,
                     size_t n)
{
    size_t start = side->len;
    int any = 0, rc = 0;
    xp_buf_puts(side, "{\"metricName\":");
    xp_json_put_str(side, name, strlen(name), "metric name");
    xp_buf_printf(side, ",\"i\":%lld,\"x\":{", (long long)pos);
    for (size_t i = 0; i < n && !rc; i++) {
        int typed = !strcmp(f[i].key, "metricValue") &&
                    (f[i].v.type == XP_V_JSON || f[i].v.type == XP_V_BOOL);
        if (batch_member(f[i].key) && !typed)
            continue;
        if (any++)
            xp_buf_putc(side, ',');
        /* a typed metricValue comes back as xport_value, as the cometx
         * form keeps one */
        const char *k = typed ? COMET_X_PREFIX "value" : f[i].key;
        xp_json_put_str(side, k, strlen(k), "member");
        xp_buf_putc(side, ':');
        rc = xp_json_put_value(side, &f[i].v, "member");
    }
    if (any && !rc)
        xp_buf_puts(side, "}}\n");
    else
        xp_buf_setlen(side, start);
    return rc;
}

static int index_series(const char *path, struct mseries **out, size_t *nout,
                        struct xp_buf *side)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return xp_error_set_os(XP_EIO, "cannot open '%s'", path);
    struct json_object *pos = json_object_new_object(); /* name -> index */
    struct mseries *v = NULL;
    size_t n = 0, cap = 0, lineno = 0, cur = (size_t)-1;
    struct xp_arena arena = {0};
    struct xp_field fl[COMET_MAX_FIELDS];
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int rc = 0;
    off_t off = 0;
    while ((len = getline(&line, &lcap, f)) > 0) {
        lineno++;
        size_t nf = 0;
        xp_arena_reset(&arena);
        rc = comet_scan_object(line, (size_t)len, &arena, fl, COMET_MAX_FIELDS, &nf);
        const char *name = rc ? NULL : name_of(fl, nf);
        if (!rc && !name)
            rc = xp_error_set(XP_EINVALID, "a staged metric point has no name");
        if (rc) {
            rc = xp_error_wrap(rc, "line %zu of '%s'", lineno, path);
            break;
        }
        if (cur == (size_t)-1 || strcmp(v[cur].name, name)) {
            struct json_object *ix = NULL;
            if (json_object_object_get_ex(pos, name, &ix)) {
                cur = (size_t)json_object_get_int64(ix);
            } else {
                if (n == cap) {
                    cap = cap ? cap * 2 : 16;
                    v = xp_realloc(v, cap * sizeof(*v));
                }
                v[n] = (struct mseries){.name = xp_strdup(name)};
                json_object_object_add(pos, name, json_object_new_int64((int64_t)n));
                cur = n++;
            }
            struct mseries *s = &v[cur];
            if (s->nseg == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 4;
                s->segs = xp_realloc(s->segs, s->cap * sizeof(*s->segs));
            }
            s->segs[s->nseg++] = (struct seg){off, 0};
        }
        if ((rc = side_line(side, name, v[cur].lines, fl, nf)))
            break;
        v[cur].segs[v[cur].nseg - 1].n++;
        v[cur].lines++;
        off += len;
    }
    fclose(f);
    free(line);
    xp_arena_release(&arena);
    json_object_put(pos);
    *out = v;
    *nout = n;
    return rc;
}

/* One metrics.jsonl line as a batch value {metricName, metricValue, step,
 * epoch, context, timestamp}; what else the point has is in the side file. */
static int add_point(struct lane *bt, struct xp_field *f, size_t n)
{
    if (!bt->n) {
        comet_up_begin(bt->u, &bt->b);
        xp_buf_puts(&bt->b, ",\"values\":[");
    }
    xp_buf_puts(&bt->b, bt->n++ ? ",{" : "{");
    int first = 1, rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const char *k = f[i].key, *out = k;
        if (!strcmp(k, "runContext"))
            out = "context";
        else if (!strcmp(k, "offset"))
            continue; /* the server numbers messages itself */
        else if (!batch_member(k))
            continue; /* in the side file (side_line) */
        if (f[i].v.type == XP_V_NULL && strcmp(k, "metricValue"))
            continue;
        if (!first)
            xp_buf_putc(&bt->b, ',');
        first = 0;
        xp_buf_printf(&bt->b, "\"%s\":", out);
        if (!strcmp(k, "metricValue") &&
            (f[i].v.type == XP_V_JSON || f[i].v.type == XP_V_BOOL)) {
            /* the server takes a number or a string: the value's JSON text,
             * its type lost */
            struct xp_buf t = XP_BUF_INIT;
            rc = xp_json_put_value(&t, &f[i].v, "metric point");
            if (!rc)
                rc = xp_json_put_str(&bt->b, t.ptr, t.len, "metric value");
            xp_buf_release(&t);
            continue;
        }
        rc = xp_json_put_value(&bt->b, &f[i].v, "metric point");
    }
    xp_buf_putc(&bt->b, '}');
    return rc;
}

/* Fill the lane's batch with up to c->batch points of its series; 0 points
 * when it is done. */
static int lane_fill(struct lane *l)
{
    int rc = 0;
    l->n = 0;
    while (!rc && l->n < l->u->c->batch) {
        if (!l->left) {
            if (l->segi == l->s->nseg)
                break;
            struct seg *g = &l->s->segs[l->segi++];
            if (fseeko(l->f, g->off, SEEK_SET) != 0)
                return xp_error_set_os(XP_EIO, "cannot seek in the staged metrics");
            l->left = g->n;
        }
        ssize_t len = getline(&l->line, &l->cap, l->f);
        if (len <= 0)
            return xp_error_set(XP_EIO, "the staged metrics ended early");
        l->left--;
        if (l->seen++ < l->s->held)
            continue; /* the destination has it */
        size_t nf = 0;
        xp_arena_reset(&l->arena);
        rc = comet_scan_object(l->line, (size_t)len, &l->arena, l->fl, COMET_MAX_FIELDS, &nf);
        if (!rc)
            rc = add_point(l, l->fl, nf);
    }
    if (!rc && l->n)
        xp_buf_puts(&l->b, "]}");
    return rc;
}

int comet_up_metrics(struct comet_up *u)
{
    int rc = count_held(u);
    char *p = xp_path_join(u->dir, "metrics.jsonl");
    if (rc || !xp_is_real_file(p)) {
        free(p);
        return rc;
    }
    struct mseries *ser = NULL;
    size_t nser = 0, next = 0;
    struct xp_buf side = XP_BUF_INIT;
    rc = index_series(p, &ser, &nser, &side);
    if (!rc && side.len) {
        /* sent as an asset with the other folder files (comet_up_assets) */
        char *sp = xp_path_join(u->dir, COMET_XPORT_POINTS);
        char *d = xp_path_join(u->dir, "run");
        rc = xp_mkdir_p(d);
        if (!rc)
            rc = xp_write_file_atomic(sp, side.ptr, side.len);
        free(sp);
        free(d);
    }
    xp_buf_release(&side);
    for (size_t i = 0; i < nser; i++) {
        struct json_object *h = NULL;
        if (json_object_object_get_ex(u->have_counts, ser[i].name, &h))
            ser[i].held = json_object_get_int64(h);
    }
    struct lane lanes[LANES];
    memset(lanes, 0, sizeof(lanes));
    for (int i = 0; i < LANES; i++) {
        lanes[i].u = u;
        xp_buf_init(&lanes[i].b);
    }
    struct xp_buf bodies[LANES];
    for (;;) {
        size_t k = 0;
        for (int i = 0; i < LANES && !rc; i++) {
            struct lane *l = &lanes[i];
            for (;;) {
                if (!l->s) {
                    while (next < nser && ser[next].held >= ser[next].lines)
                        next++; /* the destination has all of it */
                    if (next == nser)
                        break;
                    if (!l->f && !(l->f = fopen(p, "r"))) {
                        rc = xp_error_set_os(XP_EIO, "cannot open '%s'", p);
                        break;
                    }
                    l->s = &ser[next++];
                    l->segi = 0;
                    l->left = l->seen = 0;
                }
                if ((rc = lane_fill(l)) || l->n)
                    break;
                l->s = NULL; /* done; take the next series */
            }
            if (!rc && l->n)
                bodies[k++] = l->b;
        }
        if (rc || !k)
            break;
        u->requests += (int64_t)k;
        rc = comet_post_many(u->c, "batch/logger/experiment/metric", bodies, k);
        if (rc)
            rc = xp_error_wrap(rc, "sending metrics to Comet experiment '%s'", u->key);
    }
    for (int i = 0; i < LANES; i++) {
        if (lanes[i].f)
            fclose(lanes[i].f);
        xp_buf_release(&lanes[i].b);
        xp_arena_release(&lanes[i].arena);
        free(lanes[i].line);
    }
    for (size_t i = 0; i < nser; i++) {
        free(ser[i].name);
        free(ser[i].segs);
    }
    free(ser);
    free(p);
    return rc;
}
