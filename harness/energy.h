/* energy.h: MODELLED energy per token from operation counts (the method of the
 * BitNet papers), not a measurement.  Every output of this module is labelled
 * "modelled" wherever it is printed or saved.
 *
 * Model (per decode token at context L):
 *   linear layers: one op per non-embedding weight
 *       ternary (BitNet b1.58): one INT8 add          (weights are -1/0/+1)
 *       FP16 baseline:          one FP16 mul + one FP16 add
 *   attention: q.K^T and p.V, layers * 2 * heads*head_dim * L multiply-adds,
 *       FP16 mul + add in BOTH models (BitNet does not quantize attention)
 *   LM head (vocab x hidden), memory traffic, norms, softmax: NOT in the papers'
 *       model; the LM head is reported separately as an extra line.
 * Constants (pJ per op) are in energy.c with their sources.
 */
#ifndef TB_ENERGY_H
#define TB_ENERGY_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_energy_consts {
    const char *node;  /* "7nm", "45nm" */
    double int8_add, int8_mul, fp16_add, fp16_mul, fp32_add, fp32_mul; /* pJ per operation */
    const char *source;
} tb_energy_consts;

extern const tb_energy_consts tb_energy_7nm;  /* used by default, as the BitNet papers do */
extern const tb_energy_consts tb_energy_45nm;

typedef struct tb_energy_counts {
    double lin_weights;   /* non-embedding linear weights = linear ops per token */
    double attn_macs;     /* attention multiply-adds per token at `context` */
    double lm_head_macs;  /* vocab * hidden (outside the papers' model) */
} tb_energy_counts;

typedef struct tb_energy_result {
    const char *node;
    int context;            /* attention length L */
    int tokens;             /* sequence length for the per-sequence figures */
    tb_energy_counts n;
    double tern_j_token;    /* ternary model, J per token (modelled) */
    double fp16_j_token;    /* FP16 baseline of the same shape, J per token (modelled) */
    double tern_j_seq;      /* x tokens */
    double fp16_j_seq;
    double tern_nj_param;   /* per-sequence J / non-embedding weights, in nJ */
    double fp16_nj_param;
    double lm_head_j_token; /* FP16 LM head, J per token, NOT included above */
    double ratio;           /* fp16 / ternary */
} tb_energy_result;

/* Operation counts of one decode token of cfg at attention length `context`. */
int tb_energy_count(const tb_config *cfg, int context, tb_energy_counts *out, tb_err *e);

/* The whole model: counts x constants.  tokens >= 1 scales the per-sequence figures
 * (the 2B4T report's table matches tokens = context = 512: see energy.c). */
int tb_energy_model(const tb_config *cfg, int context, int tokens, const tb_energy_consts *k,
                    tb_energy_result *out, tb_err *e);

#ifdef __cplusplus
}
#endif
#endif
