/* gemv-bsp-1x256-neon.c: gemv_bsp_1x256__neon, the bit-serial kernel with NEON CNT.  Exact.
 * Layout bsp_1x256 and the activation bit planes of the portable prep (bitserial/bsp.h):
 *   dot = sum_j coef_j (popcnt(P & A_j) - popcnt(M & A_j)),  coef_j = 2^j, coef_7 = -128.
 * Per 256-weight chunk and plane j, 32 plane bytes (nibble halves OR-ed back together),
 * AND with the plus / minus masks, CNT per byte, difference d_j in [-8, 8] (int8).  The
 * planes are folded per byte by Horner in int8: E = 8d3 + 4d2 + 2d1 + d0 and
 * F = -8d7 + 4d6 + 2d5 + d4 (|E|, |F| <= 120), so byte value = E + 16F.  Per chunk the
 * 32 bytes are pair-summed (SADDLP) to int16: |E| <= 4*120, |16F| <= 16*4*120, total
 * <= 8160, then accumulated into int32 (SADALP).  No int16 sum spans two chunks. */
#include <arm_neon.h>

#include "bitserial/bsp.h"

/* d = popcnt(P & A) - popcnt(M & A) per byte, for 16 plane bytes (lo | hi << 4). */
static inline int8x16_t plane_diff(const uint8_t *lo, const uint8_t *hi, uint8x16_t P, uint8x16_t M) {
    const uint8x16_t a = vorrq_u8(vld1q_u8(lo), vshlq_n_u8(vld1q_u8(hi), 4));
    return vsubq_s8(vreinterpretq_s8_u8(vcntq_u8(vandq_u8(P, a))), vreinterpretq_s8_u8(vcntq_u8(vandq_u8(M, a))));
}

/* The int16 pair sums of one 16-byte half h of chunk: wc = weights (2, 32), ac = planes (8, 2, 32). */
static inline int16x8_t chunk_half(const uint8_t *wc, const uint8_t *ac, int h) {
    const uint8x16_t P = vld1q_u8(wc + 16 * h), M = vld1q_u8(wc + 32 + 16 * h);
    int8x16_t E = vdupq_n_s8(0), F = vnegq_s8(plane_diff(ac + 7 * 64 + 16 * h, ac + 7 * 64 + 32 + 16 * h, P, M));
    for (int j = 6; j >= 4; j--) F = vaddq_s8(vshlq_n_s8(F, 1), plane_diff(ac + j * 64 + 16 * h, ac + j * 64 + 32 + 16 * h, P, M));
    for (int j = 3; j >= 0; j--) E = vaddq_s8(vshlq_n_s8(E, 1), plane_diff(ac + j * 64 + 16 * h, ac + j * 64 + 32 + 16 * h, P, M));
    return vaddq_s16(vpaddlq_s8(E), vshlq_n_s16(vpaddlq_s8(F), 4));
}

static int32_t row_dot(const uint8_t *w, const uint8_t *a, int nc) {
    int32x4_t acc = vdupq_n_s32(0);
    for (int c = 0; c < nc; c++) {
        const uint8_t *wc = w + (size_t)c * BSP_CHUNK_BYTES, *ac = a + (size_t)c * BSP_PREP_CHUNK;
        acc = vpadalq_s16(acc, vaddq_s16(chunk_half(wc, ac, 0), chunk_half(wc, ac, 1)));
    }
    return vaddvq_s32(acc);
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0, int r1,
                int32_t *acc) {
    (void)q;
    int rc = bsp_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    const int nc = bsp_nchunks(cols);
    for (int r = r0; r < r1; r++) {
        const uint8_t *w = (const uint8_t *)packed + (size_t)r * nc * BSP_CHUNK_BYTES; /* (nc, 2, 32) */
        for (int t = 0; t < n; t++)
            acc[(size_t)t * rows + r] = row_dot(w, (const uint8_t *)prep + (size_t)t * nc * BSP_PREP_CHUNK, nc);
    }
    return 0;
}

const tb_kernel tb_k_gemv_bsp_1x256__neon = {
    .name = "gemv_bsp_1x256__neon",
    .desc = "bit-serial, NEON: weight masks AND 8 activation bit planes, cnt per byte, Horner in int8",
    .isa = TB_ISA_NEON,
    .gemv = gemv,
    .needs_prep = true,
    .prep_size = bsp_prep_size,
    .prep = bsp_prep,
    BSP_COMMON,
};
