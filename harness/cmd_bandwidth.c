/* cmd_bandwidth.c: `ternbench bandwidth` (placeholder until its issue lands). */
#include <stdio.h>

#include "cli.h"

int tb_cmd_bandwidth(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "ternbench bandwidth: not implemented yet\n");
    return 1;
}
