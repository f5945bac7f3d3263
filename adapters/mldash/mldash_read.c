/* Reading from an ml-dash server: discovery through GraphQL (every page),
 * and one experiment as records: metadata, parameters, metrics (sealed
 * chunks streamed in index order and parsed as their bytes arrive
 * (mldash_chunks.c), then the paged buffer; /data paging when a chunk
 * cannot be had), logs in pages, and files downloaded to a private
 * temporary file checked against their sha256. Points are scanned in place
 * (xp_jscan_object), so they cost their bytes and nothing more. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "mldash.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/graphql.h"
#include "xport/jscan.h"
#include "xport/typemark.h"
#include "xport/json.h"

#define PAGE 100 /* GraphQL page size for discovery */

/* ---- discovery ---- */

/* Every node of a list: v0.6 pages it by limit/offset (xp_gql_each);
 * v0.5 has no paging and answers it whole. */
static int each_node(struct mld *m, const char *op, const char *query,
                     const char *list, const char *more, const char *project,
                     int (*each)(struct json_object *node, void *arg), void *arg)
{
    struct json_object *vars = json_object_new_object();
    json_object_object_add(vars, "ns", json_object_new_string(m->ns));
    if (project)
        json_object_object_add(vars, "p", json_object_new_string(project));
    int rc = 0;
    if (m->gen == 6) {
        struct xp_gql_pager pg = {.op = op, .query = query, .vars = vars,
                                  .size_var = "limit", .per_page = PAGE,
                                  .offset_var = "offset", .conn_path = list,
                                  .what = list, .more_path = more};
        rc = xp_gql_each(m->gql, &pg, each, arg);
    } else {
        struct json_object *d = NULL;
        rc = mld_graphql(m, op, query, vars, &d);
        struct json_object *arr = rc ? NULL : xp_gql_path(d, list);
        size_t n = arr && json_object_is_type(arr, json_type_array)
                       ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n && !rc; i++)
            rc = each(json_object_array_get_idx(arr, i), arg);
        json_object_put(d);
    }
    json_object_put(vars);
    return rc;
}

static int add_slug(struct json_object *node, void *arg)
{
    const char *slug = xp_json_str(node, "slug");
    if (slug)
        json_object_array_add(arg, json_object_new_string(slug));
    return 0;
}

/* The project slugs of the namespace. */
static int list_projects(struct mld *m, struct json_object **out)
{
    *out = json_object_new_array();
    return each_node(m, "P", m->gen == 6
        ? "query P($ns: String, $limit: Int!, $offset: Int!) { projectsPaginated("
          "namespaceSlug: $ns, limit: $limit, offset: $offset) { projects { slug } "
          "hasMore } }"
        : "query P($ns: String!) { projects(namespaceSlug: $ns) { slug } }",
        m->gen == 6 ? "projectsPaginated.projects" : "projects", "projectsPaginated.hasMore",
        NULL, add_slug, *out);
}

struct exp_walk {
    struct mld *m;
    const char *slug;
    xp_experiment_cb cb;
    void *payload;
};

static int each_experiment(struct json_object *e, void *arg)
{
    struct exp_walk *w = arg;
    const char *name = xp_json_str(e, "name");
    const char *id = json_object_get_string(xp_json_get(e, "id"));
    if (!name || !id || !xp_location_selects(&w->m->sel, w->m->ns, w->slug, name))
        return 0;
    struct xp_experiment_ref ref = {w->m->ns, w->slug, name, id, -1};
    return w->cb(&ref, w->payload);
}

int mld_list_experiments(struct xp_adapter *a, xp_experiment_cb cb, void *payload)
{
    struct mld *m = (struct mld *)a;
    if (m->sel.workspace && !xp_pattern_match(m->sel.workspace, m->ns))
        return 0;
    struct json_object *projects = NULL;
    int rc = list_projects(m, &projects);
    size_t np = rc ? 0 : json_object_array_length(projects);
    for (size_t p = 0; p < np && !rc; p++) {
        const char *slug = json_object_get_string(json_object_array_get_idx(projects, p));
        if (!xp_pattern_match(m->sel.project, slug))
            continue;
        struct exp_walk w = {m, slug, cb, payload};
        rc = each_node(m, "E", m->gen == 6
            ? "query E($ns: String, $p: String!, $limit: Int!, $offset: Int!) { "
              "experimentsPaginated(namespaceSlug: $ns, projectSlug: $p, limit: "
              "$limit, offset: $offset) { experiments { id name } hasMore } }"
            : "query E($ns: String!, $p: String!) { experiments(namespaceSlug: $ns, "
              "projectSlug: $p) { id name } }",
            m->gen == 6 ? "experimentsPaginated.experiments" : "experiments",
            "experimentsPaginated.hasMore", slug, each_experiment, &w);
    }
    json_object_put(projects);
    return rc;
}

/* ---- in-place scanning of point pages ---- */

static size_t skip_ws(const char *s, size_t i, size_t len)
{
    while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
        i++;
    return i;
}

/* Skip one JSON value starting at s[*i]; strings and nesting respected.
 * Fails when the value runs past len. */
static int skip_value(const char *s, size_t len, size_t *i)
{
    size_t j = *i;
    int depth = 0;
    if (j >= len)
        return XP_EINVALID;
    do {
        char c = s[j];
        if (c == '"') {
            for (j++; j < len && s[j] != '"'; j++)
                if (s[j] == '\\')
                    j++;
            if (j >= len)
                return XP_EINVALID;
            j++;
        } else if (c == '{' || c == '[') {
            depth++;
            j++;
        } else if (c == '}' || c == ']') {
            if (--depth < 0)
                return XP_EINVALID;
            j++;
        } else if (depth == 0) {
            while (j < len && s[j] != ',' && s[j] != '}' && s[j] != ']' &&
                   s[j] != ' ' && s[j] != '\n' && s[j] != '\r' && s[j] != '\t')
                j++;
        } else {
            j++;
        }
    } while (depth > 0 && j < len);
    if (depth)
        return XP_EINVALID;
    *i = j;
    return 0;
}

#define MORE 1 /* find_member: the object may go on past len */

/* Find the top-level member `key` of the object in s; *at gets the start
 * of its value. more: s may be the start of a body still arriving, and
 * MORE means "not within these bytes". */
static int find_member(const char *s, size_t len, int more, const char *key,
                       size_t *at)
{
    size_t i = skip_ws(s, 0, len), kl = strlen(key);
    int cut = more ? MORE : XP_EINVALID;
    if (i >= len)
        return cut;
    if (s[i] != '{')
        return XP_EINVALID;
    i = skip_ws(s, i + 1, len);
    while (i < len && s[i] == '"') {
        size_t k0 = i + 1, k1 = k0;
        while (k1 < len && s[k1] != '"')
            k1 += s[k1] == '\\' ? 2 : 1;
        i = skip_ws(s, k1 + 1, len);
        if (i >= len)
            return cut;
        if (s[i] != ':')
            return XP_EINVALID;
        i = skip_ws(s, i + 1, len);
        if (i >= len)
            return cut;
        if (k1 - k0 == kl && !memcmp(s + k0, key, kl)) {
            *at = i;
            return 0;
        }
        if (skip_value(s, len, &i))
            return cut;
        i = skip_ws(s, i, len);
        if (i < len && s[i] == ',')
            i = skip_ws(s, i + 1, len);
    }
    return i >= len ? cut : XP_ENOTFOUND;
}

/* Points being scanned in place: s[0..len), from pos (inside the "data"
 * array) on. A chunk still arriving (more) may end inside a point: the
 * scan then stops before it (need) and goes on once more bytes came. */
struct span {
    char *s;
    size_t len, pos;
    int more;
    int active; /* before the array's ']' */
    int need;   /* stopped at a point cut by len */
    int stuck;  /* see NEAR */
    int64_t count;
};

/* Only a point starting this close to the end of the bytes so far is
 * checked for completeness before it is scanned: checking every point
 * would cost half as much as scanning it, and the scanner changes the
 * bytes in place, so it cannot simply be tried again. A point longer than
 * this that fails to scan while the chunk arrives may be cut or bad: the
 * metric goes on through /data pages (stuck), which tell which. */
#define NEAR ((size_t)64 << 10)

/* A buffer or /data page of points: the response body. */
struct page {
    struct xp_http_response resp;
    struct span sp;
    int has_more; /* the page said hasMore */
};

static int page_open(struct page *pg, const char *what)
{
    char *s = pg->resp.body.ptr;
    size_t len = pg->resp.body.len, at, hm;
    int rc = find_member(s, len, 0, "data", &at);
    if (rc || s[at] != '[')
        return xp_error_set(XP_EINVALID, "%s has no data array", what);
    pg->has_more = 0;
    if (!find_member(s, len, 0, "hasMore", &hm))
        pg->has_more = !strncmp(s + hm, "true", 4);
    memset(&pg->sp, 0, sizeof(pg->sp));
    pg->sp.s = s;
    pg->sp.len = len;
    pg->sp.pos = at + 1;
    pg->sp.active = 1;
    return 0;
}

/* ---- the reader ---- */

enum stage { ST_EXP, ST_PARAMS, ST_SUMMARY, ST_OTHERS, ST_METRIC, ST_LOGS, ST_FILES, ST_END, ST_DONE };
enum mphase { MP_BEGIN, MP_CHUNKS, MP_BUFFER, MP_PAGING, MP_END };

struct mld_reader {
    struct xp_reader base;
    struct mld *m;
    struct xp_read_opts ro;
    char *id, *ws, *project, *name;
    enum stage stage;
    struct xp_record rec;
    struct json_object *exp;   /* the GraphQL experiment */
    struct json_object *doc;   /* current document / page */
    struct json_object *docs;  /* summary and others carried in metadata */
    struct json_object *types; /* the experiment's types kept apart, or NULL
                                * (an upload in the first form; mldash.h) */
    const char **tags;
    struct xp_buf url;

    /* metrics */
    struct json_object *metrics; /* array of names */
    size_t mi;
    enum mphase mp;
    int64_t chunk, next_index, emitted; /* chunk: the one being read */
    int64_t buffered; /* stats.bufferedDataPoints, -1 unknown */
    int gap; /* the buffer began past next_index */
    struct mld_chunks *chunks;
    size_t cused;   /* bytes of the chunk's last view used */
    int in_items;   /* the chunk's "data" array was found */
    int chunk_done; /* its array ended: the next chunk at the next call */
    int chunk_failed;
    struct page pg; /* buffer / paging page */
    struct xp_arena arena; /* members scan_point could not read in place */
    struct xp_point *pts;
    struct xp_field *fields;
    size_t fcap;
    struct xp_tmread *ptypes; /* the metric's column marks, or NULL */

    /* logs */
    int64_t log_offset;
    int logs_done;
    size_t log_run;      /* the run of types->logs the next line is in */
    int64_t log_in_run;  /* lines of it already read */
    struct xp_log_entry *logv;

    /* files */
    struct json_object *files; /* array of {id, rel, checksum, ...} */
    size_t fi;
    char *tmpdir;
    struct {
        struct xp_stream base;
        int fd;
    } stream;
};

static ssize_t fd_read(struct xp_stream *s, void *buf, size_t len)
{
    int fd = ((struct mld_reader *)((char *)s - offsetof(struct mld_reader, stream)))->stream.fd;
    for (;;) {
        ssize_t n = read(fd, buf, len);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return xp_error_set_os(XP_EIO, "cannot read a downloaded file");
    }
}

static void fd_free(struct xp_stream *s)
{
    (void)s;
}

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
    if (r->stream.fd >= 0)
        close(r->stream.fd);
    if (r->tmpdir) {
        xp_rm_rf(r->tmpdir);
        free(r->tmpdir);
    }
    free(r);
}

/* Take the writer's extras (mldash.h) out of the metadata *md: they move
 * under key into keep (or NULL), which must outlive any string read from
 * them, and *md becomes NULL when the source had no metadata. */
static void take_extras(struct json_object **md, const char *key,
                        struct json_object *keep)
{
    struct json_object *x = xp_json_get(*md, key);
    int nometa = json_object_get_boolean(xp_json_get(x, "nometa"));
    if (keep)
        json_object_object_add(keep, key, json_object_get(x));
    json_object_object_del(*md, key);
    if (nometa && json_object_object_length(*md) == 0)
        *md = NULL;
}

/* Values the writer marked because the server reads JSON as JavaScript
 * does (xport/typemark.h) get their types back; a marker that does not fit
 * leaves the value as the server holds it, with a warning. */
static struct json_object *unmark(struct mld_reader *r, struct json_object *o,
                                  const char *what)
{
    if (o && xp_typemark_tree_decode(o)) {
        xp_ctx_warn(r->m->base.ctx, "%s of '%s': %s; kept as the server holds it", what,
                    r->name ? r->name : "?", xp_error_last()->message);
        xp_error_clear();
    }
    return o;
}

/* The types kept apart (MLD_TYPES_KEY) out of the metadata *md, and the
 * metadata's own marks applied; the types move into keep, which must
 * outlive them. NULL when *md has none (the first form, or nothing
 * needed marks). *nometa: the source had no metadata. */
static struct json_object *take_types(struct mld_reader *r, struct json_object **md,
                                      struct json_object *keep, const char *what,
                                      int *nometa)
{
    struct json_object *t = xp_json_get(*md, MLD_TYPES_KEY);
    *nometa = 0;
    if (!t || !json_object_is_type(t, json_type_object))
        return NULL;
    json_object_object_add(keep, MLD_TYPES_KEY, json_object_get(t));
    json_object_object_del(*md, MLD_TYPES_KEY);
    struct json_object *own = xp_json_get(t, "own");
    if (own)
        json_object_object_add(*md, MLD_TYPES_KEY, json_object_get(own));
    if (xp_typemark_tree_apply(*md, xp_json_get(t, "metadata"))) {
        xp_ctx_warn(r->m->base.ctx, "%s of '%s': %s; kept as the server holds it", what,
                    r->name ? r->name : "?", xp_error_last()->message);
        xp_error_clear();
    }
    *nometa = json_object_get_boolean(xp_json_get(t, "nometa"));
    return t;
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
    r->types = m->metadata ? take_types(r, &m->metadata, e, "experiment metadata", &nometa)
                           : NULL;
    json_object_get(r->types);
    if (!r->types)
        unmark(r, m->metadata, "experiment metadata");
    struct json_object *docs = xp_json_get(m->metadata, MLD_DOCS_KEY);
    if (docs && json_object_is_type(docs, json_type_object)) {
        /* the summary and others documents (mldash.h), in the first form */
        if (r->types)
            unmark(r, docs, "experiment metadata");
        json_object_put(r->docs);
        r->docs = json_object_get(docs);
        take_extras(&m->metadata, MLD_DOCS_KEY, NULL);
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
        unmark(r, d, "parameters");
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

/* ---- metrics ---- */

static const char *cur_metric(struct mld_reader *r)
{
    return json_object_get_string(json_object_array_get_idx(r->metrics, r->mi));
}

static void metric_url(struct mld_reader *r, const char *tail)
{
    mld_url(&r->url, r->m, "/experiments/%s/metrics/", r->id);
    mld_put_seg(&r->url, cur_metric(r));
    xp_buf_puts(&r->url, tail);
}

/* Does the key equal lit? Inlined: three keys per point. */
static inline int key_is(const char *k, const char *lit)
{
    while (*lit && *k == *lit) {
        k++;
        lit++;
    }
    return *k == *lit;
}

/* A point's index, its data object and its creation time from its members
 * (the index may be a number or, from a Node server, a decimal string);
 * *have_index is set when one was found. */
static void point_members(struct xp_point *p, const struct xp_value **data,
                          int *have_index, const struct xp_field *m, size_t n)
{
    for (size_t f = 0; f < n; f++) {
        const struct xp_value *v = &m[f].v;
        if (key_is(m[f].key, "index")) {
            if (v->type == XP_V_INT) {
                p->index = v->u.i;
                *have_index = 1;
            } else if (v->type == XP_V_STRING && v->u.s.len < 32) {
                char tmp[32];
                memcpy(tmp, v->u.s.ptr, v->u.s.len);
                tmp[v->u.s.len] = '\0';
                char *end;
                p->index = strtoll(tmp, &end, 10);
                *have_index = end != tmp && !*end;
            }
        } else if (key_is(m[f].key, "data") && v->type == XP_V_JSON) {
            *data = v;
        } else if (key_is(m[f].key, "createdAt") && v->type == XP_V_STRING) {
            p->created_at = v->u.s.ptr;
        }
    }
}

/* A plain index at s[v]: up to 18 digits without a leading zero, bare
 * (and maybe negative) or in quotes; *e gets the end. Fails on anything
 * else, which the general scanner then reads. */
static int plain_index(const char *s, size_t len, size_t v, size_t *e, int64_t *out)
{
    int quoted = s[v] == '"';
    size_t j = v + (size_t)quoted;
    int neg = !quoted && j < len && s[j] == '-';
    j += (size_t)neg;
    size_t d0 = j;
    int64_t x = 0;
    while (j < len && j - d0 < 19 && s[j] >= '0' && s[j] <= '9')
        x = x * 10 + (s[j++] - '0');
    if (j == d0 || j - d0 > 18 || (s[d0] == '0' && j - d0 > 1) || j >= len)
        return -1;
    if (quoted ? s[j++] != '"' : s[j] == '.' || s[j] == 'e' || s[j] == 'E')
        return -1;
    *out = neg ? -x : x;
    *e = j;
    return 0;
}

/* Is the quoted key lit (quotes included) at s[k]? */
static inline int key_at(const char *s, size_t k, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len - k >= n && !memcmp(s + k, lit, n);
}

/* Where the bytes from s[i] on that a JSON string holds as they are
 * (printable ASCII but '"' and '\\') end. Eight at a time where they can:
 * a point's createdAt is most of what is left to scan by hand. */
static size_t plain_run(const char *s, size_t i, size_t len)
{
    const uint64_t ones = 0x0101010101010101u, highs = ones << 7;
    for (; i + 8 <= len; i += 8) {
        uint64_t w, q, b;
        memcpy(&w, s + i, 8);
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        /* a '"', a '\\', a byte below 0x20 or one above 0x7f */
        if ((((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w) | w) & highs)
            break;
    }
    while (i < len && s[i] != '"' && s[i] != '\\' && (unsigned char)s[i] >= 0x20 &&
           (unsigned char)s[i] < 0x80)
        i++;
    return i;
}

/* A member that is not plain, read as the general scanner reads it: the
 * member alone, {KEY:VALUE} from s[k, e), copied to the arena (its strings
 * must live as long as the point) and scanned there. */
static int member_slow(struct mld_reader *r, const char *s, size_t k, size_t e,
                       struct xp_field *out)
{
    char *t = xp_arena_alloc(&r->arena, e - k + 3);
    t[0] = '{';
    memcpy(t + 1, s + k, e - k);
    t[e - k + 1] = '}';
    t[e - k + 2] = '\0';
    size_t n;
    return xp_jscan_object(t, e - k + 2, out, 1, &n) || n != 1 ? XP_EINVALID : 0;
}

/* One point, {"index":..., "data":{...}, "createdAt":"..."} in any order,
 * into *p and its data's fields df[0..*dn). A scan of the whole object
 * would walk the data object twice (to skip it as a member, then for its
 * fields): here plain keys, a plain index and a plain createdAt are read
 * where they stand and the data object is scanned once, in place; any
 * other member (escapes, other number forms, non-ASCII) goes through
 * member_slow, so the point means what a whole-object scan makes of it.
 * Returns XP_EINVALID when it cannot be read, XP_ENOTFOUND when it lacks
 * index or data. */
static int scan_point(struct mld_reader *r, char *s, size_t len, size_t *end,
                      struct xp_point *p, struct xp_field *df, size_t *dn)
{
    int have_index = 0, have_data = 0;
    size_t i = skip_ws(s, 1, len); /* s[0] is '{' */
    while (i < len && s[i] != '}') {
        if (s[i] != '"')
            return XP_EINVALID;
        static const char *const names[] = {"\"index\"", "\"data\"", "\"createdAt\""};
        size_t k = i, q, v, e;
        /* which of index, data, createdAt the key is (0: another) */
        int which = 0;
        for (int w = 0; w < 3 && !which; w++)
            which = key_at(s, k, len, names[w]) ? w + 1 : 0;
        q = which ? k + strlen(names[which - 1]) - 1 : plain_run(s, k + 1, len);
        int plain = q < len && s[q] == '"';
        v = plain ? q + 1 : k;
        if (!plain && skip_value(s, len, &v))
            return XP_EINVALID;
        v = skip_ws(s, v, len);
        if (v >= len || s[v] != ':')
            return XP_EINVALID;
        v = skip_ws(s, v + 1, len);
        if (v >= len)
            return XP_EINVALID;
        int done = 0;
        if (which == 1 && !plain_index(s, len, v, &e, &p->index)) {
            have_index = done = 1;
        } else if (which == 2 && s[v] == '{') {
            if (xp_jscan_object_at(s + v, len - v, &e, df, 256, dn))
                return XP_EINVALID;
            e += v;
            have_data = done = 1;
        } else if (which == 3 && s[v] == '"') {
            e = plain_run(s, v + 1, len);
            if (e < len && s[e] == '"') {
                s[e++] = '\0';
                p->created_at = s + v + 1;
                done = 1;
            }
        }
        if (!done) {
            e = v;
            if (skip_value(s, len, &e))
                return XP_EINVALID;
        }
        if (!done && (which || !plain)) {
            struct xp_field f;
            const struct xp_value *data = NULL;
            if (member_slow(r, s, k, e, &f))
                return XP_EINVALID;
            point_members(p, &data, &have_index, &f, 1);
            if (data) {
                char *ds = (char *)data->u.s.ptr;
                ds[data->u.s.len] = '\0';
                if (xp_jscan_object(ds, data->u.s.len, df, 256, dn))
                    return XP_EINVALID;
                have_data = 1;
            }
        }
        i = skip_ws(s, e, len);
        if (i < len && s[i] == ',')
            i = skip_ws(s, i + 1, len);
        else if (i < len && s[i] != '}')
            return XP_EINVALID;
    }
    if (i >= len)
        return XP_EINVALID;
    *end = i + 1;
    return have_index && have_data ? 0 : XP_ENOTFOUND;
}

/* Only a data object with a key like the marker's can hold one: the check
 * is cheaper than xp_typemark_decode's look for it. */
static int has_marker(const struct xp_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].key[0] == XP_TYPEMARK_KEY[0])
            return 1;
    return 0;
}

/* Scan points of pg into r->pts until the batch is full, the array ends
 * or (arriving) the bytes so far do. Points below next_index (a chunk
 * sealed while we read, or a chunk's retry) are dropped. */
static int scan_points(struct mld_reader *r, struct span *pg, size_t *n,
                       size_t *nf, const char *what)
{
    char *s = pg->s;
    size_t len = pg->len;
    pg->need = 0;
    while (*n < XP_POINTS_BATCH) {
        size_t i = skip_ws(s, pg->pos, len);
        if (i < len && s[i] == ',')
            i = skip_ws(s, i + 1, len);
        if (i >= len && pg->more) {
            pg->need = 1;
            return 0;
        }
        if (i >= len)
            return xp_error_set(XP_EINVALID, "%s is truncated", what);
        if (s[i] == ']') {
            pg->active = 0;
            pg->pos = i;
            return 0;
        }
        size_t st = i;
        if (s[st] != '{')
            return xp_error_set(XP_EINVALID, "%s: bad point at byte %zu", what, st);
        if (r->fcap - *nf < 264)
            return 0; /* emit what we have; the fields pool is full */
        size_t whole = st;
        if (pg->more && len - st < NEAR && skip_value(s, len, &whole)) {
            pg->need = 1;
            return 0;
        }
        struct xp_point *p = &r->pts[*n];
        memset(p, 0, sizeof(*p));
        size_t used, dn;
        int rc = scan_point(r, s + st, len - st, &used, p, r->fields + *nf, &dn);
        if (rc == XP_EINVALID && pg->more && len - st >= NEAR) {
            pg->stuck = 1;
            pg->pos = st;
            return 0;
        }
        if (rc == XP_ENOTFOUND)
            return xp_error_set(XP_EINVALID, "%s: point at byte %zu lacks index or data",
                                what, st);
        if (rc)
            return xp_error_set(XP_EINVALID, "%s: cannot parse the point at byte %zu",
                                what, st);
        i = st + used;
        pg->pos = i;
        if (!r->ptypes && has_marker(r->fields + *nf, dn) &&
            xp_typemark_decode(r->fields + *nf, &dn)) {
            xp_ctx_warn(r->m->base.ctx, "%s, point %" PRId64 ": %s; kept as the server "
                        "holds it", what, p->index, xp_error_last()->message);
            xp_error_clear();
        }
        if (r->mp == MP_BUFFER && p->index > r->next_index) {
            /* a chunk sealed after stats: the buffer starts past what we
             * have; page the gap (and the rest) through /data */
            pg->pos = st;
            r->gap = 1;
            return 0;
        }
        pg->count++;
        if (p->index < r->next_index)
            continue; /* already emitted */
        if (r->ptypes)
            xp_tmread_apply(r->ptypes, r->emitted + (int64_t)*n, r->fields + *nf, dn);
        p->fields = r->fields + *nf;
        p->nfields = dn;
        *nf += dn;
        r->next_index = p->index + 1;
        (*n)++;
    }
    return 0;
}

/* Points of the current chunk as its bytes arrive, from *n on. A batch
 * ends with its chunk (chunk_done), so that the chunk's pipe can be used
 * again at the next call; a chunk that cannot be had ends it too
 * (chunk_failed, after a warning). */
static int chunk_points(struct mld_reader *r, size_t *n, size_t *nf, const char *what)
{
    unsigned how = 0; /* first look at what is there */
    for (;;) {
        struct mld_view v;
        int rc = mld_chunks_read(r->chunks, r->cused, how | (*n ? MLD_PINNED : 0), &v);
        r->cused = 0;
        if (rc)
            return rc;
        if (v.restarted)
            r->in_items = 0;
        /* a failed transfer's bytes are a cut body: its whole points count */
        struct span sp = {v.s, v.len, 0, v.state != MLD_CHUNK_COMPLETE, 1, 0, 0, 0};
        if (sp.more) {
            /* the bytes so far may end inside a token, which the scanners
             * would read past: stop at the last '}' */
            char *e = memrchr(v.s, '}', v.len);
            sp.len = e ? (size_t)(e - v.s) + 1 : 0;
        }
        if (!r->in_items) {
            size_t at;
            rc = find_member(sp.s, sp.len, sp.more, "data", &at);
            if (!rc && sp.s[at] != '[')
                rc = XP_EINVALID;
            if (rc < 0)
                return xp_error_set(XP_EINVALID, "%s has no data array", what);
            r->in_items = !rc;
            sp.pos = rc ? 0 : at + 1;
            sp.need = rc == MORE;
        }
        if (r->in_items && (rc = scan_points(r, &sp, n, nf, what)))
            return rc;
        r->cused = sp.pos;
        if (!sp.active) {
            r->chunk_done = 1;
            return 0;
        }
        if (sp.stuck) {
            r->chunk_failed = 1; /* a point longer than NEAR: see there */
            return 0;
        }
        if (!sp.need)
            return 0; /* the batch is full */
        if (v.state == MLD_CHUNK_FAILED) {
            xp_ctx_warn(r->m->base.ctx, "metric '%s' of '%s': %s; paging through "
                        "/data from point %" PRId64, cur_metric(r), r->name,
                        xp_error_last()->message, r->next_index);
            xp_error_clear();
            r->chunk_failed = 1;
            return 0;
        }
        if (v.state == MLD_CHUNK_COMPLETE)
            return xp_error_set(XP_EINVALID, "%s is truncated", what);
        if (v.full && *n > 0)
            return 0; /* let go of the points, so that the pipe has room */
        how = MLD_MORE;
    }
}

static int fetch_page(struct mld_reader *r, int64_t start, int buffer_only)
{
    struct xp_buf tail = XP_BUF_INIT;
    xp_buf_printf(&tail, "/data?startIndex=%" PRId64 "&limit=%d%s", start,
                  r->m->batch > 10000 ? 10000 : r->m->batch,
                  buffer_only ? "&bufferOnly=true" : "");
    metric_url(r, tail.ptr);
    xp_buf_release(&tail);
    struct xp_http_request rq = {0};
    rq.url = r->url.ptr;
    rq.cred = r->m->cred;
    int rc = xp_http_request(r->m->base.ctx->http, &rq, &r->pg.resp);
    if (!rc)
        rc = page_open(&r->pg, "a metric data page");
    return rc;
}

static int metric_begin(struct mld_reader *r)
{
    struct json_object *st = NULL;
    metric_url(r, "/stats");
    int rc = mld_json(r->m, NULL, r->url.ptr, NULL, 0, &st);
    if (rc) {
        json_object_put(st);
        return xp_error_wrap(rc, "metric '%s' of '%s'", cur_metric(r), r->name);
    }
    int64_t tc = 0, total = -1, chunked;
    if (mld_int(st, "totalChunks", &tc))
        tc = 0;
    if (mld_int(st, "totalDataPoints", &total))
        total = -1;
    if (mld_int(st, "bufferedDataPoints", &r->buffered))
        r->buffered = -1;
    r->chunk = 0;
    r->next_index = 0;
    r->emitted = 0;
    r->cused = 0;
    r->in_items = r->chunk_done = r->chunk_failed = 0;
    /* no buffer at stats: nothing to ask for after the chunks (the ml-dash
     * CLI does not ask either) */
    r->mp = tc > 0 ? MP_CHUNKS : r->buffered ? MP_BUFFER : MP_END;
    r->pg.sp.active = 0;
    r->pg.has_more = 1;
    if (tc > 0) {
        if (!r->chunks && (rc = mld_chunks_new(&r->chunks, r->m))) {
            json_object_put(st);
            return rc;
        }
        metric_url(r, "");
        mld_chunks_start(r->chunks, r->url.ptr, tc);
        /* the buffer's first page while the first chunk is on its way: one
         * round trip less at the end. A chunk sealed since stats makes it
         * start past the chunks' last point, which pages (gap); any other
         * failure leaves it to be asked for again then */
        if (r->buffered > 0 && !mld_int(st, "chunkedDataPoints", &chunked) &&
            fetch_page(r, chunked, 1)) {
            r->pg.sp.active = 0;
            r->pg.has_more = 1;
            xp_error_clear();
        }
    }
    struct xp_series_meta *sm = &r->rec.u.series;
    memset(sm, 0, sizeof(*sm));
    sm->name = cur_metric(r);
    sm->kind = XP_SERIES_METRIC;
    sm->expected_points = total;
    json_object_put(r->doc);
    r->doc = st;
    sm->description = xp_json_str(st, "description");
    r->rec.created_at = xp_json_str(st, "createdAt");
    r->rec.updated_at = xp_json_str(st, "updatedAt");
    struct json_object *md = xp_json_get(st, "metadata");
    sm->metadata = md && json_object_is_type(md, json_type_object) ? md : NULL;
    int nometa = 0;
    struct json_object *types = sm->metadata ? take_types(r, &sm->metadata, st,
                                                          "metric metadata", &nometa)
                                             : NULL;
    xp_tmread_free(r->ptypes);
    r->ptypes = NULL;
    if (!types) {
        unmark(r, sm->metadata, "metric metadata");
    } else {
        /* no column marks: the points are as they are (none is looked at
         * for a marker of the first form) */
        struct json_object *pm = xp_json_get(types, "points");
        struct json_object *none = pm ? NULL : json_object_new_object();
        rc = xp_tmread_new(&r->ptypes, pm ? pm : none);
        json_object_put(none);
        if (rc)
            return xp_error_wrap(rc, "metric '%s' of '%s'", cur_metric(r), r->name);
    }
    struct json_object *x = xp_json_get(sm->metadata, MLD_SERIES_KEY);
    const char *kind = xp_json_str(x, "kind"), *name = xp_json_str(x, "name");
    if (kind && name && (!strcmp(kind, "system") || !strcmp(kind, "track"))) {
        /* a system series or track the writer carried as a metric (mldash.h);
         * the marker moves to st, which outlives the record */
        sm->kind = !strcmp(kind, "system") ? XP_SERIES_SYSTEM : XP_SERIES_TRACK;
        sm->name = name;
        take_extras(&sm->metadata, MLD_SERIES_KEY, st);
    }
    if (nometa && sm->metadata && json_object_object_length(sm->metadata) == 0)
        sm->metadata = NULL;
    r->rec.kind = XP_REC_SERIES_BEGIN;
    return 0;
}

/* Next POINTS record of the current metric, or SERIES_END. */
static int metric_next(struct mld_reader *r)
{
    size_t n = 0, nf = 0;
    char what[96];
    xp_arena_reset(&r->arena); /* the last batch is the caller's no more */
    while (n == 0) {
        if (xp_ctx_cancelled(r->m->base.ctx))
            return xp_error_set(XP_ECANCEL, "interrupted");
        int rc = 0;
        switch (r->mp) {
        case MP_CHUNKS:
            if (r->chunk_failed) {
                /* page through /data from the first index not yet emitted */
                mld_chunks_stop(r->chunks);
                r->mp = MP_PAGING;
                r->pg.has_more = 1;
                r->pg.sp.active = 0;
                break;
            }
            if (r->chunk_done) {
                r->chunk_done = r->in_items = 0;
                r->cused = 0;
                r->chunk++;
                if (mld_chunks_next(r->chunks)) {
                    r->mp = r->buffered ? MP_BUFFER : MP_END;
                    break;
                }
            }
            snprintf(what, sizeof(what), "chunk %" PRId64, r->chunk);
            rc = chunk_points(r, &n, &nf, what);
            break;
        case MP_BUFFER:
        case MP_PAGING:
            if (!r->pg.sp.active) {
                if (!r->pg.has_more) {
                    r->mp = MP_END;
                    break;
                }
                rc = fetch_page(r, r->next_index, r->mp == MP_BUFFER);
                if (!rc && r->pg.sp.count == 0 && !r->pg.sp.active)
                    r->pg.has_more = 0;
            }
            if (!rc && r->pg.sp.active) {
                rc = scan_points(r, &r->pg.sp, &n, &nf, "a metric data page");
                if (!rc && r->gap) {
                    r->gap = 0;
                    r->mp = MP_PAGING;
                    r->pg.sp.active = 0;
                    r->pg.has_more = 1;
                    break;
                }
                if (!rc && !r->pg.sp.active && r->pg.sp.count == 0)
                    r->pg.has_more = 0; /* an empty page ends it */
            }
            break;
        case MP_END:
            r->rec.kind = XP_REC_SERIES_END;
            return 0;
        case MP_BEGIN:
            break;
        }
        if (rc)
            return xp_error_wrap(rc, "metric '%s' of '%s'", cur_metric(r), r->name);
    }
    r->emitted += (int64_t)n;
    r->rec.kind = XP_REC_POINTS;
    r->rec.u.points.v = r->pts;
    r->rec.u.points.n = n;
    return 0;
}

/* ---- logs ---- */

/* Undo what the writer put in a log line's metadata (mldash.h): the
 * stream, fields the source lacked, metadata it did not have. The extras
 * move from the metadata to the line's object, which outlives the entry. */
static void log_extras(struct xp_log_entry *l, struct json_object *e)
{
    struct json_object *x = xp_json_get(l->metadata, MLD_LOG_KEY);
    if (!x || !json_object_is_type(x, json_type_object))
        return;
    take_extras(&l->metadata, MLD_LOG_KEY, e);
    const char *st = xp_json_str(x, "stream");
    if (st)
        l->stream = st;
    struct json_object *ab = xp_json_get(x, "absent");
    for (size_t i = 0; ab && json_object_is_type(ab, json_type_array) &&
                       i < json_object_array_length(ab); i++) {
        const char *f = json_object_get_string(json_object_array_get_idx(ab, i));
        if (f && !strcmp(f, "timestamp"))
            l->timestamp = NULL;
        else if (f && !strcmp(f, "level"))
            l->level = NULL;
    }
}

/* What the writer kept apart for the next log line (mldash.h): the extra
 * of its run in the experiment's types, or NULL. */
static struct json_object *log_extra(struct mld_reader *r)
{
    struct json_object *runs = xp_json_get(r->types, "logs");
    size_t n = json_object_is_type(runs, json_type_array) ? json_object_array_length(runs) : 0;
    while (r->log_run < n) {
        struct json_object *run = json_object_array_get_idx(runs, r->log_run);
        int64_t count = json_object_get_int64(json_object_array_get_idx(run, 0));
        if (r->log_in_run < count) {
            r->log_in_run++;
            struct json_object *x = json_object_array_get_idx(run, 1);
            return json_object_is_type(x, json_type_object) ? x : NULL;
        }
        r->log_run++;
        r->log_in_run = 0;
    }
    return NULL;
}

/* Apply the extra x to a line (the second form). */
static void log_apart(struct mld_reader *r, struct xp_log_entry *l, struct json_object *x)
{
    const char *st = xp_json_str(x, "stream");
    if (st)
        l->stream = st;
    struct json_object *ab = xp_json_get(x, "absent");
    for (size_t i = 0; ab && json_object_is_type(ab, json_type_array) &&
                       i < json_object_array_length(ab); i++) {
        const char *f = json_object_get_string(json_object_array_get_idx(ab, i));
        if (f && !strcmp(f, "timestamp"))
            l->timestamp = NULL;
        else if (f && !strcmp(f, "level"))
            l->level = NULL;
    }
    struct json_object *t = xp_json_get(x, "types");
    if (t && xp_typemark_tree_apply(l->metadata, t)) {
        xp_ctx_warn(r->m->base.ctx, "log metadata of '%s': %s; kept as the server holds it",
                    r->name, xp_error_last()->message);
        xp_error_clear();
    }
}

static int logs_next(struct mld_reader *r, int *have)
{
    *have = 0;
    if (r->logs_done)
        return 0;
    mld_url(&r->url, r->m, "/experiments/%s/logs?limit=%d&offset=%" PRId64
            "&orderBy=sequenceNumber&order=asc", r->id, r->m->log_batch, r->log_offset);
    json_object_put(r->doc);
    r->doc = NULL;
    int rc = mld_json(r->m, NULL, r->url.ptr, NULL, 0, &r->doc);
    if (rc)
        return xp_error_wrap(rc, "logs of '%s'", r->name);
    struct json_object *arr = xp_json_get(r->doc, "logs");
    size_t n = arr && json_object_is_type(arr, json_type_array)
                   ? json_object_array_length(arr) : 0;
    if (n == 0 || !json_object_get_boolean(xp_json_get(r->doc, "hasMore")))
        r->logs_done = 1;
    if (n == 0)
        return 0;
    free(r->logv);
    r->logv = xp_calloc(n, sizeof(*r->logv));
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(arr, i);
        struct xp_log_entry *l = &r->logv[i];
        int64_t seq;
        l->seq = mld_int(e, "sequenceNumber", &seq) ? r->log_offset + (int64_t)i : seq;
        l->timestamp = xp_json_str(e, "timestamp");
        l->level = xp_json_str(e, "level");
        struct json_object *msg = xp_json_get(e, "message");
        l->message = msg ? json_object_get_string(msg) : "";
        l->message_len = msg ? (size_t)json_object_get_string_len(msg) : 0;
        struct json_object *md = xp_json_get(e, "metadata");
        l->metadata = md && json_object_is_type(md, json_type_object) ? md : NULL;
        if (r->types) {
            log_apart(r, l, log_extra(r));
        } else {
            unmark(r, l->metadata, "log metadata");
            log_extras(l, e);
        }
    }
    r->log_offset += (int64_t)n;
    r->rec.kind = XP_REC_LOGS;
    r->rec.u.logs.v = r->logv;
    r->rec.u.logs.n = n;
    *have = 1;
    return 0;
}

/* ---- files ---- */

/* Collect {id, rel, checksum, size, contentType, metadata, url} for every
 * live file: v0.5 lists them over REST; v0.6 pages them through GraphQL and
 * places them by their pPath below the experiment node's. */
static int add_file(struct mld_reader *r, struct json_object *f, const char *folder,
                    const char *filename, const char *checksum,
                    struct json_object *size, const char *ctype)
{
    const char *id = json_object_get_string(xp_json_get(f, "id"));
    if (!id || !filename)
        return xp_error_set(XP_EINVALID, "a file of '%s' has no id or name", r->name);
    while (folder && *folder == '/')
        folder++;
    struct xp_buf rel = XP_BUF_INIT;
    if (folder && *folder)
        xp_buf_printf(&rel, "%s/", folder);
    xp_buf_puts(&rel, filename);
    if (!xp_relpath_safe(rel.ptr)) {
        int rc = xp_error_set(XP_EINVALID, "unsafe file path '%s' in '%s'", rel.ptr,
                              r->name);
        xp_buf_release(&rel);
        return rc;
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "rel", json_object_new_string(rel.ptr));
    if (checksum)
        json_object_object_add(o, "checksum", json_object_new_string(checksum));
    int64_t sz;
    struct json_object *tmp = json_object_new_object();
    json_object_object_add(tmp, "s", size ? json_object_get(size) : NULL);
    if (!mld_int(tmp, "s", &sz))
        json_object_object_add(o, "size", json_object_new_int64(sz));
    json_object_put(tmp);
    if (ctype)
        json_object_object_add(o, "contentType", json_object_new_string(ctype));
    struct json_object *md = xp_json_get(f, "metadata");
    if (md && json_object_is_type(md, json_type_object)) {
        unmark(r, md, "file metadata");
        struct json_object *x = xp_json_get(md, MLD_FILE_KEY);
        const char *art = xp_json_str(x, "artifact"), *ap = xp_json_str(x, "path");
        if (art && ap && xp_relpath_safe(ap)) {
            /* an artifact's file the writer carried as a plain file (mldash.h) */
            json_object_object_add(o, "artifact", json_object_new_string(art));
            json_object_object_add(o, "rel", json_object_new_string(ap));
            take_extras(&md, MLD_FILE_KEY, NULL);
        }
        if (md)
            json_object_object_add(o, "metadata", json_object_get(md));
    }
    struct xp_buf url = XP_BUF_INIT;
    if (r->m->gen == 6)
        mld_url(&url, r->m, "/nodes/%s/download", id);
    else
        mld_url(&url, r->m, "/experiments/%s/files/%s/download", r->id, id);
    json_object_object_add(o, "url", json_object_new_string(url.ptr));
    json_object_array_add(r->files, o);
    xp_buf_release(&url);
    xp_buf_release(&rel);
    return 0;
}

static int list_files(struct mld_reader *r)
{
    r->files = json_object_new_array();
    int rc = 0;
    if (r->m->gen == 5) {
        struct json_object *d = NULL;
        mld_url(&r->url, r->m, "/experiments/%s/files", r->id);
        rc = mld_json(r->m, NULL, r->url.ptr, NULL, 0, &d);
        struct json_object *arr = xp_json_get(d, "files");
        size_t n = !rc && arr ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n && !rc; i++) {
            struct json_object *f = json_object_array_get_idx(arr, i);
            struct json_object *del = xp_json_get(f, "deletedAt");
            if (del && !json_object_is_type(del, json_type_null))
                continue;
            rc = add_file(r, f, xp_json_str(f, "path"), xp_json_str(f, "filename"),
                          xp_json_str(f, "checksum"), xp_json_get(f, "sizeBytes"),
                          xp_json_str(f, "contentType"));
        }
        json_object_put(d);
        return rc;
    }
    /* v0.6: the experiment node's pPath, then its files page by page */
    struct json_object *vars = json_object_new_object(), *d = NULL;
    json_object_object_add(vars, "id", json_object_new_string(r->id));
    rc = mld_graphql(r->m, "N", "query N($id: ID!) { experimentNode(experimentId: $id) "
                           "{ id pPath } }", vars, &d);
    char *base = NULL;
    if (!rc) {
        const char *pp = xp_json_str(xp_json_get(d, "experimentNode"), "pPath");
        base = xp_strdup(pp ? pp : "");
    }
    json_object_put(d);
    for (int offset = 0; !rc; offset += 500) {
        json_object_object_add(vars, "offset", json_object_new_int(offset));
        rc = mld_graphql(r->m, "F", "query F($id: ID!, $offset: Int) { experimentById(id: $id) "
                               "{ filesPaginated(limit: 500, offset: $offset) { files { "
                               "id name pPath metadata physicalFile { filename "
                               "contentType sizeBytes checksum } } hasMore } } }",
                         vars, &d);
        if (rc)
            break;
        struct json_object *page = xp_json_get(xp_json_get(d, "experimentById"), "filesPaginated");
        struct json_object *arr = xp_json_get(page, "files");
        size_t n = arr ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n && !rc; i++) {
            struct json_object *f = json_object_array_get_idx(arr, i);
            struct json_object *ph = xp_json_get(f, "physicalFile");
            const char *name = xp_json_str(f, "name");
            const char *pp = xp_json_str(f, "pPath");
            /* folder = pPath minus "<experiment pPath>/" and "/<name>" */
            char *folder = NULL;
            size_t bl = strlen(base);
            if (pp && name && !strncmp(pp, base, bl) && (pp[bl] == '/' || !bl)) {
                const char *rest = pp + bl + (bl ? 1 : 0);
                size_t rl = strlen(rest), nl = strlen(name);
                if (rl >= nl && !strcmp(rest + rl - nl, name))
                    folder = xp_strndup(rest, rl - nl > 0 ? rl - nl - 1 : 0);
            }
            rc = add_file(r, f, folder, name, xp_json_str(ph, "checksum"),
                          xp_json_get(ph, "sizeBytes"), xp_json_str(ph, "contentType"));
            free(folder);
        }
        int more = n > 0 && json_object_get_boolean(xp_json_get(page, "hasMore"));
        json_object_put(d);
        d = NULL;
        if (!more)
            break;
    }
    free(base);
    json_object_put(vars);
    return rc;
}

static int file_next(struct mld_reader *r, int *have)
{
    *have = 0;
    if (!r->files) {
        int rc = list_files(r);
        if (rc)
            return xp_error_wrap(rc, "files of '%s'", r->name);
    }
    if (r->fi >= json_object_array_length(r->files))
        return 0;
    if (!r->tmpdir) {
        int trc = xp_tempdir(&r->tmpdir, "xport-mldash");
        if (trc)
            return trc;
    }
    struct json_object *f = json_object_array_get_idx(r->files, r->fi++);
    char *path = xp_path_join(r->tmpdir, "file");
    struct xp_http_request rq = {0};
    rq.url = xp_json_str(f, "url");
    rq.cred = r->m->cred;
    rq.out_path = path;
    rq.expect_sha256 = xp_json_str(f, "checksum");
    int64_t sz;
    if (!mld_int(f, "size", &sz)) {
        rq.expect_size = sz;
        rq.flags |= XP_HTTP_CHECK_SIZE;
    }
    struct xp_http_response resp = XP_HTTP_RESPONSE_INIT;
    int rc = xp_http_request(r->m->base.ctx->http, &rq, &resp);
    xp_http_response_release(&resp);
    if (rc) {
        free(path);
        return xp_error_wrap(rc, "file '%s' of '%s'", xp_json_str(f, "rel"), r->name);
    }
    if (r->stream.fd >= 0)
        close(r->stream.fd);
    r->stream.fd = open(path, O_RDONLY | O_CLOEXEC);
    unlink(path); /* the open descriptor keeps the bytes; nothing to clean up */
    free(path);
    if (r->stream.fd < 0)
        return xp_error_set_os(XP_EIO, "cannot open a downloaded file");
    struct xp_file_meta *m = &r->rec.u.file.meta;
    memset(m, 0, sizeof(*m));
    m->path = xp_json_str(f, "rel");
    m->size = mld_int(f, "size", &sz) ? -1 : sz;
    m->sha256 = xp_json_str(f, "checksum");
    m->vendor_checksum_algo = m->sha256 ? "sha256" : NULL;
    m->vendor_checksum = m->sha256;
    m->content_type = xp_json_str(f, "contentType");
    m->id = xp_json_str(f, "id");
    m->metadata = xp_json_get(f, "metadata");
    m->artifact = xp_json_str(f, "artifact");
    r->rec.kind = XP_REC_FILE;
    r->rec.u.file.body = &r->stream.base;
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
                if ((rc = metric_begin(r)))
                    return rc;
            } else {
                if ((rc = metric_next(r)))
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
            if ((rc = logs_next(r, &have)))
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
            if ((rc = file_next(r, &have)))
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
    r->stream.base.read = fd_read;
    r->stream.base.free = fd_free;
    r->stream.fd = -1;
    xp_buf_init(&r->url);
    r->pts = xp_calloc(XP_POINTS_BATCH, sizeof(*r->pts));
    r->fcap = (size_t)XP_POINTS_BATCH * 8 + 264;
    r->fields = xp_calloc(r->fcap, sizeof(*r->fields));
    *out = &r->base;
    return 0;
}
