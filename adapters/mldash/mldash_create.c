/* Creating the experiment on an ml-dash server (v0.6: its folder nodes
 * first), and sending its parameters and its status. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mldash_write.h"
#include "xport/error.h"
#include "xport/json.h"

int mld_create_folder(struct mld_sink *s, const char *parent, const char *name,
                      int in_exp, char **out)
{
    struct mld *m = s->m;
    struct json_object *b = json_object_new_object(), *resp = NULL;
    json_object_object_add(b, "type", json_object_new_string("FOLDER"));
    json_object_object_add(b, "projectSlug", json_object_new_string(s->project));
    json_object_object_add(b, "parentId", json_object_new_string(parent ? parent : "ROOT"));
    json_object_object_add(b, "name", json_object_new_string(name));
    if (in_exp)
        json_object_object_add(b, "experimentId", json_object_new_string(s->exp_id));
    struct xp_buf body = XP_BUF_INIT, url = XP_BUF_INIT;
    int rc = xp_json_put_obj(&body, b, 0);
    json_object_put(b);
    mld_url(&url, m, "/namespaces/");
    xp_http_put_segment(&url, m->ns);
    xp_buf_puts(&url, "/nodes");
    if (!rc)
        rc = mld_json(m, "POST", url.ptr, &body, 0, &resp);
    struct json_object *node = NULL, *id = NULL;
    if (!rc && json_object_object_get_ex(resp, "node", &node) &&
        json_object_object_get_ex(node, "id", &id))
        *out = xp_strdup(json_object_get_string(id));
    else if (!rc)
        rc = xp_error_set(XP_EINVALID, "ml-dash did not say the id of folder '%s'", name);
    json_object_put(resp);
    xp_buf_release(&body);
    xp_buf_release(&url);
    return rc;
}

int mld_create_experiment(struct mld_sink *s)
{
    struct mld *m = s->m;
    struct json_object *b = json_object_new_object(), *resp = NULL;
    char *parent = NULL;
    int rc = 0;
    if (m->gen == 6) {
        /* one FOLDER node per segment of the folder path */
        char *fp = s->folder ? xp_strdup(s->folder) : NULL, *save = NULL;
        for (char *seg = fp ? strtok_r(fp, "/", &save) : NULL; seg && !rc;
             seg = strtok_r(NULL, "/", &save)) {
            char *id = NULL;
            rc = mld_create_folder(s, parent, seg, 0, &id);
            free(parent);
            parent = id;
        }
        free(fp);
        json_object_object_add(b, "type", json_object_new_string("EXPERIMENT"));
        json_object_object_add(b, "projectSlug", json_object_new_string(s->project));
        json_object_object_add(b, "parentId",
                               json_object_new_string(parent ? parent : "ROOT"));
    } else if (s->folder) {
        json_object_object_add(b, "folder", json_object_new_string(s->folder));
    }
    free(parent);
    json_object_object_add(b, "name", json_object_new_string(s->name));
    if (s->description)
        json_object_object_add(b, "description", json_object_new_string(s->description));
    struct json_object *tags = json_object_new_array();
    for (size_t i = 0; i < s->ntags; i++)
        json_object_array_add(tags, json_object_new_string(s->tags[i]));
    json_object_object_add(b, "tags", tags);
    struct json_object *md = mld_exp_metadata(s);
    if (md)
        json_object_object_add(b, "metadata", md);
    struct xp_buf body = XP_BUF_INIT, url = XP_BUF_INIT;
    if (!rc)
        rc = xp_json_put_obj(&body, b, 0);
    json_object_put(b);
    if (m->gen == 6) {
        mld_url(&url, m, "/namespaces/");
        xp_http_put_segment(&url, m->ns);
        xp_buf_puts(&url, "/nodes");
    } else {
        mld_url(&url, m, "/projects/");
        xp_http_put_segment(&url, s->project);
        xp_buf_puts(&url, "/experiments");
    }
    /* an upsert by (project, name): safe to retry */
    if (!rc)
        rc = mld_json(m, "POST", url.ptr, &body, 0, &resp);
    xp_buf_release(&body);
    xp_buf_release(&url);
    if (rc)
        return xp_error_wrap(rc, "creating experiment '%s'", s->name);
    struct json_object *e = NULL, *id = NULL, *node = NULL;
    if (json_object_object_get_ex(resp, "experiment", &e) &&
        json_object_object_get_ex(e, "id", &id))
        s->exp_id = xp_strdup(json_object_get_string(id));
    if (json_object_object_get_ex(resp, "node", &node) &&
        json_object_object_get_ex(node, "id", &id))
        s->node_id = xp_strdup(json_object_get_string(id));
    json_object_put(resp);
    if (!s->exp_id || (m->gen == 6 && !s->node_id))
        return xp_error_set(XP_EINVALID, "ml-dash did not say the id of experiment '%s'",
                            s->name);
    return 0;
}

int mld_send_params(struct mld_sink *s)
{
    if (!s->params)
        return 0;
    struct xp_buf body = XP_BUF_INIT, url = XP_BUF_INIT;
    xp_buf_puts(&body, "{\"data\":");
    int rc = xp_json_put_obj(&body, s->params, 0);
    xp_buf_putc(&body, '}');
    mld_url(&url, s->m, "/experiments/%s/parameters", s->exp_id);
    if (!rc)
        rc = mld_json(s->m, "POST", url.ptr, &body, 0, NULL); /* a merge: idempotent */
    xp_buf_release(&body);
    xp_buf_release(&url);
    return rc ? xp_error_wrap(rc, "parameters of '%s'", s->name) : 0;
}

int mld_send_status(struct mld_sink *s)
{
    if (!s->status)
        return 0;
    static const char *const ok[] = {"RUNNING", "COMPLETED", "FAILED", "CANCELLED", NULL};
    int known = 0;
    for (const char *const *p = ok; *p; p++)
        known |= !strcmp(*p, s->status);
    if (!known) {
        xp_sink_drop(&s->base, s->m->base.ctx, "%s: status '%s' not sent: ml-dash knows RUNNING "
                    "COMPLETED FAILED CANCELLED", s->name, s->status);
        return 0;
    }
    struct xp_buf body = XP_BUF_INIT, url = XP_BUF_INIT;
    xp_buf_printf(&body, "{\"status\":\"%s\"}", s->status);
    if (s->m->gen == 6)
        mld_url(&url, s->m, "/nodes/%s", s->node_id);
    else
        mld_url(&url, s->m, "/experiments/%s/status", s->exp_id);
    int rc = mld_json(s->m, "PATCH", url.ptr, &body, 0, NULL);
    xp_buf_release(&body);
    xp_buf_release(&url);
    return rc ? xp_error_wrap(rc, "status of '%s'", s->name) : 0;
}
