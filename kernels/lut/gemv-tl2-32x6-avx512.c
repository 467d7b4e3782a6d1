/* gemv-tl2-32x6-avx512.c: gemv_tl2_32x6__avx512, TL2 LUT (1.67 bpw), 512-bit pshufb.  Exact.
 * Same layout (tl2_32x6) and prep as the scalar/AVX2 variants.  One step handles two
 * group pairs (p, p+1) of a 32-row tile (index bytes at p*40 and (p+1)*40 joined into
 * one zmm; tables [T(2p), T(2p), T(2p+2), T(2p+2)] as in the TL1 AVX-512 variant).
 * Signs: the two 32-bit sign words of the groups sharing a register form one 64-bit
 * mask, turned into bytes with vpmovm2b, XORed into both table bytes (v -> ~v = -v-1),
 * and counted per row in int8 to add the missing +1 (same scheme as AVX2).  Block end:
 * the 256-bit halves are added (int16 sums and int8 counts: still <= 64 groups per row
 * per block, so |sum| <= 64*384 and count <= 64, tl.h).  Odd last pair: AVX2 step.
 * UNVERIFIED ON HARDWARE HERE (the development machine has no AVX-512); it mirrors
 * the AVX2 variant operation for operation. */
#include "tl-avx2.h"

static inline __m512i bcast2(const uint8_t *p, const uint8_t *q) {
    const __m512i a = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)p));
    return _mm512_mask_broadcast_i32x4(a, 0xFF00, _mm_loadu_si128((const __m128i *)q));
}

static inline uint64_t sign_mask(const uint8_t *a, const uint8_t *b) {
    uint32_t x, y;
    memcpy(&x, a, 4);
    memcpy(&y, b, 4);
    return (uint64_t)x | (uint64_t)y << 32;
}

static void tile_dot(const uint8_t *w, const uint8_t *tab, int pairs, int32_t d[TL_TILE]) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    for (int p0 = 0; p0 < pairs; p0 += TL_BLOCK_GROUPS / 2) {
        const int p1 = p0 + TL_BLOCK_GROUPS / 2 < pairs ? p0 + TL_BLOCK_GROUPS / 2 : pairs;
        __m512i z_lo = _mm512_setzero_si512(), z_hi = _mm512_setzero_si512(), z_neg = _mm512_setzero_si512();
        int p = p0;
        for (; p + 2 <= p1; p += 2) {
            const uint8_t *wp = w + (size_t)p * TL2_PAIR_BYTES, *wq = wp + TL2_PAIR_BYTES;
            const uint8_t *tp = tab + (size_t)p * TL_PREP_PAIR, *tq = tp + TL_PREP_PAIR;
            const __m512i idx = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)wp)),
                                                   _mm256_loadu_si256((const __m256i *)wq), 1);
            const __m512i i0 = _mm512_and_si512(idx, m4);
            const __m512i i1 = _mm512_and_si512(_mm512_srli_epi16(idx, 4), m4);
            const __m512i m0 = _mm512_movm_epi8((__mmask64)sign_mask(wp + 32, wq + 32));
            const __m512i m1 = _mm512_movm_epi8((__mmask64)sign_mask(wp + 36, wq + 36));
            const __m512i lo0 = _mm512_xor_si512(_mm512_shuffle_epi8(bcast2(tp, tq), i0), m0);
            const __m512i lo1 = _mm512_xor_si512(_mm512_shuffle_epi8(bcast2(tp + 16, tq + 16), i1), m1);
            const __m512i hi0 = _mm512_xor_si512(_mm512_shuffle_epi8(bcast2(tp + 32, tq + 32), i0), m0);
            const __m512i hi1 = _mm512_xor_si512(_mm512_shuffle_epi8(bcast2(tp + 48, tq + 48), i1), m1);
            z_neg = _mm512_sub_epi8(_mm512_sub_epi8(z_neg, m0), m1);
            z_lo = _mm512_add_epi16(z_lo, _mm512_add_epi16(_mm512_unpacklo_epi8(lo0, hi0), _mm512_unpacklo_epi8(lo1, hi1)));
            z_hi = _mm512_add_epi16(z_hi, _mm512_add_epi16(_mm512_unpackhi_epi8(lo0, hi0), _mm512_unpackhi_epi8(lo1, hi1)));
        }
        __m256i s_lo = _mm256_add_epi16(_mm512_castsi512_si256(z_lo), _mm512_extracti64x4_epi64(z_lo, 1));
        __m256i s_hi = _mm256_add_epi16(_mm512_castsi512_si256(z_hi), _mm512_extracti64x4_epi64(z_hi, 1));
        __m256i neg = _mm256_add_epi8(_mm512_castsi512_si256(z_neg), _mm512_extracti64x4_epi64(z_neg, 1));
        if (p < p1)
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

const tb_kernel tb_k_gemv_tl2_32x6__avx512 = {
    .name = "gemv_tl2_32x6__avx512",
    .desc = "TL2 LUT, AVX-512BW: 512-bit pshufb over two group pairs, signs via vpmovm2b (unverified on hardware here)",
    .isa = TB_ISA_AVX2 | TB_ISA_AVX512,
    .gemv = gemv,
    .prep = tl2_prep_avx2,
    TL2_COMMON,
};
