/* bitlinear.c: scalar BitLinear (docs/numerics.md §2).  Plain C, no SIMD: the ground truth. */
#include "bitlinear.h"

#include <math.h>
#include <stdlib.h>

/* v rounded to the nearest integer, ties to even, for |v| <= 2^22 (default rounding
 * mode): adding and subtracting 1.5 * 2^23 leaves no fraction bits.  Same result as
 * nearbyintf, without a library call per element.  NaN stays NaN. */
static inline float round_even(float v) {
    const float m = 0x1.8p23f; /* C11 without fast-math: (v + m) - m is evaluated as written */
    return (v + m) - m;
}

/* absmax quantization to [lo, hi] with s = (float)(hi / max|x|) (the 8- and 4-bit widths) */
static float quantize_absmax(const float *x, int n, int8_t *q, float hi, float lo) {
    float mxf = 0.0f; /* max |x|: exact in any order, NaN ignored as before */
    for (int i = 0; i < n; i++) {
        const float a = fabsf(x[i]);
        mxf = a > mxf ? a : mxf;
    }
    double mx = mxf;
    if (mx < 1e-5) mx = 1e-5;
    const float s = (float)((double)hi / mx);
    for (int i = 0; i < n; i++) {
        float v = x[i] * s;
        v = v > hi ? hi : v;  /* clamping first is the same: the bounds are integers */
        v = v < lo ? lo : v;
        v = round_even(v);    /* half to even, like nearbyintf in the default mode */
        if (v != v) v = 0.0f; /* NaN (never from a finite row): keep the cast defined */
        q[i] = (int8_t)v;
    }
    return s;
}

float tb_quantize_act(const float *x, int n, int8_t *q) { return quantize_absmax(x, n, q, 127.0f, -128.0f); }

float tb_quantize_act4(const float *x, int n, int8_t *q) { return quantize_absmax(x, n, q, 7.0f, -8.0f); }

/* Decodes row r of w into out.  I2_S rows that start on a 128-weight block (every
 * shape of 2B4T) are decoded a block at a time, which is what makes the reference
 * usable on the full model; anything else goes through the generic tb_ternary_row. */
static void decode_row(const tb_ternary *w, int r, int8_t *out) {
    const int64_t cols = w->cols;
    if (w->layout != TB_TERN_I2S || cols % 128 != 0) {
        tb_ternary_row(w, r, out);
        return;
    }
    const uint8_t *blk = w->data + (int64_t)r * cols / 4; /* 32 bytes per 128 weights */
    for (int64_t b = 0; b < cols / 128; b++, blk += 32, out += 128)
        for (int j = 0; j < 32; j++) { /* byte j: elements j, j+32, j+64, j+96 in bits 7:6 .. 1:0 */
            const uint8_t v = blk[j];
            out[j] = (int8_t)((v >> 6) - 1);
            out[j + 32] = (int8_t)(((v >> 4) & 3) - 1);
            out[j + 64] = (int8_t)(((v >> 2) & 3) - 1);
            out[j + 96] = (int8_t)((v & 3) - 1);
        }
}

/* sum_c a[c] * b[c] in int32 (exact: |sum| <= n * 128).  Summed in chunks of 32 with
 * a fixed trip count so compilers vectorize it even at -O2; integer addition is
 * associative, so the result does not depend on how it is grouped. */
static int32_t dot_i8(const int8_t *a, const int8_t *b, int n) {
    int32_t sum = 0;
    int c = 0;
    for (; c + 32 <= n; c += 32) {
        int32_t part = 0;
        for (int k = 0; k < 32; k++) part += (int32_t)a[c + k] * (int32_t)b[c + k];
        sum += part;
    }
    for (; c < n; c++) sum += (int32_t)a[c] * (int32_t)b[c];
    return sum;
}

void tb_matmul_ref(const tb_ternary *w, const int8_t *q, int n_tok, int32_t *acc, int8_t *row) {
    const int rows = w->rows, cols = w->cols;
    for (int r = 0; r < rows; r++) {
        decode_row(w, r, row);
        for (int t = 0; t < n_tok; t++) {
            const int8_t *qt = q + (size_t)t * cols;
            acc[(size_t)t * rows + r] = dot_i8(row, qt, cols);
        }
    }
}

int tb_bitlinear_ref(const tb_ternary *w, const float *x, float *y, tb_err *e) {
    int8_t *q = malloc((size_t)w->cols), *row = malloc((size_t)w->cols);
    int32_t *acc = malloc(sizeof *acc * (size_t)w->rows);
    if (!q || !row || !acc) {
        free(q); free(row); free(acc);
        return tb_fail(e, "out of memory in bitlinear (%d x %d)", w->rows, w->cols);
    }
    float s = tb_quantize_act(x, w->cols, q);
    tb_matmul_ref(w, q, 1, acc, row);
    for (int r = 0; r < w->rows; r++) y[r] = tb_bitlinear_epilogue(acc[r], s, w->scale);
    free(q); free(row); free(acc);
    return 0;
}
