/* lmhead-avx2.c: the tied LM head with AVX2 + F16C (tb_backend.lm_rows; TB_ISA_AVX2).
 *
 * Computes what tb_ref_lm_rows (reference/forward.c) computes, bit for bit:
 *   - embedding values converted exactly to f32 (F16: vcvtph2ps; BF16: the 16 bits
 *     shifted into the high half; F32: as stored);
 *   - products in float: vmulps rounds exactly like the scalar float multiply (no FMA
 *     anywhere, and the tail is plain C built with -std=c11, so no contraction);
 *   - each product widened exactly to double (vcvtps2pd) and added into 16 double lanes
 *     held in 4 ymm accumulators, acc[k] = lanes 4k..4k+3: element i lands in lane
 *     i mod 16, in index order, as in the scalar loop;
 *   - the hidden mod 16 tail elements added to their lanes in scalar code;
 *   - the lanes combined by the reference tree (l[j] += l[j+8], then +4, +2, +1) and
 *     rounded to float.
 * Layout consumed: the model's embedding (vocab, hidden) row-major; x (n, hidden) f32;
 * out[t*ldo + v - v0].
 * One input row (decode): each embedding row streams straight from memory (prefetched a
 * little ahead); this case is bound by reading 2 bytes per weight.  Several input rows
 * (prefill, perplexity scoring): each embedding row is converted once into an f32
 * scratch row and dotted with two input rows per pass (8 independent accumulators).
 * Exact: bit-identical to the reference.
 */
#include <immintrin.h>
#include <stdlib.h>

#include "lmhead.h"

#define PF_AHEAD 1024 /* prefetch distance in bytes along the embedding row */

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* 8 embedding values of row e from element i, as f32 (exact for every type). */
ALWAYS_INLINE __m256 load8(int type, const void *e, size_t i) {
    switch (type) {
    case TB_F16:
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)e + i)));
    case TB_BF16: {
        const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)e + i)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
    }
    default:
        return _mm256_loadu_ps((const float *)e + i);
    }
}

/* one embedding value as f32 (exact), for the tails */
ALWAYS_INLINE float load1(int type, const void *e, size_t i) {
    switch (type) {
    case TB_F16: return tb_f16_to_f32(((const uint16_t *)e)[i]);
    case TB_BF16: return tb_bf16_to_f32(((const uint16_t *)e)[i]);
    default: return ((const float *)e)[i];
    }
}

static size_t elem_size(int type) { return type == TB_F32 ? 4 : 2; }

/* lanes 0..15 += the products p0 (elements i..i+7) and p1 (i+8..i+15), widened to double */
ALWAYS_INLINE void acc16(__m256d acc[4], __m256 p0, __m256 p1) {
    acc[0] = _mm256_add_pd(acc[0], _mm256_cvtps_pd(_mm256_castps256_ps128(p0)));
    acc[1] = _mm256_add_pd(acc[1], _mm256_cvtps_pd(_mm256_extractf128_ps(p0, 1)));
    acc[2] = _mm256_add_pd(acc[2], _mm256_cvtps_pd(_mm256_castps256_ps128(p1)));
    acc[3] = _mm256_add_pd(acc[3], _mm256_cvtps_pd(_mm256_extractf128_ps(p1, 1)));
}

/* The logit from the lanes: adds the tail products (elements i0..H-1, i0 a multiple of
 * 16; etail holds the embedding's tail as f32) and combines the lanes by the reference tree. */
ALWAYS_INLINE float finish(const __m256d acc[4], const float *etail, const float *x, int i0, int H) {
    double l[16]; /* (16) lanes */
    for (int k = 0; k < 4; k++) _mm256_storeu_pd(l + 4 * k, acc[k]);
    for (int i = i0; i < H; i++) l[i & 15] += (double)(etail[i - i0] * x[i]);
    for (int w = 8; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) l[j] += l[j + w];
    return (float)l[0];
}

/* One input row x (H): out[v - v0] = logit of row v, reading the embedding directly. */
ALWAYS_INLINE void rows_1(int type, const void *embd, int H, int v0, int v1, const float *x, float *out) {
    const size_t es = elem_size(type);
    const int i0 = H & ~15;
    for (int v = v0; v < v1; v++) {
        const void *e = (const char *)embd + (size_t)v * (size_t)H * es; /* (H) row v */
        __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
        for (int i = 0; i < i0; i += 16) {
            _mm_prefetch((const char *)e + (size_t)i * es + PF_AHEAD, _MM_HINT_T0);
            const __m256 p0 = _mm256_mul_ps(load8(type, e, (size_t)i), _mm256_loadu_ps(x + i));
            const __m256 p1 = _mm256_mul_ps(load8(type, e, (size_t)i + 8), _mm256_loadu_ps(x + i + 8));
            acc16(acc, p0, p1);
        }
        float etail[16]; /* (H - i0) tail of row v as f32 */
        for (int i = i0; i < H; i++) etail[i - i0] = load1(type, e, (size_t)i);
        out[v - v0] = finish(acc, etail, x, i0, H);
    }
}

/* Two input rows a, b (H each) against one f32 row e: *ra, *rb. */
static void dot2_f32(const float *e, const float *a, const float *b, int H, float *ra, float *rb) {
    const int i0 = H & ~15;
    __m256d accA[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    __m256d accB[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    for (int i = 0; i < i0; i += 16) {
        const __m256 e0 = _mm256_loadu_ps(e + i), e1 = _mm256_loadu_ps(e + i + 8);
        acc16(accA, _mm256_mul_ps(e0, _mm256_loadu_ps(a + i)), _mm256_mul_ps(e1, _mm256_loadu_ps(a + i + 8)));
        acc16(accB, _mm256_mul_ps(e0, _mm256_loadu_ps(b + i)), _mm256_mul_ps(e1, _mm256_loadu_ps(b + i + 8)));
    }
    *ra = finish(accA, e + i0, a, i0, H);
    *rb = finish(accB, e + i0, b, i0, H);
}

/* n >= 2 input rows: each embedding row converted once to f32 (erow), then two input rows per pass. */
ALWAYS_INLINE void rows_n(int type, const void *embd, int H, int v0, int v1, const float *x, int n, float *out,
                          size_t ldo, float *erow) {
    const size_t es = elem_size(type);
    const int i8 = H & ~7;
    for (int v = v0; v < v1; v++) {
        const void *e = (const char *)embd + (size_t)v * (size_t)H * es; /* (H) row v */
        for (int i = 0; i < i8; i += 8) {
            _mm_prefetch((const char *)e + (size_t)i * es + PF_AHEAD, _MM_HINT_T0);
            _mm256_storeu_ps(erow + i, load8(type, e, (size_t)i));
        }
        for (int i = i8; i < H; i++) erow[i] = load1(type, e, (size_t)i);
        const size_t col = (size_t)(v - v0);
        int t = 0;
        for (; t + 2 <= n; t += 2)
            dot2_f32(erow, x + (size_t)t * H, x + (size_t)(t + 1) * H, H, &out[(size_t)t * ldo + col],
                     &out[(size_t)(t + 1) * ldo + col]);
        if (t < n) rows_1(TB_F32, erow, H, 0, 1, x + (size_t)t * H, &out[(size_t)t * ldo + col]);
    }
}

int tb_lm_rows_avx2(void *ctx, const tb_model *m, int v0, int v1, const float *x, int n, float *out, size_t ldo) {
    (void)ctx;
    const int type = (int)m->embd_type, H = m->cfg.hidden;
    if (type != TB_F16 && type != TB_BF16 && type != TB_F32) return TB_LM_UNHANDLED;
    if (v0 >= v1 || n < 1 || H < 1) return 0;
    if (n == 1) {
        switch (type) {
        case TB_F16: rows_1(TB_F16, m->embd, H, v0, v1, x, out); break;
        case TB_BF16: rows_1(TB_BF16, m->embd, H, v0, v1, x, out); break;
        default: rows_1(TB_F32, m->embd, H, v0, v1, x, out); break;
        }
        return 0;
    }
    float *erow = malloc(sizeof(float) * (size_t)H); /* (H) one embedding row as f32 */
    if (!erow) return -1;
    switch (type) {
    case TB_F16: rows_n(TB_F16, m->embd, H, v0, v1, x, n, out, ldo, erow); break;
    case TB_BF16: rows_n(TB_BF16, m->embd, H, v0, v1, x, n, out, ldo, erow); break;
    default: rows_n(TB_F32, m->embd, H, v0, v1, x, n, out, ldo, erow); break;
    }
    free(erow);
    return 0;
}
