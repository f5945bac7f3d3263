/* Feeds one run of neptune-client 1.x's offline disk queue to the
 * neptune-offline adapter (adapters/neptune/npt_*.c) through fuzz_tree.h:
 * the container's metadata.json, two queue segments (data-N.log) and
 * last_put_version. */
#include "fuzz_tree.h"

#define RUN ".neptune/offline/run__3f1c2a9e-5b7d-4e21-9c33-0a1b2c3d4e5f__1__abcdefgh/"
static const char *const paths[] = {RUN "metadata.json", RUN "data-1.log", RUN "data-2.log",
                                    RUN "last_put_version"};

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    return fuzz_tree_run("neptune-offline", NULL, paths, sizeof(paths) / sizeof(paths[0]),
                         data, size);
}
