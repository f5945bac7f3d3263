/* The neptune-export adapter (read side): folders that neptune-exporter
 * writes (neptune-ai/neptune-exporter README.md, storage/parquet_writer.py):
 * EXPORTS/data/<project>/<run>_part_<n>.parquet (model registry objects in
 * <project>/models/ and <project>/model_versions/) and EXPORTS/files/
 * <project>/... . The exporter renames part_0 last, so a run without it is
 * incomplete: named, and failed unless --allow-partial. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "nex.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/numparse.h"

struct nx_adapter {
    struct xp_disk_adapter d; /* base; src: EXPORTS, selection, allow-partial */
    char *data, *files;        /* EXPORTS/data and EXPORTS/files (or NULL) */
};

/* "<prefix>_part_<n>.parquet": the prefix's length and n, or 0. */
static size_t part_of(const char *name, long long *n)
{
    size_t len = strlen(name);
    const char *suf = ".parquet";
    if (len < 8 || strcmp(name + len - 8, suf))
        return 0;
    const char *p = NULL;
    for (const char *q = name; (q = strstr(q, "_part_")); q++)
        p = q;
    if (!p || p == name)
        return 0;
    const char *num = p + 6;
    int64_t v;
    if (num >= name + len - 8 ||
        xp_parse_i64n(num, (size_t)(name + len - 8 - num), &v) || v < 0 ||
        (num[0] == '0' && num + 1 != name + len - 8))
        return 0;
    *n = v;
    return (size_t)(p - name);
}

/* The runs in one folder of parquet parts: each prefix with its parts. */
struct group {
    char *prefix;
    long long maxpart;
    size_t nparts;
    int has0;
};

static int collect(const char *dir, struct group **out, size_t *n)
{
    char **names;
    size_t k;
    *out = NULL;
    *n = 0;
    int rc = xp_list_dir(&names, &k, dir);
    if (rc)
        return rc;
    for (size_t i = 0; i < k; i++) {
        long long part;
        /* an unfinished part, not yet renamed, counts as one too */
        size_t len = strlen(names[i]);
        int tmp = len > 4 && !strcmp(names[i] + len - 4, ".tmp");
        if (tmp)
            names[i][len - 4] = 0;
        size_t pl = part_of(names[i], &part);
        if (!pl)
            continue;
        size_t g = 0;
        while (g < *n && (strlen((*out)[g].prefix) != pl ||
                          strncmp((*out)[g].prefix, names[i], pl)))
            g++;
        if (g == *n) {
            *out = xp_realloc(*out, (*n + 1) * sizeof **out);
            (*out)[g] = (struct group){xp_strndup(names[i], pl), -1, 0, 0};
            (*n)++;
        }
        struct group *gr = &(*out)[g];
        gr->nparts++;
        if (part > gr->maxpart)
            gr->maxpart = part;
        if (part == 0 && !tmp)
            gr->has0 = 1;
    }
    xp_strv_free(names);
    return 0;
}

static void groups_free(struct group *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(g[i].prefix);
    free(g);
}

static char *part_path(const char *dir, const char *prefix, long long n)
{
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "%s/%s_part_%lld.parquet", dir, prefix, n);
    return xp_buf_detach(&b);
}

/* Part n as the exporter left it: the .parquet, else its unfinished
 * .parquet.tmp (*tmp set), else NULL. */
static char *find_part(const char *dir, const char *prefix, long long n,
                       int *tmp)
{
    char *p = part_path(dir, prefix, n);
    *tmp = 0;
    if (xp_is_file(p))
        return p;
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "%s.tmp", p);
    free(p);
    if (xp_is_file(b.ptr)) {
        *tmp = 1;
        return xp_buf_detach(&b);
    }
    xp_buf_release(&b);
    return NULL;
}

/* ---- listing ------------------------------------------------------------------- */

static int list_dir(struct nx_adapter *a, const char *dir, xp_experiment_cb cb,
                    void *payload)
{
    struct group *g;
    size_t n;
    int rc = collect(dir, &g, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && !rc; i++) {
        char *p = NULL, *proj = NULL, *run = NULL;
        int tmp;
        for (long long k = 0; !p && k <= g[i].maxpart; k++)
            p = find_part(dir, g[i].prefix, k, &tmp);
        rc = p ? nex_peek_ids(p, &proj, &run)
               : xp_error_set(XP_ENOTFOUND, "no parts of '%s'", g[i].prefix);
        free(p);
        if (rc) {
            /* named, counted as failed by reading it */
            xp_ctx_warn(a->d.base.ctx, "%s", xp_error_last()->message);
            xp_error_clear();
            rc = 0;
            proj = xp_strdup("unknown/unknown");
            run = xp_strdup(g[i].prefix);
        }
        char *sl = strchr(proj, '/');
        char *ws = sl ? xp_strndup(proj, (size_t)(sl - proj)) : xp_strdup("");
        const char *pj = sl ? sl + 1 : proj;
        if (xp_location_selects(&a->d.src.sel, ws, pj, run)) {
            char *key = xp_path_join(dir, g[i].prefix);
            struct xp_experiment_ref ref = {ws, pj, run, key, -1};
            rc = cb(&ref, payload);
            free(key);
        }
        free(ws);
        free(proj);
        free(run);
    }
    groups_free(g, n);
    return rc;
}

static int nx_list(struct xp_adapter *base, xp_experiment_cb cb, void *payload)
{
    struct nx_adapter *a = (struct nx_adapter *)base;
    char **projects;
    size_t np;
    int rc = xp_list_dir(&projects, &np, a->data);
    if (rc)
        return rc;
    for (size_t i = 0; i < np && !rc; i++) {
        char *d = xp_path_join(a->data, projects[i]);
        if (xp_segment_safe(projects[i]) && xp_is_real_dir(d)) {
            rc = list_dir(a, d, cb, payload);
            static const char *const sub[] = {"models", "model_versions"};
            for (int k = 0; k < 2 && !rc; k++) {
                char *m = xp_path_join(d, sub[k]);
                if (xp_is_real_dir(m))
                    rc = list_dir(a, m, cb, payload);
                free(m);
            }
        }
        free(d);
    }
    xp_strv_free(projects);
    return rc;
}

/* ---- reading ---------------------------------------------------------------------- */

struct nx_reader {
    struct xp_reader base;
    struct nx_adapter *a;
    struct nex_run run;
    struct nex_emit *em;
    struct xp_experiment_meta meta;
    char *dir, *prefix, *ws, *proj, *files_root, *entity;
    const char **tags;
    char created[64];
    struct json_object *vendor;
    int partial;
};

static void nx_reader_free(struct xp_reader *base)
{
    struct nx_reader *r = (struct nx_reader *)base;
    if (!r)
        return;
    nex_emit_free(r->em);
    nex_run_release(&r->run);
    json_object_put(r->vendor);
    free(r->tags);
    free(r->dir);
    free(r->prefix);
    free(r->ws);
    free(r->proj);
    free(r->files_root);
    free(r->entity);
    free(r);
}

static int nx_next(struct xp_reader *base, const struct xp_record **out)
{
    struct nx_reader *r = (struct nx_reader *)base;
    if (xp_ctx_cancelled(r->a->d.base.ctx))
        return xp_error_set(XP_ECANCEL, "interrupted");
    int rc = nex_emit_next(r->em, out);
    if (rc || (*out)->kind != XP_REC_END)
        return rc;
    if ((rc = xp_lost_finish(r->a->d.base.ctx, &r->run.lost, r->meta.name, r->dir,
                             r->a->d.src.allow_partial)))
        *out = NULL;
    return rc;
}

static const char *sys_str(struct nex_run *r, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(r->atoms, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Experiment metadata and vendor fields from the sys/ atoms. */
static void fill(struct nx_reader *r)
{
    struct nex_run *run = &r->run;
    struct xp_experiment_meta *m = &r->meta;
    m->workspace = r->ws;
    m->project = r->proj;
    m->name = run->run_id;
    m->source_vendor = "neptune-export";
    m->source_id = run->run_id;
    m->description = sys_str(run, "sys/description");
    m->created_at = sys_str(run, "sys/creation_time");
    struct json_object *v;
    if (json_object_object_get_ex(run->atoms, "sys/failed", &v) &&
        json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v))
        m->status = "FAILED";
    if (json_object_object_get_ex(run->atoms, "sys/tags", &v) &&
        json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v), k = 0;
        r->tags = xp_calloc(n + 1, sizeof *r->tags);
        for (size_t i = 0; i < n; i++) {
            struct json_object *t = json_object_array_get_idx(v, i);
            if (t)
                r->tags[k++] = json_object_get_string(t);
        }
        m->tags = r->tags;
        m->ntags = k;
    }
    r->vendor = json_object_new_object();
    struct json_object *sys = json_object_new_object();
    json_object_object_foreach(run->atoms, key, val) {
        if (!strncmp(key, "sys/", 4))
            json_object_object_add(sys, key, json_object_get(val));
    }
    json_object_object_add(r->vendor, "sys", sys);
    json_object_object_add(r->vendor, "attribute_types", json_object_get(run->types));
    json_object_object_add(r->vendor, "project_id", json_object_new_string(run->project_id));
    json_object_object_add(r->vendor, "entity", json_object_new_string(r->entity));
    json_object_object_add(r->vendor, "rows", json_object_new_int64(run->rows));
    struct json_object *parent, *step;
    if (json_object_object_get_ex(run->atoms, "sys/forking/parent", &parent) ||
        json_object_object_get_ex(run->atoms, "sys/forking/step", &step)) {
        struct json_object *fork = json_object_new_object();
        if (json_object_object_get_ex(run->atoms, "sys/forking/parent", &parent))
            json_object_object_add(fork, "parent", json_object_get(parent));
        if (json_object_object_get_ex(run->atoms, "sys/forking/step", &step))
            json_object_object_add(fork, "step", json_object_get(step));
        json_object_object_add(r->vendor, "fork", fork);
    }
    if (r->partial)
        json_object_object_add(r->vendor, "partial", json_object_new_boolean(1));
    m->vendor = r->vendor;
}

static int nx_read(struct xp_reader **out, struct xp_adapter *base,
                   const struct xp_experiment_ref *ref,
                   const struct xp_read_opts *ro)
{
    struct nx_adapter *a = (struct nx_adapter *)base;
    *out = NULL;
    struct nx_reader *r = xp_calloc(1, sizeof *r);
    r->base.version = XP_READER_VERSION;
    r->base.next = nx_next;
    r->base.free = nx_reader_free;
    r->a = a;
    nex_run_init(&r->run, base->ctx);
    const char *sl = strrchr(ref->key, '/');
    r->dir = xp_strndup(ref->key, (size_t)(sl - ref->key));
    r->prefix = xp_strdup(sl + 1);
    r->ws = xp_strdup(ref->workspace);
    r->proj = xp_strdup(ref->project);
    /* data/<project>[/models|/model_versions]: files/<project> */
    const char *base_name = strrchr(r->dir, '/') + 1;
    int model = !strcmp(base_name, "models") || !strcmp(base_name, "model_versions");
    r->entity = xp_strdup(!model ? "run" : !strcmp(base_name, "models")
                                               ? "model" : "model_version");
    char *projdir = model ? xp_strndup(r->dir, (size_t)(base_name - 1 - r->dir))
                          : xp_strdup(r->dir);
    if (a->files) {
        char *fr = xp_path_join(a->files, strrchr(projdir, '/') + 1);
        if (xp_is_real_dir(fr))
            r->files_root = fr;
        else
            free(fr);
    }
    free(projdir);
    struct group *g;
    size_t ng;
    int rc = collect(r->dir, &g, &ng);
    size_t gi = 0;
    while (!rc && gi < ng && strcmp(g[gi].prefix, r->prefix))
        gi++;
    if (!rc && gi == ng)
        rc = xp_error_set(XP_ENOTFOUND, "no parts of '%s' in '%s'", r->prefix,
                          r->dir);
    if (!rc && !g[gi].has0) {
        r->partial = 1;
        xp_lost_add(&r->run.lost, "part_0 is missing (neptune-exporter renames it "
                 "last: the export of this run did not finish)");
        if (!a->d.src.allow_partial)
            rc = xp_error_set(XP_EINVALID, "run '%s' in '%s' is incomplete: "
                              "%s (--allow-partial keeps what is there)",
                              ref->name, r->dir, r->run.lost.ptr);
    }
    for (long long p = 0; !rc && gi < ng && p <= g[gi].maxpart; p++) {
        int tmp;
        char *path = find_part(r->dir, r->prefix, p, &tmp);
        if (path && tmp && !a->d.src.allow_partial) {
            xp_lost_add(&r->run.lost, "part_%lld is an unfinished .parquet.tmp", p);
        } else if (path && tmp) {
            /* what the exporter had written when it stopped, if readable */
            xp_lost_add(&r->run.lost, "part_%lld is an unfinished .parquet.tmp", p);
            if (nex_read_part(&r->run, path)) {
                xp_lost_add(&r->run.lost, "%s", xp_error_last()->message);
                xp_error_clear();
            }
        } else if (path) {
            rc = nex_read_part(&r->run, path);
        } else if (p > 0) {
            xp_lost_add(&r->run.lost, "part_%lld is missing", p);
        }
        free(path);
    }
    if (ng)
        groups_free(g, ng);
    if (!rc && !r->run.run_id)
        rc = xp_error_set(XP_EINVALID, "run '%s' in '%s' has no rows",
                          r->prefix, r->dir);
    if (rc) {
        nx_reader_free(&r->base);
        return rc;
    }
    fill(r);
    struct nex_emit_opts eo = {ro ? ro->resources : 0,
                               ro ? ro->only_series : NULL, &r->meta,
                               r->files_root};
    nex_emit_new(&r->em, &r->run, &eo);
    *out = &r->base;
    return 0;
}

/* ---- open / close ------------------------------------------------------------------ */

static void nx_close(struct xp_adapter *base)
{
    struct nx_adapter *a = (struct nx_adapter *)base;
    if (!a)
        return;
    free(a->data);
    free(a->files);
    xp_disk_adapter_close(base);
}

static int nx_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                   const struct xp_location *loc, const struct xp_options *opts,
                   struct xp_ctx *ctx)
{
    struct xp_disk_adapter *d;
    *out = NULL;
    int rc = xp_disk_adapter_new(&d, sizeof(struct nx_adapter), type, loc, opts, ctx,
                                 XP_DISK_DIR);
    if (rc)
        return rc;
    char *data = xp_path_join(loc->path, "data");
    if (!xp_is_real_dir(data)) {
        xp_disk_adapter_close(&d->base);
        free(data);
        return xp_error_set(XP_ENOTFOUND, "'%s' has no data/ folder "
                            "(neptune-exporter's --data-path)", loc->path);
    }
    struct nx_adapter *a = (struct nx_adapter *)d;
    a->data = data;
    char *files = xp_path_join(loc->path, "files");
    if (xp_is_real_dir(files))
        a->files = files;
    else
        free(files);
    *out = &a->d.base;
    return 0;
}

static const struct xp_option_decl nx_options[] = {
    {"allow-partial", XP_OPT_BOOL, XP_OPT_FLAG, 0, 0, NULL,
     "convert runs whose export did not finish (no part_0), naming what is "
     "missing"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

const struct xp_adapter_type xp_neptune_export_adapter = {
    .abi = XP_ADAPTER_ABI,
    .name = "neptune-export",
    .summary = "folders written by neptune-exporter (data/<project>/<run>_part_<n>.parquet)",
    .caps = XP_CAP_READ | XP_CAP_NO_NETWORK,
    .open = nx_open,
    .close = nx_close,
    .list_experiments = nx_list,
    .read_experiment = nx_read,
    .options = nx_options,
};
