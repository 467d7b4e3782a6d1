/* gemv-tl1-32x4-avx2.c: gemv_tl1_32x4__avx2, TL1 LUT with pshufb.  Exact.
 * Layout tl1_32x4 (see tl.h).  Per group pair of a 32-row tile: one 32-byte load of
 * 4-bit indices (low nibble = group 2p, high = 2p+1), 4 pshufb into the groups'
 * low-byte and high-byte tables (broadcast to both lanes), unpack into int16 values
 * lo | hi << 8, add in int16 for at most 64 groups (|sum| <= 64*256, tl.h), then
 * widen to int32.  Weights are read once per activation row from the packed tile. */
#include "tl-avx2.h"

static void tile_dot(const uint8_t *w, const uint8_t *tab, tl_dims dims, int32_t d[TL_TILE]) {
    const int pairs = dims.pairs;
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    for (int p0 = 0; p0 < pairs; p0 += TL_BLOCK_GROUPS / 2) {
        const int p1 = p0 + TL_BLOCK_GROUPS / 2 < pairs ? p0 + TL_BLOCK_GROUPS / 2 : pairs;
        __m256i s_lo = _mm256_setzero_si256(), s_hi = _mm256_setzero_si256();
        for (int p = p0; p < p1; p++)
            tl1_step_avx2(w + (size_t)p * TL1_PAIR_BYTES, tab + (size_t)p * TL_PREP_PAIR, &s_lo, &s_hi);
        tl_widen_avx2(s_lo, s_hi, acc);
    }
    tl_store_acc_avx2(acc, d);
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    return tl_gemv_tiles(2, tile_dot, packed, rows, cols, prep, n, r0, r1, acc);
}

const tb_kernel tb_k_gemv_tl1_32x4__avx2 = {
    .name = "gemv_tl1_32x4__avx2",
    .desc = "TL1 LUT, AVX2: pshufb on split low/high-byte int16 tables, 32 rows x 2 groups per step",
    .isa = TB_ISA_AVX2,
    .gemv = gemv,
    .prep = tl1_prep_avx2,
    TL1_COMMON,
};
