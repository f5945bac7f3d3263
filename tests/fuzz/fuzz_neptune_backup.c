/* Feeds one run of a Neptune backup folder (the CSV and JSON files Neptune's
 * export tool wrote) to the neptune-backup adapter (adapters/neptune/npb_*.c)
 * through fuzz_tree.h: simple_metadata.json, float and string series, a
 * monitoring series and a file-set zip. */
#include "fuzz_tree.h"

#define RUN "team/proj/CLS-1/"
static const char *const paths[] = {RUN "simple_metadata.json", RUN "train/loss.csv",
                                    RUN "monitoring/0a1b2c3d/stdout.csv", RUN "results.csv",
                                    RUN "source_code/files.zip"};

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    return fuzz_tree_run("neptune-backup", NULL, paths, sizeof(paths) / sizeof(paths[0]),
                         data, size);
}
