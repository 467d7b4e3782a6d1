/* gemv-tl1-32x4-avx2.c: gemv_tl1_32x4__avx2, TL1 LUT with pshufb.  Exact.
 * Layout tl1_32x4 (see tl.h).  Per group pair of a 32-row tile: one 32-byte load of
 * 4-bit indices (low nibble = group 2p, high = 2p+1), 4 pshufb into the groups'
 * low-byte and high-byte tables (broadcast to both lanes), unpack into int16 values
 * lo | hi << 8, add in int16 for at most 64 groups (|sum| <= 64*256, tl.h), then
 * widen to int32 (decode, n = 1).  Prefill (n >= 2): the GEMM below. */
#include "tl-avx2.h"

static void tile_dot(const uint8_t *w, const uint8_t *tab, tl_dims dims, int32_t d[TL_TILE]) {
    const int pairs = dims.pairs;
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    for (int p0 = 0; p0 < pairs; p0 += TL_BLOCK_GROUPS / 2) {
        const int p1 = p0 + TL_BLOCK_GROUPS / 2 < pairs ? p0 + TL_BLOCK_GROUPS / 2 : pairs;
        __m256i s_lo = _mm256_setzero_si256(), s_hi = _mm256_setzero_si256();
        for (int p = p0; p < p1; p++)
            tl1_step_avx2(w + (size_t)p * TL1_PAIR_BYTES, tab + (size_t)p * TL_PREP_PAIR, &s_lo, &s_hi);
        tl_widen_avx2(s_lo, s_hi, acc);
    }
    tl_store_acc_avx2(acc, d);
}

/* ---- prefill (n >= 2): a register-blocked, cache-blocked GEMM -----------------------------
 * TL1's table has 9 entries but only 8 nonzero ones besides the zero pair (i = 4, T = 0),
 * so as int16 WORDS they fit one 16-byte pshufb table: W = [T5, T6, T7, T8, T3, T2, T1, T0].
 * A pshufb whose index bytes are (2m, 2m+1) returns word m, i.e. the int16 value itself,
 * and index 0x80 returns 0 (the zero pair): ONE pshufb per group and 16 rows, with no
 * unpack (the 1-token loop needs two pshufb and an unpack per group and 16 rows).
 *   - each token's word tables are built once per call into a stack scratch (3 ops per
 *     group pair and token), for a K block of 64 groups, and reused by every tile;
 *   - per tile and group pair the index words (MAP lookup of each nibble, unpack to word
 *     pairs, + 0x0100) are built once and used by TOK tokens held in registers;
 *   - per token and group pair: two table broadcasts (loads), 4 pshufb, 4 vpaddw.
 * Lane order as tl-avx2.h (s_lo rows 0-7 | 16-23, s_hi rows 8-15 | 24-31), widened by
 * tl_widen_avx2.  int16 bound: 64 groups x |T| <= 256 per block (tl.h).  Exact. */
enum { G1_TOK = 4, G1_TC = 16, G1_KB = TL_BLOCK_GROUPS / 2 /* pairs per K block */ };

/* scr[(t*G1_KB + p - p0)*32] = [W(2p), W(2p+1)] for tokens t < T, pairs [p0, p1). */
static void g1_convert(const uint8_t *prep, size_t prep_row, int T, int p0, int p1, uint8_t *scr) {
    const __m256i perm = _mm256_setr_epi8(5, 6, 7, 8, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 6, 7, 8, 3, 2, 1, 0, 0,
                                          0, 0, 0, 0, 0, 0, 0);
    for (int t = 0; t < T; t++)
        for (int p = p0; p < p1; p++) {
            const uint8_t *tp = prep + prep_row * t + (size_t)p * TL_PREP_PAIR; /* lo(a) lo(b) hi(a) hi(b) */
            const __m256i lo = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)tp), perm);
            const __m256i hi = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(tp + 32)), perm);
            _mm256_storeu_si256((__m256i *)(scr + ((size_t)t * G1_KB + (p - p0)) * 32), _mm256_unpacklo_epi8(lo, hi));
        }
}

static inline __attribute__((always_inline)) void g1_tile(const uint8_t *w, const uint8_t *scr, int np, int T,
                                                          int32_t (*part)[TL_TILE]) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), c0100 = _mm256_set1_epi16(0x0100);
    /* nibble i -> byte 2m of its word in W, 0x80 (zero) for i = 4 and unused codes */
    const __m256i map = _mm256_setr_epi8(14, 12, 10, 8, (char)0x80, 0, 2, 4, 6, (char)0x80, (char)0x80, (char)0x80,
                                         (char)0x80, (char)0x80, (char)0x80, (char)0x80, 14, 12, 10, 8, (char)0x80, 0,
                                         2, 4, 6, (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80,
                                         (char)0x80, (char)0x80);
    __m256i s_lo[G1_TOK], s_hi[G1_TOK];
    for (int t = 0; t < T; t++) s_lo[t] = s_hi[t] = _mm256_setzero_si256();
    for (int p = 0; p < np; p++) {
        const __m256i idx = _mm256_loadu_si256((const __m256i *)(w + (size_t)p * TL1_PAIR_BYTES));
        const __m256i ya = _mm256_shuffle_epi8(map, _mm256_and_si256(idx, m4));
        const __m256i yb = _mm256_shuffle_epi8(map, _mm256_and_si256(_mm256_srli_epi16(idx, 4), m4));
        const __m256i ka_lo = _mm256_add_epi16(_mm256_unpacklo_epi8(ya, ya), c0100);
        const __m256i ka_hi = _mm256_add_epi16(_mm256_unpackhi_epi8(ya, ya), c0100);
        const __m256i kb_lo = _mm256_add_epi16(_mm256_unpacklo_epi8(yb, yb), c0100);
        const __m256i kb_hi = _mm256_add_epi16(_mm256_unpackhi_epi8(yb, yb), c0100);
        for (int t = 0; t < T; t++) {
            const uint8_t *st = scr + ((size_t)t * G1_KB + p) * 32;
            const __m256i ta = tl_bcast16(st), tb = tl_bcast16(st + 16);
            s_lo[t] = _mm256_add_epi16(s_lo[t], _mm256_add_epi16(_mm256_shuffle_epi8(ta, ka_lo), _mm256_shuffle_epi8(tb, kb_lo)));
            s_hi[t] = _mm256_add_epi16(s_hi[t], _mm256_add_epi16(_mm256_shuffle_epi8(ta, ka_hi), _mm256_shuffle_epi8(tb, kb_hi)));
        }
    }
    for (int t = 0; t < T; t++) tl_fold_avx2(s_lo[t], s_hi[t], part[t]);
}

static void gemm(const void *packed, int rows, int cols, const void *prep, int n, int r0, int r1, int32_t *acc) {
    const tl_dims d = tl_dims_of(2, rows, cols);
    const size_t prep_row = (size_t)d.pairs * TL_PREP_PAIR, tile_bytes = tl1_tile_bytes(d);
    const int tlo = r0 / TL_TILE, thi = (r1 + TL_TILE - 1) / TL_TILE;
    _Alignas(32) uint8_t scr[G1_TOK * G1_KB * 32];
    _Alignas(32) int32_t partbuf[G1_TC][G1_TOK][TL_TILE];
    for (int c0 = tlo; c0 < thi; c0 += G1_TC) {
        const int c1 = c0 + G1_TC < thi ? c0 + G1_TC : thi;
        for (int t0 = 0; t0 < n; t0 += G1_TOK) {
            const int T = n - t0 < G1_TOK ? n - t0 : G1_TOK;
            memset(partbuf, 0, sizeof partbuf);
            for (int p0 = 0; p0 < d.pairs; p0 += G1_KB) {
                const int p1 = p0 + G1_KB < d.pairs ? p0 + G1_KB : d.pairs;
                g1_convert((const uint8_t *)prep + prep_row * t0, prep_row, T, p0, p1, scr);
                for (int c = c0; c < c1; c++) {
                    const uint8_t *w = (const uint8_t *)packed + (size_t)c * tile_bytes + (size_t)p0 * TL1_PAIR_BYTES;
                    int32_t(*part)[TL_TILE] = partbuf[c - c0];
                    switch (T) {
                    case 1: g1_tile(w, scr, p1 - p0, 1, part); break;
                    case 2: g1_tile(w, scr, p1 - p0, 2, part); break;
                    case 3: g1_tile(w, scr, p1 - p0, 3, part); break;
                    default: g1_tile(w, scr, p1 - p0, 4, part); break;
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
    if (n < 2) return tl_gemv_tiles(2, tile_dot, packed, rows, cols, prep, n, r0, r1, acc); /* decode */
    int rc = tl_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    gemm(packed, rows, cols, prep, n, r0, r1, acc); /* prefill */
    return 0;
}

const tb_kernel tb_k_gemv_tl1_32x4__avx2 = {
    .name = "gemv_tl1_32x4__avx2",
    .desc = "TL1 LUT, AVX2: pshufb on split low/high-byte int16 tables, 32 rows x 2 groups per step; prefill (n >= 2) GEMM: 8-word int16 tables, one pshufb per group and 16 rows, 4 tokens per index decode",
    .isa = TB_ISA_AVX2,
    .gemv = gemv,
    .prep = tl1_prep_avx2,
    TL1_COMMON,
};
