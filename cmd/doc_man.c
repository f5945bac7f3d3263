/* Man pages (roff, man(7) macros) from the option tables, the command
 * table and the adapter table: xport(1) and one xport-CMD(1) per command. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "xport/buf.h"

#define MANUAL "xport manual"

/* Text as roff: backslashes and hyphens escaped (an option stays
 * copyable), a leading '.' or '\'' kept from being read as a request,
 * other than ASCII as \[uXXXX]. A newline in s starts a new output line. */
static void roff(FILE *f, const char *s)
{
    int bol = 1;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        if (bol && (c == '.' || c == '\''))
            fputs("\\&", f);
        bol = 0;
        if (c == '\\') {
            fputs("\\e", f);
        } else if (c == '-') {
            fputs("\\-", f);
        } else if (c == '\n') {
            fputc('\n', f);
            bol = 1;
        } else if (c < 0x80) {
            fputc((int)c, f);
        } else {
            /* one UTF-8 sequence; anything malformed prints as '?' */
            int n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : -1;
            unsigned cp = n == 3 ? c & 7 : n == 2 ? c & 15 : c & 31;
            int k = 1;
            for (; k <= n && (p[k] & 0xc0) == 0x80; k++)
                cp = cp << 6 | (p[k] & 63);
            if (n < 0 || k <= n) {
                fputc('?', f);
                p++;
                continue;
            }
            fprintf(f, "\\[u%04X]", cp);
            p += n;
        }
        p++;
    }
}

static void roff_line(FILE *f, const char *s)
{
    roff(f, s);
    fputc('\n', f);
}

/* ".TH NAME 1 ..." for "xport-copy" */
static void title(FILE *f, const char *name)
{
    fputs(".TH \"", f);
    for (const char *p = name; *p; p++) {
        if (*p == '-')
            fputs("\\-", f);
        else
            fputc(toupper((unsigned char)*p), f);
    }
    fprintf(f, "\" 1 \"\" \"xport %s\" \"%s\"\n.nh\n.ad l\n", XPORT_VERSION, MANUAL);
}

/* The help's left column as roff: "\fB\-n\fR, \fB\-\-[no\-]dry\-run\fR \fIN\fR" */
static void option_term(FILE *f, const struct opt *o)
{
    struct xp_buf b = XP_BUF_INIT;
    opt_names(&b, o);
    fputs(".TP\n", f);
    /* bold every name, keep ", " between them plain */
    const char *p = b.ptr;
    while (p && *p) {
        const char *e = strstr(p, ", ");
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char *part = xp_strndup(p, n);
        fputs("\\fB", f);
        roff(f, part);
        fputs("\\fR", f);
        free(part);
        if (!e)
            break;
        fputs(", ", f);
        p = e + 2;
    }
    if (o->argname) {
        fputs(" \\fI", f);
        roff(f, o->argname);
        fputs("\\fR", f);
    }
    fputc('\n', f);
    xp_buf_release(&b);
}

/* A command's epilog (text its --help prints after the options), kept as
 * it is laid out. */
static void epilog(FILE *f, const struct cmd_usage *u)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m)
        return;
    u->epilog(m);
    if (fclose(m)) {
        free(text);
        return;
    }
    /* prose flows; indented lines (a table) keep their layout */
    fputs(".PP\n", f);
    int nf = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        if ((line[0] == ' ') != nf) {
            nf = !nf;
            fputs(nf ? ".nf\n" : ".fi\n", f);
        }
        roff_line(f, line);
    }
    if (nf)
        fputs(".fi\n", f);
    free(text);
}

void doc_man_command(const struct opt *opts, const struct cmd_usage *u, FILE *f)
{
    struct xp_buf page = XP_BUF_INIT;
    xp_buf_printf(&page, "xport-%s", opt_doc.name);
    title(f, page.ptr);
    fputs(".SH NAME\n", f);
    roff(f, page.ptr);
    fputs(" \\- ", f);
    roff_line(f, opt_doc.summary);
    fputs(".SH SYNOPSIS\n.B ", f);
    roff_line(f, u->name);
    roff_line(f, u->synopsis);
    fputs(".SH DESCRIPTION\n", f);
    roff_line(f, u->summary);
    if (u->epilog)
        epilog(f, u);
    fputs(".SH OPTIONS\n", f);
    for (const struct opt *o = opts; o->type != OPT_END; o++) {
        if (o->type == OPT_GROUP) {
            fputs(".SS ", f);
            roff_line(f, o->help);
            continue;
        }
        option_term(f, o);
        roff_line(f, o->help);
    }
    if (opts->type != OPT_END)
        fputs(".SS help\n", f);
    const struct opt help = {OPT_STRING, 'h', "help", NULL, NULL, "show this help"};
    option_term(f, &help);
    roff_line(f, help.help);
    fputs(".SH SEE ALSO\n.BR xport (1)\n", f);
    xp_buf_release(&page);
}

/* One adapter of xport(1)'s ADAPTERS: what it is, can do and reads. */
static void man_adapter(FILE *f, const struct xp_adapter_type *t)
{
    fputs(".SS ", f);
    roff_line(f, t->name);
    roff_line(f, t->summary ? t->summary : "");
    if (!t->open)
        return;
    struct xp_buf b = XP_BUF_INIT;
    adapter_caps(&b, t);
    fputs(".PP\nCan: ", f);
    roff_line(f, b.ptr ? b.ptr : "");
    xp_buf_release(&b);
    if (t->default_source) {
        fputs(".PP\nWithout a SOURCE it reads ", f);
        roff_line(f, t->default_source);
    }
    if (!t->options || !t->options->key)
        return;
    fputs(".PP\nOptions it reads:\n", f);
    for (const struct xp_option_decl *d = t->options; d->key; d++) {
        adapter_option_form(&b, d);
        fputs(".TP\n\\fB", f);
        roff(f, b.ptr);
        fputs("\\fR\n", f);
        roff_line(f, d->help ? d->help : "");
        xp_buf_release(&b);
    }
}

void doc_man_main(FILE *f, const struct xp_cmd *cmds, const struct cmd_exit *exits)
{
    title(f, "xport");
    fputs(".SH NAME\n"
          "xport \\- move ML experiment\\-tracking data between vendors without losing "
          "any of it\n"
          ".SH SYNOPSIS\n"
          ".B xport\n"
          ".I command\n"
          "[\\fIoptions\\fR]\n"
          ".br\n"
          ".B xport \\-\\-version\n"
          ".SH DESCRIPTION\n"
          "xport reads experiments (parameters, every metric point bit for bit, logs, files "
          "and metadata) from one location and writes them to another.\n"
          "A location is a path (an xport layout, or an ml\\-dash store to read) or\n"
          ".IR VENDOR : WS [/ PROJECT [/ EXPERIMENT ]];\n"
          "selections take globs and brace ranges.\n"
          "Resources are parameters, metrics, logs, files, others, system and artifacts.\n"
          "Each command has its own page and its own \\fB\\-\\-help\\fR.\n"
          ".SH COMMANDS\n", f);
    for (const struct xp_cmd *c = cmds; c->name; c++) {
        fputs(".TP\n.BR xport\\-", f);
        roff(f, c->name);
        fputs(" (1)\n", f);
        roff_line(f, c->summary);
    }
    fputs(".SH ADAPTERS\n"
          "Each adapter reads its own options, given with the command's flags or with\n"
          ".BI \\-\\-opt \" \" [ADAPTER: ]KEY = VALUE\n"
          "(\\fBxport adapters\\fR \\fINAME\\fR prints them too).\n", f);
    const struct xp_adapter_type *t;
    for (size_t i = 0; (t = xp_adapter_at(i)); i++)
        man_adapter(f, t);
    fputs(".SH ENVIRONMENT\n"
          ".TP\n.B XPORT_PLUGIN_PATH\n"
          "Folders (separated by ':') of out\\-of\\-tree adapters: shared objects exporting\n"
          "\\fBxport_plugin_adapters\\fR, built against the headers in\n"
          ".I include/xport/sys\n"
          "(\\fBpkg\\-config \\-\\-cflags xport\\fR); xport refuses other ABI versions.\n"
          ".TP\n.B XDG_STATE_HOME\n"
          "Where journals of remote destinations (\\fIxport/journals\\fR) and background "
          "jobs (\\fIxport/jobs\\fR) are kept; default \\fI~/.local/state\\fR.\n"
          ".TP\n.B XPORT_NO_READAHEAD\n"
          "Set to 1 to read each experiment on the writing thread.\n"
          ".PP\nAPI keys and servers come from each adapter's own variables (see ADAPTERS).\n"
          ".SH EXIT STATUS\n", f);
    for (const struct cmd_exit *e = exits; e->meaning; e++) {
        fprintf(f, ".TP\n.B %d\n", e->code);
        roff_line(f, e->meaning);
    }
    fputs(".PP\nThe exit codes are explained in \\fIexit\\-codes.md\\fR, installed in "
          "\\fIshare/doc/xport\\fR under xport's prefix.\n"
          ".SH SEE ALSO\n", f);
    for (const struct xp_cmd *c = cmds; c->name; c++) {
        fputs(".BR xport\\-", f);
        roff(f, c->name);
        fputs(c[1].name ? " (1),\n" : " (1)\n", f);
    }
}
