/* attention.h: SIMD versions of attention (tb_backend.attn_heads, reference/forward.h).
 *
 * Each computes exactly what tb_ref_attn_head computes for each head, in the same order,
 * so attention outputs (and the logits) are bit-identical to the scalar reference.  The runner
 * (kernels/runner.c) installs the best one the CPU (and the runner's ISA limit) allows.
 */
#ifndef TB_ATTENTION_H
#define TB_ATTENTION_H

#include "forward.h"

#ifdef __cplusplus
extern "C" {
#endif

/* g query heads that read the same K/V (tb_backend.attn_heads' contract): AVX2 + FMA
 * (TB_ISA_AVX2); call only when tb_cpu_features() has TB_ISA_AVX2.  head_dim not a
 * multiple of 16 runs tb_ref_attn_head for each head. */
void tb_attn_heads_avx2(const float *q, int g, const float *k, const float *v, size_t stride, int n, int hd,
                        float scale, float *out, float *score);

/* AVX-512F (TB_ISA_AVX512); the same contract. */
void tb_attn_heads_avx512(const float *q, int g, const float *k, const float *v, size_t stride, int n, int hd,
                          float scale, float *out, float *score);

/* AVX2 + F16C over a compressed (F16 or Q8) KV cache: the bits of tb_ref_attn_head_kv
 * (attention-kv-avx2.c; head_dim not a multiple of 16 runs the definition). */
void tb_attn_head_kv_avx2(const float *q, const tb_kv_view *kv, int n, int hd, float scale, float *out,
                          float *score);

#ifdef __cplusplus
}
#endif
#endif
