/* Internal to core/typemark.c and core/typemark_cols.c: one value's code
 * (include/xport/typemark.h), the value as the store gets it, and back. */
#ifndef XPORT_TYPEMARK_INT_H
#define XPORT_TYPEMARK_INT_H

#include "xport/buf.h"
#include "xport/record.h"

struct json_object;

/* The code a value needs, 0 for none, -1 for a nested value that is not
 * JSON; *tree gets the parsed nested value when the code is 'j' (the
 * caller puts it). */
int xp_tm_classify(const struct xp_value *v, struct json_object **tree);
/* The value as the store gets it under code (0: as it is). */
int xp_tm_put_value(struct xp_buf *b, const struct xp_value *v, int code,
                    struct json_object *tree, const char *key);
/* The value a field had before the store changed it under code, or -1
 * when in cannot have come from code (out is then undefined). Strings stay
 * in in's buffer. */
int xp_tm_restore(const struct xp_value *in, int code, struct xp_value *out);

#endif
