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

/* TL1: one pair step. */
static inline void tl1_step_avx2(const uint8_t *w, const uint8_t *tp, __m256i *s_lo, __m256i *s_hi) {
    __m256i lo0, hi0, lo1, hi1;
    tl_lookup_pair_avx2(w, tp, &lo0, &hi0, &lo1, &hi1);
    tl_add_pair_avx2(lo0, hi0, lo1, hi1, s_lo, s_hi);
}

/* TL2: the 4 group pairs of one octet (layout tl2_32x24).  Group k of the octet is
 * negated for row j when bit k of sign byte j is set: that byte mask (and + cmpeq) is
 * XORed into both table bytes, turning v into ~v = -v - 1; the +1 comes from nneg. */
static inline void tl2_octet_avx2(const uint8_t *oct, const uint8_t *tp, __m256i *s_lo, __m256i *s_hi) {
    const __m256i sgn = _mm256_loadu_si256((const __m256i *)(oct + 128));
    for (int i = 0; i < 4; i++) {
        __m256i lo0, hi0, lo1, hi1;
        tl_lookup_pair_avx2(oct + 32 * i, tp + TL_PREP_PAIR * i, &lo0, &hi0, &lo1, &hi1);
        const __m256i b0 = _mm256_set1_epi8((char)(1 << (2 * i))), b1 = _mm256_set1_epi8((char)(1 << (2 * i + 1)));
        const __m256i m0 = _mm256_cmpeq_epi8(_mm256_and_si256(sgn, b0), b0);
        const __m256i m1 = _mm256_cmpeq_epi8(_mm256_and_si256(sgn, b1), b1);
        lo0 = _mm256_xor_si256(lo0, m0);
        hi0 = _mm256_xor_si256(hi0, m0);
        lo1 = _mm256_xor_si256(lo1, m1);
        hi1 = _mm256_xor_si256(hi1, m1);
        tl_add_pair_avx2(lo0, hi0, lo1, hi1, s_lo, s_hi);
    }
}

/* Adds the tile's int32 nneg[32] (row order) to acc[4]. */
static inline void tl2_add_nneg_avx2(const uint8_t *nneg, __m256i acc[4]) {
    for (int i = 0; i < 4; i++)
        acc[i] = _mm256_add_epi32(acc[i], _mm256_loadu_si256((const __m256i *)(nneg + 32 * i)));
}

/* Widens a block's int16 sums into the int32 accumulators acc[4] (rows 0-7, 8-15,
 * 16-23, 24-31). */
static inline void tl_widen_avx2(__m256i s_lo, __m256i s_hi, __m256i acc[4]) {
    acc[0] = _mm256_add_epi32(acc[0], _mm256_cvtepi16_epi32(_mm256_castsi256_si128(s_lo)));
    acc[1] = _mm256_add_epi32(acc[1], _mm256_cvtepi16_epi32(_mm256_castsi256_si128(s_hi)));
    acc[2] = _mm256_add_epi32(acc[2], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(s_lo, 1)));
    acc[3] = _mm256_add_epi32(acc[3], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(s_hi, 1)));
}

static inline void tl_store_acc_avx2(const __m256i acc[4], int32_t d[TL_TILE]) {
    for (int i = 0; i < 4; i++) _mm256_storeu_si256((__m256i *)(d + 8 * i), acc[i]);
}

/* part[0..32) += a block's int16 sums (the GEMMs' int32 partials of one tile and token) */
static inline void tl_fold_avx2(__m256i s_lo, __m256i s_hi, int32_t part[TL_TILE]) {
    __m256i a[4];
    for (int i = 0; i < 4; i++) a[i] = _mm256_loadu_si256((const __m256i *)(part + 8 * i));
    tl_widen_avx2(s_lo, s_hi, a);
    tl_store_acc_avx2(a, part);
}

/* ---- q8 (int8-table, approximate) kernels: tl.h "int8-quantized tables" -------------- */

/* Looks up the 32 rows' offset-binary bytes u = T8 + 128 of groups 2p (v0) and 2p+1 (v1):
 * one pshufb per group. */
static inline void tlq8_lookup_pair_avx2(const uint8_t *idx32, const uint8_t *tp, __m256i *v0, __m256i *v1) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i idx = _mm256_loadu_si256((const __m256i *)idx32);
    *v0 = _mm256_shuffle_epi8(tl_bcast16(tp), _mm256_and_si256(idx, m4));
    *v1 = _mm256_shuffle_epi8(tl_bcast16(tp + 16), _mm256_and_si256(_mm256_srli_epi16(idx, 4), m4));
}

/* Adds two groups' bytes to the block sums: ws += the uint16 words (u_even + 256*u_odd,
 * mod 2^16), hs += the odd rows' bytes (word >> 8).  Exact for <= 256 groups (tl.h). */
static inline void tlq8_add_pair_avx2(__m256i v0, __m256i v1, __m256i *ws, __m256i *hs) {
    *ws = _mm256_add_epi16(*ws, _mm256_add_epi16(v0, v1));
    *hs = _mm256_add_epi16(*hs, _mm256_add_epi16(_mm256_srli_epi16(v0, 8), _mm256_srli_epi16(v1, 8)));
}

/* Widens a block: even rows' byte sums es = ws - 256*hs (mod 2^16, exact: < 65536),
 * interleaved with hs back into row order and zero-extended into acc[4] (rows 0-7,
 * 8-15, 16-23, 24-31).  Word i of lane L is rows 16L+2i (es) and 16L+2i+1 (hs). */
static inline void tlq8_widen_avx2(__m256i ws, __m256i hs, __m256i acc[4]) {
    const __m256i es = _mm256_sub_epi16(ws, _mm256_slli_epi16(hs, 8));
    const __m256i lo = _mm256_unpacklo_epi16(es, hs), hi = _mm256_unpackhi_epi16(es, hs);
    acc[0] = _mm256_add_epi32(acc[0], _mm256_cvtepu16_epi32(_mm256_castsi256_si128(lo)));
    acc[1] = _mm256_add_epi32(acc[1], _mm256_cvtepu16_epi32(_mm256_castsi256_si128(hi)));
    acc[2] = _mm256_add_epi32(acc[2], _mm256_cvtepu16_epi32(_mm256_extracti128_si256(lo, 1)));
    acc[3] = _mm256_add_epi32(acc[3], _mm256_cvtepu16_epi32(_mm256_extracti128_si256(hi, 1)));
}

/* TL2 q8: the 4 group pairs of one octet, negated groups XORed with 0xff (u -> 255 - u,
 * i.e. T8 -> ~T8 = -T8 - 1 in offset binary; nneg adds the +1s). */
static inline void tl2q8_octet_avx2(const uint8_t *oct, const uint8_t *tp, __m256i *ws, __m256i *hs) {
    const __m256i sgn = _mm256_loadu_si256((const __m256i *)(oct + 128));
    for (int i = 0; i < 4; i++) {
        __m256i v0, v1;
        tlq8_lookup_pair_avx2(oct + 32 * i, tp + TLQ8_PREP_PAIR * i, &v0, &v1);
        const __m256i b0 = _mm256_set1_epi8((char)(1 << (2 * i))), b1 = _mm256_set1_epi8((char)(1 << (2 * i + 1)));
        v0 = _mm256_xor_si256(v0, _mm256_cmpeq_epi8(_mm256_and_si256(sgn, b0), b0));
        v1 = _mm256_xor_si256(v1, _mm256_cmpeq_epi8(_mm256_and_si256(sgn, b1), b1));
        tlq8_add_pair_avx2(v0, v1, ws, hs);
    }
}

/* d = (acc - bias) << shift: removes 128 per group summed and applies the x2 / x4. */
static inline void tlq8_store_acc_avx2(const __m256i acc[4], int32_t bias, int shift, int32_t d[TL_TILE]) {
    const __m256i b = _mm256_set1_epi32(bias);
    const __m128i sh = _mm_cvtsi32_si128(shift);
    for (int i = 0; i < 4; i++)
        _mm256_storeu_si256((__m256i *)(d + 8 * i), _mm256_sll_epi32(_mm256_sub_epi32(acc[i], b), sh));
}

#endif
