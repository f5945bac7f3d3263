/* The man pages and shell completions xport prints for its build, from
 * the command table, each command's option table and the adapter table:
 * cmd/doc_main.c reads the hidden --dump-* options, cmd/doc.c runs a
 * command so that its table reaches a printer, cmd/doc_man.c and
 * cmd/doc_completion.c print. */
#ifndef XPORT_CMD_DOC_H
#define XPORT_CMD_DOC_H

#include <stdio.h>

#include "cmd.h"

typedef void (*doc_print_fn)(const struct opt *opts, const struct cmd_usage *u, FILE *f);

/* Run command c as `c --help` with its option table going to print
 * (opt_doc); -1 (after an error message) when it gave print no table. */
int doc_run(const struct xp_cmd *c, doc_print_fn print);

void doc_man_command(const struct opt *opts, const struct cmd_usage *u, FILE *f);
void doc_man_main(FILE *f, const struct xp_cmd *cmds, const struct cmd_exit *exits);
/* The whole completion script for shell ("bash" or "zsh") into f. */
int doc_completion(FILE *f, const struct xp_cmd *cmds, const char *shell);

#endif
