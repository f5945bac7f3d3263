/* The neptune-offline adapter (read side): containers that neptune-client
 * 1.x left under .neptune/{offline,async}/ (src/neptune/cli/collect.py,
 * cli/utils.py), one experiment per container, its execution folders
 * replayed in order. PATH may be a .neptune folder, the folder holding it,
 * an offline/ or async/ folder, a container folder or an execution folder.
 * The project is not on disk: --opt project=WORKSPACE/PROJECT (or
 * NEPTUNE_PROJECT, as `neptune sync` reads it). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "npt.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/iso8601.h"
#include "xport/json.h"

struct no_adapter {
    struct xp_disk_adapter d; /* base; src: the folder, selection, allow-partial */
    char *workspace, *project;
};

/* ---- finding containers ------------------------------------------------- */

struct container {
    char *type, *id, *mode;
    char **dirs; /* execution folders, in replay order */
    char **keys; /* their sort keys */
    size_t ndirs;
};

struct found {
    struct container *v;
    size_t n;
    const struct xp_ctx *ctx;
};

/* Does dir hold a queue (data-N.log, metadata.json or the version files)? */
static int is_exec_dir(const char *dir)
{
    char **names;
    size_t n;
    if (xp_list_dir(&names, &n, dir)) {
        xp_error_clear();
        return 0;
    }
    int yes = 0;
    for (size_t i = 0; i < n && !yes; i++)
        yes = !strncmp(names[i], "data-", 5) || !strcmp(names[i], "metadata.json") ||
              !strcmp(names[i], "last_put_version");
    xp_strv_free(names);
    return yes;
}

/* An execution folder's place in the replay: metadata.json's createdAt
 * when it has one, then its name. */
static char *order_key(const char *dir)
{
    char *p = xp_path_join(dir, "metadata.json");
    struct json_object *o = NULL;
    struct xp_buf k = XP_BUF_INIT;
    if (xp_is_file(p) && !xp_json_read_file(&o, p) && xp_json_str(o, "createdAt"))
        xp_buf_puts(&k, xp_json_str(o, "createdAt"));
    xp_error_clear();
    json_object_put(o);
    free(p);
    const char *b = strrchr(dir, '/');
    xp_buf_printf(&k, "\n%s", b ? b + 1 : dir);
    return xp_buf_detach(&k);
}

static void add_dir(struct found *f, const char *mode, const char *type,
                    const char *id, const char *dir)
{
    struct container *c = NULL;
    for (size_t i = 0; i < f->n && !c; i++)
        if (!strcmp(f->v[i].id, id) && !strcmp(f->v[i].type, type) &&
            !strcmp(f->v[i].mode, mode))
            c = &f->v[i];
    if (!c) {
        f->v = xp_realloc(f->v, (f->n + 1) * sizeof(*f->v));
        c = &f->v[f->n++];
        memset(c, 0, sizeof(*c));
        c->type = xp_strdup(type);
        c->id = xp_strdup(id);
        c->mode = xp_strdup(mode);
    }
    char *key = order_key(dir);
    size_t at = c->ndirs;
    while (at > 0 && strcmp(c->keys[at - 1], key) > 0)
        at--;
    c->dirs = xp_realloc(c->dirs, (c->ndirs + 1) * sizeof(char *));
    c->keys = xp_realloc(c->keys, (c->ndirs + 1) * sizeof(char *));
    memmove(c->dirs + at + 1, c->dirs + at, (c->ndirs - at) * sizeof(char *));
    memmove(c->keys + at + 1, c->keys + at, (c->ndirs - at) * sizeof(char *));
    c->dirs[at] = xp_strdup(dir);
    c->keys[at] = key;
    c->ndirs++;
}

/* A container folder's name: "<id>" (a run), "<type>__<id>" or
 * "<type>__<id>__<pid>__<random>" (cli/utils.py detect_*_dir). */
static int parse_name(const char *name, char **type, char **id)
{
    const char *parts[6];
    size_t lens[6], n = 0;
    const char *p = name;
    for (;;) {
        const char *s = strstr(p, "__");
        if (n == 6)
            return -1;
        parts[n] = p;
        lens[n++] = s ? (size_t)(s - p) : strlen(p);
        if (!s)
            break;
        p = s + 2;
    }
    if (n == 1) {
        *type = xp_strdup("run");
        *id = xp_strdup(name);
    } else if (n == 2 || n == 4 || n == 5) {
        *type = xp_strndup(parts[0], lens[0]);
        *id = xp_strndup(parts[1], lens[1]);
    } else {
        return -1;
    }
    if (!**type || !**id) {
        free(*type);
        free(*id);
        return -1;
    }
    return 0;
}

/* One container folder: a queue itself (structure 3) or a folder of
 * execution folders (structures 1 and 2). */
static void scan_container(struct found *f, const char *mode, const char *dir)
{
    const char *b = strrchr(dir, '/');
    char *type, *id;
    if (parse_name(b ? b + 1 : dir, &type, &id)) {
        xp_ctx_warn(f->ctx, "skipping '%s': not a Neptune container folder", dir);
        return;
    }
    if (is_exec_dir(dir)) {
        add_dir(f, mode, type, id, dir);
    } else {
        char **names;
        size_t n;
        if (!xp_list_dir(&names, &n, dir)) {
            for (size_t i = 0; i < n; i++) {
                char *d = xp_path_join(dir, names[i]);
                if (xp_segment_safe(names[i]) && xp_is_real_dir(d) && is_exec_dir(d))
                    add_dir(f, mode, type, id, d);
                free(d);
            }
            xp_strv_free(names);
        }
        xp_error_clear();
    }
    free(type);
    free(id);
}

static void scan_mode(struct found *f, const char *mode, const char *dir)
{
    char **names;
    size_t n;
    if (xp_list_dir(&names, &n, dir)) {
        xp_error_clear();
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *d = xp_path_join(dir, names[i]);
        if (xp_segment_safe(names[i]) && xp_is_real_dir(d))
            scan_container(f, mode, d);
        free(d);
    }
    xp_strv_free(names);
}

static const char *base_name(const char *p)
{
    const char *b = strrchr(p, '/');
    return b && b[1] ? b + 1 : p;
}

static int find_containers(struct found *f, const char *path)
{
    if (!xp_is_dir(path))
        return xp_error_set(XP_ENOTFOUND, "no such folder '%s'", path);
    char *tmp = xp_strdup(path);
    size_t l = strlen(tmp);
    while (l > 1 && tmp[l - 1] == '/')
        tmp[--l] = '\0';
    char *off = xp_path_join(tmp, "offline"), *asy = xp_path_join(tmp, "async"),
         *dot = xp_path_join(tmp, ".neptune");
    const char *b = base_name(tmp);
    if (is_exec_dir(tmp)) {
        /* an execution folder: exec-* inside a container folder, or the
         * container folder itself */
        char *parent = xp_strdup(tmp);
        char *s = strrchr(parent, '/');
        if (!strncmp(b, "exec-", 5) && s) {
            *s = '\0';
            char *type, *id;
            if (!parse_name(base_name(parent), &type, &id)) {
                add_dir(f, "async", type, id, tmp);
                free(type);
                free(id);
            }
        } else {
            scan_container(f, "offline", tmp);
        }
        free(parent);
    } else if (xp_is_real_dir(off) || xp_is_real_dir(asy)) {
        scan_mode(f, "async", asy);
        scan_mode(f, "offline", off);
    } else if (xp_is_real_dir(dot)) {
        free(off);
        free(asy);
        off = xp_path_join(dot, "offline");
        asy = xp_path_join(dot, "async");
        scan_mode(f, "async", asy);
        scan_mode(f, "offline", off);
    } else if (!strcmp(b, "async") || !strcmp(b, "offline")) {
        scan_mode(f, b, tmp);
    } else {
        scan_container(f, "offline", tmp);
    }
    free(off);
    free(asy);
    free(dot);
    free(tmp);
    return 0;
}

static void found_release(struct found *f)
{
    for (size_t i = 0; i < f->n; i++) {
        struct container *c = &f->v[i];
        free(c->type);
        free(c->id);
        free(c->mode);
        for (size_t j = 0; j < c->ndirs; j++) {
            free(c->dirs[j]);
            free(c->keys[j]);
        }
        free(c->dirs);
        free(c->keys);
    }
    free(f->v);
}

/* The reference key: mode, type, id and the folders, one a line. */
static char *ref_key(const struct container *c)
{
    struct xp_buf k = XP_BUF_INIT;
    xp_buf_printf(&k, "%s\n%s\n%s", c->mode, c->type, c->id);
    for (size_t i = 0; i < c->ndirs; i++)
        xp_buf_printf(&k, "\n%s", c->dirs[i]);
    return xp_buf_detach(&k);
}

static int no_list(struct xp_adapter *base, xp_experiment_cb cb, void *payload)
{
    struct no_adapter *a = (struct no_adapter *)base;
    struct found f = {NULL, 0, base->ctx};
    int rc = find_containers(&f, a->d.src.sel.path);
    for (size_t i = 0; i < f.n && !rc; i++) {
        if (!xp_location_selects(&a->d.src.sel, a->workspace, a->project, f.v[i].id))
            continue;
        char *key = ref_key(&f.v[i]);
        struct xp_experiment_ref ref = {a->workspace, a->project, f.v[i].id,
                                        key, -1};
        rc = cb(&ref, payload);
        free(key);
    }
    found_release(&f);
    return rc;
}

/* ---- the reader --------------------------------------------------------- */

struct no_reader {
    struct xp_reader base;
    struct no_adapter *a;
    struct npt_run run;
    struct npt_emit *em;
    char **lines; /* the key split: mode, type, id, folders... */
    size_t nlines;
    struct xp_experiment_meta meta;
    const char **tags;
    char created[XP_ISO8601_BUFSZ];
    struct json_object *vendor;
};

static void no_reader_free(struct xp_reader *base)
{
    struct no_reader *r = (struct no_reader *)base;
    if (!r)
        return;
    npt_emit_free(r->em);
    npt_run_release(&r->run);
    json_object_put(r->vendor);
    free(r->tags);
    for (size_t i = 0; i < r->nlines; i++)
        free(r->lines[i]);
    free(r->lines);
    free(r);
}

static int no_next(struct xp_reader *base, const struct xp_record **out)
{
    struct no_reader *r = (struct no_reader *)base;
    if (xp_ctx_cancelled(r->a->d.base.ctx))
        return xp_error_set(XP_ECANCEL, "interrupted");
    int rc = npt_emit_next(r->em, out);
    if (rc || (*out)->kind != XP_REC_END)
        return rc;
    if ((rc = npt_finish(&r->run, r->run.id, r->lines[3], r->a->d.src.allow_partial)))
        *out = NULL;
    return rc;
}

/* metadata.json's createdAt (Python's isoformat, "...+00:00") as UTC
 * "...Z"; empty when it is not a time. */
static void created_at(char out[XP_ISO8601_BUFSZ], const char *iso)
{
    int64_t sec;
    int32_t ns;
    out[0] = '\0';
    if (xp_iso8601_parse(iso, &sec, &ns))
        return;
    int digits = 0; /* as many fraction digits as the source wrote */
    if (iso[19] == '.')
        while (iso[20 + digits] >= '0' && iso[20 + digits] <= '9')
            digits++;
    xp_iso8601_format(out, sec, ns, digits);
}

static struct json_object *build_vendor(struct no_reader *r, const char *type)
{
    struct json_object *v = json_object_new_object(), *o = NULL;
    json_object_object_add(v, "container_type", json_object_new_string(type));
    json_object_object_add(v, "container_id", json_object_new_string(r->run.id));
    json_object_object_add(v, "mode", json_object_new_string(r->lines[0]));
    char *p = xp_path_join(r->lines[3], "metadata.json");
    if (xp_is_file(p) && !xp_json_read_file(&o, p))
        json_object_object_add(v, "metadata", o);
    xp_error_clear();
    free(p);
    struct json_object *sys = json_object_new_object(),
                       *types = json_object_new_object(),
                       *sets = json_object_new_object(),
                       *arts = json_object_new_object();
    size_t n;
    struct npt_attr **at = npt_sorted(&r->run, &n);
    for (size_t i = 0; i < n; i++) {
        struct npt_attr *a = at[i];
        json_object_object_add(types, a->path,
                               json_object_new_string(npt_type_name(a->type)));
        if (a->type == NPT_FILE_SET)
            json_object_object_add(sets, a->path, json_object_get(a->ops));
        if (a->type == NPT_ARTIFACT) {
            struct json_object *x = json_object_new_object();
            if (a->hash)
                json_object_object_add(x, "hash", json_object_new_string(a->hash));
            json_object_object_add(x, "operations", json_object_get(a->ops));
            json_object_object_add(arts, a->path, x);
        }
        if (strncmp(a->path, "sys/", 4) || a->type > NPT_STRING_SET)
            continue;
        struct json_object *val;
        switch (a->type) {
        case NPT_FLOAT: val = json_object_new_double(a->v.d); break;
        case NPT_INT: val = json_object_new_int64(a->v.i); break;
        case NPT_BOOL: val = json_object_new_boolean(a->v.b); break;
        case NPT_STRING: val = json_object_new_string(a->v.s); break;
        case NPT_DATETIME: val = json_object_new_int64(a->v.ms); break;
        default:
            val = json_object_new_array();
            for (size_t j = 0; j < a->nset; j++)
                json_object_array_add(val, json_object_new_string(a->set[j]));
        }
        json_object_object_add(sys, a->path + 4, val);
    }
    free(at);
    json_object_object_add(v, "sys", sys);
    json_object_object_add(v, "attribute_types", types);
    json_object_object_add(v, "file_sets", sets);
    json_object_object_add(v, "artifacts", arts);
    struct json_object *dirs = json_object_new_array();
    for (size_t i = 3; i < r->nlines; i++)
        json_object_array_add(dirs, json_object_new_string(base_name(r->lines[i])));
    json_object_object_add(v, "folders", dirs);
    json_object_object_add(v, "operations", json_object_new_int64(r->run.nops));
    if (r->run.rejected)
        json_object_object_add(v, "rejected_operations",
                               json_object_new_int64(r->run.rejected));
    return v;
}

static void fill_meta(struct no_reader *r)
{
    struct xp_experiment_meta *m = &r->meta;
    struct npt_run *run = &r->run;
    m->workspace = r->a->workspace;
    m->project = r->a->project;
    m->name = run->id;
    struct npt_attr *d = npt_get(run, "sys/description"),
                    *t = npt_get(run, "sys/tags"), *f = npt_get(run, "sys/failed");
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
    created_at(r->created, xp_json_str(xp_json_get(r->vendor, "metadata"), "createdAt"));
    if (r->created[0])
        m->created_at = m->started_at = r->created;
    m->source_vendor = "neptune";
    m->source_id = run->id;
    m->vendor = r->vendor;
}

static int no_read(struct xp_reader **out, struct xp_adapter *base,
                   const struct xp_experiment_ref *ref,
                   const struct xp_read_opts *ro)
{
    struct no_adapter *a = (struct no_adapter *)base;
    *out = NULL;
    struct no_reader *r = xp_calloc(1, sizeof(*r));
    r->base.version = XP_READER_VERSION;
    r->base.next = no_next;
    r->base.free = no_reader_free;
    r->a = a;
    for (const char *p = ref && ref->key ? ref->key : ""; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        r->lines = xp_realloc(r->lines, (r->nlines + 1) * sizeof(char *));
        r->lines[r->nlines++] = xp_strndup(p, n);
        p += n + (nl != NULL);
    }
    if (r->nlines < 4) {
        no_reader_free(&r->base);
        return xp_error_set(XP_ENOTFOUND, "no Neptune run '%s'",
                            ref && ref->key ? ref->key : "");
    }
    npt_run_init(&r->run, base->ctx, r->lines[2]);
    int rc = npt_queue_replay(&r->run, r->lines + 3, r->nlines - 3);
    if (rc) {
        no_reader_free(&r->base);
        return rc;
    }
    r->vendor = build_vendor(r, r->lines[1]);
    fill_meta(r);
    struct npt_emit_opts eo = {ro ? ro->resources : 0,
                               ro ? ro->only_series : NULL, &r->meta};
    npt_emit_new(&r->em, &r->run, &eo);
    *out = &r->base;
    return 0;
}

/* ---- open / close ------------------------------------------------------- */

static void no_close(struct xp_adapter *base)
{
    struct no_adapter *a = (struct no_adapter *)base;
    if (!a)
        return;
    free(a->workspace);
    free(a->project);
    xp_disk_adapter_close(base);
}

static int no_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                   const struct xp_location *loc, const struct xp_options *opts,
                   struct xp_ctx *ctx)
{
    struct xp_disk_adapter *d;
    *out = NULL;
    int rc = xp_disk_adapter_new(&d, sizeof(struct no_adapter), type, loc, opts, ctx,
                                 XP_DISK_DIR);
    if (rc)
        return rc;
    const char *proj = xp_options_get(opts, "project");
    if (!proj || !*proj)
        proj = getenv("NEPTUNE_PROJECT");
    const char *sl = proj ? strchr(proj, '/') : NULL;
    if (!proj || !*proj)
        rc = xp_error_set(XP_EINVALID,
                          "adapter '%s' needs the project its runs belong to "
                          "(Neptune's offline folders do not record it): "
                          "--opt project=WORKSPACE/PROJECT", type->name);
    else if (!sl || sl == proj || !sl[1] || strchr(sl + 1, '/'))
        rc = xp_error_set(XP_EINVALID, "project '%s' is not WORKSPACE/PROJECT", proj);
    if (rc) {
        xp_disk_adapter_close(&d->base);
        return rc;
    }
    struct no_adapter *a = (struct no_adapter *)d;
    a->workspace = xp_strndup(proj, (size_t)(sl - proj));
    a->project = xp_strdup(sl + 1);
    *out = &a->d.base;
    return 0;
}

static const struct xp_option_decl no_options[] = {
    {"project", XP_OPT_STRING, 0, 0, 0, NULL,
     "WS/PROJECT the runs belong to (required; else NEPTUNE_PROJECT)"},
    {"allow-partial", XP_OPT_BOOL, XP_OPT_FLAG, 0, 0, NULL,
     "convert runs whose queue is damaged or incomplete, naming what was lost"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

const struct xp_adapter_type xp_neptune_offline_adapter = {
    .abi = XP_ADAPTER_ABI,
    .name = "neptune-offline",
    .summary = "Neptune 1.x client .neptune/ offline and async folders",
    .caps = XP_CAP_READ | XP_CAP_NO_NETWORK,
    .open = no_open,
    .close = no_close,
    .list_experiments = no_list,
    .read_experiment = no_read,
    .options = no_options,
};
