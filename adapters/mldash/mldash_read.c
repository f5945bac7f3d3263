/* Reading one experiment from an ml-dash server as records: the reader's
 * life, its metadata and parameters, and the order of its records
 * (metrics in mldash_metrics.c, logs in mldash_logs.c, files in
 * mldash_files.c; discovery is in mldash_list.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "mldash_read.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"
#include "xport/typemark.h"


static void reader_free(struct xp_reader *base)
{
    struct mld_reader *r = (struct mld_reader *)base;
    if (!r)
        return;
    free(r->id);
    free(r->ws);
    free(r->project);
    free(r->name);
    json_object_put(r->exp);
    json_object_put(r->docs);
    json_object_put(r->types);
    json_object_put(r->doc);
    xp_tmread_free(r->ptypes);
    json_object_put(r->metrics);
    json_object_put(r->files);
    free(r->tags);
    xp_buf_release(&r->url);
    mld_chunks_free(r->chunks);
    xp_http_response_release(&r->pg.resp);
    free(r->pts);
    xp_arena_release(&r->arena);
    free(r->fields);
    free(r->logv);
    xp_fd_stream_close(&r->stream);
    if (r->tmpdir) {
        xp_rm_rf(r->tmpdir);
        free(r->tmpdir);
    }
    free(r);
}

static int fetch_experiment(struct mld_reader *r)
{
    struct json_object *vars = json_object_new_object(), *d = NULL;
    int rc;
    /* createdAt and folder: no public client asks for them, so they are
     * optional (README.md "GraphQL") */
    static const char fields[] =
        "{ id name description tags status startedAt endedAt {{Experiment.createdAt}} "
        "metadata {{Experiment.folder}} metrics { name } }";
    struct xp_buf q = XP_BUF_INIT;
    if (r->m->gen == 6) {
        json_object_object_add(vars, "id", json_object_new_string(r->id));
        xp_buf_printf(&q, "query X($id: ID!) { experiment: experimentById(id: $id) %s }",
                      fields);
    } else {
        json_object_object_add(vars, "ns", json_object_new_string(r->ws));
        json_object_object_add(vars, "p", json_object_new_string(r->project));
        json_object_object_add(vars, "e", json_object_new_string(r->name));
        xp_buf_printf(&q, "query X($ns: String, $p: String, $e: String) { experiment("
                          "namespaceSlug: $ns, projectSlug: $p, experimentName: $e) %s }",
                      fields);
    }
    rc = mld_graphql(r->m, "X", q.ptr, vars, &d);
    xp_buf_release(&q);
    json_object_put(vars);
    if (rc)
        return rc;
    struct json_object *e = xp_json_get(d, "experiment");
    if (!e || !json_object_is_type(e, json_type_object)) {
        json_object_put(d);
        return xp_error_set(XP_ENOTFOUND, "ml-dash experiment '%s/%s/%s' not found",
                            r->ws, r->project, r->name);
    }
    r->exp = json_object_get(e);
    json_object_put(d);
    struct json_object *ms = xp_json_get(r->exp, "metrics");
    r->metrics = json_object_new_array();
    size_t n = ms ? json_object_array_length(ms) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *nm = xp_json_str(json_object_array_get_idx(ms, i), "name");
        if (nm && (!r->ro.only_series || !strcmp(r->ro.only_series, nm)))
            json_object_array_add(r->metrics, json_object_new_string(nm));
    }
    return 0;
}

static int fill_experiment(struct mld_reader *r)
{
    struct xp_experiment_meta *m = &r->rec.u.exp;
    struct json_object *e = r->exp;
    memset(m, 0, sizeof(*m));
    m->workspace = r->ws;
    m->project = r->project;
    m->name = xp_json_str(e, "name") ? xp_json_str(e, "name") : r->name;
    m->description = xp_json_str(e, "description");
    m->status = xp_json_str(e, "status");
    m->created_at = xp_json_str(e, "createdAt");
    m->started_at = xp_json_str(e, "startedAt");
    m->ended_at = xp_json_str(e, "endedAt");
    m->folder = xp_json_str(e, "folder");
    r->tags = xp_json_strings(e, "tags", &m->ntags);
    m->tags = r->tags;
    struct json_object *md = xp_json_get(e, "metadata");
    int nometa = 0;
    m->metadata = md && json_object_is_type(md, json_type_object) ? md : NULL;
    json_object_put(r->types);
    r->types = m->metadata ? mld_take_types(r, &m->metadata, e, "experiment metadata", &nometa)
                           : NULL;
    json_object_get(r->types);
    if (!r->types)
        mld_unmark(r, m->metadata, "experiment metadata");
    struct json_object *docs = xp_json_get(m->metadata, MLD_DOCS_KEY);
    if (docs && json_object_is_type(docs, json_type_object)) {
        /* the summary and others documents (mldash.h), in the first form */
        if (r->types)
            mld_unmark(r, docs, "experiment metadata");
        json_object_put(r->docs);
        r->docs = json_object_get(docs);
        mld_take_extras(&m->metadata, MLD_DOCS_KEY, NULL);
    }
    if (nometa && m->metadata && json_object_object_length(m->metadata) == 0)
        m->metadata = NULL;
    m->source_vendor = "mldash";
    m->source_id = r->id;
    r->rec.kind = XP_REC_EXPERIMENT;
    return 0;
}

static int fetch_params(struct mld_reader *r, int *have)
{
    *have = 0;
    mld_url(&r->url, r->m, "/experiments/%s/parameters", r->id);
    json_object_put(r->doc);
    r->doc = NULL;
    int rc = mld_json(r->m, NULL, r->url.ptr, NULL, 0, &r->doc);
    if (rc == XP_ENOTFOUND) {
        xp_error_clear();
        return 0;
    }
    if (rc)
        return xp_error_wrap(rc, "parameters of '%s'", r->name);
    struct json_object *d = xp_json_get(r->doc, "data");
    if (!d || !json_object_is_type(d, json_type_object))
        return 0;
    r->rec.kind = XP_REC_DOCUMENT;
    r->rec.u.doc.kind = XP_DOC_PARAMETERS;
    if (!r->types) {
        mld_unmark(r, d, "parameters");
    } else if (xp_typemark_tree_apply(d, xp_json_get(r->types, "parameters"))) {
        xp_ctx_warn(r->m->base.ctx, "parameters of '%s': %s; kept as the server holds it",
                    r->name, xp_error_last()->message);
        xp_error_clear();
    }
    r->rec.u.doc.doc = d;
    r->rec.created_at = xp_json_str(r->doc, "createdAt");
    r->rec.updated_at = xp_json_str(r->doc, "updatedAt");
    *have = 1;
    return 0;
}

static int reader_next(struct xp_reader *base, const struct xp_record **out)
{
    struct mld_reader *r = (struct mld_reader *)base;
    unsigned res = r->ro.resources ? r->ro.resources : XP_RES_ALL;
    int rc = 0, have;
    *out = NULL;
    for (;;) {
        if (xp_ctx_cancelled(r->m->base.ctx))
            return xp_error_set(XP_ECANCEL, "interrupted");
        switch (r->stage) {
        case ST_EXP:
            if ((rc = fetch_experiment(r)))
                return rc;
            fill_experiment(r);
            r->stage = ST_PARAMS;
            *out = &r->rec;
            return 0;
        case ST_PARAMS:
            r->stage = ST_SUMMARY;
            r->mi = 0;
            r->mp = MP_BEGIN;
            if (!(res & XP_RES_PARAMETERS) || r->ro.only_series)
                break;
            if ((rc = fetch_params(r, &have)))
                return rc;
            if (have) {
                *out = &r->rec;
                return 0;
            }
            break;
        case ST_SUMMARY:
        case ST_OTHERS: {
            int sum = r->stage == ST_SUMMARY;
            r->stage = sum ? ST_OTHERS : ST_METRIC;
            struct json_object *d = xp_json_get(r->docs, sum ? "summary" : "others");
            if (!(res & XP_RES_OTHERS) || r->ro.only_series || !d ||
                !json_object_is_type(d, json_type_object))
                break;
            r->rec.kind = XP_REC_DOCUMENT;
            r->rec.u.doc.kind = sum ? XP_DOC_SUMMARY : XP_DOC_OTHERS;
            r->rec.u.doc.doc = d;
            r->rec.created_at = r->rec.updated_at = NULL;
            *out = &r->rec;
            return 0;
        }
        case ST_METRIC:
            /* system series and tracks travel as metrics (mldash.h) */
            if (!(res & (XP_RES_METRICS | XP_RES_SYSTEM)) ||
                r->mi >= json_object_array_length(r->metrics)) {
                r->stage = r->ro.only_series ? ST_END : ST_LOGS;
                break;
            }
            if (r->mp == MP_BEGIN) {
                if ((rc = mld_metric_begin(r)))
                    return rc;
            } else {
                if ((rc = mld_metric_next(r)))
                    return rc;
                if (r->rec.kind == XP_REC_SERIES_END) {
                    r->mi++;
                    r->mp = MP_BEGIN;
                }
            }
            *out = &r->rec;
            return 0;
        case ST_LOGS:
            if (!(res & XP_RES_LOGS)) {
                r->stage = ST_FILES;
                break;
            }
            if ((rc = mld_logs_next(r, &have)))
                return rc;
            if (have) {
                *out = &r->rec;
                return 0;
            }
            r->stage = ST_FILES;
            break;
        case ST_FILES:
            if (!(res & (XP_RES_FILES | XP_RES_ARTIFACTS))) { /* artifacts are files */
                r->stage = ST_END;
                break;
            }
            if ((rc = mld_file_next(r, &have)))
                return rc;
            if (have) {
                *out = &r->rec;
                return 0;
            }
            r->stage = ST_END;
            break;
        case ST_END:
            r->stage = ST_DONE;
            r->rec.kind = XP_REC_END;
            *out = &r->rec;
            return 0;
        case ST_DONE:
            return XP_ITEROVER;
        }
    }
}

int mld_read_experiment(struct xp_reader **out, struct xp_adapter *a,
                        const struct xp_experiment_ref *ref,
                        const struct xp_read_opts *ro)
{
    struct mld *m = (struct mld *)a;
    struct mld_reader *r = xp_calloc(1, sizeof(*r));
    r->base.version = XP_READER_VERSION;
    r->base.next = reader_next;
    r->base.free = reader_free;
    r->m = m;
    r->ro = *ro;
    r->id = xp_strdup(ref->key);
    r->ws = xp_strdup(ref->workspace ? ref->workspace : m->ns);
    r->project = xp_strdup(ref->project);
    r->name = xp_strdup(ref->name);
    xp_fd_stream_init(&r->stream);
    xp_buf_init(&r->url);
    r->pts = xp_calloc(XP_POINTS_BATCH, sizeof(*r->pts));
    r->fcap = (size_t)XP_POINTS_BATCH * 8 + 264;
    r->fields = xp_calloc(r->fcap, sizeof(*r->fields));
    *out = &r->base;
    return 0;
}
