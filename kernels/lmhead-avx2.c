/* lmhead-avx2.c: the tied LM head with AVX2 + FMA + F16C (tb_backend.lm_rows; TB_ISA_AVX2).
 *
 * Computes what tb_ref_lm_rows (reference/forward.c) computes, bit for bit:
 *   - embedding values converted exactly to f32 (F16: vcvtph2ps; BF16: the 16 bits
 *     shifted into the high half; F32: as stored);
 *   - the 32 float lanes of the reference held in four ymm accumulators (lanes 0..7,
 *     8..15, 16..23, 24..31); element i goes to lane i mod 32 as vmulps then vaddps (the
 *     reference's rounded product, then add; never a fused multiply-add), in index order;
 *   - the hidden mod 32 tail added to its lanes in scalar code (C11: not contracted);
 *   - the lanes combined by the reference tree (l[j] += l[j+16], then +8, +4, +2, +1):
 *     with no tail this is done in registers.
 * Layout consumed: the model's embedding (vocab, hidden) row-major; x (n, hidden) f32;
 * out[t*ldo + v - v0].
 * One input row (decode): the embedding rows stream from memory one after the other, so
 * the head is bound by reading 2 bytes per weight, not by arithmetic.  Several input rows (prefill, perplexity scoring): each
 * embedding row is converted once into an f32 scratch row and dotted with two input rows
 * per pass.  Exact: bit-identical to the reference.
 */
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>

#include "lmhead.h"

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

/* The reference tree on 32 lanes a (0..7), b (8..15), c (16..23), d (24..31), in
 * registers: l[j] += l[j+16], then +8, +4, +2, +1. */
ALWAYS_INLINE float tree32(__m256 a, __m256 b, __m256 c, __m256 d) {
    const __m256 s8 = _mm256_add_ps(_mm256_add_ps(a, c), _mm256_add_ps(b, d));          /* +16, then +8 */
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1)); /* + l[j+4] */
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));                                 /* + l[j+2] */
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));                         /* + l[j+1] */
}

/* The logit from the lanes plus the tail elements i0..H-1 of row e (i0 = H & ~31). */
ALWAYS_INLINE float finish(int type, const __m256 acc[4], const void *e, const float *x, int i0, int H) {
    if (i0 == H) return tree32(acc[0], acc[1], acc[2], acc[3]);
    float l[32]; /* (32) lanes */
    for (int k = 0; k < 4; k++) _mm256_storeu_ps(l + 8 * k, acc[k]);
    for (int i = i0; i < H; i++) l[i & 31] += load1(type, e, (size_t)i) * x[i];
    for (int w = 16; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) l[j] += l[j + w];
    return l[0];
}

/* out[0] = logit of the embedding row e for one input row x (H): the 32 lanes in four
 * accumulators (four independent add chains). */
ALWAYS_INLINE void row_1(int type, const void *e, int H, const float *x, float *out) {
    const int i0 = H & ~31;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int i = 0; i < i0; i += 32)
        for (int k = 0; k < 4; k++)
            acc[k] = _mm256_add_ps(acc[k], _mm256_mul_ps(load8(type, e, (size_t)i + 8 * k), _mm256_loadu_ps(x + i + 8 * k)));
    out[0] = finish(type, acc, e, x, i0, H);
}

/* One input row x (H): out[v - v0] = logit of row v, reading the embedding directly, one
 * row after the other: a single sequential stream, which the hardware prefetchers
 * follow at full speed.  (Four rows at once ran at half the bandwidth on Zen 4: four
 * interleaved streams 5 KB apart defeat the prefetchers.) */
ALWAYS_INLINE void rows_1(int type, const void *embd, int H, int v0, int v1, const float *x, float *out) {
    const size_t rs = (size_t)H * elem_size(type);
    for (int v = v0; v < v1; v++) row_1(type, (const char *)embd + (size_t)v * rs, H, x, out + (v - v0));
}

/* Two input rows p, q (H each) against one f32 row e: *rp, *rq. */
static void dot2_f32(const float *e, const float *p, const float *q, int H, float *rp, float *rq) {
    const int i0 = H & ~31;
    __m256 pa[4], qa[4];
    for (int k = 0; k < 4; k++) pa[k] = qa[k] = _mm256_setzero_ps();
    for (int i = 0; i < i0; i += 32)
        for (int k = 0; k < 4; k++) {
            const __m256 ev = _mm256_loadu_ps(e + i + 8 * k);
            pa[k] = _mm256_add_ps(pa[k], _mm256_mul_ps(ev, _mm256_loadu_ps(p + i + 8 * k)));
            qa[k] = _mm256_add_ps(qa[k], _mm256_mul_ps(ev, _mm256_loadu_ps(q + i + 8 * k)));
        }
    *rp = finish(TB_F32, pa, e, p, i0, H);
    *rq = finish(TB_F32, qa, e, q, i0, H);
}

/* n >= 2 input rows: each embedding row converted once to f32 (erow), then two input rows per pass. */
ALWAYS_INLINE void rows_n(int type, const void *embd, int H, int v0, int v1, const float *x, int n, float *out,
                          size_t ldo, float *erow) {
    const size_t es = elem_size(type);
    const int i8 = H & ~7;
    for (int v = v0; v < v1; v++) {
        const void *e = (const char *)embd + (size_t)v * (size_t)H * es; /* (H) row v */
        for (int i = 0; i < i8; i += 8) _mm256_storeu_ps(erow + i, load8(type, e, (size_t)i));
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
