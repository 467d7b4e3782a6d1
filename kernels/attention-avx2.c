/* attention-avx2.c: the attention heads that share one KV head, with AVX2 + FMA
 * (tb_backend.attn_heads; TB_ISA_AVX2).
 *
 * Computes what tb_ref_attn_head (reference/forward.c) computes for each head, bit for bit:
 *   - scores: q.k_j in the reference's 16 float lanes (two ymm accumulators, vmulps then
 *     vaddps per element, the reference tree in registers), eight accumulators (four heads
 *     x one key, two x two, one x four); each key row is loaded once for up to four query
 *     heads (GQA: 2B4T's 20 query heads read 5 KV heads), so the
 *     keys stream from L2 once per group instead of once per head;
 *   - softmax: tb_attn_softmax, the reference's own code (scalar expf calls, double sum);
 *   - the weighted sum of V: out[i] += a_j * v_j[i] (vmulps, vaddps), positions in order,
 *     eight ymm accumulators held across all j (16 dimensions of four heads per pass, 32
 *     of two, 64 of one), each value row's slice loaded once for the group.
 * head_dim must be a multiple of 16 (2B4T: 128); otherwise the reference runs.
 */
#include <immintrin.h>
#include <math.h>

#include "attention-avx2.h"
#include "attention.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* s[h * n + c] = q_h . k_c for the G heads q_h = q + h * hd and the KS keys k_c = k + c *
 * stride (hd a multiple of 16; G * KS <= 4: eight ymm accumulators). */
ALWAYS_INLINE void dots(const float *q, int G, int hd, const float *k, size_t stride, int KS, float *s, int n) {
    __m256 a[4], b[4];
    for (int u = 0; u < G * KS; u++) a[u] = b[u] = _mm256_setzero_ps();
    for (int i = 0; i < hd; i += 16) {
        for (int c = 0; c < KS; c++) {
            const __m256 k0 = _mm256_loadu_ps(k + c * stride + i), k1 = _mm256_loadu_ps(k + c * stride + i + 8);
            for (int h = 0; h < G; h++) {
                const float *qh = q + (size_t)h * hd;
                a[h * KS + c] = _mm256_add_ps(a[h * KS + c], _mm256_mul_ps(k0, _mm256_loadu_ps(qh + i)));
                b[h * KS + c] = _mm256_add_ps(b[h * KS + c], _mm256_mul_ps(k1, _mm256_loadu_ps(qh + i + 8)));
            }
        }
    }
    for (int h = 0; h < G; h++)
        for (int c = 0; c < KS; c++) s[(size_t)h * n + c] = tb_tree16_avx2(a[h * KS + c], b[h * KS + c]);
}

/* out_h[i0..i0+8 W) = sum_j a_h[j] * v_j[i] in j order for the G heads (a_h = a + h * n,
 * out_h = out + h * hd), W ymm of dimensions (G * W <= 8 accumulators). */
ALWAYS_INLINE void wsum(const float *a, int G, int W, int n, const float *v, size_t stride, int hd, float *out) {
    __m256 o[8];
    for (int u = 0; u < G * W; u++) o[u] = _mm256_setzero_ps();
    for (int j = 0; j < n; j++) {
        const float *vj = v + (size_t)j * stride;
        __m256 x[8];
        for (int w = 0; w < W; w++) x[w] = _mm256_loadu_ps(vj + 8 * w);
        for (int h = 0; h < G; h++) {
            const __m256 c = _mm256_broadcast_ss(a + (size_t)h * n + j);
            for (int w = 0; w < W; w++) o[h * W + w] = _mm256_add_ps(o[h * W + w], _mm256_mul_ps(c, x[w]));
        }
    }
    for (int h = 0; h < G; h++)
        for (int w = 0; w < W; w++) _mm256_storeu_ps(out + (size_t)h * hd + 8 * w, o[h * W + w]);
}

/* G (1..4, a constant once inlined) heads of one KV head */
ALWAYS_INLINE void heads(const float *q, int G, const float *k, const float *v, size_t stride, int n, int hd,
                         float scale, float *out, float *score) {
    const int KS = 4 / G; /* keys per step: eight accumulators */
    int j = 0;
    for (; j + KS <= n; j += KS) dots(q, G, hd, k + (size_t)j * stride, stride, KS, score + j, n);
    for (; j < n; j++) dots(q, G, hd, k + (size_t)j * stride, stride, 1, score + j, n);
    for (int h = 0; h < G; h++) tb_attn_softmax(score + (size_t)h * n, n, scale); /* a_h[j] */
    const int W = 8 / G; /* ymm of dimensions per pass: eight accumulators */
    int i = 0;
    for (; i + 8 * W <= hd; i += 8 * W) wsum(score, G, W, n, v + i, stride, hd, out + i);
    for (; i < hd; i += 16) wsum(score, G, 2, n, v + i, stride, hd, out + i);
}

void tb_attn_heads_avx2(const float *q, int g, const float *k, const float *v, size_t stride, int n, int hd,
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
