/* Feeds layout files to the local adapter's reader (adapters/local): the
 * input, split at NUL bytes, becomes experiment.json, parameters.json,
 * metrics/loss/data.jsonl, its metadata.json and logs/logs.jsonl of one
 * ml-dash local-store experiment in a temporary folder, which is listed and
 * read to its end; oracle: the sanitizers, and the reader ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xport/error.h"
#include "xport/location.h"
#include "xport/record.h"
#include "xport/sys/adapter.h"

static const char *const names[] = {
    "experiment.json", "parameters.json", "metrics/loss/data.jsonl",
    "metrics/loss/metadata.json", "logs/logs.jsonl"};
#define NFILES (sizeof(names) / sizeof(names[0]))

static char root[3800], expdir[4096];

/* The folder goes at exit; anything the reader left in it (nothing, it
 * only reads) would keep it. */
static void teardown(void)
{
    char p[4400];
    for (size_t i = 0; i < NFILES; i++) {
        snprintf(p, sizeof(p), "%s/%s", expdir, names[i]);
        unlink(p);
    }
    const char *dirs[] = {"/metrics/loss", "/metrics", "/logs", ""};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s%s", expdir, dirs[i]);
        rmdir(p);
    }
    snprintf(p, sizeof(p), "%s/ws/proj/experiments", root);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/ws/proj", root);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/ws", root);
    rmdir(p);
    rmdir(root);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof(root), "%s/xport-fuzz-layout-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root))
        abort();
    snprintf(expdir, sizeof(expdir), "%s/ws", root);
    mkdir(expdir, 0700);
    strcat(expdir, "/proj");
    mkdir(expdir, 0700);
    strcat(expdir, "/experiments");
    mkdir(expdir, 0700);
    strcat(expdir, "/exp1");
    mkdir(expdir, 0700);
    char p[4200];
    snprintf(p, sizeof(p), "%s/metrics", expdir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/metrics/loss", expdir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/logs", expdir);
    mkdir(p, 0700);
    atexit(teardown);
}

static int read_one(const struct xp_experiment_ref *ref, void *payload)
{
    struct xp_adapter *a = payload;
    struct xp_read_opts ro = {XP_RES_ALL, NULL, NULL, NULL};
    struct xp_reader *r;
    if (xp_adapter_read(&r, a, ref, &ro) != 0) {
        xp_error_clear();
        return 0;
    }
    const struct xp_record *rec;
    for (int n = 0; n < 100000 && r->next(r, &rec) == 0; n++)
        ;
    r->free(r);
    xp_error_clear();
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (!root[0])
        setup();
    const unsigned char *p = data, *end = data + size;
    for (size_t i = 0; i < NFILES; i++) {
        const unsigned char *z = memchr(p, 0, (size_t)(end - p));
        size_t n = z ? (size_t)(z - p) : (size_t)(end - p);
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s", expdir, names[i]);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
            abort();
        p = z ? z + 1 : end;
    }
    static struct xp_ctx ctx;
    struct xp_location loc;
    struct xp_adapter *a;
    xp_location_from(&loc, "local", root);
    if (xp_adapter_open(&a, &loc, NULL, &ctx) == 0) {
        xp_adapter_list(a, read_one, a);
        xp_adapter_close(a);
    }
    xp_location_release(&loc);
    xp_error_clear();
    return 0;
}
