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
