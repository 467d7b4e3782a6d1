/* sweep.h: the main job (`ternbench sweep`) and the pieces other subcommands share:
 * the synthetic-model cache and the paper table.
 *
 * A sweep runs: bandwidth (the roofline, first so every GB/s can be divided by it)
 * -> kernel checker + kernel benchmarks -> end-to-end decode/prefill per kernel ->
 * perplexity per kernel (when a text and a tokenizer are available) -> modelled
 * energy -> paper table, and writes results/<run>/results.json (everything, with
 * provenance) and gbench.json (Google Benchmark's own output).  Plots are made from
 * results.json by scripts/plot_results.py (the CLI runs it).
 */
#ifndef TB_SWEEP_H
#define TB_SWEEP_H

#include "bench.h"
#include "e2e.h"
#include "energy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- synthetic model cache ------------------------------------------------- */
/* Directory for generated models: $TERNBENCH_CACHE, else $XDG_CACHE_HOME/ternbench,
 * else $HOME/.cache/ternbench (outside the source tree). */
int tb_cache_dir(char *buf, size_t n, tb_err *e);
/* Path of the synthetic `preset` model ("tiny", "2b4t") with `seed`, written on first
 * use (with the tokenizer at tokenizer_json embedded, if non-NULL) and reused after.
 * progress (may be NULL) is told about the generation. */
int tb_synth_cached(const char *preset, uint64_t seed, const char *tokenizer_json, char *path, size_t n,
                    void (*progress)(void *user, const char *line), void *user, tb_err *e);

/* ---- the paper table (2B4T technical report, arXiv 2504.12285, Table 1) ------- */
typedef struct tb_paper_in {
    const tb_config *cfg;       /* the model shape measured (2B4T for a meaningful table) */
    double best_bpw;            /* bits per weight of the kernel layout measured */
    const char *best_kernel;
    double ms_per_token;        /* measured decode latency here (NAN if not measured) */
    int threads;
    double bw_here_gbps;        /* measured read bandwidth here at `threads` */
    double bw_target_gbps;      /* bandwidth of the machine to project to */
    const char *target_desc;    /* what that machine is and where its bandwidth comes from */
    double ppl;                 /* measured perplexity (NAN: not measured) */
    const char *ppl_note;       /* why it is n/a, or how it was measured */
    bool model_is_2b4t;         /* cfg matches SPEC §1 */
} tb_paper_in;

typedef struct tb_paper_row {
    char quantity[64];
    char published[48];
    char here[64];
    char note[320];
} tb_paper_row;

/* Fills up to 8 rows; returns the count. */
int tb_paper_table(const tb_paper_in *in, tb_paper_row *rows, int max);

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
