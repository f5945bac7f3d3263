/* Table-driven option parsing and help (cmd/opt.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "xport/buf.h"
#include "xport/numparse.h"

#define HELP_WIDTH 80
#define HELP_COL 32 /* where an option's help text starts */

struct opt_doc opt_doc;

static int is_option(const struct opt *o)
{
    return o->type != OPT_GROUP;
}

static const struct opt *find_long(const struct opt *o, const char *name, size_t n)
{
    for (; o->type != OPT_END; o++)
        if (is_option(o) && o->longname && strlen(o->longname) == n &&
            !strncmp(o->longname, name, n))
            return o;
    return NULL;
}

static const struct opt *find_short(const struct opt *o, char c)
{
    for (; o->type != OPT_END; o++)
        if (is_option(o) && o->shortname == c)
            return o;
    return NULL;
}

static void usage_line(const struct cmd_usage *u)
{
    fprintf(stderr, "usage: %s %s\n(see '%s --help')\n", u->name, u->synopsis, u->name);
}

int opt_error(const struct cmd_usage *u, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "error: option '%s' ", name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (u)
        usage_line(u);
    return -1;
}

static int usage_error(const struct cmd_usage *u, const char *fmt, const char *arg)
{
    fprintf(stderr, "error: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    usage_line(u);
    return -1;
}

/* "--jobs" (or "-j" for an option with no long name) into out. */
static const char *display_name(const struct opt *o, char out[64])
{
    if (o->longname)
        snprintf(out, 64, "--%s", o->longname);
    else
        snprintf(out, 64, "-%c", o->shortname);
    return out;
}

static int set_value(const struct opt *o, const struct cmd_usage *u, char *val)
{
    char name[64];
    display_name(o, name);
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
        int64_t v;
        if (xp_parse_range(val, 0, 1000000, &v))
            return opt_error(u, name, "needs a whole number from 0 to 1000000, not '%s'",
                             val);
        *(int *)o->value = (int)v;
        return 0;
    }
    case OPT_LIST: {
        struct opt_list *l = o->value;
        if (l->n >= sizeof(l->v) / sizeof(l->v[0]))
            return opt_error(u, name, "is given more than %zu times",
                             sizeof(l->v) / sizeof(l->v[0]));
        l->v[l->n++] = val;
        return 0;
    }
    default: return -1;
    }
}

/* A long option: --name, --name=value, --no-name. *i moves past a value
 * taken from the next argument. */
static int parse_long(const struct opt *opts, const struct cmd_usage *u, int argc,
                      char **argv, int *i)
{
    char *a = argv[*i], *name = a + 2;
    char *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    char *val = eq ? eq + 1 : NULL;
    const struct opt *o = find_long(opts, name, n);
    int negated = 0;
    if (!o && n > 3 && !strncmp(name, "no-", 3)) {
        /* --no-NAME for the boolean NAME */
        o = find_long(opts, name + 3, n - 3);
        negated = 1;
    }
    if (!o) {
        /* --NAME for a boolean called no-NAME */
        struct xp_buf b = XP_BUF_INIT;
        xp_buf_printf(&b, "no-%.*s", (int)n, name);
        o = find_long(opts, b.ptr, b.len);
        xp_buf_release(&b);
        negated = 1;
    }
    if (!o || (negated && o->type != OPT_BOOL)) {
        fprintf(stderr, "error: unknown option '--%.*s'\n", (int)n, name);
        usage_line(u);
        return -1;
    }
    char dn[64];
    if (o->type == OPT_BOOL) {
        if (val) {
            snprintf(dn, sizeof(dn), "--%.*s", (int)n, name);
            return opt_error(u, dn, "takes no value");
        }
        *(int *)o->value = !negated;
        return 0;
    }
    if (!val) {
        if (*i + 1 >= argc)
            return opt_error(u, display_name(o, dn), "needs a value (%s)", o->argname);
        val = argv[++*i];
    }
    return set_value(o, u, val);
}

/* Short options, bundled or not: -n, -nq, -j4, -qj 4. */
static int parse_short(const struct opt *opts, const struct cmd_usage *u, int argc,
                       char **argv, int *i)
{
    char *a = argv[*i];
    for (char *c = a + 1; *c; c++) {
        const struct opt *o = find_short(opts, *c);
        if (!o) {
            char s[3] = {'-', *c, 0};
            return usage_error(u, "unknown option '%s'", s);
        }
        if (o->type == OPT_BOOL) {
            *(int *)o->value = 1;
            continue;
        }
        char *val = c[1] ? c + 1 : NULL;
        if (!val) {
            char dn[64];
            if (*i + 1 >= argc)
                return opt_error(u, display_name(o, dn), "needs a value (%s)", o->argname);
            val = argv[++*i];
        }
        return set_value(o, u, val);
    }
    return 0;
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
            if (opt_doc.print) {
                opt_doc.print(opts, u, stdout);
                opt_doc.done = 1;
            } else {
                opt_help(opts, u, stdout);
            }
            return 1;
        }
        int r = a[1] == '-' ? parse_long(opts, u, argc, argv, &i)
                            : parse_short(opts, u, argc, argv, &i);
        if (r)
            return -1;
    }
    return 0;
}

void opt_wrap(FILE *f, const char *text, size_t col, size_t indent, size_t width)
{
    const char *p = text;
    while (*p) {
        if (col < indent) {
            fprintf(f, "%*s", (int)(indent - col), "");
            col = indent;
        }
        /* the next word and the spaces before it */
        const char *w = p;
        while (*w == ' ')
            w++;
        const char *e = w;
        while (*e && *e != ' ' && *e != '\n')
            e++;
        size_t len = (size_t)(e - w);
        if (col > indent && col + (size_t)(w - p) + len > width) {
            fputc('\n', f);
            col = 0;
            p = w;
            continue;
        }
        if (col > indent)
            fwrite(p, 1, (size_t)(w - p), f);
        fwrite(w, 1, len, f);
        col += (col > indent ? (size_t)(w - p) : 0) + len;
        p = e;
        if (*p == '\n') {
            fputc('\n', f);
            col = 0;
            p++;
        }
    }
    if (col)
        fputc('\n', f);
}

static void help_line(FILE *f, const char *left, const char *help)
{
    fprintf(f, "  %s", left);
    size_t col = 2 + strlen(left);
    if (col + 1 > HELP_COL) {
        fputc('\n', f);
        col = 0;
    }
    opt_wrap(f, help, col, HELP_COL, HELP_WIDTH);
}

void opt_names(struct xp_buf *b, const struct opt *o)
{
    if (o->shortname)
        xp_buf_printf(b, "-%c%s", o->shortname, o->longname ? ", " : "");
    if (o->longname)
        xp_buf_printf(b, "--%s%s",
                      o->type == OPT_BOOL && strncmp(o->longname, "no-", 3) ? "[no-]" : "",
                      o->longname);
}

void opt_help(const struct opt *opts, const struct cmd_usage *u, FILE *f)
{
    fprintf(f, "usage: %s %s\n\n", u->name, u->synopsis);
    opt_wrap(f, u->summary, 0, 0, HELP_WIDTH);
    if (opts->type != OPT_GROUP)
        fprintf(f, "\noptions:\n");
    for (const struct opt *o = opts; o->type != OPT_END; o++) {
        if (o->type == OPT_GROUP) {
            fprintf(f, "\n%s:\n", o->help);
            continue;
        }
        struct xp_buf b = XP_BUF_INIT;
        if (!o->shortname)
            xp_buf_puts(&b, "    ");
        opt_names(&b, o);
        if (o->argname)
            xp_buf_printf(&b, " %s", o->argname);
        help_line(f, b.ptr, o->help);
        xp_buf_release(&b);
    }
    help_line(f, "-h, --help", "show this help");
    if (u->epilog) {
        fputc('\n', f);
        u->epilog(f);
    }
}
