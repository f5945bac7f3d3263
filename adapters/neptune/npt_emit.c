/* Records from a replayed Neptune run: the parameters document, float and
 * string series, console output as logs, and files (file attributes, file
 * series images), in the order record.h sets out. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "npt.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/iso8601.h"
#include "xport/json.h"

struct logref;
enum st { S_EXP, S_PARAMS, S_SERIES, S_LOGS, S_FILES, S_END, S_DONE };

struct body {
    struct xp_stream base;
    int fd;          /* a file on disk, or -1 */
    struct xp_buf mem; /* else these bytes */
    size_t pos;
};

struct npt_emit {
    struct npt_run *run;
    struct npt_emit_opts o;
    enum st st;
    struct npt_attr **attrs;
    size_t nattrs, ai; /* attribute cursor */
    size_t pi;         /* point cursor within attrs[ai] */
    int in_series;
    struct xp_record rec;
    struct json_object *doc;
    struct xp_point pts[XP_POINTS_BATCH];
    struct xp_field fields[XP_POINTS_BATCH * 3];
    struct xp_log_entry logs[XP_POINTS_BATCH];
    char (*stamps)[XP_ISO8601_BUFSZ];
    struct json_object *logmeta[XP_POINTS_BATCH];
    size_t nlogmeta;
    int64_t seq;
    struct body body;
    struct xp_buf rel;
    char sha[65];
    struct json_object *fmeta;
    struct logref *lorder; /* console lines in time order */
    size_t nlorder, lpos;
    struct npt_fentry *fset; /* the files of the file set at attrs[ai] */
    size_t nfset;
};

/* ---- small helpers ------------------------------------------------------ */

static int is_system(const char *path)
{
    return !strncmp(path, "monitoring/", 11);
}

/* Console output of the run: monitoring/[<hash>/]stdout|stderr|traceback. */
static const char *console_stream(const struct npt_attr *a)
{
    if (a->type != NPT_STRING_SERIES || !is_system(a->path))
        return NULL;
    const char *last = strrchr(a->path, '/') + 1;
    if (!strcmp(last, "stdout") || !strcmp(last, "stderr"))
        return last;
    if (!strcmp(last, "traceback"))
        return "stderr";
    return NULL;
}

/* An attribute path as a relative file path: each segment that is not safe
 * as a path segment ("..", ".", "") is encoded (xp_name_encode). */
int npt_safe_rel(struct xp_buf *out, const char *path)
{
    xp_buf_reset(out);
    struct xp_buf enc = XP_BUF_INIT;
    const char *p = path;
    for (;;) {
        const char *sl = strchr(p, '/');
        size_t n = sl ? (size_t)(sl - p) : strlen(p);
        char *seg = xp_strndup(p, n);
        if (out->len)
            xp_buf_putc(out, '/');
        if (xp_segment_safe(seg)) {
            xp_buf_puts(out, seg);
        } else {
            int rc = xp_name_encode(&enc, seg);
            if (rc) {
                free(seg);
                xp_buf_release(&enc);
                return rc;
            }
            xp_buf_put(out, enc.ptr, enc.len);
        }
        free(seg);
        if (!sl)
            break;
        p = sl + 1;
    }
    xp_buf_release(&enc);
    return 0;
}

/* ---- file bodies -------------------------------------------------------- */

static ssize_t body_read(struct xp_stream *s, void *buf, size_t len)
{
    struct body *b = (struct body *)s;
    if (b->fd >= 0) {
        ssize_t n = read(b->fd, buf, len);
        return n < 0 ? xp_error_set_os(XP_EIO, "cannot read a file") : n;
    }
    size_t n = b->mem.len - b->pos < len ? b->mem.len - b->pos : len;
    memcpy(buf, b->mem.ptr + b->pos, n);
    b->pos += n;
    return (ssize_t)n;
}

static void body_close(struct body *b)
{
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
    xp_buf_reset(&b->mem);
    b->pos = 0;
}

static void file_record(struct npt_emit *e, int64_t size, int have_sha)
{
    memset(&e->rec, 0, sizeof(e->rec));
    e->rec.kind = XP_REC_FILE;
    e->rec.u.file.meta.path = e->rel.ptr;
    e->rec.u.file.meta.size = size;
    e->rec.u.file.meta.sha256 = have_sha ? e->sha : NULL;
    e->rec.u.file.meta.metadata = e->fmeta;
    e->body.base.read = body_read;
    e->body.base.free = NULL;
    e->rec.u.file.body = &e->body.base;
}

static void mem_record(struct npt_emit *e)
{
    xp_sha256_hex(e->sha, e->body.mem.ptr, e->body.mem.len);
    file_record(e, (int64_t)e->body.mem.len, 1);
}

static const char *image_ext(const struct xp_buf *b)
{
    const unsigned char *p = (const unsigned char *)b->ptr;
    if (b->len >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8))
        return "png";
    if (b->len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
        return "jpeg";
    if (b->len >= 6 && (!memcmp(p, "GIF87a", 6) || !memcmp(p, "GIF89a", 6)))
        return "gif";
    return "bin";
}

/* The folder a data-N.log file is in. */
static char *dir_of_file(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? xp_strndup(path, (size_t)(s - path)) : xp_strdup(".");
}

/* A file attribute: 1 with e->rec set, 0 when it is skipped (and noted). */
static int file_attr(struct npt_emit *e, struct npt_attr *a)
{
    struct npt_run *r = e->run;
    int rc = npt_safe_rel(&e->rel, a->path);
    if (rc)
        return rc;
    if (a->ext && *a->ext) {
        xp_buf_putc(&e->rel, '.');
        xp_buf_puts(&e->rel, a->ext);
    }
    json_object_put(e->fmeta);
    e->fmeta = json_object_new_object();
    json_object_object_add(e->fmeta, "attribute", json_object_new_string(a->path));
    json_object_object_add(e->fmeta, "ext", json_object_new_string(a->ext ? a->ext : ""));
    if (a->has_content) {
        if ((rc = npt_blob_read(r, &a->content, &e->body.mem)))
            return rc;
        mem_record(e);
        return 1;
    }
    char *src = NULL;
    if (a->tmp_name) {
        if (!xp_segment_safe(a->tmp_name)) {
            xp_lost_add(&r->lost, "file '%s' names an unsafe upload_path entry", a->path);
            return 0;
        }
        char *dir = dir_of_file(r->files[a->content.file]);
        char *up = xp_path_join(dir, "upload_path");
        src = xp_path_join(up, a->tmp_name);
        free(up);
        free(dir);
    } else {
        src = xp_strdup(a->file_path);
        json_object_object_add(e->fmeta, "file_path", json_object_new_string(src));
    }
    struct stat st;
    /* an upload_path/ entry is the run's own: no link out of it */
    int fd = open(src, O_RDONLY | O_CLOEXEC | (a->tmp_name ? O_NOFOLLOW : 0));
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        xp_lost_add(&r->lost, "file '%s' (%s) is not on this machine%s", a->path, src,
                 a->tmp_name ? " or not a regular file" : "");
        free(src);
        return 0;
    }
    if (!a->tmp_name)
        npt_outside(r, src);
    free(src);
    e->body.fd = fd;
    file_record(e, (int64_t)st.st_size, 0);
    return 1;
}

/* One file of a file set: 1 with e->rec set, 0 when it is gone. */
static int set_file(struct npt_emit *e, struct npt_attr *a,
                    const struct npt_fentry *f)
{
    int rc = npt_safe_rel(&e->rel, a->path);
    struct xp_buf t = XP_BUF_INIT;
    if (!rc)
        rc = npt_safe_rel(&t, f->target);
    if (rc) {
        xp_buf_release(&t);
        return rc;
    }
    xp_buf_printf(&e->rel, "/%s", t.ptr);
    xp_buf_release(&t);
    struct stat st;
    int fd = open(f->source, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        xp_lost_add(&e->run->lost, "file set '%s': '%s' is gone", a->path, f->source);
        return 0;
    }
    json_object_put(e->fmeta);
    e->fmeta = json_object_new_object();
    json_object_object_add(e->fmeta, "attribute", json_object_new_string(a->path));
    json_object_object_add(e->fmeta, "file_path", json_object_new_string(f->source));
    npt_outside(e->run, f->source);
    e->body.fd = fd;
    file_record(e, (int64_t)st.st_size, 0);
    return 1;
}

/* The image at e->pi of a file series. */
static int image(struct npt_emit *e, struct npt_attr *a)
{
    const struct npt_point *p = &a->pts[e->pi];
    int rc = npt_blob_read(e->run, &p->u.img->blob, &e->body.mem);
    if (rc)
        return rc;
    if ((rc = npt_safe_rel(&e->rel, a->path)))
        return rc;
    xp_buf_printf(&e->rel, "/%zu.%s", e->pi, image_ext(&e->body.mem));
    json_object_put(e->fmeta);
    e->fmeta = json_object_new_object();
    json_object_object_add(e->fmeta, "attribute", json_object_new_string(a->path));
    json_object_object_add(e->fmeta, "index", json_object_new_int64((int64_t)e->pi));
    if (p->has_step)
        json_object_object_add(e->fmeta, "step", json_object_new_double(p->step));
    json_object_object_add(e->fmeta, "timestamp",
                           json_object_new_double((double)p->ts_ms / 1000.0));
    if (p->u.img->name)
        json_object_object_add(e->fmeta, "name", json_object_new_string(p->u.img->name));
    if (p->u.img->description)
        json_object_object_add(e->fmeta, "description",
                               json_object_new_string(p->u.img->description));
    mem_record(e);
    return 0;
}

/* ---- documents, series, logs -------------------------------------------- */

/* Put value v at path (split on '/') inside the object root. */
void npt_put_nested(struct json_object *root, const char *path,
                    struct json_object *v)
{
    const char *sl;
    while ((sl = strchr(path, '/'))) {
        char *k = xp_strndup(path, (size_t)(sl - path));
        struct json_object *sub;
        if (!json_object_object_get_ex(root, k, &sub) ||
            !json_object_is_type(sub, json_type_object)) {
            sub = json_object_new_object();
            json_object_object_add(root, k, sub);
        }
        free(k);
        root = sub;
        path = sl + 1;
    }
    json_object_object_add(root, path, v);
}

/* An atom or string set as JSON (NULL for other types). */
struct json_object *npt_atom_json(const struct npt_attr *a)
{
    char iso[XP_ISO8601_BUFSZ];
    switch (a->type) {
    case NPT_FLOAT: return json_object_new_double(a->v.d);
    case NPT_INT: return json_object_new_int64(a->v.i);
    case NPT_BOOL: return json_object_new_boolean(a->v.b);
    case NPT_STRING: return json_object_new_string(a->v.s);
    case NPT_DATETIME:
        if (a->ns) { /* 3.x: nanoseconds, as many digits as they need */
            int64_t s = a->v.ms / 1000, r = a->v.ms % 1000;
            if (r < 0) {
                r += 1000;
                s--;
            }
            xp_iso8601_format(iso, s, (int32_t)(r * 1000000 + a->ns), XP_ISO_TRIM);
        } else {
            xp_iso8601_format_ms(iso, a->v.ms);
        }
        return json_object_new_string(iso);
    case NPT_STRING_SET: {
        struct json_object *arr = json_object_new_array();
        for (size_t i = 0; i < a->nset; i++)
            json_object_array_add(arr, json_object_new_string(a->set[i]));
        return arr;
    }
    default: return NULL;
    }
}

static int series_wanted(const struct npt_emit *e, const struct npt_attr *a)
{
    if (a->type != NPT_FLOAT_SERIES &&
        (a->type != NPT_STRING_SERIES || console_stream(a)))
        return 0;
    if (e->o.only_series)
        return !strcmp(e->o.only_series, a->path);
    return e->o.resources & (is_system(a->path) ? XP_RES_SYSTEM : XP_RES_METRICS);
}

int npt_step_exact(double d, const char *text)
{
    const char *dot = strchr(text, '.');
    int scale = dot ? (int)strlen(dot + 1) : 0;
    char back[400];
    snprintf(back, sizeof back, "%.*f", scale, d);
    /* "-0.0" for a text "0.0" that parsed to -0 is the same step */
    return !strcmp(back, text) || (d == 0 && back[0] == '-' && !strcmp(back + 1, text));
}

size_t npt_fields(struct xp_field *f, double d, const char *s, size_t slen, int has_step,
                  double step, int64_t ms)
{
    size_t k = 0;
    f[k].key = "value";
    if (s) {
        f[k].v.type = XP_V_STRING;
        f[k].v.u.s.ptr = s;
        f[k].v.u.s.len = slen;
    } else {
        f[k].v.type = XP_V_FLOAT;
        f[k].v.u.d = d;
    }
    k++;
    if (has_step) {
        f[k].key = "step";
        f[k].v.type = XP_V_FLOAT;
        f[k++].v.u.d = step;
    }
    f[k].key = "timestamp";
    f[k].v.type = XP_V_FLOAT;
    f[k++].v.u.d = (double)ms / 1000.0;
    return k;
}

/* The next series record: 1 with e->rec set, 0 when no series is left. */
static int next_series(struct npt_emit *e)
{
    for (; e->ai < e->nattrs; e->ai++, e->pi = 0, e->in_series = 0) {
        struct npt_attr *a = e->attrs[e->ai];
        if (!series_wanted(e, a))
            continue;
        if (!e->in_series) {
            e->in_series = 1;
            e->rec.kind = XP_REC_SERIES_BEGIN;
            e->rec.u.series.name = a->path;
            e->rec.u.series.kind = is_system(a->path) ? XP_SERIES_SYSTEM
                                                      : XP_SERIES_METRIC;
            json_object_put(e->doc);
            e->doc = json_object_new_object();
            json_object_object_add(e->doc, "neptune_type",
                                   json_object_new_string(npt_type_name(a->type)));
            if (a->config)
                json_object_object_add(e->doc, "config", json_object_get(a->config));
            e->rec.u.series.metadata = e->doc;
            e->rec.u.series.expected_points = (int64_t)a->npts;
            return 1;
        }
        if (e->pi < a->npts) {
            size_t n = 0, nf = 0;
            for (; n < XP_POINTS_BATCH && e->pi < a->npts; n++, e->pi++) {
                const struct npt_point *p = &a->pts[e->pi];
                struct xp_field *f = &e->fields[nf];
                int fl = a->type == NPT_FLOAT_SERIES;
                size_t k = npt_fields(f, fl ? p->u.d : 0, fl ? NULL : p->u.s,
                                      fl ? 0 : strlen(p->u.s), p->has_step, p->step, p->ts_ms);
                e->pts[n] = (struct xp_point){(int64_t)e->pi, NULL, f, k};
                nf += k;
            }
            e->rec.kind = XP_REC_POINTS;
            e->rec.u.points.v = e->pts;
            e->rec.u.points.n = n;
            return 1;
        }
        e->rec.kind = XP_REC_SERIES_END;
        e->ai++;
        e->pi = 0;
        e->in_series = 0;
        return 1;
    }
    return 0;
}

static void free_logmeta(struct npt_emit *e)
{
    for (size_t i = 0; i < e->nlogmeta; i++)
        json_object_put(e->logmeta[i]);
    e->nlogmeta = 0;
}

struct logref {
    const struct npt_attr *a;
    size_t ai, i;
};

static int by_time(const void *x, const void *y)
{
    const struct logref *p = x, *q = y;
    int64_t s = p->a->pts[p->i].ts_ms, t = q->a->pts[q->i].ts_ms;
    if (s != t)
        return s < t ? -1 : 1;
    if (p->ai != q->ai)
        return p->ai < q->ai ? -1 : 1;
    return p->i < q->i ? -1 : p->i > q->i;
}

/* The next batch of console lines, of every console attribute merged in
 * time order: 1 with e->rec set, 0 at the end. */
static int next_logs(struct npt_emit *e)
{
    free_logmeta(e);
    if (!e->lorder) {
        size_t n = 0;
        for (size_t k = 0; k < e->nattrs; k++)
            if (console_stream(e->attrs[k]))
                n += e->attrs[k]->npts;
        e->lorder = xp_malloc((n + 1) * sizeof(*e->lorder));
        for (size_t k = 0; k < e->nattrs; k++)
            for (size_t i = 0; console_stream(e->attrs[k]) && i < e->attrs[k]->npts; i++)
                e->lorder[e->nlorder++] = (struct logref){e->attrs[k], k, i};
        qsort(e->lorder, e->nlorder, sizeof(*e->lorder), by_time);
    }
    size_t n = 0;
    for (; e->lpos < e->nlorder && n < XP_POINTS_BATCH; e->lpos++, n++) {
        const struct npt_attr *a = e->lorder[e->lpos].a;
        const struct npt_point *p = &a->pts[e->lorder[e->lpos].i];
        xp_iso8601_format_ms(e->stamps[n], p->ts_ms);
        struct json_object *m = json_object_new_object();
        json_object_object_add(m, "attribute", json_object_new_string(a->path));
        if (p->has_step)
            json_object_object_add(m, "step", json_object_new_double(p->step));
        e->logmeta[e->nlogmeta++] = m;
        const char *last = strrchr(a->path, '/') + 1;
        e->logs[n] = (struct xp_log_entry){
            e->seq++, e->stamps[n], strcmp(last, "traceback") ? NULL : "error",
            console_stream(a), p->u.s, strlen(p->u.s), m};
    }
    if (!n)
        return 0;
    e->rec.kind = XP_REC_LOGS;
    e->rec.u.logs.v = e->logs;
    e->rec.u.logs.n = n;
    return 1;
}

/* The next file: 1 with e->rec set, 0 at the end. */
static int next_file(struct npt_emit *e)
{
    while (e->ai < e->nattrs) {
        struct npt_attr *a = e->attrs[e->ai];
        int rc;
        if (a->type == NPT_FILE_SERIES && e->pi < a->npts) {
            rc = image(e, a);
            e->pi++;
            return rc ? rc : 1;
        }
        if (a->type == NPT_FILE && e->pi == 0) {
            e->pi = 1;
            if ((rc = file_attr(e, a)))
                return rc;
        }
        if (a->type == NPT_FILE_SET) {
            if (e->pi == 0) {
                npt_fileset_free(e->fset, e->nfset);
                npt_fileset_resolve(e->run, a, &e->fset, &e->nfset);
                e->pi = 1;
            }
            while (e->pi <= e->nfset)
                if ((rc = set_file(e, a, &e->fset[e->pi++ - 1])))
                    return rc;
        }
        e->ai++;
        e->pi = 0;
    }
    return 0;
}

/* ---- the state machine -------------------------------------------------- */

int npt_emit_new(struct npt_emit **out, struct npt_run *run,
                 const struct npt_emit_opts *o)
{
    struct npt_emit *e = xp_calloc(1, sizeof(*e));
    e->run = run;
    e->o = *o;
    if (!e->o.resources)
        e->o.resources = XP_RES_ALL;
    e->attrs = npt_sorted(run, &e->nattrs);
    e->stamps = xp_malloc(XP_POINTS_BATCH * sizeof(*e->stamps));
    e->body.fd = -1;
    xp_buf_init(&e->body.mem);
    xp_buf_init(&e->rel);
    *out = e;
    return 0;
}

void npt_emit_free(struct npt_emit *e)
{
    if (!e)
        return;
    body_close(&e->body);
    xp_buf_release(&e->body.mem);
    xp_buf_release(&e->rel);
    free_logmeta(e);
    json_object_put(e->doc);
    json_object_put(e->fmeta);
    npt_fileset_free(e->fset, e->nfset);
    free(e->lorder);
    free(e->stamps);
    free(e->attrs);
    free(e);
}

int npt_emit_next(struct npt_emit *e, const struct xp_record **rec)
{
    body_close(&e->body);
    memset(&e->rec, 0, sizeof(e->rec));
    *rec = &e->rec;
    int only = e->o.only_series != NULL;
    for (;;) {
        switch (e->st) {
        case S_EXP:
            e->rec.kind = XP_REC_EXPERIMENT;
            e->rec.u.exp = *e->o.meta;
            e->st = S_PARAMS;
            return 0;
        case S_PARAMS: {
            e->st = S_SERIES;
            e->ai = e->pi = 0;
            if (only || !(e->o.resources & XP_RES_PARAMETERS))
                continue;
            json_object_put(e->doc);
            e->doc = json_object_new_object();
            for (size_t i = 0; i < e->nattrs; i++) {
                struct json_object *v;
                if (strncmp(e->attrs[i]->path, "sys/", 4) &&
                    (v = npt_atom_json(e->attrs[i])))
                    npt_put_nested(e->doc, e->attrs[i]->path, v);
            }
            if (!json_object_object_length(e->doc))
                continue;
            e->rec.kind = XP_REC_DOCUMENT;
            e->rec.u.doc.kind = XP_DOC_PARAMETERS;
            e->rec.u.doc.doc = e->doc;
            return 0;
        }
        case S_SERIES:
            if (next_series(e))
                return 0;
            e->st = S_LOGS;
            e->ai = e->pi = 0;
            continue;
        case S_LOGS:
            if (!only && (e->o.resources & XP_RES_LOGS) && next_logs(e))
                return 0;
            e->st = S_FILES;
            e->ai = e->pi = 0;
            continue;
        case S_FILES: {
            int rc = only || !(e->o.resources & XP_RES_FILES) ? 0 : next_file(e);
            if (rc < 0)
                return rc;
            if (rc)
                return 0;
            e->st = S_END;
            continue;
        }
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
