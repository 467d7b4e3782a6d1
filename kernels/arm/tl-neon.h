/* tl-neon.h: AArch64 NEON building blocks of the TL1/TL2 LUT kernels (lut/tl.h), one
 * group pair of one 32-row tile per step, looked up with TBL (vqtbl1q_u8: 16-entry table,
 * 16 indices; an index >= 16 would give 0, but 4-bit indices never are).
 *
 * Per pair p, prep holds four 16-byte tables: low bytes of table 2p, of 2p+1, high bytes
 * of 2p, of 2p+1.  The 32 index bytes are two halves of 16 rows; per half, four TBLs give
 * the low/high bytes of both groups' entries and ZIP1/ZIP2 (low, high) rebuild the int16
 * entries of rows 0-7 and 8-15 of the half.  Sums: s[k] holds rows 8k..8k+7 in int16,
 * widened to int32 every TL_BLOCK_GROUPS groups (bound in tl.h).
 * Include only from files compiled for AArch64.
 */
#ifndef TB_ARM_TL_NEON_H
#define TB_ARM_TL_NEON_H

#include <arm_neon.h>

#include "lut/tl.h"

#define TL_NEON_INLINE static inline __attribute__((always_inline))

/* int16 entries (lo | hi << 8) of rows 0-7 / 8-15 of a half, added to s[0], s[1]. */
TL_NEON_INLINE void tl_neon_add(uint8x16_t lo, uint8x16_t hi, int16x8_t s[2]) {
    s[0] = vaddq_s16(s[0], vreinterpretq_s16_u8(vzip1q_u8(lo, hi)));
    s[1] = vaddq_s16(s[1], vreinterpretq_s16_u8(vzip2q_u8(lo, hi)));
}

/* One pair of one 16-row half: idx16 = the half's index bytes (low nibble: group 2p,
 * high: 2p+1); tp = the pair's 64 table bytes; neg0/neg1 = 0xff where the row's group is
 * negated (TL2), else 0 (XOR with 0xff turns v into ~v = -v - 1). */
TL_NEON_INLINE void tl_neon_half(const uint8_t *idx16, const uint8_t *tp, uint8x16_t neg0, uint8x16_t neg1,
                                 int16x8_t s[2]) {
    const uint8x16_t idx = vld1q_u8(idx16);
    const uint8x16_t i0 = vandq_u8(idx, vdupq_n_u8(0x0f)), i1 = vshrq_n_u8(idx, 4);
    tl_neon_add(veorq_u8(vqtbl1q_u8(vld1q_u8(tp), i0), neg0), veorq_u8(vqtbl1q_u8(vld1q_u8(tp + 32), i0), neg0), s);
    tl_neon_add(veorq_u8(vqtbl1q_u8(vld1q_u8(tp + 16), i1), neg1),
                veorq_u8(vqtbl1q_u8(vld1q_u8(tp + 48), i1), neg1), s);
}

/* TL1: one pair step, 32 rows (no signs). */
TL_NEON_INLINE void tl1_neon_step(const uint8_t *w, const uint8_t *tp, int16x8_t s[4]) {
    const uint8x16_t z = vdupq_n_u8(0);
    tl_neon_half(w, tp, z, z, s);
    tl_neon_half(w + 16, tp, z, z, s + 2);
}

/* TL2: the 4 pairs of one octet; group k of the octet is negated for row j when bit k of
 * sign byte j is set (CMTST gives the 0xff byte mask). */
TL_NEON_INLINE void tl2_neon_octet(const uint8_t *oct, const uint8_t *tp, int16x8_t s[4]) {
    for (int h = 0; h < 2; h++) {
        const uint8x16_t sgn = vld1q_u8(oct + 128 + 16 * h);
        for (int i = 0; i < 4; i++) {
            const uint8x16_t n0 = vtstq_u8(sgn, vdupq_n_u8((uint8_t)(1u << (2 * i))));
            const uint8x16_t n1 = vtstq_u8(sgn, vdupq_n_u8((uint8_t)(1u << (2 * i + 1))));
            tl_neon_half(oct + 32 * i + 16 * h, tp + TL_PREP_PAIR * i, n0, n1, s + 2 * h);
        }
    }
}

/* Widens the int16 block sums s[4] (rows 8k..8k+7) into acc[8] (rows 4m..4m+3), clears s. */
TL_NEON_INLINE void tl_neon_widen(int16x8_t s[4], int32x4_t acc[8]) {
    for (int k = 0; k < 4; k++) {
        acc[2 * k] = vaddw_s16(acc[2 * k], vget_low_s16(s[k]));
        acc[2 * k + 1] = vaddw_high_s16(acc[2 * k + 1], s[k]);
        s[k] = vdupq_n_s16(0);
    }
}

TL_NEON_INLINE void tl_neon_zero(int16x8_t s[4], int32x4_t acc[8]) {
    for (int k = 0; k < 4; k++) s[k] = vdupq_n_s16(0);
    for (int k = 0; k < 8; k++) acc[k] = vdupq_n_s32(0);
}

#endif
