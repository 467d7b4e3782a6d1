/* attention-avx2.c: one attention head with AVX2 + FMA (tb_backend.attn_head; TB_ISA_AVX2).
 *
 * Computes what tb_ref_attn_head (reference/forward.c) computes, bit for bit:
 *   - scores: q.k_j in the reference's 16 float lanes (two ymm accumulators, vmulps then
 *     vaddps per element, the reference tree in registers), four keys at a time for
 *     independent chains (the scale is applied by the softmax);
 *   - softmax: tb_attn_softmax, the reference's own code (scalar expf calls, double sum);
 *   - the weighted sum of V: out[i] += a_j * v_j[i] (vmulps, vaddps), positions in order,
 *     dimensions in blocks of 64 (eight ymm accumulators held across all j).
 * head_dim must be a multiple of 16 (2B4T: 128); otherwise the reference runs.
 */
#include <immintrin.h>
#include <math.h>

#include "attention-avx2.h"
#include "attention.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* s[0..3] = q.k for the 4 keys k, k + stride, ... (hd a multiple of 16). */
static void dot_x4(const float *q, const float *k, size_t stride, int hd, float *s) {
    const float *k1 = k + stride, *k2 = k1 + stride, *k3 = k2 + stride;
    __m256 a0 = _mm256_setzero_ps(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
    for (int i = 0; i < hd; i += 16) {
        const __m256 x0 = _mm256_loadu_ps(q + i), x1 = _mm256_loadu_ps(q + i + 8);
        a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_loadu_ps(k + i), x0));
        b0 = _mm256_add_ps(b0, _mm256_mul_ps(_mm256_loadu_ps(k + i + 8), x1));
        a1 = _mm256_add_ps(a1, _mm256_mul_ps(_mm256_loadu_ps(k1 + i), x0));
        b1 = _mm256_add_ps(b1, _mm256_mul_ps(_mm256_loadu_ps(k1 + i + 8), x1));
        a2 = _mm256_add_ps(a2, _mm256_mul_ps(_mm256_loadu_ps(k2 + i), x0));
        b2 = _mm256_add_ps(b2, _mm256_mul_ps(_mm256_loadu_ps(k2 + i + 8), x1));
        a3 = _mm256_add_ps(a3, _mm256_mul_ps(_mm256_loadu_ps(k3 + i), x0));
        b3 = _mm256_add_ps(b3, _mm256_mul_ps(_mm256_loadu_ps(k3 + i + 8), x1));
    }
    s[0] = tb_tree16_avx2(a0, b0);
    s[1] = tb_tree16_avx2(a1, b1);
    s[2] = tb_tree16_avx2(a2, b2);
    s[3] = tb_tree16_avx2(a3, b3);
}

static float dot_x1(const float *q, const float *k, int hd) {
    __m256 a = _mm256_setzero_ps(), b = a;
    for (int i = 0; i < hd; i += 16) {
        a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_loadu_ps(k + i), _mm256_loadu_ps(q + i)));
        b = _mm256_add_ps(b, _mm256_mul_ps(_mm256_loadu_ps(k + i + 8), _mm256_loadu_ps(q + i + 8)));
    }
    return tb_tree16_avx2(a, b);
}

/* out[i0..i0+64) = sum_j a_j * v_j[i] in j order (a: n weights). */
static void wsum_64(const float *a, const float *v, size_t stride, int n, float *out) {
    __m256 o[8];
    for (int r = 0; r < 8; r++) o[r] = _mm256_setzero_ps();
    for (int j = 0; j < n; j++) {
        const __m256 w = _mm256_broadcast_ss(a + j);
        const float *vj = v + (size_t)j * stride;
        o[0] = _mm256_add_ps(o[0], _mm256_mul_ps(w, _mm256_loadu_ps(vj)));
        o[1] = _mm256_add_ps(o[1], _mm256_mul_ps(w, _mm256_loadu_ps(vj + 8)));
        o[2] = _mm256_add_ps(o[2], _mm256_mul_ps(w, _mm256_loadu_ps(vj + 16)));
        o[3] = _mm256_add_ps(o[3], _mm256_mul_ps(w, _mm256_loadu_ps(vj + 24)));
        o[4] = _mm256_add_ps(o[4], _mm256_mul_ps(w, _mm256_loadu_ps(vj + 32)));
        o[5] = _mm256_add_ps(o[5], _mm256_mul_ps(w, _mm256_loadu_ps(vj + 40)));
        o[6] = _mm256_add_ps(o[6], _mm256_mul_ps(w, _mm256_loadu_ps(vj + 48)));
        o[7] = _mm256_add_ps(o[7], _mm256_mul_ps(w, _mm256_loadu_ps(vj + 56)));
    }
    for (int r = 0; r < 8; r++) _mm256_storeu_ps(out + 8 * r, o[r]);
}

/* the same for 16 dimensions (the head_dim mod 64 rest) */
static void wsum_16(const float *a, const float *v, size_t stride, int n, float *out) {
    __m256 o0 = _mm256_setzero_ps(), o1 = o0;
    for (int j = 0; j < n; j++) {
        const __m256 w = _mm256_broadcast_ss(a + j);
        const float *vj = v + (size_t)j * stride;
        o0 = _mm256_add_ps(o0, _mm256_mul_ps(w, _mm256_loadu_ps(vj)));
        o1 = _mm256_add_ps(o1, _mm256_mul_ps(w, _mm256_loadu_ps(vj + 8)));
    }
    _mm256_storeu_ps(out, o0);
    _mm256_storeu_ps(out + 8, o1);
}

void tb_attn_head_avx2(const float *q, const float *k, const float *v, size_t stride, int n, int hd, float scale,
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
    for (; i + 64 <= hd; i += 64) wsum_64(score, v + i, stride, n, out + i);
    for (; i < hd; i += 16) wsum_16(score, v + i, stride, n, out + i);
}
