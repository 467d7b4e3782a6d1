/* i2s4x128-neon.h: the AArch64 gemv of the int8-MAD layout i2s4x128 (mad/i2s4x128.h),
 * shared by gemv_i2s_4x128__neon and __neondot, which differ only in the 16-byte dot step.
 *
 * Per 128-weight block of a 4-row tile: the block's 128 activations are loaded once as
 * 8 x int8x16 (q[2s + h] = activations 32s + 16h .. +15), each row's 32 code bytes as
 * 2 x uint8x16 (h = 0, 1); shift by 2s and AND 3 gives the 16 codes lined up with q[2s + h]
 * (byte j of a row holds K index j + 32s at bits 2s+1:2s).  Codes 0..2 are valid int8, so
 * a signed dot step applies: dot = sum code*q - sum q (qsum from prep), in int32, exact.
 * Include only from files compiled for AArch64 (kernels/arm/meson.build).
 */
#ifndef TB_ARM_I2S4X128_NEON_H
#define TB_ARM_I2S4X128_NEON_H

#include <arm_neon.h>

#include "mad/i2s4x128.h"

#define TB_ALWAYS_INLINE static inline __attribute__((always_inline))

/* acc += the 16 products codes[k] * q[k], summed into the 4 int32 lanes in any grouping. */
typedef int32x4_t (*tb_i2s_dot16_fn)(int32x4_t acc, int8x16_t codes, int8x16_t q);

/* One row's 32 code bytes w against the block's activations q[8]. */
TB_ALWAYS_INLINE int32x4_t i2s_neon_row_block(int32x4_t acc, const uint8_t *w, const int8x16_t q[8],
                                              tb_i2s_dot16_fn dot) {
    const uint8x16_t m3 = vdupq_n_u8(3);
    for (int h = 0; h < 2; h++) {
        const uint8x16_t b = vld1q_u8(w + 16 * h);
        acc = dot(acc, vreinterpretq_s8_u8(vandq_u8(b, m3)), q[0 + h]);
        acc = dot(acc, vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(b, 2), m3)), q[2 + h]);
        acc = dot(acc, vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(b, 4), m3)), q[4 + h]);
        acc = dot(acc, vreinterpretq_s8_u8(vshrq_n_u8(b, 6)), q[6 + h]);
    }
    return acc;
}

/* The 4 dot products of one tile (nb blocks of 128 bytes) for one token's padded q. */
TB_ALWAYS_INLINE void i2s_neon_tile(const uint8_t *tile, int nb, const int8_t *qt, int32_t qsum, int32_t d[4],
                                    tb_i2s_dot16_fn dot) {
    int32x4_t a[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
    for (int b = 0; b < nb; b++) {
        int8x16_t q[8];
        for (int k = 0; k < 8; k++) q[k] = vld1q_s8(qt + b * TB_I2S4_BLOCK + 16 * k);
        const uint8_t *wb = tile + (size_t)b * TB_I2S4_BLOCK; /* (4, 32) */
        for (int i = 0; i < 4; i++) a[i] = i2s_neon_row_block(a[i], wb + 32 * i, q, dot);
    }
    for (int i = 0; i < 4; i++) d[i] = vaddvq_s32(a[i]) - qsum;
}

/* The gemv() of both variants: tokens in chunks (as the scalar kernel), tiles touching [r0, r1). */
TB_ALWAYS_INLINE int i2s_neon_gemv(tb_i2s_dot16_fn dot, const void *packed, int rows, int cols, const void *prep,
                                   int n, int r0, int r1, int32_t *acc) {
    int rc = tb_i2s4_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    const int kp = tb_i2s4_kp(cols), nb = kp / TB_I2S4_BLOCK;
    const int32_t *qsum = prep;
    const int8_t *qpad = (const int8_t *)prep + tb_i2s4_sums_bytes(n); /* (n, kp) */
    for (int tc = 0; tc < n; tc += TB_I2S4_TOKCHUNK) {
        const int te = tc + TB_I2S4_TOKCHUNK < n ? tc + TB_I2S4_TOKCHUNK : n;
        for (int t0 = r0 / 4; t0 * 4 < r1; t0++) {
            const uint8_t *tile = (const uint8_t *)packed + (size_t)t0 * nb * TB_I2S4_BLOCK; /* (nb, 4, 32) */
            for (int tok = tc; tok < te; tok++) {
                int32_t d[4];
                i2s_neon_tile(tile, nb, qpad + (size_t)tok * kp, qsum[tok], d, dot);
                tb_i2s4_store(acc + (size_t)tok * rows, t0 * 4, r0, r1, d);
            }
        }
    }
    return 0;
}

#endif
