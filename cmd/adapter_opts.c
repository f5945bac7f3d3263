/* The options a command gives its adapters: the CLI's flags and the
 * `--opt [ADAPTER:]KEY=VALUE` entries, checked against the keys each
 * adapter declares (libarchive's module:option=value and its "Undefined
 * option"), and `xport adapters NAME`, which lists them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "xport/buf.h"
#include "xport/error.h"

/* One --opt entry taken apart. */
struct opt_entry {
    const struct xp_adapter_type *only; /* the ADAPTER: prefix, or NULL */
    char *key;
    const char *value; /* into argv */
};

/* "error: option '--opt': MSG"; returns -1. */
static int bad_opt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_opt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "error: option '--opt': ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return -1;
}

static void entry_release(struct opt_entry *e)
{
    free(e->key);
    e->key = NULL;
}

static int is_one_of(const struct xp_adapter_type *t, const struct xp_adapter_type *const *types,
                     size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (types[i] == t)
            return 1;
    return 0;
}

/* "k1, k2" of t's --opt keys into b, or "none". */
static void opt_keys(struct xp_buf *b, const struct xp_adapter_type *t)
{
    size_t start = b->len;
    for (const struct xp_option_decl *d = t->options; d && d->key; d++)
        if (!(d->flags & XP_OPT_FLAG))
            xp_buf_printf(b, "%s%s", b->len > start ? ", " : "", d->key);
    if (b->len == start)
        xp_buf_puts(b, "none");
}

static int unknown_key(const struct opt_entry *e, const struct xp_adapter_type *const *types,
                       size_t n)
{
    struct xp_buf names = XP_BUF_INIT, keys = XP_BUF_INIT;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if ((e->only && types[i] != e->only) || is_one_of(types[i], types, i))
            continue;
        xp_buf_printf(&names, "%s'%s'", count ? " or " : "", types[i]->name);
        xp_buf_printf(&keys, "%s%s takes ", count ? "; " : "", types[i]->name);
        opt_keys(&keys, types[i]);
        count++;
    }
    bad_opt("'%s' is not an option of adapter%s %s (%s)", e->key, count > 1 ? "s" : "",
            names.ptr, keys.ptr);
    xp_buf_release(&names);
    xp_buf_release(&keys);
    return -1;
}

/* Split "[ADAPTER:]KEY=VALUE" and check it against types. */
static int check_entry(struct opt_entry *e, const char *text,
                       const struct xp_adapter_type *const *types, size_t n)
{
    memset(e, 0, sizeof(*e));
    const char *eq = strchr(text, '=');
    if (!eq || eq == text)
        return opt_error(NULL, "--opt", "needs [ADAPTER:]KEY=VALUE, not '%s'", text);
    const char *key = text;
    const char *colon = memchr(text, ':', (size_t)(eq - text));
    if (colon) {
        char *name = xp_strndup(text, (size_t)(colon - text));
        int rc = xp_adapter_find(&e->only, name);
        free(name);
        if (rc)
            return bad_opt("'%s' names no adapter: %s", text, xp_error_last()->message);
        if (!is_one_of(e->only, types, n))
            return bad_opt("'%s' names adapter '%s', which this command does not use", text,
                           e->only->name);
        key = colon + 1;
    }
    e->key = xp_strndup(key, (size_t)(eq - key));
    e->value = eq + 1;
    int known = 0;
    for (size_t i = 0; i < n; i++) {
        if (e->only && types[i] != e->only)
            continue;
        const struct xp_option_decl *d = xp_option_find(types[i], e->key);
        if (!d)
            continue;
        if (d->flags & XP_OPT_FLAG) {
            return bad_opt("'%s' is not set here: give it with --%s", e->key, e->key);
        }
        known = 1;
        if (xp_option_check(types[i], d, e->value)) {
            return bad_opt("%s", xp_error_last()->message);
        }
    }
    return known ? 0 : unknown_key(e, types, n);
}

static void add(struct adapter_options *o, const char *key, const char *value)
{
    if (o->n < sizeof(o->kv) / sizeof(o->kv[0])) {
        o->kv[o->n].key = xp_strdup(key);
        o->kv[o->n].value = value;
        o->n++;
    }
}

/* A flag given on the command line that none of types reads. */
static void warn_unread(const char *key, const struct xp_adapter_type *const *types, size_t n)
{
    struct xp_buf b = XP_BUF_INIT;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (xp_option_find(types[i], key))
            goto done;
        if (!is_one_of(types[i], types, i))
            xp_buf_printf(&b, "%s'%s'", count++ ? " or " : "", types[i]->name);
    }
    fprintf(stderr, "warning: --%s is not used by adapter%s %s\n", key, count > 1 ? "s" : "",
            b.ptr);
done:
    xp_buf_release(&b);
}

int adapter_options_build(struct adapter_options *out,
                          const struct xp_adapter_type *const *types, size_t ntypes,
                          const struct access_args *a, const struct xp_kv *extra,
                          size_t nextra)
{
    struct opt_entry ent[64];
    size_t nent = 0;
    memset(out, 0, ntypes * sizeof(*out));
    for (size_t i = 0; i < a->opt.n; i++) {
        if (check_entry(&ent[nent], a->opt.v[i], types, ntypes)) {
            entry_release(&ent[nent]);
            for (size_t k = 0; k < nent; k++)
                entry_release(&ent[k]);
            return -1;
        }
        nent++;
    }
    const struct xp_kv flags[] = {{"api-key", a->api_key},
                                  {"remote", a->remote},
                                  {"username", a->username},
                                  {"namespace", a->namespace_},
                                  {"query", a->query}};
    const size_t nflags = sizeof(flags) / sizeof(flags[0]);
    for (size_t f = 0; f < nflags + nextra; f++) {
        const struct xp_kv *kv = f < nflags ? &flags[f] : &extra[f - nflags];
        if (!kv->value)
            continue;
        warn_unread(kv->key, types, ntypes);
        for (size_t i = 0; i < ntypes; i++)
            add(&out[i], kv->key, kv->value);
    }
    for (size_t k = 0; k < nent; k++) {
        for (size_t i = 0; i < ntypes; i++)
            if (!ent[k].only || ent[k].only == types[i])
                add(&out[i], ent[k].key, ent[k].value);
        entry_release(&ent[k]);
    }
    for (size_t i = 0; i < ntypes; i++) {
        out[i].o.v = out[i].kv;
        out[i].o.n = out[i].n;
    }
    return 0;
}

void adapter_options_release(struct adapter_options *out, size_t ntypes)
{
    for (size_t i = 0; i < ntypes; i++) {
        for (size_t k = 0; k < out[i].n; k++)
            free((char *)out[i].kv[k].key);
        out[i].n = 0;
    }
}

int adapter_types(const struct xp_adapter_type **types, const struct xp_location *const *locs,
                  size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = xp_adapter_find(&types[i], locs[i]->adapter);
        if (rc) {
            print_error(rc);
            return -1;
        }
    }
    return 0;
}

void adapter_caps(struct xp_buf *b, const struct xp_adapter_type *t)
{
    static const struct { unsigned bit; const char *what; } caps[] = {
        {XP_CAP_READ, "read"}, {XP_CAP_WRITE, "write"},
        {XP_CAP_LIST_PROJECTS, "list"},
        {XP_CAP_RESUME, "keep finished items of an interrupted write (--resume)"},
        {XP_CAP_NEEDS_TOKEN, "needs an API key"},
        {XP_CAP_NO_NETWORK, "local files only"}};
    size_t start = b->len;
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
        if (xp_adapter_can(t, caps[i].bit))
            xp_buf_printf(b, "%s%s", b->len > start ? ", " : "", caps[i].what);
}

void adapter_option_form(struct xp_buf *b, const struct xp_option_decl *d)
{
    if (d->flags & XP_OPT_FLAG)
        xp_buf_printf(b, "--%s", d->key);
    else
        xp_buf_printf(b, "--opt %s=", d->key);
    switch (d->kind) {
    case XP_OPT_INT: xp_buf_printf(b, "%sN (%ld-%ld)", d->flags & XP_OPT_FLAG ? " " : "",
                                   d->min, d->max); break;
    case XP_OPT_BOOL: if (!(d->flags & XP_OPT_FLAG)) xp_buf_puts(b, "1|0"); break;
    case XP_OPT_CHOICE:
        for (const char *const *c = d->choices; c && *c; c++)
            xp_buf_printf(b, "%s%s", c == d->choices ? "" : "|", *c);
        break;
    case XP_OPT_STRING: xp_buf_puts(b, d->flags & XP_OPT_FLAG ? " TEXT" : "TEXT"); break;
    }
}

void adapter_describe(FILE *f, const struct xp_adapter_type *t)
{
    fprintf(f, "%s: %s\n", t->name, t->summary ? t->summary : "");
    if (t->open) {
        struct xp_buf c = XP_BUF_INIT;
        adapter_caps(&c, t);
        fprintf(f, "\ncan: %s\n", c.ptr ? c.ptr : "");
        xp_buf_release(&c);
    }
    if (t->default_source)
        fprintf(f, "\nwithout a SOURCE it reads %s\n", t->default_source);
    int any = 0;
    for (const struct xp_option_decl *d = t->options; d && d->key; d++) {
        if (!any++)
            fprintf(f, "\noptions it reads:\n");
        struct xp_buf b = XP_BUF_INIT;
        adapter_option_form(&b, d);
        fprintf(f, "  %s", b.ptr);
        size_t col = 2 + b.len;
        if (col + 1 > 36) {
            fputc('\n', f);
            col = 0;
        }
        opt_wrap(f, d->help ? d->help : "", col, 36, 80);
        xp_buf_release(&b);
    }
    if (!any)
        fprintf(f, "\nit reads no options\n");
}
