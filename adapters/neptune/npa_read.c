/* The neptune adapter's reader: one run's attributes (getExperimentAttributes)
 * into the experiment record and parameters (through npt_emit.c), float and
 * string series streamed page by page (getFloatSeriesValues,
 * getStringSeriesValues), console output as logs, then files (npa_files.c).
 * Calls as neptune-client dev/1.x internal/backends/hosted_neptune_backend.py
 * makes them; shapes from neptune-ai/neptune-api commit 105043e
 * codegen/swagger/leaderboard.json. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "npa.h"
#include "npt.h"
#include "xport/error.h"
#include "xport/iso8601.h"
#include "xport/json.h"

#define PAGE 10000 /* points per series request */

enum phase { P_HEAD, P_SERIES, P_LOGS, P_FILES, P_END, P_DONE };

struct sattr {
    char *path;
    int is_float;
    const char *stream; /* console: "stdout"/"stderr", else NULL */
    struct json_object *config;
};

struct npa_reader {
    struct xp_reader base;
    struct npa *n;
    struct xp_read_opts ro;
    char *id, *ws, *proj, *name, *url;
    char *kind; /* "model" or "modelVersion", NULL for a run */
    enum phase ph;
    struct json_object *doc; /* ExperimentAttributesDTO */
    struct npt_run run;      /* atoms and string sets, for parameters */
    struct npt_emit *pe;
    struct xp_experiment_meta meta;
    const char **tags;
    char created[XP_ISO8601_BUFSZ];
    struct json_object *md, *vendor, *smeta;
    struct sattr *series;
    size_t nseries, si;
    int in_series;
    int64_t off, total; /* points fetched of series[si], and its count */
    struct npa_page page;
    size_t pi, pn;      /* cursor in page */
    struct npa_files *files;
    struct xp_record rec;
    struct xp_point pts[XP_POINTS_BATCH];
    struct xp_field fields[XP_POINTS_BATCH * 3];
    struct xp_log_entry logs[XP_POINTS_BATCH];
    char (*stamps)[XP_ISO8601_BUFSZ];
    struct json_object *logmeta[XP_POINTS_BATCH];
    size_t nlogmeta;
    int64_t seq;
};

static int is_system(const char *p)
{
    return !strncmp(p, "monitoring/", 11);
}

/* Console output: monitoring/[<hash>/]stdout|stderr|traceback, sys/stdout|stderr. */
static const char *console(const char *p)
{
    const char *last = strrchr(p, '/');
    if (!last || (!is_system(p) && strncmp(p, "sys/", 4)))
        return NULL;
    last++;
    if (!strcmp(last, "stdout") || !strcmp(last, "stderr"))
        return last;
    if (!strcmp(last, "traceback") && is_system(p))
        return "stderr";
    return NULL;
}

static struct json_object *props_of(struct json_object *a)
{
    struct xp_buf k = XP_BUF_INIT;
    xp_buf_printf(&k, "%sProperties", xp_json_str(a, "type"));
    struct json_object *p = xp_json_get(a, k.ptr);
    xp_buf_release(&k);
    return p;
}

/* One atom or string set into the npt model (for the parameters). */
static int add_atom(struct npa_reader *r, const char *path, const char *t,
                    struct json_object *p)
{
    struct json_object *v = xp_json_get(p, "value");
    struct npt_attr *a;
    double d;
    if (!strcmp(t, "float")) {
        if (npa_jdouble(v, &d))
            return xp_error_set(XP_EINVALID, "float attribute '%s' has no number", path);
        npt_add(&r->run, path, NPT_FLOAT)->v.d = d;
    } else if (!strcmp(t, "int")) {
        if (!v || !json_object_is_type(v, json_type_int))
            return xp_error_set(XP_EINVALID, "int attribute '%s' has no integer", path);
        npt_add(&r->run, path, NPT_INT)->v.i = json_object_get_int64(v);
    } else if (!strcmp(t, "bool")) {
        npt_add(&r->run, path, NPT_BOOL)->v.b = json_object_get_boolean(v);
    } else if (!strcmp(t, "string") || !strcmp(t, "experimentState")) {
        a = npt_add(&r->run, path, NPT_STRING);
        a->v.s = xp_strndup(v ? json_object_get_string(v) : "",
                            v ? (size_t)json_object_get_string_len(v) : 0);
    } else if (!strcmp(t, "datetime")) {
        int64_t ms;
        const char *s = json_object_get_string(v);
        if (!s || xp_iso8601_parse_ms(s, &ms))
            return xp_error_set(XP_EINVALID, "datetime attribute '%s' has no ISO-8601 time",
                                path);
        npt_add(&r->run, path, NPT_DATETIME)->v.ms = ms;
    } else if (!strcmp(t, "stringSet")) {
        a = npt_add(&r->run, path, NPT_STRING_SET);
        struct json_object *vs = xp_json_get(p, "values");
        size_t n = vs && json_object_is_type(vs, json_type_array)
                       ? json_object_array_length(vs) : 0;
        for (size_t i = 0; i < n; i++)
            npt_set_add(a, json_object_get_string(json_object_array_get_idx(vs, i)));
    } else {
        return 1; /* not an atom */
    }
    return 0;
}

static int by_path(const void *x, const void *y)
{
    return strcmp(((const struct sattr *)x)->path, ((const struct sattr *)y)->path);
}

static const char *sys_str(struct npa_reader *r, const char *path)
{
    struct npt_attr *a = npt_get(&r->run, path);
    return a && a->type == NPT_STRING ? a->v.s : NULL;
}

/* The run's attributes: atoms to r->run, sys/ values to the experiment's
 * metadata, series and files queued. */
static int load(struct npa_reader *r)
{
    struct xp_buf u = XP_BUF_INIT;
    npa_url(&u, r->n, "/api/leaderboard/v1/attributes?experimentId=");
    npa_qs(&u, r->id);
    int rc = npa_json(r->n, u.ptr, NULL, &r->doc);
    xp_buf_release(&u);
    if (rc)
        return rc;
    struct json_object *arr = xp_json_get(r->doc, "attributes");
    size_t na = arr && json_object_is_type(arr, json_type_array)
                    ? json_object_array_length(arr) : 0;
    r->md = json_object_new_object();
    r->vendor = json_object_new_object();
    struct json_object *sys = json_object_new_object(), *types = json_object_new_object(),
                       *other = NULL, *arts = NULL;
    json_object_object_add(r->vendor, "experiment_id", json_object_new_string(r->id));
    json_object_object_add(r->vendor, "sys_id", json_object_new_string(r->name));
    json_object_object_add(r->vendor, "sys", sys);
    json_object_object_add(r->vendor, "attribute_types", types);
    if ((rc = npa_files_new(&r->files, r->n, r->id, r->name)))
        return rc;
    for (size_t i = 0; i < na && !rc; i++) {
        struct json_object *a = json_object_array_get_idx(arr, i);
        const char *path = xp_json_str(a, "name"), *t = xp_json_str(a, "type");
        struct json_object *p = props_of(a);
        if (!path || !t)
            return xp_error_set(XP_EINVALID, "an attribute of '%s' has no name or type",
                                r->name);
        json_object_object_add(types, path, json_object_new_string(t));
        int sysp = !strncmp(path, "sys/", 4);
        if (sysp && p) {
            struct json_object *v = xp_json_get(p, "value");
            if (!v)
                v = xp_json_get(p, "values");
            if (v)
                json_object_object_add(sys, path, json_object_get(v));
        }
        rc = add_atom(r, path, t, p);
        if (rc <= 0)
            continue;
        rc = 0;
        if (!strcmp(t, "floatSeries") || !strcmp(t, "stringSeries")) {
            r->series = xp_realloc(r->series, (r->nseries + 1) * sizeof(*r->series));
            struct sattr *s = &r->series[r->nseries++];
            s->path = xp_strdup(path);
            s->is_float = t[0] == 'f';
            s->stream = s->is_float ? NULL : console(path);
            s->config = xp_json_get(p, "config");
        } else if (!strcmp(t, "file") || !strcmp(t, "fileSet") || !strcmp(t, "imageSeries")) {
            npa_files_add(r->files, path, t, p);
        } else if (!strcmp(t, "gitRef")) {
            json_object_object_add(r->md, strcmp(path, "source_code/git") ? path : "git",
                                   json_object_get(p));
        } else if (!strcmp(t, "notebookRef")) {
            json_object_object_add(r->md, strcmp(path, "source_code/notebook") ? path
                                                                               : "notebook",
                                   json_object_get(p));
        } else if (!strcmp(t, "artifact")) {
            if (!arts)
                json_object_object_add(r->vendor, "artifacts", arts = json_object_new_object());
            json_object_object_add(arts, path, json_object_get(p));
            xp_ctx_warn(r->n->base.ctx, "artifact '%s' of '%s': its hash is kept, its file "
                        "list is not read (the 2.x artifacts API paths are not public)",
                        path, r->name);
        } else {
            if (!other)
                json_object_object_add(r->vendor, "other_attributes",
                                       other = json_object_new_object());
            json_object_object_add(other, path, json_object_get(a));
            xp_ctx_warn(r->n->base.ctx, "attribute '%s' of '%s' has type '%s', kept as it "
                        "came in the experiment's vendor fields", path, r->name, t);
        }
    }
    if (rc)
        return rc;
    if (r->nseries)
        qsort(r->series, r->nseries, sizeof(*r->series), by_path);

    /* the experiment record */
    struct xp_experiment_meta *m = &r->meta;
    m->workspace = r->ws;
    m->project = r->proj;
    m->name = r->name;
    m->description = sys_str(r, "sys/description");
    if (m->description && !*m->description)
        m->description = NULL;
    struct npt_attr *tags = npt_get(&r->run, "sys/tags");
    if (tags && tags->type == NPT_STRING_SET) {
        m->tags = (const char *const *)tags->set;
        m->ntags = tags->nset;
    }
    struct npt_attr *f = npt_get(&r->run, "sys/failed");
    const char *state = sys_str(r, "sys/state");
    if (f && f->type == NPT_BOOL && f->v.b)
        m->status = "FAILED";
    else if (state && !strcmp(state, "running"))
        m->status = "RUNNING";
    else if (state)
        m->status = "COMPLETED";
    struct npt_attr *ct = npt_get(&r->run, "sys/creation_time");
    if (ct && ct->type == NPT_DATETIME) {
        xp_iso8601_format_ms(r->created, ct->v.ms);
        m->created_at = r->created;
    }
    if (r->kind) {
        /* the 2.x model registry: a project-level "models" group */
        m->folder = "models";
        json_object_object_add(r->vendor, "container_type", json_object_new_string(r->kind));
    }
    m->source_vendor = "neptune";
    m->source_id = r->id;
    if (r->n->app && !r->kind) { /* the run link of hosted_neptune_backend.py::get_run_url */
        struct xp_buf l = XP_BUF_INIT;
        xp_buf_printf(&l, "%s/%s/%s/e/%s", r->n->app, r->ws, r->proj, r->name);
        r->url = xp_buf_detach(&l);
        m->source_url = r->url;
    }
    static const char *const keep[] = {"sys/name", "sys/owner", "sys/state", "sys/failed",
                                       "sys/trashed", "sys/size", "sys/modification_time",
                                       "sys/custom_run_id", "sys/hostname"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        struct json_object *v = xp_json_get(sys, keep[i]);
        if (v)
            json_object_object_add(r->md, keep[i] + 4, json_object_get(v));
    }
    m->metadata = r->md;
    m->vendor = r->vendor;
    struct npt_emit_opts eo = {0};
    /* npt_emit gives the experiment and, when wanted, the parameters (the
     * model holds no series or files); OTHERS alone is a mask without
     * parameters that npt_emit does not read as "all" */
    eo.resources = (r->ro.resources & XP_RES_PARAMETERS) ? XP_RES_PARAMETERS : XP_RES_OTHERS;
    eo.only_series = r->ro.only_series;
    eo.meta = m;
    return npt_emit_new(&r->pe, &r->run, &eo);
}

/* ---- series ---- */

static int fetch_page(struct npa_reader *r, const struct sattr *s)
{
    struct xp_buf u = XP_BUF_INIT, what = XP_BUF_INIT;
    npa_url(&u, r->n, "/api/leaderboard/v1/attributes/series/%s?experimentId=",
            s->is_float ? "float" : "string");
    npa_qs(&u, r->id);
    xp_buf_puts(&u, "&attribute=");
    npa_qs(&u, s->path);
    xp_buf_printf(&u, "&offset=%" PRId64 "&limit=%d", r->off, PAGE);
    if (!s->is_float) /* the server cuts values at 1000 characters otherwise */
        xp_buf_puts(&u, "&maxSingleValueLength=2147483647");
    xp_buf_printf(&what, "series '%s' of '%s'", s->path, r->name);
    int rc = npa_page_fetch(r->n, &r->page, u.ptr, s->is_float, what.ptr);
    if (rc)
        xp_error_wrap(rc, "%s", what.ptr);
    xp_buf_release(&u);
    xp_buf_release(&what);
    if (rc)
        return rc;
    r->total = r->page.total;
    r->pn = r->page.n;
    r->pi = 0;
    if (!r->pn && r->off < r->total)
        return xp_error_set(XP_EINVALID, "series '%s' of '%s': an empty page at %" PRId64
                            " of %" PRId64, s->path, r->name, r->off, r->total);
    return 0;
}

/* Point i of the page as fields value, step, timestamp (epoch seconds). */
static size_t point(struct npa_reader *r, const struct sattr *s, size_t i, struct xp_field *f)
{
    const struct npa_pt *p = &r->page.v[i];
    return npt_fields(f, p->d, s->is_float ? NULL : p->s, p->slen, p->has_step, p->step, p->ms);
}

static int series_wanted(const struct npa_reader *r, const struct sattr *s)
{
    if (s->stream)
        return 0;
    if (r->ro.only_series)
        return !strcmp(r->ro.only_series, s->path);
    if (!(r->ro.resources & (is_system(s->path) ? XP_RES_SYSTEM : XP_RES_METRICS)))
        return 0;
    if (r->ro.have_item) {
        struct xp_buf k = XP_BUF_INIT;
        xp_buf_printf(&k, "%s/%s", is_system(s->path) ? "system" : "metrics", s->path);
        int have = r->ro.have_item(r->ro.have_payload, k.ptr);
        xp_buf_release(&k);
        if (have)
            return 0;
    }
    return 1;
}

/* The next series record: 1 with r->rec set, 0 when none is left. */
static int next_series(struct npa_reader *r)
{
    for (; r->si < r->nseries; r->si++, r->in_series = 0) {
        struct sattr *s = &r->series[r->si];
        int rc;
        if (!r->in_series) {
            if (!series_wanted(r, s))
                continue;
            r->off = 0;
            if ((rc = fetch_page(r, s)))
                return rc;
            r->in_series = 1;
            r->rec.kind = XP_REC_SERIES_BEGIN;
            r->rec.u.series.name = s->path;
            r->rec.u.series.kind = is_system(s->path) ? XP_SERIES_SYSTEM : XP_SERIES_METRIC;
            json_object_put(r->smeta);
            r->smeta = json_object_new_object();
            json_object_object_add(r->smeta, "neptune_type",
                                   json_object_new_string(s->is_float ? "floatSeries"
                                                                      : "stringSeries"));
            if (s->config)
                json_object_object_add(r->smeta, "config", json_object_get(s->config));
            r->rec.u.series.metadata = r->smeta;
            r->rec.u.series.expected_points = r->total;
            return 1;
        }
        if (r->pi == r->pn && r->off < r->total) {
            if ((rc = fetch_page(r, s)))
                return rc;
        }
        if (r->pi < r->pn) {
            size_t n = 0, nf = 0;
            for (; n < XP_POINTS_BATCH && r->pi < r->pn; n++, r->pi++, r->off++) {
                size_t k = point(r, s, r->pi, &r->fields[nf]);
                r->pts[n] = (struct xp_point){r->off, NULL, &r->fields[nf], k};
                nf += k;
            }
            r->rec.kind = XP_REC_POINTS;
            r->rec.u.points.v = r->pts;
            r->rec.u.points.n = n;
            return 1;
        }
        r->rec.kind = XP_REC_SERIES_END;
        r->si++;
        r->in_series = 0;
        return 1;
    }
    return 0;
}

static void free_logmeta(struct npa_reader *r)
{
    for (size_t i = 0; i < r->nlogmeta; i++)
        json_object_put(r->logmeta[i]);
    r->nlogmeta = 0;
}

/* The next batch of console lines, one console attribute after another,
 * each in its order: 1 with r->rec set, 0 at the end. */
static int next_logs(struct npa_reader *r)
{
    free_logmeta(r);
    for (; r->si < r->nseries; r->si++, r->in_series = 0) {
        struct sattr *s = &r->series[r->si];
        int rc;
        if (!s->stream)
            continue;
        if (!r->in_series) {
            r->off = 0;
            if ((rc = fetch_page(r, s)))
                return rc;
            r->in_series = 1;
        } else if (r->pi == r->pn && r->off < r->total) {
            if ((rc = fetch_page(r, s)))
                return rc;
        }
        if (r->pi == r->pn)
            continue;
        size_t n = 0;
        for (; n < XP_POINTS_BATCH && r->pi < r->pn; n++, r->pi++, r->off++) {
            const struct npa_pt *p = &r->page.v[r->pi];
            xp_iso8601_format_ms(r->stamps[n], p->ms);
            struct json_object *m = json_object_new_object();
            json_object_object_add(m, "attribute", json_object_new_string(s->path));
            if (p->has_step)
                json_object_object_add(m, "step", json_object_new_double(p->step));
            r->logmeta[r->nlogmeta++] = m;
            const char *last = strrchr(s->path, '/') + 1;
            r->logs[n] = (struct xp_log_entry){r->seq++, r->stamps[n],
                                               strcmp(last, "traceback") ? NULL : "error",
                                               s->stream, p->s, p->slen, m};
        }
        r->rec.kind = XP_REC_LOGS;
        r->rec.u.logs.v = r->logs;
        r->rec.u.logs.n = n;
        return 1;
    }
    return 0;
}

/* ---- the reader ---- */

static int rd_next(struct xp_reader *base, const struct xp_record **out)
{
    struct npa_reader *r = (struct npa_reader *)base;
    memset(&r->rec, 0, sizeof(r->rec));
    *out = &r->rec;
    int only = r->ro.only_series != NULL;
    for (;;) {
        int rc;
        switch (r->ph) {
        case P_HEAD: {
            const struct xp_record *rec;
            if ((rc = npt_emit_next(r->pe, &rec)))
                return rc;
            if (rec->kind == XP_REC_END) {
                r->ph = P_SERIES;
                r->si = 0;
                continue;
            }
            *out = rec;
            return 0;
        }
        case P_SERIES:
            if ((rc = next_series(r)) < 0)
                return rc;
            if (rc)
                return 0;
            r->ph = P_LOGS;
            r->si = 0;
            r->in_series = 0;
            continue;
        case P_LOGS:
            if (!only && (r->ro.resources & XP_RES_LOGS) && (rc = next_logs(r)) != 0)
                return rc < 0 ? rc : 0;
            r->ph = P_FILES;
            continue;
        case P_FILES:
            if (!only && (r->ro.resources & XP_RES_FILES)) {
                rc = npa_files_next(r->files, &r->ro, &r->rec.u.file.meta,
                                    &r->rec.u.file.body);
                if (rc < 0)
                    return rc;
                if (rc) {
                    r->rec.kind = XP_REC_FILE;
                    return 0;
                }
            }
            r->ph = P_END;
            continue;
        case P_END:
            r->rec.kind = XP_REC_END;
            r->ph = P_DONE;
            return 0;
        case P_DONE:
            *out = NULL;
            return XP_ITEROVER;
        }
    }
}

static void rd_free(struct xp_reader *base)
{
    struct npa_reader *r = (struct npa_reader *)base;
    if (!r)
        return;
    npt_emit_free(r->pe);
    npt_run_release(&r->run);
    npa_files_free(r->files);
    free_logmeta(r);
    for (size_t i = 0; i < r->nseries; i++)
        free(r->series[i].path);
    free(r->series);
    npa_page_release(&r->page);
    json_object_put(r->smeta);
    json_object_put(r->md);
    json_object_put(r->vendor);
    json_object_put(r->doc);
    free(r->stamps);
    free(r->id);
    free(r->ws);
    free(r->proj);
    free(r->name);
    free(r->url);
    free(r->kind);
    free(r);
}

int npa_read_experiment(struct xp_reader **out, struct xp_adapter *a,
                        const struct xp_experiment_ref *ref, const struct xp_read_opts *ro)
{
    *out = NULL;
    struct npa_reader *r = xp_calloc(1, sizeof(*r));
    r->base.version = XP_READER_VERSION;
    r->base.next = rd_next;
    r->base.free = rd_free;
    r->n = (struct npa *)a;
    r->ro = *ro;
    if (!r->ro.resources)
        r->ro.resources = XP_RES_ALL;
    /* "model:<id>", "modelVersion:<id>" or a run's "<id>" (npa_list.c) */
    const char *colon = ref->key ? strchr(ref->key, ':') : NULL;
    if (colon) {
        r->kind = xp_strndup(ref->key, (size_t)(colon - ref->key));
        r->id = xp_strdup(colon + 1);
    } else {
        r->id = xp_strdup(ref->key);
    }
    r->ws = xp_strdup(ref->workspace);
    r->proj = xp_strdup(ref->project);
    r->name = xp_strdup(ref->name);
    r->stamps = xp_malloc(XP_POINTS_BATCH * sizeof(*r->stamps));
    npa_page_init(&r->page);
    npt_run_init(&r->run, a->ctx, r->name);
    int rc = r->id ? load(r) : xp_error_set(XP_EINVALID, "no Neptune experiment id");
    if (rc) {
        xp_error_wrap(rc, "run '%s/%s/%s'", r->ws, r->proj, r->name);
        rd_free(&r->base);
        return rc;
    }
    *out = &r->base;
    return 0;
}
