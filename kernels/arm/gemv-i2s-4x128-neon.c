/* gemv-i2s-4x128-neon.c: gemv_i2s_4x128__neon, int8-MAD with plain Armv8.0 NEON (for cores
 * without the dot product, e.g. Cortex-A53/A72 as in Raspberry Pi 3/4).
 * Layout i2s4x128 (mad/i2s4x128.h); per 16 codes: smull + smlal2 (int16 products, pairs
 * |code*q + code*q| <= 512), then sadalp into int32; minus sum(q).  Exact. */
#include "i2s4x128-neon.h"

TB_ALWAYS_INLINE int32x4_t dot16(int32x4_t acc, int8x16_t codes, int8x16_t q) {
    int16x8_t p = vmull_s8(vget_low_s8(codes), vget_low_s8(q));
    p = vmlal_high_s8(p, codes, q);
    return vpadalq_s16(acc, p);
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0, int r1,
                int32_t *acc) {
    (void)q;
    return i2s_neon_gemv(dot16, packed, rows, cols, prep, n, r0, r1, acc);
}

const tb_kernel tb_k_gemv_i2s_4x128__neon = {
    .name = "gemv_i2s_4x128__neon",
    .desc = "int8-MAD, NEON (Armv8.0): 2-bit codes by shift/AND, smull/smlal2 + sadalp into int32, minus sum(q)",
    .isa = TB_ISA_NEON,
    .gemv = gemv,
    .priority = 8, /* not measured on hardware: below __neondot, above the portable kernels */
    TB_I2S4_COMMON,
};
