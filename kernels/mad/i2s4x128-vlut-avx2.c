/* i2s4x128-vlut-avx2.c: the token-lane lookup GEMM (i2s4x128-vlut.h) with AVX2.
 *
 * Loop order, for up to TB_I2S4V_ROWS rows at a time:
 *   for each 128-weight block b:      the rows' bytes become entry numbers (vpshufb on
 *                                     nibbles), laid out per table block so each row
 *                                     sweep reads them sequentially
 *     for each block of 32 tokens:
 *       for each table block q (4 groups, 20.25 KiB of tables, L1):
 *         build the tables; every row adds its 4 entries (2 x 16 tokens) to its int16 sums
 *       after the last table block the int16 sums go to the row's int32 sums
 * so a table is built once per (block, token block, table block) and swept by every row,
 * and the int32 sums of up to TB_I2S4V_TOKBLOCKS token blocks stay in L2. */
#include <immintrin.h>
#include <string.h>

#include "i2s4x128-vlut.h"
#include "i2s4x128-vlut-x86.h"

enum { TOK = TB_I2S4V_TOK, GRP = TB_I2S4V_GRP, ENT = TB_I2S4V_ENT, ROWS = TB_I2S4V_ROWS };
enum { NQ = 32 / GRP, TBS = TB_I2S4V_TOKBLOCKS, GBYTES = ENT * TOK * 2 /* one group's table */ };

/* s[f] = (f - 1) * x for f = 0, 1, 2 */
static inline void trio(__m256i x, __m256i s[3]) {
    s[0] = _mm256_sub_epi16(_mm256_setzero_si256(), x);
    s[1] = _mm256_setzero_si256();
    s[2] = x;
}

/* The 81 entries of one group for 16 tokens (x[m]: q at k + 32m, int16) into tab
 * (entry stride 64 bytes). */
static void build_half(const __m256i x[4], int16_t *tab) {
    __m256i s0[3], s1[3], s2[3], s3[3], lo[9], hi[9];
    trio(x[0], s0), trio(x[1], s1), trio(x[2], s2), trio(x[3], s3);
    for (int i = 0; i < 9; i++) {
        lo[i] = _mm256_add_epi16(s0[i % 3], s1[i / 3]);
        hi[i] = _mm256_add_epi16(s2[i % 3], s3[i / 3]);
    }
    for (int k = 0; k < 9; k++)
        for (int i = 0; i < 9; i++)
            _mm256_store_si256((__m256i *)(tab + (size_t)(i + 9 * k) * TOK), _mm256_add_epi16(lo[i], hi[k]));
}

/* Tables of groups j0..j0+GRP-1 of block b for one token block (qt: [Kp][32] int8). */
static void build(const int8_t *qt, int b, int j0, int16_t *tab) {
    for (int g = 0; g < GRP; g++) {
        const int8_t *x = qt + ((size_t)b * 128 + j0 + g) * TOK;
        __m256i lo[4], hi[4];
        for (int m = 0; m < 4; m++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(x + (size_t)m * 32 * TOK));
            lo[m] = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(v));
            hi[m] = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(v, 1));
        }
        build_half(lo, tab + (size_t)g * ENT * TOK);
        build_half(hi, tab + (size_t)g * ENT * TOK + 16);
    }
}

/* Entry numbers of block b for nr rows from ra: ent[q][r] = the 4 entry numbers of row
 * ra + r's bytes 4q..4q+3 (one byte each). */
static void entries(const uint8_t *packed, int nb, int b, int ra, int nr, uint32_t (*ent)[ROWS]) {
    const __m256i m15 = _mm256_set1_epi8(15);
    for (int r = 0; r < nr; r++) {
        const int row = ra + r;
        const uint8_t *w = packed + ((size_t)(row >> 2) * nb + b) * 128 + 32 * (row & 3);
        _Alignas(32) uint32_t e[NQ];
        _mm256_store_si256((__m256i *)e, vl_entries(_mm256_loadu_si256((const __m256i *)w), m15));
        for (int q = 0; q < NQ; q++) ent[q][r] = e[q];
        if ((row & 1) == 0 && b + 1 < nb) _mm_prefetch((const char *)w + 128, _MM_HINT_T0); /* the next block */
    }
}

enum { FIRST, MIDDLE, LAST }; /* where a table block lies in its 128-weight block */

/* One table block (4 groups, tables at t) over nr rows. */
static inline __attribute__((always_inline)) void rows_pass(const uint32_t *ent, int nr, const char *t,
                                                            __m256i (*s16)[2], __m256i (*s32)[4], int mode,
                                                            int first_block) {
    for (int r = 0; r < nr; r++) {
        const uint32_t c = ent[r];
        const char *e0 = t + (size_t)(c & 255) * 64, *e1 = t + GBYTES + (size_t)(c >> 8 & 255) * 64;
        const char *e2 = t + 2 * GBYTES + (size_t)(c >> 16 & 255) * 64, *e3 = t + 3 * GBYTES + (size_t)(c >> 24) * 64;
        __m256i lo = _mm256_add_epi16(_mm256_add_epi16(vl_ld(e0), vl_ld(e1)), _mm256_add_epi16(vl_ld(e2), vl_ld(e3)));
        __m256i hi = _mm256_add_epi16(_mm256_add_epi16(vl_ld(e0 + 32), vl_ld(e1 + 32)),
                                      _mm256_add_epi16(vl_ld(e2 + 32), vl_ld(e3 + 32)));
        if (mode != FIRST) lo = _mm256_add_epi16(lo, s16[r][0]), hi = _mm256_add_epi16(hi, s16[r][1]);
        if (mode != LAST)
            s16[r][0] = lo, s16[r][1] = hi;
        else
            vl_widen_add(s32[r], lo, hi, first_block);
    }
}

/* Block b for one token block: the 8 table blocks over nr rows. */
static void block_pass(const int8_t *qt, int b, uint32_t (*ent)[ROWS], int nr, int16_t *tab, __m256i (*s16)[2],
                       __m256i (*s32)[4]) {
    const char *t = (const char *)tab;
    for (int q = 0; q < NQ; q++) {
        build(qt, b, q * GRP, tab);
        if (q == 0)
            rows_pass(ent[q], nr, t, s16, s32, FIRST, b == 0);
        else if (q < NQ - 1)
            rows_pass(ent[q], nr, t, s16, s32, MIDDLE, b == 0);
        else if (b == 0)
            rows_pass(ent[q], nr, t, s16, s32, LAST, 1);
        else
            rows_pass(ent[q], nr, t, s16, s32, LAST, 0);
    }
}

typedef struct {
    _Alignas(64) int16_t tab[GRP * ENT * TOK];
    __m256i s16[ROWS][2];
    __m256i s32[TBS][ROWS][4];
    uint32_t ent[NQ][ROWS];
} scratch;

void tb_i2s4v_gemm_avx2(const void *packed, int rows, int cols, const void *prep, int n, int r0, int r1,
                        int32_t *acc) {
    const int nb = tb_i2s4_kp(cols) / TB_I2S4_BLOCK, ntb = tb_i2s4v_blocks(n);
    scratch sc; /* about 330 KiB of stack */
    for (int ra = r0; ra < r1; ra += ROWS) {
        const int nr = (ra + ROWS < r1 ? ra + ROWS : r1) - ra;
        for (int tb0 = 0; tb0 < ntb; tb0 += TBS) {
            const int tbn = tb0 + TBS < ntb ? TBS : ntb - tb0;
            for (int b = 0; b < nb; b++) {
                entries(packed, nb, b, ra, nr, sc.ent);
                for (int i = 0; i < tbn; i++)
                    block_pass(tb_i2s4v_qt(prep, cols, n, tb0 + i), b, sc.ent, nr, sc.tab, sc.s16, sc.s32[i]);
            }
            for (int i = 0; i < tbn; i++)
                for (int r = 0; r < nr; r++)
                    vl_store_tokens(sc.s32[i][r], acc + (size_t)(tb0 + i) * TOK * rows + ra + r, rows);
        }
    }
}
