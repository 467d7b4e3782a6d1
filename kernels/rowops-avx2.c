/* rowops-avx2.c: the forward pass's per-token row operations with AVX2 + FMA
 * (tb_backend.rowops; TB_ISA_AVX2).  Each gives the bits of the reference
 * (tb_ref_rowops, reference/forward.c), for every input:
 *   - rmsnorm: the 8 double lanes of the sum of squares in two ymm (lanes 0..3, 4..7),
 *     multiply then add as in the reference (x*x is exact in double); the tail goes to
 *     its lane in scalar code; the same tree;
 *   - quantize (and quantize4, the same steps with 7 / -8 for 127 / -128): max |x|, exact
 *     in any order, so in four chains (maxps drops NaN as the reference's compare does,
 *     so no chain holds one); then x * s converted with round-to-nearest-even, as the
 *     reference's 1.5 * 2^23 trick rounds, without the reference's clamps, which never
 *     change a number here (see quantize_absmax), NaN -> 0, 32 values packed per store;
 *   - epilogue: cvtdq2ps, divps, mulps: the same IEEE operations as the C expression;
 *   - relu2_mul: max(g, 0) as the reference's compare (NaN -> 0), (r * r) * u;
 *   - add: addps.
 */
#include <immintrin.h>

#include "bitlinear.h"
#include "rowops.h"

static void rmsnorm(float *y, const float *x, const float *w, int n, float eps) {
    __m256d a = _mm256_setzero_pd(), b = a;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        a = _mm256_add_pd(a, _mm256_mul_pd(lo, lo)); /* the chain waits for vaddpd (3 cycles), not an FMA (4) */
        b = _mm256_add_pd(b, _mm256_mul_pd(hi, hi));
    }
    double l[8];
    _mm256_storeu_pd(l, a);
    _mm256_storeu_pd(l + 4, b);
    for (; i < n; i++) l[i & 7] += (double)x[i] * (double)x[i];
    for (int s = 4; s >= 1; s /= 2)
        for (int j = 0; j < s; j++) l[j] += l[j + s];
    const float scale = (float)(1.0 / sqrt(l[0] / n + (double)eps));
    const __m256 sc = _mm256_set1_ps(scale);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), sc), _mm256_loadu_ps(w + i)));
    for (; i < n; i++) y[i] = (x[i] * scale) * w[i];
}

static inline __attribute__((always_inline)) float quantize_absmax(const float *x, int n, int8_t *q, float qhi, float qlo) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    int i = 0;
    for (; i + 32 <= n; i += 32) /* four chains: the max is the same in any order */
        for (int j = 0; j < 4; j++) m[j] = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i + 8 * j), absmask), m[j]);
    for (; i + 8 <= n; i += 8) m[0] = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), absmask), m[0]);
    const __m256 m8 = _mm256_max_ps(_mm256_max_ps(m[0], m[1]), _mm256_max_ps(m[2], m[3]));
    float lanes[8], mxf = 0.0f;
    _mm256_storeu_ps(lanes, m8);
    for (int j = 0; j < 8; j++) mxf = lanes[j] > mxf ? lanes[j] : mxf;
    for (; i < n; i++) {
        const float a = fabsf(x[i]);
        mxf = a > mxf ? a : mxf;
    }
    double mx = mxf;
    if (mx < 1e-5) mx = 1e-5;
    const float s = (float)((double)qhi / mx);
    /* x * s rounded to nearest even (vcvtps2dq, the rounding of the reference's 1.5 * 2^23
     * trick) needs no clamp: |x| <= mx and s <= qhi / mx * (1 + 2^-24) keep |x * s| below
     * qhi + 1/2, so the reference's min/max never change a number; NaN (x NaN, or inf * 0
     * when mx is inf) converts to INT_MIN, which no number gives, and becomes 0 below. */
    const __m256 vs = _mm256_set1_ps(s);
    const __m256i nan16 = _mm256_set1_epi16(INT16_MIN), order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (i = 0; i + 32 <= n; i += 32) {
        __m256i r[4];
        for (int j = 0; j < 4; j++) r[j] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * j), vs));
        __m256i p[2] = {_mm256_packs_epi32(r[0], r[1]), _mm256_packs_epi32(r[2], r[3])}; /* NaN: INT16_MIN */
        for (int j = 0; j < 2; j++) p[j] = _mm256_andnot_si256(_mm256_cmpeq_epi16(p[j], nan16), p[j]);
        /* packs work per 128-bit lane; one permute of 4-byte groups restores the order */
        _mm256_storeu_si256((__m256i *)(q + i), _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p[0], p[1]), order));
    }
    for (; i < n; i++) { /* the reference's scalar steps */
        float v = x[i] * s;
        v = v > qhi ? qhi : v;
        v = v < qlo ? qlo : v;
        v = (v + 0x1.8p23f) - 0x1.8p23f;
        if (v != v) v = 0.0f;
        q[i] = (int8_t)v;
    }
    return s;
}

static float quantize(const float *x, int n, int8_t *q) { return quantize_absmax(x, n, q, 127.0f, -128.0f); }

static float quantize4(const float *x, int n, int8_t *q) { return quantize_absmax(x, n, q, 7.0f, -8.0f); }

static void epilogue(const int32_t *acc, int n, float s, float w_scale, float *y) {
    const __m256 vs = _mm256_set1_ps(s), ws = _mm256_set1_ps(w_scale);
    int r = 0;
    for (; r + 8 <= n; r += 8) {
        const __m256 d = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(acc + r)));
        _mm256_storeu_ps(y + r, _mm256_mul_ps(_mm256_div_ps(d, vs), ws));
    }
    for (; r < n; r++) y[r] = tb_bitlinear_epilogue(acc[r], s, w_scale);
}

static void relu2_mul(float *g, const float *u, size_t n) {
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 r = _mm256_max_ps(_mm256_loadu_ps(g + i), zero); /* g > 0 ? g : 0 */
        _mm256_storeu_ps(g + i, _mm256_mul_ps(_mm256_mul_ps(r, r), _mm256_loadu_ps(u + i)));
    }
    for (; i < n; i++) {
        const float r = g[i] > 0.0f ? g[i] : 0.0f;
        g[i] = (r * r) * u[i];
    }
}

static void add(float *x, const float *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) x[i] += y[i];
}

const tb_rowops tb_rowops_avx2 = {rmsnorm, quantize, epilogue, relu2_mul, add, quantize4};
