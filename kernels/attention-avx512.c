/* attention-avx512.c: one attention head with AVX-512F (tb_backend.attn_head; TB_ISA_AVX512).
 *
 * The AVX2 version's scheme (attention-avx2.c) on zmm, giving tb_ref_attn_head's bits:
 *   - scores: the reference's 16 float lanes are exactly one zmm per key (vmulps, vaddps
 *     per element), four keys at a time, the reference tree on the two ymm halves;
 *   - softmax: tb_attn_softmax, the reference's own code (scalar expf calls, double sum);
 *   - the weighted sum of V: blocks of 128 dimensions held in eight zmm accumulators
 *     across all positions (mul, then add).
 * head_dim must be a multiple of 16; a rest below 128 dimensions goes 16 at a time.
 */
#include <immintrin.h>
#include <math.h>

#include "attention.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* l[j] += l[j+8], then +4, +2, +1 on the 16 lanes of a */
ALWAYS_INLINE float tree16(__m512 a) {
    const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

/* s[0..3] = q.k for the 4 keys k, k + stride, ... (hd a multiple of 16). */
static void dot_x4(const float *q, const float *k, size_t stride, int hd, float *s) {
    const float *k1 = k + stride, *k2 = k1 + stride, *k3 = k2 + stride;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int i = 0; i < hd; i += 16) {
        const __m512 x = _mm512_loadu_ps(q + i);
        a0 = _mm512_add_ps(a0, _mm512_mul_ps(_mm512_loadu_ps(k + i), x));
        a1 = _mm512_add_ps(a1, _mm512_mul_ps(_mm512_loadu_ps(k1 + i), x));
        a2 = _mm512_add_ps(a2, _mm512_mul_ps(_mm512_loadu_ps(k2 + i), x));
        a3 = _mm512_add_ps(a3, _mm512_mul_ps(_mm512_loadu_ps(k3 + i), x));
    }
    s[0] = tree16(a0);
    s[1] = tree16(a1);
    s[2] = tree16(a2);
    s[3] = tree16(a3);
}

static float dot_x1(const float *q, const float *k, int hd) {
    __m512 a = _mm512_setzero_ps();
    for (int i = 0; i < hd; i += 16) a = _mm512_add_ps(a, _mm512_mul_ps(_mm512_loadu_ps(k + i), _mm512_loadu_ps(q + i)));
    return tree16(a);
}

/* out[0..128) = sum_j a_j * v_j[i] in j order */
static void wsum_128(const float *a, const float *v, size_t stride, int n, float *out) {
    __m512 o[8];
    for (int r = 0; r < 8; r++) o[r] = _mm512_setzero_ps();
    for (int j = 0; j < n; j++) {
        const __m512 w = _mm512_set1_ps(a[j]);
        const float *vj = v + (size_t)j * stride;
        for (int r = 0; r < 8; r++) o[r] = _mm512_add_ps(o[r], _mm512_mul_ps(w, _mm512_loadu_ps(vj + 16 * r)));
    }
    for (int r = 0; r < 8; r++) _mm512_storeu_ps(out + 16 * r, o[r]);
}

/* the same for 16 dimensions */
static void wsum_16(const float *a, const float *v, size_t stride, int n, float *out) {
    __m512 o = _mm512_setzero_ps();
    for (int j = 0; j < n; j++) o = _mm512_add_ps(o, _mm512_mul_ps(_mm512_set1_ps(a[j]), _mm512_loadu_ps(v + (size_t)j * stride)));
    _mm512_storeu_ps(out, o);
}

void tb_attn_head_avx512(const float *q, const float *k, const float *v, size_t stride, int n, int hd, float scale,
                         float *out, float *score) {
    if (hd % 16) {
        tb_ref_attn_head(q, k, v, stride, n, hd, scale, out, score);
        return;
    }
    int j = 0;
    for (; j + 4 <= n; j += 4) dot_x4(q, k + (size_t)j * stride, stride, hd, score + j);
    for (; j < n; j++) score[j] = dot_x1(q, k + (size_t)j * stride, hd);
    tb_attn_softmax(score, n, scale); /* score[j] = a_j */
    int i = 0;
    for (; i + 128 <= hd; i += 128) wsum_128(score, v + i, stride, n, out + i);
    for (; i < hd; i += 16) wsum_16(score, v + i, stride, n, out + i);
}
