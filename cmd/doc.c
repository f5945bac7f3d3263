/* Running a command as `CMD --help` with its option table handed to a
 * printer (opt_doc) instead of the help: how the man pages and completions
 * come from the tables that print --help. */
#include <stdio.h>

#include "doc.h"

int doc_run(const struct xp_cmd *c, doc_print_fn print)
{
    char name[64], help[] = "--help";
    snprintf(name, sizeof(name), "%s", c->name);
    char *argv[] = {name, help, NULL};
    opt_doc.print = print;
    opt_doc.name = c->name;
    opt_doc.summary = c->summary;
    opt_doc.done = 0;
    int code = c->fn(2, argv);
    opt_doc.print = NULL;
    if (code || !opt_doc.done) {
        fprintf(stderr, "error: command '%s' printed no option table\n", c->name);
        return -1;
    }
    return 0;
}
