/* cmd_check.c: `ternbench check` (placeholder until its issue lands). */
#include <stdio.h>

#include "cli.h"

int tb_cmd_check(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "ternbench check: not implemented yet\n");
    return 1;
}
