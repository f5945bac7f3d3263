/* Helpers for the Comet adapter tests (ctest.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "testutil.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/hash.h"
#include "xport/json.h"
#include "xport/location.h"
#include "xport/sys/adapter.h"

int ct_fixture(const char *what, const char *dir, const char *arg)
{
    char *script = tu_src("tests/comet/make_fixtures.py");
    int rc = tu_sh("'%s' '%s' '%s' '%s' '%s'", XPORT_PYTHON, script, what, dir,
                   arg ? arg : "");
    free(script);
    return rc;
}

static void put_value(struct xp_buf *b, const struct xp_value *v)
{
    char tmp[XP_DOUBLE_BUFSZ];
    switch (v->type) {
    case XP_V_NULL: xp_buf_puts(b, "null"); break;
    case XP_V_BOOL: xp_buf_puts(b, v->u.b ? "b:true" : "b:false"); break;
    case XP_V_INT: xp_buf_printf(b, "i:%" PRId64, v->u.i); break;
    case XP_V_UINT: xp_buf_printf(b, "u:%" PRIu64, v->u.u); break;
    case XP_V_FLOAT:
        xp_fmt_double(tmp, v->u.d);
        xp_buf_printf(b, "f:%s", tmp);
        break;
    case XP_V_STRING: xp_buf_printf(b, "s:%.*s", (int)v->u.s.len, v->u.s.ptr); break;
    case XP_V_JSON: xp_buf_printf(b, "j:%.*s", (int)v->u.s.len, v->u.s.ptr); break;
    }
}

static int dump_one(const struct xp_experiment_ref *ref, void *payload)
{
    void **pl = payload;
    struct xp_adapter *a = pl[0];
    struct xp_buf *b = pl[1];
    struct xp_reader *r = NULL;
    struct xp_read_opts ro = {0};
    int rc = xp_adapter_read(&r, a, ref, &ro);
    const struct xp_record *rec;
    while (!rc && (rc = xp_reader_next(r, &rec)) == 0) {
        switch (rec->kind) {
        case XP_REC_EXPERIMENT: {
            const struct xp_experiment_meta *m = &rec->u.exp;
            xp_buf_printf(b, "EXP %s/%s/%s status=%s desc=%s start=%s end=%s src=%s:%s tags=",
                          m->workspace, m->project, m->name, m->status ? m->status : "-",
                          m->description ? m->description : "-",
                          m->started_at ? m->started_at : "-",
                          m->ended_at ? m->ended_at : "-",
                          m->source_vendor ? m->source_vendor : "-",
                          m->source_id ? m->source_id : "-");
            for (size_t i = 0; i < m->ntags; i++)
                xp_buf_printf(b, "%s%s", i ? "," : "", m->tags[i]);
            xp_buf_putc(b, '\n');
            break;
        }
        case XP_REC_DOCUMENT:
            xp_buf_printf(b, "DOC %s ", rec->u.doc.kind == XP_DOC_PARAMETERS ? "parameters"
                                        : rec->u.doc.kind == XP_DOC_SUMMARY ? "summary"
                                                                             : "others");
            xp_json_put_obj(b, rec->u.doc.doc, 1);
            xp_buf_putc(b, '\n');
            break;
        case XP_REC_SERIES_BEGIN:
            xp_buf_printf(b, "SERIES %s %s\n", xp_series_dir(rec->u.series.kind),
                          rec->u.series.name);
            break;
        case XP_REC_POINTS:
            for (size_t i = 0; i < rec->u.points.n; i++) {
                const struct xp_point *p = &rec->u.points.v[i];
                xp_buf_printf(b, "P %" PRId64, p->index);
                for (size_t f = 0; f < p->nfields; f++) {
                    xp_buf_printf(b, " %s=", p->fields[f].key);
                    put_value(b, &p->fields[f].v);
                }
                if (p->created_at)
                    xp_buf_printf(b, " createdAt=%s", p->created_at);
                xp_buf_putc(b, '\n');
            }
            break;
        case XP_REC_SERIES_END: xp_buf_puts(b, "END SERIES\n"); break;
        case XP_REC_LOGS:
            for (size_t i = 0; i < rec->u.logs.n; i++) {
                const struct xp_log_entry *e = &rec->u.logs.v[i];
                xp_buf_printf(b, "LOG %" PRId64 " stream=%s %.*s\n", e->seq,
                              e->stream ? e->stream : "-", (int)e->message_len, e->message);
            }
            break;
        case XP_REC_FILE: {
            struct xp_sha256 h;
            xp_sha256_init(&h);
            char buf[4096];
            ssize_t n;
            int64_t total = 0;
            while ((n = rec->u.file.body->read(rec->u.file.body, buf, sizeof(buf))) > 0) {
                xp_sha256_update(&h, buf, (size_t)n);
                total += n;
            }
            if (n < 0) {
                rc = (int)n;
                break;
            }
            unsigned char d[32];
            char hex[65];
            xp_sha256_final(&h, d);
            xp_hex(hex, d, 32);
            xp_buf_printf(b, "FILE %s %" PRId64 " %.16s\n", rec->u.file.meta.path, total, hex);
            break;
        }
        case XP_REC_END: xp_buf_puts(b, "END\n"); break;
        }
    }
    xp_reader_free(r);
    return rc == XP_ITEROVER ? 0 : rc;
}

int ct_dump(char **out, char **err, const char *adapter, const char *path)
{
    struct xp_buf b = XP_BUF_INIT;
    struct xp_location loc;
    struct xp_ctx ctx = {0};
    struct xp_adapter *a = NULL;
    int rc = xp_location_from(&loc, adapter, path);
    if (!rc)
        rc = xp_adapter_open(&a, &loc, NULL, &ctx);
    if (!rc) {
        void *pl[2] = {a, &b};
        rc = xp_adapter_list(a, dump_one, pl);
    }
    *err = xp_strdup(rc ? xp_error_last()->message : "");
    xp_adapter_close(a);
    xp_location_release(&loc);
    *out = xp_buf_detach(&b);
    return rc;
}

int ct_has(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        return 1;
    print_message("missing: %s\nin:\n%s\n", needle, hay);
    return 0;
}
