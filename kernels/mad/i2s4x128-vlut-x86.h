/* i2s4x128-vlut-x86.h: AVX2 helpers of the token-lane lookup GEMM (i2s4x128-vlut.h). */
#ifndef TB_I2S4X128_VLUT_X86_H
#define TB_I2S4X128_VLUT_X86_H

#include <immintrin.h>

#include "i2s4x128-vlut.h"

static inline __m256i vl_ld(const char *p) { return _mm256_load_si256((const __m256i *)p); }

/* Entry numbers e = f0 + 3 f1 + 9 f2 + 27 f3 of 32 packed bytes (f_s: bits 2s+1:2s):
 * two 16-entry vpshufb tables, one per nibble.  A nibble holding the never-packed code 3
 * counts 0, so any byte gives an entry in [0, 80]: a table read never leaves the table. */
static inline __m256i vl_entries(__m256i v, __m256i m15) {
#define VL_N(n, w) ((((n) & 3) == 3 || ((n) >> 2) == 3) ? 0 : (w) * (((n) & 3) + 3 * ((n) >> 2)))
#define VL_T(w) VL_N(0, w), VL_N(1, w), VL_N(2, w), VL_N(3, w), VL_N(4, w), VL_N(5, w), VL_N(6, w), VL_N(7, w), \
                VL_N(8, w), VL_N(9, w), VL_N(10, w), VL_N(11, w), VL_N(12, w), VL_N(13, w), VL_N(14, w), VL_N(15, w)
    const __m256i lo = _mm256_setr_epi8(VL_T(1), VL_T(1)), hi = _mm256_setr_epi8(VL_T(9), VL_T(9));
#undef VL_T
#undef VL_N
    return _mm256_add_epi8(_mm256_shuffle_epi8(lo, _mm256_and_si256(v, m15)),
                           _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), m15)));
}

/* s[0..3] (int32, tokens 0-7, 8-15, 16-23, 24-31) = (first ? 0 : s) + widen(lo, hi) */
static inline void vl_widen_add(__m256i s[4], __m256i lo, __m256i hi, int first) {
    const __m256i w[4] = {_mm256_cvtepi16_epi32(_mm256_castsi256_si128(lo)),
                          _mm256_cvtepi16_epi32(_mm256_extracti128_si256(lo, 1)),
                          _mm256_cvtepi16_epi32(_mm256_castsi256_si128(hi)),
                          _mm256_cvtepi16_epi32(_mm256_extracti128_si256(hi, 1))};
    for (int i = 0; i < 4; i++) s[i] = first ? w[i] : _mm256_add_epi32(s[i], w[i]);
}

/* The 32 token sums of one row to out[t * stride] (token-major result). */
static inline void vl_store_tokens(const __m256i s[4], int32_t *out, int stride) {
    _Alignas(32) int32_t v[TB_I2S4V_TOK];
    for (int i = 0; i < 4; i++) _mm256_store_si256((__m256i *)(v + 8 * i), s[i]);
    for (int t = 0; t < TB_I2S4V_TOK; t++) out[(size_t)t * stride] = v[t];
}

/* acc[t * rows + r] for rows [r0, r1) and the tokens of the whole blocks of 32 in n, from
 * tb_i2s4v_prep's prep; the caller (the kernel's gemv) has checked the arguments.  Cannot fail. */
void tb_i2s4v_gemm_avx2(const void *packed, int rows, int cols, const void *prep, int n, int r0, int r1,
                        int32_t *acc);

#endif
