/* Reading one experiment directory: the xport layout, or an ml-dash local
 * store of either generation (their metric and log JSONL lines are the
 * same format). Lines are parsed one at a time into bounded batches. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "local.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/jscan.h"
#include "xport/json.h"
#include "xport/lines.h"

#define LOG_BATCH 1024

enum stage {
    ST_EXPERIMENT,
    ST_PARAMS,
    ST_SUMMARY,
    ST_OTHERS,
    ST_SERIES,
    ST_LOGS,
    ST_FILES,
    ST_END,
    ST_DONE
};

struct series_item {
    enum xp_series_kind kind;
    char *dir;  /* absolute */
    char *name;
};

struct file_item {
    char *path;    /* relative path in the xport layout */
    char *disk;    /* absolute path of the bytes */
    struct json_object *entry; /* manifest entry, owned */
};

struct fd_stream {
    struct xp_stream base;
    int fd;
};

struct layout_reader {
    struct xp_reader base;
    struct local_adapter *la;
    char *dir;
    struct xp_read_opts ro;
    enum stage stage;
    struct xp_record rec;
    struct json_object *exp_json;
    struct experiment_names names;
    const char **tags;
    struct json_object *doc;
    struct json_object *vendor_obj;

    struct series_item *series;
    size_t nseries, cur_series;
    int series_state; /* 0 begin, 1 points, 2 end */
    struct json_object *series_md;

    FILE *fp;         /* current JSONL file */
    char *fp_path;
    long lineno;
    off_t line_start; /* of the last raw line, for the slow path */
    off_t offset;     /* bytes consumed so far (ftello costs a syscall) */
    size_t line_len;  /* of r->line without its line end */
    char *line;
    size_t line_cap;
    struct json_tokener *tok;

    struct xp_point *points;
    struct xp_field *fields;
    size_t fields_cap;
    struct json_object **held; /* parsed lines kept alive for one batch */
    size_t nheld;
    struct xp_arena arena;
    struct xp_log_entry *logs;

    struct file_item *files;
    size_t nfiles, cur_file;
    int files_collected;
    struct fd_stream stream;
};

/* ---- small helpers ---- */

static int close_fp(struct layout_reader *r)
{
    if (r->fp)
        fclose(r->fp);
    r->fp = NULL;
    free(r->fp_path);
    r->fp_path = NULL;
    return 0;
}

static int open_fp(struct layout_reader *r, const char *path)
{
    close_fp(r);
    r->fp = fopen(path, "rb");
    if (!r->fp)
        return xp_error_set_os(errno == ENOENT ? XP_ENOTFOUND : XP_EIO,
                               "cannot open '%s'", path);
    r->fp_path = xp_strdup(path);
    r->lineno = 0;
    r->offset = 0;
    return 0;
}

static void release_held(struct layout_reader *r)
{
    for (size_t i = 0; i < r->nheld; i++)
        json_object_put(r->held[i]);
    r->nheld = 0;
    xp_arena_reset(&r->arena);
}

/* Next non-empty line parsed as a JSON object; XP_ITEROVER at the end. */
/* Next raw line into r->line; 0, XP_ITEROVER, or an error. Empty lines
 * are skipped; a last line without '\n' is flagged in *complete. */
static int next_raw_line(struct layout_reader *r, int *complete)
{
    for (;;) {
        r->line_start = r->offset;
        ssize_t n = getline(&r->line, &r->line_cap, r->fp);
        if (n < 0) {
            if (ferror(r->fp))
                return xp_error_set_os(XP_EIO, "cannot read '%s'", r->fp_path);
            return XP_ITEROVER;
        }
        r->offset += n;
        r->lineno++;
        *complete = n > 0 && r->line[n - 1] == '\n';
        size_t k = (size_t)n;
        while (k && (r->line[k - 1] == '\n' || r->line[k - 1] == '\r'))
            k--;
        r->line_len = k;
        if (memchr(r->line, '\0', k))
            return xp_error_set(XP_EINVALID, "'%s' line %ld holds a NUL byte",
                                r->fp_path, r->lineno);
        if (k)
            return 0;
    }
}

static int next_json_line(struct layout_reader *r, struct json_object **out)
{
    int complete;
    int rc = next_raw_line(r, &complete);
    if (rc)
        return rc;
    size_t n = r->line_len;
    struct xp_buf what = XP_BUF_INIT;
    xp_buf_printf(&what, "'%s' line %ld", r->fp_path, r->lineno);
    rc = xp_json_parse(out, r->line, n, what.ptr);
    if (!rc && !json_object_is_type(*out, json_type_object)) {
        json_object_put(*out);
        rc = xp_error_set(XP_EINVALID, "%s is not a JSON object", what.ptr);
    }
    if (rc && !complete)
        rc = xp_error_set(XP_EINVALID, "%s is truncated", what.ptr);
    xp_buf_release(&what);
    return rc;
}


static const char *str_or_null(struct json_object *o, const char *k)
{
    return xp_json_str(o, k);
}

/* ---- experiment ---- */

static const char *const mldash_mapped_keys[] = {
    "name", "project", "description", "tags", "folder", "metadata",
    "created_at", "status", NULL};

static int is_mapped(const char *k)
{
    for (const char *const *p = mldash_mapped_keys; *p; p++)
        if (!strcmp(*p, k))
            return 1;
    return 0;
}

static int fill_experiment(struct layout_reader *r)
{
    struct xp_experiment_meta *m = &r->rec.u.exp;
    struct json_object *e = r->exp_json;
    memset(m, 0, sizeof(*m));
    m->workspace = r->names.workspace;
    m->project = r->names.project;
    m->name = r->names.name;
    m->folder = r->names.folder;
    m->description = str_or_null(e, "description");
    m->status = str_or_null(e, "status");
    m->created_at = str_or_null(e, "created_at");
    r->tags = xp_json_strings(e, "tags", &m->ntags);
    m->tags = r->tags;
    struct json_object *md = xp_json_get(e, "metadata");
    m->metadata = md && json_object_is_type(md, json_type_object) ? md : NULL;
    if (r->la->flavor == LOCAL_XPORT) {
        m->started_at = str_or_null(e, "startedAt");
        m->ended_at = str_or_null(e, "endedAt");
        struct json_object *src = xp_json_get(e, "source");
        m->source_vendor = str_or_null(src, "vendor");
        m->source_id = str_or_null(src, "id");
        m->source_url = str_or_null(src, "url");
        struct json_object *f = xp_json_get(src, "fields");
        m->vendor = f && !json_object_is_type(f, json_type_null) ? f : NULL;
    } else {
        /* ml-dash store: keep every field we do not map, verbatim */
        m->source_vendor = "mldash";
        struct json_object *v = json_object_new_object();
        json_object_object_foreach(e, k, val) {
            if (!is_mapped(k))
                json_object_object_add(v, k, val ? json_object_get(val) : NULL);
        }
        json_object_put(r->vendor_obj);
        r->vendor_obj = v;
        m->vendor = v;
        /* the store-relative path identifies an ml-dash experiment */
        m->source_id = r->names.relpath;
    }
    r->rec.kind = XP_REC_EXPERIMENT;
    return 0;
}

/* ---- documents ---- */

static int load_doc(struct layout_reader *r, const char *file,
                    enum xp_doc_kind kind, int *have)
{
    *have = 0;
    char *p = xp_path_join(r->dir, file);
    json_object_put(r->doc);
    r->doc = NULL;
    int rc = 0;
    if (xp_is_file(p)) {
        rc = xp_json_read_file(&r->doc, p);
        if (!rc && !json_object_is_type(r->doc, json_type_object))
            rc = xp_error_set(XP_EINVALID, "'%s' is not a JSON object", p);
        if (!rc) {
            struct json_object *d = r->doc;
            if (kind == XP_DOC_PARAMETERS) {
                /* ml-dash: {version, data:{...}} or a bare object */
                struct json_object *data = xp_json_get(d, "data");
                if (data && xp_json_get(d, "version") &&
                    json_object_is_type(data, json_type_object))
                    d = data;
            }
            r->rec.kind = XP_REC_DOCUMENT;
            r->rec.u.doc.kind = kind;
            r->rec.u.doc.doc = d;
            r->rec.created_at = d != r->doc ? str_or_null(r->doc, "createdAt") : NULL;
            r->rec.updated_at = d != r->doc ? str_or_null(r->doc, "updatedAt") : NULL;
            *have = 1;
        }
    }
    free(p);
    return rc;
}

/* ---- series ---- */

/* The series folders below base. ml-dash names a metric's folder by joining
 * its name into the path, so in its stores "train/loss" is
 * metrics/train/loss (below metric "train", if there is one): there the
 * search goes on into subfolders, the name being the metadata's or else
 * the relative path. */
static void add_series_at(struct layout_reader *r, enum xp_series_kind kind,
                          const char *base, const char *rel, size_t *cap, int depth)
{
    char **names;
    size_t n;
    if (xp_list_dir(&names, &n, base)) {
        xp_error_clear();
        return;
    }
    int nest = r->la->flavor != LOCAL_XPORT && kind == XP_SERIES_METRIC && depth < 16;
    for (size_t i = 0; i < n; i++) {
        char *d = xp_path_join(base, names[i]);
        char *data = xp_path_join(d, "data.jsonl");
        if (!xp_is_dir(d)) {
            if (depth == 0 && strlen(names[i]) > 6 &&
                !strcmp(names[i] + strlen(names[i]) - 6, ".jsonl"))
                xp_ctx_warn(r->la->base.ctx,
                            "'%s' is a legacy flat metric file and is not read",
                            d);
            free(d);
            free(data);
            continue;
        }
        char *relname = rel ? xp_path_join(rel, names[i]) : xp_strdup(names[i]);
        if (!xp_is_file(data)) {
            if (nest && names[i][0] != '.')
                add_series_at(r, kind, d, relname, cap, depth + 1);
            free(d);
            free(data);
            free(relname);
            continue;
        }
        free(data);
        if (r->nseries == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            r->series = xp_realloc(r->series, *cap * sizeof(*r->series));
        }
        struct series_item *it = &r->series[r->nseries++];
        it->kind = kind;
        it->dir = xp_strdup(d);
        /* the name: metadata.json wins; else the decoded directory name */
        char *mdp = xp_path_join(d, "metadata.json");
        struct json_object *md = NULL;
        const char *nm = NULL;
        if (xp_is_file(mdp) && !xp_json_read_file(&md, mdp))
            nm = str_or_null(md, kind == XP_SERIES_TRACK ? "topic" : "name");
        xp_error_clear();
        if (nm) {
            it->name = xp_strdup(nm);
        } else if (r->la->flavor == LOCAL_XPORT) {
            struct xp_buf dec = XP_BUF_INIT;
            it->name = xp_name_decode(&dec, names[i]) ? xp_strdup(names[i])
                                                      : xp_buf_detach(&dec);
            xp_buf_release(&dec);
        } else {
            it->name = xp_strdup(relname);
        }
        json_object_put(md);
        free(mdp);
        if (nest && names[i][0] != '.')
            add_series_at(r, kind, d, relname, cap, depth + 1);
        free(relname);
        free(d);
    }
    xp_strv_free(names);
}

static void add_series_dir(struct layout_reader *r, enum xp_series_kind kind,
                           const char *top, size_t *cap)
{
    char *base = xp_path_join(r->dir, top);
    add_series_at(r, kind, base, NULL, cap, 0);
    free(base);
}

static void collect_series(struct layout_reader *r)
{
    size_t cap = 0;
    if (r->ro.resources & XP_RES_METRICS) {
        add_series_dir(r, XP_SERIES_METRIC, "metrics", &cap);
        add_series_dir(r, XP_SERIES_TRACK, "tracks", &cap);
    }
    if (r->ro.resources & XP_RES_SYSTEM)
        add_series_dir(r, XP_SERIES_SYSTEM, "system", &cap);
    if (r->ro.only_series) {
        size_t k = 0;
        for (size_t i = 0; i < r->nseries; i++) {
            if (!strcmp(r->series[i].name, r->ro.only_series)) {
                r->series[k++] = r->series[i];
            } else {
                free(r->series[i].dir);
                free(r->series[i].name);
            }
        }
        r->nseries = k;
    }
}

static int series_begin(struct layout_reader *r, struct series_item *it)
{
    char *data = xp_path_join(it->dir, "data.jsonl");
    int rc = open_fp(r, data);
    free(data);
    if (rc)
        return rc;
    char *mdp = xp_path_join(it->dir, "metadata.json");
    json_object_put(r->series_md);
    r->series_md = NULL;
    if (xp_is_file(mdp) && (rc = xp_json_read_file(&r->series_md, mdp))) {
        free(mdp);
        return rc;
    }
    free(mdp);
    struct xp_series_meta *m = &r->rec.u.series;
    memset(m, 0, sizeof(*m));
    m->name = it->name;
    m->kind = it->kind;
    m->expected_points = -1;
    r->rec.created_at = r->rec.updated_at = NULL;
    if (r->series_md) {
        m->description = str_or_null(r->series_md, "description");
        r->rec.created_at = str_or_null(r->series_md, "createdAt");
        r->rec.updated_at = str_or_null(r->series_md, "updatedAt");
        struct json_object *md = xp_json_get(r->series_md, "metadata");
        if (it->kind == XP_SERIES_TRACK && r->la->flavor != LOCAL_XPORT)
            md = r->series_md; /* ml-dash track metadata as a whole */
        m->metadata = md && !json_object_is_type(md, json_type_null) ? md : NULL;
        struct json_object *t = xp_json_get(r->series_md, it->kind == XP_SERIES_TRACK
                                                      ? "totalEntries"
                                                      : "totalDataPoints");
        if (t && json_object_is_type(t, json_type_int))
            m->expected_points = json_object_get_int64(t);
    }
    r->rec.kind = XP_REC_SERIES_BEGIN;
    return 0;
}

static int add_fields(struct layout_reader *r, struct json_object *data,
                      size_t *nf)
{
    json_object_object_foreach(data, k, v) {
        if (*nf == r->fields_cap) {
                /* points are re-pointed at the array after the batch */
            r->fields_cap = r->fields_cap ? r->fields_cap * 2 : 4 * XP_POINTS_BATCH;
            r->fields = xp_realloc(r->fields, r->fields_cap * sizeof(*r->fields));
        }
        r->fields[*nf].key = k;
        int rc = xp_value_from_json(&r->fields[*nf].v, v, &r->arena);
        if (rc)
            return rc;
        (*nf)++;
    }
    return 0;
}

/* The fast path: scan a canonical point line in place, in the batch's own
 * line storage. 0 on success; anything else means "use json-c". */
static int scan_point_line(struct layout_reader *r, struct series_item *it,
                           struct xp_point *p, size_t *nf)
{
    size_t len = r->line_len;
    char *copy = xp_arena_strndup(&r->arena, r->line, len);
    if (it->kind == XP_SERIES_TRACK) {
        if (*nf + 64 > r->fields_cap) {
            r->fields_cap = r->fields_cap ? r->fields_cap * 2 : 4 * XP_POINTS_BATCH;
            r->fields = xp_realloc(r->fields, r->fields_cap * sizeof(*r->fields));
        }
        size_t k;
        if (xp_jscan_object(copy, len, r->fields + *nf, 64, &k))
            return -1;
        p->index = r->lineno - 1;
        p->nfields = k;
        *nf += k;
        return 0;
    }
    if (*nf + 64 > r->fields_cap) {
        r->fields_cap = r->fields_cap ? r->fields_cap * 2 : 4 * XP_POINTS_BATCH;
        r->fields = xp_realloc(r->fields, r->fields_cap * sizeof(*r->fields));
    }
    size_t k;
    if (xp_pointline_scan(copy, len, p, r->fields + *nf, 64, &k))
        return -1;
    *nf += k;
    return 0;
}

static int read_points(struct layout_reader *r, struct series_item *it)
{
    release_held(r);
    size_t n = 0, nf = 0;
    memset(r->points, 0, XP_POINTS_BATCH * sizeof(*r->points));
    while (n < XP_POINTS_BATCH) {
        int complete = 1;
        int rc = next_raw_line(r, &complete);
        if (rc == XP_ITEROVER)
            break;
        if (rc)
            return rc;
        if (complete && scan_point_line(r, it, &r->points[n], &nf) == 0) {
            n++;
            continue;
        }
        /* slow path: re-parse this same line with json-c */
        r->lineno--;
        r->offset = r->line_start;
        if (fseeko(r->fp, r->line_start, SEEK_SET) != 0)
            return xp_error_set_os(XP_EIO, "cannot seek in '%s'", r->fp_path);
        struct json_object *o;
        rc = next_json_line(r, &o);
        if (rc == XP_ITEROVER)
            break;
        if (rc)
            return rc;
        r->held[r->nheld++] = o;
        struct xp_point *p = &r->points[n];
        size_t first = nf;
        if (it->kind == XP_SERIES_TRACK) {
            p->index = r->lineno - 1;
            if ((rc = add_fields(r, o, &nf)))
                return rc;
        } else {
            struct json_object *idx = xp_json_get(o, "index"), *data = xp_json_get(o, "data");
            if (!data || !json_object_is_type(data, json_type_object))
                return xp_error_set(XP_EINVALID, "'%s' line %ld has no \"data\" object",
                                    r->fp_path, r->lineno);
            if (idx && json_object_is_type(idx, json_type_int))
                p->index = json_object_get_int64(idx);
            else if (idx && json_object_is_type(idx, json_type_string))
                p->index = strtoll(json_object_get_string(idx), NULL, 10);
            else
                p->index = r->lineno - 1;
            p->created_at = str_or_null(o, "createdAt");
            if ((rc = add_fields(r, data, &nf)))
                return rc;
        }
        p->nfields = nf - first;
        n++;
    }
    /* fields may have moved while growing: recompute from counts */
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        r->points[i].fields = r->fields + off;
        off += r->points[i].nfields;
    }
    if (n == 0)
        return XP_ITEROVER;
    r->rec.kind = XP_REC_POINTS;
    r->rec.u.points.v = r->points;
    r->rec.u.points.n = n;
    return 0;
}

/* ---- logs ---- */

static int read_logs(struct layout_reader *r)
{
    release_held(r);
    size_t n = 0;
    while (n < LOG_BATCH) {
        struct json_object *o;
        int rc = next_json_line(r, &o);
        if (rc == XP_ITEROVER)
            break;
        if (rc)
            return rc;
        r->held[r->nheld++] = o;
        struct xp_log_entry *e = &r->logs[n];
        memset(e, 0, sizeof(*e));
        struct json_object *seq = xp_json_get(o, "sequenceNumber"), *msg = xp_json_get(o, "message");
        e->seq = seq && json_object_is_type(seq, json_type_int)
                     ? json_object_get_int64(seq)
                     : r->lineno - 1;
        e->timestamp = str_or_null(o, "timestamp");
        e->level = str_or_null(o, "level");
        e->stream = str_or_null(o, "stream");
        if (!msg || !json_object_is_type(msg, json_type_string))
            return xp_error_set(XP_EINVALID, "'%s' line %ld has no \"message\"",
                                r->fp_path, r->lineno);
        e->message = json_object_get_string(msg);
        e->message_len = (size_t)json_object_get_string_len(msg);
        struct json_object *md = xp_json_get(o, "metadata");
        e->metadata = md && !json_object_is_type(md, json_type_null) ? md : NULL;
        n++;
    }
    if (n == 0)
        return XP_ITEROVER;
    r->rec.kind = XP_REC_LOGS;
    r->rec.u.logs.v = r->logs;
    r->rec.u.logs.n = n;
    return 0;
}

/* ---- files ---- */

static void add_file(struct layout_reader *r, size_t *cap, const char *rel,
                     const char *disk, struct json_object *entry)
{
    if (r->nfiles == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        r->files = xp_realloc(r->files, *cap * sizeof(*r->files));
    }
    struct file_item *f = &r->files[r->nfiles++];
    f->path = xp_strdup(rel);
    f->disk = xp_strdup(disk);
    f->entry = entry;
}

static int collect_files_xport(struct layout_reader *r)
{
    char *mf = xp_path_join(r->dir, "files.jsonl");
    int rc = 0;
    size_t cap = 0;
    if (!xp_is_file(mf)) {
        free(mf);
        return 0;
    }
    if ((rc = open_fp(r, mf))) {
        free(mf);
        return rc;
    }
    free(mf);
    struct json_object *o;
    while ((rc = next_json_line(r, &o)) == 0) {
        const char *path = str_or_null(o, "path");
        if (!path || !xp_relpath_safe(path)) {
            rc = xp_error_set(XP_EINVALID, "'%s' line %ld: unsafe or missing path",
                              r->fp_path, r->lineno);
            json_object_put(o);
            break;
        }
        const char *art = str_or_null(o, "artifact");
        if (art && !(r->ro.resources & XP_RES_ARTIFACTS)) {
            json_object_put(o);
            continue;
        }
        if (!art && !(r->ro.resources & XP_RES_FILES)) {
            json_object_put(o);
            continue;
        }
        struct xp_buf d = XP_BUF_INIT, enc = XP_BUF_INIT;
        if (art && xp_name_encode(&enc, art)) {
            rc = xp_error_set(XP_EINVALID, "'%s' line %ld: bad artifact name",
                              r->fp_path, r->lineno);
            json_object_put(o);
            xp_buf_release(&enc);
            break;
        }
        if (art)
            xp_buf_printf(&d, "%s/artifacts/%s/%s", r->dir, enc.ptr, path);
        else
            xp_buf_printf(&d, "%s/files/%s", r->dir, path);
        add_file(r, &cap, path, d.ptr, o);
        xp_buf_release(&d);
        xp_buf_release(&enc);
    }
    close_fp(r);
    return rc == XP_ITEROVER ? 0 : rc;
}

/* ml-dash: files/.files_metadata.json lists {id, path, filename, ...}; the
 * bytes are at files/<path>/<id>/<filename>. The layout path drops the id
 * unless two live files share path and filename. */
static int collect_files_mldash(struct layout_reader *r)
{
    char *mf = xp_path_join(r->dir, "files/.files_metadata.json");
    int rc = 0;
    size_t cap = 0;
    if (!xp_is_file(mf)) {
        free(mf);
        return 0;
    }
    struct json_object *doc = NULL;
    rc = xp_json_read_file(&doc, mf);
    free(mf);
    if (rc)
        return rc;
    struct json_object *arr = xp_json_get(doc, "files");
    size_t n = arr && json_object_is_type(arr, json_type_array)
                   ? json_object_array_length(arr) : 0;
    struct json_object *seen = json_object_new_object();
    for (int pass = 0; pass < 2 && !rc; pass++) {
        for (size_t i = 0; i < n && !rc; i++) {
            struct json_object *e = json_object_array_get_idx(arr, i);
            const char *id = str_or_null(e, "id"), *fn = str_or_null(e, "filename");
            const char *path = str_or_null(e, "path");
            struct json_object *del = xp_json_get(e, "deletedAt");
            if (del && !json_object_is_type(del, json_type_null))
                continue; /* soft-deleted in ml-dash */
            if (!id || !fn) {
                rc = xp_error_set(XP_EINVALID, "file entry %zu in '%s' lacks id or filename",
                                  i, r->dir);
                break;
            }
            while (path && *path == '/')
                path++;
            struct xp_buf rel = XP_BUF_INIT, disk = XP_BUF_INIT;
            if (path && *path)
                xp_buf_printf(&rel, "%s/", path);
            xp_buf_puts(&rel, fn);
            if (pass == 0) {
                struct json_object *c = xp_json_get(seen, rel.ptr);
                json_object_object_add(seen, rel.ptr,
                    json_object_new_int(c ? json_object_get_int(c) + 1 : 1));
                xp_buf_release(&rel);
                continue;
            }
            if (json_object_get_int(xp_json_get(seen, rel.ptr)) > 1) {
                xp_buf_reset(&rel);
                if (path && *path)
                    xp_buf_printf(&rel, "%s/", path);
                xp_buf_printf(&rel, "%s/%s", id, fn);
            }
            xp_buf_printf(&disk, "%s/files/%s%s%s/%s", r->dir,
                          path && *path ? path : "", path && *path ? "/" : "", id, fn);
            if (!xp_relpath_safe(rel.ptr))
                rc = xp_error_set(XP_EINVALID, "unsafe file path '%s' in '%s'",
                                  rel.ptr, r->dir);
            else
                add_file(r, &cap, rel.ptr, disk.ptr, json_object_get(e));
            xp_buf_release(&rel);
            xp_buf_release(&disk);
        }
    }
    json_object_put(seen);
    json_object_put(doc);
    return rc;
}

static ssize_t fd_read(struct xp_stream *s, void *buf, size_t len)
{
    struct fd_stream *f = (struct fd_stream *)s;
    for (;;) {
        ssize_t n = read(f->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return xp_error_set_os(XP_EIO, "cannot read file");
    }
}

static void fd_free(struct xp_stream *s)
{
    struct fd_stream *f = (struct fd_stream *)s;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

static int emit_file(struct layout_reader *r, struct file_item *f)
{
    fd_free(&r->stream.base);
    r->stream.fd = open(f->disk, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (r->stream.fd < 0)
        return xp_error_set_os(XP_ENOTFOUND, "cannot open '%s'", f->disk);
    struct xp_file_meta *m = &r->rec.u.file.meta;
    memset(m, 0, sizeof(*m));
    struct json_object *e = f->entry;
    m->path = f->path;
    m->size = -1;
    struct json_object *sz = xp_json_get(e, r->la->flavor == LOCAL_XPORT ? "size" : "sizeBytes");
    if (sz && json_object_is_type(sz, json_type_int))
        m->size = json_object_get_int64(sz);
    if (r->la->flavor == LOCAL_XPORT) {
        m->sha256 = str_or_null(e, "sha256");
        struct json_object *vc = xp_json_get(e, "vendorChecksum");
        m->vendor_checksum_algo = str_or_null(vc, "algo");
        m->vendor_checksum = str_or_null(vc, "value");
        struct json_object *md = xp_json_get(e, "metadata");
        m->metadata = md && !json_object_is_type(md, json_type_null) ? md : NULL;
    } else {
        /* ml-dash's checksum is a sha256 hex; keep the whole entry */
        m->sha256 = str_or_null(e, "checksum");
        m->vendor_checksum_algo = m->sha256 ? "sha256" : NULL;
        m->vendor_checksum = m->sha256;
        m->metadata = e;
    }
    m->content_type = str_or_null(e, "contentType");
    m->id = str_or_null(e, "id");
    m->artifact = r->la->flavor == LOCAL_XPORT ? str_or_null(e, "artifact") : NULL;
    r->rec.kind = XP_REC_FILE;
    r->rec.u.file.body = &r->stream.base;
    return 0;
}

/* ---- the state machine ---- */

static int reader_next(struct xp_reader *base, const struct xp_record **out)
{
    struct layout_reader *r = (struct layout_reader *)base;
    int rc, have;
    *out = NULL;
    for (;;) {
        switch (r->stage) {
        case ST_EXPERIMENT:
            r->stage = ST_PARAMS;
            if ((rc = fill_experiment(r)))
                return rc;
            *out = &r->rec;
            return 0;
        case ST_PARAMS:
            r->stage = ST_SUMMARY;
            if (r->ro.only_series || !(r->ro.resources & XP_RES_PARAMETERS))
                continue;
            if ((rc = load_doc(r, "parameters.json", XP_DOC_PARAMETERS, &have)))
                return rc;
            if (have) {
                *out = &r->rec;
                return 0;
            }
            continue;
        case ST_SUMMARY:
        case ST_OTHERS: {
            enum stage s = r->stage;
            r->stage = s == ST_SUMMARY ? ST_OTHERS : ST_SERIES;
            if (r->ro.only_series || !(r->ro.resources & XP_RES_OTHERS))
                continue;
            if ((rc = load_doc(r, s == ST_SUMMARY ? "summary.json" : "others.json",
                               s == ST_SUMMARY ? XP_DOC_SUMMARY : XP_DOC_OTHERS,
                               &have)))
                return rc;
            if (have) {
                *out = &r->rec;
                return 0;
            }
            continue;
        }
        case ST_SERIES: {
            if (r->cur_series >= r->nseries) {
                r->stage = ST_LOGS;
                continue;
            }
            struct series_item *it = &r->series[r->cur_series];
            if (xp_ctx_cancelled(r->la->base.ctx))
                return xp_error_set(XP_ECANCEL, "interrupted");
            if (r->series_state == 0) {
                if (r->ro.have_item) {
                    /* resume: the destination holds this series already */
                    struct xp_buf key = XP_BUF_INIT;
                    xp_buf_printf(&key, "%s/%s", xp_series_dir(it->kind), it->name);
                    int held = r->ro.have_item(r->ro.have_payload, key.ptr);
                    xp_buf_release(&key);
                    if (held) {
                        r->cur_series++;
                        continue;
                    }
                }
                if ((rc = series_begin(r, it)))
                    return rc;
                r->series_state = 1;
                *out = &r->rec;
                return 0;
            }
            if (r->series_state == 1) {
                rc = read_points(r, it);
                if (rc == 0) {
                    *out = &r->rec;
                    return 0;
                }
                if (rc != XP_ITEROVER)
                    return rc;
                r->series_state = 2;
            }
            release_held(r);
            close_fp(r);
            r->series_state = 0;
            r->cur_series++;
            r->rec.kind = XP_REC_SERIES_END;
            *out = &r->rec;
            return 0;
        }
        case ST_LOGS:
            if (r->ro.only_series || !(r->ro.resources & XP_RES_LOGS)) {
                r->stage = ST_FILES;
                continue;
            }
            if (!r->fp) {
                char *p = xp_path_join(r->dir, "logs/logs.jsonl");
                int exists = xp_is_file(p);
                rc = exists ? open_fp(r, p) : 0;
                free(p);
                if (rc)
                    return rc;
                if (!exists) {
                    r->stage = ST_FILES;
                    continue;
                }
            }
            rc = read_logs(r);
            if (rc == 0) {
                *out = &r->rec;
                return 0;
            }
            if (rc != XP_ITEROVER)
                return rc;
            release_held(r);
            close_fp(r);
            r->stage = ST_FILES;
            continue;
        case ST_FILES:
            if (!r->files_collected) {
                r->files_collected = 1;
                if ((r->ro.resources & (XP_RES_FILES | XP_RES_ARTIFACTS)) &&
                    !r->ro.only_series) {
                    rc = r->la->flavor == LOCAL_XPORT ? collect_files_xport(r)
                                                      : collect_files_mldash(r);
                    if (rc)
                        return rc;
                }
            }
            if (r->cur_file >= r->nfiles) {
                fd_free(&r->stream.base);
                r->stage = ST_END;
                continue;
            }
            if (r->ro.have_item) {
                struct file_item *f = &r->files[r->cur_file];
                const char *art = xp_json_str(f->entry, "artifact");
                struct xp_buf key = XP_BUF_INIT;
                if (art && r->la->flavor == LOCAL_XPORT)
                    xp_buf_printf(&key, "artifacts/%s/%s", art, f->path);
                else
                    xp_buf_printf(&key, "files/%s", f->path);
                int held = r->ro.have_item(r->ro.have_payload, key.ptr);
                xp_buf_release(&key);
                if (held) {
                    r->cur_file++;
                    continue;
                }
            }
            if ((rc = emit_file(r, &r->files[r->cur_file++])))
                return rc;
            *out = &r->rec;
            return 0;
        case ST_END:
            r->stage = ST_DONE;
            r->rec.kind = XP_REC_END;
            *out = &r->rec;
            return 0;
        case ST_DONE:
            return XP_ITEROVER;
        }
    }
}

static void reader_free(struct xp_reader *base)
{
    struct layout_reader *r = (struct layout_reader *)base;
    if (!r)
        return;
    release_held(r);
    close_fp(r);
    fd_free(&r->stream.base);
    for (size_t i = 0; i < r->nseries; i++) {
        free(r->series[i].dir);
        free(r->series[i].name);
    }
    for (size_t i = 0; i < r->nfiles; i++) {
        free(r->files[i].path);
        free(r->files[i].disk);
        json_object_put(r->files[i].entry);
    }
    free(r->files);
    free(r->series);
    json_object_put(r->series_md);
    json_object_put(r->doc);
    json_object_put(r->vendor_obj);
    json_object_put(r->exp_json);
    local_experiment_names_release(&r->names);
    free(r->tags);
    free(r->line);
    free(r->points);
    free(r->fields);
    free(r->held);
    free(r->logs);
    xp_arena_release(&r->arena);
    free(r->dir);
    free(r);
}

int local_read_experiment(struct xp_reader **out, struct xp_adapter *a,
                          const struct xp_experiment_ref *ref,
                          const struct xp_read_opts *ro)
{
    struct local_adapter *la = (struct local_adapter *)a;
    *out = NULL;
    struct layout_reader *r = xp_calloc(1, sizeof(*r));
    r->base.next = reader_next;
    r->base.free = reader_free;
    r->la = la;
    r->dir = xp_strdup(ref->key);
    r->ro = *ro;
    r->stream.base.read = fd_read;
    r->stream.base.free = fd_free;
    r->stream.fd = -1;
    r->points = xp_calloc(XP_POINTS_BATCH, sizeof(*r->points));
    r->held = xp_calloc(XP_POINTS_BATCH > LOG_BATCH ? XP_POINTS_BATCH : LOG_BATCH,
                        sizeof(*r->held));
    r->logs = xp_calloc(LOG_BATCH, sizeof(*r->logs));
    char *ej = xp_path_join(r->dir, "experiment.json");
    int rc = xp_json_read_file(&r->exp_json, ej);
    free(ej);
    if (!rc && !json_object_is_type(r->exp_json, json_type_object))
        rc = xp_error_set(XP_EINVALID, "'%s/experiment.json' is not an object",
                          r->dir);
    if (!rc)
        rc = local_experiment_names(&r->names, la, r->dir, r->exp_json);
    if (rc) {
        reader_free(&r->base);
        return rc;
    }
    collect_series(r);
    *out = &r->base;
    return 0;
}
