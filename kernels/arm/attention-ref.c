/* attention-ref.c (AArch64 builds only): tb_attn_head_avx2 for runner.c to name.
 * runner.c installs it only when TB_ISA_AVX2 is detected, which never happens on ARM,
 * and attention-avx2.c (x86 intrinsics) is not compiled here; this definition forwards
 * to the plain C reference (the same bits by contract), so it is correct even if called.
 * There is no NEON attention yet: ARM runs the reference attention. */
#include "attention.h"

void tb_attn_head_avx2(const float *q, const float *k, const float *v, size_t stride, int n, int hd, float scale,
                       float *out, float *score) {
    tb_ref_attn_head(q, k, v, stride, n, hd, scale, out, score);
}
