/* gemv-tl2-32x24-avx512.c: gemv_tl2_32x24__avx512, TL2 LUT (1.67 bpw), 512-bit pshufb.  Exact.
 * Same layout (tl2_32x24) and prep as the scalar/AVX2 variants.  An octet (4 group
 * pairs) takes two steps; step h handles pairs 2h and 2h+1, whose index bytes are
 * contiguous (64 bytes): 128-bit lanes 0-1 look up the groups of pair 2h, lanes 2-3
 * those of pair 2h+1, so each table register is [T(a), T(a), T(b), T(b)].  Signs: the
 * octet's 32 sign bytes are broadcast to both halves and tested (vptestmb) against
 * the group's bit in each half, the mask turned into bytes (vpmovm2b) and XORed into
 * both table bytes (v -> ~v = -v - 1), exactly as the AVX2 code; nneg adds the +1s.
 * Block end: the two 256-bit halves (same rows, different groups) are added in int16;
 * a block still holds <= 64 groups per row, so |sum| <= 64*384 (tl.h).
 * Prefill (n >= 2): the register- and cache-blocked GEMM of tl-gemm-avx512.h.
 * Checked natively (AMD Zen 4, 2026-12) and, for machines without AVX-512, against a
 * plain-C model of the intrinsics (tests/kernels/test_lut_emu.h). */
#include "tl-avx512.h"
#include "tl-gemm-avx512.h"

static void tile_dot(const uint8_t *w, const uint8_t *tab, tl_dims d, int32_t out[TL_TILE]) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    const int per_block = TL_BLOCK_GROUPS / 8;
    for (int o0 = 0; o0 < d.octets; o0 += per_block) {
        const int o1 = o0 + per_block < d.octets ? o0 + per_block : d.octets;
        __m512i z_lo = _mm512_setzero_si512(), z_hi = _mm512_setzero_si512();
        for (int o = o0; o < o1; o++) {
            const uint8_t *oct = w + (size_t)o * TL2_OCTET_BYTES;
            const __m512i sgn = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(oct + 128)));
            for (int h = 0; h < 2; h++) {
                /* pairs a = 2h, b = 2h+1 of the octet: groups 2a, 2a+1, 2b, 2b+1 = 4h .. 4h+3 */
                const uint8_t *tp = tab + (size_t)(4 * o + 2 * h) * TL_PREP_PAIR, *tq = tp + TL_PREP_PAIR;
                const __m512i idx = _mm512_loadu_si512((const void *)(oct + 64 * h));
                const __m512i i0 = _mm512_and_si512(idx, m4);
                const __m512i i1 = _mm512_and_si512(_mm512_srli_epi16(idx, 4), m4);
                const __m512i b0 = bitsel(4 * h, 4 * h + 2), b1 = bitsel(4 * h + 1, 4 * h + 3);
                const __m512i m0 = _mm512_movm_epi8(_mm512_test_epi8_mask(sgn, b0));
                const __m512i m1 = _mm512_movm_epi8(_mm512_test_epi8_mask(sgn, b1));
                const __m512i lo0 = _mm512_xor_si512(_mm512_shuffle_epi8(bcast2(tp, tq), i0), m0);
                const __m512i lo1 = _mm512_xor_si512(_mm512_shuffle_epi8(bcast2(tp + 16, tq + 16), i1), m1);
                const __m512i hi0 = _mm512_xor_si512(_mm512_shuffle_epi8(bcast2(tp + 32, tq + 32), i0), m0);
                const __m512i hi1 = _mm512_xor_si512(_mm512_shuffle_epi8(bcast2(tp + 48, tq + 48), i1), m1);
                z_lo = _mm512_add_epi16(z_lo, _mm512_add_epi16(_mm512_unpacklo_epi8(lo0, hi0), _mm512_unpacklo_epi8(lo1, hi1)));
                z_hi = _mm512_add_epi16(z_hi, _mm512_add_epi16(_mm512_unpackhi_epi8(lo0, hi0), _mm512_unpackhi_epi8(lo1, hi1)));
            }
        }
        const __m256i s_lo = _mm256_add_epi16(_mm512_castsi512_si256(z_lo), _mm512_extracti64x4_epi64(z_lo, 1));
        const __m256i s_hi = _mm256_add_epi16(_mm512_castsi512_si256(z_hi), _mm512_extracti64x4_epi64(z_hi, 1));
        tl_widen_avx2(s_lo, s_hi, acc);
    }
    tl2_add_nneg_avx2(w + (size_t)d.octets * TL2_OCTET_BYTES, acc);
    tl_store_acc_avx2(acc, out);
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    if (n < 2) return tl_gemv_tiles(3, tile_dot, packed, rows, cols, prep, n, r0, r1, acc); /* decode */
    int rc = tl_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    tlg_gemm(3, packed, rows, cols, prep, n, r0, r1, acc); /* prefill: tl-gemm-avx512.h */
    return 0;
}

const tb_kernel tb_k_gemv_tl2_32x24__avx512 = {
    .name = "gemv_tl2_32x24__avx512",
    .desc = "TL2 LUT, AVX-512BW: decode 512-bit pshufb over two group pairs, signs via vptestmb/vpmovm2b; prefill (n >= 2) GEMM: [T, -T] word tables, one vpermw per group and 32 rows, 8 tokens per index decode",
    .isa = TB_ISA_AVX2 | TB_ISA_AVX512,
    .gemv = gemv,
    .prep = tl2_prep_avx2,
    TL2_COMMON,
};
