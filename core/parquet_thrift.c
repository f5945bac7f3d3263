/* The Thrift compact protocol, read only: the encoding of Parquet's footer
 * and page headers (apache/thrift doc/specs/thrift-compact-protocol.md, as
 * apache/parquet-format uses it). Every read is bounded by the buffer. */
#include <stdio.h>
#include <string.h>

#include "core/parquet_int.h"
#include "xport/error.h"
#include "xport/pb.h"

#define XP_TC_MAX_DEPTH 64

void xp_tc_init(struct xp_tc *t, const void *data, size_t len, int64_t base)
{
    t->start = t->p = data;
    t->end = t->p + len;
    t->base = base;
    t->depth = 0;
}

int64_t xp_tc_offset(const struct xp_tc *t)
{
    return t->base + (int64_t)(t->p - t->start);
}

int xp_tc_fail(const struct xp_tc *t, const char *why)
{
    return xp_error_set(XP_EINVALID, "bad thrift at byte %lld: %s",
                        (long long)xp_tc_offset(t), why);
}

static int uvarint(struct xp_tc *t, uint64_t *v)
{
    if (xp_pb_varint_get(&t->p, t->end, v) < 0)
        return xp_tc_fail(t, t->p >= t->end ? "truncated" : "bad varint");
    return 0;
}

static int zigzag(struct xp_tc *t, int64_t *v)
{
    uint64_t u = 0;
    int rc = uvarint(t, &u);
    if (rc < 0)
        return rc;
    *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 0;
}

int xp_tc_struct_begin(struct xp_tc *t)
{
    if (++t->depth > XP_TC_MAX_DEPTH)
        return xp_tc_fail(t, "structures nested too deep");
    return 0;
}

void xp_tc_struct_end(struct xp_tc *t)
{
    t->depth--;
}

int xp_tc_field(struct xp_tc *t, int16_t *last, struct xp_tc_field *f)
{
    if (t->p >= t->end)
        return xp_tc_fail(t, "truncated");
    unsigned char b = *t->p++;
    if (b == 0)
        return 0;
    f->type = b & 0x0f;
    if (f->type > XP_TC_STRUCT)
        return xp_tc_fail(t, "unknown field type");
    unsigned delta = b >> 4;
    if (delta) {
        f->id = (int16_t)(*last + (int)delta);
    } else {
        int64_t id;
        int rc = zigzag(t, &id);
        if (rc < 0)
            return rc;
        if (id < INT16_MIN || id > INT16_MAX)
            return xp_tc_fail(t, "field id out of range");
        f->id = (int16_t)id;
    }
    *last = f->id;
    return 1;
}

static int want(struct xp_tc *t, const struct xp_tc_field *f, int type)
{
    if (f->type != type)
        return xp_tc_fail(t, "field of an unexpected type");
    return 0;
}

int xp_tc_i64(struct xp_tc *t, const struct xp_tc_field *f, int64_t *out)
{
    if (f->type != XP_TC_I64 && f->type != XP_TC_I32 && f->type != XP_TC_I16)
        return xp_tc_fail(t, "field of an unexpected type");
    return zigzag(t, out);
}

int xp_tc_i32(struct xp_tc *t, const struct xp_tc_field *f, int32_t *out)
{
    if (f->type == XP_TC_I8) {
        if (t->p >= t->end)
            return xp_tc_fail(t, "truncated");
        *out = (int8_t)*t->p++;
        return 0;
    }
    if (f->type != XP_TC_I32 && f->type != XP_TC_I16)
        return xp_tc_fail(t, "field of an unexpected type");
    int64_t v = 0;
    int rc = zigzag(t, &v);
    if (rc < 0)
        return rc;
    if (v < INT32_MIN || v > INT32_MAX)
        return xp_tc_fail(t, "i32 out of range");
    *out = (int32_t)v;
    return 0;
}

int xp_tc_bool(struct xp_tc *t, const struct xp_tc_field *f, int *out)
{
    if (f->type == XP_TC_TRUE || f->type == XP_TC_FALSE) {
        *out = f->type == XP_TC_TRUE;
        return 0;
    }
    return xp_tc_fail(t, "field of an unexpected type");
}

int xp_tc_binary(struct xp_tc *t, const struct xp_tc_field *f,
                 const unsigned char **p, size_t *len)
{
    int rc = want(t, f, XP_TC_BINARY);
    uint64_t n = 0;
    if (rc < 0 || (rc = uvarint(t, &n)) < 0)
        return rc;
    if (n > (uint64_t)(t->end - t->p))
        return xp_tc_fail(t, "string runs past the end");
    *p = t->p;
    *len = (size_t)n;
    t->p += n;
    return 0;
}

static int list_header(struct xp_tc *t, int *etype, size_t *n)
{
    if (t->p >= t->end)
        return xp_tc_fail(t, "truncated");
    unsigned char b = *t->p++;
    uint64_t cnt = b >> 4;
    *etype = b & 0x0f;
    if (cnt == 15) {
        int rc = uvarint(t, &cnt);
        if (rc < 0)
            return rc;
    }
    /* every element takes at least one byte, except booleans in a list,
     * which also take one */
    if (cnt > (uint64_t)(t->end - t->p))
        return xp_tc_fail(t, "list longer than its bytes");
    if (*etype == XP_TC_STOP || *etype > XP_TC_STRUCT)
        return xp_tc_fail(t, "unknown list element type");
    *n = (size_t)cnt;
    return 0;
}

int xp_tc_list(struct xp_tc *t, const struct xp_tc_field *f, int *etype,
               size_t *n)
{
    if (f->type != XP_TC_LIST && f->type != XP_TC_SET)
        return xp_tc_fail(t, "field of an unexpected type");
    return list_header(t, etype, n);
}

int xp_tc_skip(struct xp_tc *t, int type)
{
    int rc = 0;
    uint64_t u = 0;
    switch (type) {
    case XP_TC_TRUE:
    case XP_TC_FALSE:
        return 0;
    case XP_TC_I8:
        if (t->p >= t->end)
            return xp_tc_fail(t, "truncated");
        t->p++;
        return 0;
    case XP_TC_I16:
    case XP_TC_I32:
    case XP_TC_I64:
        return uvarint(t, &u);
    case XP_TC_DOUBLE:
        if (t->end - t->p < 8)
            return xp_tc_fail(t, "truncated");
        t->p += 8;
        return 0;
    case XP_TC_BINARY: {
        struct xp_tc_field f = {0, XP_TC_BINARY};
        const unsigned char *p;
        size_t len;
        return xp_tc_binary(t, &f, &p, &len);
    }
    case XP_TC_LIST:
    case XP_TC_SET: {
        int et = 0;
        size_t n = 0;
        if ((rc = list_header(t, &et, &n)) < 0)
            return rc;
        if ((rc = xp_tc_struct_begin(t)) < 0)
            return rc;
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (et == XP_TC_TRUE || et == XP_TC_FALSE)
                rc = xp_tc_skip(t, XP_TC_I8); /* one byte each in a list */
            else
                rc = xp_tc_skip(t, et);
        }
        xp_tc_struct_end(t);
        return rc;
    }
    case XP_TC_MAP: {
        if ((rc = uvarint(t, &u)) < 0)
            return rc;
        if (u == 0)
            return 0;
        if (u > (uint64_t)(t->end - t->p))
            return xp_tc_fail(t, "map longer than its bytes");
        if (t->p >= t->end)
            return xp_tc_fail(t, "truncated");
        int kt = *t->p >> 4, vt = *t->p & 0x0f;
        t->p++;
        if ((rc = xp_tc_struct_begin(t)) < 0)
            return rc;
        for (uint64_t i = 0; i < u && rc == 0; i++) {
            rc = xp_tc_skip(t, kt == XP_TC_TRUE || kt == XP_TC_FALSE
                                   ? XP_TC_I8 : kt);
            if (rc == 0)
                rc = xp_tc_skip(t, vt == XP_TC_TRUE || vt == XP_TC_FALSE
                                       ? XP_TC_I8 : vt);
        }
        xp_tc_struct_end(t);
        return rc;
    }
    case XP_TC_STRUCT: {
        if ((rc = xp_tc_struct_begin(t)) < 0)
            return rc;
        int16_t last = 0;
        struct xp_tc_field f = {0, 0};
        while ((rc = xp_tc_field(t, &last, &f)) == 1)
            if ((rc = xp_tc_skip(t, f.type)) < 0)
                break;
        xp_tc_struct_end(t);
        return rc;
    }
    default:
        return xp_tc_fail(t, "unknown type");
    }
}
