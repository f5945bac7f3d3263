/* Values of neptune-scale's protobuf messages as xport values: exact steps
 * and times as doubles, and a Value message (common.proto of
 * neptune-ai/neptune-api: float64, int64, bool, string, timestamp,
 * string_set, histogram) as a point's "value". */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nps.h"
#include "xport/error.h"
#include "xport/iso8601.h"
#include "xport/json.h"
#include "xport/pb.h"

char *nps_arena_dup(struct xp_arena *a, const void *p, size_t n)
{
    char *s = xp_arena_alloc(a, n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

double nps_step_double(const struct nps_step *s)
{
    if (!s->micro && s->whole < (1ull << 53))
        return (double)s->whole;
    char t[48];
    nps_step_text(t, s);
    return strtod(t, NULL); /* correctly rounded */
}


double nps_ts_double(int64_t sec, int32_t nanos)
{
    if (!nanos && sec > -(1ll << 53) && sec < (1ll << 53))
        return (double)sec;
    char t[48];
    if (sec < 0 && nanos) { /* -1.5 s is sec -2, nanos 5e8 */
        snprintf(t, sizeof(t), "-%" PRId64 ".%09d", -(sec + 1), 1000000000 - nanos);
    } else {
        snprintf(t, sizeof(t), "%" PRId64 ".%09d", sec, nanos);
    }
    return strtod(t, NULL);
}

/* Packed or unpacked repeated doubles (or uint64 when counts) of field 1. */
static int repeated(struct xp_buf *b, const unsigned char *p, size_t len, int counts)
{
    struct xp_pb m;
    struct xp_pb_field f = {0};
    int k, first = 1;
    xp_pb_init(&m, p, len);
    xp_buf_putc(b, '[');
    while ((k = xp_pb_next(&m, &f)) > 0) {
        if (f.num != 1)
            continue;
        if (f.wire == XP_PB_LEN) {
            const unsigned char *q = f.ptr, *end = f.ptr + f.len;
            while (q < end) {
                if (!first)
                    xp_buf_putc(b, ',');
                first = 0;
                if (counts) {
                    uint64_t v;
                    if (xp_pb_varint_get(&q, end, &v))
                        return -1;
                    xp_buf_printf(b, "%" PRIu64, v);
                } else {
                    double d;
                    if (end - q < 8)
                        return -1;
                    uint64_t u = 0;
                    for (int i = 7; i >= 0; i--)
                        u = u << 8 | q[i];
                    memcpy(&d, &u, 8);
                    xp_json_put_double(b, d);
                    q += 8;
                }
            }
        } else if (f.wire == (counts ? XP_PB_VARINT : XP_PB_I64)) {
            if (!first)
                xp_buf_putc(b, ',');
            first = 0;
            if (counts) {
                xp_buf_printf(b, "%" PRIu64, f.u);
            } else {
                double d;
                memcpy(&d, &f.u, 8);
                xp_json_put_double(b, d);
            }
        }
    }
    xp_buf_putc(b, ']');
    return k < 0 ? -1 : 0;
}

/* A Histogram as {"type":"histogram","edges":[...],"counts"|"densities":[...]}
 * (NaN and ±Infinity as the bare tokens every xport JSON uses). */
static int histogram_json(struct xp_buf *b, const unsigned char *p, size_t len)
{
    struct xp_pb m;
    struct xp_pb_field f = {0};
    int k;
    xp_buf_puts(b, "{\"type\":\"histogram\",\"edges\":");
    if (repeated(b, p, len, 0))
        return -1;
    xp_pb_init(&m, p, len);
    while ((k = xp_pb_next(&m, &f)) > 0) {
        if ((f.num != 4 && f.num != 5) || f.wire != XP_PB_LEN)
            continue;
        xp_buf_puts(b, f.num == 4 ? ",\"counts\":" : ",\"densities\":");
        if (repeated(b, f.ptr, f.len, f.num == 4))
            return -1;
    }
    xp_buf_putc(b, '}');
    return k < 0 ? -1 : 0;
}

/* The field of a Value message that holds it (the last one, as protobuf
 * reads a oneof); 0 when there is none. */
int nps_value_field(const unsigned char *p, size_t len, struct xp_pb_field *out)
{
    struct xp_pb m;
    struct xp_pb_field f = {0};
    int k, any = 0;
    xp_pb_init(&m, p, len);
    while ((k = xp_pb_next(&m, &f)) > 0) {
        *out = f;
        any = 1;
    }
    return k < 0 ? -1 : any;
}

/* A Value as a point's "value"; strings go into the arena. */
int nps_point_value(struct xp_arena *arena, struct xp_value *v,
                    const unsigned char *p, size_t len)
{
    struct xp_pb_field f = {0};
    if (nps_value_field(p, len, &f) <= 0)
        return -1;
    struct xp_buf b = XP_BUF_INIT;
    int rc = 0;
    switch (f.num) {
    case 1: v->type = XP_V_FLOAT; memcpy(&v->u.d, &f.u, 8); break;
    case 3: v->type = XP_V_INT; v->u.i = (int64_t)f.u; break;
    case 5: v->type = XP_V_BOOL; v->u.b = f.u != 0; break;
    case 6:
        v->type = XP_V_STRING;
        v->u.s.ptr = nps_arena_dup(arena, f.ptr, f.len);
        v->u.s.len = f.len;
        break;
    case 8: {
        int64_t sec;
        int32_t ns;
        char iso[XP_ISO8601_BUFSZ];
        if (nps_timestamp(f.ptr, f.len, &sec, &ns))
            return -1;
        xp_iso8601_format(iso, sec, ns, XP_ISO_TRIM);
        v->type = XP_V_STRING;
        v->u.s.len = strlen(iso);
        v->u.s.ptr = nps_arena_dup(arena, iso, v->u.s.len);
        break;
    }
    case 12: { /* a string set as an array */
        struct xp_pb m;
        struct xp_pb_field g = {0};
        int k, first = 1;
        xp_pb_sub(&m, &f);
        xp_buf_putc(&b, '[');
        while ((k = xp_pb_next(&m, &g)) > 0 && !rc) {
            if (g.num != 1 || g.wire != XP_PB_LEN)
                continue;
            if (!first)
                xp_buf_putc(&b, ',');
            first = 0;
            rc = xp_json_put_str(&b, (const char *)g.ptr, g.len, "a string set");
        }
        xp_buf_putc(&b, ']');
        if (k < 0)
            rc = -1;
        v->type = XP_V_JSON;
        break;
    }
    case 14:
        rc = histogram_json(&b, f.ptr, f.len);
        v->type = XP_V_JSON;
        break;
    default:
        rc = -1;
    }
    if (v->type == XP_V_JSON && !rc) {
        v->u.s.ptr = nps_arena_dup(arena, b.ptr, b.len);
        v->u.s.len = b.len;
    }
    xp_buf_release(&b);
    return rc;
}

const char *nps_vkind_name(int k)
{
    switch (k) {
    case 1: return "floatSeries";
    case 3: return "intSeries";
    case 5: return "boolSeries";
    case 6: return "stringSeries";
    case 8: return "datetimeSeries";
    case 12: return "stringSetSeries";
    case 14: return "histogramSeries";
    default: return "series";
    }
}
