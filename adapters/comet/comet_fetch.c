/* One Comet experiment fetched over REST v2 into the folder layout `cometx
 * download` writes (comet-ml/cometx cometx/framework/comet/download_manager.py),
 * with nothing sampled: every metric point as the server gives it (streamed
 * to metrics.jsonl, one point a line), parameters, others, metadata and
 * tags, system details, HTML, code, output, graph, git metadata and patch,
 * installed packages and every asset, each asset file checked by size.
 * The cometx reader (cometx_read.c) turns the folder into records. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <json-c/json.h>

#include "comet_api.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"
#include "xport/zip.h"

/* ---- metrics: {"metrics": [{...}, ...]} split into lines as it arrives ---------- */

struct splitter {
    struct xp_afile *f;
    int64_t mark;     /* bytes of the file before this request */
    int depth, in_str, esc;
    struct xp_buf el;   /* the element being read */
    struct xp_buf line; /* the element as written */
    struct xp_arena arena;
    int64_t n;
};

/* The point in s->el as one metrics.jsonl line, without "offset": the
 * server's number for the message that brought it, which a copy gets anew
 * from its own server (so it is no part of the data). */
static int put_point(struct splitter *s)
{
    struct xp_field f[COMET_MAX_FIELDS];
    size_t n = 0;
    xp_arena_reset(&s->arena);
    if (comet_scan_object(s->el.ptr, s->el.len, &s->arena, f, COMET_MAX_FIELDS, &n))
        return -1;
    xp_buf_reset(&s->line);
    xp_buf_putc(&s->line, '{');
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(f[i].key, "offset"))
            continue;
        if (k++)
            xp_buf_putc(&s->line, ',');
        if (xp_json_put_str(&s->line, f[i].key, strlen(f[i].key), "metric field") ||
            (xp_buf_putc(&s->line, ':'), xp_json_put_value(&s->line, &f[i].v, "metric point")))
            return -1;
    }
    xp_buf_puts(&s->line, "}\n");
    xp_afile_buf(s->f, &s->line);
    return 0;
}

static int split_data(void *payload, const void *data, size_t len)
{
    struct splitter *s = payload;
    const char *p = data;
    for (size_t i = 0; i < len; i++) {
        char ch = p[i];
        if (s->depth >= 3)
            xp_buf_putc(&s->el, ch);
        if (s->in_str) {
            if (s->esc)
                s->esc = 0;
            else if (ch == '\\')
                s->esc = 1;
            else if (ch == '"')
                s->in_str = 0;
            continue;
        }
        if (ch == '"') {
            s->in_str = 1;
        } else if (ch == '{' || ch == '[') {
            if (++s->depth == 3) {
                if (ch != '{')
                    return -1;
                xp_buf_reset(&s->el);
                xp_buf_putc(&s->el, ch);
            }
        } else if (ch == '}' || ch == ']') {
            if (--s->depth == 2) {
                if (put_point(s))
                    return -1;
                s->n++;
            } else if (s->depth < 0) {
                return -1;
            }
        }
    }
    return s->f->err ? -1 : 0;
}

static int split_reset(void *payload)
{
    struct splitter *s = payload;
    fflush(s->f->fp);
    if (ftruncate(fileno(s->f->fp), (off_t)s->mark) != 0 ||
        fseeko(s->f->fp, (off_t)s->mark, SEEK_SET) != 0)
        return -1;
    s->f->bytes = s->mark;
    s->depth = s->in_str = s->esc = 0;
    xp_buf_reset(&s->el);
    return 0;
}

static int fetch_points(struct comet_rest *c, struct splitter *s, const char *path,
                        const char *const *q)
{
    fflush(s->f->fp);
    s->mark = s->f->bytes;
    s->depth = s->in_str = s->esc = 0;
    int rc = comet_get_stream(c, path, q, split_data, split_reset, s);
    if (!rc && (s->depth != 0 || s->in_str))
        rc = xp_error_set(XP_EINVALID, "Comet's %s answer ended early", path);
    return rc;
}

int comet_fetch_metrics(struct comet_rest *c, const char *key, const char *dir)
{
    struct xp_afile f;
    int rc = xp_afile_open_in(&f, dir, "metrics.jsonl");
    if (rc)
        return rc;
    struct splitter s = {.f = &f};
    xp_buf_init(&s.el);
    xp_buf_init(&s.line);
    const char *q[] = {"experimentKey", key, NULL};
    /* every metric at once where the server has get-all (comet_ml asks for it
     * from backend 3.20.60 on), else name by name from the summary */
    if (c->get_all != 0) {
        rc = fetch_points(c, &s, "experiment/metrics/get-all", q);
        if (rc == XP_ENOTFOUND) {
            xp_error_clear();
            split_reset(&s);
            c->get_all = 0;
        } else if (!rc) {
            c->get_all = 1;
        }
    }
    if (c->get_all == 0) {
        struct json_object *sum = NULL, *vals = NULL;
        rc = comet_get_json(c, "experiment/metrics/summary", q, &sum);
        if (!rc && (!json_object_object_get_ex(sum, "values", &vals) ||
                    !json_object_is_type(vals, json_type_array)))
            rc = xp_error_set(XP_EINVALID, "Comet's metrics summary has no values");
        size_t n = rc ? 0 : json_object_array_length(vals);
        for (size_t i = 0; i < n && !rc; i++) {
            const char *name = xp_json_str(json_object_array_get_idx(vals, i), "name");
            if (!name)
                continue;
            const char *qn[] = {"experimentKey", key, "metricName", name, NULL};
            rc = fetch_points(c, &s, "experiment/metrics/get-metric", qn);
        }
        json_object_put(sum);
    }
    xp_buf_release(&s.el);
    xp_buf_release(&s.line);
    xp_arena_release(&s.arena);
    if (rc || s.n == 0) { /* cometx writes metrics.jsonl only when there are points */
        xp_afile_abort(&f);
        return rc;
    }
    return xp_afile_commit(&f);
}

/* ---- documents ---------------------------------------------------------------------- */

static int write_json(const char *dir, const char *name, struct json_object *o)
{
    char *p = xp_path_join(dir, name);
    int rc = xp_json_write_file(p, o);
    free(p);
    return rc;
}

static int write_text(const char *dir, const char *name, const char *s)
{
    char *p = xp_path_join(dir, name);
    char *d = xp_strdup(p);
    *strrchr(d, '/') = '\0';
    int rc = xp_mkdir_p(d);
    if (!rc)
        rc = xp_write_file_atomic(p, s, strlen(s));
    free(d);
    free(p);
    return rc;
}

/* The "values" list of a summary answer as JSON lines (others.jsonl) or a
 * JSON list (parameters.json). */
static int put_summary(struct json_object *o, const char *path, const char *dir,
                       const char *name, int lines)
{
    struct json_object *vals = NULL;
    int rc = 0;
    if ((!json_object_object_get_ex(o, "values", &vals) ||
                !json_object_is_type(vals, json_type_array)))
        rc = xp_error_set(XP_EINVALID, "Comet's %s answer has no values", path);
    if (!rc && !lines) {
        rc = write_json(dir, name, vals);
    } else if (!rc) {
        struct xp_buf b = XP_BUF_INIT;
        for (size_t i = 0; i < json_object_array_length(vals); i++) {
            xp_buf_puts(&b, json_object_to_json_string_ext(
                                json_object_array_get_idx(vals, i), JSON_C_TO_STRING_PLAIN));
            xp_buf_putc(&b, '\n');
        }
        char *p = xp_path_join(dir, name);
        rc = xp_write_file_atomic(p, b.ptr, b.len);
        free(p);
        xp_buf_release(&b);
    }
    return rc;
}

/* One string member of a {"member": "..."} answer, written when non-empty. */
static int put_text(struct json_object *o, const char *member, const char *dir,
                    const char *name)
{
    const char *s = xp_json_str(o, member);
    return s && *s ? write_text(dir, name, s) : 0;
}

static int put_system(struct json_object *o, const char *dir)
{
    int rc = 0;
    /* cometx: installedPackages (else osPackages) go to run/requirements.txt
     * and both leave system_details.json */
    struct json_object *pk = xp_json_get(o, "installedPackages");
    if (!pk || !json_object_is_type(pk, json_type_array) || !json_object_array_length(pk))
        pk = xp_json_get(o, "osPackages");
    if (pk && json_object_is_type(pk, json_type_array) && json_object_array_length(pk)) {
        struct xp_buf b = XP_BUF_INIT;
        for (size_t i = 0; i < json_object_array_length(pk); i++) {
            const char *s = json_object_get_string(json_object_array_get_idx(pk, i));
            xp_buf_printf(&b, "%s%s", i ? "\n" : "", s ? s : "");
        }
        rc = write_text(dir, "run/requirements.txt", b.ptr);
        xp_buf_release(&b);
    }
    json_object_object_del(o, "installedPackages");
    json_object_object_del(o, "osPackages");
    /* the experiment's own key, which a copy has anew (metadata.json has it) */
    json_object_object_del(o, "experimentKey");
    int any = 0;
    json_object_object_foreach(o, k, v)
    {
        (void)k;
        any |= v != NULL;
    }
    /* an experiment that logged none has only nulls: nothing to keep */
    if (!rc && any)
        rc = write_json(dir, "system_details.json", o);
    return rc;
}

static int fetch_git(struct comet_rest *c, const char *key, struct json_object *o,
                     const char *dir)
{
    const char *q[] = {"experimentKey", key, NULL};
    int rc = 0;
    int any = 0;
    if (!rc && json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, k, v)
        {
            (void)k;
            any |= v != NULL;
        }
    }
    if (!rc && any) {
        char *d = xp_path_join(dir, "run");
        rc = xp_mkdir_p(d);
        free(d);
        if (!rc)
            rc = write_json(dir, "run/git_metadata.json", o);
    }
    if (rc)
        return rc;
    /* the patch: a zip holding git_diff.patch, raw text from older servers,
     * or {"msg": ...} when there is none (cometx download_git) */
    char *raw = xp_path_join(dir, "git_patch.download");
    rc = comet_get_file(c, "experiment/git/patch", q, raw, -1);
    struct xp_buf b = XP_BUF_INIT;
    if (!rc)
        rc = xp_read_file(&b, raw, (size_t)1 << 30);
    if (!rc && b.len >= 4 && !memcmp(b.ptr, "PK\003\004", 4)) {
        struct xp_zip *z = NULL;
        size_t i;
        rc = xp_zip_open(&z, raw);
        if (!rc && xp_zip_find(z, "git_diff.patch", &i) == 0) {
            xp_buf_reset(&b);
            rc = xp_zip_read(z, i, &b, (size_t)1 << 30);
        } else if (!rc) {
            rc = xp_error_set(XP_EINVALID, "the git patch zip of '%s' holds no "
                                           "git_diff.patch", key);
        }
        xp_zip_close(z);
    } else if (!rc && b.len && b.ptr[0] == '{') {
        xp_buf_reset(&b); /* {"msg": "..."}: no patch */
    }
    if (!rc && b.len) {
        char *d = xp_path_join(dir, "run");
        char *p = xp_path_join(dir, "run/git_diff.patch");
        rc = xp_mkdir_p(d);
        if (!rc)
            rc = xp_write_file_atomic(p, b.ptr, b.len);
        free(d);
        free(p);
    }
    unlink(raw);
    free(raw);
    xp_buf_release(&b);
    return rc;
}

/* ---- assets ------------------------------------------------------------------------- */

static int is_http(const char *link)
{
    return link && (!strncmp(link, "http://", 7) || !strncmp(link, "https://", 8));
}

/* "<base>_<n>.<ext>": cometx's disk name for the n-th asset of a file name. */
static char *dup_name(const char *name, int n)
{
    struct xp_buf b = XP_BUF_INIT;
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash + 1 : name, '.');
    if (dot && dot != (slash ? slash + 1 : name))
        xp_buf_printf(&b, "%.*s_%d%s", (int)(dot - name), name, n, dot);
    else
        xp_buf_printf(&b, "%s_%d", name, n);
    return xp_buf_detach(&b);
}

/* Asset downloads queued and run FETCH_AT_ONCE at a time. */
#define FETCH_AT_ONCE 16
struct dlq {
    char *url[FETCH_AT_ONCE], *path[FETCH_AT_ONCE];
    int64_t size[FETCH_AT_ONCE];
    size_t n;
};

static int dlq_flush(struct comet_rest *c, struct dlq *q)
{
    int rc = q->n ? comet_get_files(c, (const char *const *)q->url,
                                    (const char *const *)q->path, q->size, q->n) : 0;
    for (size_t i = 0; i < q->n; i++) {
        free(q->url[i]);
        free(q->path[i]);
    }
    q->n = 0;
    return rc;
}

static int dlq_add(struct comet_rest *c, struct dlq *q, const char *key, const char *id,
                   const char *path, struct json_object *sz)
{
    char *d = xp_strdup(path);
    *strrchr(d, '/') = '\0';
    int rc = xp_mkdir_p(d);
    free(d);
    if (rc)
        return rc;
    struct xp_buf u = XP_BUF_INIT;
    const char *qa[] = {"experimentKey", key, "assetId", id, NULL};
    comet_url(&u, c, "experiment/asset/get-asset", qa);
    q->url[q->n] = xp_buf_detach(&u);
    q->path[q->n] = xp_strdup(path);
    q->size[q->n] = sz && json_object_is_type(sz, json_type_int) ? json_object_get_int64(sz)
                                                                : -1;
    return ++q->n == FETCH_AT_ONCE ? dlq_flush(c, q) : 0;
}

static int fetch_assets(struct comet_rest *c, const char *key, struct json_object *o,
                        const char *dir)
{
    struct json_object *list = NULL;
    int rc = 0;
    if (!json_object_object_get_ex(o, "assets", &list) ||
        !json_object_is_type(list, json_type_array))
        rc = xp_error_set(XP_EINVALID, "Comet's asset list of '%s' has no assets", key);
    size_t n = rc ? 0 : json_object_array_length(list);
    struct json_object *seen = json_object_new_object(); /* type/fileName -> count */
    struct xp_buf lines = XP_BUF_INIT, rel = XP_BUF_INIT;
    struct dlq q = {.n = 0};
    for (size_t i = 0; i < n && !rc; i++) {
        struct json_object *a = json_object_array_get_idx(list, i);
        const char *fname = xp_json_str(a, "fileName");
        const char *type = xp_json_str(a, "type");
        const char *id = xp_json_str(a, "assetId");
        struct json_object *sz = xp_json_get(a, "fileSize");
        int remote = json_object_get_boolean(xp_json_get(a, "remote"));
        if (!type || !*type)
            type = "asset";
        if (!fname || !id) {
            rc = xp_error_set(XP_EINVALID, "an asset of '%s' has no fileName or assetId",
                              key);
            break;
        }
        xp_buf_reset(&rel);
        xp_buf_printf(&rel, "%s/%s", type, fname);
        struct json_object *cnt = NULL;
        int k = json_object_object_get_ex(seen, rel.ptr, &cnt) ? json_object_get_int(cnt)
                                                              : 0;
        json_object_object_add(seen, rel.ptr, json_object_new_int(k + 1));
        char *disk = NULL;
        if (k) { /* same-named assets kept apart, as cometx does since 6b0f547 */
            disk = dup_name(fname, k);
            json_object_object_add(a, "diskFileName", json_object_new_string(disk));
        }
        char *clean = cometx_sanitize(disk ? disk : fname);
        if (!remote && !disk && !strcmp(type, "asset") &&
            (!strcmp(fname, COMET_XPORT_LOGS) || !strcmp(fname, COMET_XPORT_POINTS))) {
            /* the log lines in the layout's form, which xport uploads when
             * the output text cannot hold them: back where the reader
             * looks for them, not an asset */
            char *p = xp_path_join(dir, fname);
            rc = dlq_add(c, &q, key, id, p, sz);
            free(p);
            free(clean);
            continue;
        }
        if (!xp_segment_safe(type) || !xp_relpath_safe(clean)) {
            rc = xp_error_set(XP_EINVALID, "asset '%s' of type '%s' in '%s' has an unsafe "
                              "name; refusing it", fname, type, key);
        } else if (!remote) {
            xp_buf_reset(&rel);
            xp_buf_printf(&rel, "%s/assets/%s/%s", dir, type, clean);
            rc = dlq_add(c, &q, key, id, rel.ptr, sz);
        } else if (is_http(xp_json_str(a, "link"))) {
            /* cometx fetches http(s) links and skips other schemes */
            xp_buf_reset(&rel);
            xp_buf_printf(&rel, "%s/assets/%s/%s", dir, type, clean);
            char *d = xp_strdup(rel.ptr);
            *strrchr(d, '/') = '\0';
            rc = xp_mkdir_p(d);
            free(d);
            if (!rc)
                rc = comet_get_url(c, xp_json_str(a, "link"), rel.ptr);
            if (rc)
                rc = xp_error_wrap(rc, "remote asset '%s' of '%s'", fname, key);
        }
        free(clean);
        free(disk);
        xp_buf_puts(&lines, json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
        xp_buf_putc(&lines, '\n');
    }
    int frc = dlq_flush(c, &q);
    if (!rc && frc)
        rc = xp_error_wrap(frc, "assets of '%s'", key);
    if (!rc && lines.len) {
        char *d = xp_path_join(dir, "assets");
        rc = xp_mkdir_p(d);
        free(d);
        char *p = xp_path_join(dir, "assets/assets_metadata.jsonl");
        if (!rc)
            rc = xp_write_file_atomic(p, lines.ptr, lines.len);
        free(p);
    }
    json_object_put(seen);
    xp_buf_release(&lines);
    xp_buf_release(&rel);
    return rc;
}

/* ---- the experiment ------------------------------------------------------------------ */

/* The project's record (+ its notes), asked once per project and run. */
static int fetch_project(struct comet_rest *c, struct json_object *md, const char *dir)
{
    const char *ws = xp_json_str(md, "workspaceName"), *proj = xp_json_str(md, "projectName");
    const char *q[] = {"workspaceName", ws, "projectName", proj, NULL};
    struct xp_buf k = XP_BUF_INIT;
    xp_buf_printf(&k, "%s/%s", ws ? ws : "", proj ? proj : "");
    struct json_object *p = NULL, *notes = NULL;
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    if (json_object_object_get_ex(c->projects, k.ptr, &p))
        p = json_object_get(p);
    pthread_mutex_unlock(&c->lock);
    if (!p) {
        rc = comet_get_json(c, "project", q, &p);
        const char *pid = rc ? NULL : xp_json_str(p, "projectId");
        if (pid) {
            const char *qn[] = {"projectId", pid, NULL};
            rc = comet_get_json(c, "project/notes", qn, &notes);
            const char *s = rc ? NULL : xp_json_str(notes, "notes");
            if (s && *s) /* kept with the project's record */
                json_object_object_add(p, "notes", json_object_new_string(s));
        }
        if (!rc) {
            pthread_mutex_lock(&c->lock);
            json_object_object_add(c->projects, k.ptr, json_object_get(p));
            pthread_mutex_unlock(&c->lock);
        }
    }
    char *up = xp_strdup(dir);
    *strrchr(up, '/') = '\0';
    if (!rc)
        rc = write_json(up, "project_metadata.json", p);
    free(up);
    json_object_put(p);
    json_object_put(notes);
    xp_buf_release(&k);
    return rc;
}

/* Merge the side file xport wrote beside the points (COMET_XPORT_POINTS:
 * {"metricName", "i", "x": {members}} lines) back into metrics.jsonl, each
 * point getting its members again, and remove it. */
static int merge_points(const char *dir)
{
    char *sp = xp_path_join(dir, COMET_XPORT_POINTS);
    char *mp = xp_path_join(dir, "metrics.jsonl");
    if (!xp_is_real_file(sp)) {
        free(sp);
        free(mp);
        return 0;
    }
    struct xp_buf b = XP_BUF_INIT, line = XP_BUF_INIT;
    struct json_object *by = json_object_new_object(); /* name -> {"i": "members"} */
    int rc = xp_read_file(&b, sp, (size_t)1 << 31);
    for (char *l = b.ptr; !rc && l < b.ptr + b.len;) {
        char *nl = memchr(l, '\n', (size_t)(b.ptr + b.len - l));
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        struct json_object *o = NULL, *x = NULL, *m = NULL;
        if (len && !(rc = xp_json_parse_answer(&o, l, len, COMET_XPORT_POINTS, NULL))) {
            const char *name = xp_json_str(o, "metricName");
            struct json_object *i = xp_json_get(o, "i");
            if (!name || !i || !json_object_object_get_ex(o, "x", &x) ||
                !json_object_is_type(x, json_type_object)) {
                rc = xp_error_set(XP_EINVALID, "a line of '%s' is not a point's members", sp);
            } else {
                if (!json_object_object_get_ex(by, name, &m)) {
                    m = json_object_new_object();
                    json_object_object_add(by, name, m);
                }
                char ix[24];
                snprintf(ix, sizeof(ix), "%lld", (long long)json_object_get_int64(i));
                json_object_object_add(m, ix, json_object_get(x));
            }
        }
        json_object_put(o);
        l += len + (nl != NULL);
    }
    FILE *in = !rc ? fopen(mp, "r") : NULL;
    struct xp_afile out;
    int open = 0;
    if (in && !(rc = xp_afile_open(&out, mp)))
        open = 1;
    struct json_object *seen = json_object_new_object(); /* name -> points so far */
    struct xp_arena arena = {0};
    struct xp_field f[COMET_MAX_FIELDS];
    char *ln = NULL, *copy = NULL;
    size_t cap = 0;
    ssize_t n;
    while (open && !rc && (n = getline(&ln, &cap, in)) > 0) {
        copy = xp_realloc(copy, (size_t)n + 1);
        memcpy(copy, ln, (size_t)n + 1);
        size_t nf = 0;
        const char *name = NULL;
        xp_arena_reset(&arena);
        rc = comet_scan_object(copy, (size_t)n, &arena, f, COMET_MAX_FIELDS, &nf);
        for (size_t i = 0; !rc && i < nf; i++)
            if (!strcmp(f[i].key, "metricName") && f[i].v.type == XP_V_STRING)
                name = f[i].v.u.s.ptr;
        struct json_object *c = NULL, *m = NULL, *x = NULL;
        int64_t k = name && json_object_object_get_ex(seen, name, &c) ? json_object_get_int64(c)
                                                                      : 0;
        if (name)
            json_object_object_add(seen, name, json_object_new_int64(k + 1));
        char ix[24];
        snprintf(ix, sizeof(ix), "%lld", (long long)k);
        size_t end = (size_t)n;
        while (end && (ln[end - 1] == '\n' || ln[end - 1] == ' '))
            end--;
        xp_buf_reset(&line);
        if (name && json_object_object_get_ex(by, name, &m) &&
            json_object_object_get_ex(m, ix, &x) && end && ln[end - 1] == '}') {
            xp_buf_put(&line, ln, end - 1);
            json_object_object_foreach(x, key, v)
            {
                xp_buf_putc(&line, ',');
                xp_json_put_str(&line, key, strlen(key), "member");
                xp_buf_putc(&line, ':');
                xp_buf_puts(&line, v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)
                                     : "null");
            }
            xp_buf_puts(&line, "}\n");
        } else {
            xp_buf_put(&line, ln, end);
            xp_buf_putc(&line, '\n');
        }
        xp_afile_buf(&out, &line);
    }
    if (in)
        fclose(in);
    if (open)
        rc = rc ? (xp_afile_abort(&out), rc) : xp_afile_commit(&out);
    if (!rc && unlink(sp) != 0)
        rc = xp_error_set_os(XP_EIO, "cannot remove '%s'", sp);
    free(ln);
    free(copy);
    xp_arena_release(&arena);
    json_object_put(seen);
    json_object_put(by);
    xp_buf_release(&b);
    xp_buf_release(&line);
    free(sp);
    free(mp);
    return rc;
}

/* Put back the typed values xport logged in the other xport_types
 * (comet_upload.c) into the parameter and other summaries, and drop it. */
static int apply_types(struct json_object *params, struct json_object *others)
{
    struct json_object *ov = NULL, *pv = NULL, *t = NULL;
    if (!json_object_object_get_ex(others, "values", &ov) ||
        !json_object_is_type(ov, json_type_array))
        return 0;
    json_object_object_get_ex(params, "values", &pv);
    int rc = 0;
    for (size_t i = 0; i < json_object_array_length(ov); i++) {
        struct json_object *o = json_object_array_get_idx(ov, i);
        const char *n = xp_json_str(o, "name");
        const char *text = xp_json_str(o, "valueCurrent");
        if (!n || strcmp(n, COMET_X_PREFIX "types"))
            continue;
        if (text && (rc = xp_json_parse_answer(&t, text, strlen(text),
                                               "the other xport_types", NULL)))
            return rc;
        json_object_array_del_idx(ov, i, 1);
        break;
    }
    static const char *const kinds[] = {"parameters", "others"};
    for (int k = 0; t && k < 2; k++) {
        struct json_object *m = NULL, *list = k ? ov : pv;
        if (!json_object_object_get_ex(t, kinds[k], &m) || !list ||
            !json_object_is_type(list, json_type_array))
            continue;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            struct json_object *o = json_object_array_get_idx(list, i), *v = NULL;
            const char *n = xp_json_str(o, "name");
            if (n && json_object_object_get_ex(m, n, &v))
                json_object_object_add(o, "valueCurrent", json_object_get(v));
        }
    }
    json_object_put(t);
    return 0;
}

/* The documents of an experiment, fetched at once. */
enum { D_META, D_TAGS, D_PARAMS, D_OTHERS, D_SYSTEM, D_OUTPUT, D_HTML, D_CODE, D_GRAPH,
       D_GIT, D_ASSETS, D_N };
static const char *const doc_paths[D_N] = {
    "experiment/metadata", "experiment/tags", "experiment/parameters",
    "experiment/log-other", "experiment/system-details", "experiment/output",
    "experiment/html", "experiment/code", "experiment/graph", "experiment/git/metadata",
    "experiment/asset/list"};

int comet_fetch(struct comet_rest *c, const char *key, const char *dir,
                const struct xp_read_opts *ro)
{
    unsigned res = ro && ro->resources ? ro->resources : XP_RES_ALL;
    struct json_object *d[D_N] = {NULL}, *tl = NULL;
    int rc = xp_mkdir_p(dir);
    if (!rc)
        rc = comet_get_many(c, doc_paths, D_N, key, d);
    if (!rc)
        rc = apply_types(d[D_PARAMS], d[D_OTHERS]);
    if (!rc) {
        json_object_object_get_ex(d[D_TAGS], "tags", &tl);
        json_object_object_add(d[D_META], "tags", tl ? json_object_get(tl)
                                                     : json_object_new_array());
        rc = write_json(dir, "metadata.json", d[D_META]);
    }
    if (!rc)
        rc = fetch_project(c, d[D_META], dir);
    if (!rc)
        rc = put_summary(d[D_PARAMS], doc_paths[D_PARAMS], dir, "parameters.json", 0);
    if (!rc)
        rc = put_summary(d[D_OTHERS], doc_paths[D_OTHERS], dir, "others.jsonl", 1);
    if (!rc && (res & (XP_RES_METRICS | XP_RES_SYSTEM)))
        rc = comet_fetch_metrics(c, key, dir);
    if (!rc && (res & XP_RES_LOGS))
        rc = put_text(d[D_OUTPUT], "output", dir, "run/output.txt");
    if (!rc && (res & XP_RES_FILES)) {
        rc = put_system(d[D_SYSTEM], dir);
        if (!rc)
            rc = put_text(d[D_HTML], "html", dir, "assets/html/experiment.html");
        if (!rc)
            rc = put_text(d[D_CODE], "code", dir, "run/script.py");
        if (!rc)
            rc = put_text(d[D_GRAPH], "graph", dir, "run/graph_definition.txt");
        if (!rc)
            rc = fetch_git(c, key, d[D_GIT], dir);
        if (!rc)
            rc = fetch_assets(c, key, d[D_ASSETS], dir);
    }
    if (!rc)
        rc = merge_points(dir);
    for (int i = 0; i < D_N; i++)
        json_object_put(d[i]);
    if (rc)
        rc = xp_error_wrap(rc, "fetching Comet experiment '%s'", key);
    return rc;
}
