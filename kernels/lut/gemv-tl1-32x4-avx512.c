/* gemv-tl1-32x4-avx512.c: gemv_tl1_32x4__avx512, TL1 LUT with 512-bit pshufb.  Exact.
 * Same layout (tl1_32x4) and prep as the scalar/AVX2 variants.  One step handles two
 * group pairs (p, p+1) of a 32-row tile: their index bytes are contiguous (64 bytes);
 * 128-bit lanes 0-1 look up groups of pair p, lanes 2-3 groups of pair p+1, so each
 * table register is [T(2p), T(2p), T(2p+2), T(2p+2)] (broadcast + masked broadcast).
 * At the end of a block the two 256-bit halves (same rows, different groups) are added
 * in int16: the block still holds <= 64 groups per row, so |sum| <= 64*256 (tl.h).
 * An odd last pair uses the AVX2 step of tl-avx2.h.
 * Prefill (n >= 2): the register- and cache-blocked GEMM of tl-gemm-avx512.h.
 * Checked natively (AMD Zen 4, 2026-12) and, for machines without AVX-512, against a
 * plain-C model of the intrinsics (tests/kernels/test_lut_emu.h). */
#include "tl-avx512.h"
#include "tl-gemm-avx512.h"

static void tile_dot(const uint8_t *w, const uint8_t *tab, tl_dims dims, int32_t d[TL_TILE]) {
    const int pairs = dims.pairs;
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    for (int p0 = 0; p0 < pairs; p0 += TL_BLOCK_GROUPS / 2) {
        const int p1 = p0 + TL_BLOCK_GROUPS / 2 < pairs ? p0 + TL_BLOCK_GROUPS / 2 : pairs;
        __m512i z_lo = _mm512_setzero_si512(), z_hi = _mm512_setzero_si512();
        int p = p0;
        for (; p + 2 <= p1; p += 2) {
            const uint8_t *tp = tab + (size_t)p * TL_PREP_PAIR, *tq = tp + TL_PREP_PAIR;
            const __m512i idx = _mm512_loadu_si512((const void *)(w + (size_t)p * TL1_PAIR_BYTES));
            const __m512i i0 = _mm512_and_si512(idx, m4);
            const __m512i i1 = _mm512_and_si512(_mm512_srli_epi16(idx, 4), m4);
            const __m512i lo0 = _mm512_shuffle_epi8(bcast2(tp, tq), i0);
            const __m512i lo1 = _mm512_shuffle_epi8(bcast2(tp + 16, tq + 16), i1);
            const __m512i hi0 = _mm512_shuffle_epi8(bcast2(tp + 32, tq + 32), i0);
            const __m512i hi1 = _mm512_shuffle_epi8(bcast2(tp + 48, tq + 48), i1);
            z_lo = _mm512_add_epi16(z_lo, _mm512_add_epi16(_mm512_unpacklo_epi8(lo0, hi0), _mm512_unpacklo_epi8(lo1, hi1)));
            z_hi = _mm512_add_epi16(z_hi, _mm512_add_epi16(_mm512_unpackhi_epi8(lo0, hi0), _mm512_unpackhi_epi8(lo1, hi1)));
        }
        __m256i s_lo = _mm256_add_epi16(_mm512_castsi512_si256(z_lo), _mm512_extracti64x4_epi64(z_lo, 1));
        __m256i s_hi = _mm256_add_epi16(_mm512_castsi512_si256(z_hi), _mm512_extracti64x4_epi64(z_hi, 1));
        if (p < p1) tl1_step_avx2(w + (size_t)p * TL1_PAIR_BYTES, tab + (size_t)p * TL_PREP_PAIR, &s_lo, &s_hi);
        tl_widen_avx2(s_lo, s_hi, acc);
    }
    tl_store_acc_avx2(acc, d);
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    if (n < 2) return tl_gemv_tiles(2, tile_dot, packed, rows, cols, prep, n, r0, r1, acc); /* decode */
    int rc = tl_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    tlg_gemm(2, packed, rows, cols, prep, n, r0, r1, acc); /* prefill: tl-gemm-avx512.h */
    return 0;
}

const tb_kernel tb_k_gemv_tl1_32x4__avx512 = {
    .name = "gemv_tl1_32x4__avx512",
    .desc = "TL1 LUT, AVX-512BW: decode 512-bit pshufb over two group pairs per step; prefill (n >= 2) GEMM: int16 word tables, one vpermw per group and 32 rows, 8 tokens per index decode",
    .isa = TB_ISA_AVX2 | TB_ISA_AVX512,
    .gemv = gemv,
    .prep = tl1_prep_avx2,
    TL1_COMMON,
};
