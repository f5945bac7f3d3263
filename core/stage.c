/* Staged directories and their items logs (include/xport/stage.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/json.h"
#include "xport/stage.h"
#include "xport/sysio.h"

/* An old copy moved aside by a publish that was killed before it could
 * remove it (see xp_stage_publish): the rerun writes the experiment anew,
 * so the leftover only takes space. */
static void remove_stale(const char *root, const char *hex)
{
    struct xp_buf d = XP_BUF_INIT, pre = XP_BUF_INIT;
    xp_buf_printf(&d, "%s/.xport/staging", root);
    xp_buf_printf(&pre, "%.24s.xport-old-", hex);
    char **v = NULL;
    size_t n = 0;
    if (xp_is_dir(d.ptr) && !xp_list_dir(&v, &n, d.ptr)) {
        for (size_t i = 0; i < n; i++) {
            if (strncmp(v[i], pre.ptr, pre.len))
                continue;
            char *p = xp_path_join(d.ptr, v[i]);
            xp_rm_rf(p);
            free(p);
        }
        xp_strv_free(v);
    }
    xp_error_clear();
    xp_buf_release(&d);
    xp_buf_release(&pre);
}

int xp_stage_open(struct xp_stage *st, const char *root, const char *final_dir,
                  int keep)
{
    char hex[65];
    struct xp_buf b = XP_BUF_INIT;
    xp_sha256_hex(hex, final_dir, strlen(final_dir));
    xp_buf_printf(&b, "%s/.xport/staging/%.24s", root, hex);
    st->dir = xp_buf_detach(&b);
    st->final_dir = xp_strdup(final_dir);
    remove_stale(root, hex);
    int rc = keep && xp_is_dir(st->dir) ? 0 : xp_rm_rf(st->dir);
    if (!rc)
        rc = xp_mkdir_p(st->dir);
    if (rc)
        xp_stage_release(st, 0);
    return rc;
}

int xp_stage_publish(struct xp_stage *st)
{
    char *parent = xp_strdup(st->final_dir);
    char *slash = strrchr(parent, '/');
    if (slash)
        *slash = '\0';
    int rc = slash ? xp_mkdir_p(parent) : 0;
    char *trash = NULL;
    if (!rc && xp_is_dir(st->final_dir)) {
        struct xp_buf t = XP_BUF_INIT;
        xp_buf_printf(&t, "%s.xport-old-%ld", st->dir, (long)getpid());
        trash = xp_buf_detach(&t);
        if (xp_sys_rename(st->final_dir, trash) != 0) {
            rc = xp_error_set_os(XP_EIO, "cannot move '%s' aside", st->final_dir);
            free(trash);
            trash = NULL;
        }
    }
    if (!rc) {
        if (xp_sys_rename(st->dir, st->final_dir) != 0) {
            rc = xp_error_set_os(XP_EIO, "cannot move '%s' into place", st->final_dir);
            if (trash)
                rename(trash, st->final_dir); /* put the old copy back */
        } else {
            rc = xp_fsync_dir(slash ? parent : ".");
        }
    }
    if (trash) {
        if (!rc)
            xp_rm_rf(trash);
        free(trash);
    }
    free(parent);
    return rc;
}

void xp_stage_release(struct xp_stage *st, int remove)
{
    if (remove && st->dir)
        xp_rm_rf(st->dir);
    free(st->dir);
    free(st->final_dir);
    st->dir = st->final_dir = NULL;
}

/* ---- the items log ---- */

static int digest_file(const char *path, int64_t *size, char hex[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xp_error_set_os(XP_EIO, "cannot open '%s'", path);
    struct xp_sha256 h;
    xp_sha256_init(&h);
    char *buf = xp_malloc(1 << 16);
    int64_t total = 0;
    ssize_t n;
    int rc = 0;
    while ((n = read(fd, buf, 1 << 16)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = xp_error_set_os(XP_EIO, "cannot read '%s'", path);
            break;
        }
        xp_sha256_update(&h, buf, (size_t)n);
        total += n;
    }
    free(buf);
    close(fd);
    if (!rc) {
        unsigned char d[32];
        xp_sha256_final(&h, d);
        xp_hex(hex, d, 32);
        *size = total;
    }
    return rc;
}

/* 1 when every part the line records is there with its size and digest. */
static int parts_intact(const char *dir, struct json_object *line)
{
    struct json_object *parts;
    if (!json_object_object_get_ex(line, "parts", &parts) ||
        !json_object_is_type(parts, json_type_array) || !json_object_array_length(parts))
        return 0; /* an older log: nothing to check against */
    for (size_t i = 0; i < json_object_array_length(parts); i++) {
        struct json_object *p = json_object_array_get_idx(parts, i), *sz;
        const char *rel = xp_json_str(p, "path"), *want = xp_json_str(p, "sha256");
        if (!rel || !want || !xp_relpath_safe(rel) ||
            !json_object_object_get_ex(p, "size", &sz))
            return 0;
        char *path = xp_path_join(dir, rel), hex[65];
        int64_t size = -1;
        struct stat stt;
        int ok = stat(path, &stt) == 0 && S_ISREG(stt.st_mode) &&
                 stt.st_size == json_object_get_int64(sz) &&
                 digest_file(path, &size, hex) == 0 &&
                 size == json_object_get_int64(sz) && !strcmp(hex, want);
        xp_error_clear();
        free(path);
        if (!ok)
            return 0;
    }
    return 1;
}

/* Resume: keep the lines of intact items, dropping the rest from the log. */
static int items_reload(struct xp_stage_items *it, const char *log)
{
    FILE *f = fopen(log, "rb");
    if (!f)
        return errno == ENOENT ? 0 : xp_error_set_os(XP_EIO, "cannot read '%s'", log);
    struct xp_buf keep = XP_BUF_INIT;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int dropped = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        struct json_object *o = NULL;
        const char *key;
        if (line[n - 1] == '\n' && !xp_json_parse(&o, line, (size_t)n - 1, "items log") &&
            (key = xp_json_str(o, "key")) && parts_intact(it->dir, o) &&
            !json_object_object_get_ex(it->keys, key, NULL)) {
            json_object_object_add(it->keys, key, NULL);
            xp_buf_put(&keep, line, (size_t)n);
        } else {
            dropped = 1; /* torn, damaged, unverifiable or not as recorded */
        }
        xp_error_clear();
        json_object_put(o);
    }
    free(line);
    fclose(f);
    int rc = dropped ? xp_write_file_atomic(log, keep.ptr ? keep.ptr : "", keep.len) : 0;
    xp_buf_release(&keep);
    return rc;
}

int xp_stage_items_open(struct xp_stage_items *it, const struct xp_stage *st,
                        int resume)
{
    it->fd = -1;
    it->dir = xp_strdup(st->dir);
    it->keys = json_object_new_object();
    char *log = xp_path_join(st->dir, XP_STAGE_ITEMS);
    int rc = resume ? items_reload(it, log) : (unlink(log), 0);
    if (!rc) {
        it->fd = xp_sys_open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (it->fd < 0)
            rc = xp_error_set_os(XP_EIO, "cannot open '%s'", log);
    }
    free(log);
    if (rc)
        xp_stage_items_close(it);
    return rc;
}

int xp_stage_item_done(struct xp_stage_items *it, const char *key,
                       const struct xp_stage_part *parts, size_t nparts,
                       const char *manifest)
{
    struct xp_buf l = XP_BUF_INIT;
    xp_buf_puts(&l, "{\"key\":");
    int rc = xp_json_put_str(&l, key, strlen(key), "item key");
    xp_buf_puts(&l, ",\"parts\":[");
    for (size_t i = 0; !rc && i < nparts; i++) {
        char hex[65];
        int64_t size = parts[i].size;
        if (parts[i].sha256) {
            snprintf(hex, sizeof(hex), "%s", parts[i].sha256);
        } else {
            char *p = xp_path_join(it->dir, parts[i].rel);
            rc = digest_file(p, &size, hex);
            free(p);
        }
        xp_buf_puts(&l, i ? ",{\"path\":" : "{\"path\":");
        if (!rc)
            rc = xp_json_put_str(&l, parts[i].rel, strlen(parts[i].rel), "item path");
        xp_buf_printf(&l, ",\"size\":%lld,\"sha256\":\"%s\"}", (long long)size, hex);
    }
    xp_buf_putc(&l, ']');
    if (manifest) {
        xp_buf_puts(&l, ",\"manifest\":");
        xp_buf_puts(&l, manifest); /* already JSON */
    }
    xp_buf_puts(&l, "}\n");
    for (size_t off = 0; !rc && off < l.len;) {
        ssize_t n = xp_sys_write(it->fd, l.ptr + off, l.len - off);
        if (n < 0 && errno != EINTR)
            rc = xp_error_set_os(XP_EIO, "cannot write '%s/%s'", it->dir, XP_STAGE_ITEMS);
        else if (n > 0)
            off += (size_t)n;
    }
    if (!rc && xp_sys_fsync(it->fd) != 0)
        rc = xp_error_set_os(XP_EIO, "cannot fsync '%s/%s'", it->dir, XP_STAGE_ITEMS);
    if (!rc)
        json_object_object_add(it->keys, key, NULL);
    xp_buf_release(&l);
    return rc;
}

int xp_stage_item_has(const struct xp_stage_items *it, const char *key)
{
    return it->keys && json_object_object_get_ex(it->keys, key, NULL);
}

void xp_stage_items_close(struct xp_stage_items *it)
{
    if (it->fd >= 0)
        close(it->fd);
    it->fd = -1;
    json_object_put(it->keys);
    it->keys = NULL;
    free(it->dir);
    it->dir = NULL;
}
