/* Records from a run of neptune-exporter files: the parameters document,
 * float, string and histogram series read back from the spool, console
 * output as logs, and the files of file, file_series, file_set and
 * artifact rows from the export's files/ folder, in record.h's order. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "nex.h"
#include "npt.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/iso8601.h"
#include "xport/stream.h"

enum st { S_EXP, S_PARAMS, S_SERIES, S_LOGS, S_FILES, S_END, S_DONE };

struct fentry {
    char *src, *name; /* on disk; the name below the attribute's folder */
};

struct nex_emit {
    struct nex_run *run;
    struct nex_emit_opts o;
    enum st st;
    size_t *order;   /* series sorted by path */
    size_t si;       /* series cursor */
    int in_series;
    struct xp_spool_iter it;
    int it_open;
    int64_t pi;      /* points emitted of the current series */
    struct xp_record rec;
    struct json_object *doc;
    struct xp_point pts[XP_POINTS_BATCH];
    struct xp_field fields[XP_POINTS_BATCH * 4];
    struct xp_log_entry logs[XP_POINTS_BATCH];
    struct json_object *logmeta[XP_POINTS_BATCH];
    size_t nlogmeta;
    int64_t seq;
    struct xp_arena arena;
    size_t fi;                /* files cursor */
    struct fentry *fl;        /* the files of files[fi] */
    size_t nfl, fli;
    struct xp_fd_stream body;
    struct xp_buf rel;
    struct json_object *fmeta;
};

static const struct nex_run *sort_run;
static int by_path(const void *a, const void *b)
{
    return strcmp(sort_run->series[*(const size_t *)a].path,
                  sort_run->series[*(const size_t *)b].path);
}

int nex_emit_new(struct nex_emit **out, struct nex_run *run,
                 const struct nex_emit_opts *o)
{
    struct nex_emit *e = xp_calloc(1, sizeof *e);
    e->run = run;
    e->o = *o;
    if (!e->o.resources)
        e->o.resources = XP_RES_ALL;
    e->order = xp_malloc((run->nseries + 1) * sizeof *e->order);
    for (size_t i = 0; i < run->nseries; i++)
        e->order[i] = i;
    sort_run = run;
    qsort(e->order, run->nseries, sizeof *e->order, by_path);
    xp_fd_stream_init(&e->body);
    xp_buf_init(&e->rel);
    *out = e;
    return 0;
}

static void free_fl(struct nex_emit *e)
{
    for (size_t i = 0; i < e->nfl; i++) {
        free(e->fl[i].src);
        free(e->fl[i].name);
    }
    free(e->fl);
    e->fl = NULL;
    e->nfl = e->fli = 0;
}

static void free_logmeta(struct nex_emit *e)
{
    for (size_t i = 0; i < e->nlogmeta; i++)
        json_object_put(e->logmeta[i]);
    e->nlogmeta = 0;
}

void nex_emit_free(struct nex_emit *e)
{
    if (!e)
        return;
    if (e->it_open)
        xp_spool_iter_close(&e->it);
    xp_fd_stream_close(&e->body);
    free_fl(e);
    free_logmeta(e);
    json_object_put(e->doc);
    json_object_put(e->fmeta);
    xp_arena_release(&e->arena);
    xp_buf_release(&e->rel);
    free(e->order);
    free(e);
}

/* ---- points ------------------------------------------------------------------ */

struct pt {
    int64_t ts;          /* INT64_MIN: none */
    const char *step;    /* decimal text, "" when none */
    int has_value;
    double d;
    const char *s;       /* string or histogram JSON */
    size_t slen;
};

static int decode_pt(struct nex_emit *e, const unsigned char *p, size_t n,
                     enum nex_series_kind kind, struct pt *o)
{
    if (n < 10 || n < 10 + (size_t)p[8])
        return xp_error_set(XP_EINVALID, "a spooled point is damaged");
    memcpy(&o->ts, p, 8);
    size_t sl = p[8];
    o->step = xp_arena_strndup(&e->arena, (const char *)p + 9, sl);
    p += 9 + sl;
    n -= 9 + sl;
    o->has_value = p[0];
    p++;
    n--;
    if (kind == NEX_FLOAT && o->has_value) {
        if (n != 8)
            return xp_error_set(XP_EINVALID, "a spooled point is damaged");
        memcpy(&o->d, p, 8);
    } else {
        o->s = xp_arena_strndup(&e->arena, (const char *)p, n);
        o->slen = n;
    }
    return 0;
}

/* The next point of series s from the spool. */
static int next_pt(struct nex_emit *e, const struct nex_series *s,
                   enum nex_series_kind kind, struct pt *p)
{
    const void *data = NULL;
    size_t len = 0;
    int rc = xp_spool_iter_next(&e->it, &data, &len);
    if (rc == XP_ITEROVER)
        rc = xp_error_set(XP_EINVALID, "series '%s' lost points in the spool",
                          s->path);
    return rc ? rc : decode_pt(e, data, len, kind, p);
}

/* step as a float, and its decimal text when the float does not round
 * back to it at the decimal's scale. */
static size_t step_fields(struct nex_emit *e, struct xp_field *f,
                          const char *step)
{
    if (!*step)
        return 0;
    double d = strtod(step, NULL);
    f[0].key = "step";
    f[0].v.type = XP_V_FLOAT;
    f[0].v.u.d = d;
    if (npt_step_exact(d, step))
        return 1;
    f[1].key = "step_decimal";
    f[1].v.type = XP_V_STRING;
    f[1].v.u.s.ptr = step;
    f[1].v.u.s.len = strlen(step);
    return 2;
}

static int series_wanted(const struct nex_emit *e, const struct nex_series *s)
{
    if (s->console)
        return 0;
    if (e->o.only_series)
        return !strcmp(e->o.only_series, s->path);
    return e->o.resources & (!strncmp(s->path, "monitoring/", 11)
                             ? XP_RES_SYSTEM : XP_RES_METRICS);
}

static const char *kind_name(enum nex_series_kind k)
{
    return k == NEX_FLOAT ? "float_series" : k == NEX_STRING ? "string_series"
                                                             : "histogram_series";
}

static int open_iter(struct nex_emit *e, const struct nex_series *s)
{
    if (e->it_open)
        xp_spool_iter_close(&e->it);
    e->it_open = 0;
    int rc = xp_spool_iter_open(&e->it, e->run->spool, s->stream);
    if (!rc)
        e->it_open = 1;
    return rc;
}

/* 1 with e->rec set, 0 when no series is left, or an error. */
static int next_series(struct nex_emit *e)
{
    for (; e->si < e->run->nseries; e->si++) {
        const struct nex_series *s = &e->run->series[e->order[e->si]];
        if (!series_wanted(e, s))
            continue;
        if (!e->in_series) {
            int rc = open_iter(e, s);
            if (rc)
                return rc;
            e->in_series = 1;
            e->pi = 0;
            e->rec.kind = XP_REC_SERIES_BEGIN;
            e->rec.u.series.name = s->path;
            e->rec.u.series.kind = strncmp(s->path, "monitoring/", 11)
                                       ? XP_SERIES_METRIC : XP_SERIES_SYSTEM;
            json_object_put(e->doc);
            e->doc = json_object_new_object();
            json_object_object_add(e->doc, "neptune_type",
                                   json_object_new_string(kind_name(s->kind)));
            e->rec.u.series.metadata = e->doc;
            e->rec.u.series.expected_points = s->npoints;
            return 1;
        }
        if (e->pi < s->npoints) {
            size_t n = 0, nf = 0;
            xp_arena_reset(&e->arena);
            for (; n < XP_POINTS_BATCH && e->pi < s->npoints; n++, e->pi++) {
                struct pt p = {0};
                int rc = next_pt(e, s, s->kind, &p);
                if (rc)
                    return rc;
                struct xp_field *f = &e->fields[nf];
                size_t k = 0;
                f[k].key = "value";
                if (!p.has_value) {
                    f[k].v.type = XP_V_NULL;
                } else if (s->kind == NEX_FLOAT) {
                    f[k].v.type = XP_V_FLOAT;
                    f[k].v.u.d = p.d;
                } else {
                    f[k].v.type = s->kind == NEX_STRING ? XP_V_STRING
                                                        : XP_V_JSON;
                    f[k].v.u.s.ptr = p.s;
                    f[k].v.u.s.len = p.slen;
                }
                k++;
                k += step_fields(e, f + k, p.step);
                if (p.ts != INT64_MIN) {
                    f[k].key = "timestamp";
                    f[k].v.type = XP_V_FLOAT;
                    f[k++].v.u.d = (double)p.ts / 1000.0;
                }
                e->pts[n] = (struct xp_point){e->pi, NULL, f, k};
                nf += k;
            }
            e->rec.kind = XP_REC_POINTS;
            e->rec.u.points.v = e->pts;
            e->rec.u.points.n = n;
            return 1;
        }
        e->rec.kind = XP_REC_SERIES_END;
        e->in_series = 0;
        e->si++;
        return 1;
    }
    return 0;
}

/* Console output, one series after another: 1 with e->rec set. */
static int next_logs(struct nex_emit *e)
{
    free_logmeta(e);
    for (; e->si < e->run->nseries; e->si++) {
        const struct nex_series *s = &e->run->series[e->order[e->si]];
        if (!s->console)
            continue;
        if (!e->in_series) {
            int rc = open_iter(e, s);
            if (rc)
                return rc;
            e->in_series = 1;
            e->pi = 0;
        }
        if (e->pi >= s->npoints) {
            e->in_series = 0;
            continue;
        }
        const char *last = strrchr(s->path, '/') + 1;
        const char *stream = !strcmp(last, "stdout") ? "stdout" : "stderr";
        size_t n = 0;
        xp_arena_reset(&e->arena);
        for (; n < XP_POINTS_BATCH && e->pi < s->npoints; n++, e->pi++) {
            struct pt p = {0};
            int rc = next_pt(e, s, NEX_STRING, &p);
            if (rc)
                return rc;
            char *iso = NULL;
            if (p.ts != INT64_MIN) {
                iso = xp_arena_alloc(&e->arena, XP_ISO8601_BUFSZ);
                xp_iso8601_format_ms(iso, p.ts);
            }
            struct json_object *m = json_object_new_object();
            json_object_object_add(m, "attribute", json_object_new_string(s->path));
            if (*p.step)
                json_object_object_add(m, "step", json_object_new_string(p.step));
            if (!p.has_value)
                json_object_object_add(m, "null_value", json_object_new_boolean(1));
            e->logmeta[e->nlogmeta++] = m;
            e->logs[n] = (struct xp_log_entry){e->seq++, iso, NULL, stream,
                                               p.has_value ? p.s : "",
                                               p.has_value ? p.slen : 0, m};
        }
        e->rec.kind = XP_REC_LOGS;
        e->rec.u.logs.v = e->logs;
        e->rec.u.logs.n = n;
        return 1;
    }
    return 0;
}

/* ---- files ---------------------------------------------------------------------- */

static void fl_add(struct nex_emit *e, const char *src, const char *name)
{
    e->fl = xp_realloc(e->fl, (e->nfl + 1) * sizeof *e->fl);
    e->fl[e->nfl].src = xp_strdup(src);
    e->fl[e->nfl].name = xp_strdup(name);
    e->nfl++;
}

/* Regular files below dir (links never followed), names sorted. */
static void walk_dir(struct nex_emit *e, const char *dir, const char *prefix,
                     int depth)
{
    char **names;
    size_t n;
    if (depth > 32 || xp_list_dir(&names, &n, dir)) {
        xp_error_clear();
        xp_lost_add(&e->run->lost, "folder '%s' cannot be read", dir);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *p = xp_path_join(dir, names[i]);
        struct xp_buf rel = XP_BUF_INIT;
        if (*prefix)
            xp_buf_printf(&rel, "%s/", prefix);
        xp_buf_puts(&rel, names[i]);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            walk_dir(e, p, rel.ptr, depth + 1);
        else if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
            fl_add(e, p, rel.ptr);
        else
            xp_lost_add(&e->run->lost, "'%s' is not a regular file", p);
        xp_buf_release(&rel);
        free(p);
    }
    xp_strv_free(names);
}

/* The files of e->run->files[e->fi] into e->fl. */
static void gather(struct nex_emit *e, const struct nex_file *f)
{
    if (!e->o.files_root) {
        xp_lost_add(&e->run->lost, "%s '%s': the export has no files/ folder", f->type,
                 f->attr);
        return;
    }
    if (!xp_relpath_safe(f->rel)) {
        xp_lost_add(&e->run->lost, "%s '%s' names the unsafe path '%s'", f->type,
                 f->attr, f->rel);
        return;
    }
    char *src = xp_path_join(e->o.files_root, f->rel);
    struct stat st;
    if (lstat(src, &st) != 0)
        xp_lost_add(&e->run->lost, "%s '%s' is not in the export ('%s')", f->type,
                 f->attr, src);
    else if (S_ISDIR(st.st_mode))
        walk_dir(e, src, "", 0);
    else if (S_ISREG(st.st_mode))
        fl_add(e, src, !strcmp(f->type, "artifact")
                           ? strrchr(src, '/') + 1 : "");
    else
        xp_lost_add(&e->run->lost, "%s '%s': '%s' is not a regular file", f->type,
                 f->attr, src);
    free(src);
}

/* 1 with e->rec set, 0 when no file is left, or an error. */
static int next_file(struct nex_emit *e)
{
    xp_fd_stream_close(&e->body);
    while (e->fi < e->run->nfiles) {
        const struct nex_file *f = &e->run->files[e->fi];
        if (!e->fl && !e->nfl) {
            gather(e, f);
            e->fli = 0;
            if (!e->nfl) {
                e->fi++;
                continue;
            }
        }
        if (e->fli >= e->nfl) {
            free_fl(e);
            e->fi++;
            continue;
        }
        const struct fentry *x = &e->fl[e->fli++];
        npt_safe_rel(&e->rel, f->attr);
        if (*x->name) {
            struct xp_buf nm = XP_BUF_INIT;
            npt_safe_rel(&nm, x->name);
            xp_buf_printf(&e->rel, "/%s", nm.ptr);
            xp_buf_release(&nm);
        }
        int fd = open(x->src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            if (fd >= 0)
                close(fd);
            xp_lost_add(&e->run->lost, "'%s' cannot be read", x->src);
            continue;
        }
        json_object_put(e->fmeta);
        e->fmeta = json_object_new_object();
        json_object_object_add(e->fmeta, "attribute", json_object_new_string(f->attr));
        json_object_object_add(e->fmeta, "neptune_type", json_object_new_string(f->type));
        json_object_object_add(e->fmeta, "file_value_path", json_object_new_string(f->rel));
        if (*f->step)
            json_object_object_add(e->fmeta, "step", json_object_new_string(f->step));
        if (f->has_ts) {
            char iso[XP_ISO8601_BUFSZ];
            xp_iso8601_format_ms(iso, f->ts_ms);
            json_object_object_add(e->fmeta, "timestamp", json_object_new_string(iso));
        }
        e->body.fd = fd;
        memset(&e->rec, 0, sizeof e->rec);
        e->rec.kind = XP_REC_FILE;
        e->rec.u.file.meta.path = e->rel.ptr;
        e->rec.u.file.meta.size = (int64_t)st.st_size;
        e->rec.u.file.meta.metadata = e->fmeta;
        e->rec.u.file.body = &e->body.base;
        return 1;
    }
    return 0;
}

/* ---- the state machine ------------------------------------------------------------ */

int nex_emit_next(struct nex_emit *e, const struct xp_record **rec)
{
    memset(&e->rec, 0, sizeof e->rec);
    *rec = &e->rec;
    int only = e->o.only_series != NULL, rc;
    for (;;) {
        switch (e->st) {
        case S_EXP:
            e->rec.kind = XP_REC_EXPERIMENT;
            e->rec.u.exp = *e->o.meta;
            e->st = S_PARAMS;
            return 0;
        case S_PARAMS:
            e->st = S_SERIES;
            if (only || !(e->o.resources & XP_RES_PARAMETERS))
                continue;
            json_object_put(e->doc);
            e->doc = json_object_new_object();
            json_object_object_foreach(e->run->atoms, k, v) {
                if (strncmp(k, "sys/", 4))
                    npt_put_nested(e->doc, k, json_object_get(v));
            }
            if (!json_object_object_length(e->doc))
                continue;
            e->rec.kind = XP_REC_DOCUMENT;
            e->rec.u.doc.kind = XP_DOC_PARAMETERS;
            e->rec.u.doc.doc = e->doc;
            return 0;
        case S_SERIES:
            if ((rc = next_series(e)) < 0)
                return rc;
            if (rc)
                return 0;
            e->st = S_LOGS;
            e->si = 0;
            e->in_series = 0;
            continue;
        case S_LOGS:
            if (!only && (e->o.resources & XP_RES_LOGS)) {
                if ((rc = next_logs(e)) < 0)
                    return rc;
                if (rc)
                    return 0;
            }
            e->st = S_FILES;
            continue;
        case S_FILES:
            rc = only || !(e->o.resources & XP_RES_FILES) ? 0 : next_file(e);
            if (rc < 0)
                return rc;
            if (rc)
                return 0;
            e->st = S_END;
            continue;
        case S_END:
            e->rec.kind = XP_REC_END;
            e->st = S_DONE;
            return 0;
        case S_DONE:
            *rec = NULL;
            return XP_ITEROVER;
        }
    }
}
