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
 * Checked natively on AMD EPYC Zen 5 (2026-12); where the CPU has no AVX-512 its logic
 * passes the exactness sweep against a plain-C model of the intrinsics
 * (tests/kernels/test_lut_emu.h). */
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

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)prep;
    int rc = bsp_check_args(rows, cols, q, n, r0, r1);
    if (rc) return rc;
    const int nc = bsp_nchunks(cols);
    for (int r = r0; r < r1; r++) {
        const uint8_t *w = (const uint8_t *)packed + (size_t)r * nc * BSP_CHUNK_BYTES; /* (nc, 2, 32) */
        for (int t = 0; t < n; t++) acc[(size_t)t * rows + r] = row_dot(w, q + (size_t)t * cols, cols, nc);
    }
    return 0;
}

const tb_kernel tb_k_gemv_bsp_1x256__avx512 = {
    .name = "gemv_bsp_1x256__avx512",
    .desc = "bit-serial, AVX-512BW: int16 masked add/sub under the plus/minus weight masks (checked natively on AMD Zen 5 and in emulation)",
    .isa = TB_ISA_AVX2 | TB_ISA_AVX512,
    .gemv = gemv,
    .needs_prep = false,
    .prep_size = NULL,
    .prep = NULL,
    BSP_COMMON,
};
