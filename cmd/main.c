/* xport: entry point and command table. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "xport/error.h"
#include "xport/fs.h"

static void on_signal(int sig)
{
    xp_cmd_cancel = sig; /* which one decides the exit code, 130 or 143 */
}

static const struct xp_cmd commands[] = {
    {"download", cmd_download, "turn a vendor's runs into an xport layout"},
    {"copy", cmd_copy, "copy experiments from one location to another"},
    {"upload", cmd_upload, "send a layout (or store) to a vendor"},
    {"list", cmd_list, "list the experiments at a location"},
    {"verify", cmd_verify, "compare two locations point by point"},
    {"status", cmd_status, "sum the journals of the copies into a destination"},
    {"adapters", cmd_adapters, "list the adapters built in"},
    {"jobs", cmd_jobs, "list, show, abort or remove background jobs"},
    {NULL, NULL, NULL},
};

static const struct cmd_exit exit_codes[] = {
    {XP_EXIT_OK, "ok"},
    {XP_EXIT_ERROR, "error"},
    {XP_EXIT_USAGE, "usage"},
    {XP_EXIT_PARTIAL, "partial failure"},
    {XP_EXIT_AUTH, "authentication"},
    {XP_EXIT_INTERRUPTED, "interrupted (SIGINT)"},
    {XP_EXIT_TERMINATED, "terminated (SIGTERM)"},
    {0, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: xport <command> [options]\n\ncommands:\n");
    for (const struct xp_cmd *c = commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f, "\n'xport <command> --help' shows a command's options.\nexit codes:");
    for (const struct cmd_exit *e = exit_codes; e->meaning; e++)
        fprintf(f, "%s %d %s", e == exit_codes ? "" : ",", e->code, e->meaning);
    fputc('\n', f);
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* plugins first: locations name their adapters */
    if (getenv("XPORT_PLUGIN_PATH")) {
        struct xp_ctx ctx;
        cmd_ctx_init(&ctx, 0, 0);
        if (xp_plugins_load(getenv("XPORT_PLUGIN_PATH"), &ctx))
            fprintf(stderr, "warning: %s\n", xp_error_last()->message);
    }
    if (argc < 2) {
        usage(stderr);
        return XP_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("xport %s\n", XPORT_VERSION);
        return 0;
    }
    if (!strncmp(argv[1], "--dump-", 7)) /* for the build: man pages, completion */
        return doc_main(argc, argv, commands, exit_codes);
    xp_tempdir_sweep(); /* what killed runs left in $TMPDIR */
    for (const struct xp_cmd *c = commands; c->name; c++)
        if (!strcmp(c->name, argv[1]))
            return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "error: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return XP_EXIT_USAGE;
}
