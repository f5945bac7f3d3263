/* The .wandb decoder's run metadata and documents (wandb_decode.h): run,
 * exit, telemetry, header, files and artifact records into struct
 * wrun_meta and the vendor document, config and summary updates into
 * their documents. Field numbers: wandb.md §3.4, checked against
 * wandb_internal.proto. */
#include "wandb_decode.h"

/* Set root[path...] = val, making intermediate objects (a non-object in the
 * way is replaced, as W&B's nested updates do). Takes val's reference. */
void wdec_set_path(struct json_object *root, const struct witem *it,
                   size_t from, struct json_object *val)
{
    struct json_object *o = root;
    char key[1024];
    for (size_t i = from; i < it->depth; i++) {
        size_t n = it->plen[i] < sizeof(key) - 1 ? it->plen[i]
                                                 : sizeof(key) - 1;
        memcpy(key, it->path[i], n);
        key[n] = '\0';
        char *k = it->plen[i] < sizeof(key) ? key
                                            : xp_strndup(it->path[i],
                                                         it->plen[i]);
        if (i + 1 == it->depth) {
            json_object_object_add(o, k, val);
        } else {
            struct json_object *c;
            if (!json_object_object_get_ex(o, k, &c) ||
                !json_object_is_type(c, json_type_object)) {
                c = json_object_new_object();
                json_object_object_add(o, k, c);
            }
            o = c;
        }
        if (k != key)
            free(k);
    }
}

static void json_del_path(struct json_object *root, const struct witem *it)
{
    struct json_object *o = root;
    for (size_t i = 0; i < it->depth && o; i++) {
        char *k = xp_strndup(it->path[i], it->plen[i]);
        if (i + 1 == it->depth) {
            json_object_object_del(o, k);
        } else {
            struct json_object *c = NULL;
            if (!json_object_object_get_ex(o, k, &c) ||
                !json_object_is_type(c, json_type_object))
                c = NULL;
            o = c;
        }
        free(k);
    }
}

/* ConfigRecord and SummaryRecord: {repeated update = 1; repeated remove = 2}
 * of items, applied in order to doc. */
int wdec_apply_updates(struct json_object *doc, const struct xp_pb_field *f)
{
    struct xp_pb m;
    struct xp_pb_field g;
    struct witem it;
    int k, rc;
    if (f->wire != XP_PB_LEN)
        return BAD_RECORD;
    xp_pb_sub(&m, f);
    while ((k = xp_pb_next(&m, &g)) > 0) {
        if (g.num != 1 && g.num != 2)
            continue;
        if ((rc = wdec_item(&it, &g)))
            return rc;
        if (g.num == 2) {
            json_del_path(doc, &it);
            continue;
        }
        struct json_object *v;
        if ((rc = wdec_item_json(&v, &it)))
            return rc;
        wdec_set_path(doc, &it, 0, v);
    }
    return k < 0 ? BAD_RECORD : 0;
}

static struct json_object *vendor_list(struct wrun *r, const char *key)
{
    struct json_object *a;
    if (!json_object_object_get_ex(r->vendor, key, &a)) {
        a = json_object_new_array();
        wdec_vendor_set(r, key, a);
    }
    return a;
}

/* TelemetryRecord: the versions are what is worth keeping. */
int wdec_telemetry(struct wrun *r, const struct xp_pb_field *f)
{
    static const struct {
        uint32_t num;
        const char *name;
    } keep[] = {{4, "python_version"},
                {5, "cli_version"},
                {6, "huggingface_version"},
                {12, "core_version"}};
    struct xp_pb m;
    struct xp_pb_field g;
    int k;
    if (!r || f->wire != XP_PB_LEN)
        return f->wire == XP_PB_LEN ? 0 : BAD_RECORD;
    xp_pb_sub(&m, f);
    struct json_object *t;
    if (!json_object_object_get_ex(r->vendor, "telemetry", &t)) {
        t = json_object_new_object();
        wdec_vendor_set(r, "telemetry", t);
    }
    while ((k = xp_pb_next(&m, &g)) > 0) {
        for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
            if (g.num == keep[i].num && g.wire == XP_PB_LEN &&
                xp_utf8_valid((const char *)g.ptr, g.len) &&
                !memchr(g.ptr, 0, g.len))
                json_object_object_add(
                    t, keep[i].name,
                    json_object_new_string_len((const char *)g.ptr,
                                               (int)g.len));
        }
    }
    return k < 0 ? BAD_RECORD : 0;
}

/* RunRecord: later run records (updates) override what they set. With r
 * NULL only the metadata is decoded (listing). */
int wdec_run(struct wrun_meta *mt, struct wrun *r,
             const struct xp_pb_field *f)
{
    struct xp_pb m;
    struct xp_pb_field g;
    int k, rc = 0, tags_reset = 0;
    if (f->wire != XP_PB_LEN)
        return BAD_RECORD;
    xp_pb_sub(&m, f);
    mt->has_run = 1;
    while ((k = xp_pb_next(&m, &g)) > 0 && !rc) {
        switch (g.num) {
        case 1: rc = wdec_dup_str(&mt->run_id, &g); break;
        case 2: rc = wdec_dup_str(&mt->entity, &g); break;
        case 3: rc = wdec_dup_str(&mt->project, &g); break;
        case 4:
            if (r && (r->resources & XP_RES_PARAMETERS))
                rc = wdec_apply_updates(r->config, &g);
            break;
        case 5:
            if (r && (r->resources & XP_RES_OTHERS))
                rc = wdec_apply_updates(r->summary, &g);
            break;
        case 6: rc = wdec_dup_str(&mt->group, &g); break;
        case 7: rc = wdec_dup_str(&mt->job_type, &g); break;
        case 8: rc = wdec_dup_str(&mt->display_name, &g); break;
        case 9: rc = wdec_dup_str(&mt->notes, &g); break;
        case 10: {
            char *t = NULL;
            if (!tags_reset) {
                for (size_t i = 0; i < mt->ntags; i++)
                    free(mt->tags[i]);
                mt->ntags = 0;
                tags_reset = 1;
            }
            if ((rc = wdec_dup_str(&t, &g)))
                break;
            mt->tags = xp_realloc(mt->tags, (mt->ntags + 1) * sizeof(char *));
            mt->tags[mt->ntags++] = t;
            break;
        }
        case 12: rc = wdec_dup_str(&mt->sweep_id, &g); break;
        case 13: rc = wdec_dup_str(&mt->host, &g); break;
        case 14: mt->starting_step = xp_pb_int64(&g); break;
        case 16: rc = wdec_dup_str(&mt->storage_id, &g); break;
        case 17:
            rc = wdec_timestamp(&g, &mt->start_sec, &mt->start_nanos);
            mt->has_start = 1;
            break;
        case 18: mt->resumed = g.u != 0; break;
        case 19: rc = wdec_telemetry(r, &g); break;
        case 20: mt->runtime = (int32_t)g.u; break;
        case 21: {
            struct xp_pb gm;
            struct xp_pb_field h;
            int kk;
            if (g.wire != XP_PB_LEN) {
                rc = BAD_RECORD;
                break;
            }
            xp_pb_sub(&gm, &g);
            while ((kk = xp_pb_next(&gm, &h)) > 0 && !rc) {
                if (h.num == 1)
                    rc = wdec_dup_str(&mt->git_remote, &h);
                else if (h.num == 2)
                    rc = wdec_dup_str(&mt->git_commit, &h);
            }
            if (kk < 0)
                rc = BAD_RECORD;
            break;
        }
        case 22: mt->forked = g.u != 0; break;
        default: break;
        }
    }
    return rc ? rc : k < 0 ? BAD_RECORD : 0;
}

int wdec_exit(struct wrun_meta *mt, const struct xp_pb_field *f)
{
    struct xp_pb m;
    struct xp_pb_field g;
    int k;
    if (f->wire != XP_PB_LEN)
        return BAD_RECORD;
    xp_pb_sub(&m, f);
    mt->has_exit = 1;
    mt->exit_code = 0;
    mt->exit_runtime = 0;
    mt->not_complete = 0;
    while ((k = xp_pb_next(&m, &g)) > 0) {
        if (g.num == 1)
            mt->exit_code = (int32_t)g.u;
        else if (g.num == 2)
            mt->exit_runtime = (int32_t)g.u;
        else if (g.num == 3)
            mt->not_complete = g.u != 0;
    }
    return k < 0 ? BAD_RECORD : 0;
}

/* FilesRecord {repeated FilesItem files = 1}: FilesItem {path = 1;
 * policy = 2; type = 3}, kept for the vendor record. */
int wdec_files(struct wrun *r, const struct xp_pb_field *f)
{
    static const char *const policy[] = {"now", "end", "live"};
    static const char *const type[] = {"other", "wandb", "media", "artifact"};
    struct xp_pb m, im;
    struct xp_pb_field g, h;
    int k, kk;
    if (f->wire != XP_PB_LEN)
        return BAD_RECORD;
    xp_pb_sub(&m, f);
    while ((k = xp_pb_next(&m, &g)) > 0) {
        if (g.num != 1 || g.wire != XP_PB_LEN)
            continue;
        char *path = NULL;
        uint64_t pol = 0, ty = 0;
        xp_pb_sub(&im, &g);
        while ((kk = xp_pb_next(&im, &h)) > 0) {
            if (h.num == 1 && wdec_dup_str(&path, &h)) {
                free(path);
                return BAD_RECORD;
            }
            if (h.num == 2)
                pol = h.u;
            if (h.num == 3)
                ty = h.u;
        }
        if (kk < 0 || !path) {
            free(path);
            return BAD_RECORD;
        }
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "path", json_object_new_string(path));
        json_object_object_add(
            o, "policy",
            pol < 3 ? json_object_new_string(policy[pol])
                    : json_object_new_int64((int64_t)pol));
        json_object_object_add(o, "type",
                               ty < 4 ? json_object_new_string(type[ty])
                                      : json_object_new_int64((int64_t)ty));
        json_object_array_add(vendor_list(r, "files"), o);
        free(path);
    }
    return k < 0 ? BAD_RECORD : 0;
}

/* ArtifactRecord: name (5), type (4) and digest (6) say what was logged. */
int wdec_artifact(struct wrun *r, const struct xp_pb_field *f)
{
    struct xp_pb m;
    struct xp_pb_field g;
    int k, rc = 0;
    char *name = NULL, *type = NULL, *digest = NULL;
    if (f->wire != XP_PB_LEN)
        return BAD_RECORD;
    xp_pb_sub(&m, f);
    while ((k = xp_pb_next(&m, &g)) > 0 && !rc) {
        if (g.num == 4)
            rc = wdec_dup_str(&type, &g);
        else if (g.num == 5)
            rc = wdec_dup_str(&name, &g);
        else if (g.num == 6)
            rc = wdec_dup_str(&digest, &g);
    }
    if (!rc && k < 0)
        rc = BAD_RECORD;
    if (!rc) {
        struct json_object *o = json_object_new_object();
        if (name)
            json_object_object_add(o, "name", json_object_new_string(name));
        if (type)
            json_object_object_add(o, "type", json_object_new_string(type));
        if (digest)
            json_object_object_add(o, "digest",
                                   json_object_new_string(digest));
        json_object_array_add(vendor_list(r, "artifacts"), o);
    }
    free(name);
    free(type);
    free(digest);
    return rc;
}

int wdec_header(struct wrun *r, const struct xp_pb_field *f)
{
    struct xp_pb m, vm;
    struct xp_pb_field g, h;
    int k, kk;
    if (f->wire != XP_PB_LEN)
        return BAD_RECORD;
    xp_pb_sub(&m, f);
    while ((k = xp_pb_next(&m, &g)) > 0) {
        if (g.num != 1 || g.wire != XP_PB_LEN)
            continue;
        xp_pb_sub(&vm, &g);
        while ((kk = xp_pb_next(&vm, &h)) > 0) {
            char *s = NULL;
            if ((h.num == 1 || h.num == 2) && !wdec_dup_str(&s, &h))
                wdec_vendor_set(r, h.num == 1 ? "producer" : "min_consumer",
                           json_object_new_string(s));
            free(s);
        }
        if (kk < 0)
            return BAD_RECORD;
    }
    return k < 0 ? BAD_RECORD : 0;
}
