/* i2s4x128-vlut-avx2.c: the token-lane lookup GEMM (i2s4x128-vlut.h) with AVX2.
 *
 * Loop order, in equal sweeps of at most TB_I2S4V_ROWS rows:
 *   for each pair of token blocks (32 tokens each):
 *     for each 128-weight block b:
 *       for each token block of the pair:
 *         build the tables of its 32 groups (32 x 81 x 64 B = 162 KiB: they live in L2)
 *         for every row: its 32 bytes become table offsets (two vpshufb, 64 rows ahead
 *         of their use; the second token block reuses the first one's), it adds its 32
 *         entries in registers (int16, 2 x 16 tokens), and the int16 sums go to the
 *         row's int32 sums of that token block
 *     the int32 sums go to acc, eight rows at a time transposed to token-major
 * A table is built once per (token block, block) and call and swept by all the call's
 * rows: the more rows per call, the cheaper (the kernel's batch_rows asks the driver for
 * long calls).  A row's running sums never leave registers inside a block. */
#include <immintrin.h>
#include <string.h>

#include "i2s4x128-vlut.h"
#include "i2s4x128-vlut-x86.h"

enum { TOK = TB_I2S4V_TOK, ENT = TB_I2S4V_ENT, ROWS = TB_I2S4V_ROWS };

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

/* The tables of the 32 groups of block b for one token block (qt: [Kp][32] int8). */
static void build(const int8_t *qt, int b, int16_t *tab) {
    for (int g = 0; g < 32; g++) {
        const int8_t *x = qt + ((size_t)b * 128 + g) * TOK;
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

static inline const uint8_t *row_bytes(const uint8_t *packed, int nb, int b, int row) {
    return packed + ((size_t)(row >> 2) * nb + b) * 128 + 32 * (row & 3);
}

/* The table offsets of block b for rows ra..ra+nr-1: ent[r][g] = (81 g + e) * 8 for the
 * entry number e of byte g of the row, so the entry lies ent[r][g] int64s past the tables'
 * start (at most (81 * 31 + 80) * 8 = 20728: uint16). */
static void entries(const uint8_t *packed, int nb, int b, int ra, int nr, uint16_t (*ent)[32]) {
    const __m256i m15 = _mm256_set1_epi8(15);
    __m256i base[2];
    for (int h = 0; h < 2; h++) {
        _Alignas(32) uint16_t v[16];
        for (int i = 0; i < 16; i++) v[i] = (uint16_t)((16 * h + i) * ENT * 8);
        base[h] = _mm256_load_si256((const __m256i *)v);
    }
    for (int r = 0; r < nr; r++) {
        const uint8_t *w = row_bytes(packed, nb, b, ra + r);
        _mm_prefetch((const char *)w + 8 * 128 * (size_t)nb, _MM_HINT_T0); /* 32 rows on */
        const __m256i e = vl_entries(_mm256_loadu_si256((const __m256i *)w), m15);
        const __m256i e0 = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(e)), e1 = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(e, 1));
        _mm256_store_si256((__m256i *)ent[r], _mm256_add_epi16(_mm256_slli_epi16(e0, 3), base[0]));
        _mm256_store_si256((__m256i *)ent[r] + 1, _mm256_add_epi16(_mm256_slli_epi16(e1, 3), base[1]));
    }
}

/* nr rows: s32[r] = (first ? 0 : s32[r]) + the row's 32 entries of the tables at t.  Two
 * partial sums per half keep two chains of loads in flight; |int16 sum| <= 32 * 512. */
static inline __attribute__((always_inline)) void rows_pass(const uint16_t (*ent)[32], int nr, const int64_t *t,
                                                            __m256i (*s32)[4], int first) {
    for (int r = 0; r < nr; r++) {
        const uint16_t *e = ent[r];
        __m256i lo0 = _mm256_setzero_si256(), hi0 = lo0, lo1 = lo0, hi1 = lo0;
#pragma GCC unroll 4
        for (int g = 0; g < 32; g += 2) {
            const int64_t *p0 = t + e[g], *p1 = t + e[g + 1];
            lo0 = _mm256_add_epi16(lo0, vl_ld((const char *)p0)), hi0 = _mm256_add_epi16(hi0, vl_ld((const char *)(p0 + 4)));
            lo1 = _mm256_add_epi16(lo1, vl_ld((const char *)p1)), hi1 = _mm256_add_epi16(hi1, vl_ld((const char *)(p1 + 4)));
        }
        vl_widen_add(s32[r], _mm256_add_epi16(lo0, lo1), _mm256_add_epi16(hi0, hi1), first);
    }
}

enum { EROWS = 64, PAIR = 2 }; /* EROWS: rows whose offsets are computed ahead of their sweep */

/* Block b of the nt (1..PAIR) token blocks whose activations are qt[] over the rows
 * ra..ra+nr-1 (tables built at tab): the first token block computes the rows' table
 * offsets into ent, 64 rows ahead of their sweep, and the others reuse them. */
static void block_rows(const uint8_t *packed, int nb, int b, int ra, int nr, const int8_t *const *qt, int nt,
                       int16_t *tab, uint16_t (*ent)[32], __m256i (*s32)[ROWS][4]) {
    for (int i = 0; i < nt; i++) {
        build(qt[i], b, tab);
        for (int e0 = 0; e0 < nr; e0 += EROWS) {
            const int ne = e0 + EROWS < nr ? EROWS : nr - e0;
            if (i == 0) entries(packed, nb, b, ra + e0, ne, ent + e0);
            if (b == 0) /* two copies of the sweep: one starts the sums, one adds to them */
                rows_pass((const uint16_t(*)[32])(ent + e0), ne, (const int64_t *)tab, s32[i] + e0, 1);
            else
                rows_pass((const uint16_t(*)[32])(ent + e0), ne, (const int64_t *)tab, s32[i] + e0, 0);
        }
    }
}

typedef struct {
    _Alignas(64) int16_t tab[32 * ENT * TOK];
    _Alignas(32) uint16_t ent[ROWS][32]; /* the sweep's table offsets of one block (160 KiB) */
    __m256i s32[PAIR][ROWS][4];         /* the int32 sums of each token block, per row (2 x 320 KiB) */
} scratch;

void tb_i2s4v_gemm_avx2(const void *packed, int rows, int cols, const void *prep, int n, int r0, int r1,
                        int32_t *acc) {
    const int nb = tb_i2s4_kp(cols) / TB_I2S4_BLOCK, ntb = tb_i2s4v_blocks(n);
    scratch sc; /* about 960 KiB of stack (the pool's threads get TB_POOL_STACK) */
    const int sweeps = (r1 - r0 + ROWS - 1) / ROWS, per = (r1 - r0 + sweeps - 1) / sweeps; /* equal sweeps */
    for (int ra = r0; ra < r1; ra += per) {
        const int nr = (ra + per < r1 ? ra + per : r1) - ra;
        for (int tb = 0; tb < ntb; tb += PAIR) {
            const int nt = ntb - tb < PAIR ? ntb - tb : PAIR;
            const int8_t *qt[PAIR];
            for (int i = 0; i < nt; i++) qt[i] = tb_i2s4v_qt(prep, cols, n, tb + i);
            for (int b = 0; b < nb; b++) block_rows(packed, nb, b, ra, nr, qt, nt, sc.tab, sc.ent, sc.s32);
            for (int i = 0; i < nt; i++) vl_store_sums(sc.s32[i], nr, acc + (size_t)(tb + i) * TOK * rows + ra, rows);
        }
    }
}
