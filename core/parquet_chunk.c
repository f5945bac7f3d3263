/* One Parquet column chunk of one row group, read page by page (data pages
 * v1 and v2, a dictionary page) into levels and values; the row cursor over
 * the result; decimals as exact text. Memory is bounded by the chunk. */
#include <stdlib.h>
#include <string.h>

#include "core/parquet_page.h"
#include "xport/buf.h"
#include "xport/error.h"

int xp_pq__pread(struct xp_pq_file *f, void *buf, size_t n, int64_t off);

/* Column chunks with more level entries than this are refused: a guard
 * against a damaged header asking for gigabytes. */
#define PQ_MAX_ENTRIES ((size_t)1 << 26)

struct chunk_priv {
    char **bufs; /* buffers the byte values point into */
    size_t nbufs, capbufs;
};

static void keep(struct chunk_priv *pv, char *buf)
{
    if (pv->nbufs == pv->capbufs) {
        pv->capbufs = pv->capbufs ? 2 * pv->capbufs : 8;
        pv->bufs = xp_realloc(pv->bufs, pv->capbufs * sizeof *pv->bufs);
    }
    pv->bufs[pv->nbufs++] = buf;
}

struct reader {
    struct xp_pq_file *f;
    const struct xp_pq_column *col;
    const struct xp_pq_chunk_meta *m;
    struct xp_pq_values *out;
    struct chunk_priv *pv;
    struct xp_pq_vals vals, dict;
    size_t capl;               /* capacity of out->def / out->rep */
    uint32_t *scratch;
    size_t scap;
    int64_t page_off;          /* file offset of the current page header */
};

static int levels(struct reader *r, const unsigned char *p,
                  const unsigned char *end, int max, int16_t *dst, size_t n,
                  const char *what)
{
    int rc = xp_pq_rle_decode(p, end, xp_pq_bit_width((uint32_t)max),
                              r->scratch, n);
    if (rc < 0)
        return xp_error_wrap(rc, "%s levels", what);
    for (size_t i = 0; i < n; i++) {
        if (r->scratch[i] > (uint32_t)max)
            return xp_error_set(XP_EINVALID, "%s level %u above the maximum %d",
                                what, r->scratch[i], max);
        dst[i] = (int16_t)r->scratch[i];
    }
    return 0;
}

/* v1 levels: a 4-byte length, then the hybrid. */
static int levels_v1(struct reader *r, const unsigned char **p,
                     const unsigned char *end, int enc, int max, int16_t *dst,
                     size_t n, const char *what)
{
    if (enc != 3)
        return xp_error_set(XP_ENOTSUP, "%s levels in %s encoding are not "
                            "supported", what, xp_pq_encoding_name(enc));
    if (end - *p < 4)
        return xp_error_set(XP_EINVALID, "%s levels lack their length", what);
    uint32_t len = (uint32_t)(*p)[0] | (uint32_t)(*p)[1] << 8 |
                   (uint32_t)(*p)[2] << 16 | (uint32_t)(*p)[3] << 24;
    *p += 4;
    if (len > (size_t)(end - *p))
        return xp_error_set(XP_EINVALID, "%s levels run past the page", what);
    int rc = levels(r, *p, *p + len, max, dst, n, what);
    *p += len;
    return rc;
}

static int decode_values(struct reader *r, int enc, const unsigned char *p,
                         const unsigned char *end, size_t n)
{
    const struct xp_pq_column *c = r->col;
    int t = c->type;
    switch (enc) {
    case 0:
        return xp_pq_plain(c, p, end, n, &r->vals);
    case 2:
    case 8:
        return xp_pq_dict_indices(&r->dict, p, end, n, &r->vals, &r->scratch,
                                  &r->scap);
    case 3:
        if (t == XP_PQ_BOOLEAN)
            return xp_pq_rle_bool(p, end, n, &r->vals, &r->scratch, &r->scap);
        break;
    case 5:
        if (t == XP_PQ_INT32 || t == XP_PQ_INT64)
            return xp_pq_delta_ints(c, p, end, n, &r->vals);
        break;
    case 6:
        if (t == XP_PQ_BYTE_ARRAY)
            return xp_pq_delta_length(p, end, n, &r->vals);
        break;
    case 7:
    case 9: {
        if (enc == 7 && t != XP_PQ_BYTE_ARRAY && t != XP_PQ_FIXED)
            break;
        char *store = NULL;
        int rc = enc == 7
                     ? xp_pq_delta_strings(c, p, end, n, &r->vals, &store)
                     : xp_pq_byte_stream_split(c, p, end, n, &r->vals, &store);
        if (store)
            keep(r->pv, store);
        return rc;
    }
    default:
        return xp_error_set(XP_ENOTSUP, "encoding %s (%d) is not supported",
                            xp_pq_encoding_name(enc), enc);
    }
    return xp_error_set(XP_EINVALID, "encoding %s on a column of this type",
                        xp_pq_encoding_name(enc));
}

static void grow_levels(struct reader *r, size_t n)
{
    struct xp_pq_values *o = r->out;
    /* allocated even for a page of no values: o->def + o->n on a NULL
     * o->def is undefined behaviour (UBSan in clang) */
    if (r->capl && o->n + n <= r->capl)
        return;
    size_t cap = r->capl ? r->capl : 1024;
    while (cap < o->n + n)
        cap *= 2;
    if (r->col->max_def)
        o->def = xp_realloc(o->def, cap * sizeof *o->def);
    if (r->col->max_rep)
        o->rep = xp_realloc(o->rep, cap * sizeof *o->rep);
    r->capl = cap;
}

static int data_page(struct reader *r, const struct xp_pq_page *pg,
                     const unsigned char *body, size_t blen)
{
    const struct xp_pq_column *c = r->col;
    struct xp_pq_values *o = r->out;
    size_t n = (size_t)pg->num_values;
    int rc;
    if (o->n + n > PQ_MAX_ENTRIES || o->n + n > (uint64_t)r->m->num_values)
        return xp_error_set(XP_EINVALID, "pages hold more values than the "
                            "column chunk's %lld", (long long)r->m->num_values);
    grow_levels(r, n);
    if (r->scap < n) {
        r->scap = n;
        r->scratch = xp_realloc(r->scratch, n * sizeof *r->scratch);
    }
    int v2 = pg->type == XP_PQ_PAGE_DATA_V2;
    const unsigned char *p, *end;
    char *plain = NULL;
    size_t lv = v2 ? (size_t)pg->rep_len + (size_t)pg->def_len : 0;
    if (lv > blen || lv > (size_t)pg->uncompressed)
        return xp_error_set(XP_EINVALID, "levels (%zu bytes) larger than the "
                            "page", lv);
    /* the page body uncompressed (v2: only the values are compressed) */
    size_t ulen = (size_t)pg->uncompressed - lv;
    plain = xp_malloc(lv + ulen + 1);
    memcpy(plain, body, lv);
    if (v2 && !pg->is_compressed)
        rc = xp_pq_decompress(0, body + lv, blen - lv, plain + lv, ulen);
    else
        rc = xp_pq_decompress(r->m->codec, body + lv, blen - lv, plain + lv,
                              ulen);
    if (rc < 0) {
        free(plain);
        return rc;
    }
    p = (const unsigned char *)plain;
    end = p + lv + ulen;
    if (v2) {
        if (c->max_rep) {
            if (pg->rep_len == 0 && n)
                rc = xp_error_set(XP_EINVALID, "repetition levels missing");
            else
                rc = levels(r, p, p + pg->rep_len, c->max_rep, o->rep + o->n,
                            n, "repetition");
        }
        p += pg->rep_len;
        if (rc == 0 && c->max_def) {
            if (pg->def_len == 0 && n)
                rc = xp_error_set(XP_EINVALID, "definition levels missing");
            else
                rc = levels(r, p, p + pg->def_len, c->max_def, o->def + o->n,
                            n, "definition");
        }
        p += pg->def_len;
    } else {
        if (c->max_rep)
            rc = levels_v1(r, &p, end, pg->rep_encoding, c->max_rep,
                           o->rep + o->n, n, "repetition");
        if (rc == 0 && c->max_def)
            rc = levels_v1(r, &p, end, pg->def_encoding, c->max_def,
                           o->def + o->n, n, "definition");
    }
    size_t nonnull = n;
    if (rc == 0 && c->max_def) {
        nonnull = 0;
        for (size_t i = 0; i < n; i++)
            nonnull += o->def[o->n + i] == c->max_def;
    }
    if (rc == 0 && v2 && (size_t)pg->num_nulls != n - nonnull)
        rc = xp_error_set(XP_EINVALID, "page says %d nulls, its levels %zu",
                          pg->num_nulls, n - nonnull);
    if (rc == 0 && c->max_rep && n && o->n == 0 && o->rep[0] != 0)
        rc = xp_error_set(XP_EINVALID, "first value does not start a row");
    if (rc == 0)
        rc = decode_values(r, pg->encoding, p, end, nonnull);
    if (rc < 0) {
        free(plain);
        return rc;
    }
    o->n += n;
    if (c->type == XP_PQ_BYTE_ARRAY || c->type == XP_PQ_FIXED)
        keep(r->pv, plain); /* the values point into it */
    else
        free(plain);
    return 0;
}

static int dict_page(struct reader *r, const struct xp_pq_page *pg,
                     const unsigned char *body, size_t blen)
{
    if (r->dict.set)
        return xp_error_set(XP_EINVALID, "a second dictionary page");
    if (r->out->n)
        return xp_error_set(XP_EINVALID, "dictionary page after data pages");
    if (pg->encoding != 0 && pg->encoding != 2)
        return xp_error_set(XP_ENOTSUP, "dictionary in %s encoding is not "
                            "supported", xp_pq_encoding_name(pg->encoding));
    char *plain = xp_malloc((size_t)pg->uncompressed + 1);
    int rc = xp_pq_decompress(r->m->codec, body, blen, plain,
                              (size_t)pg->uncompressed);
    if (rc == 0)
        rc = xp_pq_plain(r->col, (unsigned char *)plain,
                         (unsigned char *)plain + pg->uncompressed,
                         (size_t)pg->num_values, &r->dict);
    keep(r->pv, plain);
    r->dict.set = 1;
    return rc;
}

static int kind_of(int type)
{
    if (type == XP_PQ_FLOAT || type == XP_PQ_DOUBLE)
        return XP_PQV_F64;
    if (type == XP_PQ_BYTE_ARRAY || type == XP_PQ_FIXED)
        return XP_PQV_BYTES;
    return XP_PQV_I64;
}

static int read_pages(struct reader *r, const unsigned char *buf, size_t len,
                      int64_t base)
{
    size_t pos = 0;
    struct xp_pq_values *o = r->out;
    while (o->n < (uint64_t)r->m->num_values) {
        if (pos >= len)
            return xp_error_set(XP_EINVALID, "column chunk ends after %zu of "
                                "%lld values", o->n,
                                (long long)r->m->num_values);
        struct xp_tc t;
        struct xp_pq_page pg;
        r->page_off = base + (int64_t)pos;
        xp_tc_init(&t, buf + pos, len - pos, r->page_off);
        int rc = xp_pq_page_header(&t, &pg);
        if (rc < 0)
            return xp_error_wrap(rc, "page header");
        size_t hlen = (size_t)(t.p - (buf + pos));
        if ((size_t)pg.compressed > len - pos - hlen)
            return xp_error_set(XP_EINVALID, "page of %d bytes runs past the "
                                "column chunk (%zu bytes left)", pg.compressed,
                                len - pos - hlen);
        const unsigned char *body = buf + pos + hlen;
        switch (pg.type) {
        case XP_PQ_PAGE_DICT:
            rc = dict_page(r, &pg, body, (size_t)pg.compressed);
            break;
        case XP_PQ_PAGE_DATA:
        case XP_PQ_PAGE_DATA_V2:
            rc = data_page(r, &pg, body, (size_t)pg.compressed);
            break;
        case XP_PQ_PAGE_INDEX:
            break;
        default:
            rc = xp_error_set(XP_EINVALID, "unknown page type %d", pg.type);
        }
        if (rc < 0)
            return rc;
        pos += hlen + (size_t)pg.compressed;
    }
    return 0;
}

static int check_rows(const struct xp_pq_values *o, int64_t rows)
{
    size_t nrows = o->n;
    if (o->rep) {
        nrows = 0;
        for (size_t i = 0; i < o->n; i++)
            nrows += o->rep[i] == 0;
    }
    if ((int64_t)nrows != rows)
        return xp_error_set(XP_EINVALID, "column holds %zu rows, the row group "
                            "%lld", nrows, (long long)rows);
    return 0;
}

int xp_pq_read(struct xp_pq_file *f, size_t rg, size_t col,
               struct xp_pq_values *out)
{
    memset(out, 0, sizeof *out);
    if (rg >= f->nrgs || col >= f->ncols)
        return xp_error_set(XP_EINVALID, "'%s': no row group %zu column %zu",
                            f->path, rg, col);
    const struct xp_pq_column *c = &f->cols[col];
    const struct xp_pq_chunk_meta *m = &f->rgs[rg].chunks[col];
    out->col = c;
    if (c->type == XP_PQ_INT96)
        return xp_error_set(XP_ENOTSUP, "'%s': column '%s': INT96 values are "
                            "not supported", f->path, c->path);
    int rc = xp_pq_codec_check(m->codec);
    if (rc < 0)
        return xp_error_wrap(rc, "'%s': column '%s'", f->path, c->path);
    if (m->num_values < 0 || (uint64_t)m->num_values > PQ_MAX_ENTRIES)
        return xp_error_set(XP_EINVALID, "'%s': row group %zu column '%s': "
                            "%lld values is out of range", f->path, rg,
                            c->path, (long long)m->num_values);
    if (c->max_rep == 0 && m->num_values != f->rgs[rg].num_rows)
        return xp_error_set(XP_EINVALID, "'%s': row group %zu column '%s' has "
                            "%lld values for %lld rows", f->path, rg, c->path,
                            (long long)m->num_values,
                            (long long)f->rgs[rg].num_rows);
    int64_t start = m->data_page_offset;
    if (m->dict_page_offset > 0 && m->dict_page_offset < start)
        start = m->dict_page_offset;
    size_t len = (size_t)m->total_compressed;
    unsigned char *buf = xp_malloc(len ? len : 1);
    struct chunk_priv *pv = xp_calloc(1, sizeof *pv);
    out->priv = pv;
    struct reader r = {.f = f, .col = c, .m = m, .out = out, .pv = pv};
    r.vals.kind = r.dict.kind = kind_of(c->type);
    r.page_off = start;
    rc = xp_pq__pread(f, buf, len, start);
    if (rc == 0)
        rc = read_pages(&r, buf, len, start);
    if (rc == 0)
        rc = check_rows(out, f->rgs[rg].num_rows);
    free(buf);
    free(r.scratch);
    free(r.dict.i64);
    free(r.dict.f64);
    free(r.dict.bytes);
    out->nvals = r.vals.n;
    out->i64 = r.vals.i64;
    out->f64 = r.vals.f64;
    out->bytes = r.vals.bytes;
    if (rc < 0) {
        xp_error_wrap(rc, "'%s': row group %zu column '%s' page at byte %lld",
                      f->path, rg, c->path, (long long)r.page_off);
        xp_pq_values_release(out);
        out->col = c;
        return rc;
    }
    return 0;
}

void xp_pq_values_release(struct xp_pq_values *v)
{
    struct chunk_priv *pv = v->priv;
    if (pv) {
        for (size_t i = 0; i < pv->nbufs; i++)
            free(pv->bufs[i]);
        free(pv->bufs);
        free(pv);
    }
    free(v->def);
    free(v->rep);
    free(v->i64);
    free(v->f64);
    free(v->bytes);
    memset(v, 0, sizeof *v);
}

/* ---- the row cursor -------------------------------------------------------- */

void xp_pq_cursor_init(struct xp_pq_cursor *c, const struct xp_pq_values *v)
{
    c->v = v;
    c->lvl = c->val = 0;
}

int xp_pq_cursor_next(struct xp_pq_cursor *c, size_t *lvl, size_t *nlvl,
                      size_t *val)
{
    const struct xp_pq_values *v = c->v;
    if (c->lvl >= v->n)
        return XP_ITEROVER;
    size_t i = c->lvl, vals = 0;
    int max = v->col->max_def;
    *lvl = i;
    *val = c->val;
    do {
        vals += xp_pq_def(v, i) == max;
        i++;
    } while (i < v->n && v->rep && v->rep[i] != 0);
    *nlvl = i - c->lvl;
    c->lvl = i;
    c->val += vals;
    return 0;
}

/* ---- decimals ---------------------------------------------------------------- */

int xp_pq_decimal_text(const struct xp_pq_values *v, size_t val, char *out,
                       size_t outsz)
{
    const struct xp_pq_column *c = v->col;
    unsigned __int128 u;
    int neg;
    if (val >= v->nvals)
        return xp_error_set(XP_EINVALID, "no value %zu", val);
    if (c->scale < 0 || c->scale > 38)
        return xp_error_set(XP_EINVALID, "column '%s': decimal scale %d",
                            c->path, c->scale);
    if (v->i64) {
        int64_t x = v->i64[val];
        neg = x < 0;
        u = neg ? (unsigned __int128)(-(x + 1)) + 1 : (unsigned __int128)x;
    } else if (v->bytes) {
        const struct xp_pq_bytes *b = &v->bytes[val];
        if (b->len == 0 || b->len > 16)
            return xp_error_set(XP_ENOTSUP, "column '%s': decimal of %u bytes "
                                "(up to 16 supported)", c->path, b->len);
        const unsigned char *p = (const unsigned char *)b->ptr;
        neg = p[0] & 0x80;
        unsigned __int128 x = neg ? ~(unsigned __int128)0 : 0;
        for (uint32_t i = 0; i < b->len; i++)
            x = x << 8 | p[i];
        u = neg ? ~x + 1 : x;
    } else {
        return xp_error_set(XP_EINVALID, "column '%s' is not a decimal",
                            c->path);
    }
    char digits[48];
    int nd = 0;
    do {
        digits[nd++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (nd <= c->scale)
        digits[nd++] = '0';
    size_t need = (size_t)nd + 3;
    if (outsz < need)
        return xp_error_set(XP_EINVALID, "decimal buffer too small");
    size_t k = 0;
    if (neg)
        out[k++] = '-';
    for (int i = nd - 1; i >= 0; i--) {
        out[k++] = digits[i];
        if (i == c->scale && i > 0)
            out[k++] = '.';
    }
    out[k] = '\0';
    return (int)k;
}
