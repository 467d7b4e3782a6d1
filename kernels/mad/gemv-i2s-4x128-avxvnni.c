/* gemv-i2s-4x128-avxvnni.c: gemv_i2s_4x128__avxvnni.  Layout i2s4x128 (see i2s4x128.h).
 * Same structure as the AVX2 variant, but each code vector goes straight into int32
 * with vpdpbusd (u8 code x s8 q, 4 products summed into each int32 lane, no
 * saturation: the non-"s" form).  Exact.  Needs AVX2 + AVX-VNNI.
 * NOT run on the development machine (no AVX-VNNI there): verified only where the
 * CPU has it (ternbench check SKIPs it elsewhere). */
#include <immintrin.h>

#include "i2s4x128.h"
#include "i2s4x128-x86.h"

static inline __m256i row_block(__m256i a, const uint8_t *w, __m256i q0, __m256i q1, __m256i q2,
                                __m256i q3, __m256i m3) {
    const __m256i v = _mm256_loadu_si256((const __m256i *)w);
    a = _mm256_dpbusd_avx_epi32(a, _mm256_and_si256(v, m3), q0);
    a = _mm256_dpbusd_avx_epi32(a, _mm256_and_si256(_mm256_srli_epi16(v, 2), m3), q1);
    a = _mm256_dpbusd_avx_epi32(a, _mm256_and_si256(_mm256_srli_epi16(v, 4), m3), q2);
    a = _mm256_dpbusd_avx_epi32(a, _mm256_and_si256(_mm256_srli_epi16(v, 6), m3), q3);
    return a;
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    int rc = tb_i2s4_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    const int kp = tb_i2s4_kp(cols), nb = kp / TB_I2S4_BLOCK;
    const int32_t *qsum = prep;
    const int8_t *qpad = (const int8_t *)prep + tb_i2s4_sums_bytes(n);
    const __m256i m3 = _mm256_set1_epi8(3);
    /* tokens in chunks of TB_I2S4_TOKCHUNK: their activations stay in L1 while the
     * chunk sweeps the weight tiles (prefill); n = 1 is one chunk */
    for (int tc = 0; tc < n; tc += TB_I2S4_TOKCHUNK) {
        const int te = tc + TB_I2S4_TOKCHUNK < n ? tc + TB_I2S4_TOKCHUNK : n;
        for (int t0 = r0 / 4; t0 * 4 < r1; t0++) {
            const uint8_t *tile = (const uint8_t *)packed + (size_t)t0 * nb * 128; /* (nb, 4, 32) */
            for (int tok = tc; tok < te; tok++) {
                const int8_t *qt = qpad + (size_t)tok * kp;
                __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
                for (int b = 0; b < nb; b++) {
                    const int8_t *qb = qt + (size_t)b * 128;
                    const uint8_t *w = tile + (size_t)b * 128;
                    const __m256i q0 = _mm256_loadu_si256((const __m256i *)qb);
                    const __m256i q1 = _mm256_loadu_si256((const __m256i *)(qb + 32));
                    const __m256i q2 = _mm256_loadu_si256((const __m256i *)(qb + 64));
                    const __m256i q3 = _mm256_loadu_si256((const __m256i *)(qb + 96));
                    a0 = row_block(a0, w, q0, q1, q2, q3, m3);
                    a1 = row_block(a1, w + 32, q0, q1, q2, q3, m3);
                    a2 = row_block(a2, w + 64, q0, q1, q2, q3, m3);
                    a3 = row_block(a3, w + 96, q0, q1, q2, q3, m3);
                }
                int32_t d[4];
                _mm_storeu_si128((__m128i *)d, _mm_sub_epi32(hsum4(a0, a1, a2, a3), _mm_set1_epi32(qsum[tok])));
                tb_i2s4_store(acc + (size_t)tok * rows, t0 * 4, r0, r1, d);
            }
        }
    }
    return 0;
}

const tb_kernel tb_k_gemv_i2s_4x128__avxvnni = {
    .name = "gemv_i2s_4x128__avxvnni",
    .desc = "int8-MAD, AVX-VNNI: vpdpbusd (ymm) codes x q into int32, minus sum(q)",
    .isa = TB_ISA_AVX2 | TB_ISA_AVXVNNI,
    .gemv = gemv,
    .priority = 20,
    TB_I2S4_COMMON,
};
