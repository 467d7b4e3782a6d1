/* cli_common.c: option handling shared by the subcommands: integers in a range,
 * --isa-max names, --kernel resolution with the usage-error/failure split, and
 * loading a model with its kernel runner (tb_cli_open).  Each helper prints its own one-line
 * error prefixed "ternbench CMD: " (this is CLI code, so it may print). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "driver.h" /* TB_POOL_MAX: the thread pool's limit */
#include "kernel.h"
#include "model.h"
#include "runner.h"
#include "tune.h"

int tb_cli_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "ternbench %s: %s wants an integer in %d..%d, got '%s'\n", cmd, opt, lo, hi, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int tb_cli_model_opt(const char *cmd, int argc, char **argv, int *i, tb_cli_model_opts *o) {
    const char *a = argv[*i];
    const char **dst = !strcmp(a, "--model")     ? &o->model
                       : !strcmp(a, "--kernel")  ? &o->kernel
                       : !strcmp(a, "--isa-max") ? &o->isa
                                                 : NULL;
    if (dst) return (*dst = tb_arg_value(argc, argv, i)) ? 1 : -1;
    if (strcmp(a, "--threads")) return 0;
    const char *v = tb_arg_value(argc, argv, i);
    return v && tb_cli_int(cmd, a, v, 0, TB_POOL_MAX, &o->threads) == 0 ? 1 : -1;
}

int tb_cli_isa_mask(const char *cmd, const char *name, unsigned *mask) {
    if (!name) {
        *mask = TB_ISA_ALL;
        return 0;
    }
    if (tb_isa_mask_from_name(name, mask) < 0) {
        fprintf(stderr, "ternbench %s: unknown --isa-max '%s' (expected one of: %s)\n", cmd, name, TB_CLI_ISA_NAMES);
        return -1;
    }
    return 0;
}

int tb_cli_kernel(const char *cmd, const char *name, unsigned mask, const tb_kernel **k) {
    return tb_cli_kernel_for(cmd, name, mask, 0, k);
}

int tb_cli_kernel_for(const char *cmd, const char *name, unsigned mask, int threads, const tb_kernel **k) {
    tb_err e = {{0}};
    *k = NULL;
    if (!name || !*name || !strcmp(name, "best")) {
        char why[1300];
        const tb_kernel *tuned = tb_tune_best(mask, threads > 0 ? threads : tb_ncores(), why, sizeof why);
        if (tuned) {
            fprintf(stderr, "ternbench %s: --kernel best = %s, %s\n", cmd, tuned->name, why);
            *k = tuned;
            return 0;
        }
    }
    if (tb_kernel_resolve(name, mask, k, &e) == 0) return 0;
    fprintf(stderr, "ternbench %s: %s\n", cmd, e.msg); /* e.msg names the kernel */
    /* an unknown name is a usage error; a known kernel this CPU cannot run is a failure */
    const bool unknown = name && *name && strcmp(name, "ref") && strcmp(name, "best") && !tb_kernel_find(name);
    return unknown ? 2 : 1;
}

int tb_cli_open(const char *cmd, const tb_cli_model_opts *o, const tb_kernel **k, tb_model **m, tb_runner **runner) {
    tb_err e = {{0}};
    unsigned mask;
    *k = NULL;
    *m = NULL;
    *runner = NULL;
    if (tb_cli_isa_mask(cmd, o->isa, &mask)) return 2;
    const int rc = tb_cli_kernel_for(cmd, o->kernel, mask, o->threads, k);
    if (rc) return rc;
    if (tb_model_load(o->model, m, &e) < 0) {
        fprintf(stderr, "ternbench %s: %s\n", cmd, e.msg);
        return 1;
    }
    if (*k && tb_runner_new(*m, *k, o->threads, runner, &e) < 0) {
        fprintf(stderr, "ternbench %s: %s: %s\n", cmd, (*k)->name, e.msg);
        tb_model_free(*m);
        *m = NULL;
        return 1;
    }
    return 0;
}
