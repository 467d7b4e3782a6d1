/* attention-avx512.c: the attention heads that share one KV head, with AVX-512F
 * (tb_backend.attn_heads; TB_ISA_AVX512).
 *
 * The AVX2 version's scheme (attention-avx2.c) on zmm, giving tb_ref_attn_head's bits:
 *   - scores: the reference's 16 float lanes are exactly one zmm per (head, key) (vmulps,
 *     vaddps per element), eight accumulators (four heads x two keys ... one head x eight
 *     keys), each key loaded once for up to four heads, the reference tree on the two ymm
 *     halves;
 *   - softmax: tb_attn_softmax, the reference's own code (scalar expf calls, double sum);
 *   - the weighted sum of V: eight zmm accumulators across all positions (mul, then add):
 *     32 dimensions of four heads per pass ... 128 of one, each value slice loaded once.
 * head_dim must be a multiple of 16; a rest goes 16 dimensions at a time.
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

/* s[h * n + c] = q_h . k_c for the G heads q_h = q + h * hd and the KS keys k_c = k + c *
 * stride (hd a multiple of 16; G * KS <= 8 zmm accumulators). */
ALWAYS_INLINE void dots(const float *q, int G, int hd, const float *k, size_t stride, int KS, float *s, int n) {
    __m512 a[8];
    for (int u = 0; u < G * KS; u++) a[u] = _mm512_setzero_ps();
    for (int i = 0; i < hd; i += 16) {
        __m512 x[4];
        for (int h = 0; h < G; h++) x[h] = _mm512_loadu_ps(q + (size_t)h * hd + i);
        for (int c = 0; c < KS; c++) {
            const __m512 kc = _mm512_loadu_ps(k + c * stride + i);
            for (int h = 0; h < G; h++) a[h * KS + c] = _mm512_add_ps(a[h * KS + c], _mm512_mul_ps(kc, x[h]));
        }
    }
    for (int h = 0; h < G; h++)
        for (int c = 0; c < KS; c++) s[(size_t)h * n + c] = tree16(a[h * KS + c]);
}

/* out_h[0..16 W) = sum_j a_h[j] * v_j[i] in j order for the G heads (a_h = a + h * n,
 * out_h = out + h * hd), W zmm of dimensions (G * W <= 8 accumulators). */
ALWAYS_INLINE void wsum(const float *a, int G, int W, int n, const float *v, size_t stride, int hd, float *out) {
    __m512 o[8];
    for (int u = 0; u < G * W; u++) o[u] = _mm512_setzero_ps();
    for (int j = 0; j < n; j++) {
        const float *vj = v + (size_t)j * stride;
        __m512 x[8];
        for (int w = 0; w < W; w++) x[w] = _mm512_loadu_ps(vj + 16 * w);
        for (int h = 0; h < G; h++) {
            const __m512 c = _mm512_set1_ps(a[(size_t)h * n + j]);
            for (int w = 0; w < W; w++) o[h * W + w] = _mm512_add_ps(o[h * W + w], _mm512_mul_ps(c, x[w]));
        }
    }
    for (int h = 0; h < G; h++)
        for (int w = 0; w < W; w++) _mm512_storeu_ps(out + (size_t)h * hd + 16 * w, o[h * W + w]);
}

/* G (1..4, a constant once inlined) heads of one KV head */
ALWAYS_INLINE void heads(const float *q, int G, const float *k, const float *v, size_t stride, int n, int hd,
                         float scale, float *out, float *score) {
    const int KS = 8 / G, W = 8 / G; /* keys per step, zmm of dimensions per pass: eight accumulators */
    int j = 0;
    for (; j + KS <= n; j += KS) dots(q, G, hd, k + (size_t)j * stride, stride, KS, score + j, n);
    for (; j < n; j++) dots(q, G, hd, k + (size_t)j * stride, stride, 1, score + j, n);
    for (int h = 0; h < G; h++) tb_attn_softmax(score + (size_t)h * n, n, scale); /* a_h[j] */
    int i = 0;
    for (; i + 16 * W <= hd; i += 16 * W) wsum(score, G, W, n, v + i, stride, hd, out + i);
    for (; i < hd; i += 16) wsum(score, G, 1, n, v + i, stride, hd, out + i);
}

void tb_attn_heads_avx512(const float *q, int g, const float *k, const float *v, size_t stride, int n, int hd,
                          float scale, float *out, float *score) {
    if (hd % 16) {
        tb_ref_attn_heads(q, g, k, v, stride, n, hd, scale, out, score);
        return;
    }
    for (int h = 0; h < g; h += 4) {
        const float *qh = q + (size_t)h * hd;
        float *oh = out + (size_t)h * hd;
        switch (g - h < 4 ? g - h : 4) {
        case 1: heads(qh, 1, k, v, stride, n, hd, scale, oh, score); break;
        case 2: heads(qh, 2, k, v, stride, n, hd, scale, oh, score); break;
        case 3: heads(qh, 3, k, v, stride, n, hd, scale, oh, score); break;
        default: heads(qh, 4, k, v, stride, n, hd, scale, oh, score); break;
        }
    }
}
