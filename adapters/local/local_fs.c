/* The file access of the local adapter's reader and listing: the disk, or
 * the archive the layout is in (archive_index.c, archive_stream.c), so that
 * one implementation of the layout's format reads both. Paths are the
 * reader's own (root joined with the relative name); in an archive the
 * root is the archive's path and the rest names the member. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "local.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"
#include "xport/stream.h"

/* The member name of path, or NULL when path is not below the root. */
static const char *member(const struct local_adapter *la, const char *path)
{
    size_t rl = strlen(la->root);
    if (strncmp(path, la->root, rl))
        return NULL;
    if (!path[rl])
        return "";
    return path[rl] == '/' ? path + rl + 1 : NULL;
}

int lfs_is_file(const struct local_adapter *la, const char *path)
{
    if (!la->arc)
        return xp_is_file(path);
    const char *m = member(la, path);
    return m && arc_find(la->arc, m) != NULL;
}

int lfs_is_dir(const struct local_adapter *la, const char *path)
{
    if (!la->arc)
        return xp_is_dir(path);
    const char *m = member(la, path);
    return m && arc_is_dir(la->arc, m);
}

int lfs_is_real_dir(const struct local_adapter *la, const char *path)
{
    if (!la->arc) {
        struct stat st;
        return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
    }
    return lfs_is_dir(la, path);
}

int lfs_list_dir(const struct local_adapter *la, char ***out, size_t *n, const char *path)
{
    if (!la->arc)
        return xp_list_dir(out, n, path);
    const char *m = member(la, path);
    if (!m) {
        *out = NULL;
        *n = 0;
        return xp_error_set(XP_ENOTFOUND, "cannot open directory '%s'", path);
    }
    return arc_list(la->arc, m, out, n);
}

int64_t lfs_size(const struct local_adapter *la, const char *path)
{
    if (!la->arc) {
        struct stat st;
        return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
    }
    const char *m = member(la, path);
    const struct arc_member *a = m ? arc_find(la->arc, m) : NULL;
    return a ? a->size : -1;
}

int lfs_read_json(const struct local_adapter *la, struct json_object **out,
                  const char *path)
{
    if (!la->arc)
        return xp_json_read_file(out, path);
    const char *m = member(la, path);
    if (!m) {
        *out = NULL;
        return xp_error_set(XP_ENOTFOUND, "cannot open '%s'", path);
    }
    return arc_read_json(la->arc, m, path, out);
}

FILE *lfs_fopen(const struct local_adapter *la, const char *path)
{
    if (!la->arc)
        return fopen(path, "rb");
    const char *m = member(la, path);
    if (!m) {
        errno = ENOENT;
        return NULL;
    }
    return arc_fopen(la->arc, m, path);
}

int lfs_open_body(const struct local_adapter *la, const char *path,
                  struct xp_fd_stream *fds, struct xp_stream **out)
{
    if (!la->arc) {
        xp_fd_stream_close(fds);
        fds->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fds->fd < 0)
            return xp_error_set_os(XP_ENOTFOUND, "cannot open '%s'", path);
        *out = &fds->base;
        return 0;
    }
    const char *m = member(la, path);
    if (!m)
        return xp_error_set(XP_ENOTFOUND, "cannot open '%s'", path);
    return arc_open_body(la->arc, m, path, out);
}
