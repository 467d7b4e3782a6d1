/* paper.h: the BitNet b1.58 2B4T technical report's Table 1 (arXiv 2504.12285) beside
 * this machine, built in one place for `ternbench paper` and the sweep.
 *
 * Rows: non-embedding weight memory and modelled energy, computed for the 2B4T shape
 * whatever model ran (so they are always comparable); decode latency measured here and
 * projected to a target machine by the ratio of read bandwidths; WikiText-2 perplexity.
 * A row whose number comes from a model that is not the 2B4T shape says so in its note
 * and has comparable = false.
 */
#ifndef TB_PAPER_H
#define TB_PAPER_H

#include <stdio.h>

#include "kernel.h"
#include "model.h"
#include "results.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_paper_in {
    const tb_config *cfg;       /* the model shape measured (2B4T for a meaningful table) */
    double best_bpw;            /* bits per weight of the kernel layout measured, on the 2B4T shapes */
    const char *best_kernel;
    double ms_per_token;        /* measured decode latency here (NAN if not measured) */
    int threads;
    double bw_here_gbps;        /* measured read bandwidth here at `threads` */
    double bw_target_gbps;      /* bandwidth of the machine to project to */
    const char *target_desc;    /* what that machine is and where its bandwidth comes from */
    double ppl;                 /* measured perplexity (NAN: not measured) */
    const char *ppl_note;       /* why it is n/a, or how it was measured */
    bool model_is_2b4t;         /* cfg is the 2B4T shape (tb_config_is_2b4t) */
} tb_paper_in;

typedef struct tb_paper_row {
    char quantity[64];
    char published[48];
    char here[64];
    char note[400];
    bool comparable;            /* false: measured on a model that is not the 2B4T shape */
} tb_paper_row;

#define TB_PAPER_DEFAULT_TARGET_GBPS 83.2

/* The 2B4T shape: hidden 2560, 30 layers, 20 heads (5 kv) x 128, FFN 6912, vocab 128256. */
bool tb_config_is_2b4t(const tb_config *c);
/* Bits per weight of k's packed layout over the seven 2B4T linear shapes (2.0, I2_S, for
 * k == NULL: the reference reads the GGUF's I2_S layout). */
double tb_paper_bpw(const tb_kernel *k);
/* Fills in from what a run measured.  target_gbps <= 0: the default target (i7-13800H). */
void tb_paper_inputs(tb_paper_in *in, const tb_config *cfg, const tb_kernel *k, double ms_per_token, int threads,
                     double bw_here_gbps, double target_gbps, double ppl, const char *ppl_note);
/* Fills up to max rows (8 is enough); returns the count. */
int tb_paper_table(const tb_paper_in *in, tb_paper_row *rows, int max);
/* {"source", "bw_here_gbps", "bw_target_gbps", "target", "model_is_2b4t", "rows": [...]} */
void tb_paper_write(tb_jw *w, const char *key, const tb_paper_row *rows, int n, const tb_paper_in *in);
void tb_paper_print(FILE *f, const tb_paper_row *rows, int n);
void tb_paper_markdown(FILE *f, const tb_paper_row *rows, int n);

#ifdef __cplusplus
}
#endif
#endif
