/* tl-avx512.h: the two small zmm helpers every AVX-512 LUT GEMV (TL1, TL2, exact and
 * int8-table) shares.  Include only from files compiled with AVX-512 F/BW flags (or from
 * the emulation in tests/kernels/test_lut_emu.h, which defines the intrinsics first). */
#ifndef TB_TL_AVX512_H
#define TB_TL_AVX512_H

#include "tl-avx2.h"

/* [t(p), t(p), t(q), t(q)]: the 16-byte table at p in 128-bit lanes 0-1, q's in lanes 2-3 */
static inline __m512i bcast2(const uint8_t *p, const uint8_t *q) {
    const __m512i a = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)p));
    return _mm512_mask_broadcast_i32x4(a, 0xFF00, _mm_loadu_si128((const __m128i *)q));
}

/* bytes 0..31 = 1 << ka, bytes 32..63 = 1 << kb (TL2: which sign bit each half tests) */
static inline __m512i bitsel(int ka, int kb) {
    return _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << ka)), _mm256_set1_epi8((char)(1 << kb)), 1);
}

#endif
