/* Calls into adapters, readers and sinks through one checked door each (libgit2's
 * git_odb_* over its backends): a missing method is one message and one code,
 * never a call through a NULL pointer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/sys/adapter.h"

/* What the engine keeps per sink, out of the adapter's sight. */
struct xp_sink_core {
    int64_t dropped;
    char dropped_first[256];
};

static int cannot(const struct xp_adapter *a, const char *what)
{
    return xp_error_set(XP_ENOTSUP, "adapter '%s' cannot %s", a->type->name, what);
}

int xp_adapter_list(struct xp_adapter *a, xp_experiment_cb cb, void *payload)
{
    if (!a->type->list_experiments)
        return cannot(a, "list experiments");
    return a->type->list_experiments(a, cb, payload);
}

int xp_adapter_read(struct xp_reader **out, struct xp_adapter *a,
                    const struct xp_experiment_ref *ref, const struct xp_read_opts *ro)
{
    *out = NULL;
    if (!a->type->read_experiment || !(a->type->caps & XP_CAP_READ))
        return cannot(a, "read experiments");
    int rc = a->type->read_experiment(out, a, ref, ro);
    if (!rc && (!*out || (*out)->version < 1 || (*out)->version > XP_READER_VERSION))
        rc = xp_error_set(XP_EINVALID, "adapter '%s' returned a reader of version %u "
                          "(this xport knows 1 to %u)", a->type->name,
                          *out ? (*out)->version : 0, XP_READER_VERSION);
    if (rc && *out) { /* the contract says NULL on failure; do not leak if not */
        xp_reader_free(*out);
        *out = NULL;
    }
    return rc;
}

int xp_adapter_write(struct xp_sink **out, struct xp_adapter *a,
                     const struct xp_experiment_meta *meta, const struct xp_write_opts *wo)
{
    *out = NULL;
    if (!a->type->write_experiment || !(a->type->caps & XP_CAP_WRITE))
        return cannot(a, "write experiments");
    int rc = a->type->write_experiment(out, a, meta, wo);
    if (!rc && (!*out || (*out)->version < 1 || (*out)->version > XP_SINK_VERSION))
        rc = xp_error_set(XP_EINVALID, "adapter '%s' returned a sink of version %u "
                          "(this xport knows 1 to %u)", a->type->name,
                          *out ? (*out)->version : 0, XP_SINK_VERSION);
    if (rc && *out) {
        xp_sink_free(*out);
        *out = NULL;
    }
    return rc;
}

int xp_adapter_delete(struct xp_adapter *a, const struct xp_experiment_ref *ref)
{
    if (!a->type->delete_experiment)
        return cannot(a, "delete experiments");
    return a->type->delete_experiment(a, ref);
}

int xp_adapter_has_state(const struct xp_adapter_type *t)
{
    return t->state_get && t->state_put && t->state_list;
}

static int state_name(const struct xp_adapter *a, const char *name)
{
    if (!xp_adapter_has_state(a->type))
        return cannot(a, "keep state at its destination");
    if (!name || !xp_segment_safe(name))
        return xp_error_set(XP_EINVALID, "'%s' is not a name of state at a destination",
                            name ? name : "(null)");
    return 0;
}

int xp_adapter_state_get(struct xp_adapter *a, const char *name, const char *local_path)
{
    int rc = state_name(a, name);
    return rc ? rc : a->type->state_get(a, name, local_path);
}

int xp_adapter_state_put(struct xp_adapter *a, const char *name, const char *local_path)
{
    int rc = state_name(a, name);
    return rc ? rc : a->type->state_put(a, name, local_path);
}

int xp_adapter_state_list(struct xp_adapter *a, xp_state_cb cb, void *payload)
{
    if (!xp_adapter_has_state(a->type))
        return cannot(a, "keep state at its destination");
    return a->type->state_list(a, cb, payload);
}

int xp_adapter_can(const struct xp_adapter_type *t, unsigned what)
{
    switch (what) {
    case XP_CAP_READ: return (t->caps & XP_CAP_READ) && t->read_experiment;
    case XP_CAP_WRITE: return (t->caps & XP_CAP_WRITE) && t->write_experiment;
    case XP_CAP_LIST_PROJECTS: return t->list_experiments != NULL;
    default: return (t->caps & what) == what;
    }
}

int xp_reader_next(struct xp_reader *r, const struct xp_record **out)
{
    return r->next(r, out);
}

void xp_reader_free(struct xp_reader *r)
{
    if (r)
        r->free(r);
}

int xp_sink_put(struct xp_sink *s, const struct xp_record *rec)
{
    return s->put(s, rec);
}

int xp_sink_finish(struct xp_sink *s, int commit)
{
    return s->finish(s, commit);
}

void xp_sink_free(struct xp_sink *s)
{
    if (!s)
        return;
    struct xp_sink_core *c = s->core;
    s->free(s);
    free(c);
}

/* A sink skips an item its destination cannot hold: count it and warn
 * about the first few, so that the run ends non-zero and says what. */
void xp_sink_drop(struct xp_sink *s, const struct xp_ctx *ctx, const char *fmt, ...)
{
    if (!s->core)
        s->core = xp_calloc(1, sizeof(*s->core));
    struct xp_sink_core *c = s->core;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!c->dropped)
        snprintf(c->dropped_first, sizeof(c->dropped_first), "%s", msg);
    if (c->dropped < 3)
        xp_ctx_warn(ctx, "%s", msg);
    else if (c->dropped == 3)
        xp_ctx_warn(ctx, "more items could not be carried; the summary counts them");
    c->dropped++;
}

int64_t xp_sink_dropped(const struct xp_sink *s, const char **first)
{
    if (first)
        *first = s && s->core ? s->core->dropped_first : "";
    return s && s->core ? s->core->dropped : 0;
}

int xp_sink_has_item(struct xp_sink *s, const char *key)
{
    return s && s->has_item && s->has_item(s, key) > 0;
}

const char *xp_sink_dest_id(struct xp_sink *s)
{
    return s && s->dest_id ? s->dest_id(s) : NULL;
}
