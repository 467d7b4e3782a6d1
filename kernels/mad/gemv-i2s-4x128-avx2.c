/* gemv-i2s-4x128-avx2.c: gemv_i2s_4x128__avx2.  Layout i2s4x128 (see i2s4x128.h).
 * Per 128-weight block and row: one 32-byte load, shift+AND into 4 code vectors,
 * vpmaddubsw (u8 code x s8 q -> int16 pairs, each in [-512, 508], never saturating)
 * and int16 adds; every GROUP = 8 blocks the int16 sums go to int32 with vpmaddwd.
 * int16 bound: one block adds at most 4 pair sums per lane (|x| <= 2048), 8 blocks
 * |x| <= 16384 < 32767: nothing saturates or wraps for any input (the peer bug was
 * int16 accumulation over a whole row).  One token (decode) decodes with one shift per
 * block, taking c1 and c3 as 4 x the code (rows2_group): 13 vector operations per block
 * instead of 15 (with the weights in cache, 3.97 -> 3.78 cycles per block).  With n >= 4
 * tokens (prefill) each row's codes are decoded once per block and applied to 4 tokens;
 * whole blocks of 32 tokens go to the token-lane LUT GEMM instead (i2s4x128-vlut.h), the
 * rest stay here.  Exact.  Needs AVX2. */
#include <immintrin.h>

#include "i2s4x128.h"
#include "i2s4x128-x86.h"
#include "i2s4x128-vlut-x86.h"

/* One token, two rows of a tile (w0, w1: their nblk <= GROUP blocks, 128 bytes apart),
 * added to a[0..1] as 4 x the dot products (int32, 8 lanes each).  The codes of byte
 * v are c0 = v & 3, 4 c1 = v & 12, and from v4 = v >> 4, c2 = v4 & 3 and 4 c3 = v4 & 12: one
 * shift and four ANDs instead of three shifts and four ANDs.  s1 sums c0 q0 + c2 q2 (a
 * block adds at most 2 pair sums of |2 * 2 * 128| per lane: |x| <= 1024, 8 blocks <=
 * 8192), s4 sums 4 c1 q1 + 4 c3 q3 (a pair sum of 8 * q is in [-2048, 2032], a block in
 * [-4096, 4064], 8 blocks in [-32768, 32512]: int16 holds it exactly, and vpmaddubsw never
 * saturates); vpmaddwd by 4 and by 1 turns them into 4 x the sum in int32. */
static inline void rows2_group(const uint8_t *w0, const uint8_t *w1, const int8_t *q, int nblk, __m256i a[2]) {
    const __m256i m3 = _mm256_set1_epi8(3), m12 = _mm256_set1_epi8(12);
    __m256i s1[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    __m256i s4[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int b = 0; b < nblk; b++) {
        const int8_t *qb = q + (size_t)b * 128;
        const uint8_t *w[2] = {w0 + (size_t)b * 128, w1 + (size_t)b * 128};
        for (int i = 0; i < 2; i++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)w[i]), v4 = _mm256_srli_epi16(v, 4);
            const __m256i p02 = _mm256_add_epi16(
                _mm256_maddubs_epi16(_mm256_and_si256(v, m3), _mm256_loadu_si256((const __m256i *)qb)),
                _mm256_maddubs_epi16(_mm256_and_si256(v4, m3), _mm256_loadu_si256((const __m256i *)(qb + 64))));
            const __m256i p13 = _mm256_add_epi16(
                _mm256_maddubs_epi16(_mm256_and_si256(v, m12), _mm256_loadu_si256((const __m256i *)(qb + 32))),
                _mm256_maddubs_epi16(_mm256_and_si256(v4, m12), _mm256_loadu_si256((const __m256i *)(qb + 96))));
            s1[i] = _mm256_add_epi16(s1[i], p02);
            s4[i] = _mm256_add_epi16(s4[i], p13);
        }
    }
    const __m256i ones = _mm256_set1_epi16(1), fours = _mm256_set1_epi16(4);
    for (int i = 0; i < 2; i++)
        a[i] = _mm256_add_epi32(a[i], _mm256_add_epi32(_mm256_madd_epi16(s1[i], fours), _mm256_madd_epi16(s4[i], ones)));
}

enum { GROUP = 8 }; /* blocks summed in int16 before widening: 8 * 2048 = 16384 < 32767 */


/* Prefill: one row x 4 tokens.  The row's codes are decoded once per block and used for
 * all 4 tokens (the shift/AND work is shared), same int16 grouping as the 1-token path.
 * out[j] = sum_c code_c * q[j][c] for the 4 token rows q0..q3 (padded, Kp long). */
static inline __m128i row_tokens4(const uint8_t *wrow, int nb, const int8_t *q0, const int8_t *q1,
                                  const int8_t *q2, const int8_t *q3, __m256i m3, __m256i ones) {
    const int8_t *qs[4] = {q0, q1, q2, q3};
    __m256i a[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                    _mm256_setzero_si256()}; /* int32, per token */
    for (int g = 0; g < nb; g += GROUP) {
        const int ge = g + GROUP < nb ? g + GROUP : nb;
        __m256i s[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                        _mm256_setzero_si256()}; /* int16, per token, <= GROUP blocks */
        for (int b = g; b < ge; b++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(wrow + (size_t)b * 128));
            const __m256i c0 = _mm256_and_si256(v, m3);
            const __m256i c1 = _mm256_and_si256(_mm256_srli_epi16(v, 2), m3);
            const __m256i c2 = _mm256_and_si256(_mm256_srli_epi16(v, 4), m3);
            const __m256i c3 = _mm256_and_si256(_mm256_srli_epi16(v, 6), m3);
            for (int j = 0; j < 4; j++) {
                const int8_t *qb = qs[j] + (size_t)b * 128;
                const __m256i p01 = _mm256_add_epi16(_mm256_maddubs_epi16(c0, _mm256_loadu_si256((const __m256i *)qb)),
                                                     _mm256_maddubs_epi16(c1, _mm256_loadu_si256((const __m256i *)(qb + 32))));
                const __m256i p23 = _mm256_add_epi16(_mm256_maddubs_epi16(c2, _mm256_loadu_si256((const __m256i *)(qb + 64))),
                                                     _mm256_maddubs_epi16(c3, _mm256_loadu_si256((const __m256i *)(qb + 96))));
                s[j] = _mm256_add_epi16(s[j], _mm256_add_epi16(p01, p23));
            }
        }
        for (int j = 0; j < 4; j++) a[j] = _mm256_add_epi32(a[j], _mm256_madd_epi16(s[j], ones));
    }
    return hsum4(a[0], a[1], a[2], a[3]);
}

/* Tokens nv..n-1 (those past the whole blocks of 32) with multiply-add. */
static void mad_tokens(const void *packed, int rows, int cols, const void *prep, int n, int nv, int r0, int r1,
                       int32_t *acc) {
    const int kp = tb_i2s4_kp(cols), nb = kp / TB_I2S4_BLOCK;
    const int32_t *qsum = prep;
    const int8_t *qpad = (const int8_t *)prep + tb_i2s4_sums_bytes(n);
    const __m256i m3 = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
    /* tokens in chunks of TB_I2S4_TOKCHUNK: their activations stay in L1 while the
     * chunk sweeps the weight tiles (prefill); n = 1 is one chunk */
    for (int tc = nv; tc < n; tc += TB_I2S4_TOKCHUNK) {
        const int te = tc + TB_I2S4_TOKCHUNK < n ? tc + TB_I2S4_TOKCHUNK : n;
        for (int t0 = r0 / 4; t0 * 4 < r1; t0++) {
            const uint8_t *tile = (const uint8_t *)packed + (size_t)t0 * nb * 128; /* (nb, 4, 32) */
            int tok = tc;
            /* 4 tokens at a time, one row at a time (prefill) */
            for (; tok + 4 <= te; tok += 4) {
                const int8_t *qt = qpad + (size_t)tok * kp;
                for (int i = 0; i < 4; i++) {
                    const int r = t0 * 4 + i;
                    if (r < r0 || r >= r1) continue;
                    int32_t d[4];
                    const __m128i sums = row_tokens4(tile + 32 * i, nb, qt, qt + kp, qt + 2 * (size_t)kp,
                                                     qt + 3 * (size_t)kp, m3, ones);
                    _mm_storeu_si128((__m128i *)d, _mm_sub_epi32(sums, _mm_loadu_si128((const __m128i *)(qsum + tok))));
                    for (int j = 0; j < 4; j++) acc[(size_t)(tok + j) * rows + r] = d[j];
                }
            }
            /* the remaining tokens (all of them when n < 4): 4 rows x 1 token, two rows at a time */
            for (; tok < te; tok++) {
                const int8_t *qt = qpad + (size_t)tok * kp;
                __m256i a[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                                _mm256_setzero_si256()}; /* int32, 4 x the sums */
                for (int g = 0; g < nb; g += GROUP) {
                    const int nblk = (g + GROUP < nb ? g + GROUP : nb) - g;
                    const uint8_t *w = tile + (size_t)g * 128;
                    rows2_group(w, w + 32, qt + (size_t)g * 128, nblk, a);
                    rows2_group(w + 64, w + 96, qt + (size_t)g * 128, nblk, a + 2);
                }
                int32_t d[4];
                _mm_storeu_si128((__m128i *)d, _mm_sub_epi32(_mm_srai_epi32(hsum4(a[0], a[1], a[2], a[3]), 2), /* exact: 4 x the sums */
                                                             _mm_set1_epi32(qsum[tok])));
                tb_i2s4_store(acc + (size_t)tok * rows, t0 * 4, r0, r1, d);
            }
        }
    }
}

/* Checked arguments: the tokens past the whole blocks of 32 with multiply-add, then the
 * whole blocks (prefill) with the token-lane lookup GEMM, which may open its last unit to
 * a team (team_slot, tb_i2s4v_gemm_avx2): it is then the last work of the call. */
static void compute(const void *packed, int rows, int cols, const void *prep, int n, int r0, int r1, int32_t *acc,
                    void *team_slot) {
    const int nv = tb_i2s4v_blocks(n) * TB_I2S4V_TOK;
    mad_tokens(packed, rows, cols, prep, n, nv, r0, r1, acc);
    if (nv) tb_i2s4v_gemm_avx2(packed, rows, cols, prep, n, r0, r1, acc, team_slot);
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    int rc = tb_i2s4_check_args(rows, cols, prep, n, r0, r1);
    if (!rc) compute(packed, rows, cols, prep, n, r0, r1, acc, NULL);
    return rc;
}

/* The token split as a team (tb_gemv_team): this thread's share of every matrix, the one
 * with the most rows last, whose last lookup sweep is then the last work of the share and
 * open to the others; then help the others with theirs. */
static int gemv_team(const tb_gemv_team *tm, int tid) {
    const tb_gemv_share *s = &tm->share[tid];
    void *slot = (char *)tm->state + (size_t)tid * TB_TEAM_STATE_BYTES;
    int rc = 0, last = 0;
    for (int i = 1; i < tm->count; i++)
        if (tm->mats[i].rows >= tm->mats[last].rows) last = i;
    for (int i = 0; s->n > 0 && !rc && i < tm->count; i++)
        rc = tb_i2s4_check_args(tm->mats[i].rows, tm->cols, s->prep, s->n, 0, tm->mats[i].rows);
    for (int i = 0; s->n > 0 && !rc && i < tm->count; i++) {
        const int mi = i == tm->count - 1 ? last : i < last ? i : i + 1; /* `last` moved to the end */
        const tb_gemv_mat *m = &tm->mats[mi];
        compute(m->packed, m->rows, tm->cols, s->prep, s->n, 0, m->rows, m->acc + (size_t)s->t0 * m->rows,
                mi == last ? slot : NULL);
    }
    tb_i2s4v_team_done(slot);
    tb_i2s4v_team_help_avx2(tm, tid);
    return rc;
}

const tb_kernel tb_k_gemv_i2s_4x128__avx2 = {
    .name = "gemv_i2s_4x128__avx2",
    .desc = "int8-MAD, AVX2: vpmaddubsw codes x q, int16 over 8 blocks, vpmaddwd to int32, minus sum(q); "
            "whole blocks of 32 tokens: token-lane LUT (81 patterns per byte x 32 int16 tokens)",
    .isa = TB_ISA_AVX2,
    .gemv = gemv,
    .priority = 10,
    TB_I2S4_BYTES,
    .prep_size = tb_i2s4v_prep_size,
    .prep = tb_i2s4v_prep,
    .batch_rows = TB_I2S4V_ROWS / 2, /* its token-lane LUT builds tables per call (i2s4x128-vlut.h) */
    .batch_tokens = TB_I2S4V_TOK,   /* ... per block of 32 tokens: the threads split those */
    .gemv_team = gemv_team,         /* ... and take over the end of a slower thread's share */
};
