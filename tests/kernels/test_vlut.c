/* test_vlut.c: the i2s token-lane lookup GEMM (kernels/mad/i2s4x128-vlut.h) piece by piece,
 * where `ternbench check` only sees it whole and only up to 70 tokens:
 *   - the byte -> entry map for all 256 bytes (base 3, never outside the table);
 *   - the prep's transposed activations, element by element, with a remainder of tokens;
 *   - the GEMM against the scalar reference for 5 token blocks and 3 tokens left to the MAD
 *     path (n = 163), rows in two sweeps (2600 > 2560), K not a multiple of 128,
 *     sub-ranges (their row counts leave 1..7 rows past the eight-row transposed stores)
 *     and the int16 trap (all weights -1, all q = -128: every table entry 512,
 *     one block 16384).
 * The AVX2 parts SKIP on a CPU without AVX2. */
#include <immintrin.h>
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

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
