/* xport-test-gen DIR: writes the edge-case layout (gen_layout.h). */
#include <stdio.h>

#include "gen_layout.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: xport-test-gen DIR\n");
        return 2;
    }
    return gen_edge_layout(argv[1], 1000) ? 1 : 0;
}
