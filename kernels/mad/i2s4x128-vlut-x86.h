/* i2s4x128-vlut-x86.h: AVX2 helpers of the token-lane lookup GEMM (i2s4x128-vlut.h). */
#ifndef TB_I2S4X128_VLUT_X86_H
#define TB_I2S4X128_VLUT_X86_H

#include <immintrin.h>

#include "i2s4x128-vlut.h"

static inline __m256i vl_ld(const char *p) { return _mm256_load_si256((const __m256i *)p); }

/* Entry numbers e = f0 + 3 f1 + 9 f2 + 27 f3 of 32 packed bytes (f_s: bits 2s+1:2s):
 * two 16-entry vpshufb tables, one per nibble.  A nibble holding the never-packed code 3
 * counts 0, so any byte gives an entry in [0, 80]: a table read never leaves the table. */
static inline __m256i vl_entries(__m256i v, __m256i m15) {
#define VL_N(n, w) ((((n) & 3) == 3 || ((n) >> 2) == 3) ? 0 : (w) * (((n) & 3) + 3 * ((n) >> 2)))
#define VL_T(w) VL_N(0, w), VL_N(1, w), VL_N(2, w), VL_N(3, w), VL_N(4, w), VL_N(5, w), VL_N(6, w), VL_N(7, w), \
                VL_N(8, w), VL_N(9, w), VL_N(10, w), VL_N(11, w), VL_N(12, w), VL_N(13, w), VL_N(14, w), VL_N(15, w)
    const __m256i lo = _mm256_setr_epi8(VL_T(1), VL_T(1)), hi = _mm256_setr_epi8(VL_T(9), VL_T(9));
#undef VL_T
#undef VL_N
    return _mm256_add_epi8(_mm256_shuffle_epi8(lo, _mm256_and_si256(v, m15)),
                           _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), m15)));
}

/* s[0..3] (int32, tokens 0-7, 8-15, 16-23, 24-31) = (first ? 0 : s) + widen(lo, hi) */
static inline void vl_widen_add(__m256i s[4], __m256i lo, __m256i hi, int first) {
    const __m256i w[4] = {_mm256_cvtepi16_epi32(_mm256_castsi256_si128(lo)),
                          _mm256_cvtepi16_epi32(_mm256_extracti128_si256(lo, 1)),
                          _mm256_cvtepi16_epi32(_mm256_castsi256_si128(hi)),
                          _mm256_cvtepi16_epi32(_mm256_extracti128_si256(hi, 1))};
    for (int i = 0; i < 4; i++) s[i] = first ? w[i] : _mm256_add_epi32(s[i], w[i]);
}

/* 8 x 8 int32 transpose in registers: lane j of m[i] becomes lane i of m[j]. */
static inline void vl_transpose8(__m256i m[8]) {
    __m256i a[8], b[8];
    for (int i = 0; i < 8; i += 2) {
        a[i] = _mm256_unpacklo_epi32(m[i], m[i + 1]);
        a[i + 1] = _mm256_unpackhi_epi32(m[i], m[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        b[i] = _mm256_unpacklo_epi64(a[i], a[i + 2]);
        b[i + 1] = _mm256_unpackhi_epi64(a[i], a[i + 2]);
        b[i + 2] = _mm256_unpacklo_epi64(a[i + 1], a[i + 3]);
        b[i + 3] = _mm256_unpackhi_epi64(a[i + 1], a[i + 3]);
    }
    for (int i = 0; i < 4; i++) {
        m[i] = _mm256_permute2x128_si256(b[i], b[i + 4], 0x20);
        m[i + 4] = _mm256_permute2x128_si256(b[i], b[i + 4], 0x31);
    }
}

/* The 32 token sums of nr rows (s[r][j]: tokens 8j..8j+7) to out[t * stride + r], the
 * token-major result.  Eight rows go at a time, transposed in registers, so each token
 * gets one 32-byte store per eight rows: one 4-byte store per row and token put the
 * 32 tokens' lines into 2 of L1's 64 sets whenever stride is 2560 (10 KiB apart), and
 * 2B4T's q, o and down then ran ~10% slower. */
static inline void vl_store_sums(const __m256i (*s)[4], int nr, int32_t *out, int stride) {
    int r = 0;
    for (; r + 8 <= nr; r += 8)
        for (int j = 0; j < 4; j++) {
            __m256i m[8];
            for (int i = 0; i < 8; i++) m[i] = s[r + i][j];
            vl_transpose8(m);
            for (int t = 0; t < 8; t++) _mm256_storeu_si256((__m256i *)(out + (size_t)(8 * j + t) * stride + r), m[t]);
        }
    for (; r < nr; r++) {
        _Alignas(32) int32_t v[TB_I2S4V_TOK];
        for (int i = 0; i < 4; i++) _mm256_store_si256((__m256i *)(v + 8 * i), s[r][i]);
        for (int t = 0; t < TB_I2S4V_TOK; t++) out[(size_t)t * stride + r] = v[t];
    }
}

/* acc[t * rows + r] for rows [r0, r1) and the tokens of the whole blocks of 32 in n, from
 * tb_i2s4v_prep's prep; the caller (the kernel's gemv) has checked the arguments.  Cannot
 * fail.  team_slot NULL: alone.  Else this thread's TB_TEAM_STATE_BYTES slot of a team's
 * state (tb_gemv_team): the call's last unit of work (the last row sweep of its last pair
 * of token blocks) is open to the other threads, and the slot must then see
 * tb_i2s4v_team_done once this thread has nothing more to open (also when it had no
 * token blocks at all). */
void tb_i2s4v_gemm_avx2(const void *packed, int rows, int cols, const void *prep, int n, int r0, int r1,
                        int32_t *acc, void *team_slot);
void tb_i2s4v_team_done(void *team_slot);
/* A thread done with its own share: takes blocks of the others' open units from their
 * ends, in its own scratch, and waits until each owner has added them. */
void tb_i2s4v_team_help_avx2(const tb_gemv_team *team, int tid);
/* Blocks another thread computed of the open unit of this slot (0 if none): tests, reports. */
int tb_i2s4v_team_helped(const void *state);

#endif
