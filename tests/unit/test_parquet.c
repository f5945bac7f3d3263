/* The Parquet reader (core/parquet_*.c) against files real writers made
 * (tests/fixtures/parquet: parquet-wasm and DuckDB, with record.json, the
 * values written; apache/parquet-testing files), and damaged files. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "testutil.h"
#include "xport/buf.h"
#include "xport/parquet.h"

/* ---- one row as canonical text, from the file ---------------------------- */

static void put_value(struct xp_buf *b, const struct xp_pq_values *v,
                      size_t val)
{
    const struct xp_pq_column *c = v->col;
    if (c->logical == XP_PQL_DECIMAL) {
        char t[64];
        int n = xp_pq_decimal_text(v, val, t, sizeof t);
        assert_true(n > 0);
        xp_buf_puts(b, t);
    } else if (c->type == XP_PQ_BOOLEAN) {
        xp_buf_puts(b, v->i64[val] ? "true" : "false");
    } else if (c->type == XP_PQ_INT64 || c->type == XP_PQ_INT32) {
        int64_t x = v->i64[val];
        if (c->logical == XP_PQL_TIMESTAMP && c->unit == XP_PQ_MICROS) {
            assert_int_equal(x % 1000, 0);
            x /= 1000;
        }
        xp_buf_printf(b, "%" PRId64, x);
    } else if (c->type == XP_PQ_DOUBLE || c->type == XP_PQ_FLOAT) {
        uint64_t u;
        memcpy(&u, &v->f64[val], 8);
        xp_buf_printf(b, "%016" PRIx64, u);
    } else {
        xp_buf_putc(b, '"');
        xp_buf_put(b, v->bytes[val].ptr, v->bytes[val].len);
        xp_buf_putc(b, '"');
    }
}

/* The value of a leaf in one row, from node `from` on: a list node prints
 * its elements, an optional node "null" when absent. */
static void put_leaf(struct xp_buf *b, const struct xp_pq_values *v,
                     size_t lvl, size_t nlvl, size_t val, size_t from)
{
    const struct xp_pq_column *c = v->col;
    int d = xp_pq_def(v, lvl);
    for (size_t k = from; k < c->nnodes; k++) {
        const struct xp_pq_node *n = &c->nodes[k];
        if (n->rep == XP_PQ_OPTIONAL && d < n->def) {
            xp_buf_puts(b, "null");
            return;
        }
        if (n->is_list) {
            /* LIST > repeated group > element */
            int rep_def = c->nodes[k + 1].def;
            xp_buf_putc(b, '[');
            if (d >= rep_def) {
                for (size_t i = 0; i < nlvl; i++) {
                    if (i)
                        xp_buf_putc(b, ',');
                    if (xp_pq_def(v, lvl + i) == c->max_def)
                        put_value(b, v, val++);
                    else
                        xp_buf_puts(b, "null");
                }
            }
            xp_buf_putc(b, ']');
            return;
        }
    }
    put_value(b, v, val);
}

/* ---- the same from record.json --------------------------------------------- */

static void put_json(struct xp_buf *b, struct json_object *o, const char *col,
                     int is_float)
{
    if (!o) {
        xp_buf_puts(b, "null");
    } else if (json_object_is_type(o, json_type_boolean)) {
        xp_buf_puts(b, json_object_get_boolean(o) ? "true" : "false");
    } else if (json_object_is_type(o, json_type_array)) {
        xp_buf_putc(b, '[');
        for (size_t i = 0; i < json_object_array_length(o); i++) {
            if (i)
                xp_buf_putc(b, ',');
            put_json(b, json_object_array_get_idx(o, i), col, is_float);
        }
        xp_buf_putc(b, ']');
    } else {
        const char *s = json_object_get_string(o);
        int quoted = !is_float && (!strcmp(col, "project_id") ||
                     !strcmp(col, "run_id") || strstr(col, "path") ||
                     strstr(col, "type") || strstr(col, "string"));
        if (quoted)
            xp_buf_putc(b, '"');
        xp_buf_puts(b, s);
        if (quoted)
            xp_buf_putc(b, '"');
    }
}

/* Canonical text of record row `r` for leaf column path. */
static void put_json_leaf(struct xp_buf *b, struct json_object *r,
                          const char *path)
{
    char top[64];
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    snprintf(top, sizeof top, "%.*s", (int)n, path);
    struct json_object *o = json_object_object_get(r, top);
    if (!dot || !strcmp(top, "string_set_value")) {
        put_json(b, o, top, !strcmp(top, "float_value"));
        return;
    }
    /* a struct field: "file_value.path", "histogram_value.edges.list..." */
    if (!o) {
        xp_buf_puts(b, "null");
        return;
    }
    char field[64];
    const char *f = dot + 1, *dot2 = strchr(f, '.');
    size_t fn = dot2 ? (size_t)(dot2 - f) : strlen(f);
    snprintf(field, sizeof field, "%.*s", (int)fn, f);
    put_json(b, json_object_object_get(o, field), field,
             !strcmp(field, "edges") || !strcmp(field, "values"));
}

static struct json_object *record(void)
{
    char *p = tu_src("tests/fixtures/parquet/record.json");
    struct json_object *r = json_object_from_file(p);
    free(p);
    assert_non_null(r);
    return r;
}

static void check_file(const char *name, struct json_object *rows)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/parquet/%s", name);
    char *path = tu_src(rel);
    struct xp_pq_file *f;
    tu_pass(xp_pq_open(&f, path));
    assert_int_equal(f->num_rows, (int64_t)json_object_array_length(rows));
    assert_int_equal(f->ncols, 16);
    assert_true(f->nrgs >= 2);
    size_t row0 = 0;
    struct xp_buf got = XP_BUF_INIT, want = XP_BUF_INIT;
    for (size_t g = 0; g < f->nrgs; g++) {
        struct xp_pq_values v[16];
        struct xp_pq_cursor cur[16];
        for (size_t c = 0; c < f->ncols; c++) {
            tu_pass(xp_pq_read(f, g, c, &v[c]));
            xp_pq_cursor_init(&cur[c], &v[c]);
        }
        for (int64_t r = 0; r < f->rgs[g].num_rows; r++) {
            struct json_object *row =
                json_object_array_get_idx(rows, row0 + (size_t)r);
            for (size_t c = 0; c < f->ncols; c++) {
                size_t lvl, nlvl, val;
                tu_pass(xp_pq_cursor_next(&cur[c], &lvl, &nlvl, &val));
                xp_buf_reset(&got);
                xp_buf_reset(&want);
                put_leaf(&got, &v[c], lvl, nlvl, val, 0);
                put_json_leaf(&want, row, f->cols[c].path);
                if (strcmp(got.ptr, want.ptr))
                    fail_msg("%s row %zu column %s: got %s, wrote %s", name,
                             row0 + (size_t)r, f->cols[c].path, got.ptr,
                             want.ptr);
            }
        }
        for (size_t c = 0; c < f->ncols; c++) {
            size_t a, b2, d;
            assert_int_equal(xp_pq_cursor_next(&cur[c], &a, &b2, &d),
                             XP_ITEROVER);
            assert_int_equal(cur[c].val, v[c].nvals);
            xp_pq_values_release(&v[c]);
        }
        row0 += (size_t)f->rgs[g].num_rows;
    }
    assert_int_equal(row0, json_object_array_length(rows));
    xp_buf_release(&got);
    xp_buf_release(&want);
    xp_pq_close(f);
    free(path);
}

static void test_writers_match_record(void **state)
{
    (void)state;
    struct json_object *rec = record();
    struct json_object *rows = json_object_object_get(rec, "rows");
    json_object_object_foreach(json_object_object_get(rec, "files"), name, o) {
        (void)o;
        check_file(name, rows);
    }
    json_object_put(rec);
}

/* The schema as the exporter's model.py declares it. */
static void test_exporter_schema(void **state)
{
    (void)state;
    char *path = tu_src("tests/fixtures/parquet/exporter_snappy_dict_v1.parquet");
    struct xp_pq_file *f;
    tu_pass(xp_pq_open(&f, path));
    int c = xp_pq_find(f, "step");
    assert_true(c >= 0);
    assert_int_equal(f->cols[c].logical, XP_PQL_DECIMAL);
    assert_int_equal(f->cols[c].scale, 6);
    assert_int_equal(f->cols[c].precision, 18);
    c = xp_pq_find(f, "timestamp");
    assert_int_equal(f->cols[c].logical, XP_PQL_TIMESTAMP);
    assert_int_equal(f->cols[c].unit, XP_PQ_MILLIS);
    assert_true(f->cols[c].utc);
    c = xp_pq_find(f, "histogram_value.edges.list.element");
    assert_true(c >= 0);
    assert_int_equal(f->cols[c].max_def, 4);
    assert_int_equal(f->cols[c].max_rep, 1);
    assert_true(f->cols[c].nodes[1].is_list);
    c = xp_pq_find(f, "string_set_value.list.element");
    assert_int_equal(f->cols[c].max_def, 3);
    assert_int_equal(xp_pq_find(f, "nope"), -1);
    xp_pq_close(f);
    free(path);
}

static int read_all(const char *path);

/* ---- apache/parquet-testing files against DuckDB's reading ------------------- */

/* A leaf whose value the test's printer handles: at most one list level. */
static int printable(const struct xp_pq_column *c)
{
    return c->max_rep <= 1;
}

static void check_testing(const char *name, struct json_object *exp)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/parquet/testing/%s", name);
    char *path = tu_src(rel);
    struct xp_pq_file *f;
    struct json_object *err = json_object_object_get(exp, "duckdb_error");
    if (err) {
        /* LZ4 (the Hadoop framing): named, not misread */
        int rc = read_all(path);
        assert_int_equal(rc, XP_ENOTSUP);
        assert_non_null(strstr(xp_error_last()->message, "LZ4"));
        assert_non_null(strstr(xp_error_last()->message, name));
        free(path);
        return;
    }
    struct json_object *rows = json_object_object_get(exp, "rows");
    struct json_object *leaves = json_object_object_get(exp, "leaves");
    tu_pass(xp_pq_open(&f, path));
    assert_int_equal(f->ncols, json_object_array_length(leaves));
    assert_int_equal(f->num_rows, (int64_t)json_object_array_length(rows));
    struct xp_buf got = XP_BUF_INIT;
    size_t row0 = 0, compared = 0;
    for (size_t g = 0; g < f->nrgs; g++) {
        for (size_t c = 0; c < f->ncols; c++) {
            const struct xp_pq_column *col = &f->cols[c];
            assert_string_equal(col->path, json_object_get_string(
                json_object_array_get_idx(leaves, c)));
            struct xp_pq_values v;
            int rc = xp_pq_read(f, g, c, &v);
            if (col->type == XP_PQ_INT96) {
                assert_int_equal(rc, XP_ENOTSUP);
                assert_non_null(strstr(xp_error_last()->message, "INT96"));
                assert_non_null(strstr(xp_error_last()->message, col->path));
                xp_pq_values_release(&v);
                continue;
            }
            tu_pass(rc);
            struct xp_pq_cursor cur;
            xp_pq_cursor_init(&cur, &v);
            for (int64_t r = 0; r < f->rgs[g].num_rows; r++) {
                size_t lvl, nlvl, val;
                tu_pass(xp_pq_cursor_next(&cur, &lvl, &nlvl, &val));
                if (!printable(col))
                    continue;
                xp_buf_reset(&got);
                put_leaf(&got, &v, lvl, nlvl, val, 0);
                const char *want = json_object_get_string(json_object_array_get_idx(
                    json_object_array_get_idx(rows, row0 + (size_t)r), c));
                if (strcmp(got.ptr, want))
                    fail_msg("%s row %zu column %s: got %s, DuckDB %s", name,
                             row0 + (size_t)r, col->path, got.ptr, want);
                compared++;
            }
            assert_int_equal(cur.val, v.nvals);
            xp_pq_values_release(&v);
        }
        row0 += (size_t)f->rgs[g].num_rows;
    }
    /* int96_from_spark has nothing but an INT96 column */
    assert_true(compared > 0 || !strcmp(name, "int96_from_spark.parquet"));
    xp_buf_release(&got);
    xp_pq_close(f);
    free(path);
}

static void test_parquet_testing(void **state)
{
    (void)state;
    char *p = tu_src("tests/fixtures/parquet/testing/expected.json");
    struct json_object *exp = json_object_from_file(p);
    free(p);
    assert_non_null(exp);
    size_t n = 0;
    json_object_object_foreach(exp, name, o) {
        check_testing(name, o);
        n++;
    }
    assert_true(n >= 15);
    json_object_put(exp);
}

/* ---- damaged files ------------------------------------------------------------ */

static char *slurp_bin(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *b = malloc(*len);
    assert_int_equal(fread(b, 1, *len, fp), *len);
    fclose(fp);
    return b;
}

static void spit(const char *path, const char *b, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, len, fp), len);
    fclose(fp);
}

/* Open and read every chunk; the first error's code (0 when none). */
static int read_all(const char *path)
{
    struct xp_pq_file *f;
    int rc = xp_pq_open(&f, path);
    if (rc < 0)
        return rc;
    for (size_t g = 0; g < f->nrgs && rc == 0; g++)
        for (size_t c = 0; c < f->ncols && rc == 0; c++) {
            struct xp_pq_values v;
            rc = xp_pq_read(f, g, c, &v);
            if (rc == 0) {
                struct xp_pq_cursor cur;
                size_t a, b, d;
                xp_pq_cursor_init(&cur, &v);
                while (xp_pq_cursor_next(&cur, &a, &b, &d) == 0)
                    ;
                if (v.col->logical == XP_PQL_DECIMAL && v.nvals) {
                    char t[64];
                    xp_pq_decimal_text(&v, 0, t, sizeof t);
                }
            }
            xp_pq_values_release(&v);
        }
    xp_pq_close(f);
    return rc;
}

struct damage {
    char *dir, *src, *dst, *orig;
    size_t len;
};

static void damage_open(struct damage *d, const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/parquet/%s", name);
    d->src = tu_src(rel);
    d->dir = tu_mkdtemp();
    d->orig = slurp_bin(d->src, &d->len);
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "%s/damaged.parquet", d->dir);
    d->dst = xp_buf_detach(&b);
}

static void damage_close(struct damage *d)
{
    tu_rmtree(d->dir);
    free(d->dir);
    free(d->src);
    free(d->dst);
    free(d->orig);
}

static void test_truncated(void **state)
{
    (void)state;
    struct damage d;
    damage_open(&d, "exporter_snappy_dict_v1.parquet");
    /* cut anywhere: the file no longer ends in PAR1 */
    spit(d.dst, d.orig, d.len / 2);
    tu_fail_with(XP_EINVALID, "damaged.parquet': not a Parquet file",
                 read_all(d.dst));
    /* a footer length that does not fit the file */
    char *b = malloc(d.len);
    memcpy(b, d.orig, d.len);
    b[d.len - 5] = 0x7f;
    spit(d.dst, b, d.len);
    tu_fail_with(XP_EINVALID, "truncated footer", read_all(d.dst));
    /* the footer cut short: its length and magic kept */
    uint32_t mlen = (uint8_t)d.orig[d.len - 8] |
                    (uint32_t)(uint8_t)d.orig[d.len - 7] << 8 |
                    (uint32_t)(uint8_t)d.orig[d.len - 6] << 16;
    size_t cut = mlen / 3;
    memcpy(b, d.orig, d.len);
    memmove(b + d.len - 8 - cut, b + d.len - 8, 8);
    uint32_t nl = mlen - (uint32_t)cut;
    for (int i = 0; i < 4; i++)
        b[d.len - cut - 8 + (size_t)i] = (char)(nl >> (8 * i));
    spit(d.dst, b, d.len - cut);
    tu_fail_with(XP_EINVALID, "footer", read_all(d.dst));
    assert_non_null(strstr(xp_error_last()->message, "damaged.parquet"));
    /* bad thrift: an unknown field type at the footer's start */
    memcpy(b, d.orig, d.len);
    b[d.len - 8 - mlen] = 0x1d;
    spit(d.dst, b, d.len);
    tu_fail_with(XP_EINVALID, "bad thrift at byte", read_all(d.dst));
    free(b);
    damage_close(&d);
}

/* A page header whose compressed size is wrong. */
static void test_wrong_page_size(void **state)
{
    (void)state;
    struct damage d;
    damage_open(&d, "exporter_snappy_dict_v1.parquet");
    struct xp_pq_file *f;
    tu_pass(xp_pq_open(&f, d.src));
    const struct xp_pq_chunk_meta *m = &f->rgs[0].chunks[0];
    int64_t at = m->dict_page_offset > 0 ? m->dict_page_offset
                                         : m->data_page_offset;
    xp_pq_close(f);
    for (int delta = -2; delta <= 2; delta += 4) {
        char *b = malloc(d.len);
        memcpy(b, d.orig, d.len);
        /* fields 1, 2, 3: type, uncompressed and compressed size (i32) */
        unsigned char *p = (unsigned char *)b + at;
        for (int field = 0; field < 2; field++) {
            assert_int_equal(*p & 0x0f, 5);
            p++;
            while (*p & 0x80)
                p++;
            p++;
        }
        assert_int_equal(*p, 0x15);
        p++;
        assert_true(*p >= 4); /* changing it by two keeps its length */
        *p = (unsigned char)(*p + delta);
        spit(d.dst, b, d.len);
        int rc = read_all(d.dst);
        assert_true(rc == XP_EINVALID);
        const char *msg = xp_error_last()->message;
        if (!strstr(msg, "damaged.parquet") || !strstr(msg, "project_id") ||
            !strstr(msg, "page at byte"))
            fail_msg("message does not name the place: %s", msg);
        free(b);
    }
    damage_close(&d);
}

/* Skip one Thrift compact struct of i32 and struct fields (a page header
 * as parquet-wasm writes it); returns the bytes it takes. */
static size_t skip_struct(const unsigned char *p)
{
    size_t i = 0;
    for (;;) {
        unsigned char b = p[i++];
        if (b == 0)
            return i;
        assert_true(b >> 4); /* short-form field ids only */
        if ((b & 15) == 5)
            while (p[i++] & 0x80)
                ;
        else if ((b & 15) == 12)
            i += skip_struct(p + i);
        else
            assert_true((b & 15) == 1 || (b & 15) == 2);
    }
}

static size_t put_varint(unsigned char *o, uint64_t v)
{
    size_t n = 0;
    do {
        o[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

/* A dictionary page that claims two billion values: refused before
 * anything is allocated for them (it used to abort in the allocator). */
static void test_huge_count(void **state)
{
    (void)state;
    struct damage d;
    damage_open(&d, "exporter_none_dict_v2.parquet");
    struct xp_pq_file *f;
    tu_pass(xp_pq_open(&f, d.src));
    int64_t at = f->rgs[0].chunks[0].dict_page_offset;
    xp_pq_close(f);
    assert_true(at > 0);
    const unsigned char *h = (const unsigned char *)d.orig + at;
    size_t hlen = skip_struct(h);
    /* fields 1-3: type, uncompressed and compressed sizes, kept as they are */
    size_t k = 0;
    for (int field = 0; field < 3; field++) {
        k++;
        while (h[k++] & 0x80)
            ;
    }
    unsigned char nh[64];
    memcpy(nh, h, k);
    size_t n = k;
    nh[n++] = 0x4c;                          /* field 7: DictionaryPageHeader */
    nh[n++] = 0x15;                          /* 1: num_values */
    n += put_varint(nh + n, 2 * (uint64_t)INT32_MAX);
    nh[n++] = 0x15;                          /* 2: encoding PLAIN */
    nh[n++] = 0;
    nh[n++] = 0;                             /* end of the sub-header */
    nh[n++] = 0;                             /* end of the page header */
    char *b = malloc(d.len + n);
    memcpy(b, d.orig, (size_t)at);
    memcpy(b + at, nh, n);
    memcpy(b + at + n, d.orig + at + hlen, d.len - (size_t)at - hlen);
    spit(d.dst, b, d.len - hlen + n);
    tu_fail_with(XP_EINVALID, "PLAIN values end after", read_all(d.dst));
    free(b);
    damage_close(&d);
}

/* Every single-byte change of a file gives a value or an error, never a
 * crash (ASan watches). */
static void test_byte_flips(void **state)
{
    (void)state;
    const char *names[] = {"exporter_snappy_dict_v1.parquet",
                           "exporter_zstd_plain_v2.parquet",
                           "duckdb_zstd_v2.parquet"};
    for (size_t k = 0; k < 3; k++) {
        struct damage d;
        damage_open(&d, names[k]);
        char *b = malloc(d.len);
        size_t step = d.len / 150 + 1;
        for (size_t i = 0; i < d.len; i += step) {
            memcpy(b, d.orig, d.len);
            b[i] = (char)(b[i] ^ (0x5a + (int)i));
            spit(d.dst, b, d.len);
            int rc = read_all(d.dst);
            assert_true(rc == 0 || rc == XP_EINVALID || rc == XP_ENOTSUP);
        }
        free(b);
        damage_close(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exporter_schema),
        cmocka_unit_test(test_writers_match_record),
        cmocka_unit_test(test_parquet_testing),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_wrong_page_size),
        cmocka_unit_test(test_huge_count),
        cmocka_unit_test(test_byte_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
