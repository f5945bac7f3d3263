/* The operation queue of a neptune-client 1.x container folder: data-<N>.log
 * files of JSON lines {"obj", "version", "at"}, N the first version in the
 * file (src/neptune/core/components/queue/disk_queue.py, log_file.py), read
 * in version order and replayed into an npt_run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "npt.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/json.h"
#include "xport/numparse.h"

struct logf {
    char *name;
    uint64_t first;
};

static int by_first(const void *x, const void *y)
{
    const struct logf *a = x, *b = y;
    return a->first < b->first ? -1 : a->first > b->first;
}

/* "data-<N>.log" -> N; 0 when the name is not one. */
static uint64_t log_number(const char *name)
{
    size_t n = strlen(name);
    if (strncmp(name, "data-", 5) || n < 10 || strcmp(name + n - 4, ".log"))
        return 0;
    uint64_t v = 0;
    for (const char *p = name + 5; p < name + n - 4; p++) {
        if (*p < '0' || *p > '9' || v > UINT64_MAX / 10 - 1)
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    return v;
}

/* A plain-text integer file (sync_offset_file.py); -1 when absent. */
static int64_t read_offset(const char *dir, const char *name)
{
    char *p = xp_path_join(dir, name);
    struct xp_buf b = XP_BUF_INIT;
    int64_t v = -1;
    if (xp_is_file(p) && !xp_read_file(&b, p, 64)) {
        size_t n = b.len;
        while (n && (b.ptr[n - 1] == '\n' || b.ptr[n - 1] == '\r' || b.ptr[n - 1] == ' '))
            n--;
        int64_t x;
        if (!xp_parse_i64n(b.ptr, n, &x) && x >= 0)
            v = x;
    }
    xp_error_clear();
    xp_buf_release(&b);
    free(p);
    return v;
}

/* Note versions from..to as missing from dir; why may be NULL. */
static void gap(struct npt_run *r, int64_t from, int64_t to, const char *dir,
                const char *why)
{
    char range[64];
    if (from == to)
        snprintf(range, sizeof(range), "operation %" PRId64, from);
    else
        snprintf(range, sizeof(range), "operations %" PRId64 "-%" PRId64, from, to);
    xp_lost_add(&r->lost, "%s of '%s' %s not in the folder%s%s%s", range, dir,
             from == to ? "is" : "are", why ? " (" : "", why ? why : "",
             why ? ")" : "");
}

struct reading {
    struct npt_run *r;
    const char *dir;
    int64_t last;     /* last version applied in this folder */
    int64_t bad;      /* lines that are not operations */
    int torn;         /* the last line is cut off */
};

/* One line: parse, check its version, apply. */
static void one_line(struct reading *rd, char *line, size_t len, int file,
                     int64_t off, int torn_ok, const char *fname)
{
    struct npt_run *r = rd->r;
    enum json_tokener_error jerr;
    struct json_tokener *tok = json_tokener_new();
    struct json_object *o = json_tokener_parse_ex(tok, line, (int)len);
    jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!o || jerr != json_tokener_success || used != len ||
        !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        rd->torn |= torn_ok;
        if (torn_ok)
            xp_lost_add(&r->lost, "the last line of '%s' (bytes %" PRId64 "-%" PRId64
                        ") is cut off",
                     fname, off, off + (int64_t)len);
        else if (rd->bad++ < 3)
            xp_lost_add(&r->lost, "line at byte %" PRId64 " of '%s' is not JSON", off,
                     fname);
        return;
    }
    struct json_object *obj = xp_json_get(o, "obj"), *ver = xp_json_get(o, "version");
    if (!obj || !json_object_is_type(obj, json_type_object) || !ver ||
        !json_object_is_type(ver, json_type_int)) {
        if (rd->bad++ < 3)
            xp_lost_add(&r->lost, "line at byte %" PRId64 " of '%s' is not an operation",
                     off, fname);
        json_object_put(o);
        return;
    }
    int64_t v = json_object_get_int64(ver);
    if (v <= rd->last) {
        if (rd->bad++ < 3)
            xp_lost_add(&r->lost, "operation version %" PRId64 " at byte %" PRId64
                        " of '%s' comes after version %" PRId64,
                     v, off, fname, rd->last);
        json_object_put(o);
        return;
    }
    if (v > rd->last + 1)
        gap(r, rd->last + 1, v - 1, rd->dir, NULL);
    rd->last = v;
    if (npt_apply(r, obj, file, off, (int64_t)len)) {
        if (rd->bad++ < 3)
            xp_lost_add(&r->lost, "operation version %" PRId64 " in '%s': %s", v, fname,
                     xp_error_last()->message);
        xp_error_clear();
    }
    json_object_put(o);
}

static int replay_file(struct reading *rd, const char *path, int file,
                       int is_last_file)
{
    FILE *fp = fopen(path, "re");
    if (!fp)
        return xp_error_set_os(XP_EIO, "cannot open '%s'", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int64_t off = 0;
    while ((n = getline(&line, &cap, fp)) > 0) {
        if (xp_ctx_cancelled(rd->r->ctx)) {
            free(line);
            fclose(fp);
            return xp_error_set(XP_ECANCEL, "interrupted");
        }
        size_t len = (size_t)n;
        int has_nl = line[len - 1] == '\n';
        if (has_nl)
            len--;
        /* written in text mode on Windows: json-c would skip the \r as
         * white space, but the line's length is kept exact here */
        if (has_nl && len && line[len - 1] == '\r')
            len--;
        /* a torn line can only be the last one written */
        int last = !has_nl || (is_last_file && feof(fp));
        if (len)
            one_line(rd, line, len, file, off, last && is_last_file, path);
        off += n;
    }
    int err = ferror(fp);
    free(line);
    fclose(fp);
    if (err)
        return xp_error_set(XP_EIO, "cannot read '%s'", path);
    return 0;
}

static int replay_dir(struct npt_run *r, const char *dir)
{
    char **names;
    size_t n;
    int rc = xp_list_dir(&names, &n, dir);
    if (rc)
        return rc;
    struct logf *lf = xp_calloc(n + 1, sizeof(*lf));
    size_t nl = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = log_number(names[i]);
        if (v)
            lf[nl++] = (struct logf){names[i], v};
    }
    qsort(lf, nl, sizeof(*lf), by_first);
    struct reading rd = {r, dir, 0, 0};
    int64_t ack = read_offset(dir, "last_ack_version");
    int64_t put = read_offset(dir, "last_put_version");
    for (size_t i = 0; i < nl && !rc; i++) {
        char *p = xp_path_join(dir, lf[i].name);
        if ((int64_t)lf[i].first > rd.last + 1 && ack >= (int64_t)lf[i].first - 1)
            gap(r, rd.last + 1, (int64_t)lf[i].first - 1, dir,
                "sent to the server and removed, as last_ack_version says");
        else if ((int64_t)lf[i].first > rd.last + 1)
            gap(r, rd.last + 1, (int64_t)lf[i].first - 1, dir, NULL);
        if ((int64_t)lf[i].first > rd.last + 1)
            rd.last = (int64_t)lf[i].first - 1;
        r->files = xp_realloc(r->files, (r->nfiles + 1) * sizeof(char *));
        r->files[r->nfiles] = p;
        rc = replay_file(&rd, p, (int)r->nfiles, i + 1 == nl);
        r->nfiles++;
    }
    if (!rc && put > rd.last && !rd.torn)
        gap(r, rd.last + 1, put, dir, "last_put_version names them");
    free(lf);
    xp_strv_free(names);
    return rc;
}

int npt_queue_replay(struct npt_run *r, char *const *dirs, size_t ndirs)
{
    for (size_t i = 0; i < ndirs; i++) {
        int rc = replay_dir(r, dirs[i]);
        if (rc)
            return rc;
    }
    return 0;
}

int npt_blob_read(const struct npt_run *r, const struct npt_blob *b,
                  struct xp_buf *out)
{
    if (b->file < 0 || (size_t)b->file >= r->nfiles || b->len <= 0)
        return xp_error_set(XP_EINVALID, "no such stored data");
    const char *path = r->files[b->file];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xp_error_set_os(XP_EIO, "cannot open '%s'", path);
    char *line = xp_malloc((size_t)b->len + 1);
    ssize_t got = pread(fd, line, (size_t)b->len, b->off);
    close(fd);
    if (got != b->len) {
        free(line);
        return xp_error_set(XP_EIO, "'%s' changed while it was read", path);
    }
    line[got] = '\0';
    struct json_object *o = NULL;
    int rc = xp_json_parse(&o, line, (size_t)got, path);
    free(line);
    if (rc)
        return rc;
    struct json_object *obj = xp_json_get(o, "obj"), *v = NULL;
    if (b->value < 0) {
        v = xp_json_get(obj, "file_content");
    } else {
        v = json_object_array_get_idx(xp_json_get(obj, "values"), (size_t)b->value);
        v = xp_json_get(v, "value");
        if (v && json_object_is_type(v, json_type_object))
            v = xp_json_get(v, "data");
    }
    if (!v || !json_object_is_type(v, json_type_string)) {
        json_object_put(o);
        return xp_error_set(XP_EINVALID, "'%s' changed while it was read", path);
    }
    size_t n = (size_t)json_object_get_string_len(v);
    xp_buf_reset(out);
    xp_buf_grow(out, n / 4 * 3 + 4);
    long m = xp_base64_decode((unsigned char *)out->ptr, n / 4 * 3 + 4,
                              json_object_get_string(v), n);
    json_object_put(o);
    if (m < 0)
        return xp_error_set(XP_EINVALID, "stored data at byte %" PRId64
                                         " of '%s' is not base64",
                            b->off, path);
    xp_buf_setlen(out, (size_t)m);
    return 0;
}
