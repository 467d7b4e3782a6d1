/* gemv-i2s-4x128-avx512.c: gemv_i2s_4x128__avx512.  Layout i2s4x128 (see i2s4x128.h).
 * The AVX2 variant on zmm: one 64-byte load covers two rows of a block (row i in the
 * low 256 bits, row i+1 in the high 256 bits), the 32-byte activation chunks are
 * broadcast to both halves, vpmaddubsw and int16 adds over GROUP = 8 blocks, then
 * vpmaddwd into int32 (int16 holds at most 8 * 2048 = 16384: exact), exactly as the
 * AVX2 variant does.  Needs AVX-512 F/BW/VL/DQ.
 * NOT run on the development machine (no AVX-512 there). */
#include <immintrin.h>

#include "i2s4x128.h"
#include "i2s4x128-x86.h"

/* one block of two rows -> 32 int16 partial sums (low 16: first row, high 16: second),
 * each |x| <= 2048 */
static inline __m512i rows2_block16(const uint8_t *w, __m512i q0, __m512i q1, __m512i q2, __m512i q3, __m512i m3) {
    const __m512i v = _mm512_loadu_si512((const void *)w);
    const __m512i c0 = _mm512_and_si512(v, m3);
    const __m512i c1 = _mm512_and_si512(_mm512_srli_epi16(v, 2), m3);
    const __m512i c2 = _mm512_and_si512(_mm512_srli_epi16(v, 4), m3);
    const __m512i c3 = _mm512_and_si512(_mm512_srli_epi16(v, 6), m3);
    const __m512i p01 = _mm512_add_epi16(_mm512_maddubs_epi16(c0, q0), _mm512_maddubs_epi16(c1, q1));
    const __m512i p23 = _mm512_add_epi16(_mm512_maddubs_epi16(c2, q2), _mm512_maddubs_epi16(c3, q3));
    return _mm512_add_epi16(p01, p23);
}

enum { GROUP = 8 }; /* blocks summed in int16 before widening: 8 * 2048 = 16384 < 32767 */

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    int rc = tb_i2s4_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    const int kp = tb_i2s4_kp(cols), nb = kp / TB_I2S4_BLOCK;
    const int32_t *qsum = prep;
    const int8_t *qpad = (const int8_t *)prep + tb_i2s4_sums_bytes(n);
    const __m512i m3 = _mm512_set1_epi8(3), ones = _mm512_set1_epi16(1);
    /* tokens in chunks of TB_I2S4_TOKCHUNK: their activations stay in L1 while the
     * chunk sweeps the weight tiles (prefill); n = 1 is one chunk */
    for (int tc = 0; tc < n; tc += TB_I2S4_TOKCHUNK) {
        const int te = tc + TB_I2S4_TOKCHUNK < n ? tc + TB_I2S4_TOKCHUNK : n;
        for (int t0 = r0 / 4; t0 * 4 < r1; t0++) {
            const uint8_t *tile = (const uint8_t *)packed + (size_t)t0 * nb * 128; /* (nb, 4, 32) */
            for (int tok = tc; tok < te; tok++) {
                const int8_t *qt = qpad + (size_t)tok * kp;
                __m512i a01 = _mm512_setzero_si512(), a23 = a01; /* int32 */
                for (int g = 0; g < nb; g += GROUP) {
                    const int ge = g + GROUP < nb ? g + GROUP : nb;
                    __m512i s01 = _mm512_setzero_si512(), s23 = s01; /* int16, <= GROUP blocks */
                    for (int b = g; b < ge; b++) {
                        const int8_t *qb = qt + (size_t)b * 128;
                        const uint8_t *w = tile + (size_t)b * 128;
                        const __m512i q0 = bcast(qb), q1 = bcast(qb + 32), q2 = bcast(qb + 64), q3 = bcast(qb + 96);
                        s01 = _mm512_add_epi16(s01, rows2_block16(w, q0, q1, q2, q3, m3));
                        s23 = _mm512_add_epi16(s23, rows2_block16(w + 64, q0, q1, q2, q3, m3));
                    }
                    a01 = _mm512_add_epi32(a01, _mm512_madd_epi16(s01, ones));
                    a23 = _mm512_add_epi32(a23, _mm512_madd_epi16(s23, ones));
                }
                const __m128i s = hsum4(_mm512_castsi512_si256(a01), _mm512_extracti64x4_epi64(a01, 1),
                                        _mm512_castsi512_si256(a23), _mm512_extracti64x4_epi64(a23, 1));
                int32_t d[4];
                _mm_storeu_si128((__m128i *)d, _mm_sub_epi32(s, _mm_set1_epi32(qsum[tok])));
                tb_i2s4_store(acc + (size_t)tok * rows, t0 * 4, r0, r1, d);
            }
        }
    }
    return 0;
}

const tb_kernel tb_k_gemv_i2s_4x128__avx512 = {
    .name = "gemv_i2s_4x128__avx512",
    .desc = "int8-MAD, AVX-512BW: vpmaddubsw on zmm (2 rows per load), int16 over 8 blocks, vpmaddwd to int32",
    .isa = TB_ISA_AVX2 | TB_ISA_AVX512,
    .gemv = gemv,
    .priority = 30,
    TB_I2S4_COMMON,
};
