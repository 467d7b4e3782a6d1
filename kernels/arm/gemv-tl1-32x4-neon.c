/* gemv-tl1-32x4-neon.c: gemv_tl1_32x4__neon, the TL1 LUT kernel with NEON TBL.  Exact.
 * Layout tl1_32x4 and prep as lut/tl.h (the portable prep, the same bytes as the x86
 * variants); per group pair and 16 rows: 4 x TBL (low/high bytes of both groups' int16
 * entries), ZIP to int16, int16 sums over <= 64 groups, widened to int32. */
#include "tl-neon.h"

static void tile_dot(const uint8_t *w, const uint8_t *tab, tl_dims d, int32_t out[TL_TILE]) {
    int16x8_t s[4];
    int32x4_t acc[8];
    tl_neon_zero(s, acc);
    for (int p0 = 0; p0 < d.pairs; p0 += TL_BLOCK_GROUPS / 2) {
        const int p1 = p0 + TL_BLOCK_GROUPS / 2 < d.pairs ? p0 + TL_BLOCK_GROUPS / 2 : d.pairs;
        for (int p = p0; p < p1; p++)
            tl1_neon_step(w + (size_t)p * TL1_PAIR_BYTES, tab + (size_t)p * TL_PREP_PAIR, s);
        tl_neon_widen(s, acc);
    }
    for (int k = 0; k < 8; k++) vst1q_s32(out + 4 * k, acc[k]);
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0, int r1,
                int32_t *acc) {
    (void)q;
    return tl_gemv_tiles(2, tile_dot, packed, rows, cols, prep, n, r0, r1, acc);
}

const tb_kernel tb_k_gemv_tl1_32x4__neon = {
    .name = "gemv_tl1_32x4__neon",
    .desc = "TL1 LUT, NEON: tbl on split low/high-byte int16 tables, 16 rows x 2 groups per step",
    .isa = TB_ISA_NEON,
    .gemv = gemv,
    .prep = tl1_prep,
    TL1_COMMON,
};
