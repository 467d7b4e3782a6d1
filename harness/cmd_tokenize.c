/* cmd_tokenize.c: `ternbench tokenize` (placeholder until its issue lands). */
#include <stdio.h>

#include "cli.h"

int tb_cmd_tokenize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "ternbench tokenize: not implemented yet\n");
    return 1;
}
