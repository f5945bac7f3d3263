/* What the s3 tests share: s3rver (npm) started on a free loopback port
 * with one bucket "bkt", the AWS variables pointing at it, xport run with
 * the secret never in its output, and objects counted in s3rver's store. */
#ifndef XPORT_TEST_S3_FIXTURE_H
#define XPORT_TEST_S3_FIXTURE_H

#include "testutil.h"

#define S3FX_SECRET "s3-test-secret-Zq8xK2"
#define S3FX_TOKEN "s3-test-session-token-Wm4v"

struct s3fx {
    char *tmp, *store;
    struct tu_server srv;
    char ep[64];
};

/* 77 (skip, message printed) when node or s3rver is missing, else 0. */
int s3fx_available(void);
/* Start s3rver under a fresh temp folder; 0 or -1. */
int s3fx_start(struct s3fx *f);
void s3fx_stop(struct s3fx *f);
/* Run xport; the secret and the token must never show. *err (may be NULL)
 * gets stderr, *out (may be NULL) stdout. */
int s3fx_run(char **out, char **err, const char *const *argv);
/* Objects s3rver holds under bkt/prefix named name (a glob). */
int s3fx_objects(const struct s3fx *f, const char *prefix, const char *name);

#endif
