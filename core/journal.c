/* The resume journal (include/xport/journal.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/journal.h"
#include "xport/json.h"

static void key_of(struct xp_buf *k, const char *ws, const char *proj,
                   const char *name)
{
    xp_buf_reset(k);
    xp_buf_printf(k, "%s\x1f%s\x1f%s", ws, proj, name);
}

static int append_line(struct xp_journal *j, struct xp_buf *line)
{
    xp_buf_putc(line, '\n');
    size_t off = 0;
    while (off < line->len) {
        ssize_t n = write(j->fd, line->ptr + off, line->len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return xp_error_set_os(XP_EIO, "cannot write journal '%s'", j->path);
        }
        off += (size_t)n;
    }
    if (fsync(j->fd) != 0)
        return xp_error_set_os(XP_EIO, "cannot fsync journal '%s'", j->path);
    return 0;
}

static void now_iso(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int load(struct xp_journal *j, const char *src, const char *dst, int resume)
{
    struct xp_buf b = XP_BUF_INIT, k = XP_BUF_INIT;
    int rc = xp_read_file(&b, j->path, (size_t)1 << 30);
    if (rc == XP_ENOTFOUND) {
        xp_error_clear();
        xp_buf_release(&b);
        return 0;
    }
    char *line = b.ptr;
    while (!rc && line && *line) {
        char *nl = strchr(line, '\n');
        if (!nl)
            break; /* a torn last line: the write it records never finished */
        struct json_object *o = NULL;
        if (xp_json_parse(&o, line, (size_t)(nl - line), "journal") == 0) {
            const char *ev = xp_json_str(o, "event");
            if (ev && !strcmp(ev, "run")) {
                const char *s = xp_json_str(o, "src"), *d = xp_json_str(o, "dst");
                if (!s || !d || strcmp(s, src) || strcmp(d, dst))
                    rc = xp_error_set(XP_EINVALID,
                                      "state file '%s' belongs to another copy "
                                      "('%s' -> '%s'); use another --state-file",
                                      j->path, s ? s : "?", d ? d : "?");
            } else if (ev && !strcmp(ev, "experiment")) {
                const char *out = xp_json_str(o, "outcome");
                key_of(&k, xp_json_str(o, "workspace"), xp_json_str(o, "project"),
                       xp_json_str(o, "name"));
                if (out && !strcmp(out, "copied"))
                    json_object_object_add(j->created, k.ptr, NULL);
                if (out && !strcmp(out, "deleted"))
                    json_object_object_del(j->created, k.ptr);
                if (resume && out && (!strcmp(out, "copied") || !strcmp(out, "skipped"))) {
                    const char *did = xp_json_str(o, "dst");
                    json_object_object_add(j->done, k.ptr,
                                           did ? json_object_new_string(did) : NULL);
                }
            }
        } else {
            xp_error_clear(); /* a damaged line is ignored, as a torn one */
        }
        json_object_put(o);
        line = nl + 1;
    }
    j->loaded = json_object_object_length(j->done);
    xp_buf_release(&b);
    xp_buf_release(&k);
    return rc;
}

int xp_journal_open(struct xp_journal *j, const char *path, const char *src,
                    const char *dst, int flags)
{
    int resume = flags & XP_JOURNAL_RESUME;
    memset(j, 0, sizeof(*j));
    j->fd = -1;
    j->path = xp_strdup(path);
    j->done = json_object_new_object();
    j->created = json_object_new_object();
    pthread_mutex_init(&j->lock, NULL);
    char *dir = xp_strdup(path);
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir && !(flags & XP_JOURNAL_READONLY)) {
        *slash = '\0';
        rc = xp_mkdir_p(dir);
    }
    free(dir);
    if (!rc)
        rc = load(j, src, dst, resume);
    if (!rc && (flags & XP_JOURNAL_READONLY))
        return 0;
    if (!rc) {
        int oflags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
        j->fd = open(path, oflags, 0600);
        if (j->fd < 0)
            rc = xp_error_set_os(XP_EIO, "cannot open state file '%s'", path);
    }
    if (!rc) {
        struct xp_buf l = XP_BUF_INIT;
        char ts[32];
        now_iso(ts);
        xp_buf_puts(&l, "{\"event\":\"run\",\"src\":");
        rc = xp_json_put_str(&l, src, strlen(src), "source");
        xp_buf_puts(&l, ",\"dst\":");
        if (!rc)
            rc = xp_json_put_str(&l, dst, strlen(dst), "destination");
        xp_buf_printf(&l, ",\"time\":\"%s\",\"resume\":%s}", ts, resume ? "true" : "false");
        if (!rc)
            rc = append_line(j, &l);
        xp_buf_release(&l);
    }
    if (rc)
        xp_journal_close(j);
    return rc;
}

void xp_journal_close(struct xp_journal *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
    json_object_put(j->done);
    j->done = NULL;
    json_object_put(j->created);
    j->created = NULL;
    free(j->path);
    j->path = NULL;
    pthread_mutex_destroy(&j->lock);
}

int xp_journal_done(struct xp_journal *j, const char *ws, const char *proj,
                    const char *name)
{
    struct xp_buf k = XP_BUF_INIT;
    key_of(&k, ws, proj, name);
    pthread_mutex_lock(&j->lock);
    int done = json_object_object_get_ex(j->done, k.ptr, NULL);
    pthread_mutex_unlock(&j->lock);
    xp_buf_release(&k);
    return done;
}

int xp_journal_created(struct xp_journal *j, const char *ws, const char *proj,
                       const char *name)
{
    struct xp_buf k = XP_BUF_INIT;
    key_of(&k, ws, proj, name);
    pthread_mutex_lock(&j->lock);
    int c = json_object_object_get_ex(j->created, k.ptr, NULL);
    pthread_mutex_unlock(&j->lock);
    xp_buf_release(&k);
    return c;
}

static void put_field(struct xp_buf *l, const char *k, const char *v)
{
    xp_buf_printf(l, ",\"%s\":", k);
    if (!v || xp_json_put_str(l, v, strlen(v), k))
        xp_buf_puts(l, "null");
}

int xp_journal_record(struct xp_journal *j, const char *ws, const char *proj,
                      const char *name, const char *src_key, const char *dst_id,
                      const char *outcome, const char *error)
{
    struct xp_buf l = XP_BUF_INIT;
    char ts[32];
    now_iso(ts);
    xp_buf_printf(&l, "{\"event\":\"experiment\",\"time\":\"%s\"", ts);
    put_field(&l, "workspace", ws);
    put_field(&l, "project", proj);
    put_field(&l, "name", name);
    put_field(&l, "src", src_key);
    put_field(&l, "dst", dst_id);
    put_field(&l, "outcome", outcome);
    if (error)
        put_field(&l, "error", error);
    xp_buf_putc(&l, '}');
    pthread_mutex_lock(&j->lock);
    int rc = j->fd >= 0 ? append_line(j, &l) : 0;
    if (!rc) {
        struct xp_buf k = XP_BUF_INIT;
        key_of(&k, ws, proj, name);
        if (!strcmp(outcome, "copied") || !strcmp(outcome, "skipped"))
            json_object_object_add(j->done, k.ptr,
                                   dst_id ? json_object_new_string(dst_id) : NULL);
        if (!strcmp(outcome, "copied"))
            json_object_object_add(j->created, k.ptr, NULL);
        if (!strcmp(outcome, "deleted"))
            json_object_object_del(j->created, k.ptr);
        xp_buf_release(&k);
    }
    pthread_mutex_unlock(&j->lock);
    xp_buf_release(&l);
    return rc;
}
