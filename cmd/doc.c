/* The hidden `xport --dump-man [CMD]` and `xport --dump-completion
 * bash|zsh`: each command is run as `CMD --help` in a doc mode, so the
 * pages and completions come from the option tables that print --help
 * (as git's and curl's do); the build writes them (cmake/gen_docs.cmake). */
#include <stdio.h>
#include <string.h>

#include "doc.h"
#include "xport/error.h"

struct opt_doc opt_doc;

void opt_doc_print(const struct opt *opts, const struct cmd_usage *u, FILE *f)
{
    switch (opt_doc.kind) {
    case OPT_DOC_MAN: doc_man_command(opts, u, f); break;
    case OPT_DOC_BASH: doc_bash_command(opts, u, f); break;
    case OPT_DOC_ZSH: doc_zsh_command(opts, u, f); break;
    case OPT_DOC_HELP: opt_help(opts, u, f); break;
    }
    opt_doc.done = 1;
}

int doc_run(const struct xp_cmd *c, enum opt_doc_kind kind)
{
    char name[64], help[] = "--help";
    snprintf(name, sizeof(name), "%s", c->name);
    char *argv[] = {name, help, NULL};
    opt_doc.kind = kind;
    opt_doc.name = c->name;
    opt_doc.summary = c->summary;
    opt_doc.done = 0;
    int code = c->fn(2, argv);
    opt_doc.kind = OPT_DOC_HELP;
    if (code || !opt_doc.done) {
        fprintf(stderr, "error: command '%s' printed no option table\n", c->name);
        return -1;
    }
    return 0;
}

enum doc_value doc_value_of(const struct opt *o)
{
    static const struct { const char *argname; enum doc_value v; } kinds[] = {
        {"VENDOR", DOC_V_ADAPTER}, {"RESOURCE", DOC_V_RESOURCE},
        {"[ADAPTER:]KEY=VALUE", DOC_V_OPTKEY}, {"DIR", DOC_V_DIR},
        {"FILE", DOC_V_FILE}, {"PATH", DOC_V_FILE}};
    for (size_t i = 0; o->argname && i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (!strcmp(o->argname, kinds[i].argname))
            return kinds[i].v;
    return DOC_V_TEXT;
}

static int doc_usage(void)
{
    fprintf(stderr, "usage: xport --dump-man [COMMAND] | --dump-completion bash|zsh\n");
    return XP_EXIT_USAGE;
}

int doc_main(int argc, char **argv, const struct xp_cmd *cmds, const struct cmd_exit *exits)
{
    if (!strcmp(argv[1], "--dump-man") && argc <= 3) {
        if (argc == 2) {
            doc_man_main(stdout, cmds, exits);
            return fflush(stdout) ? XP_EXIT_ERROR : 0;
        }
        for (const struct xp_cmd *c = cmds; c->name; c++)
            if (!strcmp(c->name, argv[2]))
                return doc_run(c, OPT_DOC_MAN) || fflush(stdout) ? XP_EXIT_ERROR : 0;
        fprintf(stderr, "error: unknown command '%s'\n", argv[2]);
        return XP_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--dump-completion") && argc == 3) {
        if (strcmp(argv[2], "bash") && strcmp(argv[2], "zsh")) {
            fprintf(stderr, "error: no completion for shell '%s' (bash, zsh)\n", argv[2]);
            return XP_EXIT_USAGE;
        }
        return doc_completion(stdout, cmds, argv[2]) || fflush(stdout) ? XP_EXIT_ERROR : 0;
    }
    fprintf(stderr, "error: unknown option '%s'\n", argv[1]);
    return doc_usage();
}
