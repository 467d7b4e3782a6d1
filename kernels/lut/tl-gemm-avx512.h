/* tl-gemm-avx512.h: the batched (n >= 2, prefill) path of the AVX-512 TL1/TL2 kernels,
 * a register-blocked, cache-blocked GEMM over the unchanged packed weights and prep.
 * Include only from files compiled with AVX-512 F/BW flags (after tl-avx2.h).
 *
 * Why it is cheaper than one token at a time: the 1-token tile loop spends, per group
 * and 32 rows, two pshufb (low and high table bytes) and an unpack to recombine them
 * into int16 (4 shuffles per group pair on ymm), and decodes the index nibbles again for
 * every token.  Here each token's split-byte tables are first converted ONCE per call
 * ("packed activations") into int16 word tables in a small stack scratch, which every
 * 32-row tile of the chunk then reuses:
 *   TL1: per group pair, 64 bytes = words [T(2p)[0..15], T(2p+1)[0..15]]
 *   TL2: per group, 64 bytes = words [T[0..15], -T[0..15]]   (the sign is in the index)
 * and one vpermw (AVX-512BW, 32-word table, index = low 5 bits of each word) gives the
 * 32 rows' int16 values of one group directly in row order, with no unpack:
 *   TL1: index of row j = i (group 2p) or i + 16 (group 2p+1), i its 4-bit code
 *   TL2: index of row j = i + 16*s (i the canonical index, s its sign bit), so the value
 *        is exactly +-T[i] (no ~v trick, no nneg)
 * The index words are built once per tile and group block and applied to TOK tokens
 * held in registers (one int16 zmm accumulator per token), so per token and group the
 * work is one table load, one vpermw and one vpaddw for 32 rows.
 *
 * Blocking: rows are taken TC tiles at a time (their packed bytes stay in L2 across the
 * token blocks); tokens TOK at a time; K in blocks of KB groups whose word tables for the
 * TOK tokens (TOK*KB*64 bytes = 16 KB for TL1, 16 KB for TL2) stay in L1 while all tiles
 * of the chunk sweep them.  int32 partial sums of the chunk live in a stack array.
 *
 * int16 bound: a block sums at most KB = 64 (TL1) or 32 (TL2) groups of values with
 * |v| <= 256 (TL1) or 384 (TL2: +-T, T in [-384, 383]) before widening to int32:
 * <= 64*256 = 16384 and 32*384 = 12288 < 32767.  Exact for every input.
 */
#ifndef TB_LUT_TL_GEMM_AVX512_H
#define TB_LUT_TL_GEMM_AVX512_H

#include "tl-avx2.h"

#define TLG_TOK 8        /* tokens per register block */
#define TLG_TC 16        /* 32-row tiles per row chunk */
#define TLG1_KB_PAIRS 32 /* TL1: group pairs per K block (64 groups) */
#define TLG2_KB_OCTS 4   /* TL2: octets per K block (32 groups) */

#define TLG_INLINE static inline __attribute__((always_inline))

/* Split-byte tables of one pair (prep layout: lo(a), lo(b), hi(a), hi(b)) -> int16 words
 * A = T(a)[0..15], B = T(b)[0..15]. */
TLG_INLINE void tlg_words(const uint8_t *tp, __m256i *A, __m256i *B) {
    const __m256i lo = _mm256_loadu_si256((const __m256i *)tp), hi = _mm256_loadu_si256((const __m256i *)(tp + 32));
    const __m256i ul = _mm256_unpacklo_epi8(lo, hi), uh = _mm256_unpackhi_epi8(lo, hi);
    *A = _mm256_permute2x128_si256(ul, uh, 0x20);
    *B = _mm256_permute2x128_si256(ul, uh, 0x31);
}

/* TL1 scratch: pairs [p0, p1) of T tokens (token t's prep at prep + t*prep_row) ->
 * scr[(t*KB + p - p0)*64]. */
static inline void tlg1_convert(const uint8_t *prep, size_t prep_row, int T, int p0, int p1, uint8_t *scr) {
    for (int t = 0; t < T; t++)
        for (int p = p0; p < p1; p++) {
            __m256i A, B;
            tlg_words(prep + prep_row * t + (size_t)p * TL_PREP_PAIR, &A, &B);
            uint8_t *d = scr + ((size_t)t * TLG1_KB_PAIRS + (p - p0)) * 64;
            _mm256_storeu_si256((__m256i *)d, A);
            _mm256_storeu_si256((__m256i *)(d + 32), B);
        }
}

/* TL2 scratch: octets [o0, o1) of T tokens -> per group k: scr[(t*KBG + k - 8*o0)*64] =
 * [T_k, -T_k] words. */
static inline void tlg2_convert(const uint8_t *prep, size_t prep_row, int T, int o0, int o1, uint8_t *scr) {
    const __m256i z = _mm256_setzero_si256();
    for (int t = 0; t < T; t++)
        for (int p = 4 * o0; p < 4 * o1; p++) {
            __m256i A, B;
            tlg_words(prep + prep_row * t + (size_t)p * TL_PREP_PAIR, &A, &B);
            uint8_t *d = scr + ((size_t)t * 8 * TLG2_KB_OCTS + 2 * (p - 4 * o0)) * 64;
            _mm256_storeu_si256((__m256i *)d, A);
            _mm256_storeu_si256((__m256i *)(d + 32), _mm256_sub_epi16(z, A));
            _mm256_storeu_si256((__m256i *)(d + 64), B);
            _mm256_storeu_si256((__m256i *)(d + 96), _mm256_sub_epi16(z, B));
        }
}

/* part[t][0..31] += the int16 block sums s[t] (rows in order), for t < T. */
TLG_INLINE void tlg_widen(const __m512i *s, int T, int32_t (*part)[TL_TILE]) {
    for (int t = 0; t < T; t++) {
        const __m512i a = _mm512_add_epi32(_mm512_loadu_si512((const void *)part[t]),
                                           _mm512_cvtepi16_epi32(_mm512_castsi512_si256(s[t])));
        const __m512i b = _mm512_add_epi32(_mm512_loadu_si512((const void *)(part[t] + 16)),
                                           _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(s[t], 1)));
        _mm512_storeu_si512((void *)part[t], a);
        _mm512_storeu_si512((void *)(part[t] + 16), b);
    }
}

/* TL1: one tile's pairs [0, np) of a K block (w at the block's first pair) against the
 * scratch of T tokens; part[t] += the sums. */
TLG_INLINE void tlg1_tile(const uint8_t *w, const uint8_t *scr, int np, int T, int32_t (*part)[TL_TILE]) {
    const __m512i m4 = _mm512_set1_epi16(0x0f), c16 = _mm512_set1_epi16(16);
    __m512i s[TLG_TOK];
    for (int t = 0; t < T; t++) s[t] = _mm512_setzero_si512();
    for (int p = 0; p < np; p++) {
        const __m512i x = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(w + (size_t)p * TL1_PAIR_BYTES)));
        const __m512i ia = _mm512_and_si512(x, m4), ib = _mm512_or_si512(_mm512_srli_epi16(x, 4), c16);
        for (int t = 0; t < T; t++) {
            const __m512i z = _mm512_loadu_si512((const void *)(scr + ((size_t)t * TLG1_KB_PAIRS + p) * 64));
            s[t] = _mm512_add_epi16(s[t], _mm512_add_epi16(_mm512_permutexvar_epi16(ia, z), _mm512_permutexvar_epi16(ib, z)));
        }
    }
    tlg_widen(s, T, part);
}

/* TL2: one tile's octets [0, no) of a K block (oct at the block's first octet). */
TLG_INLINE void tlg2_tile(const uint8_t *oct, const uint8_t *scr, int no, int T, int32_t (*part)[TL_TILE]) {
    const __m512i m4 = _mm512_set1_epi16(0x0f), c16 = _mm512_set1_epi16(16);
    __m512i s[TLG_TOK];
    for (int t = 0; t < T; t++) s[t] = _mm512_setzero_si512();
    for (int o = 0; o < no; o++) {
        const uint8_t *ob = oct + (size_t)o * TL2_OCTET_BYTES;
        const __m512i sg = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(ob + 128)));
        for (int i = 0; i < 4; i++) {
            const __m512i x = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(ob + 32 * i)));
            /* group 2i: i + 16*s, s = bit 2i of the sign byte; group 2i+1: bit 2i+1 */
            const __mmask32 na = _mm512_test_epi16_mask(sg, _mm512_set1_epi16((short)(1 << (2 * i))));
            const __mmask32 nb = _mm512_test_epi16_mask(sg, _mm512_set1_epi16((short)(1 << (2 * i + 1))));
            const __m512i xa = _mm512_and_si512(x, m4), xb = _mm512_srli_epi16(x, 4);
            const __m512i ia = _mm512_mask_add_epi16(xa, na, xa, c16), ib = _mm512_mask_add_epi16(xb, nb, xb, c16);
            const uint8_t *sc = scr + (size_t)(8 * o + 2 * i) * 64;
            for (int t = 0; t < T; t++) {
                const uint8_t *st = sc + (size_t)t * 8 * TLG2_KB_OCTS * 64;
                const __m512i za = _mm512_loadu_si512((const void *)st), zb = _mm512_loadu_si512((const void *)(st + 64));
                s[t] = _mm512_add_epi16(s[t], _mm512_add_epi16(_mm512_permutexvar_epi16(ia, za), _mm512_permutexvar_epi16(ib, zb)));
            }
        }
    }
    tlg_widen(s, T, part);
}

/* Specializations for a constant token count (registers, unrolled loops). */
#define TLG_DISPATCH(fn, T, ...)                  \
    switch (T) {                                  \
    case 1: fn(__VA_ARGS__, 1, part); break;      \
    case 2: fn(__VA_ARGS__, 2, part); break;      \
    case 3: fn(__VA_ARGS__, 3, part); break;      \
    case 4: fn(__VA_ARGS__, 4, part); break;      \
    case 5: fn(__VA_ARGS__, 5, part); break;      \
    case 6: fn(__VA_ARGS__, 6, part); break;      \
    case 7: fn(__VA_ARGS__, 7, part); break;      \
    default: fn(__VA_ARGS__, 8, part); break;     \
    }

/* The GEMM: acc rows [r0, r1) x all n tokens.  g = 2 (TL1) or 3 (TL2).  Arguments are
 * checked by the caller. */
static inline void tlg_gemm(int g, const void *packed, int rows, int cols, const void *prep, int n, int r0, int r1,
                            int32_t *acc) {
    const tl_dims d = tl_dims_of(g, rows, cols);
    const size_t prep_row = (size_t)d.pairs * TL_PREP_PAIR;
    const size_t tile_bytes = g == 2 ? tl1_tile_bytes(d) : tl2_tile_bytes(d);
    const int tlo = r0 / TL_TILE, thi = (r1 + TL_TILE - 1) / TL_TILE;
    _Alignas(64) uint8_t scr[TLG_TOK * TLG1_KB_PAIRS * 64]; /* = TLG_TOK * 8 * TLG2_KB_OCTS * 64 */
    _Alignas(64) int32_t partbuf[TLG_TC][TLG_TOK][TL_TILE];
    for (int c0 = tlo; c0 < thi; c0 += TLG_TC) {
        const int c1 = c0 + TLG_TC < thi ? c0 + TLG_TC : thi;
        for (int t0 = 0; t0 < n; t0 += TLG_TOK) {
            const int T = n - t0 < TLG_TOK ? n - t0 : TLG_TOK;
            const uint8_t *pt = (const uint8_t *)prep + prep_row * t0;
            memset(partbuf, 0, sizeof partbuf);
            if (g == 2) {
                for (int p0 = 0; p0 < d.pairs; p0 += TLG1_KB_PAIRS) {
                    const int p1 = p0 + TLG1_KB_PAIRS < d.pairs ? p0 + TLG1_KB_PAIRS : d.pairs;
                    tlg1_convert(pt, prep_row, T, p0, p1, scr);
                    for (int c = c0; c < c1; c++) {
                        const uint8_t *w = (const uint8_t *)packed + (size_t)c * tile_bytes + (size_t)p0 * TL1_PAIR_BYTES;
                        int32_t(*part)[TL_TILE] = partbuf[c - c0];
                        TLG_DISPATCH(tlg1_tile, T, w, scr, p1 - p0)
                    }
                }
            } else {
                for (int o0 = 0; o0 < d.octets; o0 += TLG2_KB_OCTS) {
                    const int o1 = o0 + TLG2_KB_OCTS < d.octets ? o0 + TLG2_KB_OCTS : d.octets;
                    tlg2_convert(pt, prep_row, T, o0, o1, scr);
                    for (int c = c0; c < c1; c++) {
                        const uint8_t *w = (const uint8_t *)packed + (size_t)c * tile_bytes + (size_t)o0 * TL2_OCTET_BYTES;
                        int32_t(*part)[TL_TILE] = partbuf[c - c0];
                        TLG_DISPATCH(tlg2_tile, T, w, scr, o1 - o0)
                    }
                }
            }
            for (int c = c0; c < c1; c++)
                for (int t = 0; t < T; t++)
                    tl_store_tile(acc + (size_t)(t0 + t) * rows, c * TL_TILE, r0, r1, partbuf[c - c0][t]);
        }
    }
}

#endif
