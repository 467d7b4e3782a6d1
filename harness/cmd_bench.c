/* cmd_bench.c: `ternbench bench` (placeholder until its issue lands). */
#include <stdio.h>

#include "cli.h"

int tb_cmd_bench(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "ternbench bench: not implemented yet\n");
    return 1;
}
