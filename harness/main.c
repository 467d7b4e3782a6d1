/* main.c: `ternbench <command> [options]`, dispatching to harness/cmd_*.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "plugin.h"
#include "results.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} command;

#define TB_ENTRY(name, help) {#name, tb_cmd_##name, help},
static const command commands[] = {TB_CMDS(TB_ENTRY)};
#undef TB_ENTRY

static void usage(FILE *f) {
    fprintf(f,
            "ternbench: a research harness for ternary (1.58-bit) LLM kernels (BitNet b1.58 2B4T)\n\n"
            "usage: ternbench <command> [options]     (ternbench <command> --help for each)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s", commands[i].name);
        for (char *p = name; *p; p++)
            if (*p == '_') *p = '-';
        fprintf(f, "  %-18s %s\n", name, commands[i].help);
    }
}

const char *tb_cli_cmd = "";

const char *tb_arg_value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        tb_cli_usage("option %s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int tb_cli_usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ternbench%s%s: ", *tb_cli_cmd ? " " : "", tb_cli_cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

const char *tb_data_dir(void) {
    const char *env = getenv("TERNBENCH_DATA");
    if (env && *env) return env;
#ifdef TB_DEFAULT_DATA_DIR
    if (access(TB_DEFAULT_DATA_DIR, R_OK) == 0) return TB_DEFAULT_DATA_DIR;
#endif
    return NULL;
}

/* The commands that take --kernel also take --plugin PATH (harness/plugin.c). */
static int takes_kernels(const char *name) {
    static const char *const with[] = {"check", "bench", "bench_e2e", "ppl", "generate", "logits", "sweep", "tune", "paper"};
    for (size_t i = 0; i < sizeof with / sizeof with[0]; i++)
        if (!strcmp(name, with[i])) return 1;
    return 0;
}

int main(int argc, char **argv) {
    tb_provenance_mark_start();
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    char want[64];
    snprintf(want, sizeof want, "%s", argv[1]);
    for (char *p = want; *p; p++)
        if (*p == '-') *p = '_';
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(want, commands[i].name)) {
            tb_cli_cmd = argv[1];
            if (takes_kernels(commands[i].name)) {
                tb_err e;
                int sub_argc = argc - 1;
                if (tb_plugins_load_args(&sub_argc, argv + 1, &e) < 0) {
                    fprintf(stderr, "ternbench %s: %s\n", argv[1], e.msg);
                    return 1;
                }
                return commands[i].fn(sub_argc, argv + 1);
            }
            return commands[i].fn(argc - 1, argv + 1);
        }
    fprintf(stderr, "ternbench: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
