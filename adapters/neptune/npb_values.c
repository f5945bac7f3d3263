/* The values Neptune's backup script writes (neptune-ai/examples,
 * utils/migration_tools/backup_neptune/bulk_download_metadata.py): Python's
 * str() of datetimes and repr of sets inside simple_metadata.json
 * (json.dumps(..., default=str)), and series as pandas CSV
 * (DataFrame.to_csv(index=False) of fetch_values(): step,value,timestamp,
 * the timestamp a naive local time). */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npb.h"
#include "xport/error.h"
#include "xport/iso8601.h"

int npb_parse_datetime(const char *s, size_t n, struct npb_tz *tz, int64_t *ms,
                       int *had_offset)
{
    /* Python's str(datetime): "YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM]" */
    int64_t sec;
    int32_t ns;
    enum xp_iso_zone z;
    if (!n || xp_iso8601_scan(s, n, &sec, &ns, &z) != n || s[n - 1] == 'Z' ||
        s[n - 1] == 'z') /* "" is no datetime (and s[-1] no character) */
        return -1;
    *had_offset = z != XP_ISO_NAIVE;
    if (!*had_offset)
        sec = npb_tz_to_utc(tz, sec); /* the wall clock read as if UTC */
    *ms = sec * 1000 + (ns + 500000) / 1000000;
    return 0;
}

static void put_utf8(struct xp_buf *b, unsigned long c)
{
    char u[4];
    size_t n;
    if (c < 0x80) {
        u[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        u[0] = (char)(0xc0 | c >> 6);
        u[1] = (char)(0x80 | (c & 0x3f));
        n = 2;
    } else if (c < 0x10000) {
        u[0] = (char)(0xe0 | c >> 12);
        u[1] = (char)(0x80 | (c >> 6 & 0x3f));
        u[2] = (char)(0x80 | (c & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | c >> 18);
        u[1] = (char)(0x80 | (c >> 12 & 0x3f));
        u[2] = (char)(0x80 | (c >> 6 & 0x3f));
        u[3] = (char)(0x80 | (c & 0x3f));
        n = 4;
    }
    xp_buf_put(b, u, n);
}

/* One Python string literal at *p ('...' or "..."); its value into b. */
static int py_str(const char **p, struct xp_buf *b)
{
    char q = **p;
    if (q != '\'' && q != '"')
        return -1;
    const char *s = *p + 1;
    xp_buf_reset(b);
    for (; *s && *s != q; s++) {
        if (*s != '\\') {
            xp_buf_putc(b, *s);
            continue;
        }
        s++;
        int len = 0;
        switch (*s) {
        case '\\': case '\'': case '"': xp_buf_putc(b, *s); break;
        case 'n': xp_buf_putc(b, '\n'); break;
        case 'r': xp_buf_putc(b, '\r'); break;
        case 't': xp_buf_putc(b, '\t'); break;
        case 'x': len = 2; break;
        case 'u': len = 4; break;
        case 'U': len = 8; break;
        default: return -1;
        }
        if (len) {
            unsigned long c = 0;
            for (int i = 0; i < len; i++) {
                char h = s[1 + i];
                int v = h >= '0' && h <= '9' ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                               : -1;
                if (v < 0)
                    return -1;
                c = c << 4 | (unsigned long)v;
            }
            if (c > 0x10ffff || (c >= 0xd800 && c < 0xe000))
                return -1;
            put_utf8(b, c);
            s += len;
        }
    }
    if (*s != q)
        return -1;
    *p = s + 1;
    return 0;
}

int npb_parse_set(const char *s, struct npt_attr *a)
{
    if (!strcmp(s, "set()"))
        return 0;
    if (*s != '{')
        return -1;
    struct xp_buf b = XP_BUF_INIT;
    const char *p = s + 1;
    for (;;) {
        if (py_str(&p, &b)) {
            xp_buf_release(&b);
            return -1;
        }
        npt_set_add(a, b.ptr);
        if (*p == '}' && !p[1])
            break;
        if (p[0] != ',' || p[1] != ' ') {
            xp_buf_release(&b);
            return -1;
        }
        p += 2;
    }
    xp_buf_release(&b);
    return 0;
}

/* ---- CSV ---------------------------------------------------------------- */

/* One CSV record (RFC 4180 quoting, as Python's csv module writes it) into
 * fields; 0, or 1 at the end of the file, or -1 on a bad quote. */
static int csv_record(FILE *fp, struct xp_buf *f, size_t max, size_t *nf)
{
    int c = getc_unlocked(fp);
    if (c == EOF)
        return 1;
    *nf = 0;
    xp_buf_reset(&f[0]);
    int quoted = 0, was_quoted = 0;
    for (;; c = getc_unlocked(fp)) {
        if (quoted) {
            if (c == EOF)
                return -1;
            if (c == '"') {
                int d = getc_unlocked(fp);
                if (d == '"') {
                    xp_buf_putc(&f[*nf], '"');
                    continue;
                }
                ungetc(d, fp);
                quoted = 0;
                continue;
            }
            xp_buf_putc(&f[*nf], (char)c);
            continue;
        }
        if (c == '"' && !f[*nf].len && !was_quoted) {
            quoted = was_quoted = 1;
            continue;
        }
        if (c == ',' ) {
            if (++*nf == max)
                return -1;
            xp_buf_reset(&f[*nf]);
            was_quoted = 0;
            continue;
        }
        if (c == '\r')
            continue;
        if (c == '\n' || c == EOF) {
            (*nf)++;
            return 0;
        }
        xp_buf_putc(&f[*nf], (char)c);
    }
}

/* A float as pandas prints one: Python's repr, "inf", "-inf", or an empty
 * cell for NaN. */
static int csv_float(const char *s, double *out)
{
    if (!*s) {
        *out = NAN;
        return 0;
    }
    if (!strcmp(s, "inf") || !strcmp(s, "-inf")) {
        *out = *s == '-' ? -INFINITY : INFINITY;
        return 0;
    }
    if (!strcmp(s, "nan")) {
        *out = NAN;
        return 0;
    }
    if (strspn(s, "0123456789+-.eE") != strlen(s))
        return -1;
    char *end;
    *out = strtod(s, &end);
    return *end ? -1 : 0;
}

struct row {
    double step;
    int has_step;
    int64_t ts;
    char *value;
};

int npb_read_csv(struct npt_run *r, const char *path, const char *attr,
                 struct npb_tz *tz)
{
    FILE *fp = fopen(path, "re");
    if (!fp)
        return xp_error_set_os(XP_EIO, "cannot open '%s'", path);
    struct xp_buf f[4] = {XP_BUF_INIT, XP_BUF_INIT, XP_BUF_INIT, XP_BUF_INIT};
    size_t nf = 0;
    int rc = csv_record(fp, f, 4, &nf);
    /* a series never fetched a value: no columns at all */
    int empty = rc == 1 || (rc == 0 && nf == 1 && f[0].len == 0);
    if (!empty && (rc || nf != 3 || strcmp(f[0].ptr, "step") ||
                   strcmp(f[1].ptr, "value") || strcmp(f[2].ptr, "timestamp"))) {
        fclose(fp);
        for (int i = 0; i < 4; i++)
            xp_buf_release(&f[i]);
        return 1; /* not a series: a file */
    }
    struct row *rows = NULL;
    size_t n = 0, cap = 0;
    int is_float = 1;
    int64_t line = 1;
    while (!empty && (rc = csv_record(fp, f, 4, &nf)) == 0) {
        line++;
        struct row w = {0};
        int had;
        if (nf != 3 || (f[0].len && csv_float(f[0].ptr, &w.step)) ||
            npb_parse_datetime(f[2].ptr, f[2].len, tz, &w.ts, &had)) {
            xp_lost_add(&r->lost, "line %lld of '%s' is not step,value,timestamp",
                     (long long)line, path);
            continue;
        }
        w.has_step = f[0].len > 0;
        double d;
        if (is_float && csv_float(f[1].ptr, &d))
            is_float = 0;
        w.value = xp_strndup(f[1].ptr, f[1].len);
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            rows = xp_realloc(rows, cap * sizeof(*rows));
        }
        rows[n++] = w;
    }
    if (rc < 0)
        xp_lost_add(&r->lost, "'%s' ends inside a quoted value", path);
    fclose(fp);
    for (int i = 0; i < 4; i++)
        xp_buf_release(&f[i]);
    struct npt_attr *a = npt_add(r, attr, is_float ? NPT_FLOAT_SERIES : NPT_STRING_SERIES);
    for (size_t i = 0; i < n; i++) {
        struct npt_point p = {rows[i].step, rows[i].has_step, rows[i].ts, {0}};
        if (is_float) {
            csv_float(rows[i].value, &p.u.d);
            free(rows[i].value);
        } else {
            p.u.s = rows[i].value;
        }
        npt_push(a, &p);
    }
    free(rows);
    return 0;
}
