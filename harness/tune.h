/* tune.h: which exact CPU kernel is fastest on THIS machine, measured (`ternbench tune`).
 *
 * The registry's static priorities are a guess; which kernel decodes fastest depends on
 * the machine and the thread count (on a 2-core Zen 3, TL2 beat i2s at 1 thread and lost
 * at 2).  tb_tune_run times every exact CPU kernel (after the kernel checker passed it)
 * on one 2B4T layer of decode GEMVs (q, k, v, o, gate, up, down; weights cold) at each
 * thread count, and records the fastest per thread count in a cache file keyed by the
 * CPU.  `--kernel best` (the default) then takes the tuned choice for the run's thread
 * count when the cache matches this CPU and registry, else the static priority.
 */
#ifndef TB_TUNE_H
#define TB_TUNE_H

#include "kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TB_TUNE_MAX_THREADS 16 /* thread counts per tuning */

typedef struct tb_tune_pick {
    int threads;
    char best[64];         /* fastest exact kernel, "" if none could be timed */
    double layer_ms;       /* its time for one layer's 7 decode GEMVs */
    double runner_up_ms;   /* the second fastest, for the margin (NAN if none) */
    char runner_up[64];
} tb_tune_pick;

typedef struct tb_tune_result {
    char signature[400];   /* CPU model | ISA features | cores | registry: what the cache is valid for */
    int n;
    tb_tune_pick pick[TB_TUNE_MAX_THREADS];
} tb_tune_result;

typedef struct tb_tune_opts {
    const char *kernel_glob; /* NULL = every exact CPU kernel */
    unsigned isa_mask;
    const int *threads;
    int n_threads;
    int reps;                /* repetitions per GEMV (median) */
    void (*progress)(void *user, const char *line);
    void *user;
} tb_tune_opts;

/* This machine's signature (the cache is used only when it matches). */
void tb_tune_signature(char *buf, size_t n);
/* Measures and fills r (r->signature = this machine).  0 or -1 (+ e). */
int tb_tune_run(const tb_tune_opts *o, tb_tune_result *r, tb_err *e);
/* Default cache path: <cache dir>/tune.json (TERNBENCH_CACHE, XDG_CACHE_HOME, ~/.cache). */
int tb_tune_cache_path(char *buf, size_t n, tb_err *e);
int tb_tune_save(const tb_tune_result *r, const char *path, tb_err *e);
int tb_tune_load(const char *path, tb_tune_result *r, tb_err *e);
/* The tuned best kernel for `threads` (the entry with the most threads <= threads) when the
 * default cache exists, matches this machine and names an exact kernel runnable under
 * mask, and TERNBENCH_NO_TUNE is unset (or "0"); else NULL.  why (may be NULL) says
 * where the choice came from or why none. */
const tb_kernel *tb_tune_best(unsigned mask, int threads, char *why, size_t n);

#ifdef __cplusplus
}
#endif
#endif
