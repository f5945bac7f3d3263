/* What the s3 tests share (s3_fixture.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s3_fixture.h"
#include "xport/buf.h"
#include "xport/fs.h"

static char *node_path(void)
{
    const char *path = getenv("PATH");
    char *copy = xp_strdup(path ? path : "/usr/bin:/bin");
    char *found = NULL;
    for (char *d = strtok(copy, ":"); d && !found; d = strtok(NULL, ":")) {
        char *p = xp_path_join(d, "node");
        if (access(p, X_OK) == 0)
            found = p;
        else
            free(p);
    }
    free(copy);
    return found;
}

int s3fx_available(void)
{
    char *mod = tu_src("tests/node/node_modules/s3rver/package.json");
    int have = access(mod, R_OK) == 0;
    free(mod);
    char *node = node_path();
    int ok = have && node;
    if (!ok)
        printf("skipping the s3 tests: %s (scripts/deps.sh --tests installs it)\n",
               node ? "s3rver is not installed in tests/node" : "node is not installed");
    free(node);
    return ok ? 0 : 77;
}

int s3fx_start(struct s3fx *f)
{
    memset(f, 0, sizeof(*f));
    f->tmp = tu_mkdtemp();
    f->store = xp_path_join(f->tmp, "store");
    xp_mkdir_p(f->store);
    char *node = node_path(), *runner = tu_src("tests/node/s3rver_run.js");
    const char *argv[] = {node, runner, f->store, "bkt", NULL};
    int rc = tu_server_start(&f->srv, argv);
    free(node);
    free(runner);
    if (rc)
        return -1;
    snprintf(f->ep, sizeof(f->ep), "http://127.0.0.1:%d", f->srv.port);
    setenv("AWS_ENDPOINT_URL", f->ep, 1);
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", S3FX_SECRET, 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_PROFILE");
    return 0;
}

void s3fx_stop(struct s3fx *f)
{
    tu_server_stop(&f->srv);
    tu_rmtree(f->tmp);
    free(f->tmp);
    free(f->store);
}

int s3fx_run(char **out, char **err, const char *const *argv)
{
    char *o = NULL, *e = NULL;
    int rc = tu_run_xport(&o, &e, argv);
    if (strstr(o, S3FX_SECRET) || strstr(e, S3FX_SECRET) || strstr(o, S3FX_TOKEN) ||
        strstr(e, S3FX_TOKEN))
        fail_msg("a secret was printed:\n%s\n%s", o, e);
    if (rc && !err)
        fprintf(stderr, "xport %s: %d\n%s%s", argv[0], rc, o, e);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return rc;
}

int s3fx_objects(const struct s3fx *f, const char *prefix, const char *name)
{
    struct xp_buf cmd = XP_BUF_INIT;
    char *out = xp_path_join(f->tmp, "count");
    xp_buf_printf(&cmd, "find '%s/bkt/%s' -name '%s._S3rver_object' 2>/dev/null | wc -l > '%s'",
                  f->store, prefix, name, out);
    tu_sh("%s", cmd.ptr);
    char *t = tu_slurp(out);
    int n = t ? atoi(t) : -1;
    free(t);
    free(out);
    xp_buf_release(&cmd);
    return n;
}
