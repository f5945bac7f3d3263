/* What the local writer's files share about a staged experiment: paths in
 * staging, and the items log (staging/.items.jsonl) that marks which
 * series and files are complete, so a resumed run keeps them, and from
 * which the files.jsonl manifest is written at commit. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "layout_write.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/json.h"

char *lw_stage_path(struct layout_sink *s, const char *rel)
{
    return xp_path_join(s->stage.dir, rel);
}

void lw_put_str_or_null(struct json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

/* ---- the items log: which series and files in staging are complete ---- */

int lw_item_done(struct layout_sink *s, const char *key, const char *manifest)
{
    struct xp_buf l = XP_BUF_INIT;
    xp_buf_puts(&l, "{\"key\":");
    int rc = xp_json_put_str(&l, key, strlen(key), "item key");
    if (!rc && manifest) {
        xp_buf_puts(&l, ",\"manifest\":");
        xp_buf_puts(&l, manifest); /* already JSON */
    }
    xp_buf_puts(&l, "}\n");
    for (size_t off = 0; !rc && off < l.len;) {
        ssize_t n = write(s->items_fd, l.ptr + off, l.len - off);
        if (n < 0 && errno != EINTR)
            rc = xp_error_set_os(XP_EIO, "cannot write '%s/%s'", s->stage.dir, ITEMS_FILE);
        else if (n > 0)
            off += (size_t)n;
    }
    if (!rc && fsync(s->items_fd) != 0)
        rc = xp_error_set_os(XP_EIO, "cannot fsync '%s/%s'", s->stage.dir, ITEMS_FILE);
    if (!rc)
        json_object_object_add(s->items, key, NULL);
    xp_buf_release(&l);
    return rc;
}

/* Remove temp files an interrupted attempt left in staging. */
void lw_remove_temps(const char *dir)
{
    char **names;
    size_t n;
    if (xp_list_dir(&names, &n, dir)) {
        xp_error_clear();
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *p = xp_path_join(dir, names[i]);
        if (strstr(names[i], ".xport-tmp-"))
            unlink(p);
        else if (xp_is_dir(p))
            lw_remove_temps(p);
        free(p);
    }
    xp_strv_free(names);
}

/* Resume: load the keys of complete items, and cut a torn last line so
 * appends continue on a line boundary. */
int lw_load_items(struct layout_sink *s)
{
    char *p = xp_path_join(s->stage.dir, ITEMS_FILE);
    struct xp_buf b = XP_BUF_INIT;
    int rc = xp_read_file(&b, p, (size_t)1 << 30);
    if (rc == XP_ENOTFOUND) {
        xp_error_clear();
        rc = 0;
    }
    size_t good = 0;
    for (char *line = b.ptr; !rc && *line;) {
        char *nl = strchr(line, '\n');
        if (!nl)
            break;
        struct json_object *o = NULL;
        if (xp_json_parse(&o, line, (size_t)(nl - line), "items log") == 0 &&
            xp_json_str(o, "key"))
            json_object_object_add(s->items, xp_json_str(o, "key"), NULL);
        else
            xp_error_clear();
        json_object_put(o);
        line = nl + 1;
        good = (size_t)(line - b.ptr);
    }
    if (!rc && good < b.len && truncate(p, (off_t)good) != 0)
        rc = xp_error_set_os(XP_EIO, "cannot repair '%s'", p);
    xp_buf_release(&b);
    free(p);
    return rc;
}

/* files.jsonl from the items log, in the order the files completed. */
int lw_write_manifest(struct layout_sink *s)
{
    char *p = xp_path_join(s->stage.dir, ITEMS_FILE);
    FILE *in = fopen(p, "rb");
    free(p);
    if (!in)
        return 0;
    struct xp_afile out;
    int rc = 0, any = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    struct xp_buf b = XP_BUF_INIT;
    while ((n = getline(&line, &cap, in)) > 0) {
        struct json_object *o = NULL, *m;
        if (xp_json_parse(&o, line, (size_t)n, "items log")) {
            xp_error_clear();
            continue;
        }
        if (json_object_object_get_ex(o, "manifest", &m)) {
            if (!any) {
                char *mf = xp_path_join(s->stage.dir, "files.jsonl");
                rc = xp_afile_open(&out, mf);
                free(mf);
                if (rc) {
                    json_object_put(o);
                    break;
                }
                any = 1;
            }
            rc = xp_json_put_obj(&b, m, 0);
            xp_buf_putc(&b, '\n');
            xp_afile_buf(&out, &b);
        }
        json_object_put(o);
        if (rc)
            break;
    }
    free(line);
    fclose(in);
    xp_buf_release(&b);
    if (any)
        rc = rc ? (xp_afile_abort(&out), rc) : xp_afile_commit(&out);
    return rc;
}
