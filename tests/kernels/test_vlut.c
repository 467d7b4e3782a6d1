/* test_vlut.c: the i2s token-lane lookup GEMM (kernels/mad/i2s4x128-vlut.h) piece by piece,
 * where `ternbench check` only sees it whole and only up to 70 tokens:
 *   - the byte -> entry map for all 256 bytes (base 3, never outside the table);
 *   - the prep's transposed activations, element by element, with a remainder of tokens;
 *   - the GEMM against the scalar reference for 5 token blocks and 3 tokens left to the MAD
 *     path (n = 163), rows in two sweeps (2600 > 2560), K not a multiple of 128,
 *     sub-ranges (their row counts leave 1..7 rows past the eight-row transposed stores)
 *     and the int16 trap (all weights -1, all q = -128: every table entry 512,
 *     one block 16384);
 *   - the token split as a team (gemv_team): a thread done with its own share takes blocks
 *     from the end of another's, and every output stays the reference's.
 * The AVX2 parts SKIP on a CPU without AVX2. */
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../tb_test.h"
#include "bitlinear.h"
#include "kernel.h"
#include "mad/i2s4x128-vlut.h"

/* the SIMD helpers compiled for AVX2 here only; the rest of the file stays portable */
#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi2")
#include "mad/i2s4x128-vlut-x86.h"
#pragma GCC pop_options
#define TAVX2 __attribute__((target("avx2,fma,bmi2")))

TAVX2 static void entries_of_all_bytes(uint8_t e[256]) {
    _Alignas(32) uint8_t in[32], out[32];
    for (int b0 = 0; b0 < 256; b0 += 32) {
        for (int i = 0; i < 32; i++) in[i] = (uint8_t)(b0 + i);
        _mm256_store_si256((__m256i *)out, vl_entries(_mm256_load_si256((const __m256i *)in), _mm256_set1_epi8(15)));
        memcpy(e + b0, out, 32);
    }
}

TB_TEST(entries_are_base3_and_in_range) {
    if (!(tb_cpu_features() & TB_ISA_AVX2)) TB_SKIP("no AVX2 on this CPU");
    uint8_t e[256];
    entries_of_all_bytes(e);
    int valid = 0;
    for (int b = 0; b < 256; b++) {
        const int f[4] = {b & 3, b >> 2 & 3, b >> 4 & 3, b >> 6 & 3};
        TB_CHECK_MSG(e[b] <= 80, "byte 0x%02x -> entry %d, past the 81-entry table", b, e[b]);
        if (f[0] == 3 || f[1] == 3 || f[2] == 3 || f[3] == 3) continue;
        valid++;
        TB_CHECK_MSG(e[b] == f[0] + 3 * f[1] + 9 * f[2] + 27 * f[3], "byte 0x%02x -> entry %d", b, e[b]);
    }
    TB_CHECK_EQ_INT(valid, 81);
}

TB_TEST(prep_transposes_whole_token_blocks) {
    const int cols = 300, n = 70, kp = tb_i2s4_kp(cols); /* two blocks of 32, 6 tokens left */
    int8_t *q = malloc((size_t)n * cols);
    tb_rng r;
    tb_rng_seed(&r, 7);
    for (int i = 0; i < n * cols; i++) q[i] = (int8_t)((int)tb_rng_below(&r, 256) - 128);
    const size_t sz = tb_i2s4v_prep_size(cols, n);
    TB_CHECK_EQ_INT((long long)sz, (long long)(tb_i2s4_prep_size(cols, n) + 2 * 32 * (size_t)kp));
    uint8_t *prep = tb_alloc(sz);
    TB_CHECK_EQ_INT(tb_i2s4v_prep(q, cols, n, prep), 0);
    int bad = 0;
    for (int tb = 0; tb < 2; tb++) {
        const int8_t *qt = tb_i2s4v_qt(prep, cols, n, tb);
        for (int c = 0; c < kp; c++)
            for (int t = 0; t < 32; t++)
                bad += qt[(size_t)c * 32 + t] != (c < cols ? q[(size_t)(tb * 32 + t) * cols + c] : 0);
    }
    TB_CHECK_EQ_INT(bad, 0);
    tb_free(prep);
    free(q);
}

/* the GEMM on rows [r0, r1) of a rows x cols problem with n tokens (fill: 0 random, 1 the
 * int16 trap) against tb_matmul_ref; the kernel's MAD path takes the tokens past the last
 * whole block of 32 */
static void gemm_vs_ref(int rows, int cols, int n, int r0, int r1, int fill) {
    const tb_kernel *k = tb_kernel_find("gemv_i2s_4x128__avx2");
    TB_CHECK(k != NULL);
    if (!k) return;
    int8_t *w = malloc((size_t)rows * cols), *q = malloc((size_t)n * cols), *row = malloc((size_t)cols);
    tb_rng r;
    tb_rng_seed(&r, (uint64_t)rows * 31 + (uint64_t)n);
    for (size_t i = 0; i < (size_t)rows * cols; i++) w[i] = fill ? -1 : (int8_t)((int)tb_rng_below(&r, 3) - 1);
    for (size_t i = 0; i < (size_t)n * cols; i++) q[i] = fill ? -128 : (int8_t)((int)tb_rng_below(&r, 256) - 128);
    tb_ternary t = {.name = "w", .rows = rows, .cols = cols, .scale = 1, .layout = TB_TERN_CODES, .data = (const uint8_t *)w};
    int32_t *ref = malloc(sizeof(int32_t) * (size_t)n * rows), *acc = malloc(sizeof(int32_t) * (size_t)n * rows);
    tb_matmul_ref(&t, q, n, ref, row);
    void *packed = tb_alloc(k->packed_size(rows, cols)), *prep = tb_alloc(k->prep_size(cols, n));
    TB_CHECK_EQ_INT(k->pack(&t, packed), 0);
    TB_CHECK_EQ_INT(k->prep(q, cols, n, prep), 0);
    memset(acc, 0x5A, sizeof(int32_t) * (size_t)n * rows);
    TB_CHECK_EQ_INT(k->gemv(packed, rows, cols, q, prep, n, r0, r1, acc), 0);
    int bad = 0, outside = 0;
    for (int tok = 0; tok < n; tok++)
        for (int i = 0; i < rows; i++) {
            const size_t j = (size_t)tok * rows + i;
            if (i >= r0 && i < r1) bad += acc[j] != ref[j];
            else outside += acc[j] != 0x5A5A5A5A;
        }
    TB_CHECK_MSG(bad == 0, "%dx%d n=%d rows [%d,%d) fill %d: %d outputs differ", rows, cols, n, r0, r1, fill, bad);
    TB_CHECK_MSG(outside == 0, "%d outputs written outside rows [%d,%d)", outside, r0, r1);
    if (fill) TB_CHECK_EQ_INT(acc[(size_t)r0], 128 * cols); /* all -1 x all -128 */
    tb_free(packed), tb_free(prep);
    free(w), free(q), free(row), free(ref), free(acc);
}

TB_TEST(gemm_equals_reference_past_every_blocking) {
    if (!(tb_cpu_features() & TB_ISA_AVX2)) TB_SKIP("no AVX2 on this CPU");
    gemm_vs_ref(2600, 300, 163, 0, 2600, 0); /* 2 row sweeps, 5 token blocks, 3 tokens MAD */
    gemm_vs_ref(2600, 300, 163, 4, 2599, 0); /* a sub-range over 2 sweeps, ending inside a tile */
    gemm_vs_ref(37, 128, 32, 5, 36, 0);         /* one block exactly, unaligned r0 */
    gemm_vs_ref(600, 6912, 33, 0, 600, 1);      /* the int16 trap over 54 blocks */
}

typedef struct {
    const tb_kernel *k;
    const tb_gemv_team *team;
    int tid, rc;
} team_arg;

static void *team_thread(void *a) {
    team_arg *x = a;
    x->rc = x->k->gemv_team(x->team, x->tid);
    return NULL;
}

/* Matrices of 700, 37 and 300 rows x 1280 as a team of two threads owning n[0] and n[1]
 * tokens (each share prepped apart, as tb_gemv_tokens_group does), against tb_matmul_ref.
 * Returns the blocks of each share's open unit that the other thread computed. */
static void team_vs_ref(const int n[2], int helped[2]) {
    enum { M = 3, COLS = 1280 };
    const int rows[M] = {700, 37, 300}, ntok = n[0] + n[1];
    const tb_kernel *k = tb_kernel_find("gemv_i2s_4x128__avx2");
    TB_CHECK(k != NULL && k->gemv_team != NULL);
    if (!k || !k->gemv_team) return;
    tb_rng r;
    tb_rng_seed(&r, 11);
    int8_t *q = malloc((size_t)ntok * COLS), *row = malloc(COLS);
    for (size_t i = 0; i < (size_t)ntok * COLS; i++) q[i] = (int8_t)((int)tb_rng_below(&r, 256) - 128);
    tb_gemv_mat mats[M];
    int8_t *w[M];
    int32_t *ref[M];
    for (int m = 0; m < M; m++) {
        w[m] = malloc((size_t)rows[m] * COLS);
        for (size_t i = 0; i < (size_t)rows[m] * COLS; i++) w[m][i] = (int8_t)((int)tb_rng_below(&r, 3) - 1);
        tb_ternary t = {.name = "w", .rows = rows[m], .cols = COLS, .scale = 1, .layout = TB_TERN_CODES,
                        .data = (const uint8_t *)w[m]};
        ref[m] = malloc(sizeof(int32_t) * (size_t)ntok * rows[m]);
        tb_matmul_ref(&t, q, ntok, ref[m], row);
        mats[m] = (tb_gemv_mat){.packed = tb_alloc(k->packed_size(rows[m], COLS)), .rows = rows[m],
                                .acc = malloc(sizeof(int32_t) * (size_t)ntok * rows[m])};
        TB_CHECK_EQ_INT(k->pack(&t, (void *)mats[m].packed), 0);
        memset(mats[m].acc, 0x5A, sizeof(int32_t) * (size_t)ntok * rows[m]);
    }
    tb_gemv_share share[2];
    void *prep[2] = {NULL, NULL};
    for (int i = 0, t0 = 0; i < 2; t0 += n[i], i++) {
        share[i] = (tb_gemv_share){.q = q + (size_t)t0 * COLS, .n = n[i], .t0 = t0};
        if (!n[i]) continue;
        prep[i] = tb_alloc(k->prep_size(COLS, n[i]));
        TB_CHECK_EQ_INT(k->prep(share[i].q, COLS, n[i], prep[i]), 0);
        share[i].prep = prep[i];
    }
    void *state = tb_alloc(2 * TB_TEAM_STATE_BYTES);
    memset(state, 0, 2 * TB_TEAM_STATE_BYTES);
    const tb_gemv_team team = {.mats = mats, .count = M, .cols = COLS, .nth = 2, .share = share, .state = state};
    team_arg a[2] = {{k, &team, 0, -1}, {k, &team, 1, -1}};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (size_t)8 << 20); /* the kernel's scratch: ~1 MiB of stack */
    pthread_t th[2];
    for (int i = 0; i < 2; i++) TB_CHECK_EQ_INT(pthread_create(&th[i], &attr, team_thread, &a[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    pthread_attr_destroy(&attr);
    int bad = 0;
    for (int m = 0; m < M; m++)
        for (size_t i = 0; i < (size_t)ntok * rows[m]; i++) bad += mats[m].acc[i] != ref[m][i];
    TB_CHECK_MSG(a[0].rc == 0 && a[1].rc == 0, "gemv_team returned %d, %d", a[0].rc, a[1].rc);
    TB_CHECK_MSG(bad == 0, "team of %d + %d tokens: %d outputs differ from the reference", n[0], n[1], bad);
    for (int i = 0; i < 2; i++) helped[i] = tb_i2s4v_team_helped((char *)state + (size_t)i * TB_TEAM_STATE_BYTES);
    for (int m = 0; m < M; m++) tb_free((void *)mats[m].packed), free(mats[m].acc), free(w[m]), free(ref[m]);
    tb_free(prep[0]), tb_free(prep[1]), tb_free(state);
    free(q), free(row);
}

TB_TEST(team_takes_over_the_end_of_a_share_with_the_same_bits) {
    if (!(tb_cpu_features() & TB_ISA_AVX2)) TB_SKIP("no AVX2 on this CPU");
    /* thread 0 has no tokens, so it waits for thread 1's open unit (the 700-row matrix,
     * moved last; 10 blocks) and takes blocks from its end: tries until it has (each try
     * checked bit for bit), since whether it gets one is up to the scheduler */
    int helped[2] = {0, 0}, tries = 0;
    while (helped[1] == 0 && tries++ < 20) team_vs_ref((const int[2]){0, 69}, helped);
    TB_CHECK_MSG(helped[1] > 0, "no block taken over in %d tries", tries - 1);
    TB_CHECK_EQ_INT(helped[0], 0); /* thread 0 never opened a unit */
    /* both with tokens: 2 blocks and 2 blocks + 5 MAD tokens, whoever helps whom */
    for (int i = 0; i < 3; i++) team_vs_ref((const int[2]){64, 69}, helped);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
