/* Feeds layout files to the local adapter's reader (adapters/local) through
 * fuzz_tree.h: the input, split at NUL bytes, becomes experiment.json,
 * parameters.json, metrics/loss/data.jsonl, its metadata.json and
 * logs/logs.jsonl of one ml-dash local-store experiment, which is listed and
 * read to its end; oracle: the sanitizers, and the reader ends. */
#include "fuzz_tree.h"

#define EXP "ws/proj/experiments/exp1/"
static const char *const paths[] = {EXP "experiment.json", EXP "parameters.json",
                                    EXP "metrics/loss/data.jsonl",
                                    EXP "metrics/loss/metadata.json", EXP "logs/logs.jsonl"};

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    return fuzz_tree_run("local", NULL, paths, sizeof(paths) / sizeof(paths[0]), data, size);
}
