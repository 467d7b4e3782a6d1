/* qhead-simd.h: SIMD versions of the quantized LM heads (reference/qhead.h).
 *
 * Each computes exactly what tb_qhead_rows_ref computes, in the same order (qhead.h's 8
 * lanes per block, product rounded then added, tree +4 +2 +1), so the logits are
 * bit-identical to the plain C definition for every input.
 */
#ifndef TB_QHEAD_SIMD_H
#define TB_QHEAD_SIMD_H

#include <stddef.h>

#include "qhead.h"

#ifdef __cplusplus
extern "C" {
#endif

/* AVX2 (TB_ISA_AVX2: AVX2 + FMA + BMI2 + F16C; call only when tb_cpu_features() has it):
 * same contract as tb_qhead_rows_ref: out[t*ldo + (v - v0)] = logit of row v for input
 * row x + t*hidden, t < n, v0 <= v < v1.  0, or -1 when out of memory (its scratch: the
 * quantized x, about n * hidden * 1.3 bytes).  Thread-safe on disjoint output ranges. */
int tb_qhead_rows_avx2(const tb_qhead *h, int v0, int v1, const float *x, int n, float *out, size_t ldo);

typedef int (*tb_qhead_rows_fn)(const tb_qhead *h, int v0, int v1, const float *x, int n, float *out,
                                size_t ldo);

/* The quantized head to use for the allowed features isa (tb_cpu_features() & ISA limit):
 * tb_qhead_rows_avx2 when isa has TB_ISA_AVX2 (x86 builds), else NULL (use the plain C
 * tb_qhead_rows_ref) (qhead-best.c). */
tb_qhead_rows_fn tb_qhead_rows_best(unsigned isa);

#ifdef __cplusplus
}
#endif
#endif
