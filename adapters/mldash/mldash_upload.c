/* Uploading an experiment's files to an ml-dash server: those it already
 * holds (same path and checksum) are left alone, the rest go several at
 * once as multipart requests. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mldash_write.h"
#include "xport/error.h"
#include "xport/json.h"

/* Files the server already has, as "<rel>\n<sha256>" keys. */
static int files_held(struct mld_sink *s, struct json_object *have)
{
    struct mld *m = s->m;
    struct json_object *d = NULL;
    int rc;
    if (m->gen == 5) {
        struct xp_buf url = XP_BUF_INIT;
        mld_url(&url, m, "/experiments/%s/files", s->exp_id);
        rc = mld_json(m, NULL, url.ptr, NULL, 0, &d);
        xp_buf_release(&url);
        struct json_object *arr = NULL;
        if (!rc && json_object_object_get_ex(d, "files", &arr)) {
            for (size_t i = 0; i < json_object_array_length(arr); i++) {
                struct json_object *f = json_object_array_get_idx(arr, i), *del = NULL;
                if (json_object_object_get_ex(f, "deletedAt", &del) && del)
                    continue;
                const char *p = xp_json_str(f, "path"), *fn = xp_json_str(f, "filename");
                const char *ck = xp_json_str(f, "checksum");
                if (!fn || !ck)
                    continue;
                while (p && *p == '/')
                    p++;
                struct xp_buf k = XP_BUF_INIT;
                xp_buf_printf(&k, "%s%s%s\n%s", p && *p ? p : "", p && *p ? "/" : "",
                              fn, ck);
                json_object_object_add(have, k.ptr, NULL);
                xp_buf_release(&k);
            }
        }
        json_object_put(d);
        return rc;
    }
    /* v0.6: pPath ends in "/<rel>" below the experiment node */
    struct json_object *vars = json_object_new_object();
    json_object_object_add(vars, "id", json_object_new_string(s->exp_id));
    rc = 0;
    for (int offset = 0; !rc; offset += 500) {
        json_object_object_add(vars, "offset", json_object_new_int(offset));
        rc = mld_graphql(m, "F", "query F($id: ID!, $offset: Int) { experimentById(id: $id) { "
                            "filesPaginated(limit: 500, offset: $offset) { files { pPath "
                            "physicalFile { checksum } } hasMore } } }", vars, &d);
        if (rc)
            break;
        struct json_object *e = NULL, *page = NULL, *arr = NULL, *more = NULL;
        json_object_object_get_ex(d, "experimentById", &e);
        json_object_object_get_ex(e, "filesPaginated", &page);
        json_object_object_get_ex(page, "files", &arr);
        json_object_object_get_ex(page, "hasMore", &more);
        size_t n = arr ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n; i++) {
            struct json_object *f = json_object_array_get_idx(arr, i), *ph = NULL;
            json_object_object_get_ex(f, "physicalFile", &ph);
            const char *pp = xp_json_str(f, "pPath"), *ck = xp_json_str(ph, "checksum");
            if (!pp || !ck)
                continue;
            struct xp_buf k = XP_BUF_INIT;
            xp_buf_printf(&k, "%s\n%s", pp, ck);
            json_object_object_add(have, k.ptr, NULL);
            xp_buf_release(&k);
        }
        int go = n > 0 && json_object_get_boolean(more);
        json_object_put(d);
        d = NULL;
        if (!go)
            break;
    }
    json_object_put(vars);
    return rc;
}

static int file_present(struct mld_sink *s, struct json_object *have, const struct wfile *f)
{
    if (s->m->gen == 5) {
        struct xp_buf k = XP_BUF_INIT;
        xp_buf_printf(&k, "%s\n%s", f->rel, f->sha256);
        int yes = json_object_object_get_ex(have, k.ptr, NULL);
        xp_buf_release(&k);
        return yes;
    }
    size_t rl = strlen(f->rel);
    json_object_object_foreach(have, key, v) {
        (void)v;
        const char *nl = strrchr(key, '\n');
        size_t pl = (size_t)(nl - key);
        if (!strcmp(nl + 1, f->sha256) && pl > rl && key[pl - rl - 1] == '/' &&
            !strncmp(key + pl - rl, f->rel, rl))
            return 1;
    }
    return 0;
}

int mld_send_files(struct mld_sink *s)
{
    if (!s->nfiles)
        return 0;
    struct mld *m = s->m;
    struct json_object *have = json_object_new_object();
    int rc = files_held(s, have);
    size_t w = (size_t)m->max_files;
    struct xp_http_request *rq = xp_calloc(w, sizeof(*rq));
    struct xp_http_response *rs = xp_calloc(w, sizeof(*rs));
    struct xp_http_part (*parts)[9] = xp_calloc(w, sizeof(*parts));
    struct xp_buf *bufs = xp_calloc(w * 4, sizeof(*bufs)); /* url, prefix, md, parent */
    for (size_t j = 0; j < w * 4; j++)
        xp_buf_init(&bufs[j]);
    for (size_t i = 0; i < s->nfiles && !rc;) {
        size_t k = 0;
        for (; i < s->nfiles && k < w && !rc; i++) {
            struct wfile *f = &s->files[i];
            if (file_present(s, have, f))
                continue; /* same path, name and checksum: already there */
            struct xp_buf *url = &bufs[k * 4], *pre = &bufs[k * 4 + 1],
                          *md = &bufs[k * 4 + 2], *par = &bufs[k * 4 + 3];
            xp_buf_reset(url);
            xp_buf_reset(pre);
            xp_buf_reset(md);
            xp_buf_reset(par);
            const char *slash = strrchr(f->rel, '/');
            const char *fname = slash ? slash + 1 : f->rel;
            struct xp_http_part *p = parts[k];
            size_t np = 0;
            if (f->metadata)
                xp_json_put_obj(md, f->metadata, 0);
            if (m->gen == 6) {
                /* folders below the experiment node, then the FILE node */
                char *parent = xp_strdup(s->node_id);
                if (slash) {
                    char *dir = xp_strndup(f->rel, (size_t)(slash - f->rel)), *save = NULL;
                    for (char *seg = strtok_r(dir, "/", &save); seg && !rc;
                         seg = strtok_r(NULL, "/", &save)) {
                        char *id = NULL;
                        rc = mld_create_folder(s, parent, seg, 1, &id);
                        free(parent);
                        parent = id;
                    }
                    free(dir);
                }
                if (rc) {
                    free(parent);
                    break;
                }
                xp_buf_puts(par, parent);
                free(parent);
                mld_url(url, m, "/namespaces/");
                xp_http_put_segment(url, m->ns);
                xp_buf_puts(url, "/nodes");
                p[np++] = (struct xp_http_part){"type", "FILE", 4, NULL, NULL, NULL};
                p[np++] = (struct xp_http_part){"experimentId", s->exp_id,
                                                strlen(s->exp_id), NULL, NULL, NULL};
                p[np++] = (struct xp_http_part){"parentId", par->ptr, par->len, NULL,
                                                NULL, NULL};
                p[np++] = (struct xp_http_part){"name", fname, strlen(fname), NULL, NULL,
                                                NULL};
            } else {
                mld_url(url, m, "/experiments/%s/files", s->exp_id);
                xp_buf_putc(pre, '/');
                if (slash)
                    xp_buf_put(pre, f->rel, (size_t)(slash - f->rel));
                p[np++] = (struct xp_http_part){"prefix", pre->ptr, pre->len, NULL, NULL,
                                                NULL};
                char *sz = xp_malloc(24);
                snprintf(sz, 24, "%" PRId64, f->size);
                xp_buf_puts(par, sz); /* par holds the size here */
                free(sz);
                p[np++] = (struct xp_http_part){"sizeBytes", par->ptr, par->len, NULL,
                                                NULL, NULL};
            }
            p[np++] = (struct xp_http_part){"checksum", f->sha256, 64, NULL, NULL, NULL};
            if (md->len)
                p[np++] = (struct xp_http_part){"metadata", md->ptr, md->len, NULL, NULL,
                                                "application/json"};
            p[np++] = (struct xp_http_part){"file", NULL, 0, f->tmp, fname,
                                            f->ctype ? f->ctype : "application/octet-stream"};
            memset(&rq[k], 0, sizeof(rq[k]));
            rq[k].method = "POST";
            rq[k].url = url->ptr;
            rq[k].parts = p;
            rq[k].nparts = np;
            rq[k].cred = m->cred; /* same path and name replace: safe to retry */
            xp_http_response_init(&rs[k]);
            k++;
        }
        if (k && !rc) {
            rc = xp_http_batch(m->base.ctx->http, rq, rs, k);
            if (rc)
                rc = xp_error_wrap(rc, "uploading files of '%s'", s->name);
        }
        for (size_t j = 0; j < k; j++)
            xp_http_response_release(&rs[j]);
    }
    for (size_t j = 0; j < w * 4; j++)
        xp_buf_release(&bufs[j]);
    free(bufs);
    free(parts);
    free(rq);
    free(rs);
    json_object_put(have);
    return rc;
}
