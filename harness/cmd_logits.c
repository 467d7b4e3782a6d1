/* cmd_logits.c: `ternbench logits` (placeholder until its issue lands). */
#include <stdio.h>

#include "cli.h"

int tb_cmd_logits(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "ternbench logits: not implemented yet\n");
    return 1;
}
