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
#include <sched.h>
#include <stdatomic.h>
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

/* The work between two stores of int32 sums: rows ra..ra+nr-1 of packed (nb blocks of
 * 128 weights) against the token blocks whose activations are qt[0..nt). */
typedef struct {
    const uint8_t *packed;
    int nb, ra, nr, nt;
    const int8_t *qt[PAIR];
} unit;

typedef struct {
    _Alignas(64) int16_t tab[32 * ENT * TOK];
    _Alignas(32) uint16_t ent[ROWS][32]; /* the sweep's table offsets of one block (160 KiB) */
    __m256i s32[PAIR][ROWS][4];         /* the int32 sums of each token block, per row (2 x 320 KiB) */
} scratch;

/* Block b of unit u into sc->s32 (first: the sums start at this block): per token block,
 * the tables, then the rows' offsets (computed by the first token block, 64 rows ahead of
 * their sweep, reused by the others) and the sweep. */
static void unit_block(const unit *u, int b, int first, scratch *sc) {
    for (int i = 0; i < u->nt; i++) {
        build(u->qt[i], b, sc->tab);
        for (int e0 = 0; e0 < u->nr; e0 += EROWS) {
            const int ne = e0 + EROWS < u->nr ? EROWS : u->nr - e0;
            const uint16_t(*ent)[32] = (const uint16_t(*)[32])(sc->ent + e0);
            if (i == 0) entries(u->packed, u->nb, b, u->ra + e0, ne, sc->ent + e0);
            if (first) /* two copies of the sweep: one starts the sums, one adds to them */
                rows_pass(ent, ne, (const int64_t *)sc->tab, sc->s32[i] + e0, 1);
            else
                rows_pass(ent, ne, (const int64_t *)sc->tab, sc->s32[i] + e0, 0);
        }
    }
}

/* ---- a token split as a team (tb_gemv_team): the end of a slow share is taken over ----
 *
 * A thread's last unit is open to the others: its blocks are claimed one at a time, the
 * owner from the front, a helper (a thread done with its own share) from the back into
 * its own int32 sums, which the owner adds to its own before storing.  Integer sums in
 * any split: the same bits.  The state word packs the next block from the front, the end
 * of the blocks left (back), the helper's blocks in flight and the phase. */
enum { PH_WORK = 0, PH_OPEN = 1, PH_DONE = 2 };
typedef struct {
    _Atomic uint64_t word;  /* front | back << 16 | in flight << 32 | phase << 48 */
    atomic_int helper;      /* 1 + tid of the one helper, 0 = none yet */
    atomic_int merged;      /* the owner has added the helper's sums: the helper may leave */
    int helped;             /* blocks the helper computed (tests, reports) */
    const __m256i (*sums)[ROWS][4]; /* the helper's sums (written before its first claim) */
    unit u;                 /* the open unit (written before the phase turns open) */
} team_state;
_Static_assert(sizeof(team_state) <= TB_TEAM_STATE_BYTES, "team_state outgrows its slot");

#define W_FRONT(w) ((int)((w) & 0xffff))
#define W_BACK(w) ((int)(((w) >> 16) & 0xffff))
#define W_FLIGHT(w) ((int)(((w) >> 32) & 0xffff))
#define W_PHASE(w) ((int)((w) >> 48))
static inline uint64_t w_make(int front, int back, int flight, int phase) {
    return (uint64_t)front | (uint64_t)back << 16 | (uint64_t)flight << 32 | (uint64_t)phase << 48;
}

/* One turn of a wait on another thread: pause, and after a while give the core away
 * (with more threads than cores the one waited for may need it). */
static inline void team_pause(int *spins) {
    if (++*spins < 4096)
        _mm_pause();
    else
        sched_yield();
}

/* The owner's last unit, open to a helper. */
static void unit_open(team_state *st, const unit *u, scratch *sc) {
    st->u = *u;
    atomic_store(&st->word, w_make(0, u->nb, 0, PH_OPEN));
    for (;;) {
        uint64_t w = atomic_load(&st->word);
        do
            if (W_FRONT(w) >= W_BACK(w)) goto claimed;
        while (!atomic_compare_exchange_weak(&st->word, &w, w + 1));
        unit_block(u, W_FRONT(w), W_FRONT(w) == 0, sc);
    }
claimed:;
    uint64_t w;
    for (int spins = 0; W_FLIGHT(w = atomic_load(&st->word)) > 0;) team_pause(&spins); /* the helper's last block */
    if (W_BACK(w) < u->nb) /* add the helper's sums of blocks [back, nb) */
        for (int i = 0; i < u->nt; i++)
            for (int r = 0; r < u->nr; r++)
                for (int j = 0; j < 4; j++) sc->s32[i][r][j] = _mm256_add_epi32(sc->s32[i][r][j], st->sums[i][r][j]);
    atomic_store(&st->word, w_make(0, 0, 0, PH_DONE));
    atomic_store(&st->merged, 1);
}

/* The owner has nothing (more) to open: helpers stop waiting for it. */
void tb_i2s4v_team_done(void *team_slot) {
    team_state *st = team_slot;
    if (W_PHASE(atomic_load(&st->word)) == PH_WORK) atomic_store(&st->word, w_make(0, 0, 0, PH_DONE));
}

int tb_i2s4v_team_helped(const void *state) { return ((const team_state *)state)->helped; }

/* Take blocks of owner st's open unit from the back while it has two or more unclaimed
 * (the owner always keeps the one it is about to take); wait for it to add them. */
static void help_one(team_state *st, int tid, scratch *sc) {
    uint64_t w;
    for (int spins = 0; W_PHASE(w = atomic_load(&st->word)) == PH_WORK;) team_pause(&spins);
    int none = 0;
    if (W_PHASE(w) != PH_OPEN || !atomic_compare_exchange_strong(&st->helper, &none, tid + 1)) return;
    st->sums = (const __m256i(*)[ROWS][4])sc->s32;
    int taken = 0;
    for (;;) {
        w = atomic_load(&st->word);
        do
            if (W_PHASE(w) != PH_OPEN || W_BACK(w) - W_FRONT(w) < 2) goto out;
        while (!atomic_compare_exchange_weak(&st->word, &w, w - ((uint64_t)1 << 16) + ((uint64_t)1 << 32)));
        unit_block(&st->u, W_BACK(w) - 1, taken == 0, sc);
        taken++;
        atomic_fetch_sub(&st->word, (uint64_t)1 << 32);
    }
out:
    st->helped = taken;
    for (int spins = 0; taken && !atomic_load(&st->merged);) team_pause(&spins);
}

void tb_i2s4v_team_help_avx2(const tb_gemv_team *team, int tid) {
    scratch sc; /* its own, like a share's */
    for (int k = 1; k < team->nth; k++) {
        const int v = (tid + k) % team->nth;
        help_one((team_state *)((char *)team->state + (size_t)v * TB_TEAM_STATE_BYTES), tid, &sc);
    }
}

void tb_i2s4v_gemm_avx2(const void *packed, int rows, int cols, const void *prep, int n, int r0, int r1,
                        int32_t *acc, void *team_slot) {
    team_state *st = team_slot;
    const int nb = tb_i2s4_kp(cols) / TB_I2S4_BLOCK, ntb = tb_i2s4v_blocks(n);
    scratch sc; /* about 960 KiB of stack (the pool's threads get TB_POOL_STACK) */
    const int sweeps = (r1 - r0 + ROWS - 1) / ROWS, per = (r1 - r0 + sweeps - 1) / sweeps; /* equal sweeps */
    for (int ra = r0; ra < r1; ra += per) {
        for (int tb = 0; tb < ntb; tb += PAIR) {
            unit u = {.packed = packed, .nb = nb, .ra = ra, .nr = (ra + per < r1 ? ra + per : r1) - ra,
                      .nt = ntb - tb < PAIR ? ntb - tb : PAIR};
            for (int i = 0; i < u.nt; i++) u.qt[i] = tb_i2s4v_qt(prep, cols, n, tb + i);
            if (st && ra + per >= r1 && tb + PAIR >= ntb && nb < 0xffff) /* (the state word's 16 bits) */
                unit_open(st, &u, &sc);
            else
                for (int b = 0; b < nb; b++) unit_block(&u, b, b == 0, &sc);
            for (int i = 0; i < u.nt; i++) vl_store_sums(sc.s32[i], u.nr, acc + (size_t)(tb + i) * TOK * rows + ra, rows);
        }
    }
}
