/* Reading an experiment's metadata from its directory: the experiment
 * record (experiment.json, ml-dash's unmapped fields kept verbatim) and the
 * parameter, summary and other documents. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "layout_read.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"

/* ---- experiment ---- */

static const char *const mldash_mapped_keys[] = {
    "name", "project", "description", "tags", "folder", "metadata",
    "created_at", "status", NULL};

static int is_mapped(const char *k)
{
    for (const char *const *p = mldash_mapped_keys; *p; p++)
        if (!strcmp(*p, k))
            return 1;
    return 0;
}

int lr_fill_experiment(struct layout_reader *r)
{
    struct xp_experiment_meta *m = &r->rec.u.exp;
    struct json_object *e = r->exp_json;
    memset(m, 0, sizeof(*m));
    m->workspace = r->names.workspace;
    m->project = r->names.project;
    m->name = r->names.name;
    m->folder = r->names.folder;
    m->description = xp_json_str(e, "description");
    m->status = xp_json_str(e, "status");
    m->created_at = xp_json_str(e, "created_at");
    r->tags = xp_json_strings(e, "tags", &m->ntags);
    m->tags = r->tags;
    struct json_object *md = xp_json_get(e, "metadata");
    m->metadata = md && json_object_is_type(md, json_type_object) ? md : NULL;
    if (r->la->flavor == LOCAL_XPORT) {
        m->started_at = xp_json_str(e, "startedAt");
        m->ended_at = xp_json_str(e, "endedAt");
        struct json_object *src = xp_json_get(e, "source");
        m->source_vendor = xp_json_str(src, "vendor");
        m->source_id = xp_json_str(src, "id");
        m->source_url = xp_json_str(src, "url");
        struct json_object *f = xp_json_get(src, "fields");
        m->vendor = f && !json_object_is_type(f, json_type_null) ? f : NULL;
    } else {
        /* ml-dash store: keep every field we do not map, verbatim */
        m->source_vendor = "mldash";
        struct json_object *v = json_object_new_object();
        json_object_object_foreach(e, k, val) {
            if (!is_mapped(k))
                json_object_object_add(v, k, val ? json_object_get(val) : NULL);
        }
        json_object_put(r->vendor_obj);
        r->vendor_obj = v;
        m->vendor = v;
        /* the store-relative path identifies an ml-dash experiment */
        m->source_id = r->names.relpath;
    }
    r->rec.kind = XP_REC_EXPERIMENT;
    return 0;
}

/* ---- documents ---- */

int lr_load_doc(struct layout_reader *r, const char *file,
                    enum xp_doc_kind kind, int *have)
{
    *have = 0;
    char *p = xp_path_join(r->dir, file);
    json_object_put(r->doc);
    r->doc = NULL;
    int rc = 0;
    if (lfs_is_file(r->la, p)) {
        rc = lfs_read_json(r->la, &r->doc, p);
        if (!rc && !json_object_is_type(r->doc, json_type_object))
            rc = xp_error_set(XP_EINVALID, "'%s' is not a JSON object", p);
        if (!rc) {
            struct json_object *d = r->doc;
            if (kind == XP_DOC_PARAMETERS) {
                /* ml-dash: {version, data:{...}} or a bare object */
                struct json_object *data = xp_json_get(d, "data");
                if (data && xp_json_get(d, "version") &&
                    json_object_is_type(data, json_type_object))
                    d = data;
            }
            r->rec.kind = XP_REC_DOCUMENT;
            r->rec.u.doc.kind = kind;
            r->rec.u.doc.doc = d;
            r->rec.created_at = d != r->doc ? xp_json_str(r->doc, "createdAt") : NULL;
            r->rec.updated_at = d != r->doc ? xp_json_str(r->doc, "updatedAt") : NULL;
            *have = 1;
        }
    }
    free(p);
    return rc;
}
