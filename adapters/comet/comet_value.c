/* Comet's metric values, metric points and '|'-nested parameters, shared by
 * the cometx and comet-offline adapters (adapters/comet/comet_int.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "comet_int.h"
#include "xport/error.h"
#include "xport/jscan.h"
#include "xport/json.h"

/* "-"? digits, nothing else: an integer in Comet's text. */
static int plain_int(const char *s, size_t len)
{
    size_t i = s[0] == '-';
    if (i == len)
        return 0;
    for (; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int parse_int64(const char *s, size_t len, int64_t *out)
{
    int neg = s[0] == '-';
    uint64_t v = 0;
    for (size_t i = (size_t)neg; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* Python's str(float) spells the specials "nan", "inf", "-inf"; Java's
 * Double.toString "NaN", "Infinity", "-Infinity" (xp_parse_double). */
static int special(const char *s, size_t len, double *out)
{
    static const struct {
        const char *t;
        double v;
    } sp[] = {{"nan", NAN}, {"inf", INFINITY}, {"-inf", -INFINITY},
              {"+inf", INFINITY}, {"infinity", INFINITY},
              {"-infinity", -INFINITY}, {"+infinity", INFINITY}};
    for (size_t i = 0; i < sizeof(sp) / sizeof(sp[0]); i++)
        if (strlen(sp[i].t) == len && !strncasecmp(sp[i].t, s, len)) {
            *out = sp[i].v;
            return 1;
        }
    return 0;
}

void comet_value_parse(struct xp_value *out, const char *s, size_t len)
{
    out->type = XP_V_STRING;
    out->u.s.ptr = s;
    out->u.s.len = len;
    if (len == 0 || len > 400)
        return;
    int64_t i;
    double d;
    if (plain_int(s, len) && parse_int64(s, len, &i) == 0) {
        out->type = XP_V_INT;
        out->u.i = i;
    } else if (special(s, len, &d) || xp_parse_double(s, len, &d) == 0) {
        out->type = XP_V_FLOAT;
        out->u.d = d;
    }
}

int comet_value_put(struct xp_buf *b, const struct xp_value *v)
{
    char tmp[XP_DOUBLE_BUFSZ];
    switch (v->type) {
    case XP_V_INT:
        xp_buf_putc(b, '"');
        xp_buf_put(b, tmp, xp_fmt_int(tmp, v->u.i));
        xp_buf_putc(b, '"');
        return 0;
    case XP_V_UINT:
        /* above INT64_MAX: read back as a double, not exactly */
        return 1;
    case XP_V_FLOAT:
        xp_buf_putc(b, '"');
        xp_buf_put(b, tmp, xp_fmt_double(tmp, v->u.d));
        xp_buf_putc(b, '"');
        return 0;
    case XP_V_STRING: {
        struct xp_value back;
        comet_value_parse(&back, v->u.s.ptr, v->u.s.len);
        if (back.type != XP_V_STRING)
            return 1;
        return xp_json_put_str(b, v->u.s.ptr, v->u.s.len, "metric value");
    }
    default:
        return xp_json_put_value(b, v, "metric value");
    }
}

enum xp_series_kind comet_kind_of(const char *name)
{
    return strncmp(name, "sys.", 4) ? XP_SERIES_METRIC : XP_SERIES_SYSTEM;
}

/* ---- scanning ----------------------------------------------------------- */

int comet_scan_object(char *s, size_t len, struct xp_arena *arena, struct xp_field *f,
                      size_t max, size_t *n)
{
    if (xp_jscan_object(s, len, f, max, n) == 0)
        return 0;
    struct json_object *o = NULL;
    /* a line from a server or an offline archive, priced like an answer */
    int rc = xp_json_parse_answer(&o, s, len, "a JSON line", NULL);
    if (!rc && !json_object_is_type(o, json_type_object))
        rc = xp_error_set(XP_EINVALID, "not an object");
    if (!rc) {
        struct xp_buf b = XP_BUF_INIT;
        rc = xp_json_put_obj(&b, o, 0);
        char *copy = rc ? NULL : xp_arena_strndup(arena, b.ptr, b.len);
        xp_buf_release(&b);
        if (!rc && xp_jscan_object(copy, strlen(copy), f, max, n))
            rc = xp_error_set(XP_EINVALID, "more than %zu members", max);
    }
    json_object_put(o);
    return rc;
}

/* ---- points -------------------------------------------------------------- */

static int is(const char *a, const char *b)
{
    return !strcmp(a, b);
}

int comet_point_from_fields(struct xp_point *p, struct xp_field *f, size_t *n,
                            const char **name, enum xp_series_kind *kind,
                            int64_t index)
{
    struct xp_field out[COMET_MAX_FIELDS];
    struct xp_field rest[COMET_MAX_FIELDS];
    size_t no = 0, nr = 0;
    const struct xp_field *value = NULL, *step = NULL, *epoch = NULL, *ts = NULL,
                          *xts = NULL, *xval = NULL;
    const char *xkind = NULL;
    *name = NULL;
    p->index = index;
    p->created_at = NULL;
    for (size_t i = 0; i < *n; i++) {
        struct xp_field *x = &f[i];
        const char *k = x->key;
        if (is(k, "metricName")) {
            if (x->v.type == XP_V_STRING)
                *name = x->v.u.s.ptr;
        } else if (is(k, "metricValue")) {
            value = x;
            if (x->v.type == XP_V_STRING)
                comet_value_parse(&x->v, x->v.u.s.ptr, x->v.u.s.len);
        } else if (is(k, "step")) {
            step = x;
        } else if (is(k, "epoch")) {
            epoch = x;
        } else if (is(k, "timestamp")) {
            ts = x;
        } else if (is(k, COMET_X_PREFIX "timestamp")) {
            xts = x;
        } else if (is(k, COMET_X_PREFIX "value")) {
            xval = x;
        } else if (is(k, COMET_X_PREFIX "index") && x->v.type == XP_V_INT) {
            p->index = x->v.u.i;
        } else if (is(k, COMET_X_PREFIX "kind") && x->v.type == XP_V_STRING) {
            xkind = x->v.u.s.ptr;
        } else if (is(k, COMET_X_PREFIX "createdAt") && x->v.type == XP_V_STRING) {
            p->created_at = x->v.u.s.ptr;
        } else if (!(is(k, "runContext") && x->v.type == XP_V_NULL)) {
            rest[nr++] = *x;
        }
    }
    if (!*name)
        return xp_error_set(XP_EINVALID, "metric line has no \"metricName\"");
    *kind = !xkind                 ? comet_kind_of(*name)
            : is(xkind, "system") ? XP_SERIES_SYSTEM
            : is(xkind, "track")  ? XP_SERIES_TRACK
                                  : XP_SERIES_METRIC;
    if (xval) /* the value itself, where metricValue holds its text */
        out[no++] = (struct xp_field){"value", xval->v};
    else if (value && *kind != XP_SERIES_TRACK)
        out[no++] = (struct xp_field){"value", value->v};
    if (step && step->v.type != XP_V_NULL)
        out[no++] = (struct xp_field){"step", step->v};
    if (epoch && epoch->v.type != XP_V_NULL)
        out[no++] = (struct xp_field){"epoch", epoch->v};
    if (xts) { /* null: the point had no time */
        if (xts->v.type != XP_V_NULL)
            out[no++] = (struct xp_field){"timestamp", xts->v};
    } else if (ts && (ts->v.type == XP_V_INT || ts->v.type == XP_V_FLOAT)) {
        struct xp_value v = {.type = XP_V_FLOAT};
        v.u.d = (ts->v.type == XP_V_INT ? (double)ts->v.u.i : ts->v.u.d) / 1000.0;
        out[no++] = (struct xp_field){"timestamp", v};
    } else if (ts && ts->v.type != XP_V_NULL) {
        out[no++] = *ts;
    }
    for (size_t i = 0; i < nr; i++)
        out[no++] = rest[i];
    memcpy(f, out, no * sizeof(*f));
    *n = no;
    p->fields = f;
    p->nfields = no;
    return 0;
}

static void key(struct xp_buf *b, const char *k)
{
    xp_buf_puts(b, ", \"");
    xp_buf_puts(b, k);
    xp_buf_puts(b, "\": ");
}

const struct xp_value *comet_point_field(const struct xp_point *p, const char *k)
{
    for (size_t i = 0; i < p->nfields; i++)
        if (is(p->fields[i].key, k))
            return &p->fields[i].v;
    return NULL;
}

static int put_or_null(struct xp_buf *b, const struct xp_value *v, const char *what)
{
    if (!v) {
        xp_buf_puts(b, "null");
        return 0;
    }
    return xp_json_put_value(b, v, what);
}

/* The epoch milliseconds Comet keeps for an xport timestamp (seconds);
 * *exact is 0 when reading them back would not give v to the bit. */
int comet_ts_millis(const struct xp_value *v, int64_t *ms, int *exact)
{
    *exact = 0;
    if (v->type == XP_V_INT) {
        if (v->u.i > INT64_MAX / 1000 || v->u.i < INT64_MIN / 1000)
            return -1;
        *ms = v->u.i * 1000;
        return 0;
    }
    if (v->type != XP_V_FLOAT || !isfinite(v->u.d) || fabs(v->u.d) > 9e15)
        return -1;
    *ms = llround(v->u.d * 1000.0);
    double back = (double)*ms / 1000.0;
    *exact = memcmp(&back, &v->u.d, sizeof(double)) == 0;
    return 0;
}

int comet_point_put(struct xp_buf *b, const char *name, enum xp_series_kind kind,
                    const struct xp_point *p, int64_t pos)
{
    size_t start = b->len;
    xp_buf_puts(b, "{\"metricName\": ");
    int rc = xp_json_put_str(b, name, strlen(name), "metric name");
    if (rc)
        goto fail;
    const struct xp_value *v = comet_point_field(p, "value"), *xval = NULL;
    /* a track row has no value: no metricValue, which cometx copy skips */
    if (kind != XP_SERIES_TRACK)
        xp_buf_puts(b, ", \"metricValue\": ");
    if (kind == XP_SERIES_TRACK) {
    } else if (v) {
        rc = comet_value_put(b, v);
        if (rc == 1) { /* its text here, the value itself in xport_value */
            struct xp_buf t = XP_BUF_INIT;
            rc = xp_json_put_value(&t, v, "metric value");
            if (!rc)
                rc = xp_json_put_str(b, t.ptr, t.len, "metric value");
            xp_buf_release(&t);
            xval = v;
        }
        if (rc)
            goto fail;
    } else {
        xp_buf_puts(b, "null");
    }
    const struct xp_value *ts = comet_point_field(p, "timestamp");
    int64_t ms = 0;
    int exact = 0, have_ms = ts && comet_ts_millis(ts, &ms, &exact) == 0;
    key(b, "timestamp");
    if (have_ms)
        xp_json_put_int(b, ms);
    else
        xp_buf_puts(b, "null");
    key(b, "step");
    if ((rc = put_or_null(b, comet_point_field(p, "step"), "step")))
        goto fail;
    key(b, "epoch");
    if ((rc = put_or_null(b, comet_point_field(p, "epoch"), "epoch")))
        goto fail;
    key(b, "runContext");
    if ((rc = put_or_null(b, comet_point_field(p, "runContext"), "runContext")))
        goto fail;
    for (size_t i = 0; i < p->nfields; i++) {
        const char *k = p->fields[i].key;
        if ((is(k, "value") && kind != XP_SERIES_TRACK) || is(k, "step") || is(k, "epoch") ||
            is(k, "timestamp") || is(k, "runContext") || is(k, "metricName") ||
            !strncmp(k, COMET_X_PREFIX, strlen(COMET_X_PREFIX)))
            continue;
        xp_buf_puts(b, ", ");
        if ((rc = xp_json_put_str(b, k, strlen(k), "point field")))
            goto fail;
        xp_buf_puts(b, ": ");
        if ((rc = xp_json_put_value(b, &p->fields[i].v, k)))
            goto fail;
    }
    if (ts && !exact) {
        key(b, COMET_X_PREFIX "timestamp");
        if ((rc = xp_json_put_value(b, ts, "timestamp")))
            goto fail;
    }
    if (xval) {
        key(b, COMET_X_PREFIX "value");
        if ((rc = xp_json_put_value(b, xval, "metric value")))
            goto fail;
    }
    if (p->index != pos) {
        key(b, COMET_X_PREFIX "index");
        xp_json_put_int(b, p->index);
    }
    if (kind != comet_kind_of(name)) {
        key(b, COMET_X_PREFIX "kind");
        xp_buf_puts(b, kind == XP_SERIES_SYSTEM  ? "\"system\""
                       : kind == XP_SERIES_TRACK ? "\"track\""
                                                 : "\"metric\"");
    }
    if (p->created_at) {
        key(b, COMET_X_PREFIX "createdAt");
        if ((rc = xp_json_put_str(b, p->created_at, strlen(p->created_at), "createdAt")))
            goto fail;
    }
    xp_buf_puts(b, "}\n");
    return 0;
fail:
    xp_buf_setlen(b, start);
    return rc;
}

/* ---- parameters ---------------------------------------------------------- */

void comet_param_nest(struct json_object *obj, const char *name,
                      struct json_object *value)
{
    const char *bar = strchr(name, '|');
    struct json_object *sub;
    if (bar && bar != name && bar[1]) {
        char *head = xp_strndup(name, (size_t)(bar - name));
        if (!json_object_object_get_ex(obj, head, &sub)) {
            sub = json_object_new_object();
            json_object_object_add(obj, head, sub);
        }
        if (json_object_is_type(sub, json_type_object)) {
            free(head);
            comet_param_nest(sub, bar + 1, value);
            return;
        }
        free(head);
    }
    /* a flat name, or one that clashes with a value already there */
    json_object_object_add(obj, name, value);
}

/* ---- xport's others ---------------------------------------------------------- */

static const char *held_str(struct comet_extras *x, const char *k)
{
    const char *v = xp_json_str(x->held, k);
    return v;
}

int comet_extras_take(struct comet_extras *x, struct json_object *others)
{
    memset(x, 0, sizeof(*x));
    x->held = json_object_new_object();
    struct json_object *drop = json_object_new_array();
    json_object_object_foreach(others, k, v) {
        if (!strcmp(k, "Name") || !strncmp(k, COMET_X_PREFIX, strlen(COMET_X_PREFIX))) {
            json_object_object_add(x->held, k, json_object_get(v));
            json_object_array_add(drop, json_object_new_string(k));
        }
    }
    for (size_t i = 0; i < json_object_array_length(drop); i++)
        json_object_object_del(others, json_object_get_string(json_object_array_get_idx(drop, i)));
    json_object_put(drop);
    x->status = held_str(x, COMET_X_PREFIX "status");
    x->description = held_str(x, COMET_X_PREFIX "description");
    x->folder = held_str(x, COMET_X_PREFIX "folder");
    x->src_vendor = held_str(x, COMET_X_PREFIX "source_vendor");
    x->src_id = held_str(x, COMET_X_PREFIX "source_id");
    const char *t = held_str(x, COMET_X_PREFIX "metadata");
    int rc = 0;
    if (t)
        rc = xp_json_parse_answer(&x->metadata, t, strlen(t), "the other xport_metadata",
                                  NULL);
    t = held_str(x, COMET_X_PREFIX "summary");
    if (!rc && t)
        rc = xp_json_parse_answer(&x->summary, t, strlen(t), "the other xport_summary",
                                  NULL);
    return rc;
}

void comet_extras_release(struct comet_extras *x)
{
    json_object_put(x->held);
    json_object_put(x->metadata);
    json_object_put(x->summary);
    memset(x, 0, sizeof(*x));
}

void comet_extras_put(const struct xp_experiment_meta *m, int comet_origin, int running,
                      void (*add)(void *payload, const char *name, const char *text),
                      void *payload)
{
    if (m->status && !(running && !strcmp(m->status, "RUNNING")))
        add(payload, COMET_X_PREFIX "status", m->status);
    if (m->description)
        add(payload, COMET_X_PREFIX "description", m->description);
    if (m->folder)
        add(payload, COMET_X_PREFIX "folder", m->folder);
    if (!comet_origin) {
        add(payload, COMET_X_PREFIX "source_vendor", m->source_vendor ? m->source_vendor : "");
        if (m->source_id)
            add(payload, COMET_X_PREFIX "source_id", m->source_id);
    }
    if (m->metadata) {
        struct xp_buf b = XP_BUF_INIT;
        if (!xp_json_put_obj(&b, m->metadata, 0))
            add(payload, COMET_X_PREFIX "metadata", b.ptr);
        xp_buf_release(&b);
    }
}
