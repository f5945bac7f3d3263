/* For fuzz targets that read a folder through an on-disk adapter: the input
 * is split at NUL bytes into the contents of a fixed list of files (the
 * first piece to the first path, and so on; missing pieces make empty
 * files), written under one temporary folder per process; then the adapter
 * is opened there, every experiment it lists is read to the end, and the
 * files are emptied again. Oracle: the sanitizers, and that reading ends. */
#ifndef XPORT_FUZZ_TREE_H
#define XPORT_FUZZ_TREE_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xport/error.h"
#include "xport/location.h"
#include "xport/sys/adapter.h"

static char fuzz_tree_root[3000];

static void fuzz_tree_rm(void)
{
    char cmd[3100];
    /* the folder holds only what this process wrote */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_tree_root);
    if (fuzz_tree_root[0] && system(cmd) != 0)
        fprintf(stderr, "fuzz: could not remove %s\n", fuzz_tree_root);
}

static void fuzz_tree_mkdirs(char *path)
{
    for (char *s = path + strlen(fuzz_tree_root) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(path, 0700);
        *s = '/';
    }
}

static int fuzz_tree_read_one(const struct xp_experiment_ref *ref, void *payload)
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

/* Warnings are built (their formatting runs) but not printed. */
static void fuzz_tree_quiet(void *payload, const char *msg)
{
    (void)payload;
    (void)msg;
}

/* The process's temporary folder, made on first use. */
static const char *fuzz_tree_dir(void)
{
    if (!fuzz_tree_root[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(fuzz_tree_root, sizeof(fuzz_tree_root), "%s/xport-fuzz-tree-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(fuzz_tree_root))
            abort();
        atexit(fuzz_tree_rm);
    }
    return fuzz_tree_root;
}

/* Read the folder root/sub with `adapter`: every experiment to its end. */
static inline void fuzz_tree_read(const char *adapter, const char *sub)
{
    static struct xp_ctx ctx = {.warn = fuzz_tree_quiet};
    struct xp_location loc;
    struct xp_adapter *a;
    char path[4200];
    snprintf(path, sizeof(path), "%s%s%s", fuzz_tree_dir(), sub && *sub ? "/" : "",
             sub ? sub : "");
    if (xp_location_from(&loc, adapter, path) == 0 && xp_adapter_open(&a, &loc, NULL, &ctx) == 0) {
        xp_adapter_list(a, fuzz_tree_read_one, a);
        xp_adapter_close(a);
    }
    xp_location_release(&loc);
    xp_error_clear();
}

/* Write the pieces of data to paths[0..n) (relative to the root), then read
 * the folder root/sub with `adapter`. */
static inline int fuzz_tree_run(const char *adapter, const char *sub, const char *const *paths,
                                size_t n, const unsigned char *data, size_t size)
{
    fuzz_tree_dir();
    const unsigned char *p = data, *end = data + size;
    char path[4200];
    for (size_t i = 0; i < n; i++) {
        const unsigned char *z = p < end ? memchr(p, 0, (size_t)(end - p)) : NULL;
        size_t len = z ? (size_t)(z - p) : (size_t)(end - p);
        snprintf(path, sizeof(path), "%s/%s", fuzz_tree_root, paths[i]);
        fuzz_tree_mkdirs(path);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0)
            abort();
        p = z ? z + 1 : end;
    }
    fuzz_tree_read(adapter, sub);
    return 0;
}
#endif
