/* Two copies of one journal brought together by their generations
 * (include/xport/journal.h): the local working copy and the one kept at
 * the destination, fetched before a run opens the journal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "xport/error.h"
#include "xport/fs.h"
#include "xport/journal.h"
#include "xport/json.h"

/* The first line of a journal: *gen and *state from its header; *header
 * 0 for an old journal without one (then every line is tail). *exists 0
 * when there is no file. */
struct head {
    int exists, header;
    int64_t gen, state;
};

static int read_head(const char *path, struct head *h)
{
    memset(h, 0, sizeof(*h));
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? 0 : xp_error_set_os(XP_EIO, "cannot read journal '%s'", path);
    h->exists = 1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    struct json_object *o = NULL;
    if (n > 1 && line[n - 1] == '\n' && !xp_json_parse(&o, line, (size_t)n - 1, "journal")) {
        const char *ev = xp_json_str(o, "event");
        struct json_object *v;
        if (ev && !strcmp(ev, "journal")) {
            h->header = 1;
            if (json_object_object_get_ex(o, "gen", &v))
                h->gen = json_object_get_int64(v);
            if (json_object_object_get_ex(o, "state", &v))
                h->state = json_object_get_int64(v);
        }
    }
    xp_error_clear();
    json_object_put(o);
    free(line);
    fclose(f);
    return 0;
}

/* Copy the whole lines of f into out; skip: how many to leave out first. */
static int put_lines(struct xp_afile *out, FILE *f, int64_t skip, const char *path)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n')
            break; /* a torn last line: its write never finished */
        if (skip > 0)
            skip--;
        else
            xp_afile_write(out, line, (size_t)n);
    }
    int rc = ferror(f) ? xp_error_set_os(XP_EIO, "cannot read journal '%s'", path) : 0;
    free(line);
    return rc;
}

int xp_journal_adopt(const char *path, const char *theirs, int64_t *stored, int *took)
{
    struct head mine, other;
    int64_t s = *stored;
    *took = 0;
    int rc = read_head(theirs, &other);
    if (!rc && (!other.exists || !other.header))
        rc = xp_error_set(XP_EINVALID, "the journal fetched as '%s' has no header", theirs);
    if (!rc)
        rc = read_head(path, &mine);
    if (rc)
        return rc;
    *stored = other.gen;
    if (!mine.header)
        mine.gen = -1; /* empty, or older than generations: its lines are all tail */
    if (mine.exists && (s >= 0 ? other.gen == s : other.gen <= mine.gen))
        return 0; /* theirs has not moved: the local copy holds all it holds */
    /* how many local lines to leave out: the header and, unless the local
     * copy compacted lines it never stored, its state */
    int64_t skip = !mine.header ? 0 : s >= 0 && mine.gen > s ? 1 : 1 + mine.state;
    FILE *a = fopen(theirs, "rb"), *b = mine.exists ? fopen(path, "rb") : NULL;
    struct xp_afile out;
    if (!a || (mine.exists && !b))
        rc = xp_error_set_os(XP_EIO, "cannot read journal '%s'", a ? path : theirs);
    if (!rc)
        rc = xp_afile_open(&out, path);
    if (!rc) {
        rc = put_lines(&out, a, 0, theirs);
        if (!rc && b)
            rc = put_lines(&out, b, skip, path);
        if (rc)
            xp_afile_abort(&out);
        else
            rc = xp_afile_commit(&out);
    }
    if (a)
        fclose(a);
    if (b)
        fclose(b);
    *took = !rc;
    return rc;
}
