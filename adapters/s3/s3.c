/* The s3 adapter: an xport layout (schemas/README.md) kept as objects in
 * an S3 bucket, s3://BUCKET/PREFIX, read and written through the local
 * adapter so that the layout has one implementation.
 *
 * Reading lists the layout with ListObjectsV2 (an experiment is there
 * when its experiment.json is, which the sink writes last): the whole
 * prefix in one paginated listing, or, under --workspace/--project/
 * --experiment, only the folders they can select (a name is its folder; a
 * pattern lists its level with the "/" delimiter, a page of folder names at
 * a time, then looks into those that may match). Each experiment is then
 * fetched (s3_fetch.c) into a private temporary folder that the local
 * adapter's reader reads: memory stays the local reader's, and disk is
 * bounded by one experiment per job (removed when its reader is freed).
 * Writing is in s3_sink.c. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "s3.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"
#include "xport/location.h"
#include "xport/sysio.h"

static int s3_select(struct s3_adapter *s, const struct xp_location *loc,
                     const struct xp_options *opts);

static void s3_close(struct xp_adapter *a)
{
    struct s3_adapter *s = (struct s3_adapter *)a;
    if (!s)
        return;
    free(s->url);
    free(s->bucket);
    free(s->prefix);
    free(s->endpoint);
    free(s->region);
    free(s->cred_from);
    free(s->marker);
    xp_location_release(&s->sel);
    s3_objects_free(s->listed);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int s3_open(struct xp_adapter **out, const struct xp_adapter_type *type,
                   const struct xp_location *loc, const struct xp_options *opts,
                   struct xp_ctx *ctx)
{
    struct s3_adapter *s = xp_calloc(1, sizeof(*s));
    *out = &s->base;
    s->base.type = type;
    s->base.ctx = ctx;
    pthread_mutex_init(&s->lock, NULL);
    const char *u = loc->path;
    if (!u || strncmp(u, "s3://", 5))
        return xp_error_set(XP_EINVALID, "the s3 adapter needs a location "
                                         "s3://BUCKET[/PREFIX]");
    const char *b = u + 5;
    size_t bl = strcspn(b, "/");
    if (!bl)
        return xp_error_set(XP_EINVALID, "'%s' names no bucket", u);
    s->bucket = xp_strndup(b, bl);
    const char *p = b + bl;
    while (*p == '/')
        p++;
    s->prefix = xp_strdup(p);
    size_t pl = strlen(s->prefix);
    while (pl && s->prefix[pl - 1] == '/')
        s->prefix[--pl] = '\0';
    if (*s->prefix && !xp_relpath_safe(s->prefix))
        return xp_error_set(XP_EINVALID, "the prefix of '%s' has an empty, '.' or '..' "
                            "segment", u);
    struct xp_buf ub = XP_BUF_INIT;
    xp_buf_printf(&ub, "s3://%s%s%s", s->bucket, pl ? "/" : "", s->prefix);
    s->url = xp_buf_detach(&ub);
    long part;
    int rc = xp_option_int(type, opts, "part-size", 16L << 20, &part);
    if (rc)
        return rc;
    s->part_size = part;
    if ((rc = xp_option_int(type, opts, "list-page", 1000, &s->list_page)))
        return rc;
    if ((rc = s3_select(s, loc, opts)))
        return rc;
    if (!ctx->http)
        return xp_error_set(XP_EINVALID, "the s3 adapter needs the HTTP engine");
    return s3_configure(s, opts);
}

/* ---- listing ---- */

/* The selection (the local layout reader's: globs with braces, matched
 * against the names) and the requests in flight per experiment. */
static int s3_select(struct s3_adapter *s, const struct xp_location *loc,
                     const struct xp_options *opts)
{
    s->sel.workspace = xp_strdup(loc->workspace);
    s->sel.project = xp_strdup(loc->project);
    s->sel.experiment = xp_strdup(loc->experiment);
    return xp_option_int(s->base.type, opts, "parallel", 8, &s->parallel);
}

struct found {
    char *rel; /* "ws/proj/exp", encoded as in the bucket */
};

struct listing {
    struct s3_adapter *s;
    size_t plen; /* of the prefix and its '/' */
    int marker;
    struct found *v;
    size_t n, cap;
    struct s3_objects *objs; /* every object of an experiment folder */
    char **dirs; /* the folders (common prefixes) of delimited listings */
    size_t ndirs, dcap;
};

static int on_key(void *payload, const char *key, int64_t size)
{
    struct listing *l = payload;
    if (strlen(key) < l->plen)
        return 0;
    const char *rel = key + l->plen;
    if (size < 0) { /* a folder: walk() looks into it when it may match */
        if (l->ndirs == l->dcap) {
            l->dcap = l->dcap ? 2 * l->dcap : 64;
            l->dirs = xp_realloc(l->dirs, l->dcap * sizeof(*l->dirs));
        }
        l->dirs[l->ndirs++] = xp_strdup(key);
        return 0;
    }
    if (!strcmp(rel, "xport.json")) {
        l->marker = 1;
        return 0;
    }
    /* ws/proj/exp/...: an experiment's object; ws/proj/exp/experiment.json:
     * a committed experiment */
    const char *s1 = strchr(rel, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
    const char *s3 = s2 ? strchr(s2 + 1, '/') : NULL;
    if (rel[0] == '.' || !s3)
        return 0;
    s3_objects_add(l->objs, rel, size);
    if (strcmp(s3 + 1, "experiment.json"))
        return 0;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = xp_realloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++].rel = xp_strndup(rel, (size_t)(s3 - rel));
    return 0;
}

static char *decoded(const char *seg, size_t n)
{
    char *enc = xp_strndup(seg, n);
    struct xp_buf d = XP_BUF_INIT;
    char *out = xp_name_decode(&d, enc) ? NULL : xp_buf_detach(&d);
    xp_error_clear();
    xp_buf_release(&d);
    if (!out)
        out = enc;
    else
        free(enc);
    return out;
}

/* The names of an experiment: its folders decoded, except where a folder
 * may not be its name (an encoding cut with "~hash", or "name~source id"
 * beside a namesake: both hold '~'), where experiment.json says. */
static int names_of(struct s3_adapter *s, const char *rel, char **tmp, char *names[3])
{
    const char *s1 = strchr(rel, '/'), *s2 = strchr(s1 + 1, '/');
    names[0] = decoded(rel, (size_t)(s1 - rel));
    names[1] = decoded(s1 + 1, (size_t)(s2 - s1 - 1));
    names[2] = decoded(s2 + 1, strlen(s2 + 1));
    if (!strchr(rel, '~'))
        return 0;
    int rc = *tmp ? 0 : xp_tempdir(tmp, "xport-s3");
    struct xp_buf key = XP_BUF_INIT, r = XP_BUF_INIT;
    xp_buf_printf(&r, "%s/experiment.json", rel);
    s3_key(&key, s, r.ptr);
    char *path = rc ? NULL : xp_path_join(*tmp, "experiment.json");
    if (!rc)
        rc = s3_get_file(s, key.ptr, path, -1);
    struct json_object *o = NULL;
    if (!rc)
        rc = xp_json_read_file(&o, path);
    const char *fields[3] = {"workspace", "project", "name"};
    for (int i = 0; !rc && i < 3; i++) {
        const char *v = xp_json_str(o, fields[i]);
        if (v) {
            free(names[i]);
            names[i] = xp_strdup(v);
        }
    }
    if (rc == XP_ENOTFOUND)
        rc = xp_error_set(rc, "'%s/%s' vanished while being listed", s->url, rel);
    json_object_put(o);
    free(path);
    xp_buf_release(&key);
    xp_buf_release(&r);
    return rc;
}

/* A selection part that names one name (no glob or brace character). */
static int is_literal(const char *pat)
{
    return pat && *pat && !strpbrk(pat, "*?[]{}\\");
}

/* List what the selection can reach below pre (a key prefix ending in '/',
 * or ""), whose folders are of level 0 (workspaces), 1 (projects) or 2
 * (experiments). */
static int walk(struct listing *l, struct xp_buf *pre, int level)
{
    struct s3_adapter *s = l->s;
    const char *pat = level == 0 ? s->sel.workspace
                      : level == 1 ? s->sel.project : s->sel.experiment;
    size_t at = pre->len;
    struct xp_buf e = XP_BUF_INIT;
    int rc = 0;
    if (level < 2 && is_literal(pat)) {
        /* a name: its folder alone (a name that cannot be encoded has none) */
        if (!xp_name_encode(&e, pat)) {
            xp_buf_printf(pre, "%s/", e.ptr);
            rc = walk(l, pre, level + 1);
        }
    } else if (level < 2 && pat && *pat) {
        /* a pattern: this level's folders, then those that may match (a
         * folder with '~' may not be its name: experiment.json says) */
        size_t first = l->ndirs;
        rc = s3_list(s, pre->ptr, "/", on_key, l);
        for (size_t i = first; i < l->ndirs && !rc; i++) {
            const char *seg = l->dirs[i] + at;
            size_t sl = strlen(seg);
            if (!sl || seg[0] == '.' || seg[sl - 1] != '/')
                continue;
            char *name = decoded(seg, sl - 1);
            int maybe = strchr(seg, '~') || xp_pattern_match(pat, name);
            free(name);
            if (maybe) {
                xp_buf_setlen(pre, at);
                xp_buf_puts(pre, seg);
                rc = walk(l, pre, level + 1);
            }
        }
        for (size_t i = first; i < l->ndirs; i++)
            free(l->dirs[i]);
        l->ndirs = first;
    } else if (level == 2 && is_literal(pat) && !xp_name_encode(&e, pat) &&
               !strpbrk(e.ptr, "%~") && e.len <= 180) {
        /* one experiment: the keys that begin with its folder's name hold
         * it and its namesakes ("name~source id", not cut that short) */
        xp_buf_puts(pre, e.ptr);
        rc = s3_list(s, pre->ptr, NULL, on_key, l);
    } else {
        rc = s3_list(s, pre->ptr, NULL, on_key, l);
    }
    if (!rc)
        xp_error_clear();
    xp_buf_setlen(pre, at);
    xp_buf_release(&e);
    return rc;
}

static int s3_list_experiments(struct xp_adapter *a, xp_experiment_cb cb, void *payload)
{
    struct s3_adapter *s = (struct s3_adapter *)a;
    struct listing l = {s, 0, 0, NULL, 0, 0, s3_objects_new(), NULL, 0, 0};
    struct xp_buf pre = XP_BUF_INIT;
    s3_key(&pre, s, "");
    if (pre.len)
        xp_buf_putc(&pre, '/');
    l.plen = pre.len;
    int rc = walk(&l, &pre, 0);
    char *tmp = NULL;
    int narrowed = s->sel.workspace && *s->sel.workspace;
    if (!rc && !l.marker && !l.n && narrowed) {
        /* nothing selected: is there a layout at all? */
        char *path = NULL;
        int have = 0;
        rc = xp_tempdir(&tmp, "xport-s3");
        if (!rc)
            path = xp_path_join(tmp, "xport.json");
        if (!rc)
            rc = s3_marker_to(s, path, &have);
        l.marker = have;
        free(path);
    }
    if (!rc && !l.marker && !l.n)
        rc = xp_error_set(XP_ENOTFOUND, "'%s' holds no xport layout (no xport.json)",
                          s->url);
    s3_listed_set(s, l.objs);
    for (size_t i = 0; i < l.n && !rc; i++) {
        char *names[3] = {NULL, NULL, NULL};
        rc = names_of(s, l.v[i].rel, &tmp, names);
        struct xp_buf key = XP_BUF_INIT;
        xp_buf_printf(&key, "%s/%s", s->url, l.v[i].rel);
        struct xp_experiment_ref ref = {names[0], names[1], names[2], key.ptr, -1};
        if (!rc && xp_location_selects(&s->sel, names[0], names[1], names[2]))
            rc = cb(&ref, payload);
        xp_buf_release(&key);
        for (int k = 0; k < 3; k++)
            free(names[k]);
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].rel);
    free(l.v);
    free(l.dirs);
    if (tmp) {
        xp_rm_rf(tmp);
        free(tmp);
    }
    xp_buf_release(&pre);
    return rc;
}

/* ---- reading ---- */

struct s3_reader {
    struct xp_reader base;
    struct xp_reader *inner;
    struct xp_adapter *local;
    char *tmp;
};

static int rd_next(struct xp_reader *r, const struct xp_record **out)
{
    return xp_reader_next(((struct s3_reader *)r)->inner, out);
}

static void rd_free(struct xp_reader *r)
{
    struct s3_reader *x = (struct s3_reader *)r;
    if (!x)
        return;
    xp_reader_free(x->inner);
    xp_adapter_close(x->local);
    if (x->tmp)
        xp_rm_rf(x->tmp);
    free(x->tmp);
    free(x);
}

static int s3_read_experiment(struct xp_reader **out, struct xp_adapter *a,
                              const struct xp_experiment_ref *ref,
                              const struct xp_read_opts *ro)
{
    struct s3_adapter *s = (struct s3_adapter *)a;
    *out = NULL;
    size_t ul = strlen(s->url);
    if (strncmp(ref->key, s->url, ul) || ref->key[ul] != '/')
        return xp_error_set(XP_EINVALID, "'%s' is outside '%s'", ref->key, s->url);
    const char *rel = ref->key + ul + 1;
    if (!xp_relpath_safe(rel))
        return xp_error_set(XP_EINVALID, "'%s' is not a layout path", ref->key);
    struct s3_reader *x = xp_calloc(1, sizeof(*x));
    x->base.version = XP_READER_VERSION;
    x->base.next = rd_next;
    x->base.free = rd_free;
    int rc = xp_tempdir(&x->tmp, "xport-s3");
    char *marker = rc ? NULL : xp_path_join(x->tmp, "xport.json");
    char *dir = rc ? NULL : xp_path_join(x->tmp, rel);
    int was = xp_sys_scratch(1), have = 0; /* a copy to read once: no fsync */
    if (!rc && !(rc = s3_marker_to(s, marker, &have)) && !have)
        rc = xp_error_set(XP_ENOTFOUND, "'%s' holds no xport layout (no xport.json)",
                          s->url);
    if (!rc)
        rc = s3_fetch_experiment(s, rel, dir);
    xp_sys_scratch(was);
    if (!rc)
        rc = s3_open_local(&x->local, x->tmp, a->ctx);
    struct xp_experiment_ref lref = {ref->workspace, ref->project, ref->name, dir,
                                     ref->size_hint};
    if (!rc)
        rc = xp_adapter_read(&x->inner, x->local, &lref, ro);
    free(dir);
    free(marker);
    if (rc) {
        rd_free(&x->base);
        return xp_error_wrap(rc, "reading '%s'", ref->key);
    }
    *out = &x->base;
    return 0;
}

/* ---- deleting (sync --delete) ---- */

struct gone {
    struct s3_adapter *s;
};

static int delete_one(void *payload, const char *key, int64_t size)
{
    (void)size;
    return s3_delete(((struct gone *)payload)->s, key);
}

/* experiment.json first: from then on the experiment is not listed, and a
 * run cut short leaves objects no reader takes for an experiment */
static int s3_delete_experiment(struct xp_adapter *a, const struct xp_experiment_ref *ref)
{
    struct s3_adapter *s = (struct s3_adapter *)a;
    size_t ul = strlen(s->url);
    if (strncmp(ref->key, s->url, ul) || ref->key[ul] != '/')
        return xp_error_set(XP_EINVALID, "'%s' is outside '%s'", ref->key, s->url);
    const char *rel = ref->key + ul + 1;
    struct xp_buf r = XP_BUF_INIT, key = XP_BUF_INIT;
    xp_buf_printf(&r, "%s/experiment.json", rel);
    s3_key(&key, s, r.ptr);
    int rc = s3_delete(s, key.ptr);
    xp_buf_reset(&r);
    xp_buf_printf(&r, "%s/", rel);
    s3_key(&key, s, r.ptr);
    struct gone g = {s};
    if (!rc)
        rc = s3_list(s, key.ptr, NULL, delete_one, &g);
    xp_buf_release(&r);
    xp_buf_release(&key);
    return rc;
}

static const struct xp_option_decl s3_options[] = {
    {"endpoint", XP_OPT_STRING, 0, 0, 0, NULL,
     "S3 endpoint URL, requests then path-style (default AWS_ENDPOINT_URL, else AWS)"},
    {"region", XP_OPT_STRING, 0, 0, 0, NULL,
     "region requests are signed for (default AWS_REGION, ~/.aws/config, us-east-1)"},
    {"part-size", XP_OPT_INT, 0, S3_MIN_PART, S3_MAX_PART, NULL,
     "bytes: larger objects go up as multipart uploads in parts of this size, "
     "5 MiB to 5 GiB (default 16 MiB; more when 10,000 parts would not hold one)"},
    {"parallel", XP_OPT_INT, 0, 1, 64, NULL, "requests in flight per experiment (default 8)"},
    {"list-page", XP_OPT_INT, 0, 1, 1000, NULL,
     "keys per listing request (default and most 1000)"},
    {"journal-interval", XP_OPT_INT, 0, 0, 86400, NULL,
     "seconds: a copy's journal, kept in the bucket under PREFIX/.xport/, is "
     "stored again at most this often while it grows (default 30; 0: after "
     "every experiment)"},
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

const struct xp_adapter_type xp_s3_adapter = {
    .abi = XP_ADAPTER_ABI,
    .name = "s3",
    .summary = "xport layouts in S3-compatible storage, s3://BUCKET/PREFIX (read/write)",
    .caps = XP_CAP_READ | XP_CAP_WRITE | XP_CAP_RESUME,
    .open = s3_open,
    .close = s3_close,
    .list_experiments = s3_list_experiments,
    .read_experiment = s3_read_experiment,
    .write_experiment = s3_write_experiment,
    .delete_experiment = s3_delete_experiment,
    .options = s3_options,
    .state_get = s3_state_get,
    .state_put = s3_state_put,
    .state_list = s3_state_list,
};
