/* The rows of a neptune-scale run_operations table replayed into the state
 * Neptune would hold after syncing them: protobuf messages of
 * neptune-ai/neptune-api codegen/proto/neptune_pb/ingest/v1/common.proto
 * (Run for CreateRun, UpdateRunSnapshot), decoded with the core walker.
 * Atoms and string sets go into an npt_run (as the 1.x readers keep them);
 * every appended value is spooled with its step, timestamp and preview, so
 * memory does not grow with the length of a series. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "nps.h"
#include "xport/error.h"
#include "xport/iso8601.h"
#include "xport/pb.h"

/* operation_type (operations_repository.py OperationType) */
#define OP_UPDATE_SNAPSHOT 0
#define OP_CREATE_RUN 1

void nps_step_text(char out[48], const struct nps_step *s)
{
    int n = snprintf(out, 48, "%" PRIu64, s->whole);
    if (s->micro) {
        snprintf(out + n, (size_t)(48 - n), ".%06" PRIu64, s->micro);
        size_t k = strlen(out);
        while (out[k - 1] == '0')
            out[--k] = '\0';
    }
}

void nps_run_init(struct nps_run *r, const struct xp_ctx *ctx, const char *id,
                  const char *dbname)
{
    memset(r, 0, sizeof(*r));
    npt_run_init(&r->atoms, ctx, id);
    r->dbname = dbname;
    r->logs_sid = (size_t)-1;
}

void nps_run_release(struct nps_run *r)
{
    npt_run_release(&r->atoms);
    xp_spool_free(r->spool);
    for (size_t i = 0; i < r->nseries; i++)
        free(r->series[i].path);
    free(r->series);
    free(r->table);
    for (size_t i = 0; i < r->nfiles; i++) {
        free(r->files[i].path);
        xp_buf_release(&r->files[i].value);
    }
    free(r->files);
    json_object_put(r->create);
    memset(r, 0, sizeof(*r));
}

/* ---- small decoders ----------------------------------------------------- */

int nps_timestamp(const unsigned char *p, size_t len, int64_t *sec, int32_t *nanos)
{
    struct xp_pb m;
    struct xp_pb_field f = {0};
    int k;
    *sec = 0;
    *nanos = 0;
    xp_pb_init(&m, p, len);
    while ((k = xp_pb_next(&m, &f)) > 0) {
        if (f.num == 1 && f.wire == XP_PB_VARINT)
            *sec = (int64_t)f.u;
        else if (f.num == 2 && f.wire == XP_PB_VARINT)
            *nanos = (int32_t)f.u;
    }
    if (k < 0 || *nanos < 0 || *nanos > 999999999)
        return -1;
    return 0;
}

int nps_step(const unsigned char *p, size_t len, struct nps_step *s)
{
    struct xp_pb m;
    struct xp_pb_field f = {0};
    int k;
    s->whole = s->micro = 0;
    xp_pb_init(&m, p, len);
    while ((k = xp_pb_next(&m, &f)) > 0) {
        if (f.num == 1 && f.wire == XP_PB_VARINT)
            s->whole = f.u;
        else if (f.num == 2 && f.wire == XP_PB_VARINT)
            s->micro = f.u;
    }
    return k < 0 || s->micro >= 1000000 ? -1 : 0;
}

static int damaged(struct nps_run *r, int64_t seq, const char *what)
{
    return xp_error_set(XP_EINVALID,
                        "'%s': run_operations row sequence_id %" PRId64
                        " is damaged: %s", r->dbname, seq, what);
}

/* ---- series ------------------------------------------------------------- */

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t slot(const struct nps_run *r, const char *path)
{
    size_t i = hash_str(path) & (r->cap - 1);
    while (r->table[i] && strcmp(r->series[r->table[i] - 1].path, path))
        i = (i + 1) & (r->cap - 1);
    return i;
}

static struct nps_series *series_get(struct nps_run *r, const char *path,
                                     enum nps_skind kind, int *rc)
{
    *rc = 0;
    if (r->cap) {
        size_t i = slot(r, path);
        if (r->table[i])
            return &r->series[r->table[i] - 1];
    }
    if ((r->nseries + 1) * 2 > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        free(r->table);
        r->table = xp_calloc(cap, sizeof(size_t));
        r->cap = cap;
        for (size_t k = 0; k < r->nseries; k++)
            r->table[slot(r, r->series[k].path)] = k + 1;
    }
    r->series = xp_realloc(r->series, (r->nseries + 1) * sizeof(*r->series));
    struct nps_series *s = &r->series[r->nseries];
    memset(s, 0, sizeof(*s));
    s->path = xp_strdup(path);
    s->kind = kind;
    if ((*rc = xp_spool_add(r->spool, &s->sid))) {
        free(s->path);
        return NULL;
    }
    r->table[slot(r, path)] = ++r->nseries;
    return s;
}

static int spool_put(struct nps_run *r, size_t sid, const struct nps_hdr *h,
                     const unsigned char *v, size_t len)
{
    void *dst;
    int rc = xp_spool_reserve(r->spool, sid, sizeof(*h) + len, &dst);
    if (rc)
        return rc;
    memcpy(dst, h, sizeof(*h));
    if (len)
        memcpy((char *)dst + sizeof(*h), v, len);
    return xp_spool_commit(r->spool, sid);
}

/* The oneof number of a Value (0 when it holds none); -1 when damaged. */
static int value_kind(const unsigned char *p, size_t len)
{
    struct xp_pb m;
    struct xp_pb_field f = {0};
    int k, kind = 0;
    xp_pb_init(&m, p, len);
    while ((k = xp_pb_next(&m, &f)) > 0)
        kind = (int)f.num;
    return k < 0 ? -1 : kind;
}

static int is_console(const char *path)
{
    return !strcmp(path, "runtime/stdout") || !strcmp(path, "runtime/stderr");
}

static int append(struct nps_run *r, int64_t seq, const char *path,
                  const struct nps_hdr *h0, const unsigned char *v, size_t len)
{
    int kind = value_kind(v, len);
    if (kind < 0)
        return damaged(r, seq, "a Value of 'append' is not a valid message");
    struct nps_hdr h = *h0;
    if (kind == 6 && is_console(path)) {
        int rc;
        if (r->logs_sid == (size_t)-1 && (rc = xp_spool_add(r->spool, &r->logs_sid)))
            return rc;
        h.stream = strcmp(path, "runtime/stdout") ? 1 : 0;
        r->nlogs++;
        return spool_put(r, r->logs_sid, &h, v, len);
    }
    if (!kind) {
        xp_lost_add(&r->atoms.lost, "an empty value appended to '%s' (sequence_id %" PRId64 ")",
                 path, seq);
        return 0;
    }
    enum nps_skind want = kind == 13 ? NPS_FILES : NPS_SERIES;
    int rc;
    struct nps_series *s = series_get(r, path, want, &rc);
    if (!s)
        return rc;
    if (s->kind != want) {
        xp_lost_add(&r->atoms.lost, "'%s' holds %s but sequence_id %" PRId64 " appends %s",
                 path, s->kind == NPS_FILES ? "files" : "values", seq,
                 want == NPS_FILES ? "a file" : "a value");
        return 0;
    }
    if (!s->n++)
        s->vkind = kind;
    return spool_put(r, s->sid, &h, v, len);
}

/* ---- atoms -------------------------------------------------------------- */

/* The attribute at path with type t (made when absent); NULL when the path
 * holds another type: counted as rejected, as Neptune rejects it. */
static struct npt_attr *want(struct nps_run *r, const char *path, enum npt_type t)
{
    struct npt_attr *a = npt_get(&r->atoms, path);
    if (!a)
        return npt_add(&r->atoms, path, t);
    if (a->type == t)
        return a;
    if (r->atoms.rejected++ < 5)
        xp_ctx_warn(r->atoms.ctx, "run '%s': assigning a %s to '%s' (a %s) is "
                    "rejected, as Neptune rejects it", r->atoms.id,
                    npt_type_name(t), path, npt_type_name(a->type));
    return NULL;
}

static void set_file(struct nps_run *r, const char *path, const struct nps_hdr *h,
                     const unsigned char *v, size_t len)
{
    struct nps_fattr *f = NULL;
    for (size_t i = 0; i < r->nfiles; i++)
        if (!strcmp(r->files[i].path, path))
            f = &r->files[i];
    if (!f) {
        r->files = xp_realloc(r->files, (r->nfiles + 1) * sizeof(*r->files));
        f = &r->files[r->nfiles++];
        f->path = xp_strdup(path);
        xp_buf_init(&f->value);
    }
    f->h = *h;
    xp_buf_reset(&f->value);
    xp_buf_put(&f->value, v, len);
}

static int assign(struct nps_run *r, int64_t seq, const char *path,
                  const struct nps_hdr *h, const unsigned char *v, size_t len)
{
    struct xp_pb m;
    struct xp_pb_field f, last = {0};
    int k, any = 0;
    xp_pb_init(&m, v, len);
    while ((k = xp_pb_next(&m, &f)) > 0) {
        last = f;
        any = 1;
    }
    if (k < 0)
        return damaged(r, seq, "a Value of 'assign' is not a valid message");
    if (!any) {
        xp_lost_add(&r->atoms.lost, "an empty value assigned to '%s' (sequence_id %" PRId64 ")",
                 path, seq);
        return 0;
    }
    struct npt_attr *a;
    f = last;
    switch (f.num) {
    case 1:
        if (f.wire != XP_PB_I64)
            break;
        if ((a = want(r, path, NPT_FLOAT)))
            memcpy(&a->v.d, &f.u, sizeof(double));
        return 0;
    case 3:
        if (f.wire != XP_PB_VARINT)
            break;
        if ((a = want(r, path, NPT_INT)))
            a->v.i = (int64_t)f.u;
        return 0;
    case 5:
        if (f.wire != XP_PB_VARINT)
            break;
        if ((a = want(r, path, NPT_BOOL)))
            a->v.b = f.u != 0;
        return 0;
    case 6:
        if (f.wire != XP_PB_LEN)
            break;
        if (memchr(f.ptr, 0, f.len)) {
            xp_lost_add(&r->atoms.lost, "the string assigned to '%s' holds a NUL byte", path);
            return 0;
        }
        if ((a = want(r, path, NPT_STRING))) {
            free(a->v.s);
            a->v.s = xp_strndup((const char *)f.ptr, f.len);
        }
        return 0;
    case 8: {
        int64_t sec;
        int32_t ns;
        if (f.wire != XP_PB_LEN || nps_timestamp(f.ptr, f.len, &sec, &ns))
            break;
        if (sec > INT64_MAX / 1000 - 1 || sec < INT64_MIN / 1000 + 1) {
            xp_lost_add(&r->atoms.lost, "the time assigned to '%s' is out of range", path);
            return 0;
        }
        if ((a = want(r, path, NPT_DATETIME))) {
            a->v.ms = sec * 1000 + ns / 1000000;
            a->ns = ns % 1000000;
        }
        return 0;
    }
    case 12: {
        if (f.wire != XP_PB_LEN || !(a = want(r, path, NPT_STRING_SET)))
            break;
        while (a->nset)
            npt_set_remove(a, a->set[0]);
        struct xp_pb sm;
        struct xp_pb_field sf = {0};
        xp_pb_sub(&sm, &f);
        while ((k = xp_pb_next(&sm, &sf)) > 0)
            if (sf.num == 1 && sf.wire == XP_PB_LEN) {
                char *s = xp_strndup((const char *)sf.ptr, sf.len);
                npt_set_add(a, s);
                free(s);
            }
        if (k < 0)
            return damaged(r, seq, "a StringSet is not a valid message");
        return 0;
    }
    case 13:
        set_file(r, path, h, v, len);
        return 0;
    case 14:
        xp_lost_add(&r->atoms.lost, "a histogram assigned (not appended) to '%s'", path);
        return 0;
    default:
        xp_lost_add(&r->atoms.lost, "a value of unknown type %u assigned to '%s'",
                 (unsigned)f.num, path);
        return 0;
    }
    return damaged(r, seq, "a Value field has the wrong wire type");
}

/* modify_sets: ModifySet{1 string: ModifyStringSet{1 map<string, SET_OPERATION>}} */
static int modify(struct nps_run *r, int64_t seq, const char *path,
                  const unsigned char *v, size_t len)
{
    struct xp_pb m, s, e;
    struct xp_pb_field f = {0}, g = {0}, x = {0};
    int k;
    struct npt_attr *a = want(r, path, NPT_STRING_SET);
    xp_pb_init(&m, v, len);
    while ((k = xp_pb_next(&m, &f)) > 0) {
        if (f.num != 1 || f.wire != XP_PB_LEN)
            continue;
        xp_pb_sub(&s, &f);
        while ((k = xp_pb_next(&s, &g)) > 0) {
            if (g.num != 1 || g.wire != XP_PB_LEN)
                continue;
            const unsigned char *key = (const unsigned char *)"";
            size_t klen = 0;
            uint64_t op = 0;
            xp_pb_sub(&e, &g);
            while ((k = xp_pb_next(&e, &x)) > 0) {
                if (x.num == 1 && x.wire == XP_PB_LEN) {
                    key = x.ptr;
                    klen = x.len;
                } else if (x.num == 2 && x.wire == XP_PB_VARINT) {
                    op = x.u;
                }
            }
            if (k < 0)
                break;
            if (!a || (op != 1 && op != 2))
                continue; /* NOOP */
            char *t = xp_strndup((const char *)key, klen);
            (op == 1 ? npt_set_add : npt_set_remove)(a, t);
            free(t);
        }
        if (k < 0)
            break;
    }
    return k < 0 ? damaged(r, seq, "a ModifySet is not a valid message") : 0;
}

/* ---- messages ----------------------------------------------------------- */

static void put_str(struct json_object *o, const char *k, const struct xp_pb_field *f)
{
    json_object_object_add(o, k, json_object_new_string_len((const char *)f->ptr,
                                                            (int)f->len));
}

static int create_run(struct nps_run *r, int64_t seq, const unsigned char *p,
                      size_t len)
{
    struct xp_pb m, s;
    struct xp_pb_field f = {0}, g = {0};
    int k;
    struct json_object *o = json_object_new_object(), *unknown = NULL;
    char iso[XP_ISO8601_BUFSZ], st[48];
    xp_pb_init(&m, p, len);
    while ((k = xp_pb_next(&m, &f)) > 0) {
        int64_t sec;
        int32_t ns;
        struct nps_step step;
        if (f.wire == XP_PB_LEN && (f.num == 1 || f.num == 5 || f.num == 4 ||
                                    f.num == 7 || f.num == 8)) {
            static const char *const names[] = {NULL, "run_id", NULL, NULL, "family",
                                                "experiment_id", NULL, "request_id",
                                                "tracker"};
            put_str(o, names[f.num], &f);
        } else if (f.wire == XP_PB_LEN && (f.num == 3 || f.num == 11)) {
            if (nps_timestamp(f.ptr, f.len, &sec, &ns))
                goto bad;
            xp_iso8601_format(iso, sec, ns, XP_ISO_TRIM);
            json_object_object_add(o, f.num == 3 ? "creation_time"
                                                 : "start_processing_time",
                                   json_object_new_string(iso));
        } else if (f.wire == XP_PB_LEN && f.num == 2) {
            struct json_object *fp = json_object_new_object();
            json_object_object_add(o, "fork_point", fp);
            xp_pb_sub(&s, &f);
            while ((k = xp_pb_next(&s, &g)) > 0) {
                if (g.wire != XP_PB_LEN)
                    continue;
                if (g.num == 1)
                    put_str(fp, "parent_project", &g);
                else if (g.num == 2)
                    put_str(fp, "parent_run_id", &g);
                else if (g.num == 15)
                    put_str(fp, "requested_parent_id", &g);
                else if (g.num == 4) {
                    if (nps_step(g.ptr, g.len, &step))
                        goto bad;
                    nps_step_text(st, &step);
                    json_object_object_add(fp, "step", json_object_new_string(st));
                }
            }
            if (k < 0)
                goto bad;
        } else if (f.wire == XP_PB_LEN && f.num == 6) {
            struct json_object *ow = json_object_new_object();
            json_object_object_add(o, "owner", ow);
            xp_pb_sub(&s, &f);
            while ((k = xp_pb_next(&s, &g)) > 0)
                if (g.wire == XP_PB_LEN && (g.num == 1 || g.num == 2))
                    put_str(ow, g.num == 1 ? "user_id" : "service_account_id", &g);
            if (k < 0)
                goto bad;
        } else if (f.num != 12) {
            /* a field of a later client: kept by number */
            if (!unknown)
                unknown = json_object_new_object();
            char key[16];
            snprintf(key, sizeof(key), "%u", (unsigned)f.num);
            struct json_object *u;
            if (f.wire == XP_PB_LEN) { /* its bytes, in hex */
                struct xp_buf hx = XP_BUF_INIT;
                for (size_t i = 0; i < f.len; i++)
                    xp_buf_printf(&hx, "%02x", f.ptr[i]);
                u = json_object_new_string(hx.len ? hx.ptr : "");
                xp_buf_release(&hx);
            } else {
                u = json_object_new_uint64(f.u);
            }
            json_object_object_add(unknown, key, u);
        }
    }
    if (k < 0)
        goto bad;
    if (unknown)
        json_object_object_add(o, "unknown_fields", unknown);
    json_object_put(r->create);
    r->create = o;
    r->creates++;
    return 0;
bad:
    json_object_put(o);
    json_object_put(unknown);
    return damaged(r, seq, "CreateRun (a Run message) does not decode");
}

/* A map entry {1 key, 2 value}: key and value bytes. */
static int map_entry(const struct xp_pb_field *f, char **key,
                     const unsigned char **v, size_t *vlen)
{
    struct xp_pb e;
    struct xp_pb_field x = {0};
    int k;
    const unsigned char *kp = (const unsigned char *)"";
    size_t kl = 0;
    *v = (const unsigned char *)"";
    *vlen = 0;
    xp_pb_sub(&e, f);
    while ((k = xp_pb_next(&e, &x)) > 0) {
        if (x.num == 1 && x.wire == XP_PB_LEN) {
            kp = x.ptr;
            kl = x.len;
        } else if (x.num == 2 && x.wire == XP_PB_LEN) {
            *v = x.ptr;
            *vlen = x.len;
        }
    }
    if (k < 0)
        return -1;
    *key = xp_strndup((const char *)kp, kl);
    return 0;
}

static int snapshot(struct nps_run *r, int64_t seq, const unsigned char *p,
                    size_t len)
{
    struct xp_pb m;
    struct xp_pb_field f = {0};
    struct nps_hdr h;
    int k;
    memset(&h, 0, sizeof(h));
    h.seq = (uint64_t)seq;
    /* step, timestamp and preview first: the client writes preview (10)
     * after the maps */
    xp_pb_init(&m, p, len);
    size_t at = 0;
    while ((at = (size_t)(m.p - p), k = xp_pb_next(&m, &f)) > 0) {
        if (f.num == 1 && f.wire == XP_PB_LEN) {
            if (nps_step(f.ptr, f.len, &h.step))
                return damaged(r, seq, "its Step does not decode (or micro >= 10^6)");
            h.flags |= NPS_HAS_STEP;
        } else if (f.num == 2 && f.wire == XP_PB_LEN) {
            if (nps_timestamp(f.ptr, f.len, &h.sec, &h.nanos))
                return damaged(r, seq, "its Timestamp does not decode");
            h.flags |= NPS_HAS_TS;
        } else if (f.num == 10 && f.wire == XP_PB_LEN) {
            struct xp_pb s;
            struct xp_pb_field g = {0};
            xp_pb_sub(&s, &f);
            while ((k = xp_pb_next(&s, &g)) > 0) {
                if (g.num == 1 && g.wire == XP_PB_VARINT && g.u)
                    h.flags |= NPS_PREVIEW;
                else if (g.num == 2 && g.wire == XP_PB_I32)
                    h.ratio = (uint32_t)g.u;
            }
            if (k < 0)
                return damaged(r, seq, "its Preview does not decode");
        }
    }
    if (k < 0) {
        char what[128];
        snprintf(what, sizeof(what), "UpdateRunSnapshot is not a valid message "
                 "(the field at byte %zu of %zu runs past its end)", at, len);
        return damaged(r, seq, what);
    }
    xp_pb_init(&m, p, len);
    int rc = 0;
    while (!rc && (k = xp_pb_next(&m, &f)) > 0) {
        if (f.wire != XP_PB_LEN || (f.num != 4 && f.num != 5 && f.num != 8))
            continue;
        char *key;
        const unsigned char *v = NULL;
        size_t vlen = 0;
        if (map_entry(&f, &key, &v, &vlen))
            return damaged(r, seq, "a map entry does not decode");
        rc = f.num == 4   ? assign(r, seq, key, &h, v, vlen)
             : f.num == 5 ? modify(r, seq, key, v, vlen)
                          : append(r, seq, key, &h, v, vlen);
        free(key);
    }
    r->snapshots++;
    r->atoms.nops++;
    return rc;
}

int nps_apply(struct nps_run *r, int64_t seq, int64_t type, const void *blob,
              size_t len)
{
    if (!r->spool) {
        int rc = xp_spool_new(&r->spool, 0);
        if (rc)
            return rc;
    }
    if (!r->rows++)
        r->first_seq = seq;
    r->last_seq = seq;
    if (type == OP_CREATE_RUN)
        return create_run(r, seq, blob, len);
    if (type == OP_UPDATE_SNAPSHOT)
        return snapshot(r, seq, blob, len);
    xp_lost_add(&r->atoms.lost, "sequence_id %" PRId64 " has an unknown operation_type %" PRId64,
             seq, type);
    return 0;
}
