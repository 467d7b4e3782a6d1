/* cmd_paper.c: `ternbench paper` (placeholder until its issue lands). */
#include <stdio.h>

#include "cli.h"

int tb_cmd_paper(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "ternbench paper: not implemented yet\n");
    return 1;
}
