/* xport's own state kept in the bucket beside the layout, as objects
 * PREFIX/.xport/NAME (the journals of the copies into it), so that every
 * machine writing to or reading the layout finds it: the adapter's
 * state_get, state_put and state_list (include/xport/sys/adapter.h). The
 * layout's listing and reader skip ".xport/" (s3.c). */
#include <string.h>

#include "s3.h"
#include "xport/error.h"
#include "xport/fs.h"

#define STATE_DIR ".xport"

static void state_key(struct xp_buf *key, const struct s3_adapter *s, const char *name)
{
    struct xp_buf rel = XP_BUF_INIT;
    xp_buf_printf(&rel, STATE_DIR "/%s", name);
    s3_key(key, s, rel.ptr);
    xp_buf_release(&rel);
}

int s3_state_get(struct xp_adapter *a, const char *name, const char *local_path)
{
    struct s3_adapter *s = (struct s3_adapter *)a;
    struct xp_buf key = XP_BUF_INIT;
    state_key(&key, s, name);
    int rc = s3_get_file(s, key.ptr, local_path, -1);
    if (rc == XP_ENOTFOUND)
        rc = xp_error_set(rc, "'%s' holds no '%s/%s'", s->url, STATE_DIR, name);
    else if (rc)
        rc = xp_error_wrap(rc, "fetching '%s/%s/%s'", s->url, STATE_DIR, name);
    xp_buf_release(&key);
    return rc;
}

/* One PUT (or a multipart upload completed in one call): S3 shows the old
 * object or the new one whole, and s3_put_file checks what arrived. */
int s3_state_put(struct xp_adapter *a, const char *name, const char *local_path)
{
    struct s3_adapter *s = (struct s3_adapter *)a;
    struct xp_buf key = XP_BUF_INIT;
    state_key(&key, s, name);
    int rc = s3_put_file(s, key.ptr, local_path);
    if (rc)
        rc = xp_error_wrap(rc, "storing '%s/%s/%s'", s->url, STATE_DIR, name);
    xp_buf_release(&key);
    return rc;
}

struct names {
    size_t plen;
    xp_state_cb cb;
    void *payload;
};

static int on_state_key(void *payload, const char *key, int64_t size)
{
    struct names *n = payload;
    if (size < 0 || strlen(key) <= n->plen)
        return 0; /* a common prefix: no deeper state is kept */
    const char *name = key + n->plen;
    return xp_segment_safe(name) ? n->cb(n->payload, name) : 0;
}

int s3_state_list(struct xp_adapter *a, xp_state_cb cb, void *payload)
{
    struct s3_adapter *s = (struct s3_adapter *)a;
    struct xp_buf pre = XP_BUF_INIT;
    state_key(&pre, s, "");
    struct names n = {pre.len, cb, payload};
    int rc = s3_list(s, pre.ptr, "/", on_state_key, &n);
    xp_buf_release(&pre);
    return rc;
}
