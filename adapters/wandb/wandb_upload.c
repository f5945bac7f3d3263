/* Uploads to a W&B server (wandb_upload.h). */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/json.h"
#include "xport/sys/http.h"
#include "wandb_upload.h"

#define MAX_UPLOAD_HEADERS 32

static const char M_FILES[] =
    "mutation CreateRunFiles($entity: String!, $project: String!, "
    "$run: String!, $files: [String!]!) { createRunFiles(input: "
    "{entityName: $entity, projectName: $project, runName: $run, "
    "files: $files}) { runID uploadHeaders files { name uploadUrl } } }";

int wup_put(struct wapi *api, const char *url, struct json_object *headers,
            const char *path, const char *what)
{
    struct xp_http_header hdr[MAX_UPLOAD_HEADERS];
    char *store[MAX_UPLOAD_HEADERS];
    size_t nh = 0;
    size_t n = headers && json_object_is_type(headers, json_type_array)
                   ? json_object_array_length(headers) : 0;
    for (size_t i = 0; i < n && nh < MAX_UPLOAD_HEADERS; i++) {
        /* "Key:Value", split on the first colon (wandb.md §2.3) */
        const char *h =
            json_object_get_string(json_object_array_get_idx(headers, i));
        const char *c = h ? strchr(h, ':') : NULL;
        if (!c)
            continue;
        store[nh] = xp_strdup(h);
        store[nh][c - h] = '\0';
        hdr[nh].name = store[nh];
        hdr[nh].value = store[nh] + (c - h) + 1;
        while (*hdr[nh].value == ' ')
            hdr[nh].value++;
        nh++;
    }
    struct xp_http_request req = {
        .method = "PUT",
        .url = url,
        .headers = hdr,
        .nheaders = nh,
        .body_path = path,
        .flags = XP_HTTP_NO_AUTH, /* presigned: never the key */
    };
    struct xp_http_response resp = XP_HTTP_RESPONSE_INIT;
    int rc = xp_http_request(api->http, &req, &resp);
    if (rc == XP_EAUTH)
        /* a refused presigned URL says nothing about the API key */
        rc = xp_error_set_http(XP_ERROR, resp.status,
                               "uploading %s to W&B: the storage refused the "
                               "upload URL (HTTP %ld)",
                               what, resp.status);
    else if (rc)
        rc = xp_error_wrap(rc, "uploading %s to W&B", what);
    xp_http_response_release(&resp);
    for (size_t i = 0; i < nh; i++)
        free(store[i]);
    return rc;
}

int wup_run_file(struct wapi *api, const char *entity, const char *project,
                 const char *run, const char *name, const char *path)
{
    struct json_object *v = json_object_new_object(), *d = NULL;
    json_object_object_add(v, "entity", json_object_new_string(entity));
    json_object_object_add(v, "project", json_object_new_string(project));
    json_object_object_add(v, "run", json_object_new_string(run));
    struct json_object *fl = json_object_new_array();
    json_object_array_add(fl, json_object_new_string(name));
    json_object_object_add(v, "files", fl);
    int rc = wapi_gql(api, "CreateRunFiles", M_FILES, v, &d);
    json_object_put(v);
    if (rc)
        return rc;
    const char *url = NULL;
    struct json_object *files = wapi_path(d, "createRunFiles.files");
    size_t n = files && json_object_is_type(files, json_type_array)
                   ? json_object_array_length(files) : 0;
    for (size_t i = 0; i < n && !url; i++) {
        struct json_object *f = json_object_array_get_idx(files, i);
        const char *fn = xp_json_str(f, "name");
        if (fn && !strcmp(fn, name))
            url = xp_json_str(f, "uploadUrl");
    }
    if (!url) {
        json_object_put(d);
        return xp_error_set(XP_ERROR, "W&B gave no upload URL for '%s'", name);
    }
    struct xp_buf what = XP_BUF_INIT;
    xp_buf_printf(&what, "'%s' of run '%s'", name, run);
    rc = wup_put(api, url, wapi_path(d, "createRunFiles.uploadHeaders"), path,
                 what.ptr);
    xp_buf_release(&what);
    json_object_put(d);
    return rc;
}
