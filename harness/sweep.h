/* sweep.h: the main job (`ternbench sweep`) and the pieces other subcommands share:
 * the synthetic-model cache (the paper table is built in paper.c).
 *
 * A sweep runs: bandwidth (the roofline, first so every GB/s can be divided by it)
 * -> kernel checker + kernel benchmarks -> end-to-end decode/prefill per kernel ->
 * perplexity per kernel (when a text and a tokenizer are available) -> the frontier of
 * the numeric configurations (frontier.h: speed vs KL, on the trained model and the
 * sweep's model) -> modelled
 * energy -> paper table, and writes results/<run>/results.json (everything, with
 * provenance) and gbench.json (Google Benchmark's own output).  Plots are made from
 * results.json by scripts/plot_results.py (the CLI runs it).
 */
#ifndef TB_SWEEP_H
#define TB_SWEEP_H

#include "bench.h"
#include "e2e.h"
#include "energy.h"
#include "paper.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- synthetic model cache ------------------------------------------------- */
/* Directory for generated models: $TERNBENCH_CACHE, else $XDG_CACHE_HOME/ternbench,
 * else $HOME/.cache/ternbench (outside the source tree). */
int tb_cache_dir(char *buf, size_t n, tb_err *e);
/* Path of the synthetic `preset` model ("tiny", "2b4t") with `seed`, written on first
 * use (with the tokenizer at tokenizer_json embedded, if non-NULL) and reused after.
 * The file name is keyed by everything that decides its bytes (tb_synth_cache_name).
 * progress (may be NULL) is told about the generation. */
int tb_synth_cache_name(const char *preset, uint64_t seed, const char *tokenizer_json, char *name, size_t n,
                        tb_err *e);
int tb_synth_cached(const char *preset, uint64_t seed, const char *tokenizer_json, char *path, size_t n,
                    void (*progress)(void *user, const char *line), void *user, tb_err *e);

/* The paper table: paper.h (tb_paper_table, shared with `ternbench paper`). */

/* ---- the sweep ---------------------------------------------------------------- */
typedef struct tb_sweep_opts {
    bool quick;
    const char *model;          /* NULL: synthetic (quick: tiny, else 2b4t), cached */
    const char *out_dir;        /* results/<run> */
    const char *data_dir;       /* shared data (tokenizer, wikitext) or NULL */
    const char *kernel_glob;    /* NULL = all */
    size_t llc_bytes;           /* 0 = tb_llc_bytes(0) */
    int max_threads;            /* 0 = all cores */
    uint64_t seed;
    bool use_gbench;
    bool skip_ppl;
    bool skip_frontier;         /* no speed/accuracy frontier of the numeric configurations */
    const char *configs;        /* the frontier's configurations (--config LIST; NULL = all) */
    double bw_target_gbps;      /* paper projection target (<= 0: the default, i7-13800H) */
    void (*progress)(void *user, const char *line);
    void *user;
} tb_sweep_opts;

/* Runs everything and writes out_dir/results.json (+ gbench.json).  0 or -1 (+ e). */
int tb_sweep_run(const tb_sweep_opts *o, tb_err *e);

#ifdef __cplusplus
}
#endif
#endif
