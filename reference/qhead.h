/* qhead.h: quantized LM heads, the approximate head formats of the numeric configurations
 * (docs/approximations.md).  The exact tied head (F16/BF16/F32 embedding, forward.h) stays
 * the reference; these trade accuracy for bytes read per decoded token.
 *
 * Both formats quantize the tied embedding once (tb_qhead_new) and, at every call, the
 * head's input x (the output-normed hidden state) per block of 32 (llama.cpp's Q8_0 idea):
 *
 *   x quantization, block b = x[32b .. 32b+32) (a short last block is padded with zeros):
 *       amax = max |x_i| (float), dx_b = amax / 127.0f, q_i = 0 if amax == 0, else
 *       clamp(rint(x_i * (127.0f / amax)), -127, 127)   (rint: round half to even; each
 *       float operation rounded once, in this order).
 *   TB_HEAD_Q8ROW ("int8 per row"): row v: amax = max |e_v,i|, dw = amax / 127.0f,
 *       w_i = clamp(rint(e_i * (127.0f / amax)), -127, 127) (0 when amax == 0).
 *       Bytes: hidden int8 + one f32 scale per row.
 *   TB_HEAD_Q4BLK ("4-bit per block of 32"): block b of row v: amax = max |e_i|,
 *       d = f16(amax / 7.0f) (stored as f16, used as its exact f32 value df),
 *       w_i = clamp(rint(e_i / df), -8, 7) (0 when df == 0), stored as w_i + 8 in a nibble:
 *       byte j of the block's 16 holds element j (low nibble) and j + 16 (high nibble).
 *       Bytes: 18 per 32 weights (4.5 bits per weight).
 *
 *   The dot product (both formats), logit of row v for input x:
 *       8 float lanes l[0..8) = 0; for each block b in order, for m = 0..7:
 *           isum = sum_{i = 4m}^{4m+3} w_{32b+i} * q_{32b+i}          (exact int32)
 *           l[m] = l[m] + (float)isum * (dw_b * dx_b)                 (dw_b * dx_b rounded
 *                  to float first; the product rounded, then added: no fused multiply-add)
 *       with dw_b = the row's scale (Q8ROW) or the block's df (Q4BLK); then the tree
 *       l[j] += l[j+4], then +2, +1; the logit is l[0].
 *   The 8 lanes are what AVX2's vpmaddubsw + vpmaddwd leave per block (bytes 4m..4m+3 in
 *   int32 lane m), so SIMD versions give the same bits.
 */
#ifndef TB_QHEAD_H
#define TB_QHEAD_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tb_head_fmt {
    TB_HEAD_EXACT = 0, /* the tied embedding as stored (the reference) */
    TB_HEAD_Q8ROW,     /* int8 per row */
    TB_HEAD_Q4BLK,     /* 4-bit per block of 32, f16 block scales */
} tb_head_fmt;

/* "exact", "q8row", "q4blk" */
const char *tb_head_fmt_name(tb_head_fmt f);

#define TB_QHEAD_BLOCK 32

typedef struct tb_qhead {
    tb_head_fmt fmt;
    int vocab, hidden;
    int blocks;          /* ceil(hidden / 32) */
    size_t row_bytes;    /* bytes of one row's weights: Q8ROW 32*blocks (zero-padded), Q4BLK 16*blocks */
    uint8_t *w;          /* (vocab, row_bytes) */
    float *row_scale;    /* Q8ROW: (vocab) dw; NULL otherwise */
    uint16_t *blk_scale; /* Q4BLK: (vocab, blocks) f16 d; NULL otherwise */
    double bytes;        /* bytes the head reads per decoded token (weights + scales) */
} tb_qhead;

/* Quantizes m's tied embedding into fmt (not TB_HEAD_EXACT).  Errors: out of memory,
 * unsupported embedding type. */
int tb_qhead_new(const tb_model *m, tb_head_fmt fmt, tb_qhead **out, tb_err *e);
void tb_qhead_free(tb_qhead *h);

/* The definition (plain C): out[t*ldo + (v - v0)] = logit of row v for input row
 * x + t*hidden, t < n, v0 <= v < v1, as above.  0, or -1 when out of memory. */
int tb_qhead_rows_ref(const tb_qhead *h, int v0, int v1, const float *x, int n, float *out, size_t ldo);

/* The x quantization above for one input row: q (32*blocks, zero-padded), dx (blocks). */
void tb_qhead_quantize_x(const tb_qhead *h, const float *x, int8_t *q, float *dx);

#ifdef __cplusplus
}
#endif
#endif
