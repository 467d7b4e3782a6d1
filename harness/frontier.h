/* frontier.h: the speed/accuracy frontier of the numeric configurations (numcfg.h).
 *
 * For every configuration: its accuracy against the exact reference on the trained model
 * (perplexity on the held-out text, mean / max KL, top-1 agreement; the reference runs
 * first over the same chunks), and its end-to-end decode and prefill speed with the bytes
 * it reads per decoded token, measured on one or two models (the trained model and, when
 * given, a full-shape model such as the synthetic 2B4T, where only speed means anything).
 * A configuration is on the Pareto front of a model when no other one decodes at least as
 * fast with at most its KL (one of the two strictly better).
 */
#ifndef TB_FRONTIER_H
#define TB_FRONTIER_H

#include <stdio.h>

#include "e2e.h"
#include "numcfg.h"
#include "ppl.h"
#include "results.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { TB_FRONTIER_MODELS = 2 };

typedef struct tb_frontier_opts {
    const char *acc_model, *acc_text;  /* trained model and held-out text (accuracy, speed) */
    const char *speed_model;           /* NULL, or a second model for speed only */
    const char *configs;               /* --config LIST (NULL: all) */
    int ctx, chunks;                   /* perplexity chunks (llama-perplexity's convention) */
    int threads;                       /* >= 1 */
    int n_prompt, n_decode, reps;      /* e2e per configuration */
    unsigned isa_mask;
    void (*progress)(void *user, const char *line);
    void *user;
} tb_frontier_opts;

typedef struct tb_frontier_row {
    const tb_numcfg *cfg;
    char kernel[64];        /* the kernel it ran ("ref": none) */
    bool exact;
    /* accuracy on the trained model (has_acc false: why_acc says why) */
    bool has_acc;
    double ppl, ppl_err, kl_mean, kl_max, top1;
    char why_acc[200];
    /* speed per model (ok false: why says why) */
    struct {
        bool ok, pareto;
        tb_e2e_result r;
        char why[200];
    } speed[TB_FRONTIER_MODELS];
} tb_frontier_row;

typedef struct tb_frontier {
    int n;
    tb_frontier_row rows[TB_NUMCFG_MAX];
    double ref_ppl;                         /* the exact reference's perplexity */
    int n_models;
    char model[TB_FRONTIER_MODELS][1200];   /* the speed models ([0] = the trained model) */
    char model_desc[TB_FRONTIER_MODELS][160];
    int ctx, chunks;
    char text[1100];
    int fastest_1pct[TB_FRONTIER_MODELS];   /* row decoding fastest at < 1% perplexity cost (-1: none) */
} tb_frontier;

/* Measures everything (f is large: allocate it).  Fails only on bad options or when the
 * trained model cannot be loaded; a configuration that fails says why in its row. */
int tb_frontier_run(const tb_frontier_opts *o, tb_frontier *f, tb_err *e);
/* {setup..., rows: [...]} under key */
void tb_frontier_json(tb_jw *w, const char *key, const tb_frontier *f);
/* The table (markdown) and the fastest configuration at < 1% perplexity cost. */
void tb_frontier_print(FILE *out, const tb_frontier *f);

#ifdef __cplusplus
}
#endif
#endif
