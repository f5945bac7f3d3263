/* For fuzz targets whose entry point takes a path: one temporary file per
 * process, rewritten with each input and removed at exit. */
#ifndef XPORT_FUZZ_FILE_H
#define XPORT_FUZZ_FILE_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_file_path[4096];

static void fuzz_file_remove(void)
{
    unlink(fuzz_file_path);
}

static const char *fuzz_file(const char *suffix, const void *data, size_t size)
{
    char *path = fuzz_file_path;
    static int fd = -1;
    if (fd < 0) {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof(fuzz_file_path), "%s/xport-fuzz-XXXXXX%s",
                 tmp && *tmp ? tmp : "/tmp", suffix);
        fd = mkstemps(path, (int)strlen(suffix));
        if (fd < 0)
            abort();
        atexit(fuzz_file_remove);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    return path;
}
#endif
