/* attention-kv-avx2.c: one attention head over a compressed KV cache (F16 or Q8) with AVX2
 * + F16C (tb_backend.attn_head_kv; TB_ISA_AVX2).
 *
 * Computes what tb_ref_attn_head_kv (reference/forward.c) computes, bit for bit: every key
 * and value element is dequantized exactly as the definition does it (F16: vcvtph2ps, the
 * exact value; Q8: vcvtdq2ps then one vmulps by the position's scale, the same single
 * rounding as (float)q * s), then the reference attention's order: q.k in 16 float lanes
 * (two ymm, multiply then add, the reference tree), the shared softmax (tb_attn_softmax),
 * and out[i] += a_j * v_j[i] position by position, dimensions in blocks of 16 held in
 * registers across all positions.  head_dim not a multiple of 16 runs the definition.
 */
#include <immintrin.h>

#include "attention-avx2.h"
#include "attention.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* 8 dequantized values of row j from element i */
ALWAYS_INLINE __m256 load8(const tb_kv_view *kv, const void *base, const float *sc, int j, int i) {
    const size_t at = (size_t)j * kv->stride + (size_t)i;
    if (kv->fmt == TB_KV_F16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)base + at)));
    const __m128i b = _mm_loadl_epi64((const __m128i *)((const int8_t *)base + at));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b)), _mm256_set1_ps(sc[(size_t)j * kv->sstride]));
}

ALWAYS_INLINE void scores(const float *q, const tb_kv_view *kv, int n, int hd, float *score) {
    for (int j = 0; j < n; j++) {
        __m256 a = _mm256_setzero_ps(), b = a;
        for (int i = 0; i < hd; i += 16) {
            a = _mm256_add_ps(a, _mm256_mul_ps(load8(kv, kv->k, kv->ks, j, i), _mm256_loadu_ps(q + i)));
            b = _mm256_add_ps(b, _mm256_mul_ps(load8(kv, kv->k, kv->ks, j, i + 8), _mm256_loadu_ps(q + i + 8)));
        }
        score[j] = tb_tree16_avx2(a, b);
    }
}

/* out[i0 .. i0+16) = sum_j a_j * v_j[i] in j order */
ALWAYS_INLINE void wsum16(const tb_kv_view *kv, const float *a, int n, int i0, float *out) {
    __m256 o0 = _mm256_setzero_ps(), o1 = o0;
    for (int j = 0; j < n; j++) {
        const __m256 w = _mm256_broadcast_ss(a + j);
        o0 = _mm256_add_ps(o0, _mm256_mul_ps(w, load8(kv, kv->v, kv->vs, j, i0)));
        o1 = _mm256_add_ps(o1, _mm256_mul_ps(w, load8(kv, kv->v, kv->vs, j, i0 + 8)));
    }
    _mm256_storeu_ps(out + i0, o0);
    _mm256_storeu_ps(out + i0 + 8, o1);
}

ALWAYS_INLINE void head(const float *q, const tb_kv_view *kv, int n, int hd, float scale, float *out, float *score) {
    scores(q, kv, n, hd, score);
    tb_attn_softmax(score, n, scale);
    for (int i0 = 0; i0 < hd; i0 += 16) wsum16(kv, score, n, i0, out);
}

/* one instance per format, so load8's format test folds away */
static void head_f16(const float *q, const tb_kv_view *kv, int n, int hd, float scale, float *out, float *score) {
    tb_kv_view v = *kv;
    v.fmt = TB_KV_F16;
    head(q, &v, n, hd, scale, out, score);
}

static void head_q8(const float *q, const tb_kv_view *kv, int n, int hd, float scale, float *out, float *score) {
    tb_kv_view v = *kv;
    v.fmt = TB_KV_Q8;
    head(q, &v, n, hd, scale, out, score);
}

void tb_attn_head_kv_avx2(const float *q, const tb_kv_view *kv, int n, int hd, float scale, float *out,
                          float *score) {
    if (hd % 16 != 0 || (kv->fmt != TB_KV_F16 && kv->fmt != TB_KV_Q8)) {
        tb_ref_attn_head_kv(q, kv, n, hd, scale, out, score);
        return;
    }
    if (kv->fmt == TB_KV_F16)
        head_f16(q, kv, n, hd, scale, out, score);
    else
        head_q8(q, kv, n, hd, scale, out, score);
}
