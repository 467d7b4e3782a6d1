/* cmd_tune.c: `ternbench tune`: measure which exact CPU kernel decodes fastest here, per
 * thread count, and cache it for `--kernel best` (tune.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "driver.h"
#include "tune.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ternbench tune [--threads LIST] [--kernel GLOB] [--isa-max ISA] [--reps N] [-o PATH]\n"
            "       ternbench tune --show [-o PATH]\n\n"
            "Times every exact CPU kernel (each first passes the kernel checker) on one 2B4T layer of\n"
            "decode GEMVs (q, k, v, o, gate, up, down; weights cold) at each thread count and caches\n"
            "the fastest per thread count.  `--kernel best` (the default of generate, logits, bench-e2e\n"
            "and paper) then uses the tuned kernel for the run's thread count on this machine (the\n"
            "cache records the CPU, its ISA and the registry, and is ignored elsewhere); without it,\n"
            "the static priority.\n"
            "  --threads LIST   thread counts, e.g. 1,2 (0 = all cores; default: 1, 2, 4, ... up to the core count)\n"
            "  --kernel GLOB    only these kernels (default: all)\n"
            "  --plugin PATH     kernels from a shared object (repeatable; also TERNBENCH_PLUGINS=a.so:b.so),\n"
            "                    named plugin:<name> (kernels/ternbench_plugin.h)\n"
            "  --isa-max ISA    " TB_CLI_ISA_NAMES "\n"
            "  --reps N         repetitions per GEMV, median taken (default 3)\n"
            "  -o PATH          cache file (default: $TERNBENCH_CACHE or ~/.cache/ternbench, tune.json)\n"
            "  --show           print the cache and whether it applies to this machine\n");
}

static void on_progress(void *user, const char *line) {
    (void)user;
    fprintf(stderr, "%s\n", line);
}

static void print_picks(const tb_tune_result *r) {
    printf("threads  fastest exact kernel             layer ms   runner-up                        layer ms\n");
    for (int i = 0; i < r->n; i++) {
        const tb_tune_pick *p = &r->pick[i];
        printf("%7d  %-32s %8.3f   %-32s %8.3f\n", p->threads, p->best[0] ? p->best : "(none timed)", p->layer_ms,
               p->runner_up[0] ? p->runner_up : "-", p->runner_up_ms);
    }
}

static int show(const char *path) {
    tb_err e;
    tb_tune_result r;
    char sig[400];
    if (tb_tune_load(path, &r, &e) < 0) {
        fprintf(stderr, "ternbench tune: %s\n", e.msg);
        return 1;
    }
    tb_tune_signature(sig, sizeof sig);
    printf("cache      %s\ntuned on   %s\nthis host  %s (%s)\n", path, r.signature, sig,
           strcmp(sig, r.signature) ? "differs: the cache is ignored here" : "matches");
    for (int i = 0; i < r.n; i++) r.pick[i].runner_up_ms = NAN;
    print_picks(&r);
    return 0;
}

int tb_cmd_tune(int argc, char **argv) {
    const char *th_s = NULL, *glob = NULL, *isa_s = NULL, *reps_s = NULL, *out = NULL;
    bool do_show = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--show")) {
            do_show = true;
            continue;
        }
        const char **dst = !strcmp(a, "--threads") ? &th_s
                           : !strcmp(a, "--kernel") ? &glob
                           : !strcmp(a, "--isa-max") ? &isa_s
                           : !strcmp(a, "--reps")   ? &reps_s
                           : !strcmp(a, "-o")       ? &out
                                                    : NULL;
        if (!dst) {
            fprintf(stderr, "ternbench tune: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (!(*dst = tb_arg_value(argc, argv, &i))) return 2;
    }
    tb_err e;
    char path[1100];
    if (!out) {
        if (tb_tune_cache_path(path, sizeof path, &e) < 0) {
            fprintf(stderr, "ternbench tune: %s\n", e.msg);
            return 1;
        }
        out = path;
    }
    if (do_show) return show(out);
    int threads[TB_TUNE_MAX_THREADS], nt = 0, reps = 3;
    unsigned mask;
    if (tb_cli_isa_mask("tune", isa_s, &mask) || (reps_s && tb_cli_int("tune", "--reps", reps_s, 1, 100, &reps)))
        return 2;
    if (th_s) {
        if ((nt = tb_cli_thread_list("tune", th_s, threads, TB_TUNE_MAX_THREADS)) < 0) return 2;
    } else {
        for (int t = 1; t < tb_ncores() && nt < TB_TUNE_MAX_THREADS - 1; t *= 2) threads[nt++] = t;
        threads[nt++] = tb_ncores();
    }
    if (tb_cli_out_file("tune", "-o", out, false)) return 2;
    tb_tune_opts o = {.kernel_glob = glob, .isa_mask = mask, .threads = threads, .n_threads = nt, .reps = reps,
                      .progress = on_progress};
    tb_tune_result r;
    if (tb_tune_run(&o, &r, &e) < 0 || tb_tune_save(&r, out, &e) < 0) {
        fprintf(stderr, "ternbench tune: %s\n", e.msg);
        return 1;
    }
    print_picks(&r);
    printf("wrote %s (used by --kernel best on this machine)\n", out);
    return 0;
}
