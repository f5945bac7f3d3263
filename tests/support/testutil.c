/* Shared test helpers (testutil.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "xport/buf.h"
#include "xport/fs.h"
#include "xport/error.h"

char *tu_mkdtemp(void)
{
    const char *t = getenv("TMPDIR");
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_printf(&b, "%s/xport-test-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(b.ptr)) {
        perror("mkdtemp");
        abort();
    }
    return xp_buf_detach(&b);
}

void tu_rmtree(const char *dir)
{
    if (dir && !getenv("XPORT_KEEP_TMP"))
        xp_rm_rf(dir);
}

char *tu_src(const char *rel)
{
    return xp_path_join(XPORT_SOURCE_DIR, rel);
}

static char *read_fd_all(int fd)
{
    struct xp_buf b = XP_BUF_INIT;
    char tmp[65536];
    ssize_t n;
    while ((n = read(fd, tmp, sizeof(tmp))) > 0)
        xp_buf_put(&b, tmp, (size_t)n);
    return xp_buf_detach(&b);
}

int tu_run_xport(char **out, char **err, const char *const *argv)
{
    const char *bin = getenv("XPORT_BIN");
    if (!bin)
        bin = XPORT_BINARY_DIR "/cmd/xport";
    char outp[] = "/tmp/xport-out-XXXXXX", errp[] = "/tmp/xport-err-XXXXXX";
    int ofd = mkstemp(outp), efd = mkstemp(errp);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(ofd, 1);
        dup2(efd, 2);
        int n = 0;
        while (argv[n])
            n++;
        const char **av = calloc((size_t)n + 2, sizeof(*av));
        av[0] = bin;
        for (int i = 0; i < n; i++)
            av[i + 1] = argv[i];
        execv(bin, (char *const *)av);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    lseek(ofd, 0, SEEK_SET);
    lseek(efd, 0, SEEK_SET);
    char *o = read_fd_all(ofd), *e = read_fd_all(efd);
    close(ofd);
    close(efd);
    unlink(outp);
    unlink(errp);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

int tu_sh(const char *fmt, ...)
{
    struct xp_buf b = XP_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    xp_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    int st = system(b.ptr);
    xp_buf_release(&b);
    if (st == -1)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

char *tu_slurp(const char *path)
{
    struct xp_buf b = XP_BUF_INIT;
    if (xp_read_file(&b, path, (size_t)1 << 30)) {
        xp_buf_release(&b);
        return NULL;
    }
    return xp_buf_detach(&b);
}

void tu_write(const char *path, const char *text)
{
    char *dir = xp_strdup(path);
    char *s = strrchr(dir, '/');
    if (s) {
        *s = '\0';
        xp_mkdir_p(dir);
    }
    free(dir);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        abort();
    }
    fputs(text, f);
    fclose(f);
}

static int count_files(const char *dir, int skip_xport)
{
    char **names;
    size_t n;
    if (xp_list_dir(&names, &n, dir))
        return 0;
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        char *p = xp_path_join(dir, names[i]);
        struct stat st;
        if (lstat(p, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                if (!skip_xport || strcmp(names[i], ".xport"))
                    count += count_files(p, skip_xport);
            } else {
                count++;
            }
        }
        free(p);
    }
    xp_strv_free(names);
    return count;
}

int tu_count_files(const char *dir)
{
    return count_files(dir, 0);
}

int tu_count_data_files(const char *dir)
{
    return count_files(dir, 1);
}

#include <signal.h>
#include <time.h>

int tu_server_start(struct tu_server *s, const char *const *argv)
{
    int pfd[2];
    s->pid = 0;
    s->port = 0;
    if (pipe(pfd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setpgid(0, 0); /* stop kills the server's whole group */
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    s->pid = (int)pid;
    /* read the first line, with a deadline */
    char line[128];
    size_t n = 0;
    time_t deadline = time(NULL) + 20;
    fcntl(pfd[0], F_SETFL, O_NONBLOCK);
    while (n < sizeof(line) - 1 && time(NULL) < deadline) {
        ssize_t r = read(pfd[0], line + n, 1);
        if (r == 1) {
            if (line[n] == '\n')
                break;
            n++;
        } else if (r == 0) {
            break;
        } else {
            usleep(10000);
        }
    }
    line[n] = '\0';
    close(pfd[0]);
    if (sscanf(line, "PORT %d", &s->port) != 1) {
        fprintf(stderr, "server %s did not report a port (got '%s')\n",
                argv[0], line);
        tu_server_stop(s);
        return -1;
    }
    return 0;
}

int tu_server_start_py(struct tu_server *s, const char *script_rel,
                       const char *const *args)
{
    const char *av[64];
    size_t n = 0;
    char *script = tu_src(script_rel);
    av[n++] = XPORT_PYTHON;
    av[n++] = "-u";
    av[n++] = script;
    for (; args && *args && n < 62; args++)
        av[n++] = *args;
    av[n] = NULL;
    int rc = tu_server_start(s, av);
    free(script);
    return rc;
}

void tu_server_stop(struct tu_server *s)
{
    if (s->pid > 0) {
        kill(-s->pid, SIGTERM);
        kill(s->pid, SIGTERM);
        int st;
        for (int i = 0; i < 200; i++) {
            if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
                s->pid = 0;
                return;
            }
            usleep(10000);
        }
        kill(-s->pid, SIGKILL);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &st, 0);
    }
    s->pid = 0;
}

int tu_xport(char **err, const char *const *argv)
{
    char *out = NULL, *e = NULL;
    int rc = tu_run_xport(&out, &e, argv);
    if (rc)
        fprintf(stderr, "xport exit %d\n%s\n%s\n", rc, out, e);
    free(out);
    if (err)
        *err = e;
    else
        free(e);
    return rc;
}
