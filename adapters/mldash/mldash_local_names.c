/* How mldash-local names things on disk: every name one path segment,
 * kept verbatim wherever the ml-dash SDK could write it, else encoded
 * whole (xp_name_encode), so that nothing escapes ROOT. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "mldash_local.h"
#include "xport/error.h"

/* Does s read like xp_name_encode's output for some other name? Such a
 * name is encoded itself, so the local reader decodes exactly the segments
 * it must (adapters/local/discover.c has the same test). */
static int looks_encoded(const char *s)
{
    if (!strchr(s, '%'))
        return 0;
    struct xp_buf d = XP_BUF_INIT, e = XP_BUF_INIT;
    int r = !xp_name_decode(&d, s) && strlen(d.ptr) == d.len &&
            !xp_name_encode(&e, d.ptr) && !strcmp(e.ptr, s);
    xp_error_clear();
    xp_buf_release(&d);
    xp_buf_release(&e);
    return r;
}

/* The SDK joins names into paths as they are (ROOT/<prefix>,
 * metrics/<name>, files/<path>), so a name is kept verbatim whenever
 * ml-dash could write it: one segment, not "." or "..", no leading '.'
 * (hidden; ".xport" is ours), no control characters, short enough. */
static int verbatim_ok(const char *s)
{
    if (!xp_segment_safe(s) || s[0] == '.' || strlen(s) > 200)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return !looks_encoded(s);
}

/* Append name as one segment ("/" first unless b is empty): verbatim if
 * it may be, else encoded whole. */
int mlocal_put_segment(struct xp_buf *b, const char *name, const char *what)
{
    if (b->len)
        xp_buf_putc(b, '/');
    if (verbatim_ok(name)) {
        xp_buf_puts(b, name);
        return 0;
    }
    struct xp_buf enc = XP_BUF_INIT;
    int rc = xp_name_encode(&enc, name);
    if (!rc)
        xp_buf_puts(b, enc.ptr);
    xp_buf_release(&enc);
    return rc ? xp_error_wrap(rc, "%s name", what) : 0;
}

/* metrics/<name>: the SDK writes "train/loss" as metrics/train/loss and
 * reads it there by name, so a '/'-separated name whose every segment may
 * be verbatim nests; any other is one encoded segment. */
int mlocal_put_metric_path(struct xp_buf *b, const char *name)
{
    int nested = *name != '\0';
    char *copy = xp_strdup(name);
    for (char *seg = copy, *end; nested && seg; seg = end ? end + 1 : NULL) {
        end = strchr(seg, '/');
        if (end)
            *end = '\0';
        nested = verbatim_ok(seg);
    }
    free(copy);
    if (!nested)
        return mlocal_put_segment(b, name, "metric");
    xp_buf_putc(b, '/');
    xp_buf_puts(b, name);
    return 0;
}

/* owner/project/folders.../experiment, each name one segment
 * (mlocal_put_segment); this path is also "prefix", since the SDK reads and writes
 * everything of an experiment at ROOT/<prefix>. */
int mlocal_experiment_path(struct xp_buf *rel, const struct xp_experiment_meta *m)
{
    int rc = mlocal_put_segment(rel, m->workspace, "workspace");
    if (!rc)
        rc = mlocal_put_segment(rel, m->project, "project");
    if (!rc && m->folder) {
        char *f = xp_strdup(m->folder);
        char *save = NULL;
        for (char *seg = strtok_r(f, "/", &save); seg && !rc;
             seg = strtok_r(NULL, "/", &save))
            rc = mlocal_put_segment(rel, seg, "folder");
        free(f);
    }
    if (!rc)
        rc = mlocal_put_segment(rel, m->name, "experiment");
    return rc;
}
