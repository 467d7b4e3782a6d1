/* gemv-bsp-1x256-avx2.c: gemv_bsp_1x256__avx2, bit-serial AND + POPCNT with AVX2.  Exact.
 * Layout bsp_1x256 and nibble-split activation planes (see bsp.h).
 *
 * Why AND+POPCNT here (not masked adds): AVX2 has no mask registers, and emulating a
 * masked add means expanding weight bits to byte masks, which is the int8-MAD family
 * in disguise.  AVX2 has no vector popcount either, so bytes are counted with the
 * pshufb nibble table: per 256-weight chunk and plane j,
 *     d_j = cnt(P & A_j) - cnt(M & A_j)    per byte, in [-8, 8]
 * with P, M and A_j already split into nibbles (P and M once per chunk, A_j in prep).
 * The 8 planes are folded per byte by Horner in int8 (no overflow: |.| <= 8*15 = 120):
 *     E = 8 d3 + 4 d2 + 2 d1 + d0,   F = -8 d7 + 4 d6 + 2 d5 + d4
 * and the byte's contribution E + 16 F (|.| <= 2040) is formed in int16 by maddubs
 * with the unsigned pair (1, 16), then summed to int32 by madd with ones.  The dot
 * product is the sum of all bytes' contributions, so it is exact.
 * Cost: ~13 vector ops per plane per 256 weights (~0.45 op per weight): compute-bound,
 * several times the work of the int8-MAD kernels; this is the family's measured point. */
#include <immintrin.h>

#include "bsp.h"

static inline __m256i ld(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* Per-byte popcount difference cnt(P & A) - cnt(M & A) from nibble-split operands. */
static inline __m256i cnt_diff(__m256i lut, __m256i p_lo, __m256i p_hi, __m256i m_lo, __m256i m_hi,
                               const uint8_t *plane) {
    const __m256i a_lo = ld(plane), a_hi = ld(plane + 32);
    const __m256i cp = _mm256_add_epi8(_mm256_shuffle_epi8(lut, _mm256_and_si256(p_lo, a_lo)),
                                       _mm256_shuffle_epi8(lut, _mm256_and_si256(p_hi, a_hi)));
    const __m256i cm = _mm256_add_epi8(_mm256_shuffle_epi8(lut, _mm256_and_si256(m_lo, a_lo)),
                                       _mm256_shuffle_epi8(lut, _mm256_and_si256(m_hi, a_hi)));
    return _mm256_sub_epi8(cp, cm);
}

static int32_t row_dot(const uint8_t *w, const uint8_t *a, int nc) {
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1,
                                         2, 2, 3, 2, 3, 3, 4);
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i c116 = _mm256_set1_epi16(1 | 16 << 8); /* unsigned bytes (1, 16) */
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    for (int c = 0; c < nc; c++) {
        const uint8_t *wc = w + (size_t)c * BSP_CHUNK_BYTES, *ac = a + (size_t)c * BSP_PREP_CHUNK;
        const __m256i P = ld(wc), M = ld(wc + 32);
        const __m256i p_lo = _mm256_and_si256(P, m4), p_hi = _mm256_and_si256(_mm256_srli_epi16(P, 4), m4);
        const __m256i m_lo = _mm256_and_si256(M, m4), m_hi = _mm256_and_si256(_mm256_srli_epi16(M, 4), m4);
        __m256i e = cnt_diff(lut, p_lo, p_hi, m_lo, m_hi, ac + 3 * 64);
        for (int j = 2; j >= 0; j--)
            e = _mm256_add_epi8(_mm256_add_epi8(e, e), cnt_diff(lut, p_lo, p_hi, m_lo, m_hi, ac + j * 64));
        __m256i f = _mm256_sub_epi8(_mm256_setzero_si256(), cnt_diff(lut, p_lo, p_hi, m_lo, m_hi, ac + 7 * 64));
        for (int j = 6; j >= 4; j--)
            f = _mm256_add_epi8(_mm256_add_epi8(f, f), cnt_diff(lut, p_lo, p_hi, m_lo, m_hi, ac + j * 64));
        const __m256i v = _mm256_add_epi16(_mm256_maddubs_epi16(c116, _mm256_unpacklo_epi8(e, f)),
                                           _mm256_maddubs_epi16(c116, _mm256_unpackhi_epi8(e, f)));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(v, ones));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    int rc = bsp_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    const int nc = bsp_nchunks(cols);
    for (int r = r0; r < r1; r++) {
        const uint8_t *w = (const uint8_t *)packed + (size_t)r * nc * BSP_CHUNK_BYTES; /* (nc, 2, 32) */
        for (int t = 0; t < n; t++)
            acc[(size_t)t * rows + r] = row_dot(w, (const uint8_t *)prep + (size_t)t * nc * BSP_PREP_CHUNK, nc);
    }
    return 0;
}

const tb_kernel tb_k_gemv_bsp_1x256__avx2 = {
    .name = "gemv_bsp_1x256__avx2",
    .desc = "bit-serial, AVX2: weight masks AND 8 activation planes, pshufb nibble popcount, Horner in int8",
    .isa = TB_ISA_AVX2,
    .gemv = gemv,
    .needs_prep = true,
    .prep_size = bsp_prep_size,
    .prep = bsp_prep_avx2,
    BSP_COMMON,
};
