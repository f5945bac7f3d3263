/* Reading one experiment directory: the xport layout, or an ml-dash local
 * store of either generation (their metric and log JSONL lines are the
 * same format). This file holds the reader's state machine, which yields
 * the records in the order include/xport/record.h gives; the pieces are in
 * layout_read_meta.c, layout_read_series.c, layout_read_logs.c and
 * layout_read_files.c, over the JSONL line reading they share
 * (layout_read_lines.c). Lines are parsed one at a time into bounded
 * batches. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "layout_read.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"
#include "xport/progress.h"

/* ---- the state machine ---- */

static int reader_next(struct xp_reader *base, const struct xp_record **out)
{
    struct layout_reader *r = (struct layout_reader *)base;
    int rc, have;
    *out = NULL;
    xp_progress_set(r->read_closed + (r->fp ? r->offset : 0), r->read_total);
    for (;;) {
        switch (r->stage) {
        case ST_EXPERIMENT:
            r->stage = ST_PARAMS;
            if ((rc = lr_fill_experiment(r)))
                return rc;
            *out = &r->rec;
            return 0;
        case ST_PARAMS:
            r->stage = ST_SUMMARY;
            if (r->ro.only_series || !(r->ro.resources & XP_RES_PARAMETERS))
                continue;
            if ((rc = lr_load_doc(r, "parameters.json", XP_DOC_PARAMETERS, &have)))
                return rc;
            if (have) {
                *out = &r->rec;
                return 0;
            }
            continue;
        case ST_SUMMARY:
        case ST_OTHERS: {
            enum stage s = r->stage;
            r->stage = s == ST_SUMMARY ? ST_OTHERS : ST_SERIES;
            if (r->ro.only_series || !(r->ro.resources & XP_RES_OTHERS))
                continue;
            if ((rc = lr_load_doc(r, s == ST_SUMMARY ? "summary.json" : "others.json",
                               s == ST_SUMMARY ? XP_DOC_SUMMARY : XP_DOC_OTHERS,
                               &have)))
                return rc;
            if (have) {
                *out = &r->rec;
                return 0;
            }
            continue;
        }
        case ST_SERIES: {
            if (r->cur_series >= r->nseries) {
                r->stage = ST_LOGS;
                continue;
            }
            struct series_item *it = &r->series[r->cur_series];
            if (xp_ctx_cancelled(r->la->base.ctx))
                return xp_error_set(XP_ECANCEL, "interrupted");
            if (r->series_state == 0) {
                if (r->ro.have_item) {
                    /* resume: the destination holds this series already */
                    struct xp_buf key = XP_BUF_INIT;
                    xp_buf_printf(&key, "%s/%s", xp_series_dir(it->kind), it->name);
                    int held = r->ro.have_item(r->ro.have_payload, key.ptr);
                    xp_buf_release(&key);
                    if (held) {
                        r->cur_series++;
                        continue;
                    }
                }
                if ((rc = lr_series_begin(r, it)))
                    return rc;
                r->series_state = 1;
                *out = &r->rec;
                return 0;
            }
            if (r->series_state == 1) {
                rc = lr_read_points(r, it);
                if (rc == 0) {
                    *out = &r->rec;
                    return 0;
                }
                if (rc != XP_ITEROVER)
                    return rc;
                r->series_state = 2;
            }
            lr_release_held(r);
            lr_close_fp(r);
            r->series_state = 0;
            r->cur_series++;
            r->rec.kind = XP_REC_SERIES_END;
            *out = &r->rec;
            return 0;
        }
        case ST_LOGS:
            if (r->ro.only_series || !(r->ro.resources & XP_RES_LOGS)) {
                r->stage = ST_FILES;
                continue;
            }
            if (!r->fp) {
                char *p = xp_path_join(r->dir, "logs/logs.jsonl");
                int exists = lfs_is_file(r->la, p);
                rc = exists ? lr_open_fp(r, p) : 0;
                free(p);
                if (rc)
                    return rc;
                if (!exists) {
                    r->stage = ST_FILES;
                    continue;
                }
            }
            rc = lr_read_logs(r);
            if (rc == 0) {
                *out = &r->rec;
                return 0;
            }
            if (rc != XP_ITEROVER)
                return rc;
            lr_release_held(r);
            lr_close_fp(r);
            r->stage = ST_FILES;
            continue;
        case ST_FILES:
            if (!r->files_collected) {
                r->files_collected = 1;
                if ((r->ro.resources & (XP_RES_FILES | XP_RES_ARTIFACTS)) &&
                    !r->ro.only_series) {
                    rc = r->la->flavor == LOCAL_XPORT ? lr_collect_files_xport(r)
                                                      : lr_collect_files_mldash(r);
                    if (rc)
                        return rc;
                }
            }
            if (r->cur_file >= r->nfiles) {
                lr_close_body(r);
                r->stage = ST_END;
                continue;
            }
            if (r->ro.have_item) {
                struct file_item *f = &r->files[r->cur_file];
                const char *art = xp_json_str(f->entry, "artifact");
                struct xp_buf key = XP_BUF_INIT;
                if (art && r->la->flavor == LOCAL_XPORT)
                    xp_buf_printf(&key, "artifacts/%s/%s", art, f->path);
                else
                    xp_buf_printf(&key, "files/%s", f->path);
                int held = r->ro.have_item(r->ro.have_payload, key.ptr);
                xp_buf_release(&key);
                if (held) {
                    r->cur_file++;
                    continue;
                }
            }
            if ((rc = lr_emit_file(r, &r->files[r->cur_file++])))
                return rc;
            *out = &r->rec;
            return 0;
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

static void reader_free(struct xp_reader *base)
{
    struct layout_reader *r = (struct layout_reader *)base;
    if (!r)
        return;
    lr_release_held(r);
    lr_close_fp(r);
    lr_close_body(r);
    for (size_t i = 0; i < r->nseries; i++) {
        free(r->series[i].dir);
        free(r->series[i].name);
    }
    for (size_t i = 0; i < r->nfiles; i++) {
        free(r->files[i].path);
        free(r->files[i].disk);
        json_object_put(r->files[i].entry);
    }
    free(r->files);
    free(r->series);
    json_object_put(r->series_md);
    json_object_put(r->doc);
    json_object_put(r->vendor_obj);
    json_object_put(r->exp_json);
    local_experiment_names_release(&r->names);
    free(r->tags);
    free(r->line);
    free(r->points);
    free(r->fields);
    free(r->held);
    free(r->logs);
    xp_arena_release(&r->arena);
    free(r->dir);
    free(r);
}

int local_read_experiment(struct xp_reader **out, struct xp_adapter *a,
                          const struct xp_experiment_ref *ref,
                          const struct xp_read_opts *ro)
{
    struct local_adapter *la = (struct local_adapter *)a;
    *out = NULL;
    struct layout_reader *r = xp_calloc(1, sizeof(*r));
    r->base.version = XP_READER_VERSION;
    r->base.next = reader_next;
    r->base.free = reader_free;
    r->la = la;
    r->dir = xp_strdup(ref->key);
    r->ro = *ro;
    xp_fd_stream_init(&r->stream);
    r->points = xp_calloc(XP_POINTS_BATCH, sizeof(*r->points));
    r->held = xp_calloc(XP_POINTS_BATCH > LOG_BATCH ? XP_POINTS_BATCH : LOG_BATCH,
                        sizeof(*r->held));
    r->logs = xp_calloc(LOG_BATCH, sizeof(*r->logs));
    char *ej = xp_path_join(r->dir, "experiment.json");
    int rc = lfs_read_json(la, &r->exp_json, ej);
    free(ej);
    if (!rc && !json_object_is_type(r->exp_json, json_type_object))
        rc = xp_error_set(XP_EINVALID, "'%s/experiment.json' is not an object",
                          r->dir);
    if (!rc)
        rc = local_experiment_names(&r->names, la, r->dir, r->exp_json);
    if (rc) {
        reader_free(&r->base);
        return rc;
    }
    lr_collect_series(r);
    *out = &r->base;
    return 0;
}
