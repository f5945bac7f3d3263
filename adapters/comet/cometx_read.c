/* Reading one cometx experiment folder into records (adapters/comet/README.md
 * has the mapping): metadata.json and the others give the experiment,
 * parameters.json, others.jsonl and metrics.jsonl the documents and series,
 * run/output.txt the logs, assets/ and run/ the files. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "comet_int.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/jscan.h"
#include "xport/json.h"
#include "xport/spool.h"

#define BATCH 512

enum state { S_EXP, S_PARAMS, S_SUMMARY, S_OTHERS, S_SERIES, S_LOGS, S_FILES,
             S_END, S_DONE };


struct rfile {
    char *path; /* in the layout */
    char *disk;
    struct json_object *meta; /* {"comet": record} or NULL */
    char *id;
};



struct cx_reader {
    struct xp_reader base;
    struct cometx_adapter *a;
    struct cometx_exp e;
    char *real_dir;
    unsigned res;
    const char *only;
    enum state state;
    struct xp_record rec;
    /* experiment */
    struct json_object *vendor, *params, *others;
    struct comet_extras x;
    const char **tags;
    size_t ntags;
    char started[XP_ISO8601_BUFSZ], ended[XP_ISO8601_BUFSZ];
    const char *status, *description, *folder, *src_vendor, *src_id;
    /* series: each metric's lines spooled in one pass over metrics.jsonl,
     * emitted metric by metric */
    struct comet_lines lines;
    struct xp_arena arena;
    struct xp_point pts[BATCH];
    struct xp_field fields[BATCH * COMET_MAX_FIELDS];
    /* logs */
    struct xp_buf lbuf;
    size_t lpos;
    int64_t lseq;
    FILE *lside; /* run/xport_logs.jsonl */
    struct json_object *held[BATCH];
    size_t nheld;
    struct xp_log_entry logs[BATCH];
    /* files */
    struct rfile *files;
    size_t nfiles, fi, fcap;
    struct xp_fd_stream stream;
};

/* ---- small helpers -------------------------------------------------------- */


/* ---- documents ------------------------------------------------------------ */

static int load_docs(struct cx_reader *r)
{
    r->others = json_object_new_object();
    for (size_t i = 0; i < json_object_array_length(r->e.others); i++) {
        struct json_object *o = json_object_array_get_idx(r->e.others, i);
        struct json_object *v = xp_json_get(o, "valueCurrent");
        json_object_object_add(r->others, xp_json_str(o, "name"), json_object_get(v));
    }
    if (comet_extras_take(&r->x, r->others))
        return xp_error_wrap(XP_EINVALID, "experiment '%s'", r->e.dir);
    char *p = xp_path_join(r->e.dir, "parameters.json");
    int rc = 0;
    if (xp_is_real_file(p)) {
        struct json_object *list = NULL;
        rc = xp_json_read_file(&list, p);
        if (!rc && !json_object_is_type(list, json_type_array))
            rc = xp_error_set(XP_EINVALID, "'%s' is not a JSON list", p);
        size_t n = rc ? 0 : json_object_array_length(list);
        if (n)
            r->params = json_object_new_object();
        for (size_t i = 0; i < n && !rc; i++) {
            struct json_object *o = json_object_array_get_idx(list, i);
            const char *name = xp_json_str(o, "name");
            if (!name) {
                rc = xp_error_set(XP_EINVALID, "entry %zu of '%s' has no \"name\"",
                                  i, p);
                break;
            }
            comet_param_nest(r->params, name,
                             json_object_get(xp_json_get(o, "valueCurrent")));
        }
        json_object_put(list);
    }
    free(p);
    return rc;
}

/* ---- metrics -------------------------------------------------------------- */

/* Scan one line; lines jscan does not take (it is strict about what it
 * accepts) go through json-c and back into the arena. */
static int scan_line(char *line, size_t len, struct xp_arena *arena,
                     struct xp_field *f, size_t *n, const char *path, size_t lineno)
{
    int rc = comet_scan_object(line, len, arena, f, COMET_MAX_FIELDS, n);
    return rc ? xp_error_wrap(rc, "line %zu of '%s'", lineno, path) : 0;
}

static int wanted(struct cx_reader *r, const char *name, enum xp_series_kind k)
{
    if (r->only && strcmp(r->only, name))
        return 0;
    return k == XP_SERIES_SYSTEM ? (r->res & XP_RES_SYSTEM) != 0
                                 : (r->res & XP_RES_METRICS) != 0; /* and tracks */
}

/* One pass over metrics.jsonl: each wanted line goes, with its line number,
 * to its metric's spool stream (memory stays bounded by the spool's budget
 * however long the series are). */
static int load_metrics(struct cx_reader *r)
{
    if (!(r->res & (XP_RES_METRICS | XP_RES_SYSTEM)))
        return 0;
    char *p = xp_path_join(r->e.dir, "metrics.jsonl");
    if (!xp_is_real_file(p)) {
        free(p);
        return 0;
    }
    FILE *in = fopen(p, "rb");
    int rc = in ? 0 : xp_error_set_os(XP_EIO, "cannot open '%s'", p);
    struct xp_buf scratch = XP_BUF_INIT;
    struct xp_field f[COMET_MAX_FIELDS];
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    while (!rc && (got = getline(&line, &cap, in)) > 0) {
        size_t len = (size_t)got;
        if (line[len - 1] == '\n')
            len--;
        lineno++;
        size_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
            k++;
        if (k == len)
            continue;
        xp_buf_reset(&scratch);
        xp_buf_put(&scratch, line, len);
        size_t nf;
        rc = scan_line(scratch.ptr, len, &r->arena, f, &nf, p, lineno);
        struct xp_point pt;
        const char *name;
        enum xp_series_kind kind;
        if (!rc && (rc = comet_point_from_fields(&pt, f, &nf, &name, &kind, 0)))
            rc = xp_error_wrap(rc, "line %zu of '%s'", lineno, p);
        if (!rc && wanted(r, name, kind) &&
            (rc = comet_lines_add(&r->lines, name, kind, lineno, line, len)))
            rc = xp_error_wrap(rc, "'%s'", r->e.dir);
        xp_arena_reset(&r->arena);
    }
    if (!rc && in && ferror(in))
        rc = xp_error_set_os(XP_EIO, "cannot read '%s'", p);
    if (in)
        fclose(in);
    free(line);
    xp_buf_release(&scratch);
    free(p);
    return rc;
}

/* A spooled metrics.jsonl line's fields (comet_lines_next). */
static int scan_spooled(void *payload, char *line, size_t len, size_t lineno,
                        struct xp_arena *arena, struct xp_field *f, size_t *n)
{
    (void)payload;
    return scan_line(line, len, arena, f, n, "metrics.jsonl", lineno);
}

/* ---- logs ----------------------------------------------------------------- */

static int open_logs(struct cx_reader *r)
{
    char *side = xp_path_join(r->e.dir, "run/xport_logs.jsonl");
    int rc = 0;
    if (xp_is_real_file(side)) {
        r->lside = fopen(side, "rb");
        if (!r->lside)
            rc = xp_error_set_os(XP_EIO, "cannot open '%s'", side);
    } else {
        char *p = xp_path_join(r->e.dir, "run/output.txt");
        if (xp_is_real_file(p))
            rc = xp_read_file(&r->lbuf, p, (size_t)1 << 30);
        free(p);
    }
    free(side);
    return rc;
}

static void release_held(struct cx_reader *r)
{
    for (size_t i = 0; i < r->nheld; i++)
        json_object_put(r->held[i]);
    r->nheld = 0;
}

static int next_logs(struct cx_reader *r)
{
    release_held(r);
    size_t n = 0;
    char *line = NULL;
    size_t cap = 0;
    while (n < BATCH) {
        struct xp_log_entry *e = &r->logs[n];
        memset(e, 0, sizeof(*e));
        if (r->lside) {
            ssize_t got = getline(&line, &cap, r->lside);
            if (got <= 0)
                break;
            struct json_object *o;
            int rc = xp_json_parse(&o, line, (size_t)got, "run/xport_logs.jsonl");
            if (rc) {
                free(line);
                return rc;
            }
            r->held[r->nheld++] = o;
            struct json_object *msg = xp_json_get(o, "message"), *md;
            if (!msg || !json_object_is_type(msg, json_type_string)) {
                free(line);
                return xp_error_set(XP_EINVALID, "a line of '%s/run/xport_logs.jsonl' "
                                    "has no \"message\"", r->e.dir);
            }
            e->seq = json_object_get_int64(xp_json_get(o, "sequenceNumber"));
            e->timestamp = xp_json_str(o, "timestamp");
            e->level = xp_json_str(o, "level");
            e->stream = xp_json_str(o, "stream");
            e->message = json_object_get_string(msg);
            e->message_len = (size_t)json_object_get_string_len(msg);
            md = xp_json_get(o, "metadata");
            e->metadata = md && !json_object_is_type(md, json_type_null) ? md : NULL;
        } else {
            if (r->lpos >= r->lbuf.len)
                break;
            char *s = r->lbuf.ptr + r->lpos;
            char *nl = memchr(s, '\n', r->lbuf.len - r->lpos);
            size_t len = nl ? (size_t)(nl - s) : r->lbuf.len - r->lpos;
            s[len] = '\0'; /* the newline, or the buffer's own NUL */
            r->lpos += len + 1;
            e->seq = r->lseq++;
            e->message = s;
            e->message_len = len;
        }
        n++;
    }
    free(line);
    if (n == 0)
        return XP_ITEROVER;
    r->rec.kind = XP_REC_LOGS;
    r->rec.u.logs.v = r->logs;
    r->rec.u.logs.n = n;
    return 0;
}

/* ---- files ---------------------------------------------------------------- */

static void add_file(struct cx_reader *r, char *path, char *disk,
                     struct json_object *meta, const char *id)
{
    if (r->nfiles == r->fcap) {
        r->fcap = r->fcap ? r->fcap * 2 : 16;
        r->files = xp_realloc(r->files, r->fcap * sizeof(*r->files));
    }
    r->files[r->nfiles++] = (struct rfile){path, disk, meta, id ? xp_strdup(id) : NULL};
}

static int path_taken(struct cx_reader *r, const char *path)
{
    for (size_t i = 0; i < r->nfiles; i++)
        if (!strcmp(r->files[i].path, path))
            return 1;
    return 0;
}

static int disk_taken(struct cx_reader *r, const char *disk)
{
    for (size_t i = 0; i < r->nfiles; i++)
        if (!strcmp(r->files[i].disk, disk))
            return 1;
    return 0;
}

/* One record of assets/assets_metadata.jsonl. */
static int add_asset(struct cx_reader *r, struct json_object *rec, size_t lineno)
{
    const char *type = xp_json_str(rec, "type");
    const char *fname = xp_json_str(rec, "fileName");
    const char *dname = xp_json_str(rec, "diskFileName");
    const char *id = xp_json_str(rec, "assetId");
    struct json_object *remote = xp_json_get(rec, "remote");
    if (!type || !*type)
        type = "asset";
    if (!fname)
        return xp_error_set(XP_EINVALID, "line %zu of '%s/assets/assets_metadata.jsonl' "
                            "has no \"fileName\"", lineno, r->e.dir);
    char *clean = cometx_sanitize(dname ? dname : fname);
    int ok = xp_segment_safe(type) && xp_relpath_safe(clean) && xp_relpath_safe(fname);
    struct xp_buf disk = XP_BUF_INIT, path = XP_BUF_INIT;
    xp_buf_printf(&disk, "%s/assets/%s/%s", r->e.dir, type, clean);
    free(clean);
    if (!ok) {
        xp_buf_release(&disk);
        return xp_error_set(XP_EINVALID, "asset '%s' of type '%s' in '%s' has an unsafe "
                            "name; refusing it", fname, type, r->e.dir);
    }
    if (!xp_is_real_file(disk.ptr)) {
        int rc = 0;
        if (remote && json_object_get_boolean(remote)) {
            /* a link with no bytes here: kept with the experiment */
            struct json_object *list;
            if (!json_object_object_get_ex(r->vendor, "remote_assets", &list)) {
                list = json_object_new_array();
                json_object_object_add(r->vendor, "remote_assets", list);
            }
            json_object_array_add(list, json_object_get(rec));
        } else {
            rc = xp_error_set(XP_ENOTFOUND, "asset file '%s' listed in "
                              "assets/assets_metadata.jsonl is missing", disk.ptr);
        }
        xp_buf_release(&disk);
        return rc;
    }
    if (!strcmp(type, "asset"))
        xp_buf_puts(&path, fname);
    else
        xp_buf_printf(&path, "%s/%s", type, fname);
    if (path_taken(r, path.ptr) && !r->a->dup_by_order) /* same-named assets kept apart */
        xp_buf_printf(&path, "~%s", id ? id : "dup");
    for (int k = 2; path_taken(r, path.ptr); k++)
        xp_buf_printf(&path, "~%d", k);
    struct json_object *meta = json_object_new_object();
    json_object_object_add(meta, "comet", json_object_get(rec));
    add_file(r, xp_buf_detach(&path), xp_buf_detach(&disk), meta, id);
    return 0;
}

static int load_assets(struct cx_reader *r)
{
    char *p = xp_path_join(r->e.dir, "assets/assets_metadata.jsonl");
    struct xp_buf b = XP_BUF_INIT;
    int rc = 0;
    if (xp_is_real_file(p))
        rc = xp_read_file(&b, p, (size_t)256 << 20);
    size_t lineno = 0;
    for (char *line = b.ptr; !rc && line < b.ptr + b.len;) {
        char *nl = memchr(line, '\n', (size_t)(b.ptr + b.len - line));
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        lineno++;
        if (len && strspn(line, " \t\r") < len) {
            struct json_object *o = NULL;
            rc = xp_json_parse(&o, line, len, "assets_metadata.jsonl");
            if (!rc && !json_object_is_type(o, json_type_object))
                rc = xp_error_set(XP_EINVALID, "line %zu of '%s' is not an object",
                                  lineno, p);
            if (!rc)
                rc = add_asset(r, o, lineno);
            json_object_put(o);
        }
        line += len + (nl != NULL);
    }
    xp_buf_release(&b);
    free(p);
    return rc;
}

/* Every regular file under dir/rel (not claimed by an asset record), with
 * its folder-relative path; symbolic links are not followed. */
static int add_tree(struct cx_reader *r, const char *rel, int depth)
{
    char *full = xp_path_join(r->e.dir, rel);
    struct stat st;
    int rc = 0;
    if (lstat(full, &st) != 0 || depth > 32) {
        free(full);
        return 0;
    }
    if (S_ISLNK(st.st_mode)) {
        xp_ctx_warn(r->a->base.ctx, "skipping '%s': a symbolic link", full);
    } else if (S_ISREG(st.st_mode)) {
        if (!disk_taken(r, full) && strcmp(rel, "run/output.txt") &&
            strcmp(rel, "run/xport_logs.jsonl"))
            add_file(r, xp_strdup(rel), xp_strdup(full), NULL, NULL);
    } else if (S_ISDIR(st.st_mode)) {
        char **names = NULL;
        size_t n;
        rc = xp_list_dir(&names, &n, full);
        for (size_t i = 0; !rc && i < n; i++) {
            if (!xp_segment_safe(names[i])) {
                xp_ctx_warn(r->a->base.ctx, "skipping a file with an unsafe name in '%s'",
                            full);
                continue;
            }
            char *sub = xp_path_join(rel, names[i]);
            rc = add_tree(r, sub, depth + 1);
            free(sub);
        }
        if (names)
            xp_strv_free(names);
    }
    free(full);
    return rc;
}

static int load_files(struct cx_reader *r)
{
    int rc = load_assets(r);
    if (!rc)
        rc = add_tree(r, "run", 0);
    if (!rc)
        rc = add_tree(r, "assets/html", 0);
    if (!rc)
        rc = add_tree(r, "system_details.json", 0);
    return rc;
}


static int emit_file(struct cx_reader *r, struct rfile *f)
{
    xp_fd_stream_close(&r->stream);
    /* the file must lie inside the experiment folder, links resolved */
    char *real = realpath(f->disk, NULL);
    size_t n = strlen(r->real_dir);
    int inside = real && !strncmp(real, r->real_dir, n) && real[n] == '/';
    free(real);
    if (!inside)
        return xp_error_set(XP_EINVALID, "'%s' lies outside the experiment folder; "
                            "refusing it", f->disk);
    r->stream.fd = open(f->disk, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (r->stream.fd < 0 || fstat(r->stream.fd, &st) != 0)
        return xp_error_set_os(XP_EIO, "cannot open '%s'", f->disk);
    struct xp_file_meta *m = &r->rec.u.file.meta;
    memset(m, 0, sizeof(*m));
    m->path = f->path;
    m->size = (int64_t)st.st_size;
    m->id = f->id;
    m->metadata = f->meta;
    r->rec.kind = XP_REC_FILE;
    r->rec.u.file.body = &r->stream.base;
    return 0;
}

/* ---- the experiment record ------------------------------------------------- */

static void build_experiment(struct cx_reader *r)
{
    struct json_object *md = r->e.metadata;
    r->vendor = json_object_new_object();
    if (md)
        json_object_object_add(r->vendor, "metadata", json_object_get(md));
    char *pm = xp_path_join(r->e.dir, "../project_metadata.json");
    struct json_object *proj = NULL;
    if (xp_is_real_file(pm) && xp_json_read_file(&proj, pm) == 0 &&
        json_object_is_type(proj, json_type_object))
        json_object_object_add(r->vendor, "project", json_object_get(proj));
    xp_error_clear();
    json_object_put(proj);
    free(pm);
    r->tags = xp_json_strings(md, "tags", &r->ntags);
    struct json_object *v;
    if ((v = xp_json_get(md, "startTimeMillis")) && json_object_is_type(v, json_type_int))
        xp_iso8601_format_ms(r->started, json_object_get_int64(v));
    if ((v = xp_json_get(md, "endTimeMillis")) && json_object_is_type(v, json_type_int))
        xp_iso8601_format_ms(r->ended, json_object_get_int64(v));
    r->status = r->x.status;
    if (!r->status && (v = xp_json_get(md, "running")) &&
        json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v))
        r->status = "RUNNING";
    r->description = r->x.description;
    r->folder = r->x.folder;
    r->src_vendor = r->x.src_vendor;
    r->src_id = r->x.src_id;
    if (!r->src_vendor) {
        r->src_vendor = "comet";
        r->src_id = xp_json_str(md, "experimentKey");
    }
}

/* ---- next() ----------------------------------------------------------------- */

static int cx_next(struct xp_reader *base, const struct xp_record **out)
{
    struct cx_reader *r = (struct cx_reader *)base;
    const struct xp_ctx *ctx = r->a->base.ctx;
    xp_fd_stream_close(&r->stream);
    if (r->state < S_END && xp_ctx_cancelled(ctx))
        return xp_error_set(XP_ECANCEL, "interrupted");
    memset(&r->rec, 0, sizeof(r->rec));
    *out = &r->rec;
    for (;;) {
        switch (r->state) {
        case S_EXP: {
            struct xp_experiment_meta *m = &r->rec.u.exp;
            r->rec.kind = XP_REC_EXPERIMENT;
            m->workspace = r->e.ws;
            m->project = r->e.proj;
            m->name = r->e.name;
            m->description = r->description;
            m->tags = r->tags;
            m->ntags = r->ntags;
            m->status = r->status;
            m->created_at = m->started_at = r->started[0] ? r->started : NULL;
            m->ended_at = r->ended[0] ? r->ended : NULL;
            m->folder = r->folder;
            m->source_vendor = r->src_vendor;
            m->source_id = r->src_id;
            m->metadata = r->x.metadata;
            m->vendor = r->vendor;
            r->state = S_PARAMS;
            return 0;
        }
        case S_PARAMS:
            r->state = S_SUMMARY;
            if (r->params && !r->only && (r->res & XP_RES_PARAMETERS)) {
                r->rec.kind = XP_REC_DOCUMENT;
                r->rec.u.doc.kind = XP_DOC_PARAMETERS;
                r->rec.u.doc.doc = r->params;
                return 0;
            }
            continue;
        case S_SUMMARY:
            r->state = S_OTHERS;
            if (r->x.summary && !r->only && (r->res & XP_RES_OTHERS)) {
                r->rec.kind = XP_REC_DOCUMENT;
                r->rec.u.doc.kind = XP_DOC_SUMMARY;
                r->rec.u.doc.doc = r->x.summary;
                return 0;
            }
            continue;
        case S_OTHERS:
            r->state = S_SERIES;
            if (json_object_object_length(r->others) && !r->only &&
                (r->res & XP_RES_OTHERS)) {
                r->rec.kind = XP_REC_DOCUMENT;
                r->rec.u.doc.kind = XP_DOC_OTHERS;
                r->rec.u.doc.doc = r->others;
                return 0;
            }
            continue;
        case S_SERIES: {
            int rc = comet_lines_next(&r->lines, &r->rec, scan_spooled, NULL, &r->arena,
                                      r->pts, r->fields, BATCH, r->e.dir);
            if (rc == XP_ITEROVER) {
                r->state = S_LOGS;
                continue;
            }
            return rc;
        }
        case S_LOGS: {
            if (r->only || !(r->res & XP_RES_LOGS)) {
                r->state = S_FILES;
                continue;
            }
            int rc = next_logs(r);
            if (rc == XP_ITEROVER) {
                r->state = S_FILES;
                continue;
            }
            return rc;
        }
        case S_FILES:
            if (r->only || !(r->res & XP_RES_FILES) || r->fi == r->nfiles) {
                r->state = S_END;
                continue;
            }
            return emit_file(r, &r->files[r->fi++]);
        case S_END:
            r->rec.kind = XP_REC_END;
            r->state = S_DONE;
            return 0;
        case S_DONE:
            *out = NULL;
            return XP_ITEROVER;
        }
    }
}

static void cx_reader_free(struct xp_reader *base)
{
    struct cx_reader *r = (struct cx_reader *)base;
    if (!r)
        return;
    xp_fd_stream_close(&r->stream);
    cometx_exp_release(&r->e);
    free(r->real_dir);
    json_object_put(r->vendor);
    json_object_put(r->params);
    json_object_put(r->others);
    comet_extras_release(&r->x);
    free(r->tags);
    comet_lines_release(&r->lines);
    xp_arena_release(&r->arena);
    xp_buf_release(&r->lbuf);
    if (r->lside)
        fclose(r->lside);
    release_held(r);
    for (size_t i = 0; i < r->nfiles; i++) {
        free(r->files[i].path);
        free(r->files[i].disk);
        free(r->files[i].id);
        json_object_put(r->files[i].meta);
    }
    free(r->files);
    free(r);
}

static char *basename_dup(const char *path, int up)
{
    char *c = xp_strdup(path);
    for (int i = 0; i < up; i++) {
        char *s = strrchr(c, '/');
        if (!s)
            break;
        *s = '\0';
    }
    const char *s = strrchr(c, '/');
    char *r = xp_strdup(s ? s + 1 : c);
    free(c);
    return r;
}

int cometx_read_experiment(struct xp_reader **out, struct xp_adapter *base,
                           const struct xp_experiment_ref *ref,
                           const struct xp_read_opts *ro)
{
    *out = NULL;
    if (!ref || !ref->key)
        return xp_error_set(XP_ENOTFOUND, "no cometx experiment folder given");
    struct cx_reader *r = xp_calloc(1, sizeof(*r));
    r->base.version = XP_READER_VERSION;
    r->base.next = cx_next;
    r->base.free = cx_reader_free;
    r->a = (struct cometx_adapter *)base;
    xp_fd_stream_init(&r->stream);
    xp_buf_init(&r->lbuf);
    r->res = ro && ro->resources ? ro->resources : XP_RES_ALL;
    r->only = ro ? ro->only_series : NULL;
    char *wsf = basename_dup(ref->key, 2), *pf = basename_dup(ref->key, 1),
         *ef = basename_dup(ref->key, 0);
    int rc = cometx_exp_load(&r->e, ref->key, wsf, pf, ef);
    free(wsf);
    free(pf);
    free(ef);
    r->real_dir = rc ? NULL : realpath(ref->key, NULL);
    if (!rc && !r->real_dir)
        rc = xp_error_set_os(XP_ENOTFOUND, "cannot open '%s'", ref->key);
    if (!rc)
        rc = load_docs(r);
    if (!rc)
        build_experiment(r);
    if (!rc)
        rc = load_metrics(r);
    if (!rc && !r->only && (r->res & XP_RES_LOGS))
        rc = open_logs(r);
    if (!rc && !r->only && (r->res & XP_RES_FILES))
        rc = load_files(r);
    if (rc) {
        cx_reader_free(&r->base);
        return rc;
    }
    *out = &r->base;
    return 0;
}
