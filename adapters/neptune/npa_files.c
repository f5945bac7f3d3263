/* The neptune adapter's file bodies: file attributes (downloadAttribute),
 * image series (getImageSeriesValues for the count, getImageSeriesValue per
 * index) and file sets (prepareForDownloadFileSetAttributeZip, polled with
 * getDownloadPrepareRequest until it names a downloadUrl, then one zip
 * unpacked through the core zip reader), as neptune-client dev/1.x
 * internal/backends/hosted_file_operations.py fetches them. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "npa.h"
#include "npt.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"
#include "xport/sysio.h"
#include "xport/zip.h"

struct fattr {
    char *path, *type;
    struct json_object *props;
};

struct npa_files {
    struct npa *n;
    char *id, *run;
    struct fattr *v;
    size_t nv, i;
    int64_t sub, nsub; /* image index or zip entry within v[i]; -1 before */
    char *tmp;         /* private temporary folder */
    struct xp_zip *zip;
    char *setdir;
    struct xp_fd_stream body;
    struct xp_buf rel, ctype, url;
    struct json_object *fmeta;
    int64_t count;     /* file sets and image series fetched, for names */
};

int npa_files_new(struct npa_files **out, struct npa *n, const char *id, const char *run)
{
    struct npa_files *f = xp_calloc(1, sizeof(*f));
    f->n = n;
    f->id = xp_strdup(id);
    f->run = xp_strdup(run);
    f->sub = -1;
    xp_fd_stream_init(&f->body);
    xp_buf_init(&f->rel);
    xp_buf_init(&f->ctype);
    xp_buf_init(&f->url);
    *out = f;
    return 0;
}

static void close_set(struct npa_files *f)
{
    if (f->zip)
        xp_zip_close(f->zip);
    f->zip = NULL;
    if (f->setdir)
        xp_rm_rf(f->setdir);
    free(f->setdir);
    f->setdir = NULL;
}

void npa_files_free(struct npa_files *f)
{
    if (!f)
        return;
    close_set(f);
    xp_fd_stream_close(&f->body);
    for (size_t i = 0; i < f->nv; i++) {
        free(f->v[i].path);
        free(f->v[i].type);
        json_object_put(f->v[i].props);
    }
    free(f->v);
    if (f->tmp) {
        xp_rm_rf(f->tmp);
        free(f->tmp);
    }
    xp_buf_release(&f->rel);
    xp_buf_release(&f->ctype);
    xp_buf_release(&f->url);
    json_object_put(f->fmeta);
    free(f->id);
    free(f->run);
    free(f);
}

void npa_files_add(struct npa_files *f, const char *path, const char *type,
                   struct json_object *props)
{
    f->v = xp_realloc(f->v, (f->nv + 1) * sizeof(*f->v));
    f->v[f->nv++] = (struct fattr){xp_strdup(path), xp_strdup(type), json_object_get(props)};
}

/* url = apiUrl + path?experimentId=..&attribute=.. */
static void attr_url(struct npa_files *f, const char *what, const char *attr)
{
    npa_url(&f->url, f->n, "/api/leaderboard/v1/%s?experimentId=", what);
    npa_qs(&f->url, f->id);
    xp_buf_puts(&f->url, "&attribute=");
    npa_qs(&f->url, attr);
}

/* GET f->url (with the access token when it is at apiUrl) into a private
 * file, opened as the body; its Content-Type into f->ctype. */
/* GET f->url into f->body; size >= 0 (what the attribute says) stops a
 * longer body as soon as it passes that. */
static int fetch(struct npa_files *f, const char *accept, int64_t size)
{
    if (!f->tmp) {
        int rc = xp_tempdir(&f->tmp, "xport-neptune");
        if (rc)
            return rc;
    }
    char *path = xp_path_join(f->tmp, "body");
    struct xp_http_header h = {"Accept", accept};
    struct xp_http_request rq = {0};
    rq.url = f->url.ptr;
    rq.headers = &h;
    rq.nheaders = 1;
    rq.out_path = path;
    if (size >= 0) {
        rq.expect_size = size;
        rq.flags |= XP_HTTP_CHECK_SIZE;
    }
    struct xp_http_response resp = XP_HTTP_RESPONSE_INIT;
    int rc = npa_call(f->n, &rq, &resp);
    xp_buf_reset(&f->ctype);
    if (!rc && xp_http_response_header(&f->ctype, &resp, "Content-Type"))
        xp_error_clear();
    xp_http_response_release(&resp);
    if (!rc) {
        xp_fd_stream_close(&f->body);
        f->body.fd = open(path, O_RDONLY | O_CLOEXEC);
        unlink(path);
        if (f->body.fd < 0)
            rc = xp_error_set_os(XP_EIO, "cannot open a downloaded file");
    }
    free(path);
    return rc;
}

static int have(const struct xp_read_opts *ro, const char *rel)
{
    if (!ro->have_item)
        return 0;
    struct xp_buf k = XP_BUF_INIT;
    xp_buf_printf(&k, "files/%s", rel);
    int h = ro->have_item(ro->have_payload, k.ptr);
    xp_buf_release(&k);
    return h;
}

static void meta_new(struct npa_files *f, const struct fattr *a)
{
    json_object_put(f->fmeta);
    f->fmeta = json_object_new_object();
    json_object_object_add(f->fmeta, "attribute", json_object_new_string(a->path));
    json_object_object_add(f->fmeta, "neptune_type", json_object_new_string(a->type));
}

/* A file attribute: files/<path>.<ext>. 1 with a body, 0 when skipped. */
static int one_file(struct npa_files *f, const struct fattr *a, const struct xp_read_opts *ro,
                    struct xp_file_meta *m)
{
    int rc = npt_safe_rel(&f->rel, a->path);
    if (rc)
        return rc;
    const char *ext = xp_json_str(a->props, "ext");
    if (ext && *ext)
        xp_buf_printf(&f->rel, ".%s", ext);
    if (have(ro, f->rel.ptr))
        return 0;
    struct json_object *sz = xp_json_get(a->props, "size");
    int64_t size = sz && json_object_is_type(sz, json_type_int) ? json_object_get_int64(sz) : -1;
    attr_url(f, "attributes/download", a->path);
    if ((rc = fetch(f, "application/octet-stream", size)))
        return rc;
    meta_new(f, a);
    json_object_object_add(f->fmeta, "ext", json_object_new_string(ext ? ext : ""));
    if (xp_json_str(a->props, "name"))
        json_object_object_add(f->fmeta, "name",
                               json_object_new_string(xp_json_str(a->props, "name")));
    m->size = sz ? json_object_get_int64(sz) : -1;
    m->content_type = f->ctype.len ? f->ctype.ptr : NULL;
    return 1;
}

/* Image index f->sub of an image series: files/<path>/<index>.<subtype>. */
static int one_image(struct npa_files *f, const struct fattr *a, const struct xp_read_opts *ro,
                     struct xp_file_meta *m)
{
    attr_url(f, "attributes/series/image/single", a->path);
    xp_buf_printf(&f->url, "&index=%" PRId64, f->sub);
    int rc = fetch(f, "*/*", -1);
    if (rc)
        return rc;
    const char *sl = f->ctype.len ? strchr(f->ctype.ptr, '/') : NULL;
    char ext[32] = "bin";
    if (sl) {
        size_t k = 0;
        for (const char *p = sl + 1; *p && *p != ';' && *p != ' ' && k < sizeof(ext) - 1; p++)
            if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '+' || *p == '-')
                ext[k++] = *p;
        ext[k] = '\0';
        if (!k)
            strcpy(ext, "bin");
    }
    if ((rc = npt_safe_rel(&f->rel, a->path)))
        return rc;
    xp_buf_printf(&f->rel, "/%" PRId64 ".%s", f->sub, ext);
    if (have(ro, f->rel.ptr)) {
        xp_fd_stream_close(&f->body);
        return 0;
    }
    meta_new(f, a);
    json_object_object_add(f->fmeta, "index", json_object_new_int64(f->sub));
    m->content_type = f->ctype.len ? f->ctype.ptr : NULL;
    m->size = -1;
    return 1;
}

/* Prepare a file set's zip, poll until it is ready, download and check it. */
static int open_set(struct npa_files *f, const struct fattr *a)
{
    attr_url(f, "attributes/downloadFileSetZipRequest", a->path);
    struct xp_buf empty = XP_BUF_INIT;
    xp_buf_puts(&empty, "");
    struct json_object *d = NULL;
    int rc = npa_json(f->n, f->url.ptr, &empty, &d);
    xp_buf_release(&empty);
    char *id = rc ? NULL : xp_strdup(xp_json_str(d, "id"));
    json_object_put(d);
    if (!rc && !id)
        rc = xp_error_set(XP_EINVALID, "the file set download request has no id");
    /* 1.x polls every 0.5 s doubling to 5 s; this starts at 0.1 s */
    long wait_ms = 100;
    char *dl = NULL;
    for (int tries = 0; !rc && !dl; tries++) {
        if (tries == 60) {
            rc = xp_error_set(XP_ERETRY, "the file set zip was not ready after 60 polls");
            break;
        }
        npa_url(&f->url, f->n, "/api/leaderboard/v1/download/downloadRequest?id=");
        npa_qs(&f->url, id);
        if ((rc = npa_json(f->n, f->url.ptr, NULL, &d)))
            break;
        const char *u = xp_json_str(d, "downloadUrl");
        if (u && *u)
            dl = xp_strdup(u);
        json_object_put(d);
        if (dl || xp_ctx_cancelled(f->n->base.ctx))
            break;
        struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        wait_ms = wait_ms * 2 > 5000 ? 5000 : wait_ms * 2;
    }
    free(id);
    if (!rc && !dl)
        rc = xp_error_set(XP_ECANCEL, "cancelled");
    if (!rc && strncmp(dl, "http://", 7) && strncmp(dl, "https://", 8))
        rc = xp_error_set(XP_EINVALID, "the file set downloadUrl is not an http(s) URL");
    if (!rc) {
        xp_buf_reset(&f->url);
        xp_buf_puts(&f->url, dl);
        rc = fetch(f, "application/zip", -1);
    }
    free(dl);
    if (rc)
        return rc;
    /* the zip on disk, unpacked into a private folder: every name and size
     * is checked by the core zip reader before anything is written */
    char *zpath = xp_path_join(f->tmp, "set.zip");
    int out = xp_sys_open(zpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    char buf[65536];
    ssize_t k;
    while (out >= 0 && (k = read(f->body.fd, buf, sizeof(buf))) > 0)
        if (xp_sys_write(out, buf, (size_t)k) != k)
            k = -1, rc = xp_error_set_os(XP_EIO, "cannot write '%s'", zpath);
    if (out < 0)
        rc = xp_error_set_os(XP_EIO, "cannot write '%s'", zpath);
    else
        close(out);
    xp_fd_stream_close(&f->body);
    struct xp_zip_limits lim;
    xp_zip_limits_init(&lim);
    f->setdir = xp_path_join(f->tmp, "set");
    if (!rc)
        rc = xp_zip_open(&f->zip, zpath);
    if (!rc)
        rc = xp_zip_extract(f->zip, f->setdir, &lim);
    unlink(zpath);
    free(zpath);
    if (!rc)
        f->nsub = (int64_t)xp_zip_count(f->zip);
    return rc;
}

/* Entry f->sub of the open file set: 1 with a body, 0 when skipped. */
static int one_entry(struct npa_files *f, const struct fattr *a, const struct xp_read_opts *ro,
                     struct xp_file_meta *m)
{
    struct xp_zip_entry e;
    int rc = xp_zip_entry(f->zip, (size_t)f->sub, &e);
    if (rc)
        return rc;
    if (e.is_dir)
        return 0;
    if ((rc = npt_safe_rel(&f->rel, a->path)))
        return rc;
    xp_buf_printf(&f->rel, "/%s", e.name);
    if (have(ro, f->rel.ptr))
        return 0;
    char *p = xp_path_join(f->setdir, e.name);
    xp_fd_stream_close(&f->body);
    f->body.fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    free(p);
    if (f->body.fd < 0)
        return xp_error_set_os(XP_EIO, "cannot open '%s' of file set '%s'", e.name, a->path);
    meta_new(f, a);
    json_object_object_add(f->fmeta, "name", json_object_new_string(e.name));
    m->size = (int64_t)e.size;
    return 1;
}

int npa_files_next(struct npa_files *f, const struct xp_read_opts *ro,
                   struct xp_file_meta *m, struct xp_stream **body)
{
    xp_fd_stream_close(&f->body);
    while (f->i < f->nv) {
        const struct fattr *a = &f->v[f->i];
        memset(m, 0, sizeof(*m));
        int rc = 0;
        if (!strcmp(a->type, "file")) {
            rc = one_file(f, a, ro, m);
            f->i++;
        } else if (!strcmp(a->type, "imageSeries")) {
            if (f->sub < 0) {
                attr_url(f, "attributes/series/image", a->path);
                xp_buf_puts(&f->url, "&limit=1&offset=0");
                struct json_object *d = NULL;
                if ((rc = npa_json(f->n, f->url.ptr, NULL, &d)) == 0) {
                    f->nsub = json_object_get_int64(xp_json_get(d, "totalItemCount"));
                    f->sub = 0;
                }
                json_object_put(d);
            }
            if (!rc && f->sub < f->nsub) {
                rc = one_image(f, a, ro, m);
                f->sub++;
            } else if (!rc) {
                f->i++;
                f->sub = -1;
                continue;
            }
        } else { /* fileSet */
            if (f->sub < 0) {
                if ((rc = open_set(f, a)) == 0)
                    f->sub = 0;
            }
            if (!rc && f->sub < f->nsub) {
                rc = one_entry(f, a, ro, m);
                f->sub++;
            } else if (!rc) {
                close_set(f);
                f->i++;
                f->sub = -1;
                continue;
            }
        }
        if (rc < 0) {
            close_set(f);
            return xp_error_wrap(rc, "%s '%s' of '%s'", a->type, a->path, f->run);
        }
        if (rc == 0)
            continue;
        m->path = f->rel.ptr;
        m->metadata = f->fmeta;
        *body = &f->body.base;
        return 1;
    }
    return 0;
}
