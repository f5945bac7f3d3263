/* The neptune-scale adapter (read side): runs that Neptune's 3.x client
 * (neptune-ai/neptune-client-scale) left in offline or async mode, one
 * run_operations.sqlite3 in each `<project>_<run_id>_<time_ns>/` folder of
 * `.neptune/` (src/neptune_scale/api/run.py
 * _resolve_run_storage_directory_path). PATH may be that database, a run
 * folder, a .neptune folder or the folder holding it. The project and run
 * id are the database's metadata row (the folder name is a sanitised,
 * shortened form of them). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "nps.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/iso8601.h"
#include "xport/json.h"

#define DB_NAME "run_operations.sqlite3"

struct ns_adapter {
    struct xp_disk_adapter d; /* base; src: the file or folder, selection, allow-partial */
};

/* ---- finding runs ------------------------------------------------------- */

struct found {
    char **dbs;
    size_t n;
};

static void add_db(struct found *f, const char *db)
{
    f->dbs = xp_realloc(f->dbs, (f->n + 1) * sizeof(char *));
    f->dbs[f->n++] = xp_strdup(db);
}

/* Run folders directly below dir. */
static void scan(struct found *f, const char *dir)
{
    char **names;
    size_t n;
    if (xp_list_dir(&names, &n, dir)) {
        xp_error_clear();
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *sub = xp_path_join(dir, names[i]);
        char *db = xp_path_join(sub, DB_NAME);
        if (xp_is_dir(sub) && xp_is_file(db))
            add_db(f, db);
        free(db);
        free(sub);
    }
    xp_strv_free(names);
}

static int find_runs(struct found *f, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (xp_is_file(path) && !strcmp(base, DB_NAME)) {
        add_db(f, path);
        return 0;
    }
    char *db = xp_path_join(path, DB_NAME);
    if (xp_is_file(db)) {
        add_db(f, db);
        free(db);
        return 0;
    }
    free(db);
    scan(f, path);
    char *dot = xp_path_join(path, ".neptune");
    if (xp_is_dir(dot))
        scan(f, dot);
    free(dot);
    if (!f->n)
        return xp_error_set(XP_ENOTFOUND, "no neptune-scale run (a folder holding "
                            DB_NAME ") in '%s'", path);
    return 0;
}

static void found_release(struct found *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->dbs[i]);
    free(f->dbs);
}

/* WORKSPACE/PROJECT of the metadata row. */
static int split_project(const char *db, const char *project, char **ws, char **pr)
{
    const char *sl = strchr(project, '/');
    if (!sl || sl == project || !sl[1])
        return xp_error_set(XP_EINVALID, "'%s': project '%s' is not "
                            "WORKSPACE/PROJECT", db, project);
    *ws = xp_strndup(project, (size_t)(sl - project));
    *pr = xp_strdup(sl + 1);
    return 0;
}

/* The run folder of a database path ("." for a bare file name). */
static char *folder_of(const char *db)
{
    size_t n = strlen(db), k = strlen(DB_NAME);
    return n > k ? xp_strndup(db, n - k - 1) : xp_strdup(".");
}

struct listed {
    char *ws, *pr, *run, *db;
};

static int ns_list(struct xp_adapter *base, xp_experiment_cb cb, void *payload)
{
    struct ns_adapter *a = (struct ns_adapter *)base;
    struct found f = {NULL, 0};
    int rc = find_runs(&f, a->d.src.sel.path);
    struct listed *v = xp_calloc(f.n + 1, sizeof(*v));
    size_t n = 0;
    for (size_t i = 0; i < f.n && !rc; i++) {
        char *pv, *pp, *pr;
        if (!nps_db_peek(f.dbs[i], &pv, &pp, &pr)) {
            int bad = split_project(f.dbs[i], pp, &v[n].ws, &v[n].pr);
            free(pv);
            free(pp);
            if (!bad) {
                v[n].run = pr;
                v[n++].db = xp_strdup(f.dbs[i]);
                continue;
            }
            free(pr);
            xp_error_clear();
        }
        struct nps_db *db;
        const char *ver, *proj, *run;
        if (nps_db_open(&db, f.dbs[i]) ||
            (nps_db_meta(db, &ver, &proj, &run),
             split_project(f.dbs[i], proj, &v[n].ws, &v[n].pr))) {
            /* unreadable: listed by its folder name, so that reading it
             * fails with the reason and the other runs go on */
            xp_error_clear();
            if (db)
                nps_db_close(db);
            char *dir = folder_of(f.dbs[i]);
            const char *b = strrchr(dir, '/');
            v[n].ws = xp_strdup("unknown");
            v[n].pr = xp_strdup("unknown");
            v[n].run = xp_strdup(b ? b + 1 : dir);
            v[n++].db = xp_strdup(f.dbs[i]);
            free(dir);
            continue;
        }
        v[n].run = xp_strdup(run);
        v[n++].db = xp_strdup(f.dbs[i]);
        nps_db_close(db);
    }
    for (size_t i = 0; i < n && !rc; i++) {
        /* two folders of one run id (two clients given the same id) are
         * two experiments: the later ones named after their folder too */
        int dup = 0;
        for (size_t j = 0; j < i; j++)
            dup |= !strcmp(v[j].ws, v[i].ws) && !strcmp(v[j].pr, v[i].pr) &&
                   !strcmp(v[j].run, v[i].run);
        char *name = xp_strdup(v[i].run);
        if (dup) {
            char *dir = folder_of(v[i].db);
            const char *b = strrchr(dir, '/');
            struct xp_buf nb = XP_BUF_INIT;
            xp_buf_printf(&nb, "%s@%s", v[i].run, b ? b + 1 : dir);
            free(name);
            name = xp_buf_detach(&nb);
            free(dir);
        }
        if (xp_location_selects(&a->d.src.sel, v[i].ws, v[i].pr, name)) {
            struct xp_experiment_ref ref = {v[i].ws, v[i].pr, name, v[i].db, -1};
            rc = cb(&ref, payload);
        }
        free(name);
    }
    for (size_t i = 0; i < n; i++) {
        free(v[i].ws);
        free(v[i].pr);
        free(v[i].run);
        free(v[i].db);
    }
    free(v);
    found_release(&f);
    return rc;
}

/* ---- the reader --------------------------------------------------------- */

struct ns_reader {
    struct xp_reader base;
    struct ns_adapter *a;
    struct nps_db *db;
    struct nps_run run;
    struct nps_emit *em;
    char *ws, *pr, *name, *dir;
    struct xp_experiment_meta meta;
    const char **tags;
    char created[XP_ISO8601_BUFSZ];
    struct json_object *vendor, *uploads;
    int64_t prev_seq;
};

static void ns_reader_free(struct xp_reader *base)
{
    struct ns_reader *r = (struct ns_reader *)base;
    if (!r)
        return;
    nps_emit_free(r->em);
    nps_run_release(&r->run);
    nps_db_close(r->db);
    json_object_put(r->vendor);
    json_object_put(r->uploads);
    free(r->tags);
    free(r->ws);
    free(r->pr);
    free(r->name);
    free(r->dir);
    free(r);
}

static int ns_next(struct xp_reader *base, const struct xp_record **out)
{
    struct ns_reader *r = (struct ns_reader *)base;
    if (xp_ctx_cancelled(r->a->d.base.ctx))
        return xp_error_set(XP_ECANCEL, "interrupted");
    int rc = nps_emit_next(r->em, out);
    if (rc || (*out)->kind != XP_REC_END)
        return rc;
    if ((rc = npt_finish(&r->run.atoms, r->name, nps_db_path(r->db),
                         r->a->d.src.allow_partial)))
        *out = NULL;
    return rc;
}

static int on_row(void *payload, int64_t seq, int64_t ts_ms, int64_t type,
                  const void *blob, size_t len)
{
    struct ns_reader *r = payload;
    (void)ts_ms;
    if (xp_ctx_cancelled(r->a->d.base.ctx))
        return xp_error_set(XP_ECANCEL, "interrupted");
    if (!r->prev_seq && seq > 1)
        xp_lost_add(&r->run.atoms.lost, "operations 1-%" PRId64 " were acknowledged by "
                 "Neptune and removed from the database", seq - 1);
    else if (r->prev_seq && seq != r->prev_seq + 1)
        xp_lost_add(&r->run.atoms.lost, "operations %" PRId64 "-%" PRId64 " are missing",
                 r->prev_seq + 1, seq - 1);
    r->prev_seq = seq;
    return nps_apply(&r->run, seq, type, blob, len);
}

static struct json_object *build_vendor(struct ns_reader *r, const char *version,
                                        const char *project, const char *run_id)
{
    struct json_object *v = json_object_new_object(), *errs = NULL;
    json_object_object_add(v, "run_id", json_object_new_string(run_id));
    json_object_object_add(v, "project", json_object_new_string(project));
    json_object_object_add(v, "db_version", json_object_new_string(version));
    const char *b = strrchr(r->dir, '/');
    json_object_object_add(v, "folder", json_object_new_string(b ? b + 1 : r->dir));
    if (r->run.create)
        json_object_object_add(v, "create_run", json_object_get(r->run.create));
    struct json_object *sys = json_object_new_object(),
                       *types = json_object_new_object();
    size_t n;
    struct npt_attr **at = npt_sorted(&r->run.atoms, &n);
    for (size_t i = 0; i < n; i++) {
        json_object_object_add(types, at[i]->path,
                               json_object_new_string(npt_type_name(at[i]->type)));
        if (!strncmp(at[i]->path, "sys/", 4))
            json_object_object_add(sys, at[i]->path + 4, npt_atom_json(at[i]));
    }
    free(at);
    json_object_object_add(v, "sys", sys);
    json_object_object_add(v, "attribute_types", types);
    json_object_object_add(v, "operations", json_object_new_int64(r->run.rows));
    if (r->run.rows) {
        json_object_object_add(v, "first_sequence_id",
                               json_object_new_int64(r->run.first_seq));
        json_object_object_add(v, "last_sequence_id",
                               json_object_new_int64(r->run.last_seq));
    }
    if (r->run.atoms.rejected)
        json_object_object_add(v, "rejected_operations",
                               json_object_new_int64(r->run.atoms.rejected));
    if (!nps_db_errors(r->db, &errs) && json_object_array_length(errs))
        json_object_object_add(v, "operation_errors", errs);
    else
        json_object_put(errs);
    xp_error_clear();
    if (r->uploads)
        json_object_object_add(v, "file_upload_requests",
                               json_object_get(r->uploads));
    return v;
}

static void fill_meta(struct ns_reader *r, const char *run_id)
{
    struct xp_experiment_meta *m = &r->meta;
    m->workspace = r->ws;
    m->project = r->pr;
    m->name = r->name;
    struct npt_attr *d = npt_get(&r->run.atoms, "sys/description"),
                    *t = npt_get(&r->run.atoms, "sys/tags");
    if (d && d->type == NPT_STRING && *d->v.s)
        m->description = d->v.s;
    if (t && t->type == NPT_STRING_SET) {
        r->tags = xp_calloc(t->nset + 1, sizeof(char *));
        for (size_t i = 0; i < t->nset; i++)
            r->tags[i] = t->set[i];
        m->tags = r->tags;
        m->ntags = t->nset;
    }
    const char *ct = xp_json_str(r->run.create, "creation_time");
    if (ct && strlen(ct) < sizeof(r->created)) {
        strcpy(r->created, ct);
        m->created_at = m->started_at = r->created;
    }
    m->source_vendor = "neptune";
    m->source_id = run_id;
    m->vendor = r->vendor;
}

static int ns_read(struct xp_reader **out, struct xp_adapter *base,
                   const struct xp_experiment_ref *ref,
                   const struct xp_read_opts *ro)
{
    struct ns_adapter *a = (struct ns_adapter *)base;
    *out = NULL;
    if (!ref || !ref->key || !ref->name)
        return xp_error_set(XP_ENOTFOUND, "no neptune-scale run");
    struct ns_reader *r = xp_calloc(1, sizeof(*r));
    r->base.version = XP_READER_VERSION;
    r->base.next = ns_next;
    r->base.free = ns_reader_free;
    r->a = a;
    r->name = xp_strdup(ref->name);
    r->dir = folder_of(ref->key);
    char *real = realpath(r->dir, NULL); /* source paths are absolute */
    if (real) {
        free(r->dir);
        r->dir = real;
    }
    const char *ver, *proj, *run;
    int rc = nps_db_open(&r->db, ref->key);
    if (!rc) {
        nps_db_meta(r->db, &ver, &proj, &run);
        rc = split_project(ref->key, proj, &r->ws, &r->pr);
    }
    if (!rc) {
        nps_run_init(&r->run, base->ctx, run, nps_db_path(r->db));
        rc = nps_db_operations(r->db, on_row, r);
    }
    if (!rc && !r->run.rows) {
        int64_t max = nps_db_max_seq(r->db);
        if (max > 0)
            xp_lost_add(&r->run.atoms.lost, "operations 1-%" PRId64 " were acknowledged "
                     "by Neptune and removed from the database", max);
    }
    if (!rc)
        rc = nps_db_files(r->db, &r->uploads);
    if (rc) {
        ns_reader_free(&r->base);
        return rc;
    }
    r->vendor = build_vendor(r, ver, proj, run);
    fill_meta(r, run);
    struct nps_emit_opts eo = {ro ? ro->resources : 0, ro ? ro->only_series : NULL,
                               &r->meta, r->uploads, r->dir};
    nps_emit_new(&r->em, &r->run, &eo);
    *out = &r->base;
    return 0;
}

/* ---- open / close ------------------------------------------------------- */

static int ns_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                   const struct xp_location *loc, const struct xp_options *opts,
                   struct xp_ctx *ctx)
{
    struct xp_disk_adapter *d;
    int rc = xp_disk_adapter_new(&d, sizeof(struct ns_adapter), type, loc, opts, ctx,
                                 XP_DISK_DIR | XP_DISK_FILE);
    *out = d ? &d->base : NULL;
    return rc;
}

static const struct xp_option_decl ns_options[] = {
    {"allow-partial", XP_OPT_BOOL, XP_OPT_FLAG, 0, 0, NULL,
     "convert runs whose operations are partly gone, naming what was lost"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

const struct xp_adapter_type xp_neptune_scale_adapter = {
    .abi = XP_ADAPTER_ABI,
    .name = "neptune-scale",
    .summary = "Neptune 3.x client (neptune-scale) offline runs: run_operations.sqlite3",
    .caps = XP_CAP_READ | XP_CAP_NO_NETWORK,
    .open = ns_open,
    .close = xp_disk_adapter_close,
    .list_experiments = ns_list,
    .read_experiment = ns_read,
    .options = ns_options,
};
