/* The command table and what commands share (cmd/main.c, cmd/output.c,
 * cmd/common.c). */
#ifndef XPORT_CMD_H
#define XPORT_CMD_H

#include <pthread.h>
#include <signal.h>

#include "opt.h"
#include "xport/copy.h"
#include "xport/sys/adapter.h"

struct xp_cmd {
    const char *name;
    int (*fn)(int argc, char **argv); /* returns a process exit code */
    const char *summary;
};

int cmd_download(int argc, char **argv);
int cmd_copy(int argc, char **argv);
int cmd_upload(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_adapters(int argc, char **argv);
int cmd_jobs(int argc, char **argv);
int cmd_status(int argc, char **argv);

/* jobs.c: --detach. job_detach forks: the parent prints the job id and
 * gets an exit code (>= 0); the child gets -1 and goes on, its output in
 * the job's folder. job_progress and job_finish record the child's state. */
int job_detach(int argc, char **argv);
void job_progress(const struct xp_copy_stats *st, int final);
void job_finish(int code);

/* common.c. Set to the signal's number by SIGINT/SIGTERM (main.c);
 * adapters see it through xp_ctx.cancel. cmd_interrupted_exit: the exit
 * code of a run that one of them stopped (130 or 143). */
extern volatile sig_atomic_t xp_cmd_cancel;
void cmd_ctx_init(struct xp_ctx *ctx, int verbose, int quiet);
int cmd_interrupted_exit(void);

/* net.c: the run's HTTP engine (ctx->http), from the command line's
 * limits; adapters add their own credentials. Free with xp_http_free. */
struct cmd_http_opts {
    int max_connections; /* 0: default */
    int retries;         /* -1: default */
    int timeout;         /* seconds, 0: none */
    const char *limit_rate, *bytes_per_hour;
    int verbose;
    int low_speed_limit, low_speed_time; /* 0: defaults */
};
int cmd_http_new(struct xp_http **out, const struct cmd_http_opts *o,
                 struct xp_ctx *ctx);

/* How a command reaches a vendor: the options every command that opens a
 * location takes. Strings point into argv; api_key is a heap copy. */
struct access_args {
    char *api_key;
    const char *remote, *username, *namespace_, *query;
    struct opt_list opt; /* --opt [ADAPTER:]KEY=VALUE */
};
#define ACCESS_OPTS(a)                                                          \
    {OPT_SECRET, 0, "api-key", &(a).api_key, "KEY",                             \
     "API key (else the adapter's environment variable or config)"},          \
    {OPT_STRING, 0, "remote", &(a).remote, "URL", "server URL"},                \
    {OPT_STRING, 0, "username", &(a).username, "NAME", "user name"},            \
    {OPT_STRING, 0, "namespace", &(a).namespace_, "NS", "namespace"},          \
    {OPT_STRING, 0, "query", &(a).query, "QUERY",                               \
     "a query the source's server selects runs by (Neptune: NQL)"},            \
    {OPT_LIST, 0, "opt", &(a).opt, "[ADAPTER:]KEY=VALUE",                       \
     "an adapter's own option, for every adapter of the command that takes "  \
     "KEY or for ADAPTER alone ('xport adapters NAME' lists them)"}

/* adapter_opts.c: the options each adapter of a command gets. */
struct adapter_options {
    struct xp_kv kv[80]; /* keys are heap copies */
    size_t n;
    struct xp_options o; /* {kv, n}: for xp_adapter_open */
};
/* Check a's --opt entries against the adapters of the command (types): an
 * ADAPTER: prefix must name one of them, and the key must be one that
 * adapter (else at least one of them) declares for --opt, its value of the
 * declared type. Then fill out[i] for types[i]: a's flags and extra (flags
 * the command passes, values never NULL), then the --opt keys without a
 * prefix and those with types[i]'s. Warns about flags no adapter reads.
 * -1 after printing a usage error. */
int adapter_options_build(struct adapter_options *out,
                          const struct xp_adapter_type *const *types, size_t ntypes,
                          const struct access_args *a, const struct xp_kv *extra,
                          size_t nextra);
void adapter_options_release(struct adapter_options *out, size_t ntypes);
/* The adapter types of locations, for adapter_options_build; -1 after
 * printing an error. */
int adapter_types(const struct xp_adapter_type **types, const struct xp_location *const *locs,
                  size_t n);
/* Print what adapter t reads and takes (xport adapters NAME). */
void adapter_describe(FILE *f, const struct xp_adapter_type *t);
/* What t can do ("read, write, list, ...") and how option d is given
 * ("--opt key=N (1-10)", "--remote TEXT"), appended to b. */
void adapter_caps(struct xp_buf *b, const struct xp_adapter_type *t);
void adapter_option_form(struct xp_buf *b, const struct xp_option_decl *d);

/* journal_remote.c: the journal of a copy into a destination that keeps
 * state (xp_adapter_has_state). journal_remote_fetch (before
 * xp_journal_open; does nothing for other destinations) adopts the
 * destination's copy, kept there as name, into the local one at path; attach starts the
 * pushes: tick (from the progress callback's thread) pushes when one is
 * due, note (from experiment_done) makes one due after a partial or
 * failed experiment; finish pushes the last time (before
 * xp_journal_close) and prints an error when that fails. */
struct xp_journal;
struct journal_remote {
    struct xp_adapter *dst;   /* borrowed; NULL: nothing to do */
    struct xp_journal *j;     /* borrowed, once attached */
    char *name, *path, *snap; /* the state's name, the local copy, a push's snapshot */
    char *stored;             /* PATH.stored: the generation last stored or taken */
    long interval;            /* seconds */
    double last;              /* of the last push (monotonic) */
    double retry_at;          /* after a failed push, not before */
    int64_t pushed_compactions;
    _Atomic int urgent;
};
int journal_remote_fetch(struct journal_remote *r, struct xp_adapter *dst,
                         const char *path, const char *name,
                         const struct xp_options *opts);
void journal_remote_attach(struct journal_remote *r, struct xp_journal *j);
void journal_remote_note(struct journal_remote *r, const struct xp_exp_result *res);
void journal_remote_tick(struct journal_remote *r);
int journal_remote_finish(struct journal_remote *r);
void journal_remote_release(struct journal_remote *r);

/* output.c: progress, summary and failures of a copy */
/* progress.c: what the live progress remembers between redraws */
#define PROGRESS_SAMPLES 64
struct progress_sample {
    double t;
    int64_t points, bytes;
    double fraction; /* of the run, or -1 */
};
struct progress_view {
    struct progress_sample ring[PROGRESS_SAMPLES];
    int head, n;
    int drawn; /* terminal lines the last redraw left */
    double last_plain, last_json;
};

struct copy_report {
    int json, quiet, tty, dumb, dry_run;
    int shard_k, shard_n; /* --shard K/N, or 0 */
    double started;
    const char *verb; /* "copied", "downloaded", ... */
    /* failures, kept for the summary */
    char **failures;
    size_t nfailures;
    pthread_mutex_t lock; /* progress redraws and experiment lines */
    struct progress_view view;
};
void report_init(struct copy_report *r, const char *verb, int json, int quiet);
/* progress.c: the xp_copy_opts.progress callback, and the erasing of the
 * redrawn lines before other output (caller holds r->lock) */
void report_progress(void *payload, const struct xp_copy_stats *st, int final);
void progress_clear(struct copy_report *r);
void report_experiment(void *payload, const struct xp_exp_result *res);
/* progress.c: "1.5 MiB" */
void human_bytes(char *out, size_t n, int64_t b);
/* Print the summary; returns the exit code for rc and stats. */
int report_finish(struct copy_report *r, int rc, const struct xp_copy_stats *st,
                  int dry_run);

/* doc_main.c: the hidden `xport --dump-man [CMD]` (a man page) and
 * `xport --dump-completion bash|zsh`, printed from cmds (ended by a NULL
 * name), each command's option table (opt_doc) and the adapter table;
 * exits lists the exit codes (ended by a NULL meaning). Returns an exit
 * code. */
struct cmd_exit {
    int code;
    const char *meaning;
};
int doc_main(int argc, char **argv, const struct xp_cmd *cmds, const struct cmd_exit *exits);

/* common.c: below the commands, jobs.c and output.c */
double now_seconds(void);
/* A location as journals record it: local paths made absolute, so that a
 * resume from another directory still matches; never any option. */
char *cmd_location_id(const struct xp_location *loc);
void print_error(int rc);

#endif
