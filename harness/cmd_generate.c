/* cmd_generate.c: `ternbench generate` (placeholder until its issue lands). */
#include <stdio.h>

#include "cli.h"

int tb_cmd_generate(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "ternbench generate: not implemented yet\n");
    return 1;
}
