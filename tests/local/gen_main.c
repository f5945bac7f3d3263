/* xport-test-gen DIR [N]: writes the edge-case layout, or N small
 * experiments run-001.. (gen_layout.h). */
#include <stdio.h>

#include "gen_layout.h"
#include "xport/numparse.h"

int main(int argc, char **argv)
{
    int64_t n = 0;
    if (argc < 2 || argc > 3 || (argc == 3 && xp_parse_range(argv[2], 1, 10000000, &n))) {
        fprintf(stderr, "usage: xport-test-gen DIR [N]\n");
        return 2;
    }
    if (argc == 3)
        return gen_many_layout(argv[1], (int)n, 3) ? 1 : 0;
    return gen_edge_layout(argv[1], 1000) ? 1 : 0;
}
