/* gemv-tl2-32x24-neon.c: gemv_tl2_32x24__neon, the TL2 LUT kernel (1.67 bpw) with NEON TBL.
 * Exact.  Layout tl2_32x24 and prep as lut/tl.h (portable prep); per octet of 8 groups:
 * TBL lookups as TL1, the sign applied by XOR with a CMTST byte mask (v -> ~v = -v - 1),
 * the missing +1 per negated group added once per row from the tile's nneg[32]. */
#include "tl-neon.h"

static void tile_dot(const uint8_t *w, const uint8_t *tab, tl_dims d, int32_t out[TL_TILE]) {
    int16x8_t s[4];
    int32x4_t acc[8];
    tl_neon_zero(s, acc);
    const int per_block = TL_BLOCK_GROUPS / 8; /* octets per int16 block */
    for (int o0 = 0; o0 < d.octets; o0 += per_block) {
        const int o1 = o0 + per_block < d.octets ? o0 + per_block : d.octets;
        for (int o = o0; o < o1; o++)
            tl2_neon_octet(w + (size_t)o * TL2_OCTET_BYTES, tab + (size_t)o * 4 * TL_PREP_PAIR, s);
        tl_neon_widen(s, acc);
    }
    const uint8_t *nneg = w + (size_t)d.octets * TL2_OCTET_BYTES; /* int32 LE (32) */
    for (int k = 0; k < 8; k++) vst1q_s32(out + 4 * k, vaddq_s32(acc[k], vreinterpretq_s32_u8(vld1q_u8(nneg + 16 * k))));
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0, int r1,
                int32_t *acc) {
    (void)q;
    return tl_gemv_tiles(3, tile_dot, packed, rows, cols, prep, n, r0, r1, acc);
}

const tb_kernel tb_k_gemv_tl2_32x24__neon = {
    .name = "gemv_tl2_32x24__neon",
    .desc = "TL2 LUT, NEON: sign + 4-bit index (1.67 bpw), tbl on split int16 tables, sign by XOR",
    .isa = TB_ISA_NEON,
    .gemv = gemv,
    .prep = tl2_prep,
    TL2_COMMON,
};
