/* tl-avx2.h: AVX2 building blocks of the TL1/TL2 kernels (one group pair of one
 * 32-row tile per step), shared by the AVX2 files and by the AVX-512 files (for
 * their odd-pair tail), so the AVX-512 code reuses what is tested on AVX2 hardware.
 * Include only from files compiled with AVX2 flags.  Layouts and bounds: tl.h.
 *
 * Lane order: the int16 sums come out of unpack{lo,hi}_epi8(lo, hi), so
 *   s_lo holds rows 0-7 (low 128 bits) and 16-23 (high), s_hi rows 8-15 and 24-31.
 */
#ifndef TB_LUT_TL_AVX2_H
#define TB_LUT_TL_AVX2_H

#include <immintrin.h>

#include "tl.h"

/* The four 16-byte tables of pair p, broadcast to both 128-bit lanes. */
static inline __m256i tl_bcast16(const uint8_t *p) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p));
}

/* Looks up the 32 rows' entries of groups 2p (i0) and 2p+1 (i1): low and high bytes. */
static inline void tl_lookup_pair_avx2(const uint8_t *idx32, const uint8_t *tp, __m256i *lo0, __m256i *hi0,
                                       __m256i *lo1, __m256i *hi1) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i idx = _mm256_loadu_si256((const __m256i *)idx32);
    const __m256i i0 = _mm256_and_si256(idx, m4);
    const __m256i i1 = _mm256_and_si256(_mm256_srli_epi16(idx, 4), m4);
    *lo0 = _mm256_shuffle_epi8(tl_bcast16(tp), i0);
    *lo1 = _mm256_shuffle_epi8(tl_bcast16(tp + 16), i1);
    *hi0 = _mm256_shuffle_epi8(tl_bcast16(tp + 32), i0);
    *hi1 = _mm256_shuffle_epi8(tl_bcast16(tp + 48), i1);
}

/* Adds the two groups' int16 values (lo | hi << 8) to the block sums. */
static inline void tl_add_pair_avx2(__m256i lo0, __m256i hi0, __m256i lo1, __m256i hi1, __m256i *s_lo,
                                    __m256i *s_hi) {
    *s_lo = _mm256_add_epi16(*s_lo, _mm256_add_epi16(_mm256_unpacklo_epi8(lo0, hi0), _mm256_unpacklo_epi8(lo1, hi1)));
    *s_hi = _mm256_add_epi16(*s_hi, _mm256_add_epi16(_mm256_unpackhi_epi8(lo0, hi0), _mm256_unpackhi_epi8(lo1, hi1)));
}

/* 32 sign bits (bit j = row j) -> 32 bytes 0xff / 0x00 in row order. */
static inline __m256i tl_expand_signs(const uint8_t *p) {
    uint32_t wd;
    memcpy(&wd, p, 4);
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2,
                                          2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bits = _mm256_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4,
                                          8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)wd), shuf);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bits), bits);
}

/* TL1: one pair step. */
static inline void tl1_step_avx2(const uint8_t *w, const uint8_t *tp, __m256i *s_lo, __m256i *s_hi) {
    __m256i lo0, hi0, lo1, hi1;
    tl_lookup_pair_avx2(w, tp, &lo0, &hi0, &lo1, &hi1);
    tl_add_pair_avx2(lo0, hi0, lo1, hi1, s_lo, s_hi);
}

/* TL2: one pair step.  A negated group contributes ~v = -v - 1 (XOR of both bytes
 * with 0xff) and +1 through the per-row count *neg (bytes, row order). */
static inline void tl2_step_avx2(const uint8_t *w, const uint8_t *tp, __m256i *s_lo, __m256i *s_hi,
                                 __m256i *neg) {
    __m256i lo0, hi0, lo1, hi1;
    tl_lookup_pair_avx2(w, tp, &lo0, &hi0, &lo1, &hi1);
    const __m256i m0 = tl_expand_signs(w + 32), m1 = tl_expand_signs(w + 36);
    lo0 = _mm256_xor_si256(lo0, m0);
    hi0 = _mm256_xor_si256(hi0, m0);
    lo1 = _mm256_xor_si256(lo1, m1);
    hi1 = _mm256_xor_si256(hi1, m1);
    *neg = _mm256_sub_epi8(_mm256_sub_epi8(*neg, m0), m1);
    tl_add_pair_avx2(lo0, hi0, lo1, hi1, s_lo, s_hi);
}

/* Widens a block's int16 sums into the int32 accumulators acc[4] (rows 0-7, 8-15,
 * 16-23, 24-31). */
static inline void tl_widen_avx2(__m256i s_lo, __m256i s_hi, __m256i acc[4]) {
    acc[0] = _mm256_add_epi32(acc[0], _mm256_cvtepi16_epi32(_mm256_castsi256_si128(s_lo)));
    acc[1] = _mm256_add_epi32(acc[1], _mm256_cvtepi16_epi32(_mm256_castsi256_si128(s_hi)));
    acc[2] = _mm256_add_epi32(acc[2], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(s_lo, 1)));
    acc[3] = _mm256_add_epi32(acc[3], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(s_hi, 1)));
}

/* Adds the per-row int8 counts (bytes in row order) to acc[4]. */
static inline void tl_widen_count_avx2(__m256i neg, __m256i acc[4]) {
    const __m128i a = _mm256_castsi256_si128(neg), b = _mm256_extracti128_si256(neg, 1);
    acc[0] = _mm256_add_epi32(acc[0], _mm256_cvtepi8_epi32(a));
    acc[1] = _mm256_add_epi32(acc[1], _mm256_cvtepi8_epi32(_mm_srli_si128(a, 8)));
    acc[2] = _mm256_add_epi32(acc[2], _mm256_cvtepi8_epi32(b));
    acc[3] = _mm256_add_epi32(acc[3], _mm256_cvtepi8_epi32(_mm_srli_si128(b, 8)));
}

static inline void tl_store_acc_avx2(const __m256i acc[4], int32_t d[TL_TILE]) {
    for (int i = 0; i < 4; i++) _mm256_storeu_si256((__m256i *)(d + 8 * i), acc[i]);
}

#endif
