/* cmd_bench.c: `ternbench bench`: every kernel x GEMV shape x thread count
 * through Google Benchmark (cold weights, pre-checked kernels only), with the
 * memory bandwidth measured first as the roofline. */
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bandwidth.h"
#include "bench.h"
#include "cli.h"
#include "driver.h"
#include "results.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ternbench bench [options] [--benchmark_* flags]\n\n"
            "Times every registered kernel (that passes a correctness pre-check) on the 2B4T\n"
            "decode GEMV shapes at each thread count, weights cold (rotated copies > 2x LLC).\n"
            "Counters: bytes_per_second (packed weights), ops_per_second, bpw, roofline_frac\n"
            "(vs the read bandwidth measured at the start), prep_s (LUT/prep part).\n\n"
            "options:\n"
            "  --kernel GLOB        kernels to time (default: all registered)\n"
            "  --plugin PATH     kernels from a shared object (repeatable; also TERNBENCH_PLUGINS=a.so:b.so),\n"
            "                    named plugin:<name> (kernels/ternbench_plugin.h)\n"
            "  --shapes LIST        comma list of qo,kv,gateup1,down,qkv,gateup or RxC (default: all)\n"
            "  --threads LIST       e.g. 1,2 or '1 2'; 0 = all cores (default: 1,2,4,.. up to the core count)\n"
            "  --n N                activation rows per GEMV (default 1 = decode)\n"
            "  --llc-bytes SIZE     cache size to defeat, e.g. 32M (default: sysfs L3 if <= 256M, else 64M)\n"
            "  --warm               do not rotate weight copies (weights stay in cache)\n"
            "  --min-time S         seconds per measurement (default 0.1)\n"
            "  --reps N             repetitions; the median is reported (default 1)\n"
            "  --seed N             data seed (default 1)\n"
            "  --isa-max NAME       restrict kernels to an ISA level: " TB_CLI_ISA_NAMES " (default all)\n"
            "  --bw-bytes SIZE      bandwidth buffer (default max(4x LLC, 256M))\n"
            "  --no-bandwidth       skip the bandwidth measurement (no roofline_frac)\n"
            "  --own-timer          use the harness timer instead of Google Benchmark\n"
            "  --json PATH          also write the rows (with provenance) as ternbench JSON\n"
            "  --benchmark_out=PATH, --benchmark_filter=RE, --benchmark_repetitions=N, ...\n"
            "                       passed to Google Benchmark (its JSON works with compare.py)\n");
}

/* The Google Benchmark flags this build passes on (benchmark 1.7); anything else is a
 * usage error found before any work, not after the pre-check. */
static const char *const gb_flags[] = {
    "list_tests", "filter", "min_time", "min_warmup_time", "repetitions", "enable_random_interleaving",
    "report_aggregates_only", "display_aggregates_only", "format", "out", "out_format", "color",
    "counters_tabular", "perf_counters", "context", "time_unit", "dry_run",
};

static bool gb_flag_known(const char *a) {
    const char *name = a + 12; /* after "--benchmark_" */
    size_t n = strcspn(name, "=");
    for (size_t i = 0; i < sizeof gb_flags / sizeof gb_flags[0]; i++)
        if (strlen(gb_flags[i]) == n && !strncmp(gb_flags[i], name, n)) return true;
    return false;
}

/* Whether --benchmark_filter=RE (POSIX extended, a leading '-' negates, as in Google
 * Benchmark) matches any of the benchmarks this run would register, whose names are
 * KERNEL/SHAPE_RxC/threads:T.  Returns 1, 0, or -1 for a bad regex. */
static int gb_filter_matches(const char *re_s, const tb_bench_config *cfg) {
    if (!strcmp(re_s, "all")) return 1; /* Google Benchmark's alias of "." */
    bool neg = re_s[0] == '-';
    regex_t re;
    if (regcomp(&re, re_s + neg, REG_EXTENDED | REG_NOSUB) != 0) return -1;
    const tb_bench_shape *sh = cfg->shapes ? cfg->shapes : tb_bench_2b4t_shapes;
    const int nsh = cfg->shapes ? cfg->n_shapes : tb_bench_n_2b4t_shapes;
    int hit = 0;
    for (int k = 0; k < tb_n_kernels && !hit; k++) {
        if (cfg->kernel_glob && *cfg->kernel_glob && !tb_glob_match(cfg->kernel_glob, tb_kernels[k]->name)) continue;
        for (int s = 0; s < nsh && !hit; s++)
            for (int t = 0; t < cfg->n_threads && !hit; t++) {
                char name[256];
                snprintf(name, sizeof name, "%s/%s%s%dx%d/threads:%d", tb_kernels[k]->name, sh[s].name ? sh[s].name : "",
                         sh[s].name ? "_" : "", sh[s].rows, sh[s].cols, cfg->threads[t]);
                hit = (regexec(&re, name, 0, NULL, 0) == 0) != neg;
            }
    }
    regfree(&re);
    return hit;
}

/* The --benchmark_* flags, checked before any work. */
static int check_gb_flags(char **gb, int ngb, const tb_bench_config *cfg) {
    for (int i = 0; i < ngb; i++) {
        if (!gb_flag_known(gb[i]))
            return tb_cli_usage("unknown Google Benchmark flag '%s' (known: --benchmark_filter=RE, "
                                "--benchmark_out=PATH, --benchmark_repetitions=N, --benchmark_min_time=S, ...)", gb[i]);
        if (!strncmp(gb[i], "--benchmark_out=", 16) && tb_cli_out_file("bench", "--benchmark_out", gb[i] + 16, false))
            return 2;
        if (strncmp(gb[i], "--benchmark_filter=", 19)) continue;
        const int m = gb_filter_matches(gb[i] + 19, cfg);
        if (m < 0) return tb_cli_usage("%s: not a valid regular expression", gb[i]);
        if (m == 0)
            return tb_cli_usage("%s matches no benchmark of this run (names are KERNEL/SHAPE_RxC/threads:T, e.g. "
                                "%s/qo_2560x2560/threads:1; see --kernel, --shapes, --threads)", gb[i],
                                tb_n_kernels ? tb_kernels[0]->name : "KERNEL");
    }
    return 0;
}

/* Parses "qo,kv,512x256" into shapes (names point into `names` storage). */
static int parse_shapes(const char *s, tb_bench_shape *out, int max, char names[][32], tb_err *e) {
    if (!strcmp(s, "all")) {
        for (int i = 0; i < tb_bench_n_2b4t_shapes && i < max; i++) out[i] = tb_bench_2b4t_shapes[i];
        return tb_bench_n_2b4t_shapes;
    }
    int n = 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (n >= max) return tb_fail(e, "too many shapes (max %d)", max);
        if (tb_bench_shape_parse(tok, &out[n], e) < 0) return -1;
        if (!out[n].name) {
            snprintf(names[n], 32, "custom");
            out[n].name = names[n];
        }
        n++;
    }
    if (n == 0) return tb_fail(e, "no shapes in '%s'", s);
    return n;
}

static void on_progress(void *user, const char *line) {
    (void)user;
    if (!strncmp(line, "pre-check", 9)) return; /* Google Benchmark prints the table */
    fprintf(stderr, "%s\n", line);
}

/* The rows as a table: median us/iter and the stddev over the repetitions (the
 * dispersion Google Benchmark or the own timer computed; "-" with one repetition);
 * kernels this CPU cannot run are one line at the end, not a row per shape. */
static void print_table(const tb_bench_row *rows, int nrows) {
    printf("\n%-30s %-18s %3s %10s %8s %9s %7s %6s %8s %9s\n", "kernel", "shape", "thr", "us/iter", "+-sd", "GB/s",
           "GOPS", "bpw", "roofline", "prep us");
    char unsup[1024] = "";
    int n_unsup = 0;
    for (int i = 0; i < nrows; i++) {
        const tb_bench_row *r = &rows[i];
        if (!r->timed && !strncmp(r->why, "not supported here", 18)) {
            bool seen = false;
            for (int j = 0; j < i; j++) seen |= !strcmp(rows[j].kernel, r->kernel) && !rows[j].timed;
            if (!seen && strlen(unsup) + strlen(r->kernel) + 3 < sizeof unsup) {
                snprintf(unsup + strlen(unsup), sizeof unsup - strlen(unsup), "%s%s", n_unsup ? ", " : "", r->kernel);
                n_unsup++;
            }
            continue;
        }
        if (!r->timed) {
            printf("%-30s %-18s %3d   not timed: %s\n", r->kernel, r->shape, r->threads, r->why);
            continue;
        }
        char rf[16] = "n/a", sd[16] = "-";
        if (r->roofline_frac == r->roofline_frac) snprintf(rf, sizeof rf, "%.1f%%", 100 * r->roofline_frac);
        if (r->seconds_sd == r->seconds_sd) snprintf(sd, sizeof sd, "%.1f", r->seconds_sd * 1e6);
        printf("%-30s %-18s %3d %10.1f %8s %9.2f %7.1f %6.3f %8s %9.2f\n", r->kernel, r->shape, r->threads,
               r->seconds * 1e6, sd, r->gbps, r->gops, r->bpw, rf, r->prep_seconds * 1e6);
    }
    if (n_unsup) printf("not timed, not supported by this CPU (%d): %s\n", n_unsup, unsup);
}

int tb_cmd_bench(int argc, char **argv) {
    tb_bench_config cfg;
    tb_bench_config_default(&cfg);
    const char *json = NULL, *shapes_s = NULL, *threads_s = NULL, *llc_s = NULL, *bwb_s = NULL, *isa_s = NULL;
    bool no_bw = false, own = false, gb_min_time = false;
    int gb_reps = 0;
    char **gb = calloc((size_t)argc + 1, sizeof *gb);
    int ngb = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            free(gb);
            return 0;
        }
#define VAL(dst)                                  \
    do {                                          \
        if (!((dst) = tb_arg_value(argc, argv, &i))) { \
            free(gb);                             \
            return 2;                             \
        }                                         \
    } while (0)
        const char *v = NULL;
        if (!strcmp(a, "--kernel")) VAL(cfg.kernel_glob);
        else if (!strcmp(a, "--shapes")) VAL(shapes_s);
        else if (!strcmp(a, "--threads")) VAL(threads_s);
        else if (!strcmp(a, "--llc-bytes")) VAL(llc_s);
        else if (!strcmp(a, "--bw-bytes")) VAL(bwb_s);
        else if (!strcmp(a, "--isa-max")) VAL(isa_s);
        else if (!strcmp(a, "--json")) VAL(json);
        else if (!strcmp(a, "--warm")) cfg.cold = false;
        else if (!strcmp(a, "--no-bandwidth")) no_bw = true;
        else if (!strcmp(a, "--own-timer")) own = true;
        else if (!strcmp(a, "--n") || !strcmp(a, "--min-time") || !strcmp(a, "--reps") || !strcmp(a, "--seed")) {
            VAL(v);
            char *end;
            double x = strtod(v, &end);
            if (*end || !(x > 0) || (strcmp(a, "--min-time") && x != floor(x)) || x > 1e9) {
                fprintf(stderr, "ternbench bench: bad value '%s' for %s\n", v, a);
                free(gb);
                return 2;
            }
            if (!strcmp(a, "--n")) cfg.n_tok = (int)x;
            else if (!strcmp(a, "--min-time")) cfg.min_time = x;
            else if (!strcmp(a, "--reps")) cfg.reps = (int)x;
            else cfg.seed = (uint64_t)x;
        } else if (!strncmp(a, "--benchmark_", 12)) {
            gb[ngb++] = argv[i];
            /* Google Benchmark's own min_time / repetitions flags win over ours; the
             * repetition count is also needed to pick the median aggregate. */
            if (!strncmp(a, "--benchmark_min_time=", 21)) gb_min_time = true;
            if (!strncmp(a, "--benchmark_repetitions=", 24)) {
                char *end;
                long r = strtol(a + 24, &end, 10);
                if (*end || r < 1 || r > 64) {
                    fprintf(stderr, "ternbench bench: bad %s (1..64)\n", a);
                    free(gb);
                    return 2;
                }
                gb_reps = (int)r;
            }
        } else {
            fprintf(stderr, "ternbench bench: unknown option '%s' (see --help)\n", a);
            free(gb);
            return 2;
        }
#undef VAL
    }
    if (cfg.n_tok > 4096 || cfg.reps > 64) {
        fprintf(stderr, "ternbench bench: --n must be <= 4096 and --reps <= 64\n");
        free(gb);
        return 2;
    }
    tb_err e;
    tb_bench_shape shapes[32];
    char names[32][32];
    if (shapes_s) {
        int n = parse_shapes(shapes_s, shapes, 32, names, &e);
        if (n < 0) {
            tb_cli_err(e.msg);
            free(gb);
            return 2;
        }
        cfg.shapes = shapes;
        cfg.n_shapes = n;
    }
    int *threads = NULL, nthreads = 0, defthreads[16];
    if (threads_s) {
        threads = malloc(64 * sizeof *threads);
        if (!threads || (nthreads = tb_cli_thread_list("bench", threads_s, threads, 64)) < 0) {
            free(gb);
            free(threads);
            return 2;
        }
        cfg.threads = threads;
    } else {
        nthreads = tb_bench_default_threads(tb_ncores(), defthreads, 16);
        cfg.threads = defthreads;
    }
    cfg.n_threads = nthreads;
    char llc_src[128];
    size_t llc_conf = 0;
    if (llc_s && !(llc_conf = tb_parse_size(llc_s))) {
        fprintf(stderr, "ternbench bench: bad --llc-bytes '%s' (e.g. 32M)\n", llc_s);
        free(gb);
        free(threads);
        return 2;
    }
    cfg.llc_bytes = tb_llc_bytes(llc_conf, llc_src, sizeof llc_src);
    if (isa_s && tb_cli_isa_mask("bench", isa_s, &cfg.isa_mask)) {
        free(gb);
        free(threads);
        return 2;
    }
    if (cfg.kernel_glob && *cfg.kernel_glob) { /* a glob that names no kernel is a usage error */
        int matched = 0;
        for (int k = 0; k < tb_n_kernels; k++) matched += tb_glob_match(cfg.kernel_glob, tb_kernels[k]->name);
        if (!matched) {
            fprintf(stderr, "ternbench bench: --kernel %s matches no registered kernel (see `ternbench check --list`)\n",
                    cfg.kernel_glob);
            free(gb);
            free(threads);
            return 2;
        }
    }
    size_t bw_bytes = cfg.llc_bytes * 4 > (256u << 20) ? cfg.llc_bytes * 4 : (256u << 20);
    if (bwb_s && !(bw_bytes = tb_parse_size(bwb_s))) {
        fprintf(stderr, "ternbench bench: bad --bw-bytes '%s'\n", bwb_s);
        free(gb);
        free(threads);
        return 2;
    }
    if (own) cfg.use_gbench = false;
    if (cfg.use_gbench && !tb_bench_have_gbench()) {
        fprintf(stderr, "ternbench bench: this build has no Google Benchmark (install libbenchmark-dev and "
                        "reconfigure with -Dbenchmark=enabled), or pass --own-timer\n");
        free(gb);
        free(threads);
        return 1;
    }
    if (ngb && !cfg.use_gbench) {
        fprintf(stderr, "ternbench bench: --benchmark_* flags need Google Benchmark (not with --own-timer)\n");
        free(gb);
        free(threads);
        return 2;
    }
    if ((json && tb_cli_out_file("bench", "--json", json, false)) || check_gb_flags(gb, ngb, &cfg)) {
        free(gb);
        free(threads);
        return 2;
    }
    if (gb_min_time) cfg.min_time = 0; /* let --benchmark_min_time apply */
    if (gb_reps) cfg.reps = gb_reps;
    cfg.gb_argc = ngb;
    cfg.gb_argv = gb;
    cfg.console = true;
    cfg.progress = on_progress;

    fprintf(stderr, "bench: LLC %zu MiB (%s); weights %s; timer: %s\n", cfg.llc_bytes >> 20, llc_src,
            cfg.cold ? "cold (rotated copies > 2x LLC)" : "warm", tb_bench_timer_name(cfg.use_gbench));
    tb_bw_result bw[16];
    int nbw = 0;
    if (!no_bw) {
        for (int i = 0; i < nthreads && nbw < 16; i++) {
            if (tb_bandwidth_measure(bw_bytes, cfg.threads[i], 5, &bw[nbw], &e) < 0) {
                tb_cli_err(e.msg);
                free(gb);
                free(threads);
                return 1;
            }
            fprintf(stderr, "bandwidth: %d thread%s: %.2f GB/s (median of 5, %zu MiB read)\n", bw[nbw].threads,
                    bw[nbw].threads > 1 ? "s" : "", bw[nbw].gbps_median, bw[nbw].bytes >> 20);
            nbw++;
        }
    }
    cfg.bw = bw;
    cfg.n_bw = nbw;

    tb_bench_row *rows;
    int nrows;
    int timed = tb_bench_run(&cfg, &rows, &nrows, &e);
    free(gb);
    if (timed < 0) {
        tb_cli_err(e.msg);
        free(threads);
        return 1;
    }
    print_table(rows, nrows);
    int rc = 0;
    if (json) {
        tb_jw w;
        tb_jw_begin_result(&w, "ternbench bench");
        tb_jw_str(&w, "timer", tb_bench_timer_name(cfg.use_gbench));
        tb_jw_num(&w, "llc_bytes", (double)cfg.llc_bytes);
        tb_jw_str(&w, "llc_source", llc_src);
        tb_jw_bool(&w, "cold", cfg.cold);
        /* kernel micro-benchmarks read no model file: their data is seeded (harness/bench.h) */
        tb_jw_null(&w, "model_provenance");
        tb_jw_int(&w, "data_seed", (long long)cfg.seed);
        tb_bw_write(&w, "bandwidth", bw, nbw);
        tb_bench_rows_write(&w, "kernels", rows, nrows);
        tb_jw_obj_end(&w);
        if (tb_jw_save(&w, json, &e) < 0) {
            tb_cli_err(e.msg);
            rc = 1;
        }
        tb_jw_free(&w);
    }
    free(rows);
    free(threads);
    return rc ? rc : (timed > 0 ? 0 : 1);
}
