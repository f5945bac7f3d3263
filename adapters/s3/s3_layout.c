/* What the s3 reader and sink share about the layout in the bucket: its
 * xport.json, fetched once per adapter, and the local adapter opened over
 * a temporary folder of this machine. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/location.h"

int s3_open_local(struct xp_adapter **out, const char *dir, struct xp_ctx *ctx)
{
    struct xp_location loc = {0};
    loc.adapter = (char *)"local";
    loc.path = (char *)dir;
    return xp_adapter_open(out, &loc, NULL, ctx);
}

void s3_marker_known(struct s3_adapter *s, struct xp_buf *body)
{
    pthread_mutex_lock(&s->lock);
    if (!s->marker)
        s->marker = xp_buf_detach(body);
    pthread_mutex_unlock(&s->lock);
}

int s3_marker_to(struct s3_adapter *s, const char *path, int *have)
{
    pthread_mutex_lock(&s->lock);
    char *known = s->marker ? xp_strdup(s->marker) : NULL;
    pthread_mutex_unlock(&s->lock);
    int rc;
    if (known) {
        rc = xp_write_file_atomic(path, known, strlen(known));
        free(known);
        *have = !rc;
        return rc;
    }
    struct xp_buf key = XP_BUF_INIT, body = XP_BUF_INIT;
    s3_key(&key, s, "xport.json");
    rc = s3_get_file(s, key.ptr, path, -1);
    *have = rc == 0;
    if (rc == XP_ENOTFOUND)
        rc = 0;
    else if (!rc && !(rc = xp_read_file(&body, path, 1 << 16)))
        s3_marker_known(s, &body);
    xp_buf_release(&key);
    xp_buf_release(&body);
    return rc;
}
