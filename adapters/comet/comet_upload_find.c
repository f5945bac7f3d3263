/* Finding again, or making, the Comet experiment an upload writes to
 * (comet_upload.h): xport marks what it makes with the others
 * xport_source_vendor and xport_source_id right after the create; a create
 * whose answer was lost, or whose marks were refused, leaves an unmarked
 * experiment, which is found by its name and taken when it is empty. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "comet_upload.h"
#include "xport/error.h"
#include "xport/json.h"

/* ---- finding the experiment again -------------------------------------------------------- */

const char *comet_up_other_value(struct json_object *others, const char *name)
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

/* The key in the project's index of the unmarked experiments named name
 * (ORPHAN "\1name": no source has that form). */
static void orphan_key(struct xp_buf *b, const char *name)
{
    xp_buf_reset(b);
    xp_buf_printf(b, "\1%s", name);
}

/* May an unmarked experiment be one xport made and could not mark? Its
 * others hold no more than its name and a source vendor. */
static int only_marks(struct json_object *vals)
{
    for (size_t i = 0; i < json_object_array_length(vals); i++) {
        const char *n = xp_json_str(json_object_array_get_idx(vals, i), "name");
        if (n && strcmp(n, "Name") && strcmp(n, COMET_X_PREFIX "source_vendor"))
            return 0;
    }
    return 1;
}

/* Note the source of one listed experiment, when xport wrote it; an
 * unmarked one with no other others goes in the list of its name. */
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
        const char *v = comet_up_other_value(vals, COMET_X_PREFIX "source_vendor");
        const char *id = comet_up_other_value(vals, COMET_X_PREFIX "source_id");
        const char *name = xp_json_str(e, "experimentName");
        struct xp_buf sk = XP_BUF_INIT;
        if (v && id) {
            xp_buf_printf(&sk, "%s\n%s", v, id);
            json_object_object_add(x->idx, sk.ptr, json_object_new_string(key));
        } else if (!id && name && only_marks(vals)) {
            struct json_object *l = NULL;
            orphan_key(&sk, name);
            if (!json_object_object_get_ex(x->idx, sk.ptr, &l)) {
                l = json_object_new_array();
                json_object_object_add(x->idx, sk.ptr, l);
            }
            json_object_array_add(l, json_object_new_string(key));
        }
        xp_buf_release(&sk);
    }
    json_object_put(ot);
    return rc;
}

static int project_exists(struct comet_rest *c, const char *ws, const char *proj, int *exists)
{
    const char *qp[] = {"workspaceName", ws, NULL};
    struct json_object *pl = NULL, *list = NULL;
    int rc = comet_get_json(c, "projects", qp, &pl);
    *exists = 0;
    if (!rc && json_object_object_get_ex(pl, "projects", &list))
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            const char *n = xp_json_str(json_object_array_get_idx(list, i), "projectName");
            *exists |= n && !strcmp(n, proj);
        }
    json_object_put(pl);
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
    int exists = 0;
    int rc = project_exists(c, ws, proj, &exists);
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
        rc = comet_post_json(c, 0, "write/project/create", &b, XP_HTTP_NOT_IDEMPOTENT, NULL);
        xp_buf_release(&b);
        /* an answer lost after the server made it: there it is */
        if (rc == XP_ERETRY && !project_exists(c, ws, proj, &exists) && exists)
            rc = 0;
    }
    if (rc) {
        struct xp_buf k2 = XP_BUF_INIT;
        xp_buf_printf(&k2, "%s/%s", ws, proj);
        json_object_object_del(c->index, k2.ptr);
        xp_buf_release(&k2);
    }
    return rc;
}

int comet_up_log_other(struct comet_up *u, const char *name, struct json_object *v)
{
    struct xp_buf b = XP_BUF_INIT;
    comet_up_begin(u, &b);
    xp_buf_puts(&b, ",\"key\":");
    xp_json_put_str(&b, name, strlen(name), "other name");
    xp_buf_puts(&b, ",\"value\":");
    xp_buf_puts(&b, v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "null");
    xp_buf_putc(&b, '}');
    int rc = comet_up_post(u, 0, "write/experiment/log-other", &b, 0);
    xp_buf_release(&b);
    return rc;
}

struct orphan_ctx {
    struct comet_rest *c;
    const char *name;
    char *key;
};

/* An experiment named x->name without a source id: one whose create
 * answer was lost before xport could mark it. */
static int orphan_one(void *payload, struct json_object *e)
{
    struct orphan_ctx *x = payload;
    const char *key = xp_json_str(e, "experimentKey");
    const char *n = xp_json_str(e, "experimentName");
    if (x->key || !key || !n || strcmp(n, x->name))
        return 0;
    const char *qk[] = {"experimentKey", key, NULL};
    struct json_object *ot = NULL, *vals = NULL;
    int rc = comet_get_json(x->c, "experiment/log-other", qk, &ot);
    if (!rc && json_object_object_get_ex(ot, "values", &vals) &&
        !comet_up_other_value(vals, COMET_X_PREFIX "source_id"))
        x->key = xp_strdup(key);
    json_object_put(ot);
    return rc;
}

/* Create the experiment, once: a create is not repeated blindly (the
 * server would keep two); after a lost answer, an unmarked experiment of
 * that name in the project is the one made. *key gets its key. */
static int create_once(struct comet_up *u, const char *ws, const char *proj, const char *name,
                       const struct xp_buf *body, char **key)
{
    int rc = XP_ERETRY;
    *key = NULL;
    for (int i = 0; i < 3 && rc == XP_ERETRY; i++) {
        struct json_object *ans = NULL;
        u->requests++;
        rc = comet_post_json(u->c, 0, "write/experiment/create", body, XP_HTTP_NOT_IDEMPOTENT,
                             &ans);
        const char *k = rc ? NULL : xp_json_str(ans, "experimentKey");
        if (!rc && !k)
            rc = xp_error_set(XP_EINVALID, "Comet created an experiment without a key");
        if (k)
            *key = xp_strdup(k);
        json_object_put(ans);
        if (rc != XP_ERETRY)
            break;
        if (!name) {
            rc = xp_error_wrap(rc, "an experiment without a name may have been made twice");
            break; /* nothing to find it by */
        }
        struct orphan_ctx x = {u->c, name, NULL};
        int lr = comet_each_experiment(u->c, ws, proj, 0, orphan_one, &x);
        if (lr) {
            free(x.key);
            rc = xp_error_wrap(lr, "looking for the experiment a lost answer made");
            break; /* not known whether it is there: make no other */
        }
        if (x.key) {
            *key = x.key;
            rc = 0;
        }
    }
    return rc;
}

/* Does the experiment hold nothing: no parameter, metric, asset or output? */
static int holds_nothing(struct comet_up *u, const char *key, int *empty)
{
    static const char *const what[][2] = {{"experiment/parameters", "values"},
                                          {"experiment/metrics/summary", "values"},
                                          {"experiment/asset/list", "assets"}};
    const char *qk[] = {"experimentKey", key, NULL};
    int rc = 0;
    *empty = 1;
    for (int i = 0; i < 3 && !rc && *empty; i++) {
        struct json_object *o = NULL, *l = NULL;
        rc = comet_get_json(u->c, what[i][0], qk, &o);
        if (!rc && json_object_object_get_ex(o, what[i][1], &l) &&
            json_object_is_type(l, json_type_array) && json_object_array_length(l))
            *empty = 0;
        json_object_put(o);
    }
    if (!rc && *empty) {
        struct json_object *o = NULL;
        rc = comet_get_json(u->c, "experiment/output", qk, &o);
        const char *s = rc ? NULL : xp_json_str(o, "output");
        *empty = !s || !*s;
        json_object_put(o);
    }
    return rc;
}

/* An experiment of this name that xport made in an earlier run and could
 * not mark (its create answer lost, or the marks not sent): unmarked and
 * empty, it is taken instead of making another. *key: NULL when none. */
static int adopt_orphan(struct comet_up *u, struct json_object *idx, const char *name,
                        char **key)
{
    struct xp_buf ok = XP_BUF_INIT;
    struct json_object *l = NULL;
    int rc = 0;
    *key = NULL;
    orphan_key(&ok, name);
    if (json_object_object_get_ex(idx, ok.ptr, &l)) {
        for (size_t i = 0; !rc && !*key && i < json_object_array_length(l); i++) {
            const char *k = json_object_get_string(json_object_array_get_idx(l, i));
            int empty = 0;
            rc = holds_nothing(u, k, &empty);
            if (!rc && empty) {
                *key = xp_strdup(k);
                json_object_array_del_idx(l, i, 1);
            }
        }
    }
    xp_buf_release(&ok);
    return rc;
}

/* Find the experiment of this source in WS/PROJECT, or create it and mark
 * it with its source at once. */
int comet_up_find_or_create(struct comet_up *u, const char *ws, const char *proj,
                          const char *src_vendor, const char *src_id, const char *name)
{
    struct comet_rest *c = u->c;
    pthread_mutex_lock(&c->lock);
    struct json_object *idx = NULL, *k = NULL;
    int rc = index_project(c, ws, proj, &idx);
    struct xp_buf sk = XP_BUF_INIT;
    xp_buf_printf(&sk, "%s\n%s", src_vendor, src_id);
    if (!rc && json_object_object_get_ex(idx, sk.ptr, &k)) {
        u->key = xp_strdup(json_object_get_string(k));
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
        char *key = NULL;
        rc = name ? adopt_orphan(u, idx, name, &key) : 0;
        if (!rc && !key)
            rc = create_once(u, ws, proj, name, &b, &key);
        if (!rc) {
            u->key = key;
            u->fresh = 1;
            struct json_object *v = json_object_new_string(src_vendor);
            struct json_object *i = json_object_new_string(src_id);
            rc = comet_up_log_other(u, COMET_X_PREFIX "source_vendor", v);
            if (!rc)
                rc = comet_up_log_other(u, COMET_X_PREFIX "source_id", i);
            json_object_put(v);
            json_object_put(i);
            if (!rc)
                json_object_object_add(idx, sk.ptr, json_object_new_string(key));
        }
        xp_buf_release(&b);
    }
    pthread_mutex_unlock(&c->lock);
    xp_buf_release(&sk);
    return rc;
}
