/* Parquet file metadata: opening a file, its Thrift footer (FileMetaData),
 * the schema flattened into leaf columns with their definition and
 * repetition levels, the row groups' column chunks, and page headers
 * (apache/parquet-format src/main/thrift/parquet.thrift). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/parquet_int.h"
#include "xport/buf.h"
#include "xport/error.h"

#define PQ_MAGIC "PAR1"
#define PQ_MAX_FOOTER (256 << 20)

/* One SchemaElement, as read. */
struct pq_elem {
    const char *name;
    int type;          /* -1 for a group */
    int type_length;
    int rep;
    int nchildren;
    int converted;     /* -1 when absent */
    int scale, precision;
    enum xp_pq_logical logical;
    const char *logical_name;
    int unit, utc, bits, is_signed;
    int is_list;
};

struct pq_priv {
    struct xp_arena arena;
};

/* ---- reading helpers ---------------------------------------------------- */

#define FIELDS(t, last, f, rc)                                              \
    for (int16_t last = 0; ((rc) = xp_tc_field((t), &last, &(f))) == 1;)

static int skip_field(struct xp_tc *t, const struct xp_tc_field *f)
{
    return xp_tc_skip(t, f->type);
}

static int need_struct(struct xp_tc *t, const struct xp_tc_field *f)
{
    if (f->type != XP_TC_STRUCT)
        return xp_tc_fail(t, "field of an unexpected type");
    return xp_tc_struct_begin(t);
}

/* TimeUnit union: 1 MILLIS, 2 MICROS, 3 NANOS (empty structs). */
static int read_unit(struct xp_tc *t, int *unit)
{
    struct xp_tc_field f = {0, 0};
    int rc;
    FIELDS(t, last, f, rc) {
        if (f.id >= 1 && f.id <= 3)
            *unit = f.id;
        if ((rc = skip_field(t, &f)) < 0)
            return rc;
    }
    return rc;
}

/* TimestampType / TimeType: 1 isAdjustedToUTC, 2 unit. */
static int read_time(struct xp_tc *t, struct pq_elem *e)
{
    struct xp_tc_field f = {0, 0};
    int rc;
    FIELDS(t, last, f, rc) {
        if (f.id == 1)
            rc = xp_tc_bool(t, &f, &e->utc);
        else if (f.id == 2 && (rc = need_struct(t, &f)) == 0) {
            rc = read_unit(t, &e->unit);
            xp_tc_struct_end(t);
        } else if (f.id != 2)
            rc = skip_field(t, &f);
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* LogicalType union. */
static int read_logical(struct xp_tc *t, struct pq_elem *e)
{
    static const char *const names[] = {
        [1] = "STRING", [2] = "MAP", [3] = "LIST", [4] = "ENUM",
        [5] = "DECIMAL", [6] = "DATE", [7] = "TIME", [8] = "TIMESTAMP",
        [10] = "INTEGER", [11] = "UNKNOWN", [12] = "JSON", [13] = "BSON",
        [14] = "UUID", [15] = "FLOAT16", [16] = "VARIANT", [17] = "GEOMETRY",
        [18] = "GEOGRAPHY"};
    struct xp_tc_field f = {0, 0};
    int rc;
    FIELDS(t, last, f, rc) {
        if ((rc = need_struct(t, &f)) < 0)
            return rc;
        int16_t l2 = 0;
        struct xp_tc_field g = {0, 0};
        e->logical_name = f.id > 0 && f.id < (int)(sizeof names / sizeof *names)
                              && names[f.id] ? names[f.id] : "unknown logical type";
        switch (f.id) {
        case 1: case 4: case 12:
            e->logical = XP_PQL_STRING;
            break;
        case 2: case 3:
            e->is_list = 1;
            break;
        case 5:
            e->logical = XP_PQL_DECIMAL;
            break;
        case 6:
            e->logical = XP_PQL_DATE;
            break;
        case 7: case 8:
            e->logical = f.id == 7 ? XP_PQL_TIME : XP_PQL_TIMESTAMP;
            rc = read_time(t, e);
            xp_tc_struct_end(t);
            if (rc < 0)
                return rc;
            continue;
        case 10:
            e->logical = XP_PQL_INT;
            break;
        default:
            e->logical = XP_PQL_OTHER;
            break;
        }
        while ((rc = xp_tc_field(t, &l2, &g)) == 1) {
            int32_t v;
            if (f.id == 5 && (g.id == 1 || g.id == 2)) {
                if ((rc = xp_tc_i32(t, &g, &v)) < 0)
                    return rc;
                *(g.id == 1 ? &e->scale : &e->precision) = v;
            } else if (f.id == 10 && g.id == 1) {
                if ((rc = xp_tc_i32(t, &g, &v)) < 0)
                    return rc;
                e->bits = v;
            } else if (f.id == 10 && g.id == 2) {
                if ((rc = xp_tc_bool(t, &g, &e->is_signed)) < 0)
                    return rc;
            } else if ((rc = skip_field(t, &g)) < 0) {
                return rc;
            }
        }
        xp_tc_struct_end(t);
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* ConvertedType, for files without a LogicalType. */
static void apply_converted(struct pq_elem *e)
{
    switch (e->converted) {
    case 0: case 4: case 19: /* UTF8 ENUM JSON */
        e->logical = XP_PQL_STRING;
        break;
    case 1: case 2: case 3: /* MAP MAP_KEY_VALUE LIST */
        e->is_list = 1;
        break;
    case 5:
        e->logical = XP_PQL_DECIMAL;
        break;
    case 6:
        e->logical = XP_PQL_DATE;
        break;
    case 7: case 8:
        e->logical = XP_PQL_TIME;
        e->unit = e->converted == 7 ? XP_PQ_MILLIS : XP_PQ_MICROS;
        e->utc = 1;
        break;
    case 9: case 10:
        e->logical = XP_PQL_TIMESTAMP;
        e->unit = e->converted == 9 ? XP_PQ_MILLIS : XP_PQ_MICROS;
        e->utc = 1;
        break;
    case 11: case 12: case 13: case 14: case 15: case 16: case 17: case 18:
        e->logical = XP_PQL_INT;
        e->bits = 8 << ((e->converted - 11) % 4);
        e->is_signed = e->converted >= 15;
        break;
    case -1:
        break;
    default:
        e->logical = XP_PQL_OTHER;
        e->logical_name = e->converted == 20 ? "BSON" : "INTERVAL";
        break;
    }
}

static int read_elem(struct xp_tc *t, struct pq_elem *e, struct xp_arena *a)
{
    struct xp_tc_field f = {0, 0};
    int rc, has_logical = 0;
    memset(e, 0, sizeof *e);
    e->type = -1;
    e->converted = -1;
    FIELDS(t, last, f, rc) {
        int32_t v = 0;
        switch (f.id) {
        case 1: case 2: case 3: case 5: case 6: case 7: case 8:
            if ((rc = xp_tc_i32(t, &f, &v)) < 0)
                return rc;
            if (f.id == 1) {
                if (v < 0 || v > XP_PQ_FIXED)
                    return xp_tc_fail(t, "unknown physical type");
                e->type = v;
            } else if (f.id == 2) {
                e->type_length = v;
            } else if (f.id == 3) {
                if (v < 0 || v > 2)
                    return xp_tc_fail(t, "unknown repetition type");
                e->rep = v;
            } else if (f.id == 5) {
                if (v < 0)
                    return xp_tc_fail(t, "negative child count");
                e->nchildren = v;
            } else if (f.id == 6) {
                e->converted = v;
            } else if (f.id == 7) {
                e->scale = v;
            } else {
                e->precision = v;
            }
            break;
        case 4: {
            const unsigned char *p;
            size_t n;
            if ((rc = xp_tc_binary(t, &f, &p, &n)) < 0)
                return rc;
            e->name = xp_arena_strndup(a, (const char *)p, n);
            break;
        }
        case 10:
            if ((rc = need_struct(t, &f)) < 0)
                return rc;
            rc = read_logical(t, e);
            xp_tc_struct_end(t);
            if (rc < 0)
                return rc;
            has_logical = 1;
            break;
        default:
            if ((rc = skip_field(t, &f)) < 0)
                return rc;
        }
    }
    if (rc < 0)
        return rc;
    if (!e->name)
        return xp_tc_fail(t, "schema element without a name");
    if (!has_logical)
        apply_converted(e);
    return 0;
}

/* ---- schema to leaf columns --------------------------------------------- */

struct flat {
    struct pq_elem *el;
    size_t nel, pos;
    struct xp_pq_file *f;
    size_t capcols;
    struct xp_pq_node stack[64];
};

static int add_leaf(struct flat *s, size_t depth, const struct pq_elem *e)
{
    struct xp_pq_file *f = s->f;
    if (f->ncols == s->capcols) {
        s->capcols = s->capcols ? 2 * s->capcols : 16;
        f->cols = xp_realloc(f->cols, s->capcols * sizeof *f->cols);
    }
    struct xp_pq_column *c = &f->cols[f->ncols++];
    memset(c, 0, sizeof *c);
    c->nnodes = depth;
    c->nodes = xp_malloc(depth * sizeof *c->nodes);
    memcpy(c->nodes, s->stack, depth * sizeof *c->nodes);
    struct xp_buf path = XP_BUF_INIT;
    for (size_t i = 0; i < depth; i++) {
        if (i)
            xp_buf_putc(&path, '.');
        xp_buf_puts(&path, c->nodes[i].name);
    }
    c->path = xp_buf_detach(&path);
    c->type = e->type;
    c->type_length = e->type_length;
    c->max_def = c->nodes[depth - 1].def;
    c->max_rep = c->nodes[depth - 1].rep_level;
    c->logical = e->logical;
    c->logical_name = e->logical_name;
    c->scale = e->scale;
    c->precision = e->precision;
    c->unit = e->unit;
    c->utc = e->utc;
    c->bits = e->bits;
    c->is_signed = e->is_signed;
    if (c->type == XP_PQ_FIXED && c->type_length <= 0)
        return xp_error_set(XP_EINVALID, "column '%s': fixed-length byte "
                            "array without a length", c->path);
    return 0;
}

static int flatten(struct flat *s, size_t depth, int def, int rep)
{
    if (s->pos >= s->nel)
        return xp_error_set(XP_EINVALID, "schema has fewer elements than its "
                            "groups announce");
    const struct pq_elem *e = &s->el[s->pos++];
    if (depth > 0) {
        if (depth > sizeof s->stack / sizeof *s->stack)
            return xp_error_set(XP_EINVALID, "schema nested too deep");
        if (e->rep != XP_PQ_REQUIRED)
            def++;
        if (e->rep == XP_PQ_REPEATED)
            rep++;
        s->stack[depth - 1] = (struct xp_pq_node){
            e->name, e->rep, def, rep, e->is_list};
    }
    if (e->type >= 0 && e->nchildren == 0) {
        if (depth == 0)
            return xp_error_set(XP_EINVALID, "schema root is not a group");
        return add_leaf(s, depth, e);
    }
    if (e->nchildren == 0 && depth > 0)
        return xp_error_set(XP_EINVALID, "schema group '%s' has no children",
                            e->name);
    for (int i = 0; i < e->nchildren; i++) {
        int rc = flatten(s, depth + 1, def, rep);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- row groups ---------------------------------------------------------- */

static int read_colmeta(struct xp_tc *t, struct xp_pq_chunk_meta *m,
                        const struct xp_pq_column *col)
{
    struct xp_tc_field f = {0, 0};
    int rc;
    FIELDS(t, last, f, rc) {
        int32_t v;
        switch (f.id) {
        case 1:
            if ((rc = xp_tc_i32(t, &f, &v)) < 0)
                return rc;
            if (v != (int32_t)col->type)
                return xp_tc_fail(t, "column chunk type differs from the "
                                  "schema");
            break;
        case 4:
            if ((rc = xp_tc_i32(t, &f, &v)) < 0)
                return rc;
            m->codec = v;
            break;
        case 5:
            rc = xp_tc_i64(t, &f, &m->num_values);
            break;
        case 6:
            rc = xp_tc_i64(t, &f, &m->total_uncompressed);
            break;
        case 7:
            rc = xp_tc_i64(t, &f, &m->total_compressed);
            break;
        case 9:
            rc = xp_tc_i64(t, &f, &m->data_page_offset);
            break;
        case 11:
            rc = xp_tc_i64(t, &f, &m->dict_page_offset);
            break;
        default:
            rc = skip_field(t, &f);
        }
        if (rc < 0)
            return rc;
    }
    return rc;
}

static int read_chunk(struct xp_tc *t, struct xp_pq_chunk_meta *m,
                      const struct xp_pq_column *col, const char *file)
{
    struct xp_tc_field f = {0, 0};
    int rc, has_meta = 0;
    FIELDS(t, last, f, rc) {
        if (f.id == 1) {
            return xp_error_set(XP_ENOTSUP, "'%s': column '%s' is stored in "
                                "another file (file_path), which is not "
                                "supported", file, col->path);
        } else if (f.id == 3) {
            if ((rc = need_struct(t, &f)) < 0)
                return rc;
            rc = read_colmeta(t, m, col);
            xp_tc_struct_end(t);
            has_meta = 1;
        } else if (f.id == 8 || f.id == 9) {
            return xp_error_set(XP_ENOTSUP, "'%s': column '%s' is encrypted, "
                                "which is not supported", file, col->path);
        } else {
            rc = skip_field(t, &f);
        }
        if (rc < 0)
            return rc;
    }
    if (rc == 0 && !has_meta)
        return xp_tc_fail(t, "column chunk without metadata");
    return rc;
}

static int read_rowgroup(struct xp_tc *t, struct xp_pq_file *pf,
                         struct xp_pq_rowgroup *g)
{
    struct xp_tc_field f = {0, 0};
    int rc, ncols_seen = -1;
    g->num_rows = -1;
    FIELDS(t, last, f, rc) {
        if (f.id == 1) {
            int et;
            size_t n;
            if ((rc = xp_tc_list(t, &f, &et, &n)) < 0)
                return rc;
            if (et != XP_TC_STRUCT || n != pf->ncols || g->chunks)
                return xp_tc_fail(t, "row group's columns differ from the "
                                  "schema");
            g->chunks = xp_calloc(n ? n : 1, sizeof *g->chunks);
            for (size_t i = 0; i < n; i++) {
                if ((rc = xp_tc_struct_begin(t)) < 0)
                    return rc;
                rc = read_chunk(t, &g->chunks[i], &pf->cols[i], pf->path);
                xp_tc_struct_end(t);
                if (rc < 0)
                    return rc;
            }
            ncols_seen = (int)n;
        } else if (f.id == 3) {
            rc = xp_tc_i64(t, &f, &g->num_rows);
        } else {
            rc = skip_field(t, &f);
        }
        if (rc < 0)
            return rc;
    }
    if (rc == 0 && (ncols_seen < 0 || g->num_rows < 0))
        return xp_tc_fail(t, "row group without columns or row count");
    return rc;
}

/* ---- the footer ----------------------------------------------------------- */

static int read_footer(struct xp_tc *t, struct xp_pq_file *pf)
{
    struct pq_priv *pv = pf->priv;
    struct xp_tc_field f = {0, 0};
    struct pq_elem *el = NULL;
    size_t nel = 0;
    int rc, have_schema = 0, have_rows = 0;
    if ((rc = xp_tc_struct_begin(t)) < 0)
        return rc;
    FIELDS(t, last, f, rc) {
        int et;
        size_t n;
        switch (f.id) {
        case 2:
            if ((rc = xp_tc_list(t, &f, &et, &n)) < 0)
                goto out;
            if (et != XP_TC_STRUCT || n == 0 || have_schema) {
                rc = xp_tc_fail(t, "bad schema list");
                goto out;
            }
            el = xp_calloc(n, sizeof *el);
            for (size_t i = 0; i < n; i++) {
                if ((rc = xp_tc_struct_begin(t)) < 0)
                    goto out;
                rc = read_elem(t, &el[i], &pv->arena);
                xp_tc_struct_end(t);
                if (rc < 0)
                    goto out;
            }
            nel = n;
            struct flat s = {el, nel, 0, pf, 0, {{0}}};
            if ((rc = flatten(&s, 0, 0, 0)) < 0)
                goto out;
            if (s.pos != nel) {
                rc = xp_error_set(XP_EINVALID, "schema has elements outside "
                                  "its root");
                goto out;
            }
            have_schema = 1;
            break;
        case 3:
            rc = xp_tc_i64(t, &f, &pf->num_rows);
            have_rows = 1;
            break;
        case 4:
            if (!have_schema) {
                rc = xp_tc_fail(t, "row groups before the schema");
                goto out;
            }
            if ((rc = xp_tc_list(t, &f, &et, &n)) < 0)
                goto out;
            if (et != XP_TC_STRUCT) {
                rc = xp_tc_fail(t, "bad row group list");
                goto out;
            }
            pf->rgs = xp_calloc(n ? n : 1, sizeof *pf->rgs);
            for (size_t i = 0; i < n; i++) {
                if ((rc = xp_tc_struct_begin(t)) < 0)
                    goto out;
                pf->nrgs = i + 1;
                rc = read_rowgroup(t, pf, &pf->rgs[i]);
                xp_tc_struct_end(t);
                if (rc < 0)
                    goto out;
            }
            break;
        case 6: {
            const unsigned char *p;
            if ((rc = xp_tc_binary(t, &f, &p, &n)) < 0)
                goto out;
            pf->created_by = xp_arena_strndup(&pv->arena, (const char *)p, n);
            break;
        }
        case 8: case 9:
            rc = xp_error_set(XP_ENOTSUP, "encrypted files are not supported");
            goto out;
        default:
            rc = skip_field(t, &f);
        }
        if (rc < 0)
            goto out;
    }
    if (rc == 0 && (!have_schema || !have_rows || !pf->rgs))
        rc = xp_tc_fail(t, "footer lacks the schema, row count or row groups");
    if (rc == 0) {
        int64_t sum = 0;
        for (size_t i = 0; i < pf->nrgs; i++)
            sum += pf->rgs[i].num_rows;
        if (sum != pf->num_rows)
            rc = xp_error_set(XP_EINVALID, "row groups hold %lld rows, the "
                              "footer says %lld", (long long)sum,
                              (long long)pf->num_rows);
    }
out:
    xp_tc_struct_end(t);
    free(el);
    return rc;
}

static int pread_all(int fd, void *buf, size_t n, int64_t off)
{
    char *p = buf;
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return xp_error_set_os(XP_EIO, "read");
        if (r == 0)
            return xp_error_set(XP_EINVALID, "unexpected end of file");
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

int xp_pq__pread(struct xp_pq_file *f, void *buf, size_t n, int64_t off)
{
    return pread_all(f->fd, buf, n, off);
}

int xp_pq_open(struct xp_pq_file **out, const char *path)
{
    struct xp_pq_file *f = xp_calloc(1, sizeof *f);
    struct pq_priv *pv = xp_calloc(1, sizeof *pv);
    unsigned char tail[8], head[4];
    unsigned char *meta = NULL;
    int rc;
    f->priv = pv;
    f->path = xp_strdup(path);
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        rc = xp_error_set_os(XP_EIO, "cannot open '%s'", path);
        goto fail;
    }
    struct stat st;
    if (fstat(f->fd, &st) < 0) {
        rc = xp_error_set_os(XP_EIO, "cannot stat '%s'", path);
        goto fail;
    }
    f->size = st.st_size;
    if (f->size < 12) {
        rc = xp_error_set(XP_EINVALID, "'%s': too short for a Parquet file "
                          "(%lld bytes)", path, (long long)f->size);
        goto fail;
    }
    if ((rc = pread_all(f->fd, head, 4, 0)) < 0 ||
        (rc = pread_all(f->fd, tail, 8, f->size - 8)) < 0) {
        xp_error_wrap(rc, "'%s'", path);
        goto fail;
    }
    if (memcmp(tail + 4, "PARE", 4) == 0) {
        rc = xp_error_set(XP_ENOTSUP, "'%s': encrypted footer (PARE) is not "
                          "supported", path);
        goto fail;
    }
    if (memcmp(head, PQ_MAGIC, 4) || memcmp(tail + 4, PQ_MAGIC, 4)) {
        rc = xp_error_set(XP_EINVALID, "'%s': not a Parquet file (no PAR1 at "
                          "%s)", path, memcmp(head, PQ_MAGIC, 4) ? "the start"
                          : "the end: truncated?");
        goto fail;
    }
    uint32_t mlen = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 |
                    (uint32_t)tail[2] << 16 | (uint32_t)tail[3] << 24;
    if (mlen == 0 || mlen > PQ_MAX_FOOTER || (int64_t)mlen > f->size - 12) {
        rc = xp_error_set(XP_EINVALID, "'%s': footer length %u does not fit "
                          "the file (%lld bytes): truncated footer", path,
                          mlen, (long long)f->size);
        goto fail;
    }
    int64_t moff = f->size - 8 - mlen;
    meta = xp_malloc(mlen);
    if ((rc = pread_all(f->fd, meta, mlen, moff)) < 0) {
        xp_error_wrap(rc, "'%s'", path);
        goto fail;
    }
    struct xp_tc t;
    xp_tc_init(&t, meta, mlen, moff);
    if ((rc = read_footer(&t, f)) < 0) {
        xp_error_wrap(rc, "'%s': footer", path);
        goto fail;
    }
    /* every chunk must lie between the magic and the footer */
    for (size_t g = 0; g < f->nrgs; g++)
        for (size_t c = 0; c < f->ncols; c++) {
            const struct xp_pq_chunk_meta *m = &f->rgs[g].chunks[c];
            int64_t start = m->data_page_offset;
            if (m->dict_page_offset > 0 && m->dict_page_offset < start)
                start = m->dict_page_offset;
            if (start < 4 || m->total_compressed < 0 ||
                m->total_compressed > moff - start) {
                rc = xp_error_set(XP_EINVALID, "'%s': row group %zu column "
                                  "'%s': chunk at %lld (%lld bytes) lies "
                                  "outside the data", path, g,
                                  f->cols[c].path, (long long)start,
                                  (long long)m->total_compressed);
                goto fail;
            }
        }
    free(meta);
    *out = f;
    return 0;
fail:
    free(meta);
    xp_pq_close(f);
    return rc;
}

void xp_pq_close(struct xp_pq_file *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    for (size_t i = 0; i < f->ncols; i++) {
        free(f->cols[i].path);
        free(f->cols[i].nodes);
    }
    free(f->cols);
    for (size_t i = 0; i < f->nrgs; i++)
        free(f->rgs[i].chunks);
    free(f->rgs);
    struct pq_priv *pv = f->priv;
    if (pv) {
        xp_arena_release(&pv->arena);
        free(pv);
    }
    free(f->path);
    free(f);
}

int xp_pq_find(const struct xp_pq_file *f, const char *path)
{
    for (size_t i = 0; i < f->ncols; i++)
        if (strcmp(f->cols[i].path, path) == 0)
            return (int)i;
    return -1;
}

/* ---- page headers ----------------------------------------------------------- */

static int read_sub(struct xp_tc *t, const struct xp_tc_field *f,
                    struct xp_pq_page *pg, int kind)
{
    int rc = need_struct(t, f);
    if (rc < 0)
        return rc;
    struct xp_tc_field g = {0, 0};
    pg->has_header = 1;
    FIELDS(t, last, g, rc) {
        int32_t v = 0;
        if (g.id == 7 && kind == XP_PQ_PAGE_DATA_V2) {
            rc = xp_tc_bool(t, &g, &pg->is_compressed);
        } else if (g.id <= 6 && g.id >= 1 &&
                   (kind == XP_PQ_PAGE_DATA_V2 || g.id <= 4) &&
                   !(kind == XP_PQ_PAGE_DICT && g.id == 3)) {
            if ((rc = xp_tc_i32(t, &g, &v)) < 0)
                break;
            if (kind == XP_PQ_PAGE_DATA_V2) {
                int32_t *dst[] = {NULL, &pg->num_values, &pg->num_nulls,
                                  &pg->num_rows, &pg->encoding, &pg->def_len,
                                  &pg->rep_len};
                *dst[g.id] = v;
            } else {
                int32_t *dst[] = {NULL, &pg->num_values, &pg->encoding,
                                  &pg->def_encoding, &pg->rep_encoding};
                *dst[g.id] = v;
            }
        } else {
            rc = skip_field(t, &g);
        }
        if (rc < 0)
            break;
    }
    xp_tc_struct_end(t);
    return rc;
}

int xp_pq_page_header(struct xp_tc *t, struct xp_pq_page *pg)
{
    struct xp_tc_field f = {0, 0};
    int rc, seen = 0;
    memset(pg, 0, sizeof *pg);
    pg->is_compressed = 1;
    pg->type = -1;
    if ((rc = xp_tc_struct_begin(t)) < 0)
        return rc;
    FIELDS(t, last, f, rc) {
        int32_t v;
        if (f.id >= 1 && f.id <= 3) {
            if ((rc = xp_tc_i32(t, &f, &v)) < 0)
                break;
            if (f.id == 1)
                pg->type = v;
            else if (f.id == 2)
                pg->uncompressed = v;
            else
                pg->compressed = v;
            seen |= 1 << f.id;
        } else if ((f.id == 5 && pg->type == XP_PQ_PAGE_DATA) ||
                   (f.id == 7 && pg->type == XP_PQ_PAGE_DICT) ||
                   (f.id == 8 && pg->type == XP_PQ_PAGE_DATA_V2)) {
            rc = read_sub(t, &f, pg, pg->type);
        } else {
            rc = skip_field(t, &f);
        }
        if (rc < 0)
            break;
    }
    xp_tc_struct_end(t);
    if (rc < 0)
        return rc;
    if (seen != 0xe)
        return xp_tc_fail(t, "page header lacks its type or sizes");
    if (pg->compressed < 0 || pg->uncompressed < 0)
        return xp_tc_fail(t, "negative page size");
    if (pg->type != XP_PQ_PAGE_INDEX && !pg->has_header)
        return xp_tc_fail(t, "page header lacks its type's header");
    if (pg->num_values < 0 || pg->def_len < 0 || pg->rep_len < 0 ||
        pg->num_nulls < 0)
        return xp_tc_fail(t, "negative count in a page header");
    return 0;
}
