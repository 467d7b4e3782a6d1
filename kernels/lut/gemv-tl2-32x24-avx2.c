/* gemv-tl2-32x24-avx2.c: gemv_tl2_32x24__avx2, TL2 LUT (1.67 bpw) with pshufb.  Exact.
 * Layout tl2_32x24 (see tl.h).  As TL1 (gemv-tl1-32x4-avx2.c) with 14-entry tables of
 * canonical triples, plus the sign: one 32-byte load gives the sign bits of 8 groups
 * for the tile's 32 rows; per group an and + cmpeq makes the byte mask that is XORed
 * into both table bytes (v -> ~v = -v - 1); the tile's per-row count of negated groups
 * (stored with the weights) adds the missing +1s at the end.  int16 block sums stay
 * <= 64*384 (tl.h). */
#include "tl-avx2.h"

static void tile_dot(const uint8_t *w, const uint8_t *tab, tl_dims d, int32_t out[TL_TILE]) {
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    const int per_block = TL_BLOCK_GROUPS / 8; /* octets per int16 block */
    for (int o0 = 0; o0 < d.octets; o0 += per_block) {
        const int o1 = o0 + per_block < d.octets ? o0 + per_block : d.octets;
        __m256i s_lo = _mm256_setzero_si256(), s_hi = _mm256_setzero_si256();
        for (int o = o0; o < o1; o++)
            tl2_octet_avx2(w + (size_t)o * TL2_OCTET_BYTES, tab + (size_t)o * 4 * TL_PREP_PAIR, &s_lo, &s_hi);
        tl_widen_avx2(s_lo, s_hi, acc);
    }
    tl2_add_nneg_avx2(w + (size_t)d.octets * TL2_OCTET_BYTES, acc);
    tl_store_acc_avx2(acc, out);
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    return tl_gemv_tiles(3, tile_dot, packed, rows, cols, prep, n, r0, r1, acc);
}

const tb_kernel tb_k_gemv_tl2_32x24__avx2 = {
    .name = "gemv_tl2_32x24__avx2",
    .desc = "TL2 LUT, AVX2: sign + 4-bit index (1.67 bpw), pshufb on split int16 tables, sign by XOR",
    .isa = TB_ISA_AVX2,
    .gemv = gemv,
    .prep = tl2_prep_avx2,
    TL2_COMMON,
};
