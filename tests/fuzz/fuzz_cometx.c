/* Feeds the files of one experiment of a `cometx download` folder to the
 * cometx adapter (adapters/comet/cometx*.c) through fuzz_tree.h: metadata,
 * parameters, metrics, others, system details, the assets' metadata, git
 * metadata, console output and the project's metadata. */
#include "fuzz_tree.h"

#define EXP "ws/proj/0123456789abcdef0123456789abcdef/"
static const char *const paths[] = {
    EXP "metadata.json",       EXP "parameters.json",
    EXP "metrics.jsonl",       EXP "others.jsonl",
    EXP "system_details.json", EXP "assets/assets_metadata.jsonl",
    EXP "run/git_metadata.json", EXP "run/output.txt",
    "ws/proj/project_metadata.json"};

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    return fuzz_tree_run("cometx", NULL, paths, sizeof(paths) / sizeof(paths[0]), data, size);
}
