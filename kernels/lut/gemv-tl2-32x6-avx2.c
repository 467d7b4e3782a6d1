/* gemv-tl2-32x6-avx2.c: gemv_tl2_32x6__avx2, TL2 LUT (1.67 bpw) with pshufb.  Exact.
 * Layout tl2_32x6 (see tl.h).  As TL1 (gemv-tl1-32x4-avx2.c) with 14-entry tables of
 * canonical triples, plus the sign: the group's 32 sign bits are expanded to a byte
 * mask (broadcast, pshufb, and, cmpeq) and XORed into both table bytes, which turns
 * v into ~v = -v - 1; the missing +1 is counted per row in int8 (<= 64 per block) and
 * added when widening.  int16 block sums stay <= 64*384 (tl.h). */
#include "tl-avx2.h"

static void tile_dot(const uint8_t *w, const uint8_t *tab, int pairs, int32_t d[TL_TILE]) {
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    for (int p0 = 0; p0 < pairs; p0 += TL_BLOCK_GROUPS / 2) {
        const int p1 = p0 + TL_BLOCK_GROUPS / 2 < pairs ? p0 + TL_BLOCK_GROUPS / 2 : pairs;
        __m256i s_lo = _mm256_setzero_si256(), s_hi = _mm256_setzero_si256(), neg = _mm256_setzero_si256();
        for (int p = p0; p < p1; p++)
            tl2_step_avx2(w + (size_t)p * TL2_PAIR_BYTES, tab + (size_t)p * TL_PREP_PAIR, &s_lo, &s_hi, &neg);
        tl_widen_avx2(s_lo, s_hi, acc);
        tl_widen_count_avx2(neg, acc);
    }
    tl_store_acc_avx2(acc, d);
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    int rc = tl_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    const tl_dims d = tl_dims_of(3, rows, cols);
    const size_t prep_row = (size_t)d.pairs * TL_PREP_PAIR;
    for (int t0 = r0 / TL_TILE; t0 * TL_TILE < r1; t0++) {
        const uint8_t *w = (const uint8_t *)packed + (size_t)t0 * d.pairs * TL2_PAIR_BYTES; /* (P, 40) */
        for (int t = 0; t < n; t++) {
            int32_t dd[TL_TILE];
            tile_dot(w, (const uint8_t *)prep + prep_row * t, d.pairs, dd);
            tl_store_tile(acc + (size_t)t * rows, t0 * TL_TILE, r0, r1, dd);
        }
    }
    return 0;
}

const tb_kernel tb_k_gemv_tl2_32x6__avx2 = {
    .name = "gemv_tl2_32x6__avx2",
    .desc = "TL2 LUT, AVX2: sign + 4-bit index (1.67 bpw), pshufb on split int16 tables, sign by XOR",
    .isa = TB_ISA_AVX2,
    .gemv = gemv,
    .prep = tl2_prep_avx2,
    TL2_COMMON,
};
