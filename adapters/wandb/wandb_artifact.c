/* Writing a run's artifacts to a W&B server (wandb_artifact.h). The
 * protocol facts (operation names, input and answer fields, manifest
 * format, digest rule, deduplication by digest) are from the W&B SDK:
 * core/api/graphql/mutation_{create_artifact,create_artifact_manifest,
 * create_artifact_files,commit_artifact}.graphql, core/pkg/artifacts/
 * saver.go, wandb/sdk/internal/internal_api.py, wandb/sdk/artifacts/
 * artifact_saver.py and artifact_manifests/artifact_manifest_v1.py. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/json.h"
#include "xport/numparse.h"
#include "xport/stream.h"
#include "wandb_artifact.h"
#include "wandb_upload.h"

/* Upload URLs asked for per CreateArtifactFiles request. */
#define FILES_PER_REQUEST 100

static const char M_CREATE[] =
    "mutation CreateArtifact($input: CreateArtifactInput!) { "
    "createArtifact(input: $input) { artifact { id state "
    "artifactSequence { latestArtifact { id } } } } }";

/* type is left to the server's default, FULL, as the Python SDK does for
 * servers that predate the field */
static const char M_MANIFEST[] =
    "mutation CreateArtifactManifest($artifactID: ID!, $baseArtifactID: ID, "
    "$name: String!, $digest: String!, $entityName: String!, "
    "$projectName: String!, $runName: String!, $includeUpload: Boolean!) { "
    "createArtifactManifest(input: {artifactID: $artifactID, "
    "baseArtifactID: $baseArtifactID, name: $name, digest: $digest, "
    "entityName: $entityName, projectName: $projectName, runName: $runName}) "
    "{ artifactManifest { id file { id "
    "uploadUrl @include(if: $includeUpload) "
    "uploadHeaders @include(if: $includeUpload) } } } }";

static const char M_FILES[] =
    "mutation CreateArtifactFiles($artifactFiles: "
    "[CreateArtifactFileSpecInput!]!, $storageLayout: ArtifactStorageLayout!) "
    "{ createArtifactFiles(input: {artifactFiles: $artifactFiles, "
    "storageLayout: $storageLayout}) { files { edges { node { uploadUrl "
    "uploadHeaders artifact { id } } } } } }";

static const char M_COMMIT[] =
    "mutation CommitArtifact($artifactID: ID!) { commitArtifact(input: "
    "{artifactID: $artifactID}) { artifact { id digest } } }";

/* The version W&B gave (ArtifactByID of the Python public API) */
static const char Q_VERSION[] =
    "query ArtifactByID($id: ID!) { artifact(id: $id) { id versionIndex } }";

void wart_set_init(struct wart_set *s)
{
    memset(s, 0, sizeof(*s));
}

static struct wart *find_or_add(struct wart_set *s, const char *label)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].label, label))
            return &s->v[i];
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 4;
        s->v = xp_realloc(s->v, s->cap * sizeof(*s->v));
    }
    struct wart *a = &s->v[s->n++];
    memset(a, 0, sizeof(*a));
    a->label = xp_strdup(label);
    return a;
}

static void file_release(struct wart_file *f)
{
    if (f->tmp)
        unlink(f->tmp);
    free(f->tmp);
    free(f->path);
    free(f->birth);
    memset(f, 0, sizeof(*f));
}

int wart_add(struct wart_set *s, const char *dir, const struct xp_file_meta *m,
             struct xp_stream *body)
{
    struct xp_buf p = XP_BUF_INIT;
    xp_buf_printf(&p, "%s/artifact-%lu", dir, ++s->seq);
    struct xp_md5 md5;
    xp_md5_init(&md5);
    int64_t size = 0;
    int rc = xp_stream_save(body, p.ptr, &md5, &size, NULL);
    if (rc) {
        xp_buf_release(&p);
        return rc;
    }
    struct wart *a = find_or_add(s, m->artifact);
    struct wart_file *f = NULL;
    for (size_t i = 0; i < a->n && !f; i++)
        if (!strcmp(a->files[i].path, m->path))
            f = &a->files[i]; /* the same path again: the later one wins */
    if (f) {
        file_release(f);
    } else {
        if (a->n == a->cap) {
            a->cap = a->cap ? 2 * a->cap : 8;
            a->files = xp_realloc(a->files, a->cap * sizeof(*a->files));
        }
        f = &a->files[a->n++];
        memset(f, 0, sizeof(*f));
    }
    unsigned char dig[16];
    xp_md5_final(&md5, dig);
    xp_base64(f->md5, dig, 16);
    f->path = xp_strdup(m->path);
    f->tmp = xp_buf_detach(&p);
    f->size = size;
    return 0;
}

void wart_set_release(struct wart_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        for (size_t k = 0; k < s->v[i].n; k++)
            file_release(&s->v[i].files[k]);
        free(s->v[i].files);
        free(s->v[i].label);
    }
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* ---- saving ------------------------------------------------------------- */

/* "name:version" split on its last colon; version NULL when there is
 * none. *name is allocated. */
static void split_label(const char *label, char **name, const char **version)
{
    const char *c = strrchr(label, ':');
    *name = c ? xp_strndup(label, (size_t)(c - label)) : xp_strdup(label);
    *version = c ? c + 1 : NULL;
}

/* The version number of "vN", or -1. */
static int64_t version_number(const char *v)
{
    int64_t n;
    if (!v || v[0] != 'v' || v[1] < '0' || v[1] > '9' || xp_parse_i64(v + 1, &n))
        return -1;
    return n;
}

static int label_cmp(const void *x, const void *y)
{
    const struct wart *a = x, *b = y;
    char *na, *nb;
    const char *va, *vb;
    split_label(a->label, &na, &va);
    split_label(b->label, &nb, &vb);
    int c = strcmp(na, nb);
    if (!c) {
        int64_t ia = version_number(va), ib = version_number(vb);
        c = ia < ib ? -1 : ia > ib ? 1 : strcmp(a->label, b->label);
    }
    free(na);
    free(nb);
    return c;
}

static int path_cmp(const void *x, const void *y)
{
    return strcmp(((const struct wart_file *)x)->path,
                  ((const struct wart_file *)y)->path);
}

/* The manifest digest (wandb.md §1.9, ArtifactManifestV1.digest): hex MD5
 * of "wandb-artifact-manifest-v1\n" and "<path>:<digest>\n" per entry in
 * path order (the files are sorted). */
static void manifest_digest(const struct wart *a, char hex[33])
{
    static const char head[] = "wandb-artifact-manifest-v1\n";
    struct xp_md5 c;
    xp_md5_init(&c);
    xp_md5_update(&c, head, sizeof(head) - 1);
    for (size_t i = 0; i < a->n; i++) {
        xp_md5_update(&c, a->files[i].path, strlen(a->files[i].path));
        xp_md5_update(&c, ":", 1);
        xp_md5_update(&c, a->files[i].md5, strlen(a->files[i].md5));
        xp_md5_update(&c, "\n", 1);
    }
    unsigned char d[16];
    xp_md5_final(&c, d);
    xp_hex(hex, d, 16);
}

/* The vendor object's description of the artifact: the entry with this
 * name and version, else one with this name and no version (what the
 * wandb-offline reader records). Borrowed; NULL when none. */
static struct json_object *vendor_entry(struct json_object *vendor,
                                        const char *name, const char *version)
{
    struct json_object *arr = xp_json_get(vendor, "artifacts"), *loose = NULL;
    size_t n = arr && json_object_is_type(arr, json_type_array)
                   ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(arr, i);
        const char *en = xp_json_str(e, "name"), *ev = xp_json_str(e, "version");
        if (!en || strcmp(en, name))
            continue;
        if (ev && version && !strcmp(ev, version))
            return e;
        if (!ev && !loose)
            loose = e;
    }
    return loose;
}

/* A client id for the artifact and its sequence: random, as the SDK's. */
static void client_id(char out[33])
{
    unsigned char r[16];
    if (getentropy(r, sizeof(r)) != 0) {
        /* no entropy source: unique enough for a client-side handle */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        char seed[64];
        int n = snprintf(seed, sizeof(seed), "%ld.%ld.%ld", (long)ts.tv_sec,
                         ts.tv_nsec, (long)getpid());
        char hex[65];
        xp_sha256_hex(hex, seed, (size_t)n);
        memcpy(out, hex, 32);
        out[32] = '\0';
        return;
    }
    xp_hex(out, r, sizeof(r));
}

struct saving {
    const struct wart_target *t;
    struct wart *a;
    char *name;          /* the artifact's collection name */
    const char *version; /* as the source has it, or NULL */
    char digest[33];
    char *id;            /* the server's artifact id */
    char *base_id;       /* the sequence's latest version, or NULL */
    char *manifest_id;
};

static void add_str(struct json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static struct json_object *create_input(struct saving *sv)
{
    const struct wart_target *t = sv->t;
    struct json_object *e = vendor_entry(t->vendor, sv->name, sv->version);
    struct json_object *in = json_object_new_object();
    add_str(in, "entityName", t->entity);
    add_str(in, "projectName", t->project);
    add_str(in, "runName", t->run);
    const char *type = xp_json_str(e, "type");
    if (!type) {
        type = "dataset";
        xp_ctx_warn(t->ctx,
                    "W&B run '%s': artifact '%s' has no type in the source; "
                    "it is written as type '%s'",
                    t->run, sv->a->label, type);
    }
    add_str(in, "artifactTypeName", type);
    add_str(in, "artifactCollectionName", sv->name);
    add_str(in, "digest", sv->digest);
    add_str(in, "digestAlgorithm", "MANIFEST_MD5");
    json_object_object_add(in, "enableDigestDeduplication",
                           json_object_new_boolean(1));
    char cid[33], sid[33];
    client_id(cid);
    client_id(sid);
    add_str(in, "clientID", cid);
    add_str(in, "sequenceClientID", sid);
    const char *desc = xp_json_str(e, "description");
    if (desc)
        add_str(in, "description", desc);
    struct json_object *md = xp_json_get(e, "metadata");
    if (md && json_object_is_type(md, json_type_object)) {
        struct xp_buf b = XP_BUF_INIT;
        if (!xp_json_put_obj(&b, md, 0))
            json_object_object_add(in, "metadata",
                                   json_object_new_string_len(b.ptr,
                                                              (int)b.len));
        xp_buf_release(&b);
    }
    struct json_object *al = json_object_new_array();
    size_t n;
    const char **aliases = xp_json_strings(e, "aliases", &n);
    for (size_t i = 0; aliases && i < n; i++) {
        struct json_object *x = json_object_new_object();
        add_str(x, "artifactCollectionName", sv->name);
        add_str(x, "alias", aliases[i]);
        json_object_array_add(al, x);
    }
    free(aliases);
    json_object_object_add(in, "aliases", al);
    /* tags are an input only since server 0.58: sent only when there are */
    const char **tags = xp_json_strings(e, "tags", &n);
    if (tags && n) {
        struct json_object *tl = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
            struct json_object *x = json_object_new_object();
            add_str(x, "tagName", tags[i]);
            json_object_array_add(tl, x);
        }
        json_object_object_add(in, "tags", tl);
    }
    free(tags);
    struct json_object *hs = xp_json_get(e, "historyStep");
    if (hs && json_object_is_type(hs, json_type_int))
        json_object_object_add(in, "historyStep",
                               json_object_new_int64(json_object_get_int64(hs)));
    return in;
}

static int64_t int_of(struct json_object *o, const char *path, int64_t def)
{
    struct json_object *v = wapi_path(o, path);
    return v && (json_object_is_type(v, json_type_int) ||
                 json_object_is_type(v, json_type_string))
               ? json_object_get_int64(v) : def;
}

/* The version W&B gave must be the one the source had: it names the
 * artifact's files (artifacts/<name:version>/...). */
static void check_version(struct saving *sv, int64_t index)
{
    if (index < 0)
        return;
    struct xp_buf got = XP_BUF_INIT;
    xp_buf_printf(&got, "%s:v%" PRId64, sv->name, index);
    if (strcmp(got.ptr, sv->a->label))
        xp_sink_drop(sv->t->sink, sv->t->ctx,
                     "W&B run '%s': artifact '%s' is '%s' on W&B (W&B numbers "
                     "the versions of '%s' itself)",
                     sv->t->run, sv->a->label, got.ptr, sv->name);
    xp_buf_release(&got);
}

/* The version W&B numbered the artifact (ArtifactByID); -1 when it gives
 * none. */
static int version_of(struct saving *sv, int64_t *index)
{
    struct json_object *v = json_object_new_object(), *d = NULL;
    add_str(v, "id", sv->id);
    int rc = wapi_gql(sv->t->api, "ArtifactByID", Q_VERSION, v, &d);
    json_object_put(v);
    *index = rc ? -1 : int_of(wapi_path(d, "artifact"), "versionIndex", -1);
    json_object_put(d);
    return rc;
}

/* CreateArtifact: 1 when W&B already has this content (nothing to upload),
 * 0 when the artifact is pending, or an error. */
static int create(struct saving *sv)
{
    struct json_object *v = json_object_new_object(), *d = NULL;
    json_object_object_add(v, "input", create_input(sv));
    int rc = wapi_gql(sv->t->api, "CreateArtifact", M_CREATE, v, &d);
    json_object_put(v);
    if (rc)
        return rc;
    struct json_object *art = wapi_path(d, "createArtifact.artifact");
    const char *id = xp_json_str(art, "id");
    const char *state = xp_json_str(art, "state");
    if (!id || !state) {
        json_object_put(d);
        return xp_error_set(XP_ERROR, "W&B created no artifact");
    }
    sv->id = xp_strdup(id);
    const char *base = xp_json_str(wapi_path(art, "artifactSequence.latestArtifact"),
                                   "id");
    sv->base_id = base ? xp_strdup(base) : NULL;
    if (!strcmp(state, "COMMITTED")) {
        /* deduplicated by digest: the same content is there already */
        json_object_put(d);
        int64_t index;
        if ((rc = version_of(sv, &index)))
            return rc;
        check_version(sv, index);
        return 1;
    }
    /* DELETED is what old servers answer for a new one (saver.go) */
    rc = strcmp(state, "PENDING") && strcmp(state, "DELETED")
             ? xp_error_set(XP_ERROR, "W&B answered artifact state '%s'",
                            state)
             : 0;
    json_object_put(d);
    return rc;
}

static int create_manifest(struct saving *sv, const char *digest, int upload,
                           struct json_object **out)
{
    const struct wart_target *t = sv->t;
    struct json_object *v = json_object_new_object();
    add_str(v, "artifactID", sv->id);
    add_str(v, "baseArtifactID", sv->base_id);
    add_str(v, "name", "wandb_manifest.json");
    add_str(v, "digest", digest);
    add_str(v, "entityName", t->entity);
    add_str(v, "projectName", t->project);
    add_str(v, "runName", t->run);
    json_object_object_add(v, "includeUpload", json_object_new_boolean(upload));
    int rc = wapi_gql(t->api, "CreateArtifactManifest", M_MANIFEST, v, out);
    json_object_put(v);
    if (!rc && !xp_json_str(wapi_path(*out, "createArtifactManifest."
                                            "artifactManifest"), "id")) {
        json_object_put(*out);
        *out = NULL;
        rc = xp_error_set(XP_ERROR, "W&B created no artifact manifest");
    }
    return rc;
}

/* Upload URLs for files [lo, hi) and the PUTs of those W&B does not have
 * yet (no URL: the server holds those bytes already). */
static int upload_batch(struct saving *sv, size_t lo, size_t hi)
{
    struct json_object *specs = json_object_new_array();
    for (size_t i = lo; i < hi; i++) {
        struct json_object *f = json_object_new_object();
        add_str(f, "artifactID", sv->id);
        add_str(f, "artifactManifestID", sv->manifest_id);
        add_str(f, "name", sv->a->files[i].path);
        add_str(f, "md5", sv->a->files[i].md5);
        json_object_array_add(specs, f);
    }
    struct json_object *v = json_object_new_object(), *d = NULL;
    json_object_object_add(v, "artifactFiles", specs);
    /* V1: content-addressed per entity (wandb.md §1.9), the layout the
     * SDK uses with WANDB_USE_V1_ARTIFACTS */
    add_str(v, "storageLayout", "V1");
    int rc = wapi_gql(sv->t->api, "CreateArtifactFiles", M_FILES, v, &d);
    json_object_put(v);
    if (rc)
        return rc;
    struct json_object *edges = wapi_path(d, "createArtifactFiles.files.edges");
    size_t n = edges && json_object_is_type(edges, json_type_array)
                   ? json_object_array_length(edges) : 0;
    if (n != hi - lo) {
        json_object_put(d);
        return xp_error_set(XP_ERROR,
                            "W&B answered %zu upload URLs for %zu files", n,
                            hi - lo);
    }
    for (size_t i = 0; i < n && !rc; i++) {
        struct json_object *node =
            wapi_path(json_object_array_get_idx(edges, i), "node");
        struct wart_file *f = &sv->a->files[lo + i];
        const char *birth = xp_json_str(wapi_path(node, "artifact"), "id");
        free(f->birth);
        f->birth = birth ? xp_strdup(birth) : NULL;
        const char *url = xp_json_str(node, "uploadUrl");
        if (!url)
            continue;
        struct xp_buf what = XP_BUF_INIT;
        xp_buf_printf(&what, "'%s'", f->path);
        rc = wup_put(sv->t->api, url, wapi_path(node, "uploadHeaders"), f->tmp,
                     what.ptr);
        xp_buf_release(&what);
        if (!rc && xp_ctx_cancelled(sv->t->ctx))
            rc = xp_error_set(XP_ECANCEL, "interrupted");
    }
    json_object_put(d);
    return rc;
}

/* wandb_manifest.json (version 1, wandb-storage-policy-v1), its entries
 * with base64 MD5 digest, birth artifact and size. */
static int manifest_json(struct saving *sv, struct xp_buf *b)
{
    xp_buf_puts(b, "{\"version\":1,\"storagePolicy\":\"wandb-storage-policy-v1\","
                   "\"storagePolicyConfig\":{\"storageLayout\":\"V1\"},"
                   "\"contents\":{");
    for (size_t i = 0; i < sv->a->n; i++) {
        const struct wart_file *f = &sv->a->files[i];
        if (i)
            xp_buf_putc(b, ',');
        int rc = xp_json_put_str(b, f->path, strlen(f->path), "artifact path");
        if (rc)
            return rc;
        xp_buf_printf(b, ":{\"digest\":\"%s\"", f->md5);
        if (f->birth) {
            xp_buf_puts(b, ",\"birthArtifactID\":");
            if ((rc = xp_json_put_str(b, f->birth, strlen(f->birth), "id")))
                return rc;
        }
        xp_buf_printf(b, ",\"size\":%" PRId64 "}", f->size);
    }
    xp_buf_puts(b, "}}");
    return 0;
}

static int upload_manifest(struct saving *sv, const char *dir)
{
    struct xp_buf man = XP_BUF_INIT, path = XP_BUF_INIT;
    int rc = manifest_json(sv, &man);
    struct json_object *d = NULL;
    if (!rc) {
        xp_buf_printf(&path, "%s/manifest", dir);
        rc = xp_write_file_atomic(path.ptr, man.ptr, man.len);
    }
    if (!rc) {
        struct xp_md5 c;
        unsigned char dig[16];
        char b64[25];
        xp_md5_init(&c);
        xp_md5_update(&c, man.ptr, man.len);
        xp_md5_final(&c, dig);
        xp_base64(b64, dig, 16);
        rc = create_manifest(sv, b64, 1, &d);
    }
    struct json_object *file =
        wapi_path(d, "createArtifactManifest.artifactManifest.file");
    const char *url = xp_json_str(file, "uploadUrl");
    if (!rc && !url)
        rc = xp_error_set(XP_ERROR, "W&B gave no upload URL for the manifest");
    if (!rc) {
        struct xp_buf what = XP_BUF_INIT;
        xp_buf_puts(&what, "its manifest");
        rc = wup_put(sv->t->api, url, wapi_path(file, "uploadHeaders"),
                     path.ptr, what.ptr);
        xp_buf_release(&what);
    }
    if (path.len)
        unlink(path.ptr);
    json_object_put(d);
    xp_buf_release(&man);
    xp_buf_release(&path);
    return rc;
}

static int commit(struct saving *sv)
{
    struct json_object *v = json_object_new_object(), *d = NULL;
    add_str(v, "artifactID", sv->id);
    int rc = wapi_gql(sv->t->api, "CommitArtifact", M_COMMIT, v, &d);
    json_object_put(v);
    if (rc)
        return rc;
    struct json_object *art = wapi_path(d, "commitArtifact.artifact");
    const char *dg = xp_json_str(art, "digest");
    if (dg && strcmp(dg, sv->digest))
        rc = xp_error_set(XP_ERROR,
                          "W&B committed digest %s, the files make %s", dg,
                          sv->digest);
    json_object_put(d);
    int64_t index;
    if (!rc && !(rc = version_of(sv, &index)))
        check_version(sv, index);
    return rc;
}

static int save_one(const struct wart_target *t, struct wart *a,
                    const char *dir)
{
    struct saving sv = {.t = t, .a = a};
    split_label(a->label, &sv.name, &sv.version);
    qsort(a->files, a->n, sizeof(*a->files), path_cmp);
    manifest_digest(a, sv.digest);
    int rc = create(&sv);
    if (rc == 1) {
        rc = 0;
        goto out;
    }
    struct json_object *d = NULL;
    if (!rc)
        rc = create_manifest(&sv, "", 0, &d);
    if (!rc)
        sv.manifest_id = xp_strdup(xp_json_str(
            wapi_path(d, "createArtifactManifest.artifactManifest"), "id"));
    json_object_put(d);
    for (size_t lo = 0; !rc && lo < a->n; lo += FILES_PER_REQUEST)
        rc = upload_batch(&sv, lo,
                          a->n - lo < FILES_PER_REQUEST ? a->n
                                                        : lo + FILES_PER_REQUEST);
    if (!rc)
        rc = upload_manifest(&sv, dir);
    if (!rc)
        rc = commit(&sv);
out:
    if (rc)
        rc = xp_error_wrap(rc, "W&B artifact '%s' of run '%s'", a->label,
                           t->run);
    free(sv.name);
    free(sv.id);
    free(sv.base_id);
    free(sv.manifest_id);
    return rc;
}

int wart_save_all(struct wart_set *s, const struct wart_target *t,
                  const char *dir)
{
    qsort(s->v, s->n, sizeof(*s->v), label_cmp);
    int rc = 0;
    for (size_t i = 0; i < s->n && !rc; i++) {
        if (xp_ctx_cancelled(t->ctx))
            return xp_error_set(XP_ECANCEL, "interrupted");
        rc = save_one(t, &s->v[i], dir);
    }
    return rc;
}
