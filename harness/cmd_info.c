/* cmd_info.c: `ternbench info` (placeholder until its issue lands). */
#include <stdio.h>

#include "cli.h"

int tb_cmd_info(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "ternbench info: not implemented yet\n");
    return 1;
}
