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

/* A line longer than this cannot be a "Name" other worth reading: it is
 * passed over rather than held. */
#define NAME_LINE_MAX ((size_t)1 << 20)

int comet_offline_name_chunk(void *payload, const void *data, size_t len)
{
    struct comet_name_scan *sc = payload;
    const char *p = data, *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (!sc->skipping && sc->line.len + n <= NAME_LINE_MAX)
            xp_buf_put(&sc->line, p, n);
        else
            sc->skipping = 1;
        if (!nl)
            break;
        if (!sc->skipping)
            comet_offline_name_line(sc->line.ptr ? sc->line.ptr : "", sc->line.len, &sc->name);
        xp_buf_reset(&sc->line);
        sc->skipping = 0;
        p = nl + 1;
    }
    return 0;
}

char *comet_offline_name_end(struct comet_name_scan *sc)
{
    if (!sc->skipping && sc->line.len)
        comet_offline_name_line(sc->line.ptr, sc->line.len, &sc->name);
    xp_buf_release(&sc->line);
    char *name = sc->name;
    sc->name = NULL;
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
