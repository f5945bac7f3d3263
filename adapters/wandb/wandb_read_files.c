/* The W&B server reader's run files, artifacts (manifests and their files)
 * and xport's own run files (wandb_read.h). */
#define _GNU_SOURCE
#include "wandb_read.h"

static const char Q_FILES[] =
    "query RunFiles($project: String!, $entity: String!, $name: String!, "
    "$fileCursor: String, $fileLimit: Int = 50) { "
    "project(name: $project, entityName: $entity) { run(name: $name) { "
    "fileCount files(after: $fileCursor, first: $fileLimit) { "
    "edges { node { id name url directUrl sizeBytes mimetype updatedAt md5 } "
    "} pageInfo { endCursor hasNextPage } } } } }";

static const char Q_ARTIFACTS[] =
    "query RunOutputArtifacts($entity: String!, $project: String!, "
    "$run: String!, $cursor: String, $perPage: Int) { "
    "project(entityName: $entity, name: $project) { run(name: $run) { "
    "artifacts: outputArtifacts(after: $cursor, first: $perPage) { "
    "pageInfo { endCursor hasNextPage } edges { node { id "
    "artifactSequence { name } versionIndex artifactType { name } digest "
    "description metadata historyStep tags { name } aliases { alias } } "
    "} } } } }";

static const char Q_MANIFEST[] =
    "query ArtifactManifest($artifact_id: ID!) { artifact(id: $artifact_id) "
    "{ currentManifest { file { directUrl } } } }";

static const char Q_ARTIFACT_FILES[] =
    "query ArtifactFileURLs($id: ID!, $cursor: String, $perPage: Int) { "
    "artifact(id: $id) { files(after: $cursor, first: $perPage) { "
    "pageInfo { endCursor hasNextPage } "
    "edges { node { name directUrl } } } } }";

/* Run files that are the server's rendering of file_stream data; their
 * content comes out as history, system series, logs and summary. */
static int is_stream_file(const char *name)
{
    return !strcmp(name, "output.log") || !strcmp(name, "wandb-summary.json") ||
           !strcmp(name, "wandb-history.jsonl") ||
           !strcmp(name, "wandb-events.jsonl");
}

static int one_file(struct json_object *node, void *arg)
{
    struct ws_reader *r = arg;
    const char *name = xp_json_str(node, "name");
    const char *direct = xp_json_str(node, "directUrl");
    const char *url = xp_json_str(node, "url");
    if (!name || (!direct && !url))
        return 0;
    if (!xp_relpath_safe(name)) /* skipped with a warning, it left exit 0 */
        return xp_error_set(XP_EINVALID, "W&B run '%s': file '%s' has an unsafe "
                            "name; refusing it", r->run_name, name);
    wsr_add_file(r, name, direct ? direct : url, !direct, xp_json_str(node, "md5"),
             wapi_node_int(node, "sizeBytes", -1), NULL, xp_json_str(node, "mimetype"));
    return 0;
}

int wsr_list_files(struct ws_reader *r)
{
    struct json_object *v = wsr_vars3(r, "name");
    int rc = wapi_each_node(&r->a->api, "RunFiles", Q_FILES, v, "fileLimit",
                            r->a->per_page, "fileCursor", "project.run.files", NULL,
                            NULL, one_file, r);
    json_object_put(v);
    return rc;
}

/* What the layout keeps of an artifact besides its files, in the vendor
 * object's "artifacts" list: the W&B writer makes it again from there. */
static int vendor_artifact(struct ws_reader *r, struct json_object *node,
                           const char *seq)
{
    struct json_object *md;
    int rc = wsr_json_string_field(&md, node, "metadata");
    if (rc)
        return xp_error_wrap(rc, "W&B artifact '%s'", seq);
    struct json_object *e = json_object_new_object();
    json_object_object_add(e, "name", json_object_new_string(seq));
    struct xp_buf v = XP_BUF_INIT;
    xp_buf_printf(&v, "v%" PRId64, wapi_node_int(node, "versionIndex", 0));
    json_object_object_add(e, "version", json_object_new_string(v.ptr));
    xp_buf_release(&v);
    const char *type = xp_json_str(wapi_path(node, "artifactType"), "name");
    if (type)
        json_object_object_add(e, "type", json_object_new_string(type));
    struct json_object *al = json_object_new_array();
    struct json_object *src = wapi_path(node, "aliases");
    size_t n = src && json_object_is_type(src, json_type_array)
                   ? json_object_array_length(src) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *a = xp_json_str(json_object_array_get_idx(src, i), "alias");
        if (a)
            json_object_array_add(al, json_object_new_string(a));
    }
    json_object_object_add(e, "aliases", al);
    const char *desc = xp_json_str(node, "description");
    if (desc)
        json_object_object_add(e, "description", json_object_new_string(desc));
    if (md && json_object_is_type(md, json_type_object))
        json_object_object_add(e, "metadata", md);
    else
        json_object_put(md);
    src = wapi_path(node, "tags");
    n = src && json_object_is_type(src, json_type_array)
            ? json_object_array_length(src) : 0;
    if (n) {
        struct json_object *tl = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
            const char *t = xp_json_str(json_object_array_get_idx(src, i),
                                        "name");
            if (t)
                json_object_array_add(tl, json_object_new_string(t));
        }
        json_object_object_add(e, "tags", tl);
    }
    struct json_object *hs = wapi_path(node, "historyStep");
    if (hs && json_object_is_type(hs, json_type_int))
        json_object_object_add(e, "historyStep", json_object_get(hs));
    const char *dg = xp_json_str(node, "digest");
    if (dg)
        json_object_object_add(e, "digest", json_object_new_string(dg));
    struct json_object *list = wapi_path(r->vendor, "artifacts");
    if (!list) {
        list = json_object_new_array();
        json_object_object_add(r->vendor, "artifacts", list);
    }
    json_object_array_add(list, e);
    return 0;
}

static int one_file_url(struct json_object *node, void *arg)
{
    const char *nm = xp_json_str(node, "name");
    const char *u = xp_json_str(node, "directUrl");
    if (nm && u)
        json_object_object_add(arg, nm, json_object_new_string(u));
    return 0;
}

/* The artifact's manifest (wandb.md §1.9): path -> digest, size. */
static int artifact_files(struct ws_reader *r, struct json_object *node)
{
    const char *id = xp_json_str(node, "id");
    const char *seq = xp_json_str(wapi_path(node, "artifactSequence"), "name");
    if (!id || !seq)
        return 0;
    struct json_object *mv = json_object_new_object(), *md = NULL;
    json_object_object_add(mv, "artifact_id", json_object_new_string(id));
    int mrc = wapi_gql(&r->a->api, "ArtifactManifest", Q_MANIFEST, mv, &md);
    json_object_put(mv);
    if (mrc)
        return mrc;
    const char *murl = xp_json_str(wapi_path(md, "artifact.currentManifest.file"),
                                   "directUrl");
    if (!murl) {
        json_object_put(md);
        return 0;
    }
    if ((mrc = vendor_artifact(r, node, seq))) {
        json_object_put(md);
        return mrc;
    }
    struct xp_buf label = XP_BUF_INIT;
    xp_buf_printf(&label, "%s:v%" PRId64, seq,
                  wapi_node_int(node, "versionIndex", 0));
    struct rfile mf = {.name = "wandb_manifest.json", .url = (char *)murl};
    char *mpath = NULL;
    struct json_object *man = NULL, *urls = json_object_new_object();
    int rc = wsr_download(r, &mf, &mpath);
    if (!rc)
        rc = xp_json_read_file(&man, mpath);
    /* the files' wsr_download URLs */
    if (!rc) {
        struct json_object *v = json_object_new_object();
        json_object_object_add(v, "id", json_object_new_string(id));
        rc = wapi_each_node(&r->a->api, "ArtifactFileURLs", Q_ARTIFACT_FILES, v,
                            "perPage", r->a->per_page, "cursor", "artifact.files",
                            NULL, NULL,
                            one_file_url, urls);
        json_object_put(v);
    }
    struct json_object *contents = wapi_path(man, "contents");
    if (!rc && contents && json_object_is_type(contents, json_type_object)) {
        json_object_object_foreach(contents, path, entry) {
            const char *u = xp_json_str(urls, path);
            if (xp_json_str(entry, "ref")) {
                xp_ctx_warn(r->a->base.ctx,
                            "W&B artifact '%s': '%s' is a reference to '%s', "
                            "not downloaded",
                            label.ptr, path, xp_json_str(entry, "ref"));
                continue;
            }
            if (!u || !xp_relpath_safe(path)) {
                xp_ctx_warn(r->a->base.ctx,
                            "W&B artifact '%s': no wsr_download for '%s'",
                            label.ptr, path);
                continue;
            }
            wsr_add_file(r, path, u, 0, xp_json_str(entry, "digest"),
                     wapi_node_int(entry, "size", -1), label.ptr, NULL);
        }
    }
    if (mpath) {
        unlink(mpath);
        free(mpath);
    }
    json_object_put(man);
    json_object_put(urls);
    json_object_put(md);
    xp_buf_release(&label);
    return rc;
}

static int one_artifact(struct json_object *node, void *arg)
{
    return artifact_files(arg, node);
}

int wsr_list_artifacts(struct ws_reader *r)
{
    struct json_object *v = wsr_vars3(r, "run");
    int rc = wapi_each_node(&r->a->api, "RunOutputArtifacts", Q_ARTIFACTS, v, "perPage",
                            r->a->per_page, "cursor", "project.run.artifacts", NULL, NULL,
                            one_artifact, r);
    json_object_put(v);
    return rc;
}

/* A file with a reserved name whose reading said XP_EINVALID (the message
 * says why) is not xport's: it is read as a plain run file, with a
 * warning. Other results pass through. */
static int not_xport_file(struct ws_reader *r, struct rfile *f, int rc)
{
    if (rc != XP_EINVALID)
        return rc;
    xp_ctx_warn(r->a->base.ctx, "W&B run '%s': %s; it is read as a file",
                r->run_name, xp_error_last()->message);
    xp_error_clear();
    f->kind = RF_PLAIN;
    return 0;
}

/* xport's own run files (wandb_xfiles.h), fetched before the records
 * start: the others document, the map of split series, and the tracks
 * (checked, read later). One that does not read as such stays a plain run
 * file. */
int wsr_load_xfiles(struct ws_reader *r)
{
    int rc = 0;
    for (size_t i = 0; i < r->nfiles && !rc; i++) {
        struct rfile *f = &r->files[i];
        int want = f->kind == RF_OTHERS
                       ? (r->resources & XP_RES_OTHERS) && !r->only_series
                   : f->kind == RF_TRACK ? (r->resources & XP_RES_METRICS) != 0
                   : f->kind == RF_FIELDS
                       ? (r->resources & (XP_RES_METRICS | XP_RES_SYSTEM)) != 0
                       : 0;
        if (!want)
            continue;
        char *path = NULL;
        if ((rc = wsr_download(r, f, &path)))
            break;
        if (f->kind == RF_OTHERS) {
            struct json_object *o = NULL;
            if (xp_json_read_file(&o, path) == 0 &&
                json_object_is_type(o, json_type_object)) {
                json_object_put(r->others);
                r->others = o;
            } else {
                xp_error_clear();
                json_object_put(o);
                f->kind = RF_PLAIN;
                xp_ctx_warn(r->a->base.ctx,
                            "W&B run '%s': '%s' is not an others document "
                            "written by xport; it is read as a file",
                            r->run_name, f->name);
            }
            unlink(path);
            free(path);
            continue;
        }
        if (f->kind == RF_FIELDS) {
            rc = not_xport_file(r, f, wmerge_load(&r->merge, path, f->name,
                                                  r->a->base.ctx));
            unlink(path);
            free(path);
            continue;
        }
        struct wxf_track_in t;
        rc = not_xport_file(r, f, wxf_track_in_open(&t, path, f->name));
        if (!rc && f->kind == RF_TRACK &&
            (!r->only_series || !strcmp(r->only_series, t.name))) {
            f->local = path;
            path = NULL;
        }
        wxf_track_in_release(&t);
        if (path) {
            unlink(path);
            free(path);
        }
    }
    return rc;
}

/* The next record of the tracks: 1 with r->rec set, 0 when none is left. */
int wsr_next_track(struct ws_reader *r)
{
    for (;;) {
        if (r->trk_open) {
            const struct xp_point *v;
            size_t n;
            int rc = wxf_track_in_next(&r->trk, &v, &n);
            if (rc == 0) {
                r->rec.kind = XP_REC_POINTS;
                r->rec.u.points.v = v;
                r->rec.u.points.n = n;
                return 1;
            }
            if (rc != XP_ITEROVER)
                return rc;
            wxf_track_in_release(&r->trk);
            r->trk_open = 0;
            r->rec.kind = XP_REC_SERIES_END;
            return 1;
        }
        struct rfile *f = NULL;
        while (r->next_track < r->nfiles && !f) {
            struct rfile *c = &r->files[r->next_track++];
            if (c->kind == RF_TRACK && c->local)
                f = c;
        }
        if (!f)
            return 0;
        int rc = wxf_track_in_open(&r->trk, f->local, f->name);
        r->trk_open = 1;
        if (rc)
            return rc;
        if (r->ro.have_item) {
            struct xp_buf key = XP_BUF_INIT;
            xp_buf_printf(&key, "tracks/%s", r->trk.name);
            int have = r->ro.have_item(r->ro.have_payload, key.ptr);
            xp_buf_release(&key);
            if (have) {
                wxf_track_in_release(&r->trk);
                r->trk_open = 0;
                continue;
            }
        }
        r->rec.kind = XP_REC_SERIES_BEGIN;
        struct xp_series_meta *m = &r->rec.u.series;
        m->name = r->trk.name;
        m->kind = XP_SERIES_TRACK;
        m->description = r->trk.description;
        m->metadata = r->trk.metadata;
        m->expected_points = -1;
        return 1;
    }
}

void wsr_drop_body(struct ws_reader *r)
{
    xp_fd_stream_close(&r->body);
    if (r->body_path) {
        unlink(r->body_path);
        free(r->body_path);
        r->body_path = NULL;
    }
}

/* The next file to emit: 1 with r->rec set, 0 when none is left. */
int wsr_next_file(struct ws_reader *r)
{
    while (r->next_file < r->nfiles) {
        const struct rfile *f = &r->files[r->next_file++];
        if (f->kind != RF_PLAIN || (!f->artifact && is_stream_file(f->name)))
            continue;
        if (f->artifact ? !(r->resources & XP_RES_ARTIFACTS)
                        : !(r->resources & XP_RES_FILES))
            continue;
        if (r->ro.have_item) {
            struct xp_buf key = XP_BUF_INIT;
            if (f->artifact)
                xp_buf_printf(&key, "artifacts/%s/%s", f->artifact, f->name);
            else
                xp_buf_printf(&key, "files/%s", f->name);
            int have = r->ro.have_item(r->ro.have_payload, key.ptr);
            xp_buf_release(&key);
            if (have)
                continue;
        }
        int rc = wsr_download(r, f, &r->body_path);
        if (rc)
            return rc;
        int fd = open(r->body_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return xp_error_set_os(XP_EIO, "cannot open '%s'", r->body_path);
        int64_t size;
        if ((rc = wemit_body_open(&r->body, fd, f->name, r->sha, &size)))
            return rc;
        memset(&r->rec, 0, sizeof(r->rec));
        r->rec.kind = XP_REC_FILE;
        struct xp_file_meta *m = &r->rec.u.file.meta;
        m->path = f->name;
        m->size = size;
        m->sha256 = r->sha;
        m->vendor_checksum_algo = f->md5 ? "md5" : NULL;
        m->vendor_checksum = f->md5;
        m->content_type = f->content_type;
        m->artifact = f->artifact;
        r->rec.u.file.body = &r->body.base;
        return 1;
    }
    return 0;
}
