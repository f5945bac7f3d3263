/* Decoding the records of a .wandb file into a struct wrun (wandb_run.h):
 * the scan over the prefetch thread's records, each record handed to its
 * decoder (wandb_decode.h: wandb_run_meta.c, wandb_run_history.c), and
 * peeking at a file's run record. Field numbers: wandb.md §3.4, checked
 * against wandb_internal.proto. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/json.h"
#include "xport/progress.h"
#include "xport/spool.h"
#include "xport/sys/adapter.h"
#include "wandb_log.h"
#include "wandb_prefetch.h"
#include "wandb_decode.h"

/* Record.record_type fields we read */
enum {
    REC_HISTORY = 2,
    REC_SUMMARY = 3,
    REC_OUTPUT = 4,
    REC_CONFIG = 5,
    REC_FILES = 6,
    REC_STATS = 7,
    REC_ARTIFACT = 8,
    REC_TELEMETRY = 11,
    REC_OUTPUT_RAW = 13,
    REC_RUN = 17,
    REC_EXIT = 18,
    REC_FINAL = 20,
    REC_HEADER = 21
};

/* One Record message. Unknown record types are skipped. (The prefetch
 * thread packs history records whose other fields are ones this ignores,
 * ignored_field in wandb_rows.c: keep the two in step.) */
static int decode_record(struct wrun *r, struct scratch *s,
                         const unsigned char *data, size_t len)
{
    struct xp_pb m;
    struct xp_pb_field f;
    int k, rc = 0;
    xp_pb_init(&m, data, len);
    while ((k = xp_pb_next(&m, &f)) > 0 && !rc) {
        unsigned res = r->resources;
        switch (f.num) {
        case REC_RUN: rc = wdec_run(&r->m, r, &f); break;
        case REC_EXIT: rc = wdec_exit(&r->m, &f); break;
        case REC_HISTORY:
            if (res & XP_RES_METRICS)
                rc = wdec_history(r, s, &f);
            break;
        case REC_STATS:
            if (res & XP_RES_SYSTEM)
                rc = wdec_stats(r, s, &f);
            break;
        case REC_CONFIG:
            if (res & XP_RES_PARAMETERS)
                rc = wdec_apply_updates(r->config, &f);
            break;
        case REC_SUMMARY:
            if (res & XP_RES_OTHERS)
                rc = wdec_apply_updates(r->summary, &f);
            break;
        case REC_OUTPUT:
        case REC_OUTPUT_RAW:
            if ((res & XP_RES_LOGS) && !r->only_series)
                rc = wdec_output(r, s, &f);
            break;
        case REC_FILES: rc = wdec_files(r, &f); break;
        case REC_ARTIFACT: rc = wdec_artifact(r, &f); break;
        case REC_TELEMETRY: rc = wdec_telemetry(r, &f); break;
        case REC_HEADER: rc = wdec_header(r, &f); break;
        case REC_FINAL:
            wdec_vendor_set(r, "final", json_object_new_boolean(1));
            break;
        default: break;
        }
        wdec_scratch_reset(s);
    }
    if (!rc && k < 0)
        rc = BAD_RECORD;
    return rc;
}

/* ---- scanning ---------------------------------------------------------- */

static void meta_release(struct wrun_meta *m)
{
    char **strs[] = {&m->run_id,   &m->entity,   &m->project,
                     &m->display_name, &m->notes, &m->group,
                     &m->job_type, &m->sweep_id, &m->host,
                     &m->storage_id, &m->git_remote, &m->git_commit};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        free(*strs[i]);
    for (size_t i = 0; i < m->ntags; i++)
        free(m->tags[i]);
    free(m->tags);
    memset(m, 0, sizeof(*m));
}

void wrun_meta_release(struct wrun_meta *m)
{
    meta_release(m);
}

void wrun_release(struct wrun *r)
{
    meta_release(&r->m);
    json_object_put(r->config);
    json_object_put(r->summary);
    json_object_put(r->vendor);
    xp_spool_free(r->spool);
    for (size_t i = 0; i < r->nseries; i++)
        free(r->series[i].name);
    free(r->series);
    wdec_map_free(r->metric_map);
    wdec_map_free(r->system_map);
    free(r->path);
    free(r->lost);
    memset(r, 0, sizeof(*r));
}

int wrun_init(struct wrun *r, const char *path, unsigned resources,
              const char *only_series, const struct xp_ctx *ctx)
{
    memset(r, 0, sizeof(*r));
    r->ctx = ctx;
    r->path = xp_strdup(path);
    r->resources = resources;
    r->only_series = only_series;
    r->config = json_object_new_object();
    r->summary = json_object_new_object();
    r->vendor = json_object_new_object();
    r->metric_map = wdec_map_new();
    r->system_map = wdec_map_new();
    return xp_spool_new(&r->spool, 0);
}

int wrun_scan(struct wrun *r, const char *path, unsigned resources,
              const char *only_series, const struct xp_ctx *ctx)
{
    int rc = wrun_init(r, path, resources, only_series, ctx);
    if (rc)
        return rc;

    struct wlog l;
    rc = wlog_open(&l, path, ctx);
    if (rc) {
        wlog_close(&l);
        return rc;
    }
    r->version = l.version;
    r->old_layout = l.base != 0;

    struct scratch s;
    memset(&s, 0, sizeof(s));
    xp_buf_init(&s.enc);
    size_t nbad = 0;
    struct xp_buf bad = XP_BUF_INIT;
    struct wpre *pre = NULL;
    struct wpre_entry e;
    /* history is packed on the prefetch thread only when it is read;
     * XPORT_WANDB_NO_PACK=1 leaves it all to the decoder, to compare */
    rc = wpre_start(&pre, &l, (resources & XP_RES_METRICS) &&
                                  !getenv("XPORT_WANDB_NO_PACK"));
    while (!rc && (rc = wpre_next(pre, &e)) == 0) {
        if (e.kind == WPRE_KEY) {
            wdec_row_key_add(r, &s, &e);
            continue;
        }
        if (xp_ctx_cancelled(ctx)) {
            rc = xp_error_set(XP_ECANCEL, "interrupted");
            break;
        }
        r->nrecords++;
        xp_progress_set(e.off, l.size); /* the whole file is read here */
        rc = e.kind == WPRE_ROW
                 ? wdec_row(r, &s, (const struct wrow *)(const void *)e.data)
                 : decode_record(r, &s, e.data, e.len);
        wdec_scratch_reset(&s);
        if (rc == BAD_RECORD) {
            /* it passed the checksum but is not a record we can read */
            xp_ctx_warn(ctx, "'%s': undecodable record at offset %" PRId64,
                        path, e.off);
            if (nbad < 8)
                xp_buf_printf(&bad, "%s%" PRId64, nbad ? ", " : "",
                              e.off);
            nbad++;
            rc = 0;
        } else if (rc) {
            break;
        }
    }
    wpre_stop(pre); /* l's damage fields are ours again */
    wdec_scratch_release(&s);
    if (rc == XP_ITEROVER)
        rc = 0;
    if (!rc && (l.nlost || nbad)) {
        struct xp_buf msg = XP_BUF_INIT;
        if (l.nlost) {
            xp_buf_puts(&msg, "lost bytes ");
            wlog_lost_str(&l, &msg, 8);
        }
        if (nbad)
            xp_buf_printf(&msg, "%sundecodable record%s at offset%s %s%s",
                          l.nlost ? "; " : "", nbad > 1 ? "s" : "",
                          nbad > 1 ? "s" : "", bad.ptr,
                          nbad > 8 ? " and more" : "");
        r->nlost = l.nlost + nbad;
        r->lost = xp_buf_detach(&msg);
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; i < l.nlost; i++) {
            struct json_object *p = json_object_new_array();
            json_object_array_add(p, json_object_new_int64(l.lost[i].start));
            json_object_array_add(p, json_object_new_int64(l.lost[i].end));
            json_object_array_add(a, p);
        }
        wdec_vendor_set(r, "lost_byte_ranges", a);
        if (nbad)
            wdec_vendor_set(r, "undecodable_records",
                       json_object_new_int64((int64_t)nbad));
    }
    xp_buf_release(&bad);
    wlog_close(&l);
    return rc;
}

int wrun_peek(struct wrun_meta *m, const char *path)
{
    memset(m, 0, sizeof(*m));
    struct wlog l;
    int rc = wlog_open(&l, path, NULL);
    if (rc) {
        wlog_close(&l);
        return rc;
    }
    const unsigned char *data;
    size_t len;
    /* the run record comes first (after a header); look a little further
     * in case a writer put telemetry or output before it */
    for (int n = 0; n < 64 && !m->has_run; n++) {
        rc = wlog_next(&l, &data, &len);
        if (rc == XP_ITEROVER) {
            rc = 0;
            break;
        }
        if (rc)
            break;
        struct xp_pb pm;
        struct xp_pb_field f;
        xp_pb_init(&pm, data, len);
        while (xp_pb_next(&pm, &f) > 0) {
            if (f.num == REC_RUN) {
                if (wdec_run(m, NULL, &f))
                    meta_release(m); /* unreadable: fall back to defaults */
                break;
            }
        }
    }
    wlog_close(&l);
    return rc;
}
