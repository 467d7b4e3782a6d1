/* gemv-tl2-32x24-avx2.c: gemv_tl2_32x24__avx2, TL2 LUT (1.67 bpw) with pshufb.  Exact.
 * Layout tl2_32x24 (see tl.h).  As TL1 (gemv-tl1-32x4-avx2.c) with 14-entry tables of
 * canonical triples, plus the sign: one 32-byte load gives the sign bits of 8 groups
 * for the tile's 32 rows; per group an and + cmpeq makes the byte mask that is XORed
 * into both table bytes (v -> ~v = -v - 1); the tile's per-row count of negated groups
 * (stored with the weights) adds the missing +1s at the end.  int16 block sums stay
 * <= 64*384 (tl.h).  Prefill (n >= 2): the token-blocked loop below. */
#include "tl-avx2.h"

static void tile_dot(const uint8_t *w, const uint8_t *tab, tl_dims d, int32_t out[TL_TILE]) {
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    const int per_block = TL_BLOCK_GROUPS / 8; /* octets per int16 block */
    for (int o0 = 0; o0 < d.octets; o0 += per_block) {
        const int o1 = o0 + per_block < d.octets ? o0 + per_block : d.octets;
        __m256i s_lo = _mm256_setzero_si256(), s_hi = _mm256_setzero_si256();
        for (int o = o0; o < o1; o++)
            tl2_octet_avx2(w + (size_t)o * TL2_OCTET_BYTES, tab + (size_t)o * 4 * TL_PREP_PAIR, &s_lo, &s_hi);
        tl_widen_avx2(s_lo, s_hi, acc);
    }
    tl2_add_nneg_avx2(w + (size_t)d.octets * TL2_OCTET_BYTES, acc);
    tl_store_acc_avx2(acc, out);
}

/* ---- prefill (n >= 2): token-blocked, cache-blocked ------------------------------------
 * The same lookups as tile_dot, but per tile and octet the index nibbles (and, shift)
 * and the 8 sign byte masks (and + cmpeq) are computed ONCE and applied to G2_TOK tokens
 * held in registers (2 int16 accumulators each); K is cut in blocks of 64 groups whose
 * tables for the G2_TOK tokens (4 x 2 KB) stay in L1 while the 16 tiles of a row chunk
 * sweep them.  Per token and group pair what remains is 4 pshufb, 4 xor, 4 unpack and
 * 4 add (the sign trick and nneg as tile_dot).  int16 bound: 64 groups per block (tl.h). */
enum { G2_TOK = 4, G2_TC = 16, G2_KB = TL_BLOCK_GROUPS / 8 /* octets per K block */ };

static inline __attribute__((always_inline)) void g2_tile(const uint8_t *oct, const uint8_t *tab, size_t prep_row,
                                                          int no, int T, int32_t (*part)[TL_TILE]) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256i s_lo[G2_TOK], s_hi[G2_TOK];
    for (int t = 0; t < T; t++) s_lo[t] = s_hi[t] = _mm256_setzero_si256();
    for (int o = 0; o < no; o++) {
        const uint8_t *ob = oct + (size_t)o * TL2_OCTET_BYTES;
        const __m256i sgn = _mm256_loadu_si256((const __m256i *)(ob + 128));
        for (int i = 0; i < 4; i++) {
            const __m256i idx = _mm256_loadu_si256((const __m256i *)(ob + 32 * i));
            const __m256i i0 = _mm256_and_si256(idx, m4), i1 = _mm256_and_si256(_mm256_srli_epi16(idx, 4), m4);
            const __m256i b0 = _mm256_set1_epi8((char)(1 << (2 * i))), b1 = _mm256_set1_epi8((char)(1 << (2 * i + 1)));
            const __m256i n0 = _mm256_cmpeq_epi8(_mm256_and_si256(sgn, b0), b0);
            const __m256i n1 = _mm256_cmpeq_epi8(_mm256_and_si256(sgn, b1), b1);
            for (int t = 0; t < T; t++) {
                const uint8_t *tp = tab + prep_row * t + (size_t)(4 * o + i) * TL_PREP_PAIR;
                const __m256i lo0 = _mm256_xor_si256(_mm256_shuffle_epi8(tl_bcast16(tp), i0), n0);
                const __m256i lo1 = _mm256_xor_si256(_mm256_shuffle_epi8(tl_bcast16(tp + 16), i1), n1);
                const __m256i hi0 = _mm256_xor_si256(_mm256_shuffle_epi8(tl_bcast16(tp + 32), i0), n0);
                const __m256i hi1 = _mm256_xor_si256(_mm256_shuffle_epi8(tl_bcast16(tp + 48), i1), n1);
                tl_add_pair_avx2(lo0, hi0, lo1, hi1, &s_lo[t], &s_hi[t]);
            }
        }
    }
    for (int t = 0; t < T; t++) tl_fold_avx2(s_lo[t], s_hi[t], part[t]);
}

static void gemm(const void *packed, int rows, int cols, const void *prep, int n, int r0, int r1, int32_t *acc) {
    const tl_dims d = tl_dims_of(3, rows, cols);
    const size_t prep_row = (size_t)d.pairs * TL_PREP_PAIR, tile_bytes = tl2_tile_bytes(d);
    const int tlo = r0 / TL_TILE, thi = (r1 + TL_TILE - 1) / TL_TILE;
    _Alignas(32) int32_t partbuf[G2_TC][G2_TOK][TL_TILE];
    for (int c0 = tlo; c0 < thi; c0 += G2_TC) {
        const int c1 = c0 + G2_TC < thi ? c0 + G2_TC : thi;
        for (int t0 = 0; t0 < n; t0 += G2_TOK) {
            const int T = n - t0 < G2_TOK ? n - t0 : G2_TOK;
            /* the +1 per negated group (sign trick), once per tile row and token */
            for (int c = c0; c < c1; c++) {
                __m256i a[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                                _mm256_setzero_si256()};
                tl2_add_nneg_avx2((const uint8_t *)packed + (size_t)c * tile_bytes + (size_t)d.octets * TL2_OCTET_BYTES, a);
                for (int t = 0; t < T; t++) tl_store_acc_avx2(a, partbuf[c - c0][t]);
            }
            for (int o0 = 0; o0 < d.octets; o0 += G2_KB) {
                const int o1 = o0 + G2_KB < d.octets ? o0 + G2_KB : d.octets;
                const uint8_t *tab = (const uint8_t *)prep + prep_row * t0 + (size_t)o0 * 4 * TL_PREP_PAIR;
                for (int c = c0; c < c1; c++) {
                    const uint8_t *w = (const uint8_t *)packed + (size_t)c * tile_bytes + (size_t)o0 * TL2_OCTET_BYTES;
                    int32_t(*part)[TL_TILE] = partbuf[c - c0];
                    switch (T) {
                    case 1: g2_tile(w, tab, prep_row, o1 - o0, 1, part); break;
                    case 2: g2_tile(w, tab, prep_row, o1 - o0, 2, part); break;
                    case 3: g2_tile(w, tab, prep_row, o1 - o0, 3, part); break;
                    default: g2_tile(w, tab, prep_row, o1 - o0, 4, part); break;
                    }
                }
            }
            for (int c = c0; c < c1; c++)
                for (int t = 0; t < T; t++)
                    tl_store_tile(acc + (size_t)(t0 + t) * rows, c * TL_TILE, r0, r1, partbuf[c - c0][t]);
        }
    }
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    if (n < 2) return tl_gemv_tiles(3, tile_dot, packed, rows, cols, prep, n, r0, r1, acc); /* decode */
    int rc = tl_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    gemm(packed, rows, cols, prep, n, r0, r1, acc); /* prefill */
    return 0;
}

const tb_kernel tb_k_gemv_tl2_32x24__avx2 = {
    .name = "gemv_tl2_32x24__avx2",
    .desc = "TL2 LUT, AVX2: sign + 4-bit index (1.67 bpw), pshufb on split int16 tables, sign by XOR; prefill (n >= 2): index and sign masks decoded once per 4 tokens",
    .isa = TB_ISA_AVX2,
    .gemv = gemv,
    .prep = tl2_prep_avx2,
    TL2_COMMON,
};
