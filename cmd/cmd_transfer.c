/* download, copy and upload: three front doors to the same xp_copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "opt.h"
#include "xport/buf.h"
#include "xport/copy.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/journal.h"
#include "xport/location.h"
#include "xport/lock.h"
#include "xport/shard.h"
#include "xport/sys/http.h"

struct transfer_args {
    const char *from, *to, *output, *target;
    const char *workspace, *project, *experiment;
    struct access_args acc;
    struct opt_list ignore;
    int dry_run, overwrite, jobs, json, quiet, verbose, allow_partial;
    int max_connections, retries, timeout, low_speed_limit, low_speed_time;
    const char *limit_rate, *bytes_per_hour;
    /* the ml-dash CLI's flags, kept so users' scripts translate one to one */
    int skip_logs, skip_metrics, skip_files, skip_params, strict;
    int batch_size, max_metrics, max_files;
    int resume, delete_missing, detach, no_wait;
    int argc;
    char **argv;
    const char *state_file, *sync, *shard;
    int shard_k, shard_n; /* from --shard; 0 without */
    char nums[3][24];
    int src_default; /* no SOURCE: the adapter names it from its options */
};

/* Options every transfer command has, in groups; each command's table
 * lists them after its own. */
#define TRANSFER_OPTS(a)                                                        \
    OPT_GROUP_MARK("selection"),                                                \
    {OPT_STRING, 0, "workspace", &(a).workspace, "PATTERN",                     \
     "only workspaces matching a glob ({a,b} and {001..120} too)"},            \
    {OPT_STRING, 0, "project", &(a).project, "PATTERN", "only matching projects"}, \
    {OPT_STRING, 0, "experiment", &(a).experiment, "PATTERN",                   \
     "only matching experiments"},                                             \
    {OPT_LIST, 0, "ignore", &(a).ignore, "RESOURCE",                            \
     "leave out a resource (parameters metrics logs files others system "      \
     "artifacts)"},                                                            \
    OPT_GROUP_MARK("transfer"),                                                 \
    {OPT_BOOL, 'n', "dry-run", &(a).dry_run, NULL,                              \
     "read and count what would move; write nothing"},                         \
    {OPT_BOOL, 0, "overwrite", &(a).overwrite, NULL,                            \
     "replace experiments the destination has (default: skip them)"},         \
    {OPT_STRING, 0, "sync", &(a).sync, "LEVEL",                                 \
     "experiment (default): skip experiments the destination has; project, "  \
     "workspace: skip whole ones it has; all: rewrite experiments that differ"}, \
    {OPT_BOOL, 0, "delete", &(a).delete_missing, NULL,                          \
     "after a clean pass, delete destination experiments xport copied from "  \
     "this source that the source no longer has"},                           \
    {OPT_STRING, 0, "shard", &(a).shard, "K/N",                                 \
     "move only shard K of N (1 <= K <= N): experiments split by a stable hash " \
     "of workspace, project and source id; each shard has its own journal"},   \
    {OPT_BOOL, 0, "resume", &(a).resume, NULL,                                  \
     "continue an interrupted copy: skip finished experiments, keep finished items"}, \
    {OPT_STRING, 0, "state-file", &(a).state_file, "FILE",                      \
     "journal (default: DST/.xport/journal-*.jsonl, or for a remote DST "       \
     "$XDG_STATE_HOME/xport/journals/journal-*.jsonl; for s3:// also kept in "  \
     "the bucket, PREFIX/.xport/)"},                                            \
    {OPT_BOOL, 0, "no-wait", &(a).no_wait, NULL,                                \
     "when another xport is writing to the destination, fail at once (default: " \
     "wait for it)"},                                                           \
    {OPT_INT, 'j', "jobs", &(a).jobs, "N", "experiments in parallel (default 2)"}, \
    {OPT_BOOL, 0, "allow-partial", &(a).allow_partial, NULL,                    \
     "accept sources with damaged parts (what was lost is still reported)"},  \
    {OPT_BOOL, 0, "strict", &(a).strict, NULL,                                  \
     "any invalid source line fails its experiment before anything is sent"},  \
    {OPT_BOOL, 0, "detach", &(a).detach, NULL,                                  \
     "run in the background; prints a job id (see 'xport jobs')"},           \
    OPT_GROUP_MARK("vendor access"),                                            \
    ACCESS_OPTS((a).acc),                                                       \
    OPT_GROUP_MARK("HTTP limits"),                                              \
    {OPT_INT, 0, "max-connections", &(a).max_connections, "N",                  \
     "HTTP transfers in flight at once (default 8)"},                          \
    {OPT_STRING, 0, "limit-rate", &(a).limit_rate, "RATE",                      \
     "bandwidth cap in bytes/s (k, M, G suffixes)"},                           \
    {OPT_STRING, 0, "bytes-per-hour", &(a).bytes_per_hour, "SIZE",              \
     "cap on bytes moved per hour (k, M, G suffixes)"},                        \
    {OPT_INT, 0, "retries", &(a).retries, "N", "retries per HTTP request (default 5)"}, \
    {OPT_INT, 0, "timeout", &(a).timeout, "SECONDS",                            \
     "limit on one HTTP attempt (default none)"},                              \
    {OPT_INT, 0, "low-speed-limit", &(a).low_speed_limit, "BYTES",              \
     "abort an HTTP attempt slower than this many bytes/s ..."},               \
    {OPT_INT, 0, "low-speed-time", &(a).low_speed_time, "SECONDS",              \
     "... for this long (then it is retried)"},                                \
    OPT_GROUP_MARK("the ml-dash CLI's flags (scripts translate one to one)"),   \
    {OPT_BOOL, 0, "skip-logs", &(a).skip_logs, NULL, "same as --ignore logs"},  \
    {OPT_BOOL, 0, "skip-metrics", &(a).skip_metrics, NULL, "same as --ignore metrics"}, \
    {OPT_BOOL, 0, "skip-files", &(a).skip_files, NULL, "same as --ignore files"}, \
    {OPT_BOOL, 0, "skip-params", &(a).skip_params, NULL, "same as --ignore parameters"}, \
    {OPT_INT, 0, "batch-size", &(a).batch_size, "N", "points or log lines per request"}, \
    {OPT_INT, 0, "max-concurrent-metrics", &(a).max_metrics, "N",               \
     "metrics transferred at once within an experiment"},                      \
    {OPT_INT, 0, "max-concurrent-files", &(a).max_files, "N",                   \
     "files transferred at once within an experiment"},                        \
    OPT_GROUP_MARK("output"),                                                   \
    {OPT_BOOL, 0, "json", &(a).json, NULL, "print JSON lines for scripts"},    \
    {OPT_BOOL, 'q', "quiet", &(a).quiet, NULL, "print only the summary"},      \
    {OPT_BOOL, 'v', "verbose", &(a).verbose, NULL, "say more"}

/* The transfer flags adapters read (declared in their option tables). */
static size_t transfer_flags(struct xp_kv *kv, struct transfer_args *a)
{
    snprintf(a->nums[0], sizeof(a->nums[0]), "%d", a->batch_size);
    snprintf(a->nums[1], sizeof(a->nums[1]), "%d", a->max_metrics);
    snprintf(a->nums[2], sizeof(a->nums[2]), "%d", a->max_files);
    const struct xp_kv flags[] = {{"allow-partial", a->allow_partial ? "1" : NULL},
                                  {"strict", a->strict ? "1" : NULL},
                                  {"batch-size", a->batch_size ? a->nums[0] : NULL},
                                  {"max-concurrent-metrics", a->max_metrics ? a->nums[1] : NULL},
                                  {"max-concurrent-files", a->max_files ? a->nums[2] : NULL}};
    size_t n = 0;
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (flags[i].value)
            kv[n++] = flags[i];
    return n;
}

static unsigned resources_from(const char *const *names, size_t n,
                               const struct opt_list *ignore, int *bad)
{
    unsigned mask = 0;
    *bad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned r = xp_resource_parse(names[i]);
        if (!r) {
            fprintf(stderr, "error: unknown resource '%s' (known: parameters, "
                            "metrics, logs, files, others, system, artifacts)\n",
                    names[i]);
            *bad = 1;
        }
        mask |= r;
    }
    if (!mask)
        mask = XP_RES_ALL;
    for (size_t i = 0; i < ignore->n; i++) {
        unsigned r = xp_resource_parse(ignore->v[i]);
        if (!r) {
            opt_error(NULL, "--ignore", "needs a resource (parameters, metrics, logs, "
                      "files, others, system, artifacts), not '%s'", ignore->v[i]);
            *bad = 1;
        }
        mask &= ~r;
    }
    return mask;
}

/* name with "-K-of-N" put before its extension ext (when it ends so), or
 * at its end; takes name. */
static char *shard_name(char *name, const char *ext, int k, int n)
{
    size_t len = strlen(name), el = ext ? strlen(ext) : 0;
    if (!el || len < el || strcmp(name + len - el, ext))
        el = 0;
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "%.*s-%d-of-%d%s", (int)(len - el), name, k, n, name + len - el);
    free(name);
    return xp_buf_detach(&b);
}

static void set_pattern(char **dst, const char *p)
{
    if (!p)
        return;
    free(*dst);
    *dst = xp_strdup(p);
}

static int run_transfer_(struct transfer_args *a, struct xp_location *src,
                         struct xp_location *dst, const struct adapter_options *ao,
                         const char *const *res, size_t nres, const char *verb);

static void lock_waiting(void *payload, const char *path, long pid)
{
    (void)payload;
    if (pid)
        fprintf(stderr, "waiting for another xport (pid %ld) writing to this destination "
                        "(lock file '%s'; --no-wait fails at once instead)\n", pid, path);
    else
        fprintf(stderr, "waiting for another xport writing to this destination "
                        "(lock file '%s'; --no-wait fails at once instead)\n", path);
}

/* A detached child records its exit code before leaving. */
static int run_transfer(struct transfer_args *a, struct xp_location *src,
                        struct xp_location *dst, const struct adapter_options *ao,
                        const char *const *res, size_t nres, const char *verb)
{
    int code = run_transfer_(a, src, dst, ao, res, nres, verb);
    if (a->detach)
        job_finish(code);
    return code;
}

/* The copy's callbacks: the report's, then the journal's pushes. */
struct run_hooks {
    struct copy_report *rep;
    struct journal_remote *jr;
};

static void hook_progress(void *payload, const struct xp_copy_stats *st, int final)
{
    struct run_hooks *h = payload;
    report_progress(h->rep, st, final);
    journal_remote_tick(h->jr);
}

static void hook_experiment(void *payload, const struct xp_exp_result *res)
{
    struct run_hooks *h = payload;
    report_experiment(h->rep, res);
    journal_remote_note(h->jr, res);
}

/* Where a destination that keeps state keeps the pair's journal: the
 * name of the default journal in the state folder, whatever --state-file
 * says, so that every machine finds the same one. */
static char *remote_journal_name(const char *ss, const char *ds, int k, int n)
{
    char *def = xp_journal_state_path(ss, ds);
    if (n > 1)
        def = shard_name(def, ".jsonl", k, n);
    const char *slash = strrchr(def, '/');
    char *name = xp_strdup(slash ? slash + 1 : def);
    free(def);
    return name;
}

static int run_transfer_(struct transfer_args *a, struct xp_location *src,
                         struct xp_location *dst, const struct adapter_options *ao,
                         const char *const *res, size_t nres, const char *verb)
{
    int bad, rc, code = XP_EXIT_ERROR;
    struct journal_remote jr;
    memset(&jr, 0, sizeof(jr));
    unsigned mask = resources_from(res, nres, &a->ignore, &bad);
    if (bad)
        return XP_EXIT_USAGE;
    enum xp_sync sync = XP_SYNC_EXPERIMENT;
    if (a->sync) {
        static const char *const levels[] = {"experiment", "project", "workspace", "all"};
        size_t k = 0;
        while (k < 4 && strcmp(levels[k], a->sync))
            k++;
        if (k == 4) {
            opt_error(NULL, "--sync", "needs experiment, project, workspace or all, "
                      "not '%s'", a->sync);
            return XP_EXIT_USAGE;
        }
        sync = (enum xp_sync)k;
    }
    if (a->shard) {
        if (sync == XP_SYNC_PROJECT || sync == XP_SYNC_WORKSPACE) {
            fprintf(stderr, "error: --shard goes with --sync experiment or all, not '%s' "
                            "(a shard would skip the projects the others wrote)\n", a->sync);
            return XP_EXIT_USAGE;
        }
    }
    if (a->delete_missing && a->overwrite) {
        fprintf(stderr, "error: --delete goes with --sync, not --overwrite\n");
        return XP_EXIT_USAGE;
    }
    if (a->detach) {
        int parent = job_detach(a->argc, a->argv);
        if (parent >= 0)
            return parent;
        a->quiet = 1; /* the job's log gets the summary, not a progress bar */
    }
    if (a->skip_logs)
        mask &= ~(unsigned)XP_RES_LOGS;
    if (a->skip_metrics)
        mask &= ~(unsigned)XP_RES_METRICS;
    if (a->skip_files)
        mask &= ~(unsigned)XP_RES_FILES;
    if (a->skip_params)
        mask &= ~(unsigned)XP_RES_PARAMETERS;
    set_pattern(&src->workspace, a->workspace);
    set_pattern(&src->project, a->project);
    set_pattern(&src->experiment, a->experiment);
    struct xp_ctx ctx;
    cmd_ctx_init(&ctx, a->verbose, a->quiet || a->json);
    struct xp_adapter *s = NULL, *d = NULL;
    struct xp_http *http = NULL;
    struct cmd_http_opts ho = {a->max_connections, a->retries, a->timeout,
                               a->limit_rate, a->bytes_per_hour, a->verbose,
                               a->low_speed_limit, a->low_speed_time};
    if (cmd_http_new(&http, &ho, &ctx)) {
        code = XP_EXIT_USAGE;
        goto done;
    }
    if ((rc = xp_adapter_open(&s, src, &ao[0].o, &ctx))) {
        print_error(rc);
        code = xp_exit_code(rc);
        goto done;
    }
    if ((rc = xp_adapter_open(&d, dst, &ao[1].o, &ctx))) {
        print_error(rc);
        code = xp_exit_code(rc);
        goto done;
    }
    if (!xp_adapter_can(s->type, XP_CAP_READ)) {
        fprintf(stderr, "error: adapter '%s' cannot be read from\n", s->type->name);
        goto done;
    }
    if (!a->dry_run && !xp_adapter_can(d->type, XP_CAP_WRITE)) {
        fprintf(stderr, "error: adapter '%s' cannot be written to\n", d->type->name);
        goto done;
    }
    struct xp_journal journal;
    struct xp_lock lock = {-1, 0, NULL};
    int have_journal = 0;
    if (!a->dry_run || a->delete_missing) {
        char *path = NULL, *lockp = NULL, *ss = cmd_location_id(src), *ds = cmd_location_id(dst);
        if (xp_location_on_disk(dst) && !d->type->publish) {
            /* inside the layout or store (an archive's journal and lock,
             * like a remote's, are kept in the state folder below); but never inside a folder the
             * local adapter will refuse to write to. A writer takes the
             * lock (creating .xport) before it makes a layout, so a folder
             * with .xport is never refused: two runs racing into a new
             * destination both lock */
            char *marker = xp_path_join(dst->path, "xport.json");
            char *xdir = xp_path_join(dst->path, ".xport");
            char **names = NULL;
            size_t n = 0;
            int refuse = !strcmp(d->type->name, "local") && !xp_is_file(marker) &&
                         !xp_is_dir(xdir) && xp_is_dir(dst->path) &&
                         !xp_list_dir(&names, &n, dst->path) && n > 0;
            xp_strv_free(names);
            free(marker);
            free(xdir);
            if (!refuse)
                lockp = xp_lock_path_for_dir(dst->path);
            if (!refuse && !a->state_file) {
                /* one journal per source and destination pair */
                char hex[65];
                struct xp_buf pair = XP_BUF_INIT, p = XP_BUF_INIT;
                xp_buf_printf(&pair, "%s\n%s", ss, ds);
                xp_sha256_hex(hex, pair.ptr, pair.len);
                xp_buf_release(&pair);
                xp_buf_printf(&p, "%s/.xport/journal-%.12s.jsonl", dst->path, hex);
                path = xp_buf_detach(&p);
            }
        } else if (!a->state_file) {
            path = xp_journal_state_path(ss, ds);
        }
        if (a->state_file)
            path = xp_strdup(a->state_file);
        if (path && a->shard_n > 1) {
            /* each shard its own journal and lock: shards share only the
             * destination, and write experiments no other shard has */
            path = shard_name(path, ".jsonl", a->shard_k, a->shard_n);
            if (lockp)
                lockp = shard_name(lockp, NULL, a->shard_k, a->shard_n);
        }
        if (!lockp && path) {
            struct xp_buf l = XP_BUF_INIT;
            xp_buf_printf(&l, "%s.lock", path);
            lockp = xp_buf_detach(&l);
        }
        /* one writer per destination (a dry run writes nothing) */
        rc = lockp && !a->dry_run
                 ? xp_lock_take(&lock, lockp, !a->no_wait, lock_waiting, NULL)
                 : 0;
        int jflags = (a->resume ? XP_JOURNAL_RESUME : 0) |
                     (a->dry_run ? XP_JOURNAL_READONLY : 0) |
                     (sync != XP_SYNC_EXPERIMENT || a->delete_missing ? XP_JOURNAL_SYNC : 0);
        if (!rc && path && !a->dry_run && xp_adapter_has_state(d->type)) {
            /* the journal kept beside the layout, from any machine */
            char *name = remote_journal_name(ss, ds, a->shard_k, a->shard_n);
            rc = journal_remote_fetch(&jr, d, path, name, &ao[1].o);
            free(name);
        }
        if (!rc && path)
            rc = xp_journal_open(&journal, path, ss, ds, jflags);
        if (!rc && path && !a->dry_run)
            journal_remote_attach(&jr, &journal);
        free(ss);
        free(ds);
        free(lockp);
        have_journal = !rc && path != NULL;
        free(path);
        if (rc) {
            print_error(rc);
            goto done_journal;
        }
    }
    struct copy_report rep;
    struct run_hooks hooks = {&rep, &jr};
    report_init(&rep, verb, a->json, a->quiet);
    rep.shard_k = a->shard_k;
    rep.shard_n = a->shard_n;
    rep.dry_run = a->dry_run;
    struct xp_copy_opts co = {
        .resources = mask,
        .overwrite = a->overwrite,
        .dry_run = a->dry_run,
        .jobs = a->jobs > 0 ? a->jobs : 2,
        .resume = a->resume,
        .journal = have_journal ? &journal : NULL,
        .sync = sync,
        .delete_missing = a->delete_missing,
        .scope = src,
        .dst_workspace = dst->workspace,
        .dst_project = dst->project,
        .shard_k = a->shard_k,
        .shard_n = a->shard_n,
        .no_readahead = getenv("XPORT_NO_READAHEAD") != NULL, /* for A/B timing */
        .progress = hook_progress,
        .experiment_done = hook_experiment,
        .payload = &hooks,
    };
    struct xp_copy_stats st;
    rc = xp_copy(s, d, &co, &st);
    code = report_finish(&rep, rc, &st, a->dry_run);
    if (journal_remote_finish(&jr) && code == XP_EXIT_OK)
        code = XP_EXIT_ERROR;
done_journal:
    if (have_journal && xp_journal_close(&journal))
        fprintf(stderr, "warning: %s (the journal is whole as it was)\n",
                xp_error_last()->message);
    xp_lock_release(&lock);
done:
    journal_remote_release(&jr);
    xp_adapter_close(d);
    xp_adapter_close(s);
    if (http)
        xp_http_free(http);
    return code;
}

/* How a command turns its positional arguments into locations: returns how
 * many it used, or -1 after printing what is wrong. */
typedef int (*locate_fn)(struct transfer_args *a, const char **pos, size_t npos,
                         struct xp_location *src, struct xp_location *dst);

static int transfer_main(struct transfer_args *a, const struct opt *opts,
                         const struct cmd_usage *u, int argc, char **argv,
                         locate_fn locate, const char *verb)
{
    const char *pos[40];
    size_t npos;
    int r = opt_parse(opts, u, argc, argv, pos, 40, &npos);
    a->argc = argc;
    a->argv = argv;
    if (!r && a->shard && xp_shard_parse(a->shard, &a->shard_k, &a->shard_n)) {
        opt_error(u, "--shard", "%s", xp_error_last()->message);
        r = -1;
    }
    struct xp_location src, dst;
    int used = r ? -1 : locate(a, pos, npos, &src, &dst);
    if (used < 0) {
        if (!r)
            fprintf(stderr, "usage: %s %s\n", u->name, u->synopsis);
        free(a->acc.api_key);
        return r > 0 ? 0 : XP_EXIT_USAGE;
    }
    /* each adapter's options, checked before anything opens */
    const struct xp_location *locs[2] = {&src, &dst};
    const struct xp_adapter_type *types[2];
    struct adapter_options ao[2];
    struct xp_kv flags[8];
    int code = XP_EXIT_USAGE;
    if (adapter_types(types, locs, 2) ||
        adapter_options_build(ao, types, 2, &a->acc, flags, transfer_flags(flags, a)))
        goto out;
    if (a->src_default) {
        xp_location_release(&src);
        int rc = xp_location_default(&src, types[0], &ao[0].o);
        if (rc) {
            print_error(rc);
            goto out_opts;
        }
    }
    code = run_transfer(a, &src, &dst, ao, pos + used, npos - (size_t)used, verb);
out_opts:
    adapter_options_release(ao, 2);
out:
    free(a->acc.api_key);
    xp_location_release(&src);
    xp_location_release(&dst);
    return code;
}

static int locate_download(struct transfer_args *a, const char **pos, size_t npos,
                           struct xp_location *src, struct xp_location *dst)
{
    if (!a->from || !a->output) {
        fprintf(stderr, "error: download needs --from VENDOR and -o DIR\n");
        return -1;
    }
    int rc;
    if (npos == 0) {
        /* no SOURCE: the adapter names one from its options, as the
         * vendor's own CLI does */
        const struct xp_adapter_type *t;
        if ((rc = xp_adapter_find(&t, a->from))) {
            print_error(rc);
            return -1;
        }
        if (!t->default_source) {
            fprintf(stderr, "error: download needs a SOURCE: adapter '%s' cannot name "
                            "one from its options\n", t->name);
            return -1;
        }
        rc = xp_location_from(src, t->name, "");
        a->src_default = 1;
    } else {
        rc = xp_location_from(src, a->from, pos[0]);
    }
    if (rc) {
        print_error(rc);
        return -1;
    }
    /* -o DIR, or a URL an adapter reads (s3://BUCKET/PREFIX) */
    const char *sch = strstr(a->output, "://");
    if (sch && sch > a->output && !memchr(a->output, '/', (size_t)(sch - a->output)))
        rc = xp_location_parse(dst, a->output);
    else
        rc = xp_location_from(dst, "local", a->output);
    if (rc) {
        print_error(rc);
        return -1;
    }
    return npos ? 1 : 0;
}

/* --help: what each adapter downloads when SOURCE is left out */
static void download_epilog(FILE *f)
{
    opt_wrap(f, "Without SOURCE (only for adapters that can name one from their options; "
                "--workspace, --project and --experiment narrow it):", 0, 0, 80);
    const struct xp_adapter_type *t;
    for (size_t i = 0; (t = xp_adapter_at(i)); i++) {
        if (!t->default_source || !t->open)
            continue;
        struct xp_buf b = XP_BUF_INIT;
        xp_buf_printf(&b, "--from %s", t->name);
        fprintf(f, "  %-30s", b.ptr);
        opt_wrap(f, t->default_source, 32, 32, 80);
        xp_buf_release(&b);
    }
}

int cmd_download(int argc, char **argv)
{
    struct transfer_args a = {.retries = -1};
    const struct opt opts[] = {
        {OPT_STRING, 0, "from", &a.from, "VENDOR", "adapter to read (required)"},
        {OPT_STRING, 'o', "output", &a.output, "DIR",
         "xport layout to write (required)"},
        TRANSFER_OPTS(a),
        OPT_END_MARK,
    };
    const struct cmd_usage u = {
        "xport download", "--from VENDOR [SOURCE [RESOURCE...]] -o DIR",
        "Turn a vendor's runs into an xport layout. SOURCE is "
        "WS[/PROJECT[/EXPERIMENT]] (globs allowed) or, for on-disk formats, a "
        "path; some adapters name it from their options when it is left out "
        "(below). RESOURCEs limit what is copied.",
        download_epilog};
    return transfer_main(&a, opts, &u, argc, argv, locate_download, "downloaded");
}

static int locate_copy(struct transfer_args *a, const char **pos, size_t npos,
                       struct xp_location *src, struct xp_location *dst)
{
    (void)a;
    if (npos < 2) {
        fprintf(stderr, "error: copy needs SRC and DST\n");
        return -1;
    }
    int rc = xp_location_parse(src, pos[0]);
    if (!rc && (rc = xp_location_parse(dst, pos[1])))
        xp_location_release(src);
    if (rc) {
        print_error(rc);
        return -1;
    }
    return 2;
}

int cmd_copy(int argc, char **argv)
{
    struct transfer_args a = {.retries = -1};
    const struct opt opts[] = {TRANSFER_OPTS(a), OPT_END_MARK};
    const struct cmd_usage u = {
        "xport copy", "SRC DST [RESOURCE...]",
        "Copy experiments from SRC to DST. A location is a path (an xport "
        "layout or an ml-dash store) or VENDOR:WS[/PROJECT[/EXPERIMENT]].", NULL};
    return transfer_main(&a, opts, &u, argc, argv, locate_copy, "copied");
}

static int locate_upload(struct transfer_args *a, const char **pos, size_t npos,
                         struct xp_location *src, struct xp_location *dst)
{
    if (!a->to || npos < 1) {
        fprintf(stderr, "error: upload needs PATH and --to VENDOR\n");
        return -1;
    }
    int rc = xp_location_from(dst, a->to, a->target ? a->target : "");
    if (rc) {
        print_error(rc);
        return -1;
    }
    xp_location_from(src, "local", pos[0]);
    return 1;
}

int cmd_upload(int argc, char **argv)
{
    struct transfer_args a = {.retries = -1};
    const struct opt opts[] = {
        {OPT_STRING, 0, "to", &a.to, "VENDOR", "adapter to write (required)"},
        {OPT_STRING, 0, "target", &a.target, "WS[/PROJECT]",
         "where to put the experiments at the vendor"},
        TRANSFER_OPTS(a),
        OPT_END_MARK,
    };
    const struct cmd_usage u = {"xport upload", "PATH --to VENDOR [RESOURCE...]",
                                "Send a layout or an ml-dash store to a vendor.", NULL};
    return transfer_main(&a, opts, &u, argc, argv, locate_upload, "uploaded");
}
