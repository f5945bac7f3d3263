/* One option table per command drives parsing and --help (git
 * parse-options, libgit2's cli/opt). Values are written through the
 * table's pointers; strings point into argv (secrets are copied, then
 * blanked in argv so they do not show in ps).
 *
 * What the parser accepts, as git does:
 *   --name VALUE, --name=VALUE, -x VALUE, -xVALUE
 *   --no-name for every boolean (and --name for a boolean called no-name)
 *   bundled short options: -nq, -qj4, -qo DIR (a value option ends the bundle)
 *   -- ends the options; -h and --help print the help
 * Every error names the option it is about and is a usage error. */
#ifndef XPORT_CMD_OPT_H
#define XPORT_CMD_OPT_H

#include <stddef.h>
#include <stdio.h>

enum opt_type {
    OPT_BOOL = 1, /* int *: 1, or 0 with --no-NAME */
    OPT_STRING,   /* const char ** */
    OPT_SECRET,   /* char ** (heap copy), argv blanked */
    OPT_INT,      /* int *: a whole number from 0 to 1000000 */
    OPT_LIST,     /* struct opt_list *: repeatable */
    OPT_GROUP,    /* not an option: a heading in --help (help is its title) */
    OPT_END
};

struct opt_list {
    const char *v[64];
    size_t n;
};

struct opt {
    enum opt_type type;
    char shortname;       /* 0 for none */
    const char *longname;
    void *value;
    const char *argname;  /* "DIR", NULL for booleans */
    const char *help;
};

#define OPT_END_MARK {OPT_END, 0, NULL, NULL, NULL, NULL}
/* Options after this entry are listed under title in --help. */
#define OPT_GROUP_MARK(title) {OPT_GROUP, 0, NULL, NULL, NULL, title}

struct cmd_usage {
    const char *name;     /* "xport download" */
    const char *synopsis; /* "--from VENDOR SOURCE [RESOURCE...] -o DIR" */
    const char *summary;
    /* Optional: more text after the options (generated parts of a help). */
    void (*epilog)(FILE *f);
};

/* Parse argv[1..]; positional arguments are returned in pos (at most
 * maxpos). Returns 0, 1 when --help was printed, or -1 after printing a
 * usage error to stderr. */
int opt_parse(const struct opt *opts, const struct cmd_usage *u, int argc,
              char **argv, const char **pos, size_t maxpos, size_t *npos);
void opt_help(const struct opt *opts, const struct cmd_usage *u, FILE *f);
/* "-n, --[no-]dry-run" of o (its names as the help shows them) into b. */
struct xp_buf;
void opt_names(struct xp_buf *b, const struct opt *o);

/* What opt_parse does with --help: print the help, or, when print is set
 * (xport's hidden --dump-man and --dump-completion, cmd/doc.c), hand the
 * table to it, so that man pages and completions come from the tables that
 * print the help and cannot drift from it. */
struct opt_doc {
    void (*print)(const struct opt *opts, const struct cmd_usage *u, FILE *f);
    const char *name, *summary; /* the command's entry in main.c's table */
    int done;                   /* set once print was given a table */
};
extern struct opt_doc opt_doc;
/* A usage error about an option's value, in the parser's words:
 * "error: option '--NAME' MSG" and the usage line (when u is not NULL).
 * Returns -1. */
int opt_error(const struct cmd_usage *u, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Print text wrapped to width columns, lines after the first (and the
 * first, when col is past indent) starting at column indent. */
void opt_wrap(FILE *f, const char *text, size_t col, size_t indent, size_t width);

#endif
