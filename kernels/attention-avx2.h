/* attention-avx2.h: the piece the AVX2 attention heads share (attention-avx2.c,
 * attention-kv-avx2.c; compiled with AVX2 flags only). */
#ifndef TB_ATTENTION_AVX2_H
#define TB_ATTENTION_AVX2_H

#include <immintrin.h>

/* The reference's 16-lane tree (tb_ref_dot16: l[j] += l[j+8], then +4, +2, +1) on
 * lanes a (0..7) and b (8..15). */
static inline __attribute__((always_inline)) float tb_tree16_avx2(__m256 a, __m256 b) {
    const __m256 s8 = _mm256_add_ps(a, b);
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

#endif
