/* lmhead.h: SIMD versions of the tied LM head (tb_backend.lm_rows, reference/forward.h).
 *
 * Each computes exactly what tb_ref_lm_rows computes, in the same order, so the logits
 * are bit-identical to the scalar reference.  The runner (kernels/runner.c) installs
 * the best one the CPU (and the runner's ISA limit) allows.
 */
#ifndef TB_LMHEAD_H
#define TB_LMHEAD_H

#include "forward.h"

#ifdef __cplusplus
extern "C" {
#endif

/* AVX2 + F16C (TB_ISA_AVX2); call only when tb_cpu_features() has TB_ISA_AVX2.  ctx is
 * unused.  Handles F16, BF16 and F32 embeddings (TB_LM_UNHANDLED for any other type). */
int tb_lm_rows_avx2(void *ctx, const tb_model *m, int v0, int v1, const float *x, int n, float *out, size_t ldo);

/* AArch64 NEON (TB_ISA_NEON), same contract (lmhead-neon.c; only in AArch64 builds). */
int tb_lm_rows_neon(void *ctx, const tb_model *m, int v0, int v1, const float *x, int n, float *out, size_t ldo);

typedef int (*tb_lm_rows_fn)(void *ctx, const tb_model *m, int v0, int v1, const float *x, int n, float *out,
                             size_t ldo);
/* The LM head to install for the allowed features isa (tb_cpu_features() & ISA limit):
 * AVX2 on x86, NEON on AArch64, NULL (plain C) when neither is allowed (lmhead.c). */
tb_lm_rows_fn tb_lm_rows_best(unsigned isa);

#ifdef __cplusplus
}
#endif
#endif
