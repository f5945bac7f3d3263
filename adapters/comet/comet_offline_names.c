/* How xport names a Comet offline archive's experiment: workspace and
 * project from its experiment.json, the name from the last "Name" other
 * in messages.json (or the legacy ws_msg form), else its key. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "comet_int.h"
#include "xport/error.h"
#include "xport/json.h"

/* ---- naming -------------------------------------------------------------- */

void comet_names_release(struct comet_names *n)
{
    free(n->ws);
    free(n->proj);
    free(n->name);
    free(n->key);
}

void comet_offline_name_line(const char *line, size_t n, char **name)
{
    if (!memmem(line, n, "\"Name\"", 6) || !memmem(line, n, "log_other", 9))
        return;
    struct json_object *o = NULL;
    if (!xp_json_parse(&o, line, n, "messages.json")) {
        struct json_object *p = xp_json_get(o, "payload");
        struct json_object *lo = xp_json_get(p, "log_other");
        const char *k = lo ? xp_json_str(lo, "key") : xp_json_str(p, "key");
        struct json_object *v = lo ? xp_json_get(lo, "val") : xp_json_get(p, "value");
        if (k && !strcmp(k, "Name") && v && json_object_is_type(v, json_type_string)) {
            free(*name);
            *name = xp_strdup(json_object_get_string(v));
        }
    }
    xp_error_clear();
    json_object_put(o);
}

char *comet_offline_name_of(const char *msgs, size_t len)
{
    char *name = NULL;
    for (const char *line = msgs; line < msgs + len;) {
        const char *nl = memchr(line, '\n', (size_t)(msgs + len - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(msgs + len - line);
        comet_offline_name_line(line, n, &name);
        line += n + (nl != NULL);
    }
    return name;
}

static char *key_of(const char *zip)
{
    const char *b = strrchr(zip, '/');
    b = b ? b + 1 : zip;
    return xp_strndup(b, strlen(b) - 4);
}

int comet_offline_names(struct comet_names *nm, struct json_object *exp, char *name,
                        const char *zip)
{
    const char *ws = xp_json_str(exp, "workspace"), *pj = xp_json_str(exp, "project_name");
    const char *id = xp_json_str(exp, "offline_id");
    nm->ws = xp_strdup(ws && *ws ? ws : "offline");
    nm->proj = xp_strdup(pj && *pj ? pj : "uncategorized");
    nm->key = id && *id ? xp_strdup(id) : key_of(zip);
    nm->name = name;
    if (!nm->name)
        nm->name = xp_strdup(nm->key);
    return 0;
}
