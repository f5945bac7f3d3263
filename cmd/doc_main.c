/* The hidden `xport --dump-man [CMD]` and `xport --dump-completion
 * bash|zsh`, which the build runs (cmake/gen_docs.cmake) to write the man
 * pages and completion scripts. */
#include <stdio.h>
#include <string.h>

#include "doc.h"
#include "xport/error.h"

int doc_main(int argc, char **argv, const struct xp_cmd *cmds, const struct cmd_exit *exits)
{
    if (!strcmp(argv[1], "--dump-man") && argc <= 3) {
        if (argc == 2) {
            doc_man_main(stdout, cmds, exits);
            return fflush(stdout) ? XP_EXIT_ERROR : 0;
        }
        for (const struct xp_cmd *c = cmds; c->name; c++)
            if (!strcmp(c->name, argv[2]))
                return doc_run(c, doc_man_command) || fflush(stdout) ? XP_EXIT_ERROR : 0;
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
    fprintf(stderr, "error: unknown option '%s'\n"
                    "usage: xport --dump-man [COMMAND] | --dump-completion bash|zsh\n",
            argv[1]);
    return XP_EXIT_USAGE;
}
