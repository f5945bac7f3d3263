/* The W&B server writer's commit (wandb_write.h): the map of split series
 * and points without step (xport/fields.json), then the spooled series
 * merged back into history rows (one per step) and events rows (one per
 * timestamp), and the console lines, streamed through file_stream. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xport/error.h"
#include "xport/iso8601.h"
#include "xport/json.h"
#include "wandb_log.h"
#include "wandb_run.h"
#include "wandb_write.h"

/* ---- split series --------------------------------------------------------- */

static void drop_field(void *payload, const struct wsplit *w,
                       const char *field, const char *why)
{
    struct ws_sink *s = payload;
    xp_sink_drop(&s->base, s->a->base.ctx,
                 "W&B run '%s': point field '%s' of series '%s' is not "
                 "written: %s",
                 s->run_id, field, w->name, why);
}

int wsw_whole_step(const struct xp_value *v)
{
    if (v->type != XP_V_FLOAT)
        return 0;
    double d = v->u.d;
    return d >= 0 && d <= 9007199254740992.0 && d == (double)(int64_t)d && !signbit(d);
}

/* A metric series some of whose steps were whole decimals: all of them (and
 * none an integer, none missing, none another decimal) become integer
 * _steps and "float_steps" in the map, which gives them back as decimals;
 * else they are written at their indices, each counted as not carried. A
 * new entry for a series that is not split goes to *plain. */
static void float_steps_entry(struct ws_sink *s, struct wseries *ser, struct wsplit **plain)
{
    if (ser->kind != XP_SERIES_METRIC || !ser->whole_steps)
        return;
    if (ser->int_steps || ser->frac_steps || ser->steps.nostep) {
        for (uint64_t i = 0; i < ser->whole_steps; i++)
            xp_sink_drop(&s->base, s->a->base.ctx,
                         "W&B run '%s': %llu point%s of series '%s' ha%s whole decimal "
                         "steps next to %s; W&B history steps are integers, so they are "
                         "written at their indices",
                         s->run_id, (unsigned long long)ser->whole_steps,
                         ser->whole_steps == 1 ? "" : "s", ser->name,
                         ser->whole_steps == 1 ? "s" : "ve",
                         ser->int_steps    ? "integer steps"
                         : ser->frac_steps ? "other decimal steps"
                                           : "points without step");
        return;
    }
    ser->float_steps = 1;
    struct wsplit *w = ser->split;
    if (!w) {
        w = *plain = xp_malloc(sizeof(*w));
        wsplit_init(w, ser->name, ser->kind);
        w->has_value = ser->has_value;
    }
    w->float_steps = 1;
}

/* A metric series some of whose points had no step: an entry of the map
 * that says which (moved into the series' split entry, or a new entry
 * *plain without fields), or a drop when the map cannot say it exactly. */
static int steps_entry(struct ws_sink *s, struct wseries *ser,
                       struct wsplit **plain)
{
    *plain = NULL;
    struct wsteps *st = &ser->steps;
    if (ser->kind != XP_SERIES_METRIC || !st->nostep)
        return 0;
    struct xp_buf why = XP_BUF_INIT;
    int rc = 0;
    if (st->stepped && !st->overflow &&
        !(rc = xp_spool_iter_open(&ser->it, s->spool, ser->stream)))
        ser->it_open = 1;
    if (!rc)
        rc = wsteps_check(st, &ser->it, &why);
    if (rc == 1) {
        int one = st->nostep == 1;
        xp_sink_drop(&s->base, s->a->base.ctx,
                     "W&B run '%s': %llu point%s of series '%s' without step "
                     "come%s back with %s index as step: %s",
                     s->run_id, (unsigned long long)st->nostep, one ? "" : "s",
                     ser->name, one ? "s" : "", one ? "its" : "their",
                     why.ptr);
        wsteps_release(st);
        rc = 0;
    } else if (!rc) {
        struct wsplit *w = ser->split;
        if (!w) {
            w = *plain = xp_malloc(sizeof(*w));
            wsplit_init(w, ser->name, ser->kind);
            w->has_value = ser->has_value;
        }
        w->steps = *st;
        wsteps_init(st);
    }
    xp_buf_release(&why);
    return rc;
}

/* At commit, before any row: which fields of split series get keys (a key
 * that is also a series' name, or an earlier field's key, would mix two
 * things that the reader could not tell apart), and the map that lets the
 * reader join them back and drop the steps W&B needed where points had
 * none, xport/fields.json. An overwritten run gets a map even without
 * entries, so that an older one does not stay. */
int wsw_put_split_map(struct ws_sink *s)
{
    struct wsplit **v = xp_calloc(2 * s->nseries + 1, sizeof(*v));
    size_t n = 0, nsplit;
    int rc = 0;
    struct json_object *taken[2] = {json_object_new_object(),
                                    json_object_new_object()};
    for (size_t i = 0; i < s->nseries; i++) {
        struct wseries *ser = &s->series[i];
        if (ser->skip)
            continue;
        json_object_object_add(taken[ser->kind == XP_SERIES_SYSTEM],
                               ser->name, NULL);
        if (ser->split) {
            ser->split->has_value = ser->has_value;
            v[n++] = ser->split;
        }
    }
    wsplit_resolve(v, n, taken, drop_field, s);
    json_object_put(taken[0]);
    json_object_put(taken[1]);
    nsplit = n;
    for (size_t i = 0; i < s->nseries && !rc; i++) {
        if (s->series[i].skip)
            continue;
        if (!(rc = steps_entry(s, &s->series[i], &v[n])) && v[n])
            n++;
        if (!rc) {
            float_steps_entry(s, &s->series[i], &v[n]);
            if (v[n])
                n++;
        }
    }
    if (!rc && (n || (s->exists && s->overwrite))) {
        rc = wsw_ensure_tmpdir(s);
        char *tmp = rc ? NULL : wsw_tmp_path(s, "fields");
        if (!rc)
            rc = wsplit_file_write(tmp, v, n);
        if (!rc)
            rc = wsw_upload(s, WXF_FIELDS, tmp);
        if (tmp)
            unlink(tmp);
        free(tmp);
    }
    for (size_t i = nsplit; i < n; i++) {
        wsplit_release(v[i]);
        free(v[i]);
    }
    free(v);
    return rc;
}

/* ---- merging series back into rows -------------------------------------- */

struct head {
    size_t series;
    struct xp_spool_iter it;
    int live;
    struct xp_buf raw;
    struct xp_point p;
    struct xp_field f[WPT_NKEYS];
    struct xp_arena ar;
    double key;
    const struct xp_value *step, *ts, *rt;
    struct xp_value whole; /* a whole decimal step as the integer _step */
    /* a split series: the point's fields that have keys */
    struct xp_spool_iter xit;
    int xopen;
    uint64_t pos;          /* points read */
    struct xp_field *xf;
    size_t nxf, xcap;
};

static const struct xp_value *field(const struct xp_point *p, const char *k)
{
    for (size_t i = 0; i < p->nfields; i++)
        if (!strcmp(p->fields[i].key, k))
            return &p->fields[i].v;
    return NULL;
}

static double num(const struct xp_value *v)
{
    if (!v)
        return 0;
    return v->type == XP_V_INT ? (double)v->u.i
           : v->type == XP_V_FLOAT ? v->u.d : 0;
}

/* The fields of the head's point that have keys, from its split series'
 * stream (points before x_from have none). */
static int head_fields(struct head *h, const struct wseries *ser)
{
    h->nxf = 0;
    if (!h->xopen || h->pos++ < ser->x_from)
        return 0;
    const void *data;
    size_t len, idx;
    int rc = xp_spool_iter_next(&h->xit, &data, &len);
    if (rc)
        return rc == XP_ITEROVER
                   ? xp_error_set(XP_EIO, "damaged point fields in the spool")
                   : rc;
    const unsigned char *p = data, *end = p + len;
    struct xp_value v;
    while ((rc = wsplit_get(&p, end, &idx, &v, &h->ar)) == 1) {
        if (idx >= ser->split->nfields)
            return xp_error_set(XP_EIO, "damaged point fields in the spool");
        if (!ser->split->keep[idx])
            continue;
        if (h->nxf == h->xcap) {
            h->xcap = h->xcap ? h->xcap * 2 : 16;
            h->xf = xp_realloc(h->xf, h->xcap * sizeof(*h->xf));
        }
        h->xf[h->nxf].key = ser->split->fields[idx];
        h->xf[h->nxf++].v = v;
    }
    return rc;
}

static int head_next(struct head *h, const struct wseries *ser, int by_time)
{
    const void *data;
    size_t len;
    int rc = xp_spool_iter_next(&h->it, &data, &len);
    if (rc == XP_ITEROVER) {
        h->live = 0;
        return 0;
    }
    if (rc)
        return rc;
    xp_buf_reset(&h->raw);
    xp_buf_put(&h->raw, data, len);
    xp_arena_reset(&h->ar);
    if ((rc = wpt_decode(&h->p, h->f, h->raw.ptr, h->raw.len, &h->ar)) ||
        (rc = head_fields(h, ser)))
        return rc;
    h->step = field(&h->p, "step");
    const struct xp_value *dec = ser->float_steps ? field(&h->p, "_step") : NULL;
    if (dec && wsw_whole_step(dec)) {
        h->whole.type = XP_V_INT;
        h->whole.u.i = (int64_t)dec->u.d;
        h->step = &h->whole;
    }
    h->ts = field(&h->p, "timestamp");
    h->rt = field(&h->p, "runtime");
    h->key = by_time ? num(h->ts) : num(h->step);
    h->live = 1;
    return 0;
}

static int same_value(const struct xp_value *a, const struct xp_value *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case XP_V_INT: return a->u.i == b->u.i;
    case XP_V_FLOAT: return !memcmp(&a->u.d, &b->u.d, 8);
    default: return 0;
    }
}

static void put_special(struct xp_buf *b, const char *k,
                        const struct xp_value *v, int *first)
{
    if (!v)
        return;
    xp_buf_printf(b, "%s\"%s\":", *first ? "" : ",", k);
    xp_json_put_value(b, v, k);
    *first = 0;
}

/* One key of a row and its value (null for none): the series' name, in
 * events rows after "system.", and "/field" for a field of a split
 * series. */
static int put_key_value(struct ws_sink *s, int by_time, const char *name,
                         const char *field, const struct xp_value *v,
                         int *first)
{
    struct xp_buf *b = &s->line, *k = &s->key;
    if (!*first)
        xp_buf_putc(b, ',');
    *first = 0;
    int rc;
    if (!by_time && !field) {
        rc = xp_json_put_str(b, name, strlen(name), "series name");
    } else {
        xp_buf_reset(k);
        if (by_time)
            xp_buf_puts(k, "system.");
        if (field)
            wsplit_key(k, name, field);
        else
            xp_buf_puts(k, name);
        rc = xp_json_put_str(b, k->ptr, k->len, "series name");
    }
    xp_buf_putc(b, ':');
    if (!rc && v && v->type == XP_V_JSON)
        xp_buf_put(b, v->u.s.ptr, v->u.s.len);
    else if (!rc && v)
        rc = xp_json_put_value(b, v, name);
    else
        xp_buf_puts(b, "null");
    return rc;
}

/* Stream the series of one kind as rows of `file`: points with the same
 * step (metrics) or timestamp (system) and the same _timestamp/_runtime
 * share a row. Rows below `skip` were sent by an earlier attempt. */
int wsw_send_rows(struct ws_sink *s, enum xp_series_kind kind,
                  const char *file, int64_t skip)
{
    int by_time = kind == XP_SERIES_SYSTEM;
    size_t nh = 0;
    for (size_t i = 0; i < s->nseries; i++)
        if (s->series[i].kind == kind && !s->series[i].skip &&
            xp_spool_count(s->spool, s->series[i].stream))
            nh++;
    if (!nh)
        return 0;
    struct head *h = xp_calloc(nh, sizeof(*h));
    size_t *grp = xp_calloc(nh, sizeof(*grp));
    int rc = 0;
    size_t j = 0;
    for (size_t i = 0; i < s->nseries && !rc; i++) {
        struct wseries *ser = &s->series[i];
        if (ser->kind != kind || ser->skip ||
            !xp_spool_count(s->spool, ser->stream))
            continue;
        h[j].series = i;
        xp_buf_init(&h[j].raw);
        if (ser->it_open) {
            h[j].it = ser->it; /* opened by steps_entry, rewound */
            ser->it_open = 0;
        } else {
            rc = xp_spool_iter_open(&h[j].it, s->spool, ser->stream);
        }
        if (!rc && ser->split &&
            !(rc = xp_spool_iter_open(&h[j].xit, s->spool, ser->xstream)))
            h[j].xopen = 1;
        if (!rc)
            rc = head_next(&h[j], ser, by_time);
        j++;
    }
    nh = j;
    if (!rc)
        rc = wstream_begin(&s->fs, file, skip > 0 ? skip : 0);
    int64_t row = 0;
    while (!rc) {
        /* the smallest key among the heads */
        size_t lead = nh;
        for (size_t i = 0; i < nh; i++)
            if (h[i].live && (lead == nh || h[i].key < h[lead].key))
                lead = i;
        if (lead == nh)
            break;
        size_t ng = 0;
        for (size_t i = 0; i < nh; i++)
            if (h[i].live && h[i].key == h[lead].key &&
                same_value(h[i].ts, h[lead].ts) &&
                same_value(h[i].rt, h[lead].rt) &&
                (by_time || same_value(h[i].step, h[lead].step)))
                grp[ng++] = i;
        if (row++ >= skip) {
            struct xp_buf *b = &s->line;
            int first = 1;
            xp_buf_reset(b);
            xp_buf_putc(b, '{');
            if (by_time) {
                xp_buf_puts(b, "\"_wandb\":true");
                first = 0;
            } else {
                put_special(b, "_step", h[lead].step, &first);
            }
            put_special(b, "_timestamp", h[lead].ts, &first);
            put_special(b, "_runtime", h[lead].rt, &first);
            for (size_t g = 0; g < ng && !rc; g++) {
                const struct head *hg = &h[grp[g]];
                const struct xp_value *v = field(&hg->p, "value");
                const char *name = s->series[hg->series].name;
                /* a point without value whose fields have keys needs no
                 * null to be there */
                if (v || !hg->nxf)
                    rc = put_key_value(s, by_time, name, NULL, v, &first);
                for (size_t x = 0; x < hg->nxf && !rc; x++)
                    rc = put_key_value(s, by_time, name, hg->xf[x].key,
                                       &hg->xf[x].v, &first);
            }
            xp_buf_putc(b, '}');
            if (!rc && b->len > WSTREAM_MAX_LINE)
                xp_sink_drop(&s->base, s->a->base.ctx,
                            "W&B run '%s': a %s line of %zu bytes is over "
                            "W&B's limit and is not sent",
                            s->run_id, file, b->len);
            else if (!rc)
                rc = wstream_line(&s->fs, b->ptr, b->len);
        }
        for (size_t g = 0; g < ng && !rc; g++)
            rc = head_next(&h[grp[g]], &s->series[h[grp[g]].series],
                           by_time);
        if (!rc && xp_ctx_cancelled(s->a->base.ctx))
            rc = xp_error_set(XP_ECANCEL, "interrupted");
    }
    if (!rc)
        rc = wstream_flush(&s->fs);
    for (size_t i = 0; i < nh; i++) {
        xp_spool_iter_close(&h[i].it);
        if (h[i].xopen)
            xp_spool_iter_close(&h[i].xit);
        free(h[i].xf);
        xp_buf_release(&h[i].raw);
        xp_arena_release(&h[i].ar);
    }
    free(h);
    free(grp);
    return rc;
}

/* Console lines in file_stream's plain form: "ERROR " for stderr, the
 * time with microseconds (nanoseconds when the source has them), text. */
int wsw_send_console(struct ws_sink *s)
{
    if (!s->have_logs || !xp_spool_count(s->spool, s->log_stream))
        return 0;
    struct xp_spool_iter it;
    int rc = xp_spool_iter_open(&it, s->spool, s->log_stream);
    if (rc)
        return rc;
    int64_t skip = s->overwrite ? 0 : s->have_logs_n;
    rc = wstream_begin(&s->fs, "output.log", skip);
    int64_t n = 0;
    while (!rc) {
        const void *data;
        size_t len;
        rc = xp_spool_iter_next(&it, &data, &len);
        if (rc == XP_ITEROVER) {
            rc = 0;
            break;
        }
        struct wlog_line l;
        if (rc || (rc = wline_decode(&l, data, len)))
            break;
        if (n++ < skip)
            continue;
        struct xp_buf *b = &s->line;
        xp_buf_reset(b);
        if (!l.stream)
            xp_buf_puts(b, "ERROR ");
        if (l.has_ts) {
            char iso[40];
            xp_iso8601_format(iso, l.sec, 0, XP_ISO_TRIM);
            iso[strlen(iso) - 1] = '\0'; /* no Z */
            if (l.nanos % 1000)
                xp_buf_printf(b, "%s.%09" PRId32 " ", iso, l.nanos);
            else
                xp_buf_printf(b, "%s.%06" PRId32 " ", iso, l.nanos / 1000);
        }
        /* the Go core's legacy console format: "[label] " after the time
         * (core/internal/runconsolelogs/runlogschangemodel.go, LegacyFormat) */
        if (l.label) {
            xp_buf_putc(b, '[');
            xp_buf_put(b, l.label, l.label_len);
            xp_buf_puts(b, "] ");
        }
        xp_buf_put(b, l.text, l.len);
        rc = wstream_line(&s->fs, b->ptr, b->len);
    }
    xp_spool_iter_close(&it);
    if (!rc)
        rc = wstream_flush(&s->fs);
    return rc;
}
