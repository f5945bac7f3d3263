/* What every part of the W&B server reader uses (wandb_read.h): the run's
 * query variables, the list of run files to fetch, downloads into the
 * reader's temporary folder, walking a downloaded file's lines, and the
 * mapping of a run's state; below the parts, so that none of them uses the
 * reader that uses them. */
#define _GNU_SOURCE
#include <stdio.h>

#include "wandb_read.h"

const char *ws_status_of_state(const char *state)
{
    if (!state)
        return NULL;
    if (!strcmp(state, "finished"))
        return "COMPLETED";
    if (!strcmp(state, "failed") || !strcmp(state, "crashed"))
        return "FAILED";
    if (!strcmp(state, "killed") || !strcmp(state, "preempted"))
        return "CANCELLED";
    return "RUNNING"; /* running, pending, preempting */
}

struct json_object *wsr_vars3(struct ws_reader *r, const char *runkey)
{
    struct json_object *v = json_object_new_object();
    json_object_object_add(v, "entity", json_object_new_string(r->entity));
    json_object_object_add(v, "project", json_object_new_string(r->project));
    json_object_object_add(v, runkey, json_object_new_string(r->run_name));
    return v;
}

/* A JSONString field: a string holding JSON, or (lenient) the JSON itself. */
int wsr_json_string_field(struct json_object **out, struct json_object *node,
                          const char *key)
{
    *out = NULL;
    struct json_object *f = wapi_path(node, key);
    if (!f)
        return 0;
    if (!json_object_is_type(f, json_type_string)) {
        *out = json_object_get(f);
        return 0;
    }
    /* a JSON text inside the answer, priced on its own like one */
    return xp_json_parse_answer(out, json_object_get_string(f),
                                (size_t)json_object_get_string_len(f), key, NULL);
}

void wsr_add_file(struct ws_reader *r, const char *name, const char *url,
                  int auth, const char *md5, int64_t size,
                  const char *artifact, const char *ctype)
{
    if (r->nfiles == r->capfiles) {
        r->capfiles = r->capfiles ? r->capfiles * 2 : 16;
        r->files = xp_realloc(r->files, r->capfiles * sizeof(*r->files));
    }
    struct rfile *f = &r->files[r->nfiles++];
    memset(f, 0, sizeof(*f));
    f->name = xp_strdup(name);
    f->url = xp_strdup(url);
    f->auth = auth;
    f->md5 = md5 && *md5 ? xp_strdup(md5) : NULL;
    f->size = size;
    f->artifact = artifact ? xp_strdup(artifact) : NULL;
    f->content_type = ctype && *ctype ? xp_strdup(ctype) : NULL;
    f->kind = artifact             ? RF_PLAIN
              : wxf_is_others(name) ? RF_OTHERS
              : wxf_is_track(name)  ? RF_TRACK
              : wxf_is_fields(name) ? RF_FIELDS
                                    : RF_PLAIN;
}

static int ensure_tmpdir(struct ws_reader *r)
{
    if (r->tmpdir)
        return 0;
    return xp_tempdir(&r->tmpdir, "xport-wandb");
}

/* Download a file into the reader's temporary folder; *path gets it. */
int wsr_download(struct ws_reader *r, const struct rfile *f, char **path)
{
    int rc = ensure_tmpdir(r);
    if (rc)
        return rc;
    static unsigned long seq;
    struct xp_buf p = XP_BUF_INIT;
    xp_buf_printf(&p, "%s/f%lu", r->tmpdir,
                  __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
    struct xp_http_request req = {
        .url = f->url,
        .out_path = p.ptr,
        .expect_md5 = f->md5,
        .flags = f->auth ? 0 : XP_HTTP_NO_AUTH,
        .cred = f->auth ? r->a->api.cred : NULL,
    };
    if (f->md5 && f->size >= 0) {
        /* the size that goes with the checksum: a longer body is stopped
         * as soon as it passes it */
        req.expect_size = f->size;
        req.flags |= XP_HTTP_CHECK_SIZE;
    }
    struct xp_http_response resp = XP_HTTP_RESPONSE_INIT;
    rc = xp_http_request(r->a->api.http, &req, &resp);
    xp_http_response_release(&resp);
    if (rc) {
        rc = xp_error_wrap(rc, "downloading '%s' of W&B run '%s/%s/%s'",
                           f->name, r->entity, r->project, r->run_name);
        xp_buf_release(&p);
        return rc;
    }
    *path = xp_buf_detach(&p);
    return 0;
}

const struct rfile *wsr_find_file(struct ws_reader *r, const char *name)
{
    for (size_t i = 0; i < r->nfiles; i++)
        if (!r->files[i].artifact && r->files[i].kind == RF_PLAIN &&
            !strcmp(r->files[i].name, name))
            return &r->files[i];
    return NULL;
}

/* Call fn for each line of a downloaded file. */
int wsr_each_line(struct ws_reader *r, const char *path,
                  int (*fn)(struct ws_reader *, const char *, size_t, int))
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return xp_error_set_os(XP_EIO, "cannot open '%s'", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (!rc && (n = getline(&line, &cap, fp)) > 0) {
        int nl = line[n - 1] == '\n';
        rc = fn(r, line, (size_t)n - (size_t)nl, nl);
    }
    free(line);
    fclose(fp);
    return rc;
}

