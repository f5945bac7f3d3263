/* Feeds an offline experiment of comet_ml's OfflineExperiment to the
 * comet-offline adapter (adapters/comet/comet_offline*.c): the input, split
 * at the first NUL byte, becomes experiment.json and messages.json of a zip
 * (stored, written with libzip, so that the bytes reach the adapter's parsers
 * rather than the zip reader, which fuzz_zip covers), which is listed and
 * read through fuzz_tree.h; oracle: the sanitizers, and the reader ends. */
#include <zip.h>

#include "fuzz_tree.h"

static void add(zip_t *z, const char *name, const unsigned char *p, size_t n)
{
    zip_source_t *s = zip_source_buffer(z, p, n, 0);
    zip_int64_t i = s ? zip_file_add(z, name, s, ZIP_FL_OVERWRITE) : -1;
    if (i < 0)
        abort();
    zip_set_file_compression(z, (zip_uint64_t)i, ZIP_CM_STORE, 0);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/0fedcba98765432100fedcba98765432.zip", fuzz_tree_dir());
    const unsigned char *z0 = memchr(data, 0, size);
    size_t n1 = z0 ? (size_t)(z0 - data) : size;
    int err = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z)
        abort();
    add(z, "experiment.json", data, n1);
    add(z, "messages.json", z0 ? z0 + 1 : data + size, z0 ? size - n1 - 1 : 0);
    if (zip_close(z) != 0)
        abort();
    fuzz_tree_read("comet-offline", NULL);
    return 0;
}
