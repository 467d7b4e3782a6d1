/* cmd_synth.c: `ternbench synth` (placeholder until its issue lands). */
#include <stdio.h>

#include "cli.h"

int tb_cmd_synth(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "ternbench synth: not implemented yet\n");
    return 1;
}
