/* The wandb-offline adapter (read side): W&B run folders on disk, one
 * experiment per run-<id>.wandb transaction log, with the run's files/
 * folder as files. PATH may be a .wandb file, a run folder, or a wandb/
 * folder of runs (or the folder holding that wandb/). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/fs.h"
#include "xport/iso8601.h"
#include "xport/json.h"
#include "xport/spool.h"
#include "xport/sys/adapter.h"
#include "wandb_emit.h"
#include "wandb_run.h"

struct wo_adapter {
    struct xp_disk_adapter d; /* base; src: the file or folder, selection, allow-partial */
};

/* ---- finding runs ------------------------------------------------------ */

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n > m && !strcmp(s + n - m, suf);
}

/* "run-<id>.wandb" -> "<id>" (caller frees), else the name less ".wandb". */
static char *id_from_file(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    if (!strncmp(b, "run-", 4))
        b += 4;
    size_t n = strlen(b);
    if (has_suffix(b, ".wandb"))
        n -= 6;
    return xp_strndup(b, n);
}

typedef int (*run_cb)(const char *wandb_file, void *payload);

/* Call cb for each *.wandb file directly in dir; *found counts them. */
static int runs_in(const char *dir, run_cb cb, void *payload, int *found)
{
    char **names;
    size_t n;
    int rc = xp_list_dir(&names, &n, dir);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && !rc; i++) {
        if (!has_suffix(names[i], ".wandb") || !xp_segment_safe(names[i]))
            continue;
        char *f = xp_path_join(dir, names[i]);
        if (xp_is_real_file(f)) {
            (*found)++;
            rc = cb(f, payload);
        }
        free(f);
    }
    xp_strv_free(names);
    return rc;
}

/* A run folder holds its .wandb file; a wandb/ folder holds run folders;
 * a project folder holds wandb/ (or .wandb/). Symbolic links such as
 * wandb/latest-run are not followed, so no run is listed twice. */
static int each_run(const char *path, run_cb cb, void *payload, int depth)
{
    if (!xp_is_dir(path)) {
        if (!xp_is_file(path))
            return xp_error_set(XP_ENOTFOUND, "no such file or folder '%s'",
                                path);
        return cb(path, payload);
    }
    int found = 0;
    int rc = runs_in(path, cb, payload, &found);
    if (rc || found)
        return rc;
    char **names;
    size_t n;
    if ((rc = xp_list_dir(&names, &n, path)))
        return rc;
    for (size_t i = 0; i < n && !rc; i++) {
        if (!xp_segment_safe(names[i]))
            continue;
        char *d = xp_path_join(path, names[i]);
        if (xp_is_real_dir(d))
            rc = runs_in(d, cb, payload, &found);
        free(d);
    }
    for (size_t i = 0; i < n && !rc && !found && depth == 0; i++) {
        if (strcmp(names[i], "wandb") && strcmp(names[i], ".wandb"))
            continue;
        char *d = xp_path_join(path, names[i]);
        if (xp_is_real_dir(d))
            rc = each_run(d, cb, payload, depth + 1);
        free(d);
        found = 1; /* wandb/ wins over .wandb/ */
    }
    xp_strv_free(names);
    return rc;
}

struct naming {
    const char *workspace, *project, *name, *id;
};

static void run_naming(struct naming *nm, const struct wrun_meta *m,
                       const char *file_id)
{
    nm->workspace = m->entity && *m->entity ? m->entity : "offline";
    nm->project = m->project && *m->project ? m->project : "uncategorized";
    nm->id = m->run_id && *m->run_id ? m->run_id : file_id;
    nm->name = m->display_name && *m->display_name ? m->display_name : nm->id;
}

struct list_ctx {
    struct wo_adapter *a;
    xp_experiment_cb cb;
    void *payload;
    int single; /* the user named one file: its failure is the result */
};

static int list_one(const char *file, void *payload)
{
    struct list_ctx *lc = payload;
    struct wrun_meta m;
    int rc = wrun_peek(&m, file);
    if (rc) {
        wrun_meta_release(&m);
        if (lc->single)
            return rc;
        xp_ctx_warn(lc->a->d.base.ctx, "skipping '%s': %s", file,
                    xp_error_last()->message);
        return 0;
    }
    char *fid = id_from_file(file);
    struct naming nm;
    run_naming(&nm, &m, fid);
    if (xp_location_selects(&lc->a->d.src.sel, nm.workspace, nm.project, nm.name)) {
        struct stat st;
        struct xp_experiment_ref ref = {
            .workspace = nm.workspace,
            .project = nm.project,
            .name = nm.name,
            .key = file,
            .size_hint = stat(file, &st) == 0 ? (int64_t)st.st_size : -1};
        rc = lc->cb(&ref, lc->payload);
    }
    free(fid);
    wrun_meta_release(&m);
    return rc;
}

static int wo_list(struct xp_adapter *base, xp_experiment_cb cb, void *payload)
{
    struct wo_adapter *a = (struct wo_adapter *)base;
    struct list_ctx lc = {a, cb, payload, !xp_is_dir(a->d.src.sel.path)};
    return each_run(a->d.src.sel.path, list_one, &lc, 0);
}

/* ---- the reader -------------------------------------------------------- */

enum wo_state { S_EXPERIMENT, S_RUN, S_FILES, S_END, S_DONE };

struct wo_dir {
    char *rel;    /* relative to files/, NULL for files/ itself */
    char **names;
    size_t n, i;
};

struct wo_reader {
    struct xp_reader base;
    struct wo_adapter *a;
    struct wrun run;
    unsigned resources;
    enum wo_state state;
    struct xp_record rec;
    char *file_id;
    struct naming nm;
    char started[40], ended[40];
    struct json_object *vendor;
    struct wemit em; /* parameters, summary, series and logs */

    /* files */
    char *run_dir, *files_dir, *real_run_dir;
    struct wo_dir *dirs;
    size_t ndirs, capdirs;
    int files_started;
    struct xp_fd_stream body;
    char sha[65];
    char *file_rel;
};

static void wo_reader_free(struct xp_reader *base)
{
    struct wo_reader *r = (struct wo_reader *)base;
    if (!r)
        return;
    xp_fd_stream_close(&r->body);
    wemit_release(&r->em);
    wrun_release(&r->run);
    json_object_put(r->vendor);
    free(r->file_id);
    for (size_t i = 0; i < r->ndirs; i++) {
        free(r->dirs[i].rel);
        xp_strv_free(r->dirs[i].names);
    }
    free(r->dirs);
    free(r->run_dir);
    free(r->files_dir);
    free(r->real_run_dir);
    free(r->file_rel);
    free(r);
}

static void vset_str(struct json_object *o, const char *k, const char *v)
{
    if (v && *v)
        json_object_object_add(o, k, json_object_new_string(v));
}

/* The experiment's vendor object: every run field xport has no slot for. */
static struct json_object *build_vendor(struct wo_reader *r)
{
    const struct wrun_meta *m = &r->run.m;
    struct json_object *v = json_object_new_object();
    json_object_object_foreach(r->run.vendor, k, val)
        json_object_object_add(v, k, json_object_get(val));
    vset_str(v, "run_id", m->run_id);
    vset_str(v, "entity", m->entity);
    vset_str(v, "project", m->project);
    vset_str(v, "display_name", m->display_name);
    vset_str(v, "job_type", m->job_type);
    vset_str(v, "sweep_id", m->sweep_id);
    vset_str(v, "host", m->host);
    vset_str(v, "storage_id", m->storage_id);
    if (m->starting_step)
        json_object_object_add(v, "starting_step",
                               json_object_new_int64(m->starting_step));
    if (m->resumed)
        json_object_object_add(v, "resumed", json_object_new_boolean(1));
    if (m->forked)
        json_object_object_add(v, "forked", json_object_new_boolean(1));
    if (m->runtime)
        json_object_object_add(v, "runtime", json_object_new_int(m->runtime));
    if (m->git_remote || m->git_commit) {
        struct json_object *g = json_object_new_object();
        vset_str(g, "remote_url", m->git_remote);
        vset_str(g, "commit", m->git_commit);
        json_object_object_add(v, "git", g);
    }
    if (m->has_exit) {
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "exit_code",
                               json_object_new_int(m->exit_code));
        json_object_object_add(e, "runtime",
                               json_object_new_int(m->exit_runtime));
        if (m->not_complete)
            json_object_object_add(e, "not_complete",
                                   json_object_new_boolean(1));
        json_object_object_add(v, "exit", e);
    }
    struct json_object *w;
    if (json_object_object_get_ex(r->run.config, "_wandb", &w))
        json_object_object_add(v, "config_wandb", json_object_get(w));
    json_object_object_add(v, "log_version",
                           json_object_new_int(r->run.version));
    if (r->run.old_layout)
        json_object_object_add(v, "block_layout",
                               json_object_new_string("before-0.17.6"));
    return v;
}

/* ---- files ------------------------------------------------------------- */

static void push_dir(struct wo_reader *r, char *rel, char **names, size_t n)
{
    if (r->ndirs == r->capdirs) {
        r->capdirs = r->capdirs ? r->capdirs * 2 : 8;
        r->dirs = xp_realloc(r->dirs, r->capdirs * sizeof(*r->dirs));
    }
    struct wo_dir *d = &r->dirs[r->ndirs++];
    d->rel = rel;
    d->names = names;
    d->n = n;
    d->i = 0;
}

static int start_files(struct wo_reader *r)
{
    r->files_started = 1;
    struct stat st;
    if (!r->files_dir || lstat(r->files_dir, &st) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode)) {
        xp_ctx_warn(r->a->d.base.ctx, "skipping '%s': not a folder",
                    r->files_dir);
        return 0;
    }
    r->real_run_dir = realpath(r->run_dir, NULL);
    if (!r->real_run_dir)
        return xp_error_set_os(XP_EIO, "cannot resolve '%s'", r->run_dir);
    char **names;
    size_t n;
    int rc = xp_list_dir(&names, &n, r->files_dir);
    if (rc)
        return rc;
    push_dir(r, NULL, names, n);
    return 0;
}

/* Is the symbolic link at full inside the run folder? *target gets its
 * resolved path (caller frees) when it is. */
static int link_inside(struct wo_reader *r, const char *full, char **target)
{
    *target = realpath(full, NULL);
    if (!*target)
        return 0;
    size_t n = strlen(r->real_run_dir);
    if (!strncmp(*target, r->real_run_dir, n) && (*target)[n] == '/')
        return 1;
    free(*target);
    *target = NULL;
    return 0;
}

/* The next file under files/: 1 with r->rec filled, 0 when none is left. */
static int next_file(struct wo_reader *r)
{
    const struct xp_ctx *ctx = r->a->d.base.ctx;
    while (r->ndirs) {
        struct wo_dir *d = &r->dirs[r->ndirs - 1];
        if (d->i == d->n) {
            free(d->rel);
            xp_strv_free(d->names);
            r->ndirs--;
            continue;
        }
        const char *name = d->names[d->i++];
        char *rel = d->rel ? xp_path_join(d->rel, name) : xp_strdup(name);
        if (!xp_segment_safe(name) || !xp_relpath_safe(rel)) {
            xp_ctx_warn(ctx, "skipping a file with an unsafe name in '%s'",
                        r->files_dir);
            free(rel);
            continue;
        }
        char *full = xp_path_join(r->files_dir, rel);
        struct stat st;
        char *open_path = full;
        char *target = NULL;
        if (lstat(full, &st) != 0) {
            free(full);
            free(rel);
            continue; /* vanished since listing */
        }
        if (S_ISLNK(st.st_mode)) {
            if (!link_inside(r, full, &target)) {
                xp_ctx_warn(ctx,
                            "skipping '%s': it links outside the run folder",
                            full);
                free(full);
                free(rel);
                continue;
            }
            if (stat(target, &st) != 0 || !S_ISREG(st.st_mode)) {
                /* linked folders are not entered: no loops, no doubles */
                free(target);
                free(full);
                free(rel);
                continue;
            }
            open_path = target;
        }
        if (S_ISDIR(st.st_mode)) {
            char **names;
            size_t n;
            int rc = xp_list_dir(&names, &n, full);
            free(full);
            if (rc) {
                free(rel);
                return rc;
            }
            push_dir(r, rel, names, n); /* d may have moved */
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            free(full);
            free(rel);
            continue;
        }
        int fd = open(open_path, O_RDONLY | O_CLOEXEC |
                                     (target ? 0 : O_NOFOLLOW));
        if (fd < 0) {
            int rc = xp_error_set_os(XP_EIO, "cannot open '%s'", full);
            free(target);
            free(full);
            free(rel);
            return rc;
        }
        int64_t size;
        int rc = wemit_body_open(&r->body, fd, full, r->sha, &size);
        free(target);
        free(full);
        if (rc) {
            free(rel);
            return rc;
        }
        free(r->file_rel);
        r->file_rel = rel;
        memset(&r->rec, 0, sizeof(r->rec));
        r->rec.kind = XP_REC_FILE;
        r->rec.u.file.meta.path = rel;
        r->rec.u.file.meta.size = size;
        r->rec.u.file.meta.sha256 = r->sha;
        r->rec.u.file.body = &r->body.base;
        return 1;
    }
    return 0;
}

/* ---- next() ------------------------------------------------------------ */

static int damaged(struct wo_reader *r)
{
    return xp_error_set(XP_EINVALID,
                        "run '%s' in '%s' is damaged: %s (the adapter option "
                        "allow-partial keeps what is intact)",
                        r->nm.id, r->run.path, r->run.lost);
}

static int wo_next(struct xp_reader *base, const struct xp_record **out)
{
    struct wo_reader *r = (struct wo_reader *)base;
    const struct xp_ctx *ctx = r->a->d.base.ctx;
    int rc;
    xp_fd_stream_close(&r->body);
    if (r->state != S_DONE && r->state != S_END && xp_ctx_cancelled(ctx))
        return xp_error_set(XP_ECANCEL, "interrupted");
    memset(&r->rec, 0, sizeof(r->rec));
    *out = &r->rec;
    for (;;) {
        switch (r->state) {
        case S_EXPERIMENT: {
            const struct wrun_meta *m = &r->run.m;
            struct xp_experiment_meta *e = &r->rec.u.exp;
            r->rec.kind = XP_REC_EXPERIMENT;
            e->workspace = r->nm.workspace;
            e->project = r->nm.project;
            e->name = r->nm.name;
            e->description = m->notes && *m->notes ? m->notes : NULL;
            e->tags = (const char *const *)m->tags;
            e->ntags = m->ntags;
            e->status = m->has_exit ? (m->exit_code == 0 ? "COMPLETED"
                                                         : "FAILED")
                                    : "RUNNING";
            if (m->has_start) {
                xp_iso8601_format(r->started, m->start_sec, m->start_nanos, XP_ISO_TRIM);
                e->created_at = e->started_at = r->started;
                if (m->has_exit) {
                    xp_iso8601_format(r->ended, m->start_sec + m->exit_runtime,
                              m->start_nanos, XP_ISO_TRIM);
                    e->ended_at = r->ended;
                }
            }
            e->folder = m->group && *m->group ? m->group : NULL;
            e->source_vendor = "wandb";
            e->source_id = r->nm.id;
            e->vendor = r->vendor;
            r->state = S_RUN;
            return 0;
        }
        case S_RUN:
            rc = wemit_next(&r->em, &r->rec);
            if (rc < 0)
                return rc;
            if (rc)
                return 0;
            r->state = S_FILES;
            continue;
        case S_FILES:
            if (!(r->resources & XP_RES_FILES) || r->run.only_series) {
                r->state = S_END;
                continue;
            }
            if (!r->files_started && (rc = start_files(r)))
                return rc;
            rc = next_file(r);
            if (rc < 0)
                return rc;
            if (rc == 0) {
                r->state = S_END;
                continue;
            }
            return 0;
        case S_END:
            if (r->run.lost && !r->a->d.src.allow_partial)
                return damaged(r);
            r->rec.kind = XP_REC_END;
            r->state = S_DONE;
            return 0;
        case S_DONE:
            *out = NULL;
            return XP_ITEROVER;
        }
    }
}

static char *dir_of(const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s)
        return xp_strdup(".");
    if (s == path)
        return xp_strdup("/");
    return xp_strndup(path, (size_t)(s - path));
}

static int wo_read(struct xp_reader **out, struct xp_adapter *base,
                   const struct xp_experiment_ref *ref,
                   const struct xp_read_opts *ro)
{
    struct wo_adapter *a = (struct wo_adapter *)base;
    *out = NULL;
    if (!ref || !ref->key || !xp_is_file(ref->key))
        return xp_error_set(XP_ENOTFOUND, "no W&B run file '%s'",
                            ref && ref->key ? ref->key : "");
    struct wo_reader *r = xp_calloc(1, sizeof(*r));
    r->base.version = XP_READER_VERSION;
    r->base.next = wo_next;
    r->base.free = wo_reader_free;
    r->a = a;
    r->body.fd = -1;
    r->resources = ro && ro->resources ? ro->resources : XP_RES_ALL;
    int rc = wrun_scan(&r->run, ref->key, r->resources,
                       ro ? ro->only_series : NULL, base->ctx);
    if (rc) {
        wo_reader_free(&r->base);
        return rc;
    }
    if (r->run.lost)
        xp_ctx_warn(base->ctx, "run in '%s' is damaged: %s%s", ref->key,
                    r->run.lost,
                    a->d.src.allow_partial ? "; keeping what is intact" : "");
    r->file_id = id_from_file(ref->key);
    run_naming(&r->nm, &r->run.m, r->file_id);
    r->vendor = build_vendor(r);
    wemit_init(&r->em, &r->run);
    r->run_dir = dir_of(ref->key);
    r->files_dir = xp_path_join(r->run_dir, "files");
    *out = &r->base;
    return 0;
}

/* ---- open / close ------------------------------------------------------ */

static int wo_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                   const struct xp_location *loc, const struct xp_options *opts,
                   struct xp_ctx *ctx)
{
    struct xp_disk_adapter *d;
    int rc = xp_disk_adapter_new(&d, sizeof(struct wo_adapter), type, loc, opts, ctx,
                                 XP_DISK_DIR | XP_DISK_FILE);
    *out = d ? &d->base : NULL;
    return rc;
}

/* Every option wo_open reads (include/xport/sys/adapter.h). */
static const struct xp_option_decl wo_options[] = {
    {"allow-partial", XP_OPT_BOOL, XP_OPT_FLAG, 0, 0, NULL,
     "read what is readable from damaged .wandb files"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

const struct xp_adapter_type xp_wandb_offline_adapter = {
    .abi = XP_ADAPTER_ABI,
    .name = "wandb-offline",
    .summary = "W&B offline run folders (.wandb files)",
    .caps = XP_CAP_READ | XP_CAP_NO_NETWORK,
    .open = wo_open,
    .close = xp_disk_adapter_close,
    .list_experiments = wo_list,
    .read_experiment = wo_read,
    .options = wo_options,
};
