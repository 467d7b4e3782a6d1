/* test_bitlinear.c: docs/numerics.md §2 BitLinear numerics on hand-computed cases.
 *
 * Every expected value below is derived by hand (or by a few lines of
 * independent arithmetic in this file), never by calling the code under test. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bitlinear.h"
#include "tb_test.h"

/* max |x| = 2 -> s = 127/2 = 63.5 exactly; the largest magnitude maps to +-127, never -128 */
TB_TEST(quantize_max_magnitude) {
    const float x[6] = {2.0f, -2.0f, 1.0f, 0.3f, -1.0f, 0.0f};
    int8_t q[6];
    float s = tb_quantize_act(x, 6, q);
    TB_CHECK(s == 63.5f);
    TB_CHECK_EQ_INT(q[0], 127);
    TB_CHECK_EQ_INT(q[1], -127);  /* symmetric: -max -> -127 */
    TB_CHECK_EQ_INT(q[2], 64);    /* 63.5 is a tie -> even 64 */
    TB_CHECK_EQ_INT(q[3], 19);    /* 0.3 * 63.5 = 19.05 -> 19 */
    TB_CHECK_EQ_INT(q[4], -64);   /* -63.5 -> -64 (even) */
    TB_CHECK_EQ_INT(q[5], 0);
    /* negative maximum */
    const float y[3] = {-4.0f, 1.0f, 3.0f};
    s = tb_quantize_act(y, 3, q);
    TB_CHECK(s == 31.75f);
    TB_CHECK_EQ_INT(q[0], -127);
    TB_CHECK_EQ_INT(q[1], 32);  /* 31.75 -> 32 */
    TB_CHECK_EQ_INT(q[2], 95);  /* 95.25 -> 95 */
}

/* max = 127 -> s = 1 exactly, so x * s = x and ties at k + 0.5 are visible directly */
TB_TEST(quantize_ties_half_to_even) {
    const float x[10] = {127.0f, 0.5f, 1.5f, 2.5f, 3.5f, -0.5f, -1.5f, -2.5f, 126.5f, -126.5f};
    const int want[10] = {127, 0, 2, 2, 4, 0, -2, -2, 126, -126};
    int8_t q[10];
    float s = tb_quantize_act(x, 10, q);
    TB_CHECK(s == 1.0f);
    for (int i = 0; i < 10; i++) TB_CHECK_MSG(q[i] == want[i], "x=%g q=%d want %d", (double)x[i], q[i], want[i]);
    /* max = 254 -> s = 0.5: 1 -> 0.5 -> 0, 3 -> 1.5 -> 2, 5 -> 2.5 -> 2, -3 -> -2, 7 -> 3.5 -> 4 */
    const float y[6] = {254.0f, 1.0f, 3.0f, 5.0f, -3.0f, 7.0f};
    const int wy[6] = {127, 0, 2, 2, -2, 4};
    s = tb_quantize_act(y, 6, q);
    TB_CHECK(s == 0.5f);
    for (int i = 0; i < 6; i++) TB_CHECK_MSG(q[i] == wy[i], "y=%g q=%d want %d", (double)y[i], q[i], wy[i]);
}

/* Range: over random rows spanning 9 decades, every q lies in [-128, 127] and the
 * element of largest magnitude lands exactly on +-127 ((float)(127/max) * max may be a
 * hair above 127 after rounding, which must still round to 127, not wrap). */
TB_TEST(quantize_clamp_range) {
    tb_rng r;
    tb_rng_seed(&r, 7);
    int8_t q[64];
    float x[64];
    for (int trial = 0; trial < 2000; trial++) {
        for (int i = 0; i < 64; i++) x[i] = (float)((tb_rng_uniform(&r) * 2 - 1) * pow(10, (int)tb_rng_below(&r, 9) - 4));
        tb_quantize_act(x, 64, q);
        int hi = -1000, lo = 1000;
        for (int i = 0; i < 64; i++) {
            if (q[i] > hi) hi = q[i];
            if (q[i] < lo) lo = q[i];
        }
        /* the element of max |x| maps to +-127 exactly (unless everything is below the floor) */
        double mx = 0;
        for (int i = 0; i < 64; i++) mx = fmax(mx, fabs((double)x[i]));
        if (mx >= 1e-5) TB_CHECK(hi == 127 || lo == -127);
        TB_CHECK(lo >= -128 && hi <= 127);
    }
}

/* all-zero row: max floored at 1e-5, s = (float)(127 / 1e-5), all q = 0 */
TB_TEST(quantize_zero_row_floor) {
    float x[16] = {0};
    int8_t q[16];
    memset(q, 99, sizeof q);
    float s = tb_quantize_act(x, 16, q);
    TB_CHECK(s == (float)12700000.0);
    for (int i = 0; i < 16; i++) TB_CHECK_EQ_INT(q[i], 0);
    /* below the floor: max 3e-6 < 1e-5, so s stays 1.27e7: 1e-7 -> 1.27 -> 1, -3e-6 -> -38.1 -> -38 */
    const float y[2] = {1e-7f, -3e-6f};
    s = tb_quantize_act(y, 2, q);
    TB_CHECK(s == (float)12700000.0);
    TB_CHECK_EQ_INT(q[0], 1);
    TB_CHECK_EQ_INT(q[1], -38);
}

/* Epilogue: ((float)dot / s) * w_scale, divide first.  Find inputs where the other
 * orders round differently, so this test would catch a reordering. */
TB_TEST(epilogue_order_divide_first) {
    tb_rng r;
    tb_rng_seed(&r, 11);
    int differ_mul_first = 0, differ_ratio = 0;
    for (int i = 0; i < 20000; i++) {
        int32_t dot = (int32_t)tb_rng_below(&r, 2000001) - 1000000;
        volatile float s = (float)(127.0 / (0.01 + 10 * tb_rng_uniform(&r)));
        volatile float w = (float)(0.2 + tb_rng_uniform(&r));
        volatile float fd = (float)dot;
        volatile float div = fd / s;
        volatile float want = div * w;
        volatile float mul = fd * w;
        volatile float alt1 = mul / s;
        volatile float ratio = w / s;
        volatile float alt2 = fd * ratio;
        float got = tb_bitlinear_epilogue(dot, s, w);
        TB_CHECK(got == want);
        if (alt1 != want) differ_mul_first++;
        if (alt2 != want) differ_ratio++;
    }
    /* the check above is meaningful only if the orders disagree somewhere */
    TB_CHECK(differ_mul_first > 100);
    TB_CHECK(differ_ratio > 100);
}

/* A whole BitLinear by hand: W (3 x 4) codes, scale 0.5; x = {1, -2, 0.5, 4}
 * max 4 -> s = 31.75; q = {32 (31.75), -64 (-63.5 -> -64), 16 (15.875), 127}
 * row0 = {1, 0, -1, 1}:  32 - 16 + 127 = 143
 * row1 = {-1, -1, 0, 0}: -32 + 64     = 32
 * row2 = {0, 1, 1, -1}:  -64 + 16 - 127 = -175
 * y = (dot / 31.75) * 0.5 */
TB_TEST(bitlinear_by_hand) {
    const int8_t codes[12] = {1, 0, -1, 1, -1, -1, 0, 0, 0, 1, 1, -1};
    tb_ternary w = {.name = "hand", .rows = 3, .cols = 4, .scale = 0.5f, .layout = TB_TERN_CODES,
                    .data = (const uint8_t *)codes};
    const float x[4] = {1.0f, -2.0f, 0.5f, 4.0f};
    float y[3];
    tb_err e = {{0}};
    TB_CHECK_EQ_INT(tb_bitlinear_ref(&w, x, y, &e), 0);
    const int dots[3] = {143, 32, -175};
    for (int r = 0; r < 3; r++) {
        volatile float d = (float)dots[r] / 31.75f;
        TB_CHECK_MSG(y[r] == d * 0.5f, "row %d: %.9g vs %.9g", r, (double)y[r], (double)(d * 0.5f));
    }
}

/* tb_matmul_ref over each on-disk layout equals a naive int64 sum over the codes,
 * including the extreme: all +1 weights x all -128 activations over 6912 columns. */
static void check_layouts(int rows, int cols, uint64_t seed) {
    tb_rng r;
    tb_rng_seed(&r, seed);
    const int ntok = 3;
    int8_t *codes = malloc((size_t)rows * cols), *q = malloc((size_t)ntok * cols), *row = malloc(cols);
    uint8_t *i2s = malloc(tb_i2s_nbytes(rows, cols)), *hf = malloc((size_t)rows / 4 * cols);
    int32_t *acc = malloc(sizeof(int32_t) * 3 * (size_t)rows);
    for (int i = 0; i < rows * cols; i++) codes[i] = (int8_t)((int)tb_rng_below(&r, 3) - 1);
    for (int i = 0; i < ntok * cols; i++) q[i] = (int8_t)((int)tb_rng_below(&r, 256) - 128);
    tb_i2s_pack(codes, rows, cols, 1.0f, i2s);
    tb_hf_pack(codes, rows, cols, hf);
    const tb_ternary ws[3] = {
        {.name = "codes", .rows = rows, .cols = cols, .scale = 1, .layout = TB_TERN_CODES, .data = (uint8_t *)codes},
        {.name = "i2s", .rows = rows, .cols = cols, .scale = 1, .layout = TB_TERN_I2S, .data = i2s},
        {.name = "hf", .rows = rows, .cols = cols, .scale = 1, .layout = TB_TERN_HF_PACKED, .data = hf},
    };
    for (int k = 0; k < 3; k++) {
        memset(acc, 0x55, sizeof(int32_t) * 3 * (size_t)rows);
        tb_matmul_ref(&ws[k], q, ntok, acc, row);
        for (int t = 0; t < ntok; t++)
            for (int rr = 0; rr < rows; rr++) {
                int64_t want = 0;
                for (int c = 0; c < cols; c++) want += (int64_t)codes[rr * cols + c] * q[t * cols + c];
                TB_CHECK_MSG(acc[t * rows + rr] == want, "%s %dx%d t%d r%d", ws[k].name, rows, cols, t, rr);
            }
    }
    free(codes); free(q); free(row); free(i2s); free(hf); free(acc);
}

TB_TEST(matmul_ref_layouts_and_extremes) {
    check_layouts(8, 256, 3);  /* I2_S rows on block boundaries (the fast decode) */
    check_layouts(4, 96, 4);   /* I2_S blocks straddling rows (generic decode) */
    check_layouts(12, 640, 5);

    /* extremes: |dot| = 6912 * 128 = 884736 */
    const int C = 6912;
    int8_t *ones = malloc(C), *qm = malloc(C), *row2 = malloc(C);
    memset(ones, 1, C);
    memset(qm, 0x80, C); /* -128 */
    tb_ternary w1 = {.name = "ones", .rows = 1, .cols = C, .scale = 1, .layout = TB_TERN_CODES, .data = (uint8_t *)ones};
    int32_t a1;
    tb_matmul_ref(&w1, qm, 1, &a1, row2);
    TB_CHECK_EQ_INT(a1, -884736);
    memset(ones, 0xff, C); /* -1 */
    tb_matmul_ref(&w1, qm, 1, &a1, row2);
    TB_CHECK_EQ_INT(a1, 884736);
    free(ones); free(qm); free(row2);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
