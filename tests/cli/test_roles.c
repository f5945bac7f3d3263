/* Every command with every built-in adapter in every role, supported or not:
 * the process never dies of a signal, and a failure always says why on stderr
 * with a documented exit code. Remote adapters point at a closed loopback
 * port, so each call fails fast without any server. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gen_layout.h"
#include "testutil.h"
#include "xport/buf.h"
#include "xport/fs.h"
#include "xport/sys/adapter.h"

/* A loopback port nobody listens on: bind one, note it, close it. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
        getsockname(fd, (struct sockaddr *)&a, &n))
        fail_msg("cannot bind a loopback socket");
    close(fd);
    return ntohs(a.sin_port);
}

struct env {
    char *tmp, *layout, *empty, *url;
    int nrun;
};

static int known_exit(int code)
{
    return code == 0 || code == 1 || code == 2 || code == 3 || code == 4;
}

static void run_case(struct env *e, const char *const *argv)
{
    char *o = NULL, *er = NULL;
    struct xp_buf line = XP_BUF_INIT;
    for (size_t i = 0; argv[i]; i++)
        xp_buf_printf(&line, "%s%s", i ? " " : "", argv[i]);
    int code = tu_run_xport(&o, &er, argv);
    e->nrun++;
    if (!known_exit(code))
        fail_msg("'xport %s' ended with %d\nstderr: %s", line.ptr, code, er);
    if (code != 0 && !strstr(er, "error:") && !strstr(er, "usage:") &&
        !strstr(er, "failed"))
        fail_msg("'xport %s' exited %d without saying why\nstderr: %s", line.ptr,
                 code, er);
    free(o);
    free(er);
    xp_buf_release(&line);
}

/* "NAME:PATH" for on-disk adapters, "NAME:ws/proj" for servers. */
static char *location(const struct env *e, const struct xp_adapter_type *t)
{
    struct xp_buf b = XP_BUF_INIT;
    if (t->caps & XP_CAP_NO_NETWORK)
        xp_buf_printf(&b, "%s:%s", t->name, e->empty);
    else
        xp_buf_printf(&b, "%s:ws/proj", t->name);
    return b.ptr;
}

static void every_role(struct env *e, const struct xp_adapter_type *t)
{
    char *loc = location(e, t);
    const char *src = t->caps & XP_CAP_NO_NETWORK ? e->empty : "ws/proj";
    char *out = xp_path_join(e->tmp, "out");
    const char *net[] = {"--remote", e->url, "--retries", "0", "--api-key", "k"};
#define NET net[0], net[1], net[2], net[3], net[4], net[5]
    run_case(e, (const char *const[]){"list", loc, NET, NULL});
    run_case(e, (const char *const[]){"verify", loc, e->layout, NET, NULL});
    run_case(e, (const char *const[]){"verify", e->layout, loc, NET, NULL});
    run_case(e, (const char *const[]){"copy", loc, out, NET, NULL});
    run_case(e, (const char *const[]){"copy", e->layout, loc, NET, NULL});
    run_case(e, (const char *const[]){"copy", "-n", e->layout, loc, NET, NULL});
    run_case(e, (const char *const[]){"download", "--from", t->name, src, "-o", out, NET,
                                      NULL});
    run_case(e, (const char *const[]){"upload", e->layout, "--to", t->name, "--target",
                                      t->caps & XP_CAP_NO_NETWORK ? e->empty : "ws/proj",
                                      NET, NULL});
#undef NET
    tu_rmtree(out);
    free(out);
    free(loc);
}

static void test_every_command_every_adapter(void **state)
{
    (void)state;
    struct env e = {0};
    e.tmp = tu_mkdtemp();
    e.layout = xp_path_join(e.tmp, "layout");
    e.empty = xp_path_join(e.tmp, "empty");
    assert_int_equal(gen_many_layout(e.layout, 1, 3), 0);
    assert_int_equal(xp_mkdir_p(e.empty), 0);
    struct xp_buf u = XP_BUF_INIT;
    xp_buf_printf(&u, "http://127.0.0.1:%d", closed_port());
    e.url = u.ptr;
    const struct xp_adapter_type *t;
    size_t n = 0;
    for (size_t i = 0; (t = xp_adapter_at(i)); i++, n++)
        every_role(&e, t);
    assert_true(n >= 5); /* the registry is really walked */
    tu_rmtree(e.tmp);
    free(e.tmp);
    free(e.layout);
    free(e.empty);
    free(e.url);
}

/* The crash that started this test: verify asked an adapter without a
 * lister to list (core/verify.c called the method pointer unchecked). */
static void test_verify_needs_lister(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp();
    struct xp_buf loc = XP_BUF_INIT;
    xp_buf_printf(&loc, "mldash-local:%s", tmp);
    char *o, *er;
    int code = tu_run_xport(&o, &er, (const char *const[]){"verify", loc.ptr, tmp, NULL});
    assert_int_equal(code, 1);
    if (!strstr(er, "adapter 'mldash-local' cannot list experiments"))
        fail_msg("stderr: %s", er);
    free(o);
    free(er);
    xp_buf_release(&loc);
    tu_rmtree(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_needs_lister),
        cmocka_unit_test(test_every_command_every_adapter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
