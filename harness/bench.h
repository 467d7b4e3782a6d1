/* bench.h: kernel micro-benchmarks: every kernel x GEMV shape x thread count,
 * weights cold, rates against the memory bandwidth measured in the same run.
 *
 * Before anything is timed, every kernel goes through the kernel checker
 * (harness/check.h, quick matrix by default); one that fails is never timed.
 * Then, for each shape, the harness draws seeded random ternary weights and int8
 * activations, computes the reference accumulators (tb_matmul_ref) once, and
 * for each kernel runs a correctness pre-check on exactly that data: an exact
 * kernel must match bit for bit, a lossy one must pass its own tolerance.  A
 * kernel that fails is never timed (its row says why).  Timed cases hold enough
 * copies of the packed weights to exceed 2x the last-level cache and rotate
 * them every iteration, so every iteration reads its weights from DRAM.
 *
 * Timing goes through Google Benchmark (bench_shim.h) when built with it,
 * otherwise through the harness's own timer (median of repetitions); the run
 * records which.  Rates: weight GB/s = packed bytes / time; GOPS = 2*rows*cols*n
 * / time; bpw = packed bytes*8 / (rows*cols); roofline_frac = GB/s / measured
 * bandwidth at the same thread count.  LUT/prep time is part of each iteration
 * and is also reported on its own.
 */
#ifndef TB_BENCH_H
#define TB_BENCH_H

#include "bandwidth.h"
#include "kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_bench_shape {
    const char *name; /* "qo", "kv", "gateup1", "down", "qkv", "gateup" */
    int rows, cols;   /* out x in */
} tb_bench_shape;

/* The decode GEMV shapes of 2B4T (docs/architecture.md §2): q/o, k/v, gate/up, down, fused qkv, fused gate|up. */
extern const tb_bench_shape tb_bench_2b4t_shapes[];
extern const int tb_bench_n_2b4t_shapes;
/* Finds a 2B4T shape by name, or parses "ROWSxCOLS".  0 or -1. */
int tb_bench_shape_parse(const char *s, tb_bench_shape *out, tb_err *e);

typedef struct tb_bench_row {
    char kernel[64];
    char shape[32];
    int rows, cols, threads, n_tok;
    bool timed;            /* false: refused or skipped (why says why) */
    char why[200];
    bool exact;
    bool on_device;
    int copies;            /* rotated weight copies (cold) */
    double packed_bytes;   /* one copy */
    double seconds;        /* per iteration, prep included (median when repeated) */
    double seconds_sd;     /* sample stddev of seconds over the repetitions; NAN with one */
    int reps;              /* repetitions measured */
    double prep_seconds;   /* per iteration, the LUT/prep part */
    long long iterations;
    double gbps;           /* weight GB/s (1e9 B/s) */
    double gops;           /* 1e9 ops/s, ops = 2*rows*cols*n */
    double bpw;
    double roofline_frac;  /* gbps / bandwidth at `threads`; NAN if none */
    double bw_gbps;        /* the bandwidth used for roofline_frac; NAN if none */
} tb_bench_row;

typedef void (*tb_bench_progress_fn)(void *user, const char *line);

/* The kernel checker's verdict on one kernel (harness/check.h), as run by tb_bench_run. */
typedef struct tb_bench_kcheck {
    char kernel[64];
    char status[8];        /* "pass", "fail", "skip" (not supported here) */
    int cases, passed, failed;
    double seconds;
    char why[200];         /* skip reason or first failure */
} tb_bench_kcheck;

typedef struct tb_bench_config {
    const char *kernel_glob;     /* NULL/"" = every registered kernel */
    const tb_kernel *const *extra; /* kernels outside the registry (tests); may be NULL */
    int n_extra;
    bool only_extra;             /* ignore the registry (tests) */
    const tb_bench_shape *shapes;
    int n_shapes;
    const int *threads;          /* thread counts to time CPU kernels at */
    int n_threads;
    int n_tok;                   /* activation rows per GEMV (1 = decode) */
    size_t llc_bytes;            /* cache to defeat (see tb_llc_bytes) */
    bool cold;                   /* rotate weight copies (default true) */
    const tb_bw_result *bw;      /* measured bandwidth per thread count (may be NULL) */
    int n_bw;
    double gpu_bw_gbps;          /* device bandwidth for on-device kernels (<= 0: none) */
    double min_time;             /* seconds per measurement (<= 0: 0.1) */
    int reps;                    /* repetitions (<= 0: 1); median reported */
    uint64_t seed;
    unsigned isa_mask;
    bool full_check;             /* kernel checker: full matrix instead of --quick */
    bool checked;                /* the caller ran the checker on exactly these kernels in this
                                    process and passes only those that passed: skip it */
    bool use_gbench;             /* use Google Benchmark when built with it */
    bool console;                /* Google Benchmark console table on stdout */
    int gb_argc;                 /* Google Benchmark's own flags (--benchmark_*) */
    char **gb_argv;
    tb_bench_progress_fn progress;
    void *progress_user;
    /* Optional out: the checker verdict per kernel (malloc'd; caller frees). */
    tb_bench_kcheck **checks_out;
    int *n_checks_out;
} tb_bench_config;

/* Sensible defaults: all kernels, the 2B4T shapes, threads {1}, n_tok 1, cold, LLC from
 * tb_llc_bytes(0), min_time 0.1 s, 1 rep, seed 1, all ISAs, Google Benchmark if built. */
void tb_bench_config_default(tb_bench_config *c);

/* Runs the pre-checks and benchmarks.  *rows gets one row per kernel x shape x threads
 * (refused ones included, timed = false).  Free with free().  Returns the number of
 * timed rows, or -1 on a harness error (out of memory, bad config, Google Benchmark). */
int tb_bench_run(const tb_bench_config *c, tb_bench_row **rows, int *n_rows, tb_err *e);

/* True when this build can time through Google Benchmark. */
bool tb_bench_have_gbench(void);
/* "google-benchmark 1.7.1" or "ternbench timer (...)" */
const char *tb_bench_timer_name(bool use_gbench);

/* The pre-check alone: kernel k on rows x cols (seeded data, n_tok activation rows),
 * against tb_matmul_ref.  0 = passed; -1 with the reason in e. */
int tb_bench_precheck(const tb_kernel *k, int rows, int cols, int n_tok, uint64_t seed, tb_err *e);

/* Writes rows as a JSON array under key (untimed values and missing rooflines as null). */
struct tb_jw;
void tb_bench_rows_write(struct tb_jw *w, const char *key, const tb_bench_row *rows, int n);
/* 1, 2, 4, ... below ncores, then ncores.  Returns the count (<= max). */
int tb_bench_default_threads(int ncores, int *out, int max);

#ifdef __cplusplus
}
#endif
#endif
