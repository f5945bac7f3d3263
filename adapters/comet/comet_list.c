/* Finding experiments on a Comet server as cometx does: WS, WS/PROJECT,
 * WS/PROJECT/EXPERIMENT (key or name, globs), or a bare experiment key;
 * listings paged through to the end, archived experiments on request. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "comet_api.h"
#include "xport/error.h"
#include "xport/json.h"

static int is_literal(const char *p)
{
    return p && *p && !strpbrk(p, "*?[{");
}

/* 32-50 letters and digits: what comet_ml takes as an experiment key. */
static int looks_like_key(const char *s)
{
    size_t n = strlen(s);
    if (n < 32 || n > 50)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z')))
            return 0;
    return 1;
}

static int emit(struct comet_rest *c, struct json_object *e, xp_experiment_cb cb,
                void *payload, int check_sel)
{
    const char *key = xp_json_str(e, "experimentKey");
    const char *ws = xp_json_str(e, "workspaceName");
    const char *proj = xp_json_str(e, "projectName");
    int rc;
    const char *name = xp_json_name(e, "experimentName", "Comet experiment", &rc);
    if (rc)
        return rc;
    if (!key || !ws || !proj)
        return xp_error_set(XP_EINVALID, "Comet listed an experiment without "
                                         "experimentKey, workspaceName or projectName");
    if (!name || !*name)
        name = key;
    if (check_sel && c->sel.experiment && !xp_pattern_match(c->sel.experiment, key) &&
        !xp_pattern_match(c->sel.experiment, name))
        return 0;
    struct xp_experiment_ref ref = {ws, proj, name, key, -1};
    return cb(&ref, payload);
}

int comet_each_experiment(struct comet_rest *c, const char *ws, const char *proj, int archived,
                          int (*fn)(void *payload, struct json_object *e), void *payload)
{
    int rc = 0;
    for (int arch = 0; arch <= archived && !rc; arch++) {
        char first[64] = "";
        for (int page = 1; !rc; page++) {
            char pg[24], sz[24];
            snprintf(pg, sizeof(pg), "%d", page);
            snprintf(sz, sizeof(sz), "%d", c->page_size);
            const char *q[] = {"workspaceName", ws, "projectName", proj,
                               "archived", arch ? "true" : "false",
                               "page", pg, "size", sz, NULL};
            struct json_object *o = NULL, *list = NULL;
            rc = comet_get_json(c, "experiments", q, &o);
            if (!rc && (!json_object_object_get_ex(o, "experiments", &list) ||
                        !json_object_is_type(list, json_type_array)))
                rc = xp_error_set(XP_EINVALID, "Comet's experiments answer for '%s/%s' "
                                               "has no list", ws, proj);
            size_t n = rc ? 0 : json_object_array_length(list);
            const char *k0 = n ? xp_json_str(json_object_array_get_idx(list, 0),
                                             "experimentKey") : NULL;
            /* a server that does not page gives the whole list every time */
            int again = page > 1 && k0 && !strcmp(k0, first);
            if (page == 1 && k0)
                snprintf(first, sizeof(first), "%s", k0);
            for (size_t i = 0; i < n && !rc && !again; i++)
                rc = fn(payload, json_object_array_get_idx(list, i));
            json_object_put(o);
            if (again || n < (size_t)c->page_size)
                break;
        }
    }
    return rc;
}

struct emit_ctx {
    struct comet_rest *c;
    xp_experiment_cb cb;
    void *payload;
};

static int emit_one(void *payload, struct json_object *e)
{
    struct emit_ctx *x = payload;
    return emit(x->c, e, x->cb, x->payload, 1);
}

static int list_project(struct comet_rest *c, const char *ws, const char *proj,
                        xp_experiment_cb cb, void *payload)
{
    struct emit_ctx x = {c, cb, payload};
    return comet_each_experiment(c, ws, proj, c->archived, emit_one, &x);
}

static int list_workspace(struct comet_rest *c, const char *ws, xp_experiment_cb cb,
                          void *payload)
{
    const char *q[] = {"workspaceName", ws, NULL};
    struct json_object *o = NULL, *list = NULL;
    int rc = comet_get_json(c, "projects", q, &o);
    if (!rc && (!json_object_object_get_ex(o, "projects", &list) ||
                !json_object_is_type(list, json_type_array)))
        rc = xp_error_set(XP_EINVALID, "Comet's projects answer for '%s' has no list", ws);
    size_t n = rc ? 0 : json_object_array_length(list);
    for (size_t i = 0; i < n && !rc; i++) {
        const char *p = xp_json_str(json_object_array_get_idx(list, i), "projectName");
        if (p && xp_pattern_match(c->sel.project, p))
            rc = list_project(c, ws, p, cb, payload);
    }
    json_object_put(o);
    return rc;
}

/* A bare experiment key (cometx download KEY). */
static int list_key(struct comet_rest *c, const char *key, xp_experiment_cb cb,
                    void *payload)
{
    const char *q[] = {"experimentKey", key, NULL};
    struct json_object *md = NULL;
    int rc = comet_get_json(c, "experiment/metadata", q, &md);
    if (!rc)
        rc = emit(c, md, cb, payload, 0);
    json_object_put(md);
    return rc;
}

int comet_list(struct xp_adapter *base, xp_experiment_cb cb, void *payload)
{
    struct comet_rest *c = (struct comet_rest *)base;
    struct json_object *o = NULL, *names = NULL;
    int rc = comet_get_json(c, "workspaces", NULL, &o);
    if (!rc && (!json_object_object_get_ex(o, "workspaceNames", &names) ||
                !json_object_is_type(names, json_type_array)))
        rc = xp_error_set(XP_EINVALID, "Comet's workspaces answer has no workspaceNames");
    int found = 0;
    size_t n = rc ? 0 : json_object_array_length(names);
    for (size_t i = 0; i < n && !rc; i++) {
        const char *ws = json_object_get_string(json_object_array_get_idx(names, i));
        if (ws && xp_pattern_match(c->sel.workspace, ws)) {
            found = 1;
            rc = list_workspace(c, ws, cb, payload);
        }
    }
    json_object_put(o);
    if (!rc && !found && is_literal(c->sel.workspace) && !c->sel.project &&
        looks_like_key(c->sel.workspace))
        return list_key(c, c->sel.workspace, cb, payload);
    if (!rc && !found && is_literal(c->sel.workspace))
        return xp_error_set(XP_ENOTFOUND, "no Comet workspace '%s' for this API key",
                            c->sel.workspace);
    return rc;
}
