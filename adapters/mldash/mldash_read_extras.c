/* What the ml-dash writer kept in metadata (mldash.h), taken back out on
 * reading: its extras, the value types it kept apart, and old-form marks. */
#define _GNU_SOURCE
#include <json-c/json.h>

#include "mldash_read.h"
#include "xport/error.h"
#include "xport/json.h"
#include "xport/typemark.h"

/* Take the writer's extras (mldash.h) out of the metadata *md: they move
 * under key into keep (or NULL), which must outlive any string read from
 * them, and *md becomes NULL when the source had no metadata. */
void mld_take_extras(struct json_object **md, const char *key, struct json_object *keep)
{
    struct json_object *x = xp_json_get(*md, key);
    int nometa = json_object_get_boolean(xp_json_get(x, "nometa"));
    if (keep)
        json_object_object_add(keep, key, json_object_get(x));
    json_object_object_del(*md, key);
    if (nometa && json_object_object_length(*md) == 0)
        *md = NULL;
}

/* Values the writer marked because the server reads JSON as JavaScript
 * does (xport/typemark.h) get their types back; a marker that does not fit
 * leaves the value as the server holds it, with a warning. */
struct json_object *mld_unmark(struct mld_reader *r, struct json_object *o, const char *what)
{
    if (o && xp_typemark_tree_decode(o)) {
        xp_ctx_warn(r->m->base.ctx, "%s of '%s': %s; kept as the server holds it", what,
                    r->name ? r->name : "?", xp_error_last()->message);
        xp_error_clear();
    }
    return o;
}

/* The types kept apart (MLD_TYPES_KEY) out of the metadata *md, and the
 * metadata's own marks applied; the types move into keep, which must
 * outlive them. NULL when *md has none (the first form, or nothing
 * needed marks). *nometa: the source had no metadata. */
struct json_object *mld_take_types(struct mld_reader *r, struct json_object **md,
                                   struct json_object *keep, const char *what,
                                   int *nometa)
{
    struct json_object *t = xp_json_get(*md, MLD_TYPES_KEY);
    *nometa = 0;
    if (!t || !json_object_is_type(t, json_type_object))
        return NULL;
    json_object_object_add(keep, MLD_TYPES_KEY, json_object_get(t));
    json_object_object_del(*md, MLD_TYPES_KEY);
    struct json_object *own = xp_json_get(t, "own");
    if (own)
        json_object_object_add(*md, MLD_TYPES_KEY, json_object_get(own));
    if (xp_typemark_tree_apply(*md, xp_json_get(t, "metadata"))) {
        xp_ctx_warn(r->m->base.ctx, "%s of '%s': %s; kept as the server holds it", what,
                    r->name ? r->name : "?", xp_error_last()->message);
        xp_error_clear();
    }
    *nometa = json_object_get_boolean(xp_json_get(t, "nometa"));
    return t;
}
