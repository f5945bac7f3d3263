/* Selection patterns: fnmatch globs plus shell-style braces, including
 * zero-padded numeric ranges such as run-{001..120}. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>

#include "xport/buf.h"
#include "xport/numparse.h"
#include "xport/sys/adapter.h"

#define MAX_EXPANSIONS 100000

/* Find the first top-level {...} containing ',' or "..": start/end index. */
static int find_brace(const char *p, size_t *open, size_t *close)
{
    for (size_t i = 0; p[i]; i++) {
        if (p[i] == '\\' && p[i + 1]) {
            i++;
            continue;
        }
        if (p[i] != '{')
            continue;
        int depth = 0;
        for (size_t j = i; p[j]; j++) {
            if (p[j] == '\\' && p[j + 1]) {
                j++;
                continue;
            }
            if (p[j] == '{')
                depth++;
            else if (p[j] == '}' && --depth == 0) {
                *open = i;
                *close = j;
                return 1;
            }
        }
        return 0;
    }
    return 0;
}

static int range_parts(const char *s, size_t n, long *a, long *b, int *width)
{
    char tmp[64];
    if (n >= sizeof(tmp))
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *dots = strstr(tmp, "..");
    if (!dots)
        return 0;
    *dots = '\0';
    int64_t x, y;
    if (xp_parse_range(tmp, LONG_MIN, LONG_MAX, &x) ||
        xp_parse_range(dots + 2, LONG_MIN, LONG_MAX, &y))
        return 0;
    *a = (long)x;
    *b = (long)y;
    int wa = (tmp[0] == '0' && tmp[1]) ? (int)strlen(tmp) : 0;
    int wb = (dots[2] == '0' && dots[3]) ? (int)strlen(dots + 2) : 0;
    *width = wa > wb ? wa : wb;
    return 1;
}

struct match_ctx {
    const char *name;
    int budget;
};

static int match_rec(const char *pat, struct match_ctx *m)
{
    if (m->budget-- <= 0)
        return 0;
    size_t o, c;
    if (!find_brace(pat, &o, &c))
        return fnmatch(pat, m->name, 0) == 0;
    const char *body = pat + o + 1;
    size_t blen = c - o - 1;
    struct xp_buf alt = XP_BUF_INIT;
    int hit = 0;
    long a, b;
    int width;
    if (range_parts(body, blen, &a, &b, &width)) {
        long step = a <= b ? 1 : -1;
        for (long v = a;; v += step) {
            xp_buf_reset(&alt);
            xp_buf_put(&alt, pat, o);
            xp_buf_printf(&alt, "%0*ld", width, v);
            xp_buf_puts(&alt, pat + c + 1);
            if ((hit = match_rec(alt.ptr, m)) || v == b || m->budget <= 0)
                break;
        }
    } else {
        /* split body on top-level commas */
        size_t start = 0;
        int depth = 0, any_comma = 0;
        for (size_t i = 0; i <= blen && !hit; i++) {
            char ch = i < blen ? body[i] : ',';
            if (i < blen && ch == '\\' && i + 1 < blen) {
                i++;
                continue;
            }
            if (ch == '{')
                depth++;
            else if (ch == '}')
                depth--;
            else if (ch == ',' && depth == 0) {
                if (i < blen)
                    any_comma = 1;
                if (i == blen && !any_comma) {
                    /* "{x}" is literal: match braces as written */
                    xp_buf_reset(&alt);
                    xp_buf_put(&alt, pat, o);
                    xp_buf_puts(&alt, "[{]");
                    xp_buf_put(&alt, body, blen);
                    xp_buf_puts(&alt, "[}]");
                    xp_buf_puts(&alt, pat + c + 1);
                    hit = fnmatch(alt.ptr, m->name, 0) == 0;
                    break;
                }
                xp_buf_reset(&alt);
                xp_buf_put(&alt, pat, o);
                xp_buf_put(&alt, body + start, i - start);
                xp_buf_puts(&alt, pat + c + 1);
                hit = match_rec(alt.ptr, m);
                start = i + 1;
            }
        }
    }
    xp_buf_release(&alt);
    return hit;
}

int xp_pattern_match(const char *pattern, const char *name)
{
    if (!pattern || !*pattern)
        return 1;
    struct match_ctx m = {name, MAX_EXPANSIONS};
    return match_rec(pattern, &m);
}

int xp_location_selects(const struct xp_location *loc, const char *workspace,
                        const char *project, const char *experiment)
{
    return xp_pattern_match(loc->workspace, workspace ? workspace : "") &&
           xp_pattern_match(loc->project, project ? project : "") &&
           xp_pattern_match(loc->experiment, experiment ? experiment : "");
}
