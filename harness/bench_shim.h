/* bench_shim.h: the C interface of harness/bench_shim.cc, the project's only
 * C++ file, which drives Google Benchmark (libbenchmark).
 *
 * A benchmark is a C callback that runs ONE iteration and reports its own time
 * (Google Benchmark's manual time), so setup such as rotating cold buffers is
 * not timed, and the LUT/prep part of the iteration is reported separately.
 * Rates are Google Benchmark counters, so `--benchmark_out=x.json` and
 * Google Benchmark's compare.py work on the output:
 *   bytes_per_second  packed weight bytes / s (SetBytesProcessed)
 *   ops_per_second    2*rows*cols*n / s
 *   roofline_frac     bytes_per_second / measured bandwidth at the same threads
 *   bpw, worker_threads  constants;  prep_s  LUT/prep seconds per iteration
 * Only available when built with libbenchmark (TB_HAVE_BENCHMARK).
 */
#ifndef TB_BENCH_SHIM_H
#define TB_BENCH_SHIM_H

#include "tb_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_gb_iter {
    double seconds;      /* whole iteration (prep included) */
    double prep_seconds; /* the LUT/prep part of it */
} tb_gb_iter;

/* One iteration.  Returns 0, or negative after writing a one-line reason to why. */
typedef int (*tb_gb_fn)(void *ctx, tb_gb_iter *it, char *why, size_t why_n);

typedef struct tb_gb_spec {
    const char *name;       /* copied */
    tb_gb_fn fn;
    void *ctx;              /* must outlive tb_gb_run */
    double bytes_per_iter;  /* weight bytes read per iteration */
    double ops_per_iter;
    double bits_per_weight;
    double roofline_bps;    /* bytes/s at this thread count; <= 0: no roofline_frac counter */
    int threads;            /* worker threads used inside fn (informational counter) */
    double min_time;        /* seconds; <= 0: --benchmark_min_time / library default */
    int repetitions;        /* <= 0: --benchmark_repetitions / library default */
} tb_gb_spec;

/* One reported run (also aggregates: aggregate = "mean", "median", "stddev", "cv"). */
typedef struct tb_gb_result {
    const char *name;       /* run name (benchmark name + repetition/aggregate suffixes) */
    const char *base_name;  /* name given at registration */
    const char *aggregate;  /* "" for a plain run */
    bool error;
    const char *error_msg;
    long long iterations;
    double seconds_per_iter;
    double bytes_per_second, ops_per_second, roofline_frac, bpw, prep_s;
    int threads;
} tb_gb_result;
typedef void (*tb_gb_result_fn)(void *user, const tb_gb_result *r);

/* Google Benchmark's version string, e.g. "1.7.1" (compile-time best effort). */
const char *tb_gb_version(void);
int tb_gb_register(const tb_gb_spec *s, tb_err *e);
/* Parses Google Benchmark's own flags from argv (--benchmark_out=..., --benchmark_filter=...,
 * --benchmark_repetitions=..., --benchmark_min_time=...; anything else is an error), runs
 * every registered benchmark, calls cb for each reported run.  console: print Google
 * Benchmark's console table to stdout.  Returns the number of benchmarks run, or -1. */
int tb_gb_run(int argc, char **argv, bool console, tb_gb_result_fn cb, void *user, tb_err *e);
void tb_gb_clear(void);

#ifdef __cplusplus
}
#endif
#endif
