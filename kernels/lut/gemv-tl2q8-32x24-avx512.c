/* gemv-tl2q8-32x24-avx512.c: gemv_tl2q8_32x24__avx512, TL2 LUT (1.67 bpw) on int8 tables
 * with 512-bit pshufb.  APPROXIMATE, bit-identical to its definition
 * gemv_tl2q8_32x24__scalar (acc = 4 * sum of +-T8, T8 = rint(T/4); tl.h "int8-quantized
 * tables").  Same packed weights as gemv_tl2_32x24__* and the same prep as
 * gemv_tl2q8_32x24__avx2.  Per octet, two zmm steps of two group pairs each (lanes 0-1 pair
 * a, lanes 2-3 pair b), as gemv-tl2-32x24-avx512.c does; a negated group's offset-binary
 * byte is XORed with 0xff (T8 -> ~T8; the tile's nneg counts add the +1s) under a byte
 * mask from vptestmb + vpmovm2b; the bytes are summed as uint16 words in both halves, at
 * most TLQ8_BLOCK_GROUPS = 256 groups per row over both (tl.h bound), then the halves are
 * added and widened. */
#include "tl-avx512.h"

static void tile_dot(const uint8_t *w, const uint8_t *tab, tl_dims d, int32_t out[TL_TILE]) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    const int per_block = TLQ8_BLOCK_GROUPS / 8; /* octets per uint16 block */
    for (int o0 = 0; o0 < d.octets; o0 += per_block) {
        const int o1 = o0 + per_block < d.octets ? o0 + per_block : d.octets;
        __m512i zw = _mm512_setzero_si512(), zh = _mm512_setzero_si512();
        for (int o = o0; o < o1; o++) {
            const uint8_t *oct = w + (size_t)o * TL2_OCTET_BYTES;
            const __m512i sgn = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(oct + 128)));
            for (int h = 0; h < 2; h++) {
                /* pairs a = 2h, b = 2h+1 of the octet: groups 4h .. 4h+3 */
                const uint8_t *tp = tab + (size_t)(4 * o + 2 * h) * TLQ8_PREP_PAIR, *tq = tp + TLQ8_PREP_PAIR;
                const __m512i idx = _mm512_loadu_si512((const void *)(oct + 64 * h));
                const __m512i m0 = _mm512_movm_epi8(_mm512_test_epi8_mask(sgn, bitsel(4 * h, 4 * h + 2)));
                const __m512i m1 = _mm512_movm_epi8(_mm512_test_epi8_mask(sgn, bitsel(4 * h + 1, 4 * h + 3)));
                const __m512i v0 = _mm512_xor_si512(_mm512_shuffle_epi8(bcast2(tp, tq), _mm512_and_si512(idx, m4)), m0);
                const __m512i v1 = _mm512_xor_si512(
                    _mm512_shuffle_epi8(bcast2(tp + 16, tq + 16), _mm512_and_si512(_mm512_srli_epi16(idx, 4), m4)), m1);
                zw = _mm512_add_epi16(zw, _mm512_add_epi16(v0, v1));
                zh = _mm512_add_epi16(zh, _mm512_add_epi16(_mm512_srli_epi16(v0, 8), _mm512_srli_epi16(v1, 8)));
            }
        }
        const __m256i ws = _mm256_add_epi16(_mm512_castsi512_si256(zw), _mm512_extracti64x4_epi64(zw, 1));
        const __m256i hs = _mm256_add_epi16(_mm512_castsi512_si256(zh), _mm512_extracti64x4_epi64(zh, 1));
        tlq8_widen_avx2(ws, hs, acc);
    }
    tl2_add_nneg_avx2(w + (size_t)d.octets * TL2_OCTET_BYTES, acc);
    tlq8_store_acc_avx2(acc, TLQ8_BIAS * 8 * d.octets, 2, out);
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    return tlq8_gemv_tiles(3, tile_dot, packed, rows, cols, prep, n, r0, r1, acc);
}

const tb_kernel tb_k_gemv_tl2q8_32x24__avx512 = {
    .name = "gemv_tl2q8_32x24__avx512",
    .desc = "TL2 LUT, AVX-512BW, APPROXIMATE (= tl2q8 scalar): 512-bit pshufb over two group pairs on int8 tables, sign by XOR",
    .isa = TB_ISA_AVX2 | TB_ISA_AVX512,
    .gemv = gemv,
    .prep = tl2q8_prep_avx2,
    TL2Q8_COMMON,
};
