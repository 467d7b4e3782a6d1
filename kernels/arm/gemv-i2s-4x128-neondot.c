/* gemv-i2s-4x128-neondot.c: gemv_i2s_4x128__neondot, int8-MAD with the Armv8.2 dot product.
 * Layout i2s4x128 (mad/i2s4x128.h, the same bytes as the x86 variants); per 16 codes one
 * SDOT (vdotq_s32: 4 groups of 4 int8 products into 4 int32 lanes); minus sum(q).  Needs
 * NEON + dotprod (HWCAP_ASIMDDP); built with -march=armv8.2-a+dotprod.  Exact. */
#include "i2s4x128-neon.h"

TB_ALWAYS_INLINE int32x4_t dot16(int32x4_t acc, int8x16_t codes, int8x16_t q) { return vdotq_s32(acc, codes, q); }

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0, int r1,
                int32_t *acc) {
    (void)q;
    return i2s_neon_gemv(dot16, packed, rows, cols, prep, n, r0, r1, acc);
}

const tb_kernel tb_k_gemv_i2s_4x128__neondot = {
    .name = "gemv_i2s_4x128__neondot",
    .desc = "int8-MAD, NEON + dotprod: 2-bit codes by shift/AND, sdot into int32, minus sum(q)",
    .isa = TB_ISA_NEON | TB_ISA_DOTPROD,
    .gemv = gemv,
    .priority = 10, /* not measured on hardware: ranked like the x86 SIMD MAD kernels */
    TB_I2S4_COMMON,
};
