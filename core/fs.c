/* File system helpers (include/xport/fs.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/numparse.h"
#include "xport/utf8.h"
#include "xport/sysio.h"

static atomic_uint tmp_counter;

char *xp_tmp_name(const char *path)
{
    struct xp_buf t = XP_BUF_INIT;
    xp_buf_printf(&t, "%s.xport-tmp-%ld-%u", path, (long)getpid(),
                  atomic_fetch_add(&tmp_counter, 1));
    return xp_buf_detach(&t);
}

void xp_tmp_clean(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *dir = slash ? xp_strndup(path, (size_t)(slash - path)) : xp_strdup(".");
    if (!*dir) {
        free(dir);
        dir = xp_strdup("/");
    }
    char **names = NULL;
    size_t n = 0, bl = strlen(base);
    if (!xp_list_dir(&names, &n, dir)) {
        for (size_t i = 0; i < n; i++) {
            const char *t = names[i] + bl;
            if (strncmp(names[i], base, bl) || strncmp(t, ".xport-tmp-", 11))
                continue;
            t += 11;
            size_t dl = strspn(t, "0123456789");
            int64_t pid = 0;
            if (!dl || (t[dl] && t[dl] != '-') || xp_parse_i64n(t, dl, &pid) || pid <= 0 ||
                pid > INT32_MAX)
                continue;
            if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
                continue; /* alive (or not ours to see): its writer may still rename it */
            char *p = xp_path_join(dir, names[i]);
            if (xp_is_real_dir(p))
                xp_rm_rf(p); /* a folder so named (an archive's staging) */
            else
                unlink(p);
            free(p);
        }
        xp_strv_free(names);
    }
    xp_error_clear();
    free(dir);
}

/* Rename tmp over path and fsync path's folder; tmp is removed on failure. */
static int rename_synced(const char *tmp, const char *path)
{
    int rc = 0;
    if (xp_sys_rename(tmp, path) != 0) {
        rc = xp_error_set_os(XP_EIO, "cannot rename '%s'", tmp);
        unlink(tmp);
        return rc;
    }
    char *dir = xp_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        rc = xp_fsync_dir(*dir ? dir : "/");
    } else {
        rc = xp_fsync_dir(".");
    }
    free(dir);
    return rc;
}

int xp_file_commit(const char *tmp, const char *path)
{
    int fd = xp_sys_open(tmp, O_RDONLY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0)
        rc = xp_error_set_os(XP_EIO, "cannot open '%s'", tmp);
    else if (xp_sys_fsync(fd) != 0)
        rc = xp_error_set_os(XP_EIO, "cannot fsync '%s'", tmp);
    if (fd >= 0)
        close(fd);
    if (rc) {
        unlink(tmp);
        return rc;
    }
    return rename_synced(tmp, path);
}

int xp_afile_open(struct xp_afile *f, const char *path)
{
    memset(f, 0, sizeof(*f));
    char *tmp = xp_tmp_name(path);
    int fd = xp_sys_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int rc = xp_error_set_os(XP_EIO, "cannot create '%s'", tmp);
        free(tmp);
        return rc;
    }
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return xp_error_set_os(XP_EIO, "cannot open '%s'", path);
    }
    setvbuf(f->fp, NULL, _IOFBF, 1 << 16);
    f->path = xp_strdup(path);
    f->tmp = tmp;
    return 0;
}

int xp_afile_open_in(struct xp_afile *f, const char *dir, const char *name)
{
    memset(f, 0, sizeof(*f));
    int rc = xp_mkdir_p(dir);
    if (rc)
        return rc;
    char *path = xp_path_join(dir, name);
    rc = xp_afile_open(f, path);
    free(path);
    return rc;
}

void xp_afile_write(struct xp_afile *f, const void *data, size_t len)
{
    if (f->err || !len)
        return;
    if (xp_sys_fwrite(f->fp, data, len) != 0) {
        f->err = xp_error_set_os(XP_EIO, "cannot write '%s'", f->tmp);
        return;
    }
    if (f->hash)
        xp_sha256_update(f->hash, data, len);
    f->bytes += (int64_t)len;
}

void xp_afile_hash(struct xp_afile *f, struct xp_sha256 *h)
{
    f->hash = h;
}

void xp_afile_buf(struct xp_afile *f, struct xp_buf *b)
{
    xp_afile_write(f, b->ptr, b->len);
    xp_buf_reset(b);
}

static void afile_free(struct xp_afile *f)
{
    free(f->path);
    free(f->tmp);
    f->path = f->tmp = NULL;
    f->fp = NULL;
}

int xp_afile_commit(struct xp_afile *f)
{
    int rc = f->err;
    if (!f->fp)
        return rc ? rc : xp_error_set(XP_EIO, "file not open");
    if (!rc && fflush(f->fp) != 0)
        rc = xp_error_set_os(XP_EIO, "cannot write '%s'", f->tmp);
    if (!rc && xp_sys_fsync(fileno(f->fp)) != 0)
        rc = xp_error_set_os(XP_EIO, "cannot fsync '%s'", f->tmp);
    if (fclose(f->fp) != 0 && !rc)
        rc = xp_error_set_os(XP_EIO, "cannot close '%s'", f->tmp);
    f->fp = NULL;
    if (rc)
        unlink(f->tmp);
    else
        rc = rename_synced(f->tmp, f->path);
    afile_free(f);
    return rc;
}

void xp_afile_abort(struct xp_afile *f)
{
    if (f->fp) {
        fclose(f->fp);
        unlink(f->tmp);
    }
    afile_free(f);
}

int xp_write_file_atomic(const char *path, const void *data, size_t len)
{
    struct xp_afile f;
    int rc = xp_afile_open(&f, path);
    if (rc)
        return rc;
    xp_afile_write(&f, data, len);
    return xp_afile_commit(&f);
}

int xp_read_file(struct xp_buf *out, const char *path, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xp_error_set_os(errno == ENOENT ? XP_ENOTFOUND : XP_EIO,
                               "cannot open '%s'", path);
    xp_buf_reset(out);
    for (;;) {
        xp_buf_grow(out, 65536);
        ssize_t n = read(fd, out->ptr + out->len, out->cap - out->len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            return xp_error_set_os(XP_EIO, "cannot read '%s'", path);
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
        out->ptr[out->len] = '\0';
        if (out->len > max) {
            close(fd);
            return xp_error_set(XP_EINVALID, "'%s' is larger than %zu bytes",
                                path, max);
        }
    }
    close(fd);
    return 0;
}

int xp_mkdir_p(const char *path)
{
    char *p = xp_strdup(path);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (xp_sys_mkdir(p, 0755) != 0 && errno != EEXIST) {
                rc = xp_error_set_os(XP_EIO, "cannot create directory '%s'", p);
                break;
            }
            *s = c;
            if (!c)
                break;
        }
    }
    if (!rc && !xp_is_dir(p))
        rc = xp_error_set(XP_EIO, "'%s' exists and is not a directory", p);
    free(p);
    return rc;
}

int xp_fsync_dir(const char *path)
{
    int fd = xp_sys_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return xp_error_set_os(XP_EIO, "cannot open directory '%s'", path);
    int rc = 0;
    if (xp_sys_fsync(fd) != 0 && errno != EINVAL)
        rc = xp_error_set_os(XP_EIO, "cannot fsync directory '%s'", path);
    close(fd);
    return rc;
}

int xp_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0
                               : xp_error_set_os(XP_EIO, "cannot stat '%s'", path);
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) != 0)
            return xp_error_set_os(XP_EIO, "cannot remove '%s'", path);
        return 0;
    }
    char **names;
    size_t n;
    int rc = xp_list_dir(&names, &n, path);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && !rc; i++) {
        char *c = xp_path_join(path, names[i]);
        rc = xp_rm_rf(c);
        free(c);
    }
    xp_strv_free(names);
    if (!rc && rmdir(path) != 0)
        rc = xp_error_set_os(XP_EIO, "cannot remove directory '%s'", path);
    return rc;
}

int xp_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int xp_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int xp_is_real_dir(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int xp_is_real_file(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int xp_segment_safe(const char *seg)
{
    if (!seg || !*seg || !strcmp(seg, ".") || !strcmp(seg, ".."))
        return 0;
    for (const char *p = seg; *p; p++)
        if (*p == '/' || *p == '\\')
            return 0;
    return xp_utf8_valid(seg, strlen(seg));
}

int xp_relpath_safe(const char *rel)
{
    if (!rel || !*rel || rel[0] == '/')
        return 0;
    const char *s = rel;
    char seg[4096];
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || n >= sizeof(seg))
            return 0;
        memcpy(seg, s, n);
        seg[n] = '\0';
        if (!xp_segment_safe(seg))
            return 0;
        if (!e)
            break;
        s = e + 1;
        if (!*s)
            return 0; /* trailing slash */
    }
    return 1;
}

#define NAME_MAX_ENC 200

static int must_escape(unsigned char c, size_t i, size_t len)
{
    if (c < 0x20 || c == 0x7f || c == '%' || c == '/' || c == '\\')
        return 1;
    if (strchr(":*?\"<>|", c))
        return 1;
    if (i == 0 && c == '.')
        return 1; /* no ".", "..", or hidden files */
    if (i == len - 1 && (c == ' ' || c == '.'))
        return 1; /* Windows strips these */
    return 0;
}

int xp_name_encode(struct xp_buf *out, const char *name)
{
    static const char hx[] = "0123456789ABCDEF";
    size_t len = strlen(name);
    xp_buf_reset(out);
    if (!xp_utf8_valid(name, len))
        return xp_error_set(XP_EINVALID, "name is not valid UTF-8");
    if (len == 0) {
        xp_buf_puts(out, "%00"); /* the empty name, reversibly */
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (must_escape(c, i, len)) {
            char e[3] = {'%', hx[c >> 4], hx[c & 15]};
            xp_buf_put(out, e, 3);
        } else {
            xp_buf_putc(out, (char)c);
        }
    }
    if (out->len > NAME_MAX_ENC) {
        /* cut at a character boundary, never inside a %XX escape, then
         * make it unique with a hash of the whole name */
        size_t cut = NAME_MAX_ENC - 13;
        if (out->ptr[cut - 1] == '%')
            cut -= 1;
        else if (out->ptr[cut - 2] == '%')
            cut -= 2;
        while (cut > 0 && ((unsigned char)out->ptr[cut] & 0xC0) == 0x80)
            cut--;
        char hex[65];
        xp_sha256_hex(hex, name, len);
        xp_buf_setlen(out, cut);
        xp_buf_putc(out, '~');
        xp_buf_put(out, hex, 12);
    }
    return 0;
}

int xp_name_decode(struct xp_buf *out, const char *enc)
{
    xp_buf_reset(out);
    if (!strcmp(enc, "%00"))
        return 0;
    for (const char *p = enc; *p; p++) {
        if (*p == '%') {
            int h = p[1] ? xp_hex_digit((unsigned char)p[1]) : -1;
            int l = h >= 0 && p[2] ? xp_hex_digit((unsigned char)p[2]) : -1;
            if (h < 0 || l < 0)
                return xp_error_set(XP_EINVALID, "bad escape in name '%s'", enc);
            xp_buf_putc(out, (char)(h * 16 + l));
            p += 2;
        } else {
            xp_buf_putc(out, *p);
        }
    }
    if (!xp_utf8_valid(out->ptr, out->len))
        return xp_error_set(XP_EINVALID, "name '%s' decodes to invalid UTF-8",
                            enc);
    return 0;
}

static int strpcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int xp_list_dir(char ***out, size_t *n, const char *path)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(path);
    if (!d)
        return xp_error_set_os(errno == ENOENT ? XP_ENOTFOUND : XP_EIO,
                               "cannot open directory '%s'", path);
    size_t cap = 16, cnt = 0;
    char **v = xp_malloc(cap * sizeof(*v));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (cnt + 2 > cap) {
            cap *= 2;
            v = xp_realloc(v, cap * sizeof(*v));
        }
        v[cnt++] = xp_strdup(e->d_name);
    }
    closedir(d);
    qsort(v, cnt, sizeof(*v), strpcmp);
    v[cnt] = NULL;
    *out = v;
    *n = cnt;
    return 0;
}

void xp_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

char *xp_path_join(const char *a, const char *b)
{
    struct xp_buf p = XP_BUF_INIT;
    xp_buf_puts(&p, a);
    if (p.len && p.ptr[p.len - 1] != '/')
        xp_buf_putc(&p, '/');
    xp_buf_puts(&p, b);
    return xp_buf_detach(&p);
}
