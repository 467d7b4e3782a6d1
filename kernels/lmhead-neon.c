/* lmhead-neon.c: the tied LM head with AArch64 NEON (tb_backend.lm_rows; TB_ISA_NEON).
 *
 * Computes what tb_ref_lm_rows (reference/forward.c) computes, bit for bit:
 *   - embedding values converted exactly to f32 (F16: fcvtl, vcvt_f32_f16; BF16: the 16
 *     bits shifted into the high half, vshll_n_u16(.., 16); F32: as stored);
 *   - the reference's 32 float lanes held in eight float32x4 accumulators (lanes 4k..4k+3
 *     in acc[k]); element i goes to lane i mod 32, in index order, from 0.0f, as
 *     l = l + (float)(e * x): fmul then fadd, never fused (the file is built with
 *     -ffp-contract=off, besides -std=c11, so the compiler cannot form fmla);
 *   - the hidden mod 32 tail added to its lanes in scalar code (same rounding);
 *   - the lanes combined by the reference tree in float: l[j] += l[j+16] (four vector
 *     adds), then +8 (two), +4 (one), +2 (vext by 2), +1 (lane 0 + lane 1).  Float
 *     addition is commutative bit for bit, so the vector form is the reference's order.
 * Layout consumed: the model's embedding (vocab, hidden) row-major; x (n, hidden) f32;
 * out[t*ldo + v - v0].  n >= 2 input rows: each embedding row is converted once into an
 * f32 scratch row, then dotted with every input row.
 * Exact: bit-identical to the reference.
 */
#include <arm_neon.h>
#include <stdlib.h>

#include "lmhead.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* 4 embedding values of row e from element i, as f32 (exact for every type). */
ALWAYS_INLINE float32x4_t load4(int type, const void *e, size_t i) {
    const uint16_t *h = (const uint16_t *)e + i;
    switch (type) {
    case TB_F16: return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h)));
    case TB_BF16: return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(h), 16));
    default: return vld1q_f32((const float *)e + i);
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

#define LANES 32 /* the reference's float lanes (tb_ref_lm_rows) */

/* The reference tree on the 32 lanes l[0..7] (lanes 4k..4k+3 in l[k]); clobbers l. */
ALWAYS_INLINE float tree32(float32x4_t l[8]) {
    for (int w = 4; w >= 1; w /= 2) /* l[j] += l[j+16], then +8, +4 (in vectors of 4 lanes) */
        for (int k = 0; k < w; k++) l[k] = vaddq_f32(l[k], l[k + w]);
    const float32x4_t s2 = vaddq_f32(l[0], vextq_f32(l[0], l[0], 2)); /* + l[j+2] */
    return vgetq_lane_f32(s2, 0) + vgetq_lane_f32(s2, 1);              /* + l[j+1] */
}

/* The logit from the lanes plus the tail elements i0..H-1 of row e (i0 = H & ~31). */
ALWAYS_INLINE float finish(int type, float32x4_t l[8], const void *e, const float *x, int i0, int H) {
    if (i0 == H) return tree32(l);
    float f[LANES]; /* (32) lanes */
    for (int k = 0; k < 8; k++) vst1q_f32(f + 4 * k, l[k]);
    for (int i = i0; i < H; i++) {
        const float p = load1(type, e, (size_t)i) * x[i]; /* rounded product, then the add */
        f[i & (LANES - 1)] = f[i & (LANES - 1)] + p;
    }
    for (int k = 0; k < 8; k++) l[k] = vld1q_f32(f + 4 * k);
    return tree32(l);
}

/* out[0] = logit of the embedding row e for one input row x (H): eight add chains. */
ALWAYS_INLINE void row_1(int type, const void *e, int H, const float *x, float *out) {
    const int i0 = H & ~(LANES - 1);
    float32x4_t l[8];
    for (int k = 0; k < 8; k++) l[k] = vdupq_n_f32(0.0f);
    for (int i = 0; i < i0; i += LANES)
        for (int k = 0; k < 8; k++)
            l[k] = vaddq_f32(l[k], vmulq_f32(load4(type, e, (size_t)i + 4 * k), vld1q_f32(x + i + 4 * k)));
    out[0] = finish(type, l, e, x, i0, H);
}

/* One input row x: out[v - v0] = logit of row v, the embedding read straight from memory. */
ALWAYS_INLINE void rows_1(int type, const void *embd, int H, int v0, int v1, const float *x, float *out) {
    const size_t rs = (size_t)H * elem_size(type);
    for (int v = v0; v < v1; v++) row_1(type, (const char *)embd + (size_t)v * rs, H, x, out + (v - v0));
}

/* n >= 2 input rows: each embedding row converted once to f32 (erow), then every input row. */
ALWAYS_INLINE void rows_n(int type, const void *embd, int H, int v0, int v1, const float *x, int n, float *out,
                          size_t ldo, float *erow) {
    const size_t es = elem_size(type);
    const int i4 = H & ~3;
    for (int v = v0; v < v1; v++) {
        const void *e = (const char *)embd + (size_t)v * (size_t)H * es; /* (H) row v */
        for (int i = 0; i < i4; i += 4) vst1q_f32(erow + i, load4(type, e, (size_t)i));
        for (int i = i4; i < H; i++) erow[i] = load1(type, e, (size_t)i);
        for (int t = 0; t < n; t++) row_1(TB_F32, erow, H, x + (size_t)t * H, &out[(size_t)t * ldo + (v - v0)]);
    }
}

int tb_lm_rows_neon(void *ctx, const tb_model *m, int v0, int v1, const float *x, int n, float *out, size_t ldo) {
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
