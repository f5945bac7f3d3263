/* Sending one cometx folder to a Comet server exactly once: the experiment is
 * found again by the source it came from (the others xport_source_vendor and
 * xport_source_id, logged right after it is created), what the destination
 * already holds is read, and only the rest is sent: others, parameters
 * (through the SDK's batch endpoint), tags, times, system details, HTML,
 * code, graph and git here; metrics, output and assets in
 * comet_upload_data.c. Endpoints: adapters/comet/README.md. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "comet_upload.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"

/* ---- requests ------------------------------------------------------------------------ */

static int get_exp(struct comet_up *u, const char *path, struct json_object **out)
{
    const char *q[] = {"experimentKey", u->key, NULL};
    return comet_get_json(u->c, path, q, out);
}

/* ---- finding the experiment again -------------------------------------------------------- */

static const char *other_value(struct json_object *others, const char *name)
{
    for (size_t i = 0; others && i < json_object_array_length(others); i++) {
        struct json_object *o = json_object_array_get_idx(others, i);
        const char *n = xp_json_str(o, "name");
        if (n && !strcmp(n, name))
            return xp_json_str(o, "valueCurrent");
    }
    return NULL;
}

struct index_ctx {
    struct comet_rest *c;
    struct json_object *idx;
};

/* 1 when an experiment's others are at most what it has between its
 * creation and xport's marks: its name, and the first of the two marks. */
static int only_creation_others(struct json_object *vals)
{
    for (size_t i = 0; vals && i < json_object_array_length(vals); i++) {
        const char *n = xp_json_str(json_object_array_get_idx(vals, i), "name");
        if (!n || (strcmp(n, "Name") && strcmp(n, COMET_X_PREFIX "source_vendor")))
            return 0;
    }
    return 1;
}

/* Note the source of one listed experiment, when xport wrote it; one
 * without its source id but otherwise bare is kept under "\x01NAME" as an
 * orphan: an experiment an interrupted run created and never marked. */
static int index_one(void *payload, struct json_object *e)
{
    struct index_ctx *x = payload;
    const char *key = xp_json_str(e, "experimentKey");
    if (!key)
        return 0;
    const char *qk[] = {"experimentKey", key, NULL};
    struct json_object *ot = NULL, *vals = NULL;
    int rc = comet_get_json(x->c, "experiment/log-other", qk, &ot);
    if (!rc && json_object_object_get_ex(ot, "values", &vals)) {
        const char *v = other_value(vals, COMET_X_PREFIX "source_vendor");
        const char *id = other_value(vals, COMET_X_PREFIX "source_id");
        if (v && id) {
            struct xp_buf sk = XP_BUF_INIT;
            xp_buf_printf(&sk, "%s\n%s", v, id);
            json_object_object_add(x->idx, sk.ptr, json_object_new_string(key));
            xp_buf_release(&sk);
        } else if (!id && xp_json_str(e, "experimentName") && only_creation_others(vals)) {
            struct xp_buf sk = XP_BUF_INIT;
            xp_buf_printf(&sk, "\x01%s", xp_json_str(e, "experimentName"));
            json_object_object_add(x->idx, sk.ptr, json_object_new_string(key));
            xp_buf_release(&sk);
        }
    }
    json_object_put(ot);
    return rc;
}

/* The experiments of WS/PROJECT xport wrote, by source (c->index). */
static int index_project(struct comet_rest *c, const char *ws, const char *proj,
                         struct json_object **out)
{
    struct xp_buf k = XP_BUF_INIT;
    xp_buf_printf(&k, "%s/%s", ws, proj);
    struct json_object *idx = NULL;
    if (json_object_object_get_ex(c->index, k.ptr, &idx)) {
        *out = idx;
        xp_buf_release(&k);
        return 0;
    }
    idx = json_object_new_object();
    json_object_object_add(c->index, k.ptr, idx);
    xp_buf_release(&k);
    *out = idx;
    const char *qp[] = {"workspaceName", ws, NULL};
    struct json_object *pl = NULL, *list = NULL;
    int rc = comet_get_json(c, "projects", qp, &pl);
    int exists = 0;
    if (!rc && json_object_object_get_ex(pl, "projects", &list))
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            const char *n = xp_json_str(json_object_array_get_idx(list, i), "projectName");
            exists |= n && !strcmp(n, proj);
        }
    json_object_put(pl);
    struct index_ctx x = {c, idx};
    if (!rc && exists)
        rc = comet_each_experiment(c, ws, proj, 1, index_one, &x);
    if (!rc && !exists) {
        /* a missing project is made first, as cometx copy does */
        struct xp_buf b = XP_BUF_INIT;
        xp_buf_puts(&b, "{\"workspaceName\":");
        xp_json_put_str(&b, ws, strlen(ws), "workspace");
        xp_buf_puts(&b, ",\"projectName\":");
        xp_json_put_str(&b, proj, strlen(proj), "project");
        xp_buf_puts(&b, "}");
        rc = comet_post_json(c, 0, "write/project/create", &b, NULL);
        xp_buf_release(&b);
    }
    if (rc) {
        struct xp_buf k2 = XP_BUF_INIT;
        xp_buf_printf(&k2, "%s/%s", ws, proj);
        json_object_object_del(c->index, k2.ptr);
        xp_buf_release(&k2);
    }
    return rc;
}

static int log_other(struct comet_up *u, const char *name, struct json_object *v)
{
    struct xp_buf b = XP_BUF_INIT;
    comet_up_begin(u, &b);
    xp_buf_puts(&b, ",\"key\":");
    xp_json_put_str(&b, name, strlen(name), "other name");
    xp_buf_puts(&b, ",\"value\":");
    xp_buf_puts(&b, v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "null");
    xp_buf_putc(&b, '}');
    int rc = comet_up_post(u, 0, "write/experiment/log-other", &b);
    xp_buf_release(&b);
    return rc;
}

/* An orphan of an interrupted create (index_one) named `name` that holds
 * no parameters and no metrics either: its key, else NULL. */
static const char *orphan(struct comet_up *u, struct json_object *idx, const char *name,
                          int *rc)
{
    struct xp_buf ok = XP_BUF_INIT;
    xp_buf_printf(&ok, "\x01%s", name ? name : "");
    struct json_object *k = NULL;
    const char *key = NULL;
    if (name && json_object_object_get_ex(idx, ok.ptr, &k)) {
        const char *q[] = {"experimentKey", json_object_get_string(k), NULL};
        struct json_object *pa = NULL, *ms = NULL, *v = NULL;
        *rc = comet_get_json(u->c, "experiment/parameters", q, &pa);
        if (!*rc)
            *rc = comet_get_json(u->c, "experiment/metrics/summary", q, &ms);
        int bare = !*rc && (!json_object_object_get_ex(pa, "values", &v) ||
                            !json_object_array_length(v)) &&
                   (!json_object_object_get_ex(ms, "values", &v) ||
                    !json_object_array_length(v));
        if (bare)
            key = json_object_get_string(k);
        json_object_put(pa);
        json_object_put(ms);
    }
    xp_buf_release(&ok);
    return key;
}

static int mark_source(struct comet_up *u, const char *src_vendor, const char *src_id)
{
    struct json_object *v = json_object_new_string(src_vendor);
    struct json_object *i = json_object_new_string(src_id);
    int rc = log_other(u, COMET_X_PREFIX "source_vendor", v);
    if (!rc)
        rc = log_other(u, COMET_X_PREFIX "source_id", i);
    json_object_put(v);
    json_object_put(i);
    return rc;
}

/* Find the experiment of this source in WS/PROJECT, or create it and mark
 * it with its source at once. An interruption between the two leaves an
 * unmarked experiment of that name holding nothing: it is taken up again
 * (and marked), never doubled by a second create. */
static int find_or_create(struct comet_up *u, const char *ws, const char *proj,
                          const char *src_vendor, const char *src_id, const char *name)
{
    struct comet_rest *c = u->c;
    pthread_mutex_lock(&c->lock);
    struct json_object *idx = NULL, *k = NULL;
    int rc = index_project(c, ws, proj, &idx);
    struct xp_buf sk = XP_BUF_INIT;
    xp_buf_printf(&sk, "%s\n%s", src_vendor, src_id);
    const char *adopt = NULL;
    if (!rc && json_object_object_get_ex(idx, sk.ptr, &k)) {
        u->key = xp_strdup(json_object_get_string(k));
    } else if (!rc && (adopt = orphan(u, idx, name, &rc)) != NULL) {
        u->key = xp_strdup(adopt);
        struct xp_buf ok = XP_BUF_INIT;
        xp_buf_printf(&ok, "\x01%s", name);
        json_object_object_del(idx, ok.ptr); /* adopt is freed here */
        xp_buf_release(&ok);
        rc = mark_source(u, src_vendor, src_id);
        if (!rc)
            json_object_object_add(idx, sk.ptr, json_object_new_string(u->key));
    } else if (!rc) {
        struct xp_buf b = XP_BUF_INIT;
        xp_buf_puts(&b, "{\"workspaceName\":");
        xp_json_put_str(&b, ws, strlen(ws), "workspace");
        xp_buf_puts(&b, ",\"projectName\":");
        xp_json_put_str(&b, proj, strlen(proj), "project");
        if (name) {
            xp_buf_puts(&b, ",\"experimentName\":");
            xp_json_put_str(&b, name, strlen(name), "experiment name");
        }
        xp_buf_putc(&b, '}');
        struct json_object *ans = NULL;
        u->requests++;
        rc = comet_post_json(c, 0, "write/experiment/create", &b, &ans);
        const char *key = rc ? NULL : xp_json_str(ans, "experimentKey");
        if (!rc && !key)
            rc = xp_error_set(XP_EINVALID, "Comet created an experiment without a key");
        if (!rc) {
            u->key = xp_strdup(key);
            u->fresh = 1;
            rc = mark_source(u, src_vendor, src_id);
            if (!rc)
                json_object_object_add(idx, sk.ptr, json_object_new_string(key));
        }
        json_object_put(ans);
        xp_buf_release(&b);
    }
    pthread_mutex_unlock(&c->lock);
    xp_buf_release(&sk);
    return rc;
}

/* ---- what the destination holds --------------------------------------------------------- */

static int names_of(struct json_object *o, const char *member, struct json_object **out)
{
    struct json_object *vals = NULL;
    *out = json_object_new_object();
    if (!json_object_object_get_ex(o, member, &vals) ||
        !json_object_is_type(vals, json_type_array))
        return xp_error_set(XP_EINVALID, "Comet's answer has no %s", member);
    for (size_t i = 0; i < json_object_array_length(vals); i++) {
        struct json_object *e = json_object_array_get_idx(vals, i);
        const char *n = json_object_is_type(e, json_type_string) ? json_object_get_string(e)
                                                                 : xp_json_str(e, "name");
        if (n)
            json_object_object_add(*out, n, NULL);
    }
    return 0;
}

static int nonempty(struct json_object *o, const char *member)
{
    const char *s = xp_json_str(o, member);
    return s && *s;
}

static int read_have(struct comet_up *u)
{
    struct json_object *o = NULL;
    int rc = get_exp(u, "experiment/metadata", &u->have_md);
    if (!rc && !(rc = get_exp(u, "experiment/log-other", &o)))
        rc = names_of(o, "values", &u->have_others);
    json_object_put(o);
    o = NULL;
    if (!rc && !(rc = get_exp(u, "experiment/parameters", &o)))
        rc = names_of(o, "values", &u->have_params);
    json_object_put(o);
    o = NULL;
    if (!rc && !(rc = get_exp(u, "experiment/tags", &o)))
        rc = names_of(o, "tags", &u->have_tags);
    json_object_put(o);
    o = NULL;
    u->have_text = json_object_new_object();
    static const char *const texts[][2] = {{"experiment/html", "html"},
                                           {"experiment/code", "code"},
                                           {"experiment/graph", "graph"}};
    for (int i = 0; i < 3 && !rc; i++) {
        if (!(rc = get_exp(u, texts[i][0], &o)) && nonempty(o, texts[i][1]))
            json_object_object_add(u->have_text, texts[i][1], NULL);
        json_object_put(o);
        o = NULL;
    }
    if (!rc && !(rc = get_exp(u, "experiment/git/metadata", &o))) {
        int any = 0;
        json_object_object_foreach(o, k, v)
        {
            (void)k;
            any |= v != NULL;
        }
        if (any)
            json_object_object_add(u->have_text, "git", NULL);
    }
    json_object_put(o);
    o = NULL;
    if (!rc && !(rc = get_exp(u, "experiment/system-details", &o))) {
        int any = 0;
        json_object_object_foreach(o, k, v)
        {
            any |= v != NULL && strcmp(k, "experimentKey");
        }
        if (any)
            json_object_object_add(u->have_text, "system", NULL);
    }
    json_object_put(o);
    o = NULL;
    if (!rc && !(rc = get_exp(u, "experiment/output", &o))) {
        const char *s = xp_json_str(o, "output");
        size_t n = s ? strlen(s) : 0;
        for (size_t i = 0; i < n; i++)
            u->have_lines += s[i] == '\n';
        if (n && s[n - 1] != '\n')
            u->have_lines++;
    }
    json_object_put(o);
    if (!rc)
        rc = get_exp(u, "experiment/asset/list", &u->have_assets);
    return rc;
}

/* ---- documents ---------------------------------------------------------------------------- */

static int read_lines_json(const char *path, struct json_object **out)
{
    struct xp_buf b = XP_BUF_INIT;
    *out = json_object_new_array();
    if (!xp_is_real_file(path))
        return 0;
    int rc = xp_read_file(&b, path, (size_t)256 << 20);
    for (char *line = b.ptr; !rc && line < b.ptr + b.len;) {
        char *nl = memchr(line, '\n', (size_t)(b.ptr + b.len - line));
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len) {
            struct json_object *o = NULL;
            rc = xp_json_parse(&o, line, len, path);
            if (!rc)
                json_object_array_add(*out, o);
        }
        line += len + (nl != NULL);
    }
    xp_buf_release(&b);
    return rc;
}

static int send_others(struct comet_up *u, struct json_object *others)
{
    int rc = 0;
    /* a running experiment: the server keeps its own state, so the status
     * travels as the other xport_status, as for other sources */
    struct json_object *run = xp_json_get(u->md, "running");
    if (run && json_object_get_boolean(run) &&
        !other_value(others, COMET_X_PREFIX "status") &&
        !(u->have_others &&
          json_object_object_get_ex(u->have_others, COMET_X_PREFIX "status", NULL))) {
        struct json_object *v = json_object_new_string("RUNNING");
        rc = log_other(u, COMET_X_PREFIX "status", v);
        json_object_put(v);
    }
    for (size_t i = 0; i < json_object_array_length(others) && !rc; i++) {
        struct json_object *o = json_object_array_get_idx(others, i);
        const char *n = xp_json_str(o, "name");
        if (!n || (u->have_others && json_object_object_get_ex(u->have_others, n, NULL)))
            continue;
        if (!strcmp(n, COMET_X_PREFIX "source_vendor") ||
            !strcmp(n, COMET_X_PREFIX "source_id"))
            continue; /* logged when the experiment was created */
        rc = log_other(u, n, xp_json_get(o, "valueCurrent"));
    }
    return rc;
}

/* Comet keeps parameter and other values as text: the ones that are not
 * text (numbers, booleans, lists, objects) travel typed in the other
 * xport_types {"parameters": {name: value}, "others": {...}}, which the
 * reader applies and removes (comet_fetch.c). */
static void collect_types(struct json_object *into, const char *kind, struct json_object *list)
{
    struct json_object *m = json_object_new_object();
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        struct json_object *o = json_object_array_get_idx(list, i);
        const char *n = xp_json_str(o, "name");
        struct json_object *v = xp_json_get(o, "valueCurrent");
        if (n && v && !json_object_is_type(v, json_type_string) &&
            strncmp(n, COMET_X_PREFIX, strlen(COMET_X_PREFIX)))
            json_object_object_add(m, n, json_object_get(v));
    }
    if (json_object_object_length(m))
        json_object_object_add(into, kind, m);
    else
        json_object_put(m);
}

static int send_types(struct comet_up *u, struct json_object *others)
{
    if (u->have_others &&
        json_object_object_get_ex(u->have_others, COMET_X_PREFIX "types", NULL))
        return 0;
    char *p = xp_path_join(u->dir, "parameters.json");
    struct json_object *params = NULL, *t = json_object_new_object();
    int rc = xp_is_real_file(p) ? xp_json_read_file(&params, p) : 0;
    free(p);
    if (!rc && json_object_is_type(params, json_type_array))
        collect_types(t, "parameters", params);
    collect_types(t, "others", others);
    if (!rc && json_object_object_length(t)) {
        struct json_object *text = json_object_new_string(
            json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN));
        rc = log_other(u, COMET_X_PREFIX "types", text);
        json_object_put(text);
    }
    json_object_put(t);
    json_object_put(params);
    return rc;
}

static int send_params(struct comet_up *u)
{
    char *p = xp_path_join(u->dir, "parameters.json");
    struct json_object *list = NULL;
    int rc = xp_is_real_file(p) ? xp_json_read_file(&list, p) : 0;
    free(p);
    size_t n = !rc && json_object_is_type(list, json_type_array)
                   ? json_object_array_length(list) : 0;
    struct xp_buf b = XP_BUF_INIT;
    size_t in = 0;
    for (size_t i = 0; i <= n && !rc; i++) {
        if (in && (i == n || in == (size_t)u->c->batch)) {
            xp_buf_puts(&b, "]}");
            rc = comet_up_post(u, 1, "batch/logger/experiment/parameter", &b);
            in = 0;
        }
        if (i == n || rc)
            break;
        struct json_object *o = json_object_array_get_idx(list, i);
        const char *name = xp_json_str(o, "name");
        if (!name || (u->have_params && json_object_object_get_ex(u->have_params, name, NULL)))
            continue;
        if (!in) {
            comet_up_begin(u, &b);
            xp_buf_puts(&b, ",\"values\":[");
        }
        struct json_object *v = xp_json_get(o, "valueCurrent");
        xp_buf_puts(&b, in++ ? ",{\"parameterName\":" : "{\"parameterName\":");
        xp_json_put_str(&b, name, strlen(name), "parameter name");
        xp_buf_puts(&b, ",\"parameterValue\":");
        xp_buf_puts(&b, v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)
                          : "null");
        xp_buf_puts(&b, ",\"source\":\"manual\"}");
    }
    xp_buf_release(&b);
    json_object_put(list);
    return rc;
}

static int send_tags(struct comet_up *u)
{
    struct json_object *tags = xp_json_get(u->md, "tags");
    struct xp_buf b = XP_BUF_INIT;
    comet_up_begin(u, &b);
    xp_buf_puts(&b, ",\"addedTags\":[");
    int k = 0;
    for (size_t i = 0; tags && json_object_is_type(tags, json_type_array) &&
                       i < json_object_array_length(tags); i++) {
        const char *t = json_object_get_string(json_object_array_get_idx(tags, i));
        if (!t || (u->have_tags && json_object_object_get_ex(u->have_tags, t, NULL)))
            continue;
        if (k++)
            xp_buf_putc(&b, ',');
        xp_json_put_str(&b, t, strlen(t), "tag");
    }
    xp_buf_puts(&b, "]}");
    int rc = k ? comet_up_post(u, 0, "write/experiment/tags", &b) : 0;
    xp_buf_release(&b);
    return rc;
}

static int64_t md_ms(struct json_object *md, const char *k)
{
    struct json_object *v = xp_json_get(md, k);
    return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

static int send_times(struct comet_up *u)
{
    int64_t s = md_ms(u->md, "startTimeMillis"), e = md_ms(u->md, "endTimeMillis");
    if (s < 0 && e < 0)
        return 0;
    if (u->have_md && md_ms(u->have_md, "startTimeMillis") == s &&
        md_ms(u->have_md, "endTimeMillis") == e)
        return 0;
    struct xp_buf b = XP_BUF_INIT;
    comet_up_begin(u, &b);
    if (s >= 0)
        xp_buf_printf(&b, ",\"startTimeMillis\":%lld", (long long)s);
    if (e >= 0)
        xp_buf_printf(&b, ",\"endTimeMillis\":%lld", (long long)e);
    xp_buf_putc(&b, '}');
    int rc = comet_up_post(u, 0, "write/experiment/set-start-end-time", &b);
    xp_buf_release(&b);
    return rc;
}

static int have(struct comet_up *u, const char *what)
{
    return u->have_text && json_object_object_get_ex(u->have_text, what, NULL);
}

/* A text file of the folder sent as {"experimentKey", member: text, extra}. */
static int send_text(struct comet_up *u, const char *rel, const char *path,
                     const char *member, const char *extra)
{
    if (have(u, member))
        return 0;
    char *p = xp_path_join(u->dir, rel);
    struct xp_buf t = XP_BUF_INIT, b = XP_BUF_INIT;
    int rc = 0;
    if (xp_is_real_file(p)) {
        rc = xp_read_file(&t, p, (size_t)256 << 20);
        if (!rc) {
            comet_up_begin(u, &b);
            xp_buf_printf(&b, ",\"%s\":", member);
            rc = xp_json_put_str(&b, t.ptr, t.len, rel);
            xp_buf_printf(&b, "%s}", extra ? extra : "");
        }
        if (!rc)
            rc = comet_up_post(u, 0, path, &b);
    }
    free(p);
    xp_buf_release(&t);
    xp_buf_release(&b);
    return rc;
}

/* The fields of SetSystemDetailsRequest (comet-ml/comet-java-sdk) that the
 * REST endpoint takes; installedPackages from run/requirements.txt. */
static const char *const system_fields[] = {
    "user", "pythonVersion", "pythonVersionVerbose", "pid", "osType", "os", "osRelease",
    "ip", "hostname", "machine", "processor", "gpuStaticInfoList",
    "logAdditionalSystemInfoList", "systemMetricNames", "maxTotalMemory",
    "networkInterfaceIps", "command", "executable", "env", "totalRam", NULL};

static int send_system(struct comet_up *u)
{
    if (have(u, "system"))
        return 0;
    char *p = xp_path_join(u->dir, "system_details.json");
    char *r = xp_path_join(u->dir, "run/requirements.txt");
    struct json_object *sd = NULL;
    int rc = 0;
    if (xp_is_real_file(p))
        rc = xp_json_read_file(&sd, p);
    struct xp_buf req = XP_BUF_INIT, b = XP_BUF_INIT;
    int any = 0;
    if (!rc)
        comet_up_begin(u, &b);
    if (!rc && json_object_is_type(sd, json_type_object)) {
        json_object_object_foreach(sd, k, v)
        {
            int known = 0;
            for (int i = 0; system_fields[i]; i++)
                known |= !strcmp(k, system_fields[i]);
            if (!known) {
                if (strcmp(k, "experimentKey"))
                    xp_sink_drop(u->sink, u->c->base.ctx, "system detail '%s': Comet's "
                                 "system-details endpoint takes no such field", k);
                continue;
            }
            xp_buf_putc(&b, ',');
            xp_json_put_str(&b, k, strlen(k), "field");
            xp_buf_putc(&b, ':');
            xp_buf_puts(&b, v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)
                              : "null");
            any |= v != NULL;
        }
    }
    if (!rc && xp_is_real_file(r) && !(rc = xp_read_file(&req, r, (size_t)64 << 20))) {
        xp_buf_puts(&b, ",\"installedPackages\":[");
        int k = 0;
        for (char *line = req.ptr; line < req.ptr + req.len;) {
            char *nl = memchr(line, '\n', (size_t)(req.ptr + req.len - line));
            size_t len = nl ? (size_t)(nl - line) : strlen(line);
            if (k++)
                xp_buf_putc(&b, ',');
            xp_json_put_str(&b, line, len, "package");
            line += len + (nl != NULL);
        }
        xp_buf_putc(&b, ']');
        any = 1;
    }
    xp_buf_putc(&b, '}');
    if (!rc && any)
        rc = comet_up_post(u, 0, "write/experiment/system-details", &b);
    json_object_put(sd);
    xp_buf_release(&req);
    xp_buf_release(&b);
    free(p);
    free(r);
    return rc;
}

static int send_git(struct comet_up *u)
{
    char *p = xp_path_join(u->dir, "run/git_metadata.json");
    struct json_object *g = NULL;
    int rc = 0;
    if (!have(u, "git") && xp_is_real_file(p) && !(rc = xp_json_read_file(&g, p))) {
        static const char *const f[] = {"user", "root", "branch", "parent", "origin", NULL};
        struct xp_buf b = XP_BUF_INIT;
        comet_up_begin(u, &b);
        for (int i = 0; f[i]; i++) {
            struct json_object *v = xp_json_get(g, f[i]);
            xp_buf_printf(&b, ",\"%s\":%s", f[i],
                          v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)
                            : "null");
        }
        xp_buf_putc(&b, '}');
        rc = comet_up_post(u, 0, "write/experiment/git/metadata", &b);
        xp_buf_release(&b);
    }
    json_object_put(g);
    free(p);
    /* the patch as a file upload (write/experiment/git/patch) */
    p = xp_path_join(u->dir, "run/git_diff.patch");
    if (!rc && !have(u, "git") && xp_is_real_file(p)) {
        const char *q[] = {"experimentKey", u->key, NULL};
        struct xp_http_part part = {.name = "file", .path = p, .filename = "git_diff.patch",
                                    .content_type = "application/octet-stream"};
        u->requests++;
        rc = comet_post_parts(u->c, "write/experiment/git/patch", q, &part, 1, NULL);
    }
    free(p);
    return rc;
}

/* ---- the experiment ------------------------------------------------------------------------- */

int comet_upload(struct comet_rest *c, struct xp_sink *s, const char *dir, const char *ws,
                 const char *proj, char **dest_key)
{
    struct comet_up u = {.c = c, .sink = s, .dir = dir};
    struct json_object *others = NULL;
    char *p = xp_path_join(dir, "metadata.json");
    int rc = xp_json_read_file(&u.md, p);
    free(p);
    p = xp_path_join(dir, "others.jsonl");
    if (!rc)
        rc = read_lines_json(p, &others);
    free(p);
    /* the source: xport_source_* when it is not Comet, else its Comet key */
    const char *sv = other_value(others, COMET_X_PREFIX "source_vendor");
    const char *sid = other_value(others, COMET_X_PREFIX "source_id");
    if (!sv || !sid) {
        sv = "comet";
        sid = xp_json_str(u.md, "experimentKey");
    }
    if (!rc && !sid)
        rc = xp_error_set(XP_EINVALID, "experiment in '%s' has no source id", dir);
    if (!rc)
        rc = find_or_create(&u, ws, proj, sv, sid, other_value(others, "Name"));
    if (!rc && !u.fresh)
        rc = read_have(&u);
    if (!rc)
        rc = send_others(&u, others);
    if (!rc)
        rc = send_params(&u);
    if (!rc)
        rc = send_types(&u, others);
    if (!rc)
        rc = send_tags(&u);
    if (!rc)
        rc = comet_up_metrics(&u);
    if (!rc)
        rc = comet_up_output(&u);
    if (!rc)
        rc = send_system(&u);
    if (!rc)
        rc = send_text(&u, "assets/html/experiment.html", "write/experiment/html", "html",
                       ",\"override\":true");
    if (!rc)
        rc = send_text(&u, "run/script.py", "write/experiment/code", "code", NULL);
    if (!rc)
        rc = send_text(&u, "run/graph_definition.txt", "write/experiment/graph", "graph",
                       NULL);
    if (!rc)
        rc = send_git(&u);
    if (!rc)
        rc = comet_up_assets(&u);
    if (!rc)
        rc = send_times(&u);
    if (!rc) {
        *dest_key = u.key;
        u.key = NULL;
    }
    free(u.key);
    json_object_put(u.md);
    json_object_put(others);
    json_object_put(u.have_md);
    json_object_put(u.have_others);
    json_object_put(u.have_params);
    json_object_put(u.have_tags);
    json_object_put(u.have_assets);
    json_object_put(u.have_counts);
    json_object_put(u.have_text);
    return rc;
}
