/* The man pages and shell completions xport prints for its build, from
 * the command table, each command's option table and the adapter table
 * (cmd/doc.c runs the commands in a doc mode; cmd/doc_man.c and
 * cmd/doc_completion.c print). */
#ifndef XPORT_CMD_DOC_H
#define XPORT_CMD_DOC_H

#include <stdio.h>

#include "cmd.h"

/* Run command c as `c --help` with opt_doc.kind set to kind, so that its
 * option table goes through opt_doc_print; -1 (after an error message)
 * when it printed no table. */
int doc_run(const struct xp_cmd *c, enum opt_doc_kind kind);

void doc_man_command(const struct opt *opts, const struct cmd_usage *u, FILE *f);
void doc_man_main(FILE *f, const struct xp_cmd *cmds, const struct cmd_exit *exits);
void doc_bash_command(const struct opt *opts, const struct cmd_usage *u, FILE *f);
void doc_zsh_command(const struct opt *opts, const struct cmd_usage *u, FILE *f);
/* The whole completion script for shell ("bash" or "zsh"); -1 after an
 * error message. */
int doc_completion(FILE *f, const struct xp_cmd *cmds, const char *shell);

/* What an option's value is, named by its argname ("DIR", "VENDOR", ...),
 * for completion. */
enum doc_value { DOC_V_TEXT, DOC_V_ADAPTER, DOC_V_RESOURCE, DOC_V_OPTKEY, DOC_V_DIR,
                 DOC_V_FILE };
enum doc_value doc_value_of(const struct opt *o);

#endif
