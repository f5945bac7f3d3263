/* Reading one comet_ml offline archive into records: messages.json lines
 * ({"type": T, "payload": {...}}, written by comet_ml's offline streamer;
 * adapters/comet/README.md has the mapping and the sources) become the
 * experiment's parameters, others, metrics, output and files. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "comet_int.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/jscan.h"
#include "xport/json.h"
#include "xport/zip.h"

#define BATCH 512

enum state { S_EXP, S_PARAMS, S_SUMMARY, S_OTHERS, S_SERIES, S_LOGS, S_FILES, S_END, S_DONE };



struct co_reader {
    struct xp_reader base;
    const struct xp_ctx *ctx;
    char *tmp, *zip;
    unsigned res;
    const char *only;
    enum state state;
    struct xp_record rec;
    struct comet_names nm;
    struct comet_extras x;
    char *side; /* COMET_XPORT_LOGS in the unpacked archive, or NULL */
    struct json_object *exp, *vendor, *pflat, *params, *others, *logs, *files;
    const char **tags;
    size_t ntags;
    char started[XP_ISO8601_BUFSZ], ended[XP_ISO8601_BUFSZ];
    /* what becomes generated files */
    struct xp_buf html, graph, code;
    struct json_object *packages, *system, *git;
    /* series: each metric's lines spooled in one pass over messages.json,
     * read from the unpacked archive line by line */
    struct comet_lines lines;
    char *name; /* the "Name" other its messages logged, or NULL */
    struct xp_arena arena;
    struct xp_point pts[BATCH];
    struct xp_field fields[BATCH * COMET_MAX_FIELDS];
    /* logs and files */
    size_t li, fi;
    struct xp_log_entry le[BATCH];
    struct xp_fd_stream stream;
};


/* ---- scanning a metric line ------------------------------------------------- */


static struct xp_field *member(struct xp_field *f, size_t n, const char *k)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(f[i].key, k))
            return &f[i];
    return NULL;
}

/* A metric message (metric_msg, or a ws_msg carrying "metric") as the
 * members of a cometx metric line, in out[0..*n); 0 when the line is a
 * metric, 1 when it is another message, <0 on error. */
static int scan_metric(char *line, size_t len, struct xp_arena *arena, int64_t lineno,
                       struct xp_field *out, size_t *n)
{
    struct xp_field top[8], pay[32], met[12];
    size_t nt, np, nm;
    int rc = comet_scan_object(line, len, arena, top, 8, &nt);
    if (rc)
        return rc;
    struct xp_field *t = member(top, nt, "type"), *p = member(top, nt, "payload");
    if (!t || t->v.type != XP_V_STRING)
        return xp_error_set(XP_EINVALID, "a message without a \"type\"");
    int ws = !strcmp(t->v.u.s.ptr, "ws_msg");
    if ((!ws && strcmp(t->v.u.s.ptr, "metric_msg")) || !p || p->v.type != XP_V_JSON)
        return 1;
    if ((rc = comet_scan_object((char *)p->v.u.s.ptr, p->v.u.s.len, arena, pay, 32, &np)))
        return rc;
    struct xp_field *m = member(pay, np, "metric");
    if (!m || m->v.type != XP_V_JSON)
        return ws ? 1 : xp_error_set(XP_EINVALID, "a metric message without a metric");
    if ((rc = comet_scan_object((char *)m->v.u.s.ptr, m->v.u.s.len, arena, met, 12, &nm)))
        return rc;
    if (nm + 2 > COMET_MAX_FIELDS)
        return xp_error_set(XP_EINVALID, "a metric with too many members");
    memcpy(out, met, nm * sizeof(*met));
    *n = nm;
    struct xp_field *ts = member(pay, np, "local_timestamp");
    struct xp_field *ctx = member(pay, np, "context");
    if (ts)
        out[(*n)++] = (struct xp_field){"timestamp", ts->v};
    if (ctx && ctx->v.type != XP_V_NULL)
        out[(*n)++] = (struct xp_field){"runContext", ctx->v};
    /* xport's members (comet_offline_write.c): a point's own fields replace
     * the offset the OfflineSender gives each message, its line number */
    int own = 0;
    for (size_t i = 0; i < np; i++) {
        const char *k = pay[i].key;
        if (strncmp(k, COMET_X_PREFIX, strlen(COMET_X_PREFIX)))
            continue;
        if (strcmp(k, COMET_X_PREFIX "fields")) {
            if (*n == COMET_MAX_FIELDS)
                return xp_error_set(XP_EINVALID, "a metric with too many members");
            out[(*n)++] = pay[i];
            continue;
        }
        own = 1;
        size_t nf;
        if (pay[i].v.type != XP_V_JSON ||
            (rc = comet_scan_object((char *)pay[i].v.u.s.ptr, pay[i].v.u.s.len, arena,
                                    out + *n, COMET_MAX_FIELDS - *n, &nf)))
            return rc ? rc : xp_error_set(XP_EINVALID, "xport_fields is not an object");
        *n += nf;
    }
    if (!own) {
        if (*n == COMET_MAX_FIELDS)
            return xp_error_set(XP_EINVALID, "a metric with too many members");
        out[(*n)++] = (struct xp_field){"offset", {.type = XP_V_INT, .u.i = lineno}};
    }
    return 0;
}

/* ---- the other messages ------------------------------------------------------- */

static void vendor_add(struct co_reader *r, const char *type, struct json_object *p)
{
    struct json_object *off, *list;
    if (!json_object_object_get_ex(r->vendor, "messages", &off)) {
        off = json_object_new_object();
        json_object_object_add(r->vendor, "messages", off);
    }
    if (!json_object_object_get_ex(off, type, &list)) {
        list = json_object_new_array();
        json_object_object_add(off, type, list);
    }
    json_object_array_add(list, json_object_get(p));
}

static void add_log(struct co_reader *r, struct json_object *text, struct json_object *err,
                    struct json_object *ts, struct json_object *xlog)
{
    if (!text || !json_object_is_type(text, json_type_string))
        return;
    struct json_object *e = json_object_new_object();
    json_object_object_add(e, "m", json_object_get(text));
    if (xlog) {
        /* the entry as xport had it (COMET_XPORT_LOGS) */
        json_object_object_add(e, "x", json_object_get(xlog));
        json_object_array_add(r->logs, e);
        return;
    }
    json_object_object_add(e, "s", json_object_new_string(
        err && json_object_get_boolean(err) ? "stderr" : "stdout"));
    if (ts && json_object_is_type(ts, json_type_int)) {
        char iso[XP_ISO8601_BUFSZ];
        xp_iso8601_format_ms(iso, json_object_get_int64(ts));
        json_object_object_add(e, "t", json_object_new_string(iso));
    }
    json_object_array_add(r->logs, e);
}

static int add_upload(struct co_reader *r, struct json_object *p)
{
    const char *fp = xp_json_str(p, "file_path");
    const char *type = xp_json_str(p, "upload_type");
    struct json_object *ap = xp_json_get(p, "additional_params");
    const char *fname = xp_json_str(ap, "fileName");
    if (!type || !*type)
        type = "asset";
    if (!fname)
        fname = xp_json_str(ap, "figName"); /* visualizations */
    if (!fname)
        fname = fp;
    if (!fp || !xp_segment_safe(fp) || !fname || !xp_relpath_safe(fname) ||
        !xp_segment_safe(type))
        return xp_error_set(XP_EINVALID, "upload '%s' (%s) has an unsafe name; "
                            "refusing it", fname ? fname : "", fp ? fp : "no file_path");
    char *disk = xp_path_join(r->tmp, fp);
    struct stat st;
    if (lstat(disk, &st) != 0 || !S_ISREG(st.st_mode)) {
        free(disk);
        return xp_error_set(XP_ENOTFOUND, "uploaded file '%s' is not in the archive", fp);
    }
    if (!strcmp(type, "asset") && !strcmp(fname, COMET_XPORT_LOGS)) {
        free(r->side);
        r->side = disk; /* the log lines as xport wrote them */
        return 0;
    }
    struct xp_buf path = XP_BUF_INIT;
    if (strcmp(type, "asset"))
        xp_buf_printf(&path, "%s/", type);
    xp_buf_puts(&path, fname);
    /* the same name uploaded twice: both kept, the later one marked with its
     * asset id (as the cometx reader does), else a number */
    const char *aid = xp_json_str(ap, "assetId");
    for (int k = 1;; k++) {
        int taken = 0;
        for (size_t i = 0; i < json_object_array_length(r->files) && !taken; i++)
            taken = !strcmp(xp_json_str(json_object_array_get_idx(r->files, i), "path"),
                            path.ptr);
        if (!taken)
            break;
        if (k == 1 && aid && *aid)
            xp_buf_printf(&path, "~%s", aid);
        else
            xp_buf_printf(&path, "~%d", k);
    }
    /* the asset as Comet lists it (experiment/asset/list), for writers */
    struct json_object *rec = json_object_new_object();
    json_object_object_add(rec, "fileName", json_object_new_string(fname));
    json_object_object_add(rec, "fileSize", json_object_new_int64(st.st_size));
    json_object_object_add(rec, "runContext", json_object_get(xp_json_get(ap, "context")));
    json_object_object_add(rec, "step", json_object_get(xp_json_get(ap, "step")));
    json_object_object_add(rec, "type", json_object_new_string(type));
    struct json_object *md = xp_json_get(p, "metadata");
    struct xp_buf mt = XP_BUF_INIT;
    if (md && json_object_is_type(md, json_type_object) && !xp_json_put_obj(&mt, md, 0))
        json_object_object_add(rec, "metadata", json_object_new_string(mt.ptr));
    else
        json_object_object_add(rec, "metadata", NULL);
    xp_buf_release(&mt);
    json_object_object_add(rec, "offline", json_object_get(p));
    struct json_object *f = json_object_new_object();
    json_object_object_add(f, "path", json_object_new_string(path.ptr));
    json_object_object_add(f, "disk", json_object_new_string(disk));
    struct json_object *meta = json_object_new_object();
    json_object_object_add(meta, "comet", rec);
    json_object_object_add(f, "meta", meta);
    json_object_array_add(r->files, f);
    xp_buf_release(&path);
    free(disk);
    return 0;
}

static void put_param(struct co_reader *r, struct json_object *pm)
{
    const char *name = xp_json_str(pm, "paramName");
    if (name)
        json_object_object_add(r->pflat, name, json_object_get(xp_json_get(pm, "paramValue")));
}

static void put_other(struct co_reader *r, const char *key, struct json_object *v)
{
    if (key)
        json_object_object_add(r->others, key, json_object_get(v));
}

static void set_json(struct json_object **slot, struct json_object *v)
{
    json_object_put(*slot);
    *slot = json_object_get(v);
}

static int handle(struct co_reader *r, struct json_object *o)
{
    const char *t = xp_json_str(o, "type");
    struct json_object *p = xp_json_get(o, "payload"), *v;
    if (!t || !p || !json_object_is_type(p, json_type_object))
        return xp_error_set(XP_EINVALID, "not a {\"type\", \"payload\"} message");
    if (!strcmp(t, "parameter_msg")) {
        put_param(r, xp_json_get(p, "param") ? xp_json_get(p, "param") : xp_json_get(p, "params"));
    } else if (!strcmp(t, "log_other")) {
        put_other(r, xp_json_str(p, "key"), xp_json_get(p, "value"));
    } else if (!strcmp(t, "standard_output")) {
        add_log(r, xp_json_get(p, "output"), xp_json_get(p, "stderr"),
                xp_json_get(p, "local_timestamp"), NULL);
    } else if (!strcmp(t, "file_upload")) {
        return add_upload(r, p);
    } else if (!strcmp(t, "html")) {
        xp_buf_puts(&r->html, xp_json_str(p, "html") ? xp_json_str(p, "html") : "");
    } else if (!strcmp(t, "htmlOverride")) {
        xp_buf_reset(&r->html);
        xp_buf_puts(&r->html, xp_json_str(p, "htmlOverride") ? xp_json_str(p, "htmlOverride") : "");
    } else if (!strcmp(t, "graph")) {
        xp_buf_reset(&r->graph);
        xp_buf_puts(&r->graph, xp_json_str(p, "graph") ? xp_json_str(p, "graph") : "");
    } else if (!strcmp(t, "installed_packages")) {
        set_json(&r->packages, xp_json_get(p, "installed_packages"));
    } else if (!strcmp(t, "system_details")) {
        set_json(&r->system, p);
    } else if (!strcmp(t, "git_metadata")) {
        set_json(&r->git, xp_json_get(p, "git_metadata"));
    } else if (!strcmp(t, "ws_msg")) {
        /* the legacy form (comet_ml messages.py WebSocketMessage; what
         * comet-for-mlflow writes): one member says what it is */
        if ((v = xp_json_get(p, "param")) || (v = xp_json_get(p, "params")))
            put_param(r, v);
        else if ((v = xp_json_get(p, "log_other")))
            put_other(r, xp_json_str(v, "key"), xp_json_get(v, "val"));
        else if ((v = xp_json_get(p, "stdout")))
            add_log(r, v, xp_json_get(p, "stderr"), xp_json_get(p, "local_timestamp"), NULL);
        else if ((v = xp_json_get(p, "html")))
            xp_buf_puts(&r->html, json_object_get_string(v));
        else if ((v = xp_json_get(p, "htmlOverride"))) {
            xp_buf_reset(&r->html);
            xp_buf_puts(&r->html, json_object_get_string(v));
        } else if ((v = xp_json_get(p, "graph"))) {
            xp_buf_reset(&r->graph);
            xp_buf_puts(&r->graph, json_object_get_string(v));
        } else if ((v = xp_json_get(p, "code"))) {
            xp_buf_reset(&r->code);
            xp_buf_puts(&r->code, json_object_get_string(v));
        } else if ((v = xp_json_get(p, "installed_packages")))
            set_json(&r->packages, v);
        else if ((v = xp_json_get(p, "env_details")))
            set_json(&r->system, v);
        else if ((v = xp_json_get(p, "git_meta")))
            set_json(&r->git, v);
        else
            vendor_add(r, t, p);
    } else {
        vendor_add(r, t, p); /* kept as they are with the experiment */
    }
    return 0;
}

/* ---- loading ------------------------------------------------------------------ */

static int wanted(struct co_reader *r, const char *name, enum xp_series_kind k)
{
    if (r->only && strcmp(r->only, name))
        return 0;
    return k == XP_SERIES_SYSTEM ? (r->res & XP_RES_SYSTEM) != 0
                                 : (r->res & XP_RES_METRICS) != 0;
}

static int load_messages(struct co_reader *r)
{
    char *p = xp_path_join(r->tmp, "messages.json");
    FILE *in = fopen(p, "rb");
    int rc = in ? 0 : xp_error_set_os(XP_EIO, "cannot open messages.json of '%s'", r->zip);
    struct xp_buf scratch = XP_BUF_INIT;
    struct xp_field f[COMET_MAX_FIELDS];
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    while (!rc && (got = getline(&line, &cap, in)) > 0) {
        size_t len = (size_t)got;
        if (line[len - 1] == '\n')
            len--;
        lineno++;
        if (strspn(line, " \t\r") >= len)
            continue;
        xp_buf_reset(&scratch);
        xp_buf_put(&scratch, line, len);
        size_t nf;
        rc = scan_metric(scratch.ptr, len, &r->arena, (int64_t)lineno, f, &nf);
        if (rc == 0) {
            struct xp_point pt;
            const char *name;
            enum xp_series_kind kind;
            rc = comet_point_from_fields(&pt, f, &nf, &name, &kind, 0);
            if (!rc && wanted(r, name, kind))
                rc = comet_lines_add(&r->lines, name, kind, lineno, line, len);
        } else if (rc == 1) {
            comet_offline_name_line(line, len, &r->name);
            struct json_object *o = NULL;
            rc = xp_json_parse(&o, line, len, "messages.json");
            if (!rc)
                rc = handle(r, o);
            json_object_put(o);
        }
        if (rc)
            rc = xp_error_wrap(rc, "line %zu of messages.json in '%s'", lineno, r->zip);
        xp_arena_reset(&r->arena);
    }
    if (!rc && ferror(in))
        rc = xp_error_set_os(XP_EIO, "cannot read messages.json of '%s'", r->zip);
    if (in)
        fclose(in);
    free(line);
    free(p);
    xp_buf_release(&scratch);
    return rc;
}

/* Files for what the archive holds as messages, where a cometx folder has
 * them (run/..., system_details.json, assets/html/experiment.html). */
static int gen_file(struct co_reader *r, const char *rel, const char *data, size_t len)
{
    struct xp_buf p = XP_BUF_INIT;
    xp_buf_printf(&p, "%s/.xport-generated/%s", r->tmp, rel);
    char *dir = xp_strndup(p.ptr, (size_t)(strrchr(p.ptr, '/') - p.ptr));
    int rc = xp_mkdir_p(dir);
    free(dir);
    if (!rc)
        rc = xp_write_file_atomic(p.ptr, data, len);
    if (!rc) {
        struct json_object *f = json_object_new_object();
        json_object_object_add(f, "path", json_object_new_string(rel));
        json_object_object_add(f, "disk", json_object_new_string(p.ptr));
        json_object_array_add(r->files, f);
    }
    xp_buf_release(&p);
    return rc;
}

static int gen_json(struct co_reader *r, const char *rel, struct json_object *o)
{
    struct xp_buf b = XP_BUF_INIT;
    int rc = xp_json_put_obj(&b, o, 0);
    if (!rc)
        rc = gen_file(r, rel, b.ptr, b.len);
    xp_buf_release(&b);
    return rc;
}

/* The side file replaces the standard_output messages' lines. */
static int load_side(struct co_reader *r)
{
    struct xp_buf b = XP_BUF_INIT;
    int rc = xp_read_file(&b, r->side, (size_t)1 << 30);
    json_object_put(r->logs);
    r->logs = json_object_new_array();
    for (char *line = b.ptr; !rc && line < b.ptr + b.len;) {
        char *nl = memchr(line, '\n', (size_t)(b.ptr + b.len - line));
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        struct json_object *o = NULL;
        if (len && !(rc = xp_json_parse(&o, line, len, COMET_XPORT_LOGS)))
            add_log(r, xp_json_get(o, "message"), NULL, NULL, o);
        json_object_put(o);
        line += len + (nl != NULL);
    }
    xp_buf_release(&b);
    return rc;
}

static int generate(struct co_reader *r)
{
    int rc = r->side ? load_side(r) : 0;
    if (!rc && r->html.len)
        rc = gen_file(r, "assets/html/experiment.html", r->html.ptr, r->html.len);
    if (!rc && r->graph.len)
        rc = gen_file(r, "run/graph_definition.txt", r->graph.ptr, r->graph.len);
    if (!rc && r->code.len)
        rc = gen_file(r, "run/script.py", r->code.ptr, r->code.len);
    if (!rc && r->packages && json_object_is_type(r->packages, json_type_array)) {
        struct xp_buf b = XP_BUF_INIT;
        for (size_t i = 0; i < json_object_array_length(r->packages); i++)
            xp_buf_printf(&b, "%s%s", i ? "\n" : "",
                          json_object_get_string(json_object_array_get_idx(r->packages, i)));
        rc = gen_file(r, "run/requirements.txt", b.ptr, b.len);
        xp_buf_release(&b);
    }
    if (!rc && r->git)
        rc = gen_json(r, "run/git_metadata.json", r->git);
    if (!rc && r->system) {
        /* the REST names cometx reads (cometx/cli/copy.py log_system_details) */
        static const char *const map[][2] = {
            {"command", "command"}, {"env", "env"}, {"hostname", "hostname"}, {"ip", "ip"},
            {"machine", "machine"}, {"os_release", "osRelease"}, {"os_type", "osType"},
            {"os", "os"}, {"pid", "pid"}, {"processor", "processor"},
            {"python_exe", "executable"}, {"python_version_verbose", "pythonVersionVerbose"},
            {"python_version", "pythonVersion"}, {"user", "user"}};
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "experimentKey", json_object_new_string(r->nm.key));
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
            json_object_object_add(o, map[i][1], json_object_get(xp_json_get(r->system, map[i][0])));
        rc = gen_json(r, "system_details.json", o);
        json_object_put(o);
    }
    return rc;
}

/* ---- next() --------------------------------------------------------------------- */

/* A spooled metric message's fields (comet_lines_next). */
static int scan_spooled(void *payload, char *line, size_t len, size_t lineno,
                        struct xp_arena *arena, struct xp_field *f, size_t *n)
{
    (void)payload;
    int rc = scan_metric(line, len, arena, (int64_t)lineno, f, n);
    return rc == 1 ? xp_error_set(XP_EIO, "a spooled line is not a metric") : rc;
}

static int next_logs(struct co_reader *r)
{
    size_t total = json_object_array_length(r->logs), n = 0;
    while (n < BATCH && r->li < total) {
        struct json_object *e = json_object_array_get_idx(r->logs, r->li);
        struct json_object *m = xp_json_get(e, "m");
        struct xp_log_entry *le = &r->le[n++];
        memset(le, 0, sizeof(*le));
        struct json_object *x = xp_json_get(e, "x"), *md;
        le->seq = (int64_t)r->li++;
        le->message = json_object_get_string(m);
        le->message_len = (size_t)json_object_get_string_len(m);
        le->stream = xp_json_str(e, "s");
        le->timestamp = xp_json_str(e, "t");
        if (x) {
            le->seq = json_object_get_int64(xp_json_get(x, "sequenceNumber"));
            le->stream = xp_json_str(x, "stream");
            le->timestamp = xp_json_str(x, "timestamp");
            le->level = xp_json_str(x, "level");
            md = xp_json_get(x, "metadata");
            le->metadata = md && json_object_is_type(md, json_type_object) ? md : NULL;
        }
    }
    if (!n)
        return XP_ITEROVER;
    r->rec.kind = XP_REC_LOGS;
    r->rec.u.logs.v = r->le;
    r->rec.u.logs.n = n;
    return 0;
}


static int emit_file(struct co_reader *r, struct json_object *f)
{
    const char *disk = xp_json_str(f, "disk");
    r->stream.fd = open(disk, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (r->stream.fd < 0 || fstat(r->stream.fd, &st) != 0)
        return xp_error_set_os(XP_EIO, "cannot open '%s'", disk);
    struct xp_file_meta *m = &r->rec.u.file.meta;
    memset(m, 0, sizeof(*m));
    m->path = xp_json_str(f, "path");
    m->size = (int64_t)st.st_size;
    m->metadata = xp_json_get(f, "meta");
    r->rec.kind = XP_REC_FILE;
    r->rec.u.file.body = &r->stream.base;
    return 0;
}

static int co_next(struct xp_reader *base, const struct xp_record **out)
{
    struct co_reader *r = (struct co_reader *)base;
    xp_fd_stream_close(&r->stream);
    if (r->state < S_END && xp_ctx_cancelled(r->ctx))
        return xp_error_set(XP_ECANCEL, "interrupted");
    memset(&r->rec, 0, sizeof(r->rec));
    *out = &r->rec;
    for (;;) {
        switch (r->state) {
        case S_EXP: {
            struct xp_experiment_meta *m = &r->rec.u.exp;
            r->rec.kind = XP_REC_EXPERIMENT;
            m->workspace = r->nm.ws;
            m->project = r->nm.proj;
            m->name = r->nm.name;
            m->tags = r->tags;
            m->ntags = r->ntags;
            m->created_at = m->started_at = r->started[0] ? r->started : NULL;
            m->ended_at = r->ended[0] ? r->ended : NULL;
            m->status = r->x.status;
            m->description = r->x.description;
            m->folder = r->x.folder;
            m->metadata = r->x.metadata;
            m->source_vendor = r->x.src_vendor ? r->x.src_vendor : "comet";
            m->source_id = r->x.src_vendor ? r->x.src_id : r->nm.key;
            m->vendor = r->vendor;
            r->state = S_PARAMS;
            return 0;
        }
        case S_PARAMS:
            r->state = S_SUMMARY;
            if (json_object_object_length(r->params) && !r->only &&
                (r->res & XP_RES_PARAMETERS)) {
                r->rec.kind = XP_REC_DOCUMENT;
                r->rec.u.doc.kind = XP_DOC_PARAMETERS;
                r->rec.u.doc.doc = r->params;
                return 0;
            }
            continue;
        case S_SUMMARY:
            r->state = S_OTHERS;
            if (r->x.summary && !r->only && (r->res & XP_RES_OTHERS)) {
                r->rec.kind = XP_REC_DOCUMENT;
                r->rec.u.doc.kind = XP_DOC_SUMMARY;
                r->rec.u.doc.doc = r->x.summary;
                return 0;
            }
            continue;
        case S_OTHERS:
            r->state = S_SERIES;
            if (json_object_object_length(r->others) && !r->only && (r->res & XP_RES_OTHERS)) {
                r->rec.kind = XP_REC_DOCUMENT;
                r->rec.u.doc.kind = XP_DOC_OTHERS;
                r->rec.u.doc.doc = r->others;
                return 0;
            }
            continue;
        case S_SERIES: {
            int rc = comet_lines_next(&r->lines, &r->rec, scan_spooled, NULL, &r->arena,
                                      r->pts, r->fields, BATCH, r->zip);
            if (rc == XP_ITEROVER) {
                r->state = S_LOGS;
                continue;
            }
            return rc;
        }
        case S_LOGS: {
            int rc = r->only || !(r->res & XP_RES_LOGS) ? XP_ITEROVER : next_logs(r);
            if (rc == XP_ITEROVER) {
                r->state = S_FILES;
                continue;
            }
            return rc;
        }
        case S_FILES:
            if (r->only || !(r->res & XP_RES_FILES) ||
                r->fi == json_object_array_length(r->files)) {
                r->state = S_END;
                continue;
            }
            return emit_file(r, json_object_array_get_idx(r->files, r->fi++));
        case S_END:
            r->rec.kind = XP_REC_END;
            r->state = S_DONE;
            return 0;
        case S_DONE:
            *out = NULL;
            return XP_ITEROVER;
        }
    }
}

static void co_reader_free(struct xp_reader *base)
{
    struct co_reader *r = (struct co_reader *)base;
    if (!r)
        return;
    xp_fd_stream_close(&r->stream);
    if (r->tmp)
        xp_rm_rf(r->tmp);
    free(r->tmp);
    free(r->zip);
    free(r->side);
    comet_names_release(&r->nm);
    comet_extras_release(&r->x);
    json_object_put(r->exp);
    json_object_put(r->vendor);
    json_object_put(r->pflat);
    json_object_put(r->params);
    json_object_put(r->others);
    json_object_put(r->logs);
    json_object_put(r->files);
    json_object_put(r->packages);
    json_object_put(r->system);
    json_object_put(r->git);
    free(r->tags);
    xp_buf_release(&r->html);
    xp_buf_release(&r->graph);
    xp_buf_release(&r->code);
    comet_lines_release(&r->lines);
    free(r->name);
    xp_arena_release(&r->arena);
    free(r);
}

static int unpack(struct co_reader *r)
{
    struct xp_zip *z = NULL;
    int rc = xp_zip_open(&z, r->zip);
    if (!rc)
        rc = xp_zip_check(z, NULL);
    if (!rc)
        rc = xp_tempdir(&r->tmp, "xport-comet-offline");
    if (!rc)
        rc = xp_zip_extract(z, r->tmp, NULL);
    xp_zip_close(z);
    if (rc)
        return xp_error_wrap(rc, "reading '%s'", r->zip);
    char *p = xp_path_join(r->tmp, "experiment.json");
    rc = xp_json_read_file(&r->exp, p);
    free(p);
    if (!rc && !json_object_is_type(r->exp, json_type_object))
        rc = xp_error_set(XP_EINVALID, "experiment.json in '%s' is not an object", r->zip);
    if (!rc) {
        p = xp_path_join(r->tmp, "messages.json");
        if (!xp_is_real_file(p))
            rc = xp_error_set(XP_EINVALID, "no messages.json");
        free(p);
    }
    return rc ? xp_error_wrap(rc, "'%s' is not a Comet offline archive", r->zip) : 0;
}

int comet_offline_read(struct xp_reader **out, struct xp_adapter *a,
                       const struct xp_experiment_ref *ref, const struct xp_read_opts *ro)
{
    *out = NULL;
    if (!ref || !ref->key)
        return xp_error_set(XP_ENOTFOUND, "no Comet offline archive given");
    struct co_reader *r = xp_calloc(1, sizeof(*r));
    r->base.version = XP_READER_VERSION;
    r->base.next = co_next;
    r->base.free = co_reader_free;
    r->ctx = a->ctx;
    r->zip = xp_strdup(ref->key);
    xp_fd_stream_init(&r->stream);
    r->res = ro && ro->resources ? ro->resources : XP_RES_ALL;
    r->only = ro ? ro->only_series : NULL;
    xp_buf_init(&r->html);
    xp_buf_init(&r->graph);
    xp_buf_init(&r->code);
    r->vendor = json_object_new_object();
    r->pflat = json_object_new_object();
    r->params = json_object_new_object();
    r->others = json_object_new_object();
    r->logs = json_object_new_array();
    r->files = json_object_new_array();
    int rc = unpack(r);
    if (!rc) {
        json_object_object_add(r->vendor, "experiment", json_object_get(r->exp));
        r->tags = xp_json_strings(r->exp, "tags", &r->ntags);
        struct json_object *v;
        /* 0: not known (comet_offline_write.c writes it so) */
        if ((v = xp_json_get(r->exp, "start_time")) && json_object_is_type(v, json_type_int) &&
            json_object_get_int64(v))
            xp_iso8601_format_ms(r->started, json_object_get_int64(v));
        if ((v = xp_json_get(r->exp, "stop_time")) && json_object_is_type(v, json_type_int) &&
            json_object_get_int64(v))
            xp_iso8601_format_ms(r->ended, json_object_get_int64(v));
        rc = load_messages(r);
    }
    if (!rc) {
        rc = comet_offline_names(&r->nm, r->exp, r->name, r->zip);
        r->name = NULL; /* r->nm has it */
    }
    if (!rc) {
        json_object_object_foreach(r->pflat, k, v) comet_param_nest(r->params, k, json_object_get(v));
        rc = comet_extras_take(&r->x, r->others);
    }
    if (!rc) {
        rc = generate(r);
    }
    if (rc) {
        co_reader_free(&r->base);
        return rc;
    }
    *out = &r->base;
    return 0;
}
