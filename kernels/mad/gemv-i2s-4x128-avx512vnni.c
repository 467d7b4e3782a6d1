/* gemv-i2s-4x128-avx512vnni.c: gemv_i2s_4x128__avx512vnni.  Layout i2s4x128 (see i2s4x128.h).
 * The AVX-512 variant with vpdpbusd: each code vector (u8) times the broadcast
 * activations (s8) goes straight into int32 lanes (non-saturating form).  One 64-byte
 * load covers two rows of a block (low 256 bits: row i, high: row i+1).
 * Prefill (n >= 2): a register-blocked GEMM.  A tile's block is decoded once into 8 code
 * vectors and applied to TOK tokens (16 int32 accumulators: 2 per token), so decoding
 * costs 1/TOK of what it costs per token in the GEMV; groups of GROUP_TILES tiles (their
 * weights stay in L1/L2) are swept by every token block before the next group.  Exact.
 * Needs AVX-512 F/BW/VL/DQ + VNNI; run for real on AMD Zen 5 (2026-12). */
#include <immintrin.h>

#include "i2s4x128.h"
#include "i2s4x128-x86.h"

/* Two rows of one block: sub-blocks 0, 2 into *a, 1, 3 into *b (two dependency chains:
 * one chain of four vpdpbusd per block was latency-bound at ~25 GB/s per core; integer
 * sums are exact in any grouping). */
static inline void rows2_block(__m512i *a, __m512i *b, const uint8_t *w, __m512i q0, __m512i q1, __m512i q2,
                               __m512i q3, __m512i m3) {
    const __m512i v = _mm512_loadu_si512((const void *)w);
    *a = _mm512_dpbusd_epi32(*a, _mm512_and_si512(v, m3), q0);
    *b = _mm512_dpbusd_epi32(*b, _mm512_and_si512(_mm512_srli_epi16(v, 2), m3), q1);
    *a = _mm512_dpbusd_epi32(*a, _mm512_and_si512(_mm512_srli_epi16(v, 4), m3), q2);
    *b = _mm512_dpbusd_epi32(*b, _mm512_and_si512(_mm512_srli_epi16(v, 6), m3), q3);
}

enum { TOK = 8, GROUP_TILES = 16 }; /* tokens per register block; tiles per L2 group */

/* d[t][0..3] = the 4 rows of the tile times token t (T tokens at q, stride kp; raw
 * sum code*q, before subtracting sum(q)).  Codes decoded once per block for all T. */
static inline __attribute__((always_inline)) void tile_tokens(const uint8_t *tile, int nb, const int8_t *q,
                                                              int kp, int T, __m512i m3, __m128i *d) {
    __m512i a[2 * TOK];
    for (int t = 0; t < 2 * T; t++) a[t] = _mm512_setzero_si512();
    for (int b = 0; b < nb; b++) {
        const __m512i v01 = _mm512_loadu_si512((const void *)(tile + (size_t)b * 128));
        const __m512i v23 = _mm512_loadu_si512((const void *)(tile + (size_t)b * 128 + 64));
        const __m512i c[8] = {
            _mm512_and_si512(v01, m3), _mm512_and_si512(_mm512_srli_epi16(v01, 2), m3),
            _mm512_and_si512(_mm512_srli_epi16(v01, 4), m3), _mm512_and_si512(_mm512_srli_epi16(v01, 6), m3),
            _mm512_and_si512(v23, m3), _mm512_and_si512(_mm512_srli_epi16(v23, 2), m3),
            _mm512_and_si512(_mm512_srli_epi16(v23, 4), m3), _mm512_and_si512(_mm512_srli_epi16(v23, 6), m3)};
        for (int t = 0; t < T; t++) {
            const int8_t *qb = q + (size_t)t * kp + (size_t)b * 128;
            for (int s = 0; s < 4; s++) {
                const __m512i qs = bcast(qb + 32 * s);
                a[2 * t] = _mm512_dpbusd_epi32(a[2 * t], c[s], qs);
                a[2 * t + 1] = _mm512_dpbusd_epi32(a[2 * t + 1], c[4 + s], qs);
            }
        }
    }
    for (int t = 0; t < T; t++)
        d[t] = hsum4(_mm512_castsi512_si256(a[2 * t]), _mm512_extracti64x4_epi64(a[2 * t], 1),
                     _mm512_castsi512_si256(a[2 * t + 1]), _mm512_extracti64x4_epi64(a[2 * t + 1], 1));
}

/* Prefill: tiles [t0, t1) x all n tokens, TOK tokens per register block. */
static void gemm(const uint8_t *packed, int nb, int kp, const int32_t *qsum, const int8_t *qpad, int n, int rows,
                 int r0, int r1, int32_t *acc) {
    const __m512i m3 = _mm512_set1_epi8(3);
    for (int g0 = r0 / 4; g0 * 4 < r1; g0 += GROUP_TILES) {
        const int g1 = g0 + GROUP_TILES;
        for (int tok = 0; tok < n; tok += TOK) {
            const int T = n - tok < TOK ? n - tok : TOK;
            for (int t = g0; t < g1 && t * 4 < r1; t++) {
                __m128i d[TOK];
                const uint8_t *tile = packed + (size_t)t * nb * 128;
                const int8_t *q = qpad + (size_t)tok * kp;
                if (T == TOK)
                    tile_tokens(tile, nb, q, kp, TOK, m3, d);
                else
                    tile_tokens(tile, nb, q, kp, T, m3, d);
                for (int j = 0; j < T; j++) {
                    int32_t o[4];
                    _mm_storeu_si128((__m128i *)o, _mm_sub_epi32(d[j], _mm_set1_epi32(qsum[tok + j])));
                    tb_i2s4_store(acc + (size_t)(tok + j) * rows, t * 4, r0, r1, o);
                }
            }
        }
    }
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    int rc = tb_i2s4_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    const int kp = tb_i2s4_kp(cols), nb = kp / TB_I2S4_BLOCK;
    const int32_t *qsum = prep;
    const int8_t *qpad = (const int8_t *)prep + tb_i2s4_sums_bytes(n);
    if (n >= 2) {
        gemm(packed, nb, kp, qsum, qpad, n, rows, r0, r1, acc);
        return 0;
    }
    const __m512i m3 = _mm512_set1_epi8(3);
    /* tokens in chunks of TB_I2S4_TOKCHUNK: their activations stay in L1 while the
     * chunk sweeps the weight tiles (prefill); n = 1 is one chunk */
    for (int tc = 0; tc < n; tc += TB_I2S4_TOKCHUNK) {
        const int te = tc + TB_I2S4_TOKCHUNK < n ? tc + TB_I2S4_TOKCHUNK : n;
        for (int t0 = r0 / 4; t0 * 4 < r1; t0++) {
            const uint8_t *tile = (const uint8_t *)packed + (size_t)t0 * nb * 128; /* (nb, 4, 32) */
            for (int tok = tc; tok < te; tok++) {
                const int8_t *qt = qpad + (size_t)tok * kp;
                __m512i a01 = _mm512_setzero_si512(), a23 = a01, b01 = a01, b23 = a01;
                for (int b = 0; b < nb; b++) {
                    const int8_t *qb = qt + (size_t)b * 128;
                    const uint8_t *w = tile + (size_t)b * 128;
                    const __m512i q0 = bcast(qb), q1 = bcast(qb + 32), q2 = bcast(qb + 64), q3 = bcast(qb + 96);
                    rows2_block(&a01, &b01, w, q0, q1, q2, q3, m3);
                    rows2_block(&a23, &b23, w + 64, q0, q1, q2, q3, m3);
                }
                a01 = _mm512_add_epi32(a01, b01);
                a23 = _mm512_add_epi32(a23, b23);
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

const tb_kernel tb_k_gemv_i2s_4x128__avx512vnni = {
    .name = "gemv_i2s_4x128__avx512vnni",
    .desc = "int8-MAD, AVX512-VNNI: vpdpbusd on zmm (2 rows per load) into int32, minus sum(q); prefill: 4 rows x 8 tokens register-blocked GEMM",
    .isa = TB_ISA_AVX2 | TB_ISA_AVX512 | TB_ISA_AVX512VNNI,
    .gemv = gemv,
    .priority = 40,
    TB_I2S4_COMMON,
};
