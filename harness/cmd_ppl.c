/* cmd_ppl.c: `ternbench ppl` (placeholder until its issue lands). */
#include <stdio.h>

#include "cli.h"

int tb_cmd_ppl(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "ternbench ppl: not implemented yet\n");
    return 1;
}
