/* The W&B emulator (tests/emulators/wandb_emu.py) for the suites that test
 * the wandb adapter against it: one emulator per suite (wsrv_setup and
 * wsrv_teardown for the group, wsrv_reset before each test), a scratch
 * folder and the emulator's control API; tu_run_xport runs xport against
 * it (wsrv_setup points WANDB_BASE_URL and WANDB_API_KEY at it).
 * Strings and json-c objects returned are owned by the caller. */
#ifndef XPORT_TEST_WSRV_H
#define XPORT_TEST_WSRV_H

#include <stddef.h>

#include "testutil.h"

struct json_object;

#define WSRV_KEY "emu_000000000000000000000000000000000000wandb"

extern char *wsrv_tmp; /* the suite's scratch folder */

int wsrv_setup(void **state);
int wsrv_teardown(void **state);
int wsrv_reset(void **state);

/* POST body to the emulator's path (control API); 0 on success. */
int wsrv_post(const char *path, const char *body);
/* The body of a GET of the emulator's path (control API), or NULL. */
char *wsrv_get(const char *path);
/* The same, parsed; fails the test when it is not JSON. */
struct json_object *wsrv_get_json(const char *path);
/* The member at keys (NULL-terminated) of o, borrowed; fails the test when
 * one is missing. */
struct json_object *wsrv_dig(struct json_object *o, const char *const *keys);

char *wsrv_path(const char *a, const char *b);
/* `xport download -q --from wandb what -o out`: its exit status; its
 * stderr goes to *err unless err is NULL. */
int wsrv_download(const char *what, const char *out, char **err);
/* `xport verify a b`: its exit status, printing what differs. */
int wsrv_verify(const char *a, const char *b);
/* Write each docs[i] = {path relative to dir, content}. */
void wsrv_write_docs(const char *dir, const char *const (*docs)[2], size_t n);

#endif
