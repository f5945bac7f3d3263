/* The W&B emulator harness (wsrv.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "wsrv.h"

char *wsrv_tmp;
static struct tu_server srv;
static char base[64];

int wsrv_post(const char *path, const char *body)
{
    char *f = NULL;
    if (asprintf(&f, "%s/body.json", wsrv_tmp) < 0)
        return -1;
    tu_write(f, body);
    int rc = tu_sh("curl -sf -X POST --data-binary @%s '%s%s' >/dev/null", f,
                   base, path);
    free(f);
    return rc;
}

char *wsrv_get(const char *path)
{
    char *f = NULL;
    if (asprintf(&f, "%s/get.json", wsrv_tmp) < 0)
        return NULL;
    tu_sh("curl -sf '%s%s' > %s", base, path, f);
    char *s = tu_slurp(f);
    free(f);
    return s;
}

int wsrv_setup(void **state)
{
    (void)state;
    const char *args[] = {NULL};
    if (tu_server_start_py(&srv, "tests/emulators/wandb_emu.py", args))
        return -1;
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", srv.port);
    setenv("WANDB_BASE_URL", base, 1);
    setenv("WANDB_API_KEY", WSRV_KEY, 1);
    wsrv_tmp = tu_mkdtemp();
    return 0;
}

int wsrv_teardown(void **state)
{
    (void)state;
    tu_server_stop(&srv);
    tu_rmtree(wsrv_tmp);
    free(wsrv_tmp);
    return 0;
}

int wsrv_reset(void **state)
{
    (void)state;
    return wsrv_post("/__emu/reset", "{}");
}

char *wsrv_path(const char *a, const char *b)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", a, b) < 0)
        abort();
    return p;
}

struct json_object *wsrv_get_json(const char *path)
{
    char *s = wsrv_get(path);
    assert_non_null(s);
    struct json_object *o = json_tokener_parse(s);
    assert_non_null(o);
    free(s);
    return o;
}

struct json_object *wsrv_dig(struct json_object *o, const char *const *keys)
{
    for (; *keys; keys++) {
        struct json_object *n = NULL;
        if (!json_object_object_get_ex(o, *keys, &n))
            fail_msg("no '%s' in the emulator's answer", *keys);
        o = n;
    }
    return o;
}

int wsrv_download(const char *what, const char *out, char **err)
{
    const char *dl[] = {"download", "-q", "--from", "wandb", what, "-o", out,
                        NULL};
    return tu_run_xport(NULL, err, dl);
}

int wsrv_verify(const char *a, const char *b)
{
    const char *ver[] = {"verify", a, b, NULL};
    char *o = NULL;
    int rc = tu_run_xport(&o, NULL, ver);
    if (rc)
        print_message("%s", o);
    free(o);
    return rc;
}

void wsrv_write_docs(const char *dir, const char *const (*docs)[2], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *f = wsrv_path(dir, docs[i][0]);
        tu_write(f, docs[i][1]);
        free(f);
    }
}
