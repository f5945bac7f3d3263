/* Staged directories (include/xport/stage.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/stage.h"

/* An old copy moved aside by a publish that was killed before it could
 * remove it (see xp_stage_publish): the rerun writes the experiment anew,
 * so the leftover only takes space. */
static void remove_stale(const char *root, const char *hex)
{
    struct xp_buf d = XP_BUF_INIT, pre = XP_BUF_INIT;
    xp_buf_printf(&d, "%s/.xport/staging", root);
    xp_buf_printf(&pre, "%.24s.xport-old-", hex);
    char **v = NULL;
    size_t n = 0;
    if (xp_is_dir(d.ptr) && !xp_list_dir(&v, &n, d.ptr)) {
        for (size_t i = 0; i < n; i++) {
            if (strncmp(v[i], pre.ptr, pre.len))
                continue;
            char *p = xp_path_join(d.ptr, v[i]);
            xp_rm_rf(p);
            free(p);
        }
        xp_strv_free(v);
    }
    xp_error_clear();
    xp_buf_release(&d);
    xp_buf_release(&pre);
}

int xp_stage_open(struct xp_stage *st, const char *root, const char *final_dir,
                  int keep)
{
    char hex[65];
    struct xp_buf b = XP_BUF_INIT;
    xp_sha256_hex(hex, final_dir, strlen(final_dir));
    xp_buf_printf(&b, "%s/.xport/staging/%.24s", root, hex);
    st->dir = xp_buf_detach(&b);
    st->final_dir = xp_strdup(final_dir);
    remove_stale(root, hex);
    int rc = keep && xp_is_dir(st->dir) ? 0 : xp_rm_rf(st->dir);
    if (!rc)
        rc = xp_mkdir_p(st->dir);
    if (rc)
        xp_stage_release(st, 0);
    return rc;
}

int xp_stage_publish(struct xp_stage *st)
{
    char *parent = xp_strdup(st->final_dir);
    char *slash = strrchr(parent, '/');
    if (slash)
        *slash = '\0';
    int rc = slash ? xp_mkdir_p(parent) : 0;
    char *trash = NULL;
    if (!rc && xp_is_dir(st->final_dir)) {
        struct xp_buf t = XP_BUF_INIT;
        xp_buf_printf(&t, "%s.xport-old-%ld", st->dir, (long)getpid());
        trash = xp_buf_detach(&t);
        if (rename(st->final_dir, trash) != 0) {
            rc = xp_error_set_os(XP_EIO, "cannot move '%s' aside", st->final_dir);
            free(trash);
            trash = NULL;
        }
    }
    if (!rc) {
        if (rename(st->dir, st->final_dir) != 0) {
            rc = xp_error_set_os(XP_EIO, "cannot move '%s' into place", st->final_dir);
            if (trash)
                rename(trash, st->final_dir); /* put the old copy back */
        } else {
            rc = xp_fsync_dir(slash ? parent : ".");
        }
    }
    if (trash) {
        if (!rc)
            xp_rm_rf(trash);
        free(trash);
    }
    free(parent);
    return rc;
}

void xp_stage_release(struct xp_stage *st, int remove)
{
    if (remove && st->dir)
        xp_rm_rf(st->dir);
    free(st->dir);
    free(st->final_dir);
    st->dir = st->final_dir = NULL;
}
