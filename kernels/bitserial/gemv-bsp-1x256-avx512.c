/* gemv-bsp-1x256-avx512.c: gemv_bsp_1x256__avx512, bit-serial with AVX-512 masked adds.  Exact.
 * Layout bsp_1x256 (see bsp.h); no prep: reads the int8 activations directly.
 *
 * Why masked adds here (not AND+POPCNT): with AVX-512BW the weight masks ARE mask
 * registers: 32 weights = one uint32 of the plus mask and one of the minus mask, so
 *     s16 = s16 + q16 (lanes where w = +1);  s16 = s16 - q16 (lanes where w = -1)
 * costs 2 masked ops per 32 weights with no multiplies and no bit-plane expansion,
 * against 16 AND+POPCNT pairs per weight word in the bit-plane formulation (which
 * would also need VPOPCNTDQ, absent on many AVX-512 parts).
 * Bounds: 32 int16 lanes; per 256-weight chunk a lane receives one masked op per
 * 32-weight slice (8), each |q| <= 128, so |lane| grows by <= 1024 per chunk; lanes
 * are widened to int32 (madd with ones) every 16 chunks: |lane| <= 16384 < 32767.
 * The K tail is read with a masked load, so no byte past q[cols) is touched.
 * Checked natively (AMD Zen 4, 2026-12) and, for machines without AVX-512, against a
 * plain-C model of the intrinsics (tests/kernels/test_lut_emu.h). */
#include <immintrin.h>

#include "bsp.h"

static inline __mmask32 mask32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return (__mmask32)v;
}

static int32_t row_dot(const uint8_t *w, const int8_t *q, int cols, int nc) {
    const __m512i ones = _mm512_set1_epi16(1);
    __m512i acc = _mm512_setzero_si512();
    for (int c0 = 0; c0 < nc; c0 += 16) {
        const int c1 = c0 + 16 < nc ? c0 + 16 : nc;
        __m512i s = _mm512_setzero_si512();
        for (int c = c0; c < c1; c++) {
            const uint8_t *wc = w + (size_t)c * BSP_CHUNK_BYTES;
            for (int k = 0; k < 8; k++) {
                const int col = c * BSP_CHUNK + 32 * k;
                if (col >= cols) break; /* the rest of the chunk is padding (zero weights) */
                __m256i q8;
                if (col + 32 <= cols) q8 = _mm256_loadu_si256((const __m256i *)(q + col));
                else q8 = _mm256_maskz_loadu_epi8((__mmask32)((1u << (cols - col)) - 1), q + col);
                const __m512i q16 = _mm512_cvtepi8_epi16(q8);
                s = _mm512_mask_add_epi16(s, mask32(wc + 4 * k), s, q16);
                s = _mm512_mask_sub_epi16(s, mask32(wc + 32 + 4 * k), s, q16);
            }
        }
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(s, ones));
    }
    return _mm512_reduce_add_epi32(acc);
}

/* ---- prefill (n >= 2): a register-blocked GEMM ------------------------------------------
 * BR rows x BT tokens per pass (16 int16 accumulators): per 32-weight slice each token's
 * activations are widened once (vpmovsxbw) and used by BR rows, and each row's two mask
 * words are loaded once and used by BT tokens, so per row, token and 32 weights the work
 * is the two masked add/sub alone (the 1-token loop also widens q per row).  Rows are
 * taken BSP_RC at a time (their masks stay in L1/L2); for each block of BT tokens
 * (BT*cols bytes of q in L1) every row block of the chunk is swept.  Same int16 bound as
 * above: widened every 16 chunks. */
enum { BSP_BR = 4, BSP_BT = 4, BSP_RC = 64 };

/* q16 of slice k of chunk c (column col) for one token: masked tail load, as row_dot. */
static inline __attribute__((always_inline)) __m512i q16_at(const int8_t *qt, int col, int cols) {
    __m256i q8;
    if (col + 32 <= cols) q8 = _mm256_loadu_si256((const __m256i *)(qt + col));
    else q8 = _mm256_maskz_loadu_epi8((__mmask32)((1u << (cols - col)) - 1), qt + col);
    return _mm512_cvtepi8_epi16(q8);
}

/* out[r*BT + t] = row r (w + r*row_bytes) . token t (q + t*cols), r < R, t < T. */
static inline __attribute__((always_inline)) void block_dot(const uint8_t *w, size_t row_bytes, const int8_t *q,
                                                            int cols, int nc, int R, int T, int32_t *out) {
    const __m512i ones = _mm512_set1_epi16(1);
    __m512i acc[BSP_BR][BSP_BT], s[BSP_BR][BSP_BT], qv[BSP_BT];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_si512();
    for (int c0 = 0; c0 < nc; c0 += 16) {
        const int c1 = c0 + 16 < nc ? c0 + 16 : nc;
        for (int r = 0; r < R; r++)
            for (int t = 0; t < T; t++) s[r][t] = _mm512_setzero_si512();
        for (int c = c0; c < c1; c++) {
            for (int k = 0; k < 8; k++) {
                const int col = c * BSP_CHUNK + 32 * k;
                if (col >= cols) break; /* the rest of the chunk is padding (zero weights) */
                for (int t = 0; t < T; t++) qv[t] = q16_at(q + (size_t)t * cols, col, cols);
                for (int r = 0; r < R; r++) {
                    const uint8_t *wc = w + (size_t)r * row_bytes + (size_t)c * BSP_CHUNK_BYTES;
                    const __mmask32 mp = mask32(wc + 4 * k), mm = mask32(wc + 32 + 4 * k);
                    for (int t = 0; t < T; t++) {
                        s[r][t] = _mm512_mask_add_epi16(s[r][t], mp, s[r][t], qv[t]);
                        s[r][t] = _mm512_mask_sub_epi16(s[r][t], mm, s[r][t], qv[t]);
                    }
                }
            }
        }
        for (int r = 0; r < R; r++)
            for (int t = 0; t < T; t++) acc[r][t] = _mm512_add_epi32(acc[r][t], _mm512_madd_epi16(s[r][t], ones));
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) out[r * BSP_BT + t] = _mm512_reduce_add_epi32(acc[r][t]);
}

#define BSP_T_CASES(R)                                                        \
    switch (T) {                                                              \
    case 1: block_dot(w, row_bytes, qt, cols, nc, R, 1, out); break;         \
    case 2: block_dot(w, row_bytes, qt, cols, nc, R, 2, out); break;         \
    case 3: block_dot(w, row_bytes, qt, cols, nc, R, 3, out); break;         \
    default: block_dot(w, row_bytes, qt, cols, nc, R, 4, out); break;        \
    }

static void gemm(const uint8_t *packed, int rows, int cols, const int8_t *q, int n, int r0, int r1, int32_t *acc) {
    const int nc = bsp_nchunks(cols);
    const size_t row_bytes = (size_t)nc * BSP_CHUNK_BYTES;
    for (int rc0 = r0; rc0 < r1; rc0 += BSP_RC) {
        const int rc1 = rc0 + BSP_RC < r1 ? rc0 + BSP_RC : r1;
        for (int t0 = 0; t0 < n; t0 += BSP_BT) {
            const int T = n - t0 < BSP_BT ? n - t0 : BSP_BT;
            const int8_t *qt = q + (size_t)t0 * cols;
            for (int rb = rc0; rb < rc1; rb += BSP_BR) {
                const int R = rc1 - rb < BSP_BR ? rc1 - rb : BSP_BR;
                const uint8_t *w = packed + (size_t)rb * row_bytes;
                int32_t out[BSP_BR * BSP_BT];
                switch (R) {
                case 1: BSP_T_CASES(1) break;
                case 2: BSP_T_CASES(2) break;
                case 3: BSP_T_CASES(3) break;
                default: BSP_T_CASES(4) break;
                }
                for (int r = 0; r < R; r++)
                    for (int t = 0; t < T; t++) acc[(size_t)(t0 + t) * rows + rb + r] = out[r * BSP_BT + t];
            }
        }
    }
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)prep;
    int rc = bsp_check_args(rows, cols, q, n, r0, r1);
    if (rc) return rc;
    if (n >= 2) {
        gemm((const uint8_t *)packed, rows, cols, q, n, r0, r1, acc); /* prefill */
        return 0;
    }
    const int nc = bsp_nchunks(cols);
    for (int r = r0; r < r1; r++) {
        const uint8_t *w = (const uint8_t *)packed + (size_t)r * nc * BSP_CHUNK_BYTES; /* (nc, 2, 32) */
        acc[r] = row_dot(w, q, cols, nc); /* decode: one token */
    }
    return 0;
}

const tb_kernel tb_k_gemv_bsp_1x256__avx512 = {
    .name = "gemv_bsp_1x256__avx512",
    .desc = "bit-serial, AVX-512BW: int16 masked add/sub under the plus/minus weight masks; prefill (n >= 2): 4 rows x 4 tokens register-blocked GEMM",
    .isa = TB_ISA_AVX2 | TB_ISA_AVX512,
    .gemv = gemv,
    .needs_prep = false,
    .prep_size = NULL,
    .prep = NULL,
    BSP_COMMON,
};
