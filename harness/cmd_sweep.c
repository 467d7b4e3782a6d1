/* cmd_sweep.c: `ternbench sweep` (placeholder until its issue lands). */
#include <stdio.h>

#include "cli.h"

int tb_cmd_sweep(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "ternbench sweep: not implemented yet\n");
    return 1;
}
