/* Writing an archive member by member: opened under a temp name beside
 * its path, then experiment folders appended one at a time, each in the
 * order the layout reader asks for its members (its JSON documents, each
 * series' metadata.json and data.jsonl, logs, files.jsonl and the files in
 * its order, then anything else sorted), so that reading it back takes one
 * pass; headers with a fixed time, owner and mode and compressors with
 * fixed settings, so that the same members always give the same bytes;
 * closed, fsynced and renamed over the path at the end. The bytes go out
 * through xp_sys_write, so fault tests reach them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>

#include "archive.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"
#include "xport/location.h"
#include "xport/sys/adapter.h"
#include "xport/sysio.h"

/* Every member's time: 2000-01-01T00:00:00Z (zip cannot say 1970). */
#define ARC_MTIME 946684800

struct arc_out {
    struct archive *a;
    const char *dir;          /* the layout folder of the member being put */
    char *path;               /* the archive */
    char *tmp;                /* its temp name, written */
    int fd;
    struct xp_ctx *ctx;
    struct json_object *done; /* members of the experiment written, as a set */
    struct archive_entry *e;
    char *buf;
};

static int arc_fail(struct arc_out *w, const char *what)
{
    const char *s = archive_error_string(w->a);
    return xp_error_set(XP_EIO, "cannot write '%s' into '%s': %s", what, w->path,
                        s ? s : "unknown error");
}

/* The file rel (below the layout folder) as a member, once. */
static int put_file(struct arc_out *w, const char *rel)
{
    if (json_object_object_get_ex(w->done, rel, NULL))
        return 0;
    if (xp_ctx_cancelled(w->ctx))
        return xp_error_set(XP_ECANCEL, "interrupted");
    char *p = xp_path_join(w->dir, rel);
    int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    int rc = 0;
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = xp_error_set_os(XP_EIO, "cannot open '%s'", p);
        goto out;
    }
    if (!S_ISREG(st.st_mode))
        goto out; /* nothing else is part of a layout */
    json_object_object_add(w->done, rel, NULL);
    archive_entry_clear(w->e);
    archive_entry_set_pathname_utf8(w->e, rel);
    archive_entry_set_filetype(w->e, AE_IFREG);
    archive_entry_set_perm(w->e, 0644);
    archive_entry_set_size(w->e, st.st_size);
    archive_entry_set_mtime(w->e, ARC_MTIME, 0);
    archive_entry_set_uid(w->e, 0);
    archive_entry_set_gid(w->e, 0);
    if (archive_write_header(w->a, w->e) != ARCHIVE_OK) {
        rc = arc_fail(w, rel);
        goto out;
    }
    int64_t left = st.st_size;
    while (left > 0) {
        ssize_t n = read(fd, w->buf, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = xp_error_set_os(XP_EIO, "cannot read '%s'", p);
            goto out;
        }
        if (n > left)
            n = (ssize_t)left; /* grew meanwhile: the header said the size */
        if (archive_write_data(w->a, w->buf, (size_t)n) != n) {
            rc = arc_fail(w, rel);
            goto out;
        }
        left -= n;
    }
out:
    if (fd >= 0)
        close(fd);
    free(p);
    return rc;
}

static int put_if_file(struct arc_out *w, const char *rel)
{
    char *p = xp_path_join(w->dir, rel);
    int have = xp_is_real_file(p);
    free(p);
    return have ? put_file(w, rel) : 0;
}

/* Every file below rel, sorted (what the orders below did not take). */
static int put_tree(struct arc_out *w, const char *rel, int depth)
{
    char *p = xp_path_join(w->dir, rel);
    char **names;
    size_t n;
    int rc = xp_list_dir(&names, &n, p);
    free(p);
    for (size_t i = 0; i < n && !rc; i++) {
        char *r = xp_path_join(rel, names[i]);
        char *d = xp_path_join(w->dir, r);
        if (xp_is_real_dir(d))
            rc = depth < 64 ? put_tree(w, r, depth + 1) : 0;
        else
            rc = put_file(w, r);
        free(d);
        free(r);
    }
    xp_strv_free(names);
    return rc;
}

static int put_at(struct arc_out *w, const char *exp, const char *rel)
{
    char *r = xp_path_join(exp, rel);
    int rc = put_if_file(w, r);
    free(r);
    return rc;
}

/* files.jsonl's entries, in its order (the reader's). */
static int put_files(struct arc_out *w, const char *exp)
{
    char *mf = xp_path_join(w->dir, exp);
    char *p = xp_path_join(mf, "files.jsonl");
    free(mf);
    FILE *f = fopen(p, "rb");
    free(p);
    if (!f)
        return 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (!rc && (n = getline(&line, &cap, f)) > 0) {
        struct json_object *o = NULL;
        if (xp_json_parse(&o, line, (size_t)n, "files.jsonl")) {
            xp_error_clear(); /* put_tree takes what this order misses */
            continue;
        }
        const char *path = xp_json_str(o, "path"), *art = xp_json_str(o, "artifact");
        struct xp_buf rel = XP_BUF_INIT, enc = XP_BUF_INIT;
        if (path && xp_relpath_safe(path) && (!art || !xp_name_encode(&enc, art))) {
            if (art)
                xp_buf_printf(&rel, "artifacts/%s/%s", enc.ptr, path);
            else
                xp_buf_printf(&rel, "files/%s", path);
            rc = put_at(w, exp, rel.ptr);
        }
        xp_error_clear();
        xp_buf_release(&rel);
        xp_buf_release(&enc);
        json_object_put(o);
    }
    free(line);
    fclose(f);
    return rc;
}

/* One experiment folder, in the order layout_reader.c reads it. */
static int put_experiment(struct arc_out *w, const char *exp)
{
    static const char *const docs[] = {"experiment.json", "parameters.json",
                                       "summary.json", "others.json", NULL};
    static const char *const kinds[] = {"metrics", "tracks", "system", NULL};
    int rc = 0;
    for (const char *const *d = docs; *d && !rc; d++)
        rc = put_at(w, exp, *d);
    for (const char *const *k = kinds; *k && !rc; k++) {
        char *top = xp_path_join(exp, *k), *ptop = xp_path_join(w->dir, top);
        char **names = NULL;
        size_t n = 0;
        if (xp_is_real_dir(ptop) && xp_list_dir(&names, &n, ptop))
            xp_error_clear();
        for (size_t i = 0; i < n && !rc; i++) {
            char *s = xp_path_join(top, names[i]);
            rc = put_at(w, s, "metadata.json");
            if (!rc)
                rc = put_at(w, s, "data.jsonl");
            free(s);
        }
        xp_strv_free(names);
        free(ptop);
        free(top);
    }
    if (!rc)
        rc = put_at(w, exp, "logs/logs.jsonl");
    if (!rc)
        rc = put_at(w, exp, "files.jsonl");
    if (!rc)
        rc = put_files(w, exp);
    if (!rc)
        rc = put_tree(w, exp, 0);
    return rc;
}

/* libarchive's writer for path's kind, with settings fixed so that its
 * output depends on the members only (gzip without its timestamp, one
 * zstd/xz thread at the default level). */
static int writer_for(struct archive **out, const char *path)
{
    struct archive *a = archive_write_new();
    int r = ARCHIVE_OK;
    switch (xp_archive_kind(path)) {
    case XP_ARCHIVE_ZIP:
        r = archive_write_set_format_zip(a);
        if (r == ARCHIVE_OK)
            r = archive_write_set_format_option(a, "zip", "compression", "deflate");
        break;
    case XP_ARCHIVE_TAR_GZ:
        r = archive_write_add_filter_gzip(a);
        if (r == ARCHIVE_OK)
            r = archive_write_set_filter_option(a, "gzip", "timestamp", NULL);
        break;
    case XP_ARCHIVE_TAR_ZST:
        r = archive_write_add_filter_zstd(a);
        break;
    case XP_ARCHIVE_TAR_XZ:
        r = archive_write_add_filter_xz(a);
        if (r == ARCHIVE_OK)
            r = archive_write_set_filter_option(a, "xz", "threads", "1");
        break;
    case XP_ARCHIVE_TAR:
        break;
    default:
        archive_write_free(a);
        return xp_error_set(XP_EINVALID, "'%s' does not name an archive (.tar, .tar.gz, "
                            ".tgz, .tar.zst, .tar.xz or .zip)", path);
    }
    /* ustar headers, with pax records only where ustar cannot say it */
    if (r == ARCHIVE_OK && xp_archive_kind(path) != XP_ARCHIVE_ZIP)
        r = archive_write_set_format_pax_restricted(a);
    if (r != ARCHIVE_OK) {
        int rc = xp_error_set(XP_EIO, "cannot set up the archive '%s': %s", path,
                              archive_error_string(a) ? archive_error_string(a) : "?");
        archive_write_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

static la_ssize_t out_write_cb(struct archive *a, void *data, const void *buf, size_t len)
{
    (void)a;
    struct arc_out *o = data;
    size_t off = 0;
    while (off < len) {
        ssize_t n = xp_sys_write(o->fd, (const char *)buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            archive_set_error(a, n < 0 ? errno : EIO, "cannot write '%s': %s", o->tmp,
                              strerror(n < 0 ? errno : EIO));
            return -1;
        }
        off += (size_t)n;
    }
    return (ssize_t)len;
}

void arc_out_free(struct arc_out *o, int keep)
{
    if (!o)
        return;
    if (o->a)
        archive_write_free(o->a);
    if (o->fd >= 0)
        close(o->fd);
    if (!keep && o->tmp)
        unlink(o->tmp);
    free(o->tmp);
    free(o->path);
    free(o->buf);
    archive_entry_free(o->e);
    json_object_put(o->done);
    free(o);
}

int arc_out_open(struct arc_out **out, const char *path, struct xp_ctx *ctx)
{
    struct arc_out *o = xp_calloc(1, sizeof(*o));
    *out = NULL;
    o->fd = -1;
    o->path = xp_strdup(path);
    o->tmp = xp_tmp_name(path);
    o->ctx = ctx;
    o->e = archive_entry_new();
    o->done = json_object_new_object();
    o->buf = xp_malloc(65536);
    int rc = writer_for(&o->a, path);
    if (!rc) {
        /* the name has this process's PID: one there is a dead namesake's */
        o->fd = xp_sys_open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (o->fd < 0)
            rc = xp_error_set_os(XP_EIO, "cannot create '%s'", o->tmp);
    }
    /* a regular file: the last block is not padded (as libarchive does
     * when it opens the file itself) */
    if (!rc)
        archive_write_set_bytes_in_last_block(o->a, 1);
    if (!rc && archive_write_open(o->a, o, NULL, out_write_cb, NULL) != ARCHIVE_OK)
        rc = xp_error_set(XP_EIO, "cannot create '%s': %s", o->tmp,
                          archive_error_string(o->a) ? archive_error_string(o->a) : "?");
    if (rc) {
        arc_out_free(o, 0);
        return rc;
    }
    *out = o;
    return 0;
}

/* Every member's name is UTF-8 (the C locale crashes libarchive 3.6's pax
 * writer): the calling thread switches for the while. */
int arc_out_file(struct arc_out *o, const char *dir, const char *rel)
{
    void *loc = arc_utf8_enter();
    o->dir = dir;
    int rc = put_if_file(o, rel);
    arc_utf8_leave(loc);
    return rc;
}

int arc_out_experiment(struct arc_out *o, const char *dir, const char *rel)
{
    void *loc = arc_utf8_enter();
    o->dir = dir;
    json_object_put(o->done); /* member names never repeat across experiments */
    o->done = json_object_new_object();
    int rc = put_experiment(o, rel);
    arc_utf8_leave(loc);
    return rc;
}

int arc_out_close(struct arc_out *o)
{
    void *loc = arc_utf8_enter();
    int rc = 0;
    if (archive_write_close(o->a) != ARCHIVE_OK)
        rc = arc_fail(o, "the end");
    arc_utf8_leave(loc);
    if (!rc && close(o->fd) != 0)
        rc = xp_error_set_os(XP_EIO, "cannot write '%s'", o->tmp);
    o->fd = -1;
    if (!rc)
        rc = xp_file_commit(o->tmp, o->path); /* removes it on failure */
    arc_out_free(o, !rc);
    return rc;
}
