/* Small pieces both Comet readers use: a file body read from a descriptor,
 * and cometx's file name cleaning. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "comet_int.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/json.h"

char *cometx_sanitize(const char *name)
{
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_putc(&b, '/');
    xp_buf_puts(&b, name);
    /* Python's str.replace: left to right, matches do not overlap */
    struct xp_buf o = XP_BUF_INIT;
    for (size_t i = 0; i < b.len;) {
        if (!strncmp(b.ptr + i, "/../", 4)) {
            xp_buf_putc(&o, '/');
            i += 4;
        } else {
            xp_buf_putc(&o, b.ptr[i] == ':' ? '-' : b.ptr[i]);
            i++;
        }
    }
    xp_buf_release(&b);
    size_t skip = 0;
    while (o.ptr[skip] == '/')
        skip++;
    char *r = xp_strdup(o.ptr + skip);
    xp_buf_release(&o);
    return r;
}

int comet_origin(const struct xp_experiment_meta *m)
{
    return m->source_vendor &&
           (!strcmp(m->source_vendor, "comet") || !strcmp(m->source_vendor, "cometx"));
}

/* comet_ml takes experiment keys of 32 to 50 letters and digits. */
static int key_ok(const char *k, int strict)
{
    if (!strict)
        return xp_segment_safe(k);
    size_t n = strlen(k);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)k[i]))
            return 0;
    return n >= 32 && n <= 50;
}

char *comet_experiment_key(const struct xp_experiment_meta *m, int comet_origin, int strict)
{
    struct json_object *md = xp_json_get(m->vendor, "metadata");
    const char *k = xp_json_str(md, "experimentKey");
    if (comet_origin && k && key_ok(k, strict))
        return xp_strdup(k);
    if (comet_origin && m->source_id && key_ok(m->source_id, strict))
        return xp_strdup(m->source_id);
    /* Comet keys are 32 hex digits: derive one from the source's identity */
    struct xp_buf id = XP_BUF_INIT;
    if (m->source_id)
        xp_buf_printf(&id, "%s%c%s", m->source_vendor ? m->source_vendor : "", 0,
                      m->source_id);
    else
        xp_buf_printf(&id, "%s%c%s%c%s", m->workspace, 0, m->project, 0, m->name);
    char hex[65];
    xp_sha256_hex(hex, id.ptr, id.len);
    xp_buf_release(&id);
    return xp_strndup(hex, 32);
}

/* The asset record a file carries (metadata.comet, as the cometx reader
 * gives it) when it fits the file's path; else NULL. */
struct json_object *comet_carried_record(const struct xp_file_meta *m)
{
    struct json_object *rec = xp_json_get(m->metadata, "comet");
    const char *fname = xp_json_str(rec, "fileName");
    const char *type = xp_json_str(rec, "type");
    if (!fname || !xp_relpath_safe(fname))
        return NULL;
    if (!type || !*type)
        type = "asset";
    if (!xp_segment_safe(type))
        return NULL;
    struct xp_buf want = XP_BUF_INIT;
    if (strcmp(type, "asset"))
        xp_buf_printf(&want, "%s/", type);
    xp_buf_puts(&want, fname);
    int fits = !strcmp(m->path, want.ptr) ||
               (!strncmp(m->path, want.ptr, want.len) && m->path[want.len] == '~');
    xp_buf_release(&want);
    return fits ? rec : NULL;
}
