/* Records from a replayed neptune-scale run: the experiment and parameters
 * through npt_emit (atoms and string sets, as for the 1.x readers), then
 * the spooled series, the console output as logs and the files, each read
 * back from the spool once, a batch at a time. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "nps.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/iso8601.h"
#include "xport/json.h"
#include "xport/pb.h"

enum st { S_NPT, S_SERIES, S_LOGS, S_FILEATTRS, S_FILESERIES, S_END, S_DONE };

struct body {
    struct xp_stream base;
    int fd;
};

struct nps_emit {
    struct nps_run *run;
    struct nps_emit_opts o;
    struct npt_emit *npt;
    enum st st;
    size_t *order; /* series indices sorted by path */
    size_t si;     /* cursor in order, or in run->files */
    int in_series;
    struct xp_spool_iter it;
    int it_open;
    int64_t index;
    struct xp_record rec;
    struct xp_arena arena;
    struct xp_point pts[XP_POINTS_BATCH];
    struct xp_field fields[XP_POINTS_BATCH * 6];
    struct xp_log_entry logs[XP_POINTS_BATCH];
    struct json_object *logmeta[XP_POINTS_BATCH];
    size_t nlogmeta;
    struct json_object *doc, *fmeta;
    struct json_object *by_dest; /* destination -> upload request */
    struct body body;
    struct xp_buf rel;
};

/* ---- series ------------------------------------------------------------- */

static int series_wanted(const struct nps_emit *e, const struct nps_series *s)
{
    if (s->kind != NPS_SERIES)
        return 0;
    if (e->o.only_series)
        return !strcmp(e->o.only_series, s->path);
    return (e->o.resources & XP_RES_METRICS) != 0;
}

/* Open the iterator on stream sid (when not open yet). */
static int iter_open(struct nps_emit *e, size_t sid)
{
    if (e->it_open)
        return 0;
    int rc = xp_spool_iter_open(&e->it, e->run->spool, sid);
    if (!rc) {
        e->it_open = 1;
        e->index = 0;
    }
    return rc;
}

/* The next spooled point: 0 with its header and Value, XP_ITEROVER at the
 * end of the stream, or an error. */
static int spool_next(struct nps_emit *e, struct nps_hdr *h,
                      const unsigned char **v, size_t *vlen)
{
    const void *d;
    size_t len;
    int rc = xp_spool_iter_next(&e->it, &d, &len);
    if (rc)
        return rc;
    if (len < sizeof(*h))
        return xp_error_set(XP_EIO, "a damaged record in the spool");
    memcpy(h, d, sizeof(*h));
    *v = (const unsigned char *)d + sizeof(*h);
    *vlen = len - sizeof(*h);
    return 0;
}

/* The fields of one point: value, step[, step_decimal], timestamp,
 * preview, completion_ratio. */
static int point(struct nps_emit *e, const struct nps_series *s, size_t n,
                 size_t *nf, const struct nps_hdr *hp, const unsigned char *v,
                 size_t vlen)
{
    const struct nps_hdr h = *hp;
    struct xp_field *f = &e->fields[*nf];
    size_t k = 0;
    f[k].key = "value";
    if (nps_point_value(&e->arena, &f[k].v, v, vlen))
        return xp_error_set(XP_EINVALID, "'%s': a value of series '%s' "
                            "(sequence_id %" PRIu64 ") does not decode",
                            e->run->dbname, s->path, h.seq);
    k++;
    if (h.flags & NPS_HAS_STEP) {
        double sd = nps_step_double(&h.step);
        f[k].key = "step";
        f[k].v.type = XP_V_FLOAT;
        f[k++].v.u.d = sd;
        char t[48];
        /* below 2^31 a double is finer than half a millionth: exact */
        if (h.step.whole >= (1ull << 31) && (nps_step_text(t, &h.step),
                                             !npt_step_exact(sd, t))) {
            f[k].key = "step_decimal";
            f[k].v.type = XP_V_STRING;
            f[k].v.u.s.len = strlen(t);
            f[k++].v.u.s.ptr = nps_arena_dup(&e->arena, t, strlen(t));
        }
    }
    const char *created = NULL;
    if (h.flags & NPS_HAS_TS) {
        char iso[XP_ISO8601_BUFSZ];
        f[k].key = "timestamp";
        f[k].v.type = XP_V_FLOAT;
        f[k++].v.u.d = nps_ts_double(h.sec, h.nanos);
        xp_iso8601_format(iso, h.sec, h.nanos, XP_ISO_TRIM);
        created = nps_arena_dup(&e->arena, iso, strlen(iso));
    }
    if (h.flags & NPS_PREVIEW) {
        float r;
        memcpy(&r, &h.ratio, sizeof(r));
        f[k].key = "preview";
        f[k].v.type = XP_V_BOOL;
        f[k++].v.u.b = 1;
        f[k].key = "completion_ratio";
        f[k].v.type = XP_V_FLOAT;
        f[k++].v.u.d = (double)r;
    }
    e->pts[n] = (struct xp_point){e->index++, created, f, k};
    *nf += k;
    return 0;
}

/* The next series record: 1 with e->rec set, 0 when none is left. */
static int next_series(struct nps_emit *e)
{
    struct nps_run *r = e->run;
    for (; e->si < r->nseries; e->si++) {
        struct nps_series *s = &r->series[e->order[e->si]];
        if (!series_wanted(e, s))
            continue;
        if (!e->in_series) {
            int rc = iter_open(e, s->sid);
            if (rc)
                return rc;
            e->in_series = 1;
            e->rec.kind = XP_REC_SERIES_BEGIN;
            e->rec.u.series.name = s->path;
            e->rec.u.series.kind = XP_SERIES_METRIC;
            json_object_put(e->doc);
            e->doc = json_object_new_object();
            json_object_object_add(e->doc, "neptune_type",
                                   json_object_new_string(nps_vkind_name(s->vkind)));
            e->rec.u.series.metadata = e->doc;
            e->rec.u.series.expected_points = (int64_t)s->n;
            return 1;
        }
        xp_arena_reset(&e->arena);
        size_t n = 0, nf = 0;
        int rc = 0;
        while (n < XP_POINTS_BATCH) {
            struct nps_hdr h;
            const unsigned char *v = NULL;
            size_t vlen = 0;
            rc = spool_next(e, &h, &v, &vlen);
            if (rc == XP_ITEROVER) {
                rc = 0;
                break;
            }
            if (rc || (rc = point(e, s, n, &nf, &h, v, vlen)))
                return rc;
            n++;
        }
        if (n) {
            e->rec.kind = XP_REC_POINTS;
            e->rec.u.points.v = e->pts;
            e->rec.u.points.n = n;
            return 1;
        }
        xp_spool_iter_close(&e->it);
        e->it_open = 0;
        e->in_series = 0;
        e->rec.kind = XP_REC_SERIES_END;
        e->si++;
        return 1;
    }
    return 0;
}

/* ---- logs --------------------------------------------------------------- */

static void free_logmeta(struct nps_emit *e)
{
    for (size_t i = 0; i < e->nlogmeta; i++)
        json_object_put(e->logmeta[i]);
    e->nlogmeta = 0;
}

/* The console lines (runtime/stdout, runtime/stderr) in the order the
 * client wrote them. */
static int next_logs(struct nps_emit *e)
{
    struct nps_run *r = e->run;
    free_logmeta(e);
    xp_arena_reset(&e->arena);
    int rc = iter_open(e, r->logs_sid);
    if (rc)
        return rc;
    size_t n = 0;
    while (n < XP_POINTS_BATCH) {
        struct nps_hdr h;
        const unsigned char *v = NULL;
        size_t vlen = 0;
        struct xp_pb_field f = {0};
        rc = spool_next(e, &h, &v, &vlen);
        if (rc == XP_ITEROVER)
            break;
        if (rc)
            return rc;
        if (nps_value_field(v, vlen, &f) <= 0 || f.num != 6)
            return xp_error_set(XP_EINVALID, "'%s': a console line (sequence_id %"
                                PRIu64 ") does not decode", r->dbname, h.seq);
        struct json_object *m = json_object_new_object();
        const char *stream = h.stream ? "stderr" : "stdout";
        json_object_object_add(m, "attribute", json_object_new_string(
                                                   h.stream ? "runtime/stderr"
                                                            : "runtime/stdout"));
        if (h.flags & NPS_HAS_STEP) {
            char t[48];
            nps_step_text(t, &h.step);
            json_object_object_add(m, "step", json_object_new_string(t));
        }
        e->logmeta[e->nlogmeta++] = m;
        const char *stamp = NULL;
        if (h.flags & NPS_HAS_TS) {
            char iso[XP_ISO8601_BUFSZ];
            xp_iso8601_format(iso, h.sec, h.nanos, XP_ISO_TRIM);
            stamp = nps_arena_dup(&e->arena, iso, strlen(iso));
        }
        e->logs[n] = (struct xp_log_entry){
            e->index++, stamp, NULL, stream,
            nps_arena_dup(&e->arena, f.ptr, f.len), f.len, m};
        n++;
    }
    if (!n) {
        xp_spool_iter_close(&e->it);
        e->it_open = 0;
        return 0;
    }
    e->rec.kind = XP_REC_LOGS;
    e->rec.u.logs.v = e->logs;
    e->rec.u.logs.n = n;
    return 1;
}

/* ---- files -------------------------------------------------------------- */

static ssize_t body_read(struct xp_stream *s, void *buf, size_t len)
{
    struct body *b = (struct body *)s;
    ssize_t n = read(b->fd, buf, len);
    return n < 0 ? xp_error_set_os(XP_EIO, "cannot read a file") : n;
}

/* ".ext" of the destination's file name, when it has a short, plain one. */
static void ext_of(char out[24], const char *dest)
{
    out[0] = '\0';
    const char *base = strrchr(dest, '/');
    base = base ? base + 1 : dest;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base || strlen(dot) >= 20)
        return;
    for (const char *q = dot + 1; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
              (*q >= '0' && *q <= '9')))
            return;
    strcpy(out, dot);
}

/* Open the file a FileRef names: the upload request with its destination,
 * then its source_path, or (a temporary copy the client made) the file of
 * that name in the run's folder. 1 with e->body.fd set, 0 when it is not
 * here (noted). */
static int open_ref(struct nps_emit *e, const char *attr, const char *dest,
                    int64_t *size)
{
    struct json_object *req = NULL;
    if (!json_object_object_get_ex(e->by_dest, dest, &req)) {
        xp_lost_add(&e->run->atoms.lost, "file '%s' (%s) has no upload request left in "
                 "the database (uploaded and acknowledged, or never saved)",
                 attr, dest);
        return 0;
    }
    const char *src = xp_json_str(req, "source_path");
    int tmp = json_object_get_int(xp_json_get(req, "is_temporary")) != 0;
    json_object_object_add(e->fmeta, "source_path", json_object_new_string(src ? src : ""));
    int fd = src ? open(src, O_RDONLY | O_CLOEXEC) : -1;
    size_t dl = e->o.run_dir ? strlen(e->o.run_dir) : 0;
    if (fd >= 0 && !(dl && !strncmp(src, e->o.run_dir, dl) && src[dl] == '/'))
        npt_outside(&e->run->atoms, src); /* a database can name any file */
    if (fd < 0 && tmp && src && e->o.run_dir) {
        const char *b = strrchr(src, '/');
        char *p = xp_path_join(e->o.run_dir, b ? b + 1 : src);
        if (xp_segment_safe(b ? b + 1 : src))
            fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        free(p);
    }
    struct stat st;
    if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        xp_lost_add(&e->run->atoms.lost, "file '%s' (%s) is not on this machine", attr,
                 src ? src : "");
        return 0;
    }
    e->body.fd = fd;
    *size = st.st_size;
    return 1;
}

/* A FileRef value as a FILE record at rel: 1 when set, 0 when skipped. */
static int file_rec(struct nps_emit *e, const char *attr, const struct nps_hdr *h,
                    const unsigned char *v, size_t len, int64_t index)
{
    struct xp_pb_field f = {0};
    if (nps_value_field(v, len, &f) <= 0 || f.num != 13 || f.wire != XP_PB_LEN)
        return xp_error_set(XP_EINVALID, "'%s': the file of '%s' (sequence_id %"
                            PRIu64 ") does not decode", e->run->dbname, attr, h->seq);
    struct xp_pb m;
    struct xp_pb_field g = {0};
    int k;
    char *dest = NULL, *mime = NULL;
    int64_t size_bytes = 0;
    xp_pb_sub(&m, &f);
    while ((k = xp_pb_next(&m, &g)) > 0) {
        if (g.num == 1 && g.wire == XP_PB_LEN) {
            free(dest);
            dest = xp_strndup((const char *)g.ptr, g.len);
        } else if (g.num == 3 && g.wire == XP_PB_LEN) {
            free(mime);
            mime = xp_strndup((const char *)g.ptr, g.len);
        } else if (g.num == 2 && g.wire == XP_PB_VARINT) {
            size_bytes = (int64_t)g.u;
        }
    }
    if (k < 0) {
        free(dest);
        free(mime);
        return xp_error_set(XP_EINVALID, "'%s': the FileRef of '%s' (sequence_id %"
                            PRIu64 ") does not decode", e->run->dbname, attr, h->seq);
    }
    if (!dest)
        dest = xp_strdup("");
    char ext[24], sfx[64];
    ext_of(ext, dest);
    if (index >= 0)
        snprintf(sfx, sizeof(sfx), "/%" PRId64 "%s", index, ext);
    int rc = npt_safe_rel(&e->rel, attr);
    if (!rc)
        xp_buf_puts(&e->rel, index >= 0 ? sfx : ext);
    json_object_put(e->fmeta);
    e->fmeta = json_object_new_object();
    json_object_object_add(e->fmeta, "attribute", json_object_new_string(attr));
    json_object_object_add(e->fmeta, "destination", json_object_new_string(dest));
    json_object_object_add(e->fmeta, "mime_type", json_object_new_string(mime ? mime : ""));
    json_object_object_add(e->fmeta, "size_bytes", json_object_new_int64(size_bytes));
    if (index >= 0)
        json_object_object_add(e->fmeta, "index", json_object_new_int64(index));
    if (h->flags & NPS_HAS_STEP) {
        char t[48];
        nps_step_text(t, &h->step);
        json_object_object_add(e->fmeta, "step", json_object_new_string(t));
    }
    if (h->flags & NPS_HAS_TS) {
        char iso[XP_ISO8601_BUFSZ];
        xp_iso8601_format(iso, h->sec, h->nanos, XP_ISO_TRIM);
        json_object_object_add(e->fmeta, "timestamp", json_object_new_string(iso));
    }
    int64_t size = -1;
    if (!rc)
        rc = open_ref(e, attr, dest, &size);
    free(dest);
    if (rc <= 0) {
        free(mime);
        return rc;
    }
    memset(&e->rec, 0, sizeof(e->rec));
    e->rec.kind = XP_REC_FILE;
    e->rec.u.file.meta.path = e->rel.ptr;
    e->rec.u.file.meta.size = size;
    e->rec.u.file.meta.metadata = e->fmeta;
    /* the mime type lives in the metadata; content_type must outlive this
     * call, so it points there */
    e->rec.u.file.meta.content_type = xp_json_str(e->fmeta, "mime_type");
    free(mime);
    e->body.base.read = body_read;
    e->body.base.free = NULL;
    e->rec.u.file.body = &e->body.base;
    return 1;
}

static int next_file_attr(struct nps_emit *e)
{
    struct nps_run *r = e->run;
    while (e->si < r->nfiles) {
        struct nps_fattr *f = &r->files[e->si++];
        int rc = file_rec(e, f->path, &f->h, (const unsigned char *)f->value.ptr,
                          f->value.len, -1);
        if (rc)
            return rc;
    }
    return 0;
}

static int next_file_series(struct nps_emit *e)
{
    struct nps_run *r = e->run;
    for (; e->si < r->nseries; e->si++) {
        struct nps_series *s = &r->series[e->order[e->si]];
        if (s->kind != NPS_FILES)
            continue;
        int rc = iter_open(e, s->sid);
        if (rc)
            return rc;
        for (;;) {
            struct nps_hdr h;
            const unsigned char *v = NULL;
            size_t vlen = 0;
            rc = spool_next(e, &h, &v, &vlen);
            if (rc == XP_ITEROVER)
                break;
            if (rc || (rc = file_rec(e, s->path, &h, v, vlen, e->index++)))
                return rc;
        }
        xp_spool_iter_close(&e->it);
        e->it_open = 0;
    }
    return 0;
}

/* ---- the state machine -------------------------------------------------- */

static int by_path(const void *x, const void *y, void *arg)
{
    const struct nps_run *r = arg;
    return strcmp(r->series[*(const size_t *)x].path,
                  r->series[*(const size_t *)y].path);
}

static int fattr_by_path(const void *x, const void *y)
{
    return strcmp(((const struct nps_fattr *)x)->path,
                  ((const struct nps_fattr *)y)->path);
}

int nps_emit_new(struct nps_emit **out, struct nps_run *run,
                 const struct nps_emit_opts *o)
{
    struct nps_emit *e = xp_calloc(1, sizeof(*e));
    e->run = run;
    e->o = *o;
    if (!e->o.resources)
        e->o.resources = XP_RES_ALL;
    struct npt_emit_opts no = {e->o.resources, e->o.only_series, e->o.meta};
    npt_emit_new(&e->npt, &run->atoms, &no);
    e->order = xp_malloc((run->nseries + 1) * sizeof(size_t));
    for (size_t i = 0; i < run->nseries; i++)
        e->order[i] = i;
    if (run->nseries)
        qsort_r(e->order, run->nseries, sizeof(size_t), by_path, run);
    if (run->nfiles)
        qsort(run->files, run->nfiles, sizeof(*run->files), fattr_by_path);
    e->by_dest = json_object_new_object();
    for (size_t i = 0; o->uploads && i < json_object_array_length(o->uploads); i++) {
        struct json_object *q = json_object_array_get_idx(o->uploads, i);
        const char *d = xp_json_str(q, "destination");
        if (d)
            json_object_object_add(e->by_dest, d, json_object_get(q));
    }
    e->body.fd = -1;
    xp_buf_init(&e->rel);
    *out = e;
    return 0;
}

void nps_emit_free(struct nps_emit *e)
{
    if (!e)
        return;
    if (e->body.fd >= 0)
        close(e->body.fd);
    if (e->it_open)
        xp_spool_iter_close(&e->it);
    npt_emit_free(e->npt);
    free_logmeta(e);
    xp_arena_release(&e->arena);
    json_object_put(e->doc);
    json_object_put(e->fmeta);
    json_object_put(e->by_dest);
    xp_buf_release(&e->rel);
    free(e->order);
    free(e);
}

int nps_emit_next(struct nps_emit *e, const struct xp_record **rec)
{
    if (e->body.fd >= 0)
        close(e->body.fd);
    e->body.fd = -1;
    *rec = &e->rec;
    int only = e->o.only_series != NULL, rc;
    for (;;) {
        memset(&e->rec, 0, sizeof(e->rec));
        switch (e->st) {
        case S_NPT:
            /* npt_emit: EXPERIMENT and the parameters; its END is ours */
            if ((rc = npt_emit_next(e->npt, rec)))
                return rc;
            if ((*rec)->kind != XP_REC_END)
                return 0;
            *rec = &e->rec;
            e->st = S_SERIES;
            e->si = 0;
            continue;
        case S_SERIES:
            if ((rc = next_series(e)) < 0)
                return rc;
            if (rc)
                return 0;
            e->st = S_LOGS;
            continue;
        case S_LOGS:
            rc = only || !(e->o.resources & XP_RES_LOGS) ||
                         e->run->logs_sid == (size_t)-1
                     ? 0
                     : next_logs(e);
            if (rc < 0)
                return rc;
            if (rc)
                return 0;
            e->st = S_FILEATTRS;
            e->si = 0;
            continue;
        case S_FILEATTRS:
        case S_FILESERIES:
            rc = only || !(e->o.resources & XP_RES_FILES) ? 0
                 : e->st == S_FILEATTRS                  ? next_file_attr(e)
                                                         : next_file_series(e);
            if (rc < 0)
                return rc;
            if (rc)
                return 0;
            e->st = e->st == S_FILEATTRS ? S_FILESERIES : S_END;
            e->si = 0;
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
