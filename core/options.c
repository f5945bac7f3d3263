/* Adapter options checked against the keys each adapter declares
 * (struct xp_option_decl), and the location an adapter names from its
 * options when a command gives no source. */
#include <stdlib.h>
#include <string.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/location.h"
#include "xport/numparse.h"
#include "xport/sys/adapter.h"

const struct xp_option_decl *xp_option_find(const struct xp_adapter_type *t,
                                            const char *key)
{
    for (const struct xp_option_decl *d = t ? t->options : NULL; d && d->key; d++)
        if (!strcmp(d->key, key))
            return d;
    return NULL;
}

static int is_bool(const char *v)
{
    static const char *const words[] = {"1", "0", "true", "false", "yes", "no", "on", "off"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (!strcmp(v, words[i]))
            return 1;
    return 0;
}

int xp_option_check(const struct xp_adapter_type *t, const struct xp_option_decl *d,
                    const char *value)
{
    switch (d->kind) {
    case XP_OPT_STRING: return 0;
    case XP_OPT_INT: {
        int64_t v;
        if (!xp_parse_range(value, d->min, d->max, &v))
            return 0;
        return xp_error_set(XP_EINVALID, "option '%s' of adapter '%s' needs a whole "
                            "number from %ld to %ld, not '%s'", d->key, t->name,
                            d->min, d->max, value);
    }
    case XP_OPT_BOOL:
        if (is_bool(value))
            return 0;
        return xp_error_set(XP_EINVALID, "option '%s' of adapter '%s' needs 1, 0, true, "
                            "false, yes, no, on or off, not '%s'", d->key, t->name, value);
    case XP_OPT_CHOICE: {
        struct xp_buf b = XP_BUF_INIT;
        for (const char *const *c = d->choices; c && *c; c++) {
            if (!strcmp(*c, value)) {
                xp_buf_release(&b);
                return 0;
            }
            xp_buf_printf(&b, "%s%s", b.len ? ", " : "", *c);
        }
        int rc = xp_error_set(XP_EINVALID, "option '%s' of adapter '%s' needs one of %s, "
                              "not '%s'", d->key, t->name, b.len ? b.ptr : "(none)", value);
        xp_buf_release(&b);
        return rc;
    }
    }
    return xp_error_set(XP_EINVALID, "option '%s' of adapter '%s' has no valid type",
                        d->key, t->name);
}

int xp_option_int(const struct xp_adapter_type *t, const struct xp_options *o,
                  const char *key, long def, long *out)
{
    const struct xp_option_decl *d = xp_option_find(t, key);
    if (!d || d->kind != XP_OPT_INT)
        return xp_error_set(XP_EINVALID, "adapter '%s' declares no whole-number "
                            "option '%s'", t ? t->name : "?", key);
    const char *v = xp_options_get(o, key);
    int64_t x = def;
    if (v) {
        int rc = xp_option_check(t, d, v);
        if (rc)
            return rc;
        xp_parse_i64(v, &x);
    }
    *out = (long)x;
    return 0;
}

int xp_location_default(struct xp_location *loc, const struct xp_adapter_type *t,
                        const struct xp_options *opts)
{
    memset(loc, 0, sizeof(*loc));
    if (!t->default_source)
        return xp_error_set(XP_EINVALID, "adapter '%s' needs a source", t->name);
    loc->adapter = xp_strdup(t->name);
    for (const struct xp_option_decl *d = t->options; d && d->key; d++) {
        const char *v = (d->flags & XP_OPT_NAMES_SOURCE) ? xp_options_get(opts, d->key)
                                                        : NULL;
        if (v && *v) {
            loc->workspace = xp_strdup(v);
            break;
        }
    }
    return 0;
}
