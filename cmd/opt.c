/* Table-driven option parsing (cmd/opt.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "xport/buf.h"

static const struct opt *find_long(const struct opt *o, const char *name, size_t n)
{
    for (; o->type != OPT_END; o++)
        if (o->longname && strlen(o->longname) == n && !strncmp(o->longname, name, n))
            return o;
    return NULL;
}

static const struct opt *find_short(const struct opt *o, char c)
{
    for (; o->type != OPT_END; o++)
        if (o->shortname == c)
            return o;
    return NULL;
}

static int usage_error(const struct cmd_usage *u, const char *fmt, const char *arg)
{
    fprintf(stderr, "error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nusage: %s %s\n(see '%s --help')\n", u->name, u->synopsis,
            u->name);
    return -1;
}

static int set_value(const struct opt *o, const struct cmd_usage *u,
                     char *val)
{
    switch (o->type) {
    case OPT_STRING: *(const char **)o->value = val; return 0;
    case OPT_SECRET: {
        char **dst = o->value;
        free(*dst);
        *dst = xp_strdup(val);
        memset(val, '*', strlen(val)); /* keep it out of ps */
        return 0;
    }
    case OPT_INT: {
        char *end;
        errno = 0;
        long v = strtol(val, &end, 10);
        if (*end || end == val || errno || v < 0 || v > 1000000)
            return usage_error(u, "option needs a whole number, not '%s'", val);
        *(int *)o->value = (int)v;
        return 0;
    }
    case OPT_LIST: {
        struct opt_list *l = o->value;
        if (l->n >= sizeof(l->v) / sizeof(l->v[0]))
            return usage_error(u, "too many '%s' options", o->longname);
        l->v[l->n++] = val;
        return 0;
    }
    default: return -1;
    }
}

int opt_parse(const struct opt *opts, const struct cmd_usage *u, int argc,
              char **argv, const char **pos, size_t maxpos, size_t *npos)
{
    *npos = 0;
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || !a[1]) {
            if (*npos >= maxpos)
                return usage_error(u, "unexpected argument '%s'", a);
            pos[(*npos)++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            opt_help(opts, u, stdout);
            return 1;
        }
        const struct opt *o;
        char *val = NULL;
        if (a[1] == '-') {
            char *eq = strchr(a + 2, '=');
            size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            o = find_long(opts, a + 2, n);
            if (!o)
                return usage_error(u, "unknown option '%s'", a);
            if (eq)
                val = eq + 1;
        } else {
            o = find_short(opts, a[1]);
            if (!o)
                return usage_error(u, "unknown option '%s'", a);
            if (a[2])
                val = a + 2;
        }
        if (o->type == OPT_BOOL) {
            if (val)
                return usage_error(u, "option '%s' takes no value", a);
            *(int *)o->value = 1;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc)
                return usage_error(u, "option '%s' needs a value", a);
            val = argv[++i];
        }
        if (set_value(o, u, val))
            return -1;
    }
    return 0;
}

void opt_help(const struct opt *opts, const struct cmd_usage *u, FILE *f)
{
    fprintf(f, "usage: %s %s\n\n%s\n\noptions:\n", u->name, u->synopsis, u->summary);
    for (const struct opt *o = opts; o->type != OPT_END; o++) {
        struct xp_buf b = XP_BUF_INIT;
        if (o->shortname)
            xp_buf_printf(&b, "-%c, ", o->shortname);
        else
            xp_buf_puts(&b, "    ");
        xp_buf_printf(&b, "--%s", o->longname);
        if (o->argname)
            xp_buf_printf(&b, " %s", o->argname);
        fprintf(f, "  %-32s %s\n", b.ptr, o->help);
        xp_buf_release(&b);
    }
    fprintf(f, "  %-32s %s\n", "-h, --help", "show this help");
}
