/* Detached jobs: `xport download ... --detach` runs the copy in the
 * background and prints a job id; `xport jobs` lists, shows, aborts and
 * removes jobs. Each job is a folder $XPORT_JOBS_DIR/<id> (default
 * $XDG_STATE_HOME/xport/jobs or ~/.local/state/xport/jobs) with job.json
 * (what and who), progress.json (rewritten atomically while it runs) and
 * output.log. Secrets are blanked in argv by the option parser before the
 * command line is recorded. The records stay bounded: starting a job
 * removes the oldest finished ones beyond the newest XPORT_JOBS_KEEP
 * (default 100), and `jobs show` reads only the end of a job's log. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cmd.h"
#include "opt.h"
#include "xport/buf.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/iso8601.h"
#include "xport/journal.h"
#include "xport/json.h"
#include "xport/numparse.h"
#include "xport/sysio.h"

static char *jobs_dir(void)
{
    const char *e = getenv("XPORT_JOBS_DIR");
    if (e && *e)
        return xp_strdup(e);
    return xp_state_dir("jobs");
}

static int write_json(const char *dir, const char *name, struct json_object *o)
{
    char *p = xp_path_join(dir, name);
    int rc = xp_json_write_file(p, o);
    free(p);
    return rc;
}

static struct json_object *read_json(const char *dir, const char *name)
{
    char *p = xp_path_join(dir, name);
    struct json_object *o = NULL;
    if (xp_json_read_file(&o, p))
        xp_error_clear();
    free(p);
    return o;
}

/* The running job of this process, if detached. */
static struct {
    char *dir;
    double last;
} self;

static const char *job_status(const char *dir, struct json_object *job, int *pid_out);

/* Remove the oldest finished jobs beyond the newest `keep` (ids start with
 * the time they were started, so they sort by age). Running ones stay. */
static void prune_jobs(const char *root)
{
    const char *k = getenv("XPORT_JOBS_KEEP");
    int64_t keep = 100;
    if (k && *k && xp_parse_range(k, 0, INT32_MAX, &keep))
        fprintf(stderr, "warning: XPORT_JOBS_KEEP='%s' is not a whole number; "
                        "keeping 100 jobs\n", k);
    char **names = NULL;
    size_t n = 0;
    if (keep < 0 || xp_list_dir(&names, &n, root)) {
        xp_error_clear();
        return;
    }
    long finished = 0;
    for (size_t i = n; i-- > 0;) {
        char *dir = xp_path_join(root, names[i]);
        struct json_object *job = read_json(dir, "job.json");
        int pid;
        if (job && strcmp(job_status(dir, job, &pid), "running") && ++finished > keep)
            xp_rm_rf(dir);
        json_object_put(job);
        free(dir);
    }
    xp_error_clear();
    xp_strv_free(names);
}

int job_detach(int argc, char **argv)
{
    char *root = jobs_dir();
    prune_jobs(root);
    char id[40];
    snprintf(id, sizeof(id), "%08lx%04x", (unsigned long)time(NULL),
             (unsigned)(getpid() & 0xffff));
    char *dir = xp_path_join(root, id);
    free(root);
    if (xp_mkdir_p(dir)) {
        print_error(XP_EIO);
        free(dir);
        return XP_EXIT_ERROR;
    }
    struct xp_buf cmdline = XP_BUF_INIT;
    xp_buf_puts(&cmdline, "xport");
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--detach"))
            xp_buf_printf(&cmdline, " %s", argv[i]);
    char ts[XP_ISO8601_BUFSZ], cwd[4096];
    xp_iso8601_now(ts, 0);
    struct json_object *job = json_object_new_object();
    json_object_object_add(job, "id", json_object_new_string(id));
    json_object_object_add(job, "description", json_object_new_string(cmdline.ptr));
    json_object_object_add(job, "cwd", json_object_new_string(getcwd(cwd, sizeof(cwd)) ? cwd : ""));
    json_object_object_add(job, "started", json_object_new_string(ts));
    xp_buf_release(&cmdline);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        json_object_put(job);
        free(dir);
        fprintf(stderr, "error: cannot start a background job: %s\n", strerror(errno));
        return XP_EXIT_ERROR;
    }
    if (pid > 0) {
        /* the parent records the pid, says the id and leaves */
        json_object_object_add(job, "pid", json_object_new_int(pid));
        int rc = write_json(dir, "job.json", job);
        json_object_put(job);
        if (rc) {
            print_error(rc);
            kill(pid, SIGTERM);
            free(dir);
            return XP_EXIT_ERROR;
        }
        printf("%s\n", id);
        free(dir);
        return XP_EXIT_OK;
    }
    json_object_put(job);
    setsid();
    char *log = xp_path_join(dir, "output.log");
    int fd = xp_sys_open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    free(log);
    int nul = open("/dev/null", O_RDONLY);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    if (nul >= 0) {
        dup2(nul, 0);
        close(nul);
    }
    self.dir = dir;
    return -1; /* the child goes on with the copy */
}

void job_progress(const struct xp_copy_stats *st, int final)
{
    if (!self.dir)
        return;
    double now = now_seconds();
    if (!final && now - self.last < 1.0)
        return;
    self.last = now;
    struct json_object *p = json_object_new_object();
    json_object_object_add(p, "experimentsListed", json_object_new_int64(st->experiments_listed));
    json_object_object_add(p, "experimentsDone", json_object_new_int64(st->experiments_done));
    json_object_object_add(p, "copied", json_object_new_int64(st->copied));
    json_object_object_add(p, "skipped", json_object_new_int64(st->skipped));
    json_object_object_add(p, "failed", json_object_new_int64(st->failed));
    json_object_object_add(p, "interrupted", json_object_new_int64(st->interrupted));
    json_object_object_add(p, "points", json_object_new_int64(st->points));
    json_object_object_add(p, "files", json_object_new_int64(st->files));
    json_object_object_add(p, "bytes", json_object_new_int64(st->bytes));
    write_json(self.dir, "progress.json", p);
    json_object_put(p);
}

void job_finish(int code)
{
    if (!self.dir)
        return;
    char ts[XP_ISO8601_BUFSZ];
    xp_iso8601_now(ts, 0);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "exitCode", json_object_new_int(code));
    json_object_object_add(o, "status", json_object_new_string(
        code == XP_EXIT_OK ? "done"
        : code == XP_EXIT_INTERRUPTED || code == XP_EXIT_TERMINATED ? "aborted"
                                                                    : "failed"));
    json_object_object_add(o, "ended", json_object_new_string(ts));
    write_json(self.dir, "result.json", o);
    json_object_put(o);
    free(self.dir);
    self.dir = NULL;
}

/* A process that has exited but was not reaped (its parent, the xport
 * that detached it, is gone, and an init that does not reap, as in some
 * containers, inherited it) still answers kill(pid, 0): /proc says Z. */
static int zombie(int pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* after "pid (comm)" */
    return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/* running, done, failed, aborted, or dead (killed without a result) */
static const char *job_status(const char *dir, struct json_object *job, int *pid_out)
{
    struct json_object *res = read_json(dir, "result.json"), *v;
    static char status[16];
    *pid_out = 0;
    if (res) {
        const char *s = xp_json_str(res, "status");
        snprintf(status, sizeof(status), "%s", s ? s : "done");
        json_object_put(res);
        return status;
    }
    if (job && json_object_object_get_ex(job, "pid", &v))
        *pid_out = json_object_get_int(v);
    if (*pid_out > 0 && (kill(*pid_out, 0) == 0 || errno == EPERM) && !zombie(*pid_out))
        return "running";
    return "dead";
}

static int jobs_list(const char *pattern, int json)
{
    char *root = jobs_dir();
    char **names;
    size_t n;
    regex_t re;
    if (pattern && regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB)) {
        fprintf(stderr, "error: bad regular expression '%s'\n", pattern);
        free(root);
        return XP_EXIT_USAGE;
    }
    if (xp_list_dir(&names, &n, root)) {
        xp_error_clear();
        n = 0;
        names = NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char *dir = xp_path_join(root, names[i]);
        struct json_object *job = read_json(dir, "job.json");
        const char *desc = xp_json_str(job, "description");
        if (job && (!pattern || (desc && !regexec(&re, desc, 0, NULL, 0)))) {
            int pid;
            const char *st = job_status(dir, job, &pid);
            struct json_object *pr = read_json(dir, "progress.json"), *v;
            long long done = 0, listed = 0;
            if (pr && json_object_object_get_ex(pr, "experimentsDone", &v))
                done = json_object_get_int64(v);
            if (pr && json_object_object_get_ex(pr, "experimentsListed", &v))
                listed = json_object_get_int64(v);
            if (json) {
                struct xp_buf b = XP_BUF_INIT;
                xp_buf_printf(&b, "{\"id\":\"%s\",\"status\":\"%s\",\"done\":%lld,"
                              "\"listed\":%lld,\"description\":", names[i], st, done, listed);
                xp_json_put_str(&b, desc ? desc : "", desc ? strlen(desc) : 0, NULL);
                xp_buf_puts(&b, "}\n");
                fputs(b.ptr, stdout);
                xp_buf_release(&b);
            } else {
                printf("%-14s %-8s %lld/%lld  %s\n", names[i], st, done, listed,
                       desc ? desc : "");
            }
            json_object_put(pr);
        }
        json_object_put(job);
        free(dir);
    }
    if (pattern)
        regfree(&re);
    xp_strv_free(names);
    free(root);
    return 0;
}

static char *job_path(const char *id)
{
    if (!xp_segment_safe(id) || strchr(id, '.')) {
        fprintf(stderr, "error: bad job id '%s'\n", id);
        return NULL;
    }
    char *root = jobs_dir(), *dir = xp_path_join(root, id);
    free(root);
    char *jj = xp_path_join(dir, "job.json");
    int ok = xp_is_file(jj);
    free(jj);
    if (!ok) {
        fprintf(stderr, "error: no job '%s'\n", id);
        free(dir);
        return NULL;
    }
    return dir;
}

static int jobs_show(const char *id)
{
    char *dir = job_path(id);
    if (!dir)
        return XP_EXIT_ERROR;
    struct json_object *job = read_json(dir, "job.json");
    int pid;
    const char *st = job_status(dir, job, &pid);
    printf("id:          %s\nstatus:      %s\ncommand:     %s\nstarted:     %s\n", id, st,
           xp_json_str(job, "description") ? xp_json_str(job, "description") : "",
           xp_json_str(job, "started") ? xp_json_str(job, "started") : "");
    struct json_object *pr = read_json(dir, "progress.json");
    if (pr) {
        printf("progress:    %s\n", json_object_to_json_string_ext(pr, JSON_C_TO_STRING_PLAIN));
        json_object_put(pr);
    }
    struct json_object *res = read_json(dir, "result.json");
    if (res) {
        printf("result:      %s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN));
        json_object_put(res);
    }
    if (!strcmp(st, "dead"))
        printf("note:        the job was killed; rerun its command with --resume\n");
    char *log = xp_path_join(dir, "output.log");
    /* the last 20 lines, from the last 64 KiB at most: however long the
     * log has grown, this reads a bounded tail */
    int fd = open(log, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        struct stat stt;
        off_t from = fstat(fd, &stt) == 0 && stt.st_size > 65536 ? stt.st_size - 65536 : 0;
        struct xp_buf b = XP_BUF_INIT;
        char chunk[8192];
        ssize_t got;
        while (b.len < (1u << 17) &&
               (got = pread(fd, chunk, sizeof(chunk), from + (off_t)b.len)) > 0)
            xp_buf_put(&b, chunk, (size_t)got);
        close(fd);
        size_t start = b.len;
        int lines = 0;
        while (start > 0 && lines <= 20)
            if (b.ptr[--start] == '\n')
                lines++;
        printf("output:\n%.*s", (int)(b.len - (start ? start + 1 : 0)),
               b.ptr ? b.ptr + (start ? start + 1 : 0) : "");
        xp_buf_release(&b);
    }
    free(log);
    json_object_put(job);
    free(dir);
    return 0;
}

static int jobs_abort(const char *id)
{
    char *dir = job_path(id);
    if (!dir)
        return XP_EXIT_ERROR;
    struct json_object *job = read_json(dir, "job.json");
    int pid, code = 0;
    const char *st = job_status(dir, job, &pid);
    if (strcmp(st, "running")) {
        fprintf(stderr, "error: job '%s' is not running (%s)\n", id, st);
        code = XP_EXIT_ERROR;
    } else if (kill(-pid, SIGTERM) != 0 && kill(pid, SIGTERM) != 0) {
        fprintf(stderr, "error: cannot signal job '%s': %s\n", id, strerror(errno));
        code = XP_EXIT_ERROR;
    } else {
        printf("aborting %s\n", id);
    }
    json_object_put(job);
    free(dir);
    return code;
}

static int jobs_rm(const char *id)
{
    char *dir = job_path(id);
    if (!dir)
        return XP_EXIT_ERROR;
    struct json_object *job = read_json(dir, "job.json");
    int pid, code = 0;
    if (!strcmp(job_status(dir, job, &pid), "running")) {
        fprintf(stderr, "error: job '%s' is running; abort it first\n", id);
        code = XP_EXIT_ERROR;
    } else if (xp_rm_rf(dir)) {
        print_error(XP_EIO);
        code = XP_EXIT_ERROR;
    }
    json_object_put(job);
    free(dir);
    return code;
}

int cmd_jobs(int argc, char **argv)
{
    int json = 0;
    const struct opt opts[] = {
        {OPT_BOOL, 0, "json", &json, NULL, "one JSON object per job"},
        OPT_END_MARK,
    };
    const struct cmd_usage u = {
        "xport jobs", "[REGEX] | show ID | abort ID | rm ID",
        "Background jobs started with --detach: list them (filtered by a regular "
        "expression on their command line), show one, abort or remove one.", NULL};
    const char *pos[3];
    size_t npos;
    int r = opt_parse(opts, &u, argc, argv, pos, 3, &npos);
    if (r)
        return r > 0 ? 0 : XP_EXIT_USAGE;
    if (npos == 2 && !strcmp(pos[0], "show"))
        return jobs_show(pos[1]);
    if (npos == 2 && !strcmp(pos[0], "abort"))
        return jobs_abort(pos[1]);
    if (npos == 2 && !strcmp(pos[0], "rm"))
        return jobs_rm(pos[1]);
    if (npos <= 1)
        return jobs_list(npos ? pos[0] : NULL, json);
    fprintf(stderr, "error: unexpected arguments\nusage: %s %s\n", u.name, u.synopsis);
    return XP_EXIT_USAGE;
}
