/* gemv-tl1q8-32x4-avx512.c: gemv_tl1q8_32x4__avx512, TL1 LUT on int8 tables with 512-bit
 * pshufb.  APPROXIMATE, bit-identical to its definition gemv_tl1q8_32x4__scalar (acc = 2 *
 * sum of T8 = min(rint(T/2), 127); tl.h "int8-quantized tables").  Same packed weights as
 * gemv_tl1_32x4__* and the same prep as gemv_tl1q8_32x4__avx2.
 * One step handles two group pairs (p, p+1) of a 32-row tile, as gemv-tl1-32x4-avx512.c
 * does: their index bytes are contiguous (64 bytes); 128-bit lanes 0-1 look up the groups
 * of pair p, lanes 2-3 those of pair p+1.  The offset-binary bytes are summed as uint16
 * words in both 256-bit halves (tl-avx2.h tlq8_add_pair_avx2 on zmm); a block holds at most
 * TLQ8_BLOCK_GROUPS = 256 groups per row over BOTH halves, so adding the halves at the end
 * of the block keeps the uint16 bound of tl.h (256 * 255 < 65536).  An odd last pair uses
 * the AVX2 step. */
#include "tl-avx512.h"

static void tile_dot(const uint8_t *w, const uint8_t *tab, tl_dims dims, int32_t d[TL_TILE]) {
    const int pairs = dims.pairs;
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    for (int p0 = 0; p0 < pairs; p0 += TLQ8_BLOCK_GROUPS / 2) {
        const int p1 = p0 + TLQ8_BLOCK_GROUPS / 2 < pairs ? p0 + TLQ8_BLOCK_GROUPS / 2 : pairs;
        __m512i zw = _mm512_setzero_si512(), zh = _mm512_setzero_si512();
        int p = p0;
        for (; p + 2 <= p1; p += 2) {
            const uint8_t *tp = tab + (size_t)p * TLQ8_PREP_PAIR, *tq = tp + TLQ8_PREP_PAIR;
            const __m512i idx = _mm512_loadu_si512((const void *)(w + (size_t)p * TL1_PAIR_BYTES));
            const __m512i v0 = _mm512_shuffle_epi8(bcast2(tp, tq), _mm512_and_si512(idx, m4));
            const __m512i v1 = _mm512_shuffle_epi8(bcast2(tp + 16, tq + 16), _mm512_and_si512(_mm512_srli_epi16(idx, 4), m4));
            zw = _mm512_add_epi16(zw, _mm512_add_epi16(v0, v1));
            zh = _mm512_add_epi16(zh, _mm512_add_epi16(_mm512_srli_epi16(v0, 8), _mm512_srli_epi16(v1, 8)));
        }
        __m256i ws = _mm256_add_epi16(_mm512_castsi512_si256(zw), _mm512_extracti64x4_epi64(zw, 1));
        __m256i hs = _mm256_add_epi16(_mm512_castsi512_si256(zh), _mm512_extracti64x4_epi64(zh, 1));
        if (p < p1) {
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

const tb_kernel tb_k_gemv_tl1q8_32x4__avx512 = {
    .name = "gemv_tl1q8_32x4__avx512",
    .desc = "TL1 LUT, AVX-512BW, APPROXIMATE (= tl1q8 scalar): 512-bit pshufb over two group pairs on int8 tables",
    .isa = TB_ISA_AVX2 | TB_ISA_AVX512,
    .gemv = gemv,
    .prep = tl1q8_prep_avx2,
    TL1Q8_COMMON,
};
