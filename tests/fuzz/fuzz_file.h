/* For fuzz targets whose entry point takes a path: one temporary file per
 * process, rewritten with each input. */
#ifndef XPORT_FUZZ_FILE_H
#define XPORT_FUZZ_FILE_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *fuzz_file(const char *suffix, const void *data, size_t size)
{
    static char path[4096];
    static int fd = -1;
    if (fd < 0) {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof(path), "%s/xport-fuzz-XXXXXX%s",
                 tmp && *tmp ? tmp : "/tmp", suffix);
        fd = mkstemps(path, (int)strlen(suffix));
        if (fd < 0)
            abort();
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    return path;
}
#endif
