/* The neptune-backup adapter (read side): the WS/PROJECT/RUN-ID folders
 * that Neptune's backup script writes (neptune-ai/examples,
 * utils/migration_tools/backup_neptune/bulk_download_metadata.py): atoms
 * and string sets in simple_metadata.json, float and string series as
 * <path>.csv, everything else (files, file series folders, file set zips,
 * artifacts) as files. PATH may be the download folder, a workspace, a
 * project or a run folder. CSV timestamps are naive local times of the
 * machine that ran the script: --opt tz=ZONE (default: the local zone). */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "npb.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/iso8601.h"
#include "xport/json.h"

struct nb_adapter {
    struct xp_disk_adapter d; /* base; src: the folder, selection, allow-partial */
    char *tz;
};

#define META "simple_metadata.json"

static int has_meta(const char *dir)
{
    char *p = xp_path_join(dir, META);
    int yes = xp_is_file(p);
    free(p);
    return yes;
}

/* Real sub-folders of dir. */
static char **subdirs(const char *dir, size_t *n)
{
    char **names;
    size_t k;
    *n = 0;
    if (xp_list_dir(&names, &k, dir)) {
        xp_error_clear();
        return NULL;
    }
    char **out = xp_calloc(k + 1, sizeof(char *));
    for (size_t i = 0; i < k; i++) {
        char *d = xp_path_join(dir, names[i]);
        if (xp_segment_safe(names[i]) && xp_is_real_dir(d))
            out[(*n)++] = d;
        else
            free(d);
    }
    xp_strv_free(names);
    return out;
}

/* Run folders: those at the shallowest depth (0 to 3 below PATH) where a
 * folder holds simple_metadata.json; every folder at that depth is a run
 * (the script may have stopped before writing the file). */
static char **find_runs(const char *path, size_t *nruns)
{
    char **level = xp_calloc(2, sizeof(char *));
    size_t n = 1;
    level[0] = xp_strdup(path);
    for (int depth = 0; depth <= 3; depth++) {
        for (size_t i = 0; i < n; i++)
            if (has_meta(level[i])) {
                *nruns = n;
                return level;
            }
        char **next = NULL;
        size_t nn = 0;
        for (size_t i = 0; i < n; i++) {
            size_t k;
            char **sub = subdirs(level[i], &k);
            next = xp_realloc(next, (nn + k + 1) * sizeof(char *));
            for (size_t j = 0; j < k; j++)
                next[nn++] = sub[j];
            free(sub);
        }
        xp_strv_free(level);
        if (!next)
            next = xp_calloc(1, sizeof(char *));
        next[nn] = NULL;
        level = next;
        n = nn;
    }
    xp_strv_free(level);
    *nruns = 0;
    return NULL;
}

/* Workspace, project and run of a run folder: its last three names. */
static void names_of(const char *dir, char **ws, char **proj, char **run)
{
    char *real = realpath(dir, NULL);
    char *p = real ? real : xp_strdup(dir);
    char *parts[3] = {NULL, NULL, NULL};
    for (int i = 2; i >= 0; i--) {
        char *s = strrchr(p, '/');
        parts[i] = xp_strdup(s ? s + 1 : p);
        if (s)
            *s = '\0';
        else
            *p = '\0';
    }
    *ws = *parts[0] ? parts[0] : (free(parts[0]), xp_strdup("backup"));
    *proj = *parts[1] ? parts[1] : (free(parts[1]), xp_strdup("backup"));
    *run = parts[2];
    free(p);
}

static int nb_list(struct xp_adapter *base, xp_experiment_cb cb, void *payload)
{
    struct nb_adapter *a = (struct nb_adapter *)base;
    size_t n;
    char **runs = find_runs(a->d.src.sel.path, &n);
    if (!runs)
        return xp_error_set(XP_ENOTFOUND, "no backup runs (folders with %s) in '%s'",
                            META, a->d.src.sel.path);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char *ws, *proj, *run;
        names_of(runs[i], &ws, &proj, &run);
        if (xp_location_selects(&a->d.src.sel, ws, proj, run)) {
            struct xp_experiment_ref ref = {ws, proj, run, runs[i], -1};
            rc = cb(&ref, payload);
        }
        free(ws);
        free(proj);
        free(run);
    }
    xp_strv_free(runs);
    return rc;
}

/* ---- the reader --------------------------------------------------------- */

struct nb_reader {
    struct xp_reader base;
    struct nb_adapter *a;
    char *dir, *ws, *proj, *name;
    struct npb_tz tz;
    struct npt_run run;
    struct npt_emit *em;
    struct xp_experiment_meta meta;
    const char **tags;
    char created[64];
    struct json_object *vendor, *metadata, *repr, *other, *failed;
    int partial;
};

static void nb_reader_free(struct xp_reader *base)
{
    struct nb_reader *r = (struct nb_reader *)base;
    if (!r)
        return;
    npt_emit_free(r->em);
    npt_run_release(&r->run);
    npb_tz_release(&r->tz);
    json_object_put(r->vendor);
    json_object_put(r->metadata);
    free(r->tags);
    free(r->dir);
    free(r->ws);
    free(r->proj);
    free(r->name);
    free(r);
}

static int nb_next(struct xp_reader *base, const struct xp_record **out)
{
    struct nb_reader *r = (struct nb_reader *)base;
    if (xp_ctx_cancelled(r->a->d.base.ctx))
        return xp_error_set(XP_ECANCEL, "interrupted");
    int rc = npt_emit_next(r->em, out);
    if (rc || (*out)->kind != XP_REC_END)
        return rc;
    if ((rc = npt_finish(&r->run, r->name, r->dir, r->a->d.src.allow_partial)))
        *out = NULL;
    return rc;
}

/* One simple_metadata.json value as the attribute it was. */
static void meta_value(struct nb_reader *r, const char *key, struct json_object *v)
{
    struct npt_attr *a;
    switch (json_object_get_type(v)) {
    case json_type_double:
        npt_add(&r->run, key, NPT_FLOAT)->v.d = json_object_get_double(v);
        return;
    case json_type_int:
        npt_add(&r->run, key, NPT_INT)->v.i = json_object_get_int64(v);
        return;
    case json_type_boolean:
        npt_add(&r->run, key, NPT_BOOL)->v.b = json_object_get_boolean(v);
        return;
    case json_type_string: {
        const char *s = json_object_get_string(v);
        size_t n = (size_t)json_object_get_string_len(v);
        int64_t ms;
        int had;
        if (*s == '{' || !strcmp(s, "set()")) {
            a = npt_add(&r->run, key, NPT_STRING_SET);
            if (!npb_parse_set(s, a)) {
                json_object_object_add(r->repr, key, json_object_get(v));
                return;
            }
        } else if (strlen(s) == n && !npb_parse_datetime(s, n, &r->tz, &ms, &had)) {
            npt_add(&r->run, key, NPT_DATETIME)->v.ms = ms;
            json_object_object_add(r->repr, key, json_object_get(v));
            return;
        }
        a = npt_add(&r->run, key, NPT_STRING);
        a->v.s = xp_strndup(s, n);
        return;
    }
    default:
        json_object_object_add(r->other, key, json_object_get(v));
    }
}

/* Every file under the run folder, depth first: series CSVs into series,
 * the rest as files at their own relative path. */
static int walk(struct nb_reader *r, const char *dir, const char *rel, int depth)
{
    char **names;
    size_t n;
    int rc = xp_list_dir(&names, &n, dir);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && !rc; i++) {
        char *full = xp_path_join(dir, names[i]);
        char *sub = *rel ? xp_path_join(rel, names[i]) : xp_strdup(names[i]);
        struct stat st;
        if (!xp_segment_safe(names[i]) || lstat(full, &st) != 0) {
            xp_lost_add(&r->run.lost, "'%s' has an unsafe name", full);
        } else if (S_ISDIR(st.st_mode)) {
            if (depth < 64)
                rc = walk(r, full, sub, depth + 1);
        } else if (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode)) {
            xp_lost_add(&r->run.lost, "'%s' is not a regular file", full);
        } else if (!*rel && !strcmp(names[i], META)) {
            /* read already */
        } else {
            size_t l = strlen(sub);
            int is_file = 1;
            if (l > 4 && !strcmp(sub + l - 4, ".csv")) {
                char *attr = xp_strndup(sub, l - 4);
                rc = npb_read_csv(&r->run, full, attr, &r->tz);
                free(attr);
                is_file = rc == 1;
                if (rc == 1)
                    rc = 0;
            }
            if (is_file && !rc) {
                struct npt_attr *a = npt_add(&r->run, sub, NPT_FILE);
                a->ext = xp_strdup("");
                a->file_path = realpath(full, NULL);
                if (!a->file_path)
                    a->file_path = xp_strdup(full);
            }
        }
        free(sub);
        free(full);
    }
    xp_strv_free(names);
    return rc;
}

/* The backup script's own log (neptune_backup_<time>.log, written where it
 * ran, often the download folder): "... INFO Downloading WS/PROJ/RUN to
 * PATH" starts a run, "... ERROR Error while downloading NAMESPACE" is the
 * attribute it stopped that run at. Looked for in the three folders above
 * the run folder. */
static void script_errors(struct nb_reader *r)
{
    struct xp_buf want = XP_BUF_INIT;
    xp_buf_printf(&want, " INFO Downloading %s/%s/%s to ", r->ws, r->proj, r->name);
    char *dir = realpath(r->dir, NULL);
    for (int up = 0; dir && up < 3; up++) {
        char *sl = strrchr(dir, '/');
        if (!sl || sl == dir)
            break;
        *sl = '\0';
        char **names;
        size_t n;
        if (xp_list_dir(&names, &n, dir)) {
            xp_error_clear();
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(names[i]);
            if (strncmp(names[i], "neptune_backup_", 15) || l < 20 ||
                strcmp(names[i] + l - 4, ".log"))
                continue;
            char *p = xp_path_join(dir, names[i]);
            struct xp_buf b = XP_BUF_INIT;
            if (!xp_read_file(&b, p, (size_t)64 << 20)) {
                int ours = 0;
                for (char *line = b.ptr; line && *line;) {
                    char *nl = strchr(line, '\n');
                    if (nl)
                        *nl = '\0';
                    if (strstr(line, " INFO Downloading "))
                        ours = strstr(line, want.ptr) != NULL;
                    static const char mark[] = " ERROR Error while downloading ";
                    const char *err = strstr(line, mark);
                    if (ours && err) {
                        const char *ns = err + sizeof(mark) - 1;
                        r->partial = 1;
                        if (!r->failed)
                            r->failed = json_object_new_array();
                        json_object_array_add(r->failed, json_object_new_string(ns));
                        xp_ctx_warn(r->a->d.base.ctx, "run '%s' in '%s' is partial: the backup "
                                    "script failed on '%s' and stopped there ('%s')",
                                    r->name, r->dir, ns, p);
                    }
                    line = nl ? nl + 1 : NULL;
                }
            }
            xp_error_clear();
            xp_buf_release(&b);
            free(p);
        }
        xp_strv_free(names);
    }
    free(dir);
    xp_buf_release(&want);
}

static void fill(struct nb_reader *r)
{
    struct xp_experiment_meta *m = &r->meta;
    struct npt_run *run = &r->run;
    m->workspace = r->ws;
    m->project = r->proj;
    m->name = r->name;
    struct npt_attr *d = npt_get(run, "sys/description"), *t = npt_get(run, "sys/tags"),
                    *f = npt_get(run, "sys/failed"), *c = npt_get(run, "sys/creation_time");
    if (d && d->type == NPT_STRING && *d->v.s)
        m->description = d->v.s;
    if (t && t->type == NPT_STRING_SET) {
        r->tags = xp_calloc(t->nset + 1, sizeof(char *));
        for (size_t i = 0; i < t->nset; i++)
            r->tags[i] = t->set[i];
        m->tags = r->tags;
        m->ntags = t->nset;
    }
    if (f && f->type == NPT_BOOL && f->v.b)
        m->status = "FAILED";
    if (c && c->type == NPT_DATETIME) {
        xp_iso8601_format_ms(r->created, c->v.ms);
        m->created_at = m->started_at = r->created;
    }
    m->source_vendor = "neptune";
    m->source_id = r->name;
    m->metadata = r->metadata;
    m->vendor = r->vendor;
}

static struct json_object *build_vendor(struct nb_reader *r)
{
    struct json_object *v = json_object_new_object(), *sys = json_object_new_object(),
                       *types = json_object_new_object();
    size_t n;
    struct npt_attr **at = npt_sorted(&r->run, &n);
    for (size_t i = 0; i < n; i++) {
        struct npt_attr *a = at[i];
        if (a->type != NPT_FILE)
            json_object_object_add(types, a->path,
                                   json_object_new_string(npt_type_name(a->type)));
        if (strncmp(a->path, "sys/", 4))
            continue;
        struct json_object *val = NULL;
        switch (a->type) {
        case NPT_FLOAT: val = json_object_new_double(a->v.d); break;
        case NPT_INT: val = json_object_new_int64(a->v.i); break;
        case NPT_BOOL: val = json_object_new_boolean(a->v.b); break;
        case NPT_STRING: val = json_object_new_string(a->v.s); break;
        case NPT_DATETIME: val = json_object_new_int64(a->v.ms); break;
        case NPT_STRING_SET:
            val = json_object_new_array();
            for (size_t j = 0; j < a->nset; j++)
                json_object_array_add(val, json_object_new_string(a->set[j]));
            break;
        default: break;
        }
        if (val)
            json_object_object_add(sys, a->path + 4, val);
    }
    free(at);
    json_object_object_add(v, "sys", sys);
    json_object_object_add(v, "attribute_types", types);
    json_object_object_add(v, "python_repr", r->repr);
    json_object_object_add(v, "other_values", r->other);
    if (r->partial)
        json_object_object_add(v, "partial", json_object_new_boolean(1));
    if (r->failed)
        json_object_object_add(v, "failed_attributes", r->failed);
    r->failed = NULL;
    r->repr = r->other = NULL;
    return v;
}

static int nb_read(struct xp_reader **out, struct xp_adapter *base,
                   const struct xp_experiment_ref *ref, const struct xp_read_opts *ro)
{
    struct nb_adapter *a = (struct nb_adapter *)base;
    *out = NULL;
    if (!ref || !ref->key || !xp_is_dir(ref->key))
        return xp_error_set(XP_ENOTFOUND, "no backup run folder '%s'",
                            ref && ref->key ? ref->key : "");
    struct nb_reader *r = xp_calloc(1, sizeof(*r));
    r->base.version = XP_READER_VERSION;
    r->base.next = nb_next;
    r->base.free = nb_reader_free;
    r->a = a;
    r->dir = xp_strdup(ref->key);
    names_of(r->dir, &r->ws, &r->proj, &r->name);
    npt_run_init(&r->run, base->ctx, r->name);
    r->repr = json_object_new_object();
    r->other = json_object_new_object();
    int rc = npb_tz_load(&r->tz, a->tz);
    struct json_object *doc = NULL;
    char *mp = xp_path_join(r->dir, META);
    if (!rc && xp_is_file(mp)) {
        rc = xp_json_read_file(&doc, mp);
        if (!rc && !json_object_is_type(doc, json_type_object))
            rc = xp_error_set(XP_EINVALID, "'%s' is not a JSON object", mp);
        if (!rc) {
            json_object_object_foreach(doc, k, v)
                meta_value(r, k, v);
        }
    } else if (!rc) {
        /* the script writes it after the first attribute it fetched, and
         * stops a run at the first attribute that fails */
        r->partial = 1;
        xp_ctx_warn(base->ctx, "run '%s' in '%s' is partial: there is no %s "
                    "(the backup script stopped before its first attribute)",
                    r->name, r->dir, META);
    }
    free(mp);
    json_object_put(doc);
    if (!rc)
        rc = walk(r, r->dir, "", 0);
    if (rc) {
        json_object_put(r->repr);
        json_object_put(r->other);
        nb_reader_free(&r->base);
        return rc;
    }
    script_errors(r);
    r->metadata = json_object_new_object();
    json_object_object_add(r->metadata, "csv_time_zone", json_object_new_string(r->tz.name));
    r->vendor = build_vendor(r);
    fill(r);
    struct npt_emit_opts eo = {ro ? ro->resources : 0, ro ? ro->only_series : NULL,
                               &r->meta};
    npt_emit_new(&r->em, &r->run, &eo);
    *out = &r->base;
    return 0;
}

/* ---- open / close ------------------------------------------------------- */

static void nb_close(struct xp_adapter *base)
{
    struct nb_adapter *a = (struct nb_adapter *)base;
    if (!a)
        return;
    free(a->tz);
    xp_disk_adapter_close(base);
}

static int nb_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                   const struct xp_location *loc, const struct xp_options *opts,
                   struct xp_ctx *ctx)
{
    struct xp_disk_adapter *d;
    *out = NULL;
    int rc = xp_disk_adapter_new(&d, sizeof(struct nb_adapter), type, loc, opts, ctx,
                                 XP_DISK_DIR);
    if (rc)
        return rc;
    const char *tzname = xp_options_get(opts, "tz");
    struct npb_tz tz;
    if ((rc = npb_tz_load(&tz, tzname))) {
        xp_disk_adapter_close(&d->base);
        return rc;
    }
    xp_ctx_warn(ctx, "reading the backup's CSV timestamps as local times of '%s'%s",
                tz.name, tzname ? "" : " (this machine's zone; --opt tz=ZONE to change)");
    npb_tz_release(&tz);
    ((struct nb_adapter *)d)->tz = xp_strdup(tzname);
    *out = &d->base;
    return 0;
}

static const struct xp_option_decl nb_options[] = {
    {"tz", XP_OPT_STRING, 0, 0, 0, NULL,
     "IANA zone of the CSV files' naive times (default: this machine's)"},
    {"allow-partial", XP_OPT_BOOL, XP_OPT_FLAG, 0, 0, NULL,
     "convert runs the backup script stopped early, naming what is missing"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

const struct xp_adapter_type xp_neptune_backup_adapter = {
    .abi = XP_ADAPTER_ABI,
    .name = "neptune-backup",
    .summary = "folders written by Neptune's backup script (WS/PROJECT/RUN-ID)",
    .caps = XP_CAP_READ | XP_CAP_NO_NETWORK,
    .open = nb_open,
    .close = nb_close,
    .list_experiments = nb_list,
    .read_experiment = nb_read,
    .options = nb_options,
};
