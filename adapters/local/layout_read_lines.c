/* The JSONL file the local reader is on, read one line at a time (raw for
 * the point scanner, or parsed as a JSON object), for the series, logs
 * and file manifest alike. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "layout_read.h"
#include "xport/error.h"
#include "xport/json.h"

int lr_close_fp(struct layout_reader *r)
{
    if (r->fp) {
        fclose(r->fp);
        r->read_closed += r->offset;
    }
    r->fp = NULL;
    free(r->fp_path);
    r->fp_path = NULL;
    return 0;
}

int lr_open_fp(struct layout_reader *r, const char *path)
{
    lr_close_fp(r);
    r->fp = lfs_fopen(r->la, path);
    if (!r->fp)
        return xp_error_set_os(errno == ENOENT ? XP_ENOTFOUND : XP_EIO,
                               "cannot open '%s'", path);
    r->fp_path = xp_strdup(path);
    r->lineno = 0;
    r->offset = 0;
    return 0;
}

void lr_release_held(struct layout_reader *r)
{
    for (size_t i = 0; i < r->nheld; i++)
        json_object_put(r->held[i]);
    r->nheld = 0;
    xp_arena_reset(&r->arena);
}

/* Next raw line into r->line; 0, XP_ITEROVER, or an error. Empty lines
 * are skipped; a last line without '\n' is flagged in *complete. */
int lr_next_raw_line(struct layout_reader *r, int *complete)
{
    for (;;) {
        ssize_t n = getline(&r->line, &r->line_cap, r->fp);
        if (n < 0) {
            if (ferror(r->fp))
                return xp_error_set_os(XP_EIO, "cannot read '%s'", r->fp_path);
            return XP_ITEROVER;
        }
        r->offset += n;
        r->lineno++;
        *complete = n > 0 && r->line[n - 1] == '\n';
        size_t k = (size_t)n;
        while (k && (r->line[k - 1] == '\n' || r->line[k - 1] == '\r'))
            k--;
        r->line_len = k;
        if (memchr(r->line, '\0', k))
            return xp_error_set(XP_EINVALID, "'%s' line %ld holds a NUL byte",
                                r->fp_path, r->lineno);
        if (k)
            return 0;
    }
}

int lr_next_json_line(struct layout_reader *r, struct json_object **out)
{
    int complete;
    int rc = lr_next_raw_line(r, &complete);
    return rc ? rc : lr_parse_json_line(r, complete, out);
}

int lr_parse_json_line(struct layout_reader *r, int complete, struct json_object **out)
{
    int rc;
    size_t n = r->line_len;
    struct xp_buf what = XP_BUF_INIT;
    xp_buf_printf(&what, "'%s' line %ld", r->fp_path, r->lineno);
    rc = xp_json_parse(out, r->line, n, what.ptr);
    if (!rc && !json_object_is_type(*out, json_type_object)) {
        json_object_put(*out);
        rc = xp_error_set(XP_EINVALID, "%s is not a JSON object", what.ptr);
    }
    if (rc && !complete)
        rc = xp_error_set(XP_EINVALID, "%s is truncated", what.ptr);
    xp_buf_release(&what);
    return rc;
}

