/* gemv-i2s-4x128-avx512vnni.c: gemv_i2s_4x128__avx512vnni.  Layout i2s4x128 (see i2s4x128.h).
 * The AVX-512 variant with vpdpbusd: each code vector (u8) times the broadcast
 * activations (s8) goes straight into int32 lanes (non-saturating form).  One 64-byte
 * load covers two rows of a block (low 256 bits: row i, high: row i+1).  Decode (n = 1):
 * codes masked in place (code * 4^s) into four accumulators, rescaled after the sums.
 * Prefill (n >= 2): a register-blocked GEMM.  A tile's block is decoded once, sub-block
 * by sub-block (two code vectors live at a time), and applied to TOK tokens (16 int32
 * accumulators: 2 per token), so decoding costs 1/TOK of what it costs per token in the
 * GEMV; groups of GROUP_TILES tiles (their weights stay in L1/L2) are swept by every
 * token block before the next group.  Decoding all 8 code vectors first left GCC short
 * of registers (accumulators spilled to the stack every block): the sub-block order runs
 * at 416 GOPS against 403 (2B4T pp128, 1 thread, Zen 4); the transpose-add reduction
 * (sums8) took it to 421, 90% of vpdpbusd's peak.  Exact.
 * Needs AVX-512 F/BW/VL/DQ + VNNI; run for real on AMD Zen 4 (2026-12). */
#include <immintrin.h>

#include "i2s4x128.h"
#include "i2s4x128-x86.h"

/* Decode (one token): two rows of one block, codes NOT shifted down: sub-block s is
 * v & (3 << 2s), i.e. code * 4^s, multiplied into its own accumulator a[s] (4 independent
 * chains); the caller divides a[s] by 4^s after the horizontal sums (exact: every
 * product is a multiple of 4^s, and |a[3]| <= 64 * 2 * 128 * K stays far inside int32).
 * That saves the three shifts per 64 bytes that made the GEMV compute-bound at ~28 GB/s
 * per core. */
static inline void rows2_block_scaled(__m512i a[4], const uint8_t *w, const __m512i q[4], const __m512i m[4]) {
    const __m512i v = _mm512_loadu_si512((const void *)w);
    for (int s = 0; s < 4; s++) a[s] = _mm512_dpbusd_epi32(a[s], _mm512_and_si512(v, m[s]), q[s]);
}

/* [row0..row3] of a tile from its two row-pair accumulator sets, sub-block s divided by 4^s */
static inline __m128i tile_sums_scaled(const __m512i a01[4], const __m512i a23[4]) {
    __m128i s = _mm_setzero_si128();
    for (int k = 0; k < 4; k++) {
        const __m128i h = hsum4(_mm512_castsi512_si256(a01[k]), _mm512_extracti64x4_epi64(a01[k], 1),
                                _mm512_castsi512_si256(a23[k]), _mm512_extracti64x4_epi64(a23[k], 1));
        s = _mm_add_epi32(s, _mm_srai_epi32(h, 2 * k)); /* exact: h is a multiple of 4^k */
    }
    return s;
}

enum { TOK = 8, GROUP_TILES = 16 }; /* tokens per register block; tiles per L2 group */

/* The 4 row sums of 8 tokens from their 16 accumulators (a[2t]: rows 0 | 1 in its 256-bit
 * halves, a[2t+1]: rows 2 | 3), into d[4t + r], by a transpose-add network: 42 shuffles
 * and adds (plus 2 permutes) where eight hsum4 take ~100 operations on the same pipes
 * as vpdpbusd.  Level A sums element pairs of a token's two vectors into one, level B
 * pairs of tokens to whole 128-bit-lane sums, level C the two lanes of each row; the
 * permute puts tokens 4n..4n+3 in [token][row] order.  Exact: int32 sums. */
static inline __attribute__((always_inline)) void sums8(const __m512i a[16], int32_t d[32]) {
    __m512i r[8], s[4];
    for (int k = 0; k < 8; k++)
        r[k] = _mm512_add_epi32(_mm512_unpacklo_epi32(a[2 * k], a[2 * k + 1]),
                                _mm512_unpackhi_epi32(a[2 * k], a[2 * k + 1]));
    for (int m = 0; m < 4; m++)
        s[m] = _mm512_add_epi32(_mm512_unpacklo_epi64(r[2 * m], r[2 * m + 1]),
                                _mm512_unpackhi_epi64(r[2 * m], r[2 * m + 1]));
    /* lane (row parity p, token pair half h) -> [token][row]: source element 4 * lane + e */
    const __m512i order = _mm512_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15);
    for (int n = 0; n < 2; n++) {
        const __m512i t = _mm512_shuffle_i32x4(s[2 * n], s[2 * n + 1], _MM_SHUFFLE(2, 0, 2, 0));
        const __m512i u = _mm512_shuffle_i32x4(s[2 * n], s[2 * n + 1], _MM_SHUFFLE(3, 1, 3, 1));
        _mm512_storeu_si512((void *)(d + 16 * n), _mm512_permutexvar_epi32(order, _mm512_add_epi32(t, u)));
    }
}

/* d[4t + r] = row r of the tile times token t (T tokens at q, stride kp; raw sum
 * code*q, before subtracting sum(q)).  Codes decoded once per block for all T. */
static inline __attribute__((always_inline)) void tile_tokens(const uint8_t *tile, int nb, const int8_t *q,
                                                              int kp, int T, __m512i m3, int32_t *d) {
    __m512i a[2 * TOK];
    for (int t = 0; t < 2 * T; t++) a[t] = _mm512_setzero_si512();
    for (int b = 0; b < nb; b++) {
        const __m512i v01 = _mm512_loadu_si512((const void *)(tile + (size_t)b * 128));
        const __m512i v23 = _mm512_loadu_si512((const void *)(tile + (size_t)b * 128 + 64));
        const int8_t *qb = q + (size_t)b * 128;
        /* sub-block by sub-block: two code vectors live at a time (no spills of the 16
         * accumulators), each applied to all T tokens */
#pragma GCC unroll 4
        for (int s = 0; s < 4; s++) {
            const __m512i c01 = _mm512_and_si512(s ? _mm512_srli_epi16(v01, 2 * s) : v01, m3);
            const __m512i c23 = _mm512_and_si512(s ? _mm512_srli_epi16(v23, 2 * s) : v23, m3);
#pragma GCC unroll 8
            for (int t = 0; t < T; t++) {
                const __m512i qs = bcast(qb + (size_t)t * kp + 32 * s);
                a[2 * t] = _mm512_dpbusd_epi32(a[2 * t], c01, qs);
                a[2 * t + 1] = _mm512_dpbusd_epi32(a[2 * t + 1], c23, qs);
            }
        }
    }
    if (T == TOK) {
        sums8(a, d);
        return;
    }
    for (int t = 0; t < T; t++)
        _mm_storeu_si128((__m128i *)(d + 4 * t),
                         hsum4(_mm512_castsi512_si256(a[2 * t]), _mm512_extracti64x4_epi64(a[2 * t], 1),
                               _mm512_castsi512_si256(a[2 * t + 1]), _mm512_extracti64x4_epi64(a[2 * t + 1], 1)));
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
                int32_t d[4 * TOK];
                const uint8_t *tile = packed + (size_t)t * nb * 128;
                const int8_t *q = qpad + (size_t)tok * kp;
                if (T == TOK)
                    tile_tokens(tile, nb, q, kp, TOK, m3, d);
                else
                    tile_tokens(tile, nb, q, kp, T, m3, d);
                for (int j = 0; j < T; j++) {
                    int32_t o[4];
                    _mm_storeu_si128((__m128i *)o, _mm_sub_epi32(_mm_loadu_si128((const __m128i *)(d + 4 * j)),
                                                                 _mm_set1_epi32(qsum[tok + j])));
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
    /* decode (n = 1): each tile's blocks against the token's broadcast activations */
    const __m512i m[4] = {_mm512_set1_epi8(3), _mm512_set1_epi8(3 << 2), _mm512_set1_epi8(3 << 4),
                          _mm512_set1_epi8((char)(3 << 6))};
    for (int t0 = r0 / 4; t0 * 4 < r1; t0++) {
        const uint8_t *tile = (const uint8_t *)packed + (size_t)t0 * nb * 128; /* (nb, 4, 32) */
        __m512i a01[4], a23[4];
        for (int k = 0; k < 4; k++) a01[k] = a23[k] = _mm512_setzero_si512();
        for (int b = 0; b < nb; b++) {
            const int8_t *qb = qpad + (size_t)b * 128;
            const uint8_t *w = tile + (size_t)b * 128;
            const __m512i q[4] = {bcast(qb), bcast(qb + 32), bcast(qb + 64), bcast(qb + 96)};
            rows2_block_scaled(a01, w, q, m);
            rows2_block_scaled(a23, w + 64, q, m);
        }
        int32_t d[4];
        _mm_storeu_si128((__m128i *)d, _mm_sub_epi32(tile_sums_scaled(a01, a23), _mm_set1_epi32(qsum[0])));
        tb_i2s4_store(acc, t0 * 4, r0, r1, d);
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
