/* bitlinear.h: the BitLinear numerics of docs/numerics.md §2 — the definition every kernel
 * is measured against.
 *
 *   activations (per token row):  max = max(1e-5, max_i |x_i|) in double
 *                                 s   = (float)(127 / max)
 *                                 q_i = clamp(round_half_even(x_i * s), -128, 127)
 *   integer part:                 dot_r = sum_c w[r][c] * q_c          (exact, int32)
 *   epilogue:                     y_r = ((float)dot_r / s) * w_scale   (this order)
 */
#ifndef TB_BITLINEAR_H
#define TB_BITLINEAR_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Quantizes x[0..n) to int8; returns the activation scale s. */
float tb_quantize_act(const float *x, int n, int8_t *q);

/* The 4-bit activations of the approximate configurations (BitNet a4.8's width, absmax
 * like tb_quantize_act): max as above, s = (float)(7 / max), q_i = clamp(round_half_even(
 * x_i * s), -8, 7).  Returns s; the epilogue is the same. */
float tb_quantize_act4(const float *x, int n, int8_t *q);

/* The float epilogue, shared by every path so float outputs differ only if ints do. */
static inline float tb_bitlinear_epilogue(int32_t dot, float s, float w_scale) {
    return ((float)dot / s) * w_scale;
}

/* Scalar reference of the integer part for n_tok activation rows:
 * acc[t*rows + r] = sum_c w[r][c] * q[t*cols + c].  `row` is scratch of w->cols int8. */
void tb_matmul_ref(const tb_ternary *w, const int8_t *q, int n_tok, int32_t *acc, int8_t *row);

/* Whole BitLinear for one token (tests, tools): y[rows] from x[cols]. Allocates scratch. */
int tb_bitlinear_ref(const tb_ternary *w, const float *x, float *y, tb_err *e);

#ifdef __cplusplus
}
#endif
#endif
