/* cmd_bench_e2e.c: `ternbench bench-e2e` (placeholder until its issue lands). */
#include <stdio.h>

#include "cli.h"

int tb_cmd_bench_e2e(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "ternbench bench-e2e: not implemented yet\n");
    return 1;
}
