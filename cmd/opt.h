/* One option table per command drives parsing and --help (git
 * parse-options, libgit2's cli/opt). Values are written through the
 * table's pointers; strings point into argv (secrets are copied, then
 * blanked in argv so they do not show in ps). */
#ifndef XPORT_CMD_OPT_H
#define XPORT_CMD_OPT_H

#include <stddef.h>
#include <stdio.h>

enum opt_type {
    OPT_BOOL = 1, /* int *, set to 1 */
    OPT_STRING,   /* const char ** */
    OPT_SECRET,   /* char ** (heap copy), argv blanked */
    OPT_INT,      /* int * */
    OPT_LIST,     /* struct opt_list *: repeatable */
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

struct cmd_usage {
    const char *name;     /* "xport download" */
    const char *synopsis; /* "--from VENDOR SOURCE [RESOURCE...] -o DIR" */
    const char *summary;
};

/* Parse argv[1..]; positional arguments are returned in pos (at most
 * maxpos). Returns 0, 1 when --help was printed, or -1 after printing a
 * usage error to stderr. */
int opt_parse(const struct opt *opts, const struct cmd_usage *u, int argc,
              char **argv, const char **pos, size_t maxpos, size_t *npos);
void opt_help(const struct opt *opts, const struct cmd_usage *u, FILE *f);

#endif
