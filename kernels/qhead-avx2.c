/* qhead-avx2.c: the quantized LM heads (reference/qhead.h) with AVX2 + F16C (TB_ISA_AVX2).
 *
 * Computes what tb_qhead_rows_ref (reference/qhead.c) computes, bit for bit:
 *   - x is quantized once per call by tb_qhead_quantize_x itself (n * hidden elements,
 *     nothing next to the vocab * hidden weights), and reused for every row;
 *   - per block of 32 and row, the 8 int32 lanes of qhead.h come out of vpmaddubsw +
 *     vpmaddwd (bytes 4m..4m+3 in lane m), exact:
 *       Q8ROW: |w| (unsigned) times sign(q, w) (w, q in [-127, 127]: pairs <= 2*127*127,
 *              no int16 saturation);
 *       Q4BLK: the stored nibble u = w + 8 (0..15, unsigned) times q, minus 8 * (the sum of
 *              the 4 q of the lane), precomputed per call (pairs <= 2*15*127);
 *   - lane sums to float (vcvtdq2ps, exact: |isum| < 2^24), times the broadcast block scale
 *     dw_b * dx_b (computed per row as one float multiply, as the reference does: vmulps,
 *     or the same scalar C multiply in a tail; F16 scales by vcvtph2ps, exact), the product
 *     rounded and then added (vmulps, vaddps: never fused) to the row's 8-lane accumulator,
 *     blocks in order;
 *   - the tree l[j] += l[j+4], +2, +1 in registers (for 4 rows at once through a 4x4
 *     transpose: (P + R) + (Q + S) per row is exactly ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7))).
 * Rows are processed in groups of R consecutive rows (one contiguous range; Q8ROW R = 1,
 * Q4BLK R = 4, the rest one by one) against 1 or 2 input rows at a time: a group's weights
 * are read from memory once per call, for the first pair of input rows, and from cache for
 * the next pairs.  The weights ahead are prefetched as one linear stream, QH_PF_AHEAD bytes
 * ahead of the group: the hardware prefetchers alone left both formats at 8-11 GB/s.
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qhead-simd.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Tuned on one core of the Zen VM (128256 x 2560, n = 1): rows per group and bytes of
 * weights prefetched ahead of the group (0: none).  Without the software prefetch both
 * formats ran at 8-11 GB/s; with it Q8ROW streams at ~29 GB/s one row at a time, and
 * Q4BLK (ALU-bound: ~8 vector uops per 16 weight bytes) is fastest 4 rows at a time. */
#ifndef QH_Q8_ROWS
#define QH_Q8_ROWS 1
#endif
#ifndef QH_Q4_ROWS
#define QH_Q4_ROWS 4
#endif
#ifndef QH_PF_AHEAD
#define QH_PF_AHEAD 4096
#endif
_Static_assert(QH_Q8_ROWS >= 1 && QH_Q8_ROWS <= 4 && QH_Q4_ROWS >= 1 && QH_Q4_ROWS <= 4, "the scratch s holds 4 rows");

/* The tree of one row's 8 lanes: l[j] += l[j+4], then +2, +1. */
ALWAYS_INLINE float tree8(__m256 a) {
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

/* The trees of four rows' lanes a, b, c, d: {logit a, b, c, d}. */
ALWAYS_INLINE __m128 tree8x4(__m256 a, __m256 b, __m256 c, __m256 d) {
    __m128 p = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1)); /* + l[j+4] */
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(b), _mm256_extractf128_ps(b, 1));
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(c), _mm256_extractf128_ps(c, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(d), _mm256_extractf128_ps(d, 1));
    _MM_TRANSPOSE4_PS(p, q, r, s); /* p = lanes 0 of a..d, q = lanes 1, r = lanes 2, s = lanes 3 */
    return _mm_add_ps(_mm_add_ps(p, r), _mm_add_ps(q, s)); /* (l0 + l2) + (l1 + l3) */
}

/* The quantized input of one call: per token t, q (32*nb), dx (nb), and for Q4BLK
 * q8s (nb * 8 int32) = 8 * (the sum of q over bytes 4m..4m+3) of block b in lane m. */
typedef struct qx {
    int8_t *q;
    float *dx;
    int32_t *q8s;
} qx;

/* s[b] = dw_b * dx[b] for row v (b < nb), one float multiply each as in the reference. */
ALWAYS_INLINE void row_scales(int fmt, const tb_qhead *h, int v, const float *dx, float *s) {
    const int nb = h->blocks;
    int b = 0;
    if (fmt == TB_HEAD_Q8ROW) {
        const float dw = h->row_scale[v];
        const __m256 d = _mm256_set1_ps(dw);
        for (; b + 8 <= nb; b += 8) _mm256_storeu_ps(s + b, _mm256_mul_ps(d, _mm256_loadu_ps(dx + b)));
        for (; b < nb; b++) s[b] = dw * dx[b];
    } else {
        const uint16_t *d = h->blk_scale + (size_t)v * nb;
        for (; b + 8 <= nb; b += 8)
            _mm256_storeu_ps(s + b, _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(d + b))),
                                                  _mm256_loadu_ps(dx + b)));
        for (; b < nb; b++) s[b] = tb_f16_to_f32(d[b]) * dx[b];
    }
}

/* R rows from v against T tokens from t: out[(t + j)*ldo + v - v0 + r].  s: scratch of
 * R * T * nb floats. */
ALWAYS_INLINE void tile(int fmt, int R, int T, const tb_qhead *h, int v, const qx *x, int t, float *s, float *out,
                        size_t ldo) {
    const int nb = h->blocks;
    const size_t rb = h->row_bytes;
    const uint8_t *w = h->w + (size_t)v * rb; /* R consecutive rows: one contiguous range */
    for (int r = 0; r < R; r++)
        for (int j = 0; j < T; j++) row_scales(fmt, h, v + r, x->dx + (size_t)(t + j) * nb, s + (size_t)(r * T + j) * nb);
    const int8_t *q[2];
    const int32_t *q8s[2];
    for (int j = 0; j < T; j++) {
        q[j] = x->q + (size_t)(t + j) * nb * 32;
        q8s[j] = fmt == TB_HEAD_Q4BLK ? x->q8s + (size_t)(t + j) * nb * 8 : NULL;
    }
    const __m256i ones = _mm256_set1_epi16(1), lo4 = _mm256_set1_epi8(0x0f);
    const __m256i shift = _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4);
    const size_t bpb = fmt == TB_HEAD_Q8ROW ? 32 : 16; /* weight bytes per block */
    const char *pf = (const char *)w + QH_PF_AHEAD;
    __m256 acc[4][2];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < T; j++) acc[r][j] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        if (QH_PF_AHEAD) /* the group's R * bpb bytes per block, one linear stream ahead */
            for (size_t o = 0; o < (size_t)R * bpb; o += 64) _mm_prefetch(pf + (size_t)b * R * bpb + o, _MM_HINT_T0);
        __m256i qv[2], qo[2];
        for (int j = 0; j < T; j++) {
            qv[j] = _mm256_load_si256((const __m256i *)(q[j] + (size_t)b * 32));
            if (fmt == TB_HEAD_Q4BLK) qo[j] = _mm256_load_si256((const __m256i *)(q8s[j] + (size_t)b * 8));
        }
        for (int r = 0; r < R; r++) {
            const uint8_t *wr = w + (size_t)r * rb + (size_t)b * bpb;
            if (fmt == TB_HEAD_Q8ROW) {
                const __m256i wv = _mm256_loadu_si256((const __m256i *)wr);
                const __m256i aw = _mm256_abs_epi8(wv);
                for (int j = 0; j < T; j++) {
                    const __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(qv[j], wv));
                    const __m256 f = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
                    const __m256 sc = _mm256_broadcast_ss(s + (size_t)(r * T + j) * nb + b);
                    acc[r][j] = _mm256_add_ps(acc[r][j], _mm256_mul_ps(f, sc));
                }
            } else {
                /* bytes 0..15 low nibbles (elements 0..15) | high nibbles (elements 16..31) */
                const __m256i bb = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)wr));
                const __m256i u = _mm256_and_si256(_mm256_srlv_epi32(bb, shift), lo4);
                for (int j = 0; j < T; j++) {
                    const __m256i p = _mm256_maddubs_epi16(u, qv[j]);
                    const __m256 f = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_madd_epi16(p, ones), qo[j]));
                    const __m256 sc = _mm256_broadcast_ss(s + (size_t)(r * T + j) * nb + b);
                    acc[r][j] = _mm256_add_ps(acc[r][j], _mm256_mul_ps(f, sc));
                }
            }
        }
    }
    for (int j = 0; j < T; j++) {
        float *o = out + (size_t)(t + j) * ldo;
        if (R == 4)
            _mm_storeu_ps(o, tree8x4(acc[0][j], acc[1][j], acc[2][j], acc[3][j]));
        else
            for (int r = 0; r < R; r++) o[r] = tree8(acc[r][j]);
    }
}

ALWAYS_INLINE void rows(int fmt, int R, const tb_qhead *h, int v0, int v1, const qx *x, int n, float *s, float *out,
                        size_t ldo) {
    int v = v0;
    for (; v + R <= v1; v += R) {
        int t = 0;
        for (; t + 2 <= n; t += 2) tile(fmt, R, 2, h, v, x, t, s, out + (v - v0), ldo);
        if (t < n) tile(fmt, R, 1, h, v, x, t, s, out + (v - v0), ldo);
    }
    for (; v < v1; v++) {
        int t = 0;
        for (; t + 2 <= n; t += 2) tile(fmt, 1, 2, h, v, x, t, s, out + (v - v0), ldo);
        if (t < n) tile(fmt, 1, 1, h, v, x, t, s, out + (v - v0), ldo);
    }
}

int tb_qhead_rows_avx2(const tb_qhead *h, int v0, int v1, const float *x, int n, float *out, size_t ldo) {
    if (v0 >= v1 || n < 1) return 0;
    const int H = h->hidden, nb = h->blocks;
    qx qx = {0};
    qx.q = tb_alloc((size_t)n * nb * 32);                     /* (n, 32*nb) */
    qx.dx = tb_alloc(sizeof(float) * (size_t)n * nb);         /* (n, nb) */
    float *s = tb_alloc(sizeof(float) * (size_t)4 * 2 * nb); /* (R, T, nb) block scales */
    if (h->fmt == TB_HEAD_Q4BLK) qx.q8s = tb_alloc(sizeof(int32_t) * (size_t)n * nb * 8); /* (n, nb, 8) */
    int rc = -1;
    if (!qx.q || !qx.dx || !s || (h->fmt == TB_HEAD_Q4BLK && !qx.q8s)) goto done;
    for (int t = 0; t < n; t++) {
        int8_t *q = qx.q + (size_t)t * nb * 32;
        tb_qhead_quantize_x(h, x + (size_t)t * H, q, qx.dx + (size_t)t * nb);
        if (qx.q8s)
            for (int g = 0; g < nb * 8; g++)
                qx.q8s[(size_t)t * nb * 8 + g] = 8 * (q[4 * g] + q[4 * g + 1] + q[4 * g + 2] + q[4 * g + 3]);
    }
    if (h->fmt == TB_HEAD_Q8ROW)
        rows(TB_HEAD_Q8ROW, QH_Q8_ROWS, h, v0, v1, &qx, n, s, out, ldo);
    else
        rows(TB_HEAD_Q4BLK, QH_Q4_ROWS, h, v0, v1, &qx, n, s, out, ldo);
    rc = 0;
done:
    tb_free(qx.q);
    tb_free(qx.dx);
    tb_free(qx.q8s);
    tb_free(s);
    return rc;
}
