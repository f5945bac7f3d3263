/* Zip archives on libzip (include/xport/zip.h): listing, the checks a
 * hostile archive calls for, extraction under an output root, and writing
 * an archive atomically. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zip.h>

#include "xport/error.h"
#include "xport/fs.h"
#include "xport/sysio.h"
#include "xport/zip.h"

struct xp_zip {
    zip_t *za;
    char *path;
    uint64_t file_size;
    size_t n;
};

void xp_zip_limits_init(struct xp_zip_limits *l)
{
    memset(l, 0, sizeof(*l));
    l->max_total = (uint64_t)16 << 30;
    l->max_entries = 1000000;
    l->max_ratio = 200;
    l->ratio_floor = (uint64_t)1 << 20;
}

/* ---- reading ------------------------------------------------------------ */

int xp_zip_open(struct xp_zip **out, const char *path)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return xp_error_set_os(errno == ENOENT ? XP_ENOTFOUND : XP_EIO,
                               "cannot open '%s'", path);
    if (!S_ISREG(st.st_mode))
        return xp_error_set(XP_EINVALID, "'%s' is not a file", path);
    int err = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, err);
        int rc = xp_error_set(err == ZIP_ER_OPEN || err == ZIP_ER_READ
                                  ? XP_EIO : XP_EINVALID,
                              "cannot read zip archive '%s': %s", path,
                              zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    zip_int64_t n = zip_get_num_entries(za, 0);
    struct xp_zip *z = xp_calloc(1, sizeof(*z));
    z->za = za;
    z->path = xp_strdup(path);
    z->file_size = (uint64_t)st.st_size;
    z->n = n > 0 ? (size_t)n : 0;
    *out = z;
    return 0;
}

void xp_zip_close(struct xp_zip *z)
{
    if (!z)
        return;
    zip_discard(z->za);
    free(z->path);
    free(z);
}

size_t xp_zip_count(const struct xp_zip *z)
{
    return z->n;
}

static int zerr(struct xp_zip *z, const char *what)
{
    return xp_error_set(XP_EINVALID, "%s in zip archive '%s': %s", what,
                        z->path, zip_strerror(z->za));
}

int xp_zip_entry(struct xp_zip *z, size_t i, struct xp_zip_entry *out)
{
    memset(out, 0, sizeof(*out));
    zip_stat_t st;
    zip_stat_init(&st);
    if (i >= z->n || zip_stat_index(z->za, i, 0, &st) != 0 ||
        !(st.valid & ZIP_STAT_NAME))
        return zerr(z, "cannot read an entry");
    out->name = st.name;
    out->size = st.valid & ZIP_STAT_SIZE ? st.size : 0;
    out->csize = st.valid & ZIP_STAT_COMP_SIZE ? st.comp_size : 0;
    out->crc = st.valid & ZIP_STAT_CRC ? st.crc : 0;
    size_t len = strlen(st.name);
    out->is_dir = len && st.name[len - 1] == '/';
    zip_uint8_t opsys;
    zip_uint32_t attr;
    if (zip_file_get_external_attributes(z->za, i, 0, &opsys, &attr) == 0 &&
        opsys == ZIP_OPSYS_UNIX) {
        mode_t mode = (mode_t)(attr >> 16);
        out->is_symlink = S_ISLNK(mode);
        /* any other special file (fifo, device, socket) is refused too */
        if ((mode & S_IFMT) && !S_ISREG(mode) && !S_ISDIR(mode))
            out->is_symlink = 1;
    }
    return 0;
}

int xp_zip_find(struct xp_zip *z, const char *name, size_t *index)
{
    zip_int64_t i = zip_name_locate(z->za, name, 0);
    if (i < 0)
        return xp_error_set(XP_ENOTFOUND, "no entry '%s' in zip archive '%s'",
                            name, z->path);
    *index = (size_t)i;
    return 0;
}

int xp_zip_name_safe(const char *name)
{
    if (!name || !*name || strchr(name, '\\'))
        return 0;
    size_t len = strlen(name);
    if (name[len - 1] != '/')
        return xp_relpath_safe(name);
    char *dir = xp_strndup(name, len - 1);
    int ok = xp_relpath_safe(dir);
    free(dir);
    return ok;
}

/* ---- checks ------------------------------------------------------------- */

static int check_entry(struct xp_zip *z, size_t i, const struct xp_zip_entry *e,
                       const struct xp_zip_limits *lim)
{
    const char *p = z->path;
    if (!xp_zip_name_safe(e->name))
        return xp_error_set(XP_EINVALID, "zip archive '%s': entry %zu has an "
                            "unsafe name '%s'", p, i, e->name);
    if (e->is_symlink)
        return xp_error_set(XP_EINVALID, "zip archive '%s': entry '%s' is a "
                            "symlink or special file", p, e->name);
    zip_int64_t first = zip_name_locate(z->za, e->name, 0);
    if (first >= 0 && (size_t)first != i)
        return xp_error_set(XP_EINVALID, "zip archive '%s': entry '%s' appears "
                            "twice", p, e->name);
    if (lim->max_entry && e->size > lim->max_entry)
        return xp_error_set(XP_EINVALID, "zip archive '%s': entry '%s' is %llu "
                            "bytes, more than the limit of %llu", p, e->name,
                            (unsigned long long)e->size,
                            (unsigned long long)lim->max_entry);
    if (lim->max_ratio && e->size > lim->ratio_floor &&
        (e->csize == 0 || e->size / e->csize >= lim->max_ratio))
        return xp_error_set(XP_EINVALID, "zip archive '%s': entry '%s' "
                            "expands %llu bytes into %llu, more than %u "
                            "times (a zip bomb?)", p, e->name,
                            (unsigned long long)e->csize,
                            (unsigned long long)e->size, lim->max_ratio);
    return 0;
}

int xp_zip_check(struct xp_zip *z, const struct xp_zip_limits *lim)
{
    struct xp_zip_limits def;
    if (!lim) {
        xp_zip_limits_init(&def);
        lim = &def;
    }
    if (lim->max_entries && z->n > lim->max_entries)
        return xp_error_set(XP_EINVALID, "zip archive '%s' has %zu entries, "
                            "more than the limit of %llu", z->path, z->n,
                            (unsigned long long)lim->max_entries);
    uint64_t total = 0, ctotal = 0;
    for (size_t i = 0; i < z->n; i++) {
        struct xp_zip_entry e;
        int rc = xp_zip_entry(z, i, &e);
        if (!rc)
            rc = check_entry(z, i, &e, lim);
        if (rc)
            return rc;
        total += e.size;
        ctotal += e.csize;
        if (lim->max_total && total > lim->max_total)
            return xp_error_set(XP_EINVALID, "zip archive '%s' expands to more "
                                "than the limit of %llu bytes", z->path,
                                (unsigned long long)lim->max_total);
        /* entries sharing compressed data are a known bomb */
        if (ctotal > z->file_size)
            return xp_error_set(XP_EINVALID, "zip archive '%s': its entries "
                                "claim more data than the archive holds "
                                "(overlapping entries?)", z->path);
    }
    return 0;
}

/* ---- extracting --------------------------------------------------------- */

typedef int (*chunk_fn)(void *payload, const void *data, size_t len);

/* Read entry i through fn, checking that its data is exactly as long as it
 * declares (libzip checks the CRC at the end). */
static int read_entry(struct xp_zip *z, size_t i, const struct xp_zip_entry *e,
                      chunk_fn fn, void *payload)
{
    zip_file_t *zf = zip_fopen_index(z->za, i, 0);
    if (!zf)
        return zerr(z, "cannot open an entry");
    char buf[65536];
    uint64_t got = 0;
    int rc = 0;
    for (;;) {
        zip_int64_t n = zip_fread(zf, buf, sizeof(buf));
        if (n < 0) {
            rc = xp_error_set(XP_EINVALID, "zip archive '%s': cannot read "
                              "entry '%s': %s", z->path, e->name,
                              zip_file_strerror(zf));
            break;
        }
        if (n == 0)
            break;
        got += (uint64_t)n;
        if (got > e->size) {
            rc = xp_error_set(XP_EINVALID, "zip archive '%s': entry '%s' holds "
                              "more than the %llu bytes it declares", z->path,
                              e->name, (unsigned long long)e->size);
            break;
        }
        if ((rc = fn(payload, buf, (size_t)n)))
            break;
    }
    zip_fclose(zf);
    if (!rc && got != e->size)
        rc = xp_error_set(XP_EINVALID, "zip archive '%s': entry '%s' holds %llu "
                          "bytes, not the %llu it declares", z->path, e->name,
                          (unsigned long long)got, (unsigned long long)e->size);
    return rc;
}

/* Make root/rel a folder, component by component, refusing any that is
 * there already as a symlink or a non-folder. */
static int safe_mkdirs(const char *root, const char *rel)
{
    struct xp_buf p = XP_BUF_INIT;
    xp_buf_puts(&p, root);
    int rc = 0;
    const char *s = rel;
    while (!rc && *s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        xp_buf_putc(&p, '/');
        xp_buf_put(&p, s, n);
        struct stat st;
        if (lstat(p.ptr, &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                rc = xp_error_set(XP_EINVALID, "cannot extract into '%s': it is "
                                  "%s", p.ptr, S_ISLNK(st.st_mode)
                                  ? "a symlink" : "not a folder");
        } else if (errno != ENOENT || (xp_sys_mkdir(p.ptr, 0755) != 0 && errno != EEXIST)) {
            rc = xp_error_set_os(XP_EIO, "cannot create '%s'", p.ptr);
        }
        s = e ? e + 1 : s + n;
    }
    xp_buf_release(&p);
    return rc;
}

static int to_afile(void *payload, const void *data, size_t len)
{
    struct xp_afile *f = payload;
    xp_afile_write(f, data, len);
    return f->err;
}

static int extract_one(struct xp_zip *z, size_t i, const struct xp_zip_entry *e,
                       const char *root)
{
    char *rel = xp_strdup(e->name);
    size_t len = strlen(rel);
    if (e->is_dir) {
        rel[len - 1] = '\0';
        int rc = safe_mkdirs(root, rel);
        free(rel);
        return rc;
    }
    char *slash = strrchr(rel, '/');
    int rc = 0;
    if (slash) {
        *slash = '\0';
        rc = safe_mkdirs(root, rel);
        *slash = '/';
    }
    char *dst = xp_path_join(root, rel);
    free(rel);
    struct stat st;
    if (!rc && lstat(dst, &st) == 0 && !S_ISREG(st.st_mode))
        rc = xp_error_set(XP_EINVALID, "cannot extract to '%s': something "
                          "other than a file is there", dst);
    struct xp_afile f;
    if (!rc && !(rc = xp_afile_open(&f, dst))) {
        rc = read_entry(z, i, e, to_afile, &f);
        if (rc)
            xp_afile_abort(&f);
        else
            rc = xp_afile_commit(&f);
    }
    free(dst);
    return rc;
}

int xp_zip_extract(struct xp_zip *z, const char *root,
                   const struct xp_zip_limits *lim)
{
    int rc = xp_zip_check(z, lim);
    if (!rc)
        rc = xp_mkdir_p(root);
    for (size_t i = 0; !rc && i < z->n; i++) {
        struct xp_zip_entry e;
        rc = xp_zip_entry(z, i, &e);
        if (!rc)
            rc = extract_one(z, i, &e, root);
    }
    return rc;
}

struct to_buf {
    struct xp_buf *b;
    size_t max;
    const char *name;
};

static int to_buf(void *payload, const void *data, size_t len)
{
    struct to_buf *t = payload;
    if (t->b->len + len > t->max)
        return xp_error_set(XP_EINVALID, "zip entry '%s' is larger than %zu "
                            "bytes", t->name, t->max);
    xp_buf_put(t->b, data, len);
    return 0;
}

int xp_zip_read_chunks(struct xp_zip *z, size_t i,
                       int (*fn)(void *payload, const void *data, size_t len),
                       void *payload)
{
    struct xp_zip_entry e;
    int rc = xp_zip_entry(z, i, &e);
    if (rc)
        return rc;
    if (e.is_symlink || e.is_dir)
        return xp_error_set(XP_EINVALID, "zip entry '%s' is not a file", e.name);
    return read_entry(z, i, &e, fn, payload);
}

int xp_zip_read(struct xp_zip *z, size_t i, struct xp_buf *out, size_t max)
{
    struct xp_zip_entry e;
    int rc = xp_zip_entry(z, i, &e);
    if (rc)
        return rc;
    xp_buf_reset(out);
    if (e.size > max)
        return xp_error_set(XP_EINVALID, "zip entry '%s' is larger than %zu "
                            "bytes", e.name, max);
    if (e.is_symlink || e.is_dir)
        return xp_error_set(XP_EINVALID, "zip entry '%s' is not a file", e.name);
    xp_buf_grow(out, (size_t)e.size);
    struct to_buf t = {out, max, e.name};
    return read_entry(z, i, &e, to_buf, &t);
}

/* ---- writing ------------------------------------------------------------ */

struct xp_zip_writer {
    zip_t *za;
    char *path, *tmp;
    size_t n;
    int err;
    int fd;           /* the temporary file, while libzip writes it */
    zip_error_t zerr; /* the last failure of the writing source */
};

/* The archive's own bytes go to w->tmp through xp_sys_open/xp_sys_write
 * (so that XPORT_FAULT reaches them), as a libzip source that can only be
 * written: a new archive is never read back. */
static zip_int64_t write_source(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    struct xp_zip_writer *w = ud;
    switch (cmd) {
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(
            ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
            ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL,
            ZIP_SOURCE_SUPPORTS, ZIP_SOURCE_BEGIN_WRITE, ZIP_SOURCE_WRITE,
            ZIP_SOURCE_COMMIT_WRITE, ZIP_SOURCE_ROLLBACK_WRITE, ZIP_SOURCE_SEEK_WRITE,
            ZIP_SOURCE_TELL_WRITE, ZIP_SOURCE_REMOVE, -1);
    case ZIP_SOURCE_STAT: /* what libzip takes for "no archive there yet" */
        zip_error_set(&w->zerr, ZIP_ER_READ, ENOENT);
        return -1;
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&w->zerr, data, len);
    case ZIP_SOURCE_FREE:
        return 0;
    case ZIP_SOURCE_BEGIN_WRITE:
        w->fd = xp_sys_open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (w->fd < 0) {
            zip_error_set(&w->zerr, ZIP_ER_OPEN, errno);
            return -1;
        }
        return 0;
    case ZIP_SOURCE_WRITE:
        for (zip_uint64_t off = 0; off < len;) {
            ssize_t k = xp_sys_write(w->fd, (const char *)data + off, (size_t)(len - off));
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0) {
                zip_error_set(&w->zerr, ZIP_ER_WRITE, k < 0 ? errno : EIO);
                return -1;
            }
            off += (zip_uint64_t)k;
        }
        return (zip_int64_t)len;
    case ZIP_SOURCE_SEEK_WRITE: {
        zip_source_args_seek_t *a = ZIP_SOURCE_GET_ARGS(zip_source_args_seek_t, data, len,
                                                        &w->zerr);
        if (!a)
            return -1;
        if (lseek(w->fd, (off_t)a->offset, a->whence) < 0) {
            zip_error_set(&w->zerr, ZIP_ER_SEEK, errno);
            return -1;
        }
        return 0;
    }
    case ZIP_SOURCE_TELL_WRITE: {
        off_t at = lseek(w->fd, 0, SEEK_CUR);
        if (at < 0)
            zip_error_set(&w->zerr, ZIP_ER_TELL, errno);
        return at;
    }
    case ZIP_SOURCE_COMMIT_WRITE: /* xp_file_commit syncs and renames it */
        if (close(w->fd) != 0) {
            w->fd = -1;
            zip_error_set(&w->zerr, ZIP_ER_WRITE, errno);
            return -1;
        }
        w->fd = -1;
        return 0;
    case ZIP_SOURCE_ROLLBACK_WRITE:
        if (w->fd >= 0)
            close(w->fd);
        w->fd = -1;
        unlink(w->tmp);
        return 0;
    case ZIP_SOURCE_REMOVE:
        unlink(w->tmp);
        return 0;
    default:
        zip_error_set(&w->zerr, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

int xp_zip_create(struct xp_zip_writer **out, const char *path)
{
    *out = NULL;
    xp_tmp_clean(path); /* what a writer killed before its rename left */
    struct xp_zip_writer *w = xp_calloc(1, sizeof(*w));
    w->path = xp_strdup(path);
    w->tmp = xp_tmp_name(path);
    w->fd = -1;
    zip_error_init(&w->zerr);
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_function_create(write_source, w, &ze);
    if (src && !(w->za = zip_open_from_source(src, ZIP_CREATE | ZIP_TRUNCATE, &ze)))
        zip_source_free(src);
    if (!w->za) {
        int rc = xp_error_set(XP_EIO, "cannot create zip archive '%s': %s",
                              w->tmp, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        zip_error_fini(&w->zerr);
        free(w->path);
        free(w->tmp);
        free(w);
        return rc;
    }
    zip_error_fini(&ze);
    *out = w;
    return 0;
}

static int add_source(struct xp_zip_writer *w, const char *name, zip_source_t *src)
{
    int rc = 0;
    if (!src) {
        rc = xp_error_set(XP_EIO, "cannot add '%s' to zip archive '%s': %s",
                          name, w->path, zip_strerror(w->za));
    } else {
        zip_int64_t i = zip_file_add(w->za, name, src, ZIP_FL_ENC_UTF_8);
        if (i < 0) {
            zip_source_free(src);
            rc = xp_error_set(XP_EINVALID, "cannot add '%s' to zip archive "
                              "'%s': %s", name, w->path, zip_strerror(w->za));
        } else {
            zip_file_set_external_attributes(w->za, (zip_uint64_t)i, 0,
                                             ZIP_OPSYS_UNIX,
                                             (zip_uint32_t)(S_IFREG | 0644) << 16);
            w->n++;
        }
    }
    if (rc && !w->err)
        w->err = rc;
    return rc;
}

static int check_name(struct xp_zip_writer *w, const char *name)
{
    if (xp_zip_name_safe(name) && name[strlen(name) - 1] != '/')
        return 0;
    int rc = xp_error_set(XP_EINVALID, "unsafe zip entry name '%s'",
                          name ? name : "");
    if (!w->err)
        w->err = rc;
    return rc;
}

int xp_zip_add_mem(struct xp_zip_writer *w, const char *name,
                   const void *data, size_t len)
{
    if (check_name(w, name))
        return w->err;
    void *copy = xp_malloc(len ? len : 1);
    if (len)
        memcpy(copy, data, len);
    zip_source_t *src = zip_source_buffer(w->za, copy, len, 1);
    if (!src)
        free(copy);
    return add_source(w, name, src);
}

int xp_zip_add_file(struct xp_zip_writer *w, const char *name,
                    const char *src_path)
{
    if (check_name(w, name))
        return w->err;
    if (!xp_is_file(src_path)) {
        int rc = xp_error_set(XP_ENOTFOUND, "cannot add '%s' to zip archive: "
                              "no file '%s'", name, src_path);
        if (!w->err)
            w->err = rc;
        return rc;
    }
    return add_source(w, name, zip_source_file(w->za, src_path, 0, -1));
}

static void writer_free(struct xp_zip_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    zip_error_fini(&w->zerr);
    free(w->path);
    free(w->tmp);
    free(w);
}

void xp_zip_abort(struct xp_zip_writer *w)
{
    if (!w)
        return;
    zip_discard(w->za);
    unlink(w->tmp);
    writer_free(w);
}

int xp_zip_commit(struct xp_zip_writer *w)
{
    int rc = w->err;
    if (rc) {
        xp_zip_abort(w);
        return rc;
    }
    if (w->n == 0) {
        /* libzip writes no file for an empty archive: the end record alone */
        static const unsigned char eocd[22] = {0x50, 0x4b, 0x05, 0x06};
        zip_discard(w->za);
        rc = xp_write_file_atomic(w->path, eocd, sizeof(eocd));
        writer_free(w);
        return rc;
    }
    if (zip_close(w->za) != 0) {
        rc = xp_error_set(XP_EIO, "cannot write zip archive '%s': %s", w->path,
                          zip_strerror(w->za));
        zip_discard(w->za);
        unlink(w->tmp);
    } else {
        rc = xp_file_commit(w->tmp, w->path);
    }
    writer_free(w);
    return rc;
}
