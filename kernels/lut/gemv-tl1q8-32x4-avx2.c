/* gemv-tl1q8-32x4-avx2.c: gemv_tl1q8_32x4__avx2, TL1 LUT on int8 tables with pshufb.
 * APPROXIMATE, bit-identical to its definition gemv_tl1q8_32x4__scalar (acc = 2 * sum of
 * T8 = min(rint(T/2), 127); tl.h "int8-quantized tables").  Same packed weights as gemv_tl1_32x4__*.
 * Per group pair of a 32-row tile: one 32-byte index load, ONE pshufb per group (the
 * exact kernel needs two, for the low and high table bytes, and an unpack to recombine
 * them), and the offset-binary bytes are summed as uint16 words with no unpack: the odd
 * rows by word >> 8, the even rows recovered from the word sum at the end of a block of
 * <= 256 groups (uint16 bound in tl.h), then widened to int32. */
#include "tl-avx2.h"

static void tile_dot(const uint8_t *w, const uint8_t *tab, tl_dims dims, int32_t d[TL_TILE]) {
    const int pairs = dims.pairs;
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    for (int p0 = 0; p0 < pairs; p0 += TLQ8_BLOCK_GROUPS / 2) {
        const int p1 = p0 + TLQ8_BLOCK_GROUPS / 2 < pairs ? p0 + TLQ8_BLOCK_GROUPS / 2 : pairs;
        __m256i ws = _mm256_setzero_si256(), hs = _mm256_setzero_si256();
        for (int p = p0; p < p1; p++) {
            __m256i v0, v1;
            tlq8_lookup_pair_avx2(w + (size_t)p * TL1_PAIR_BYTES, tab + (size_t)p * TLQ8_PREP_PAIR, &v0, &v1);
            tlq8_add_pair_avx2(v0, v1, &ws, &hs);
        }
        tlq8_widen_avx2(ws, hs, acc);
    }
    tlq8_store_acc_avx2(acc, TLQ8_BIAS * 2 * pairs, 1, d);
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    return tlq8_gemv_tiles(2, tile_dot, packed, rows, cols, prep, n, r0, r1, acc);
}

const tb_kernel tb_k_gemv_tl1q8_32x4__avx2 = {
    .name = "gemv_tl1q8_32x4__avx2",
    .desc = "TL1 LUT, AVX2, APPROXIMATE (= tl1q8 scalar): one pshufb per group on int8 tables, uint16 sums",
    .isa = TB_ISA_AVX2,
    .gemv = gemv,
    .prep = tl1q8_prep_avx2,
    TL1Q8_COMMON,
};
