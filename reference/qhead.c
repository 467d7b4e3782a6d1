/* qhead.c: the quantized LM heads of qhead.h, in plain C: the formats, the quantization
 * of the tied embedding and of the head's input, and the dot product in exactly the
 * order qhead.h defines (the definition every SIMD version must match bit for bit,
 * kernels/qhead-avx2.c).
 *
 * Precision notes (the project compiles with -std=c11, so GCC does not contract a * b + c
 * into a fused multiply-add; x86-64 evaluates float in float, FLT_EVAL_METHOD 0):
 *   - every quantization step is one rounded float operation in the order qhead.h states;
 *     rint rounds half to even (the default rounding mode; round_clamp below);
 *   - the clamp is applied to the rounded value; a NaN there (only 0 * inf, when a block's
 *     amax is so small that 127 / amax overflows, or an embedding that is not finite)
 *     gives 0, so no float-to-int conversion is ever undefined;
 *   - Q4BLK: d = f16(amax / 7) uses tb_f32_to_f16 (round to nearest even, inf above the f16
 *     range): a block with amax / 7 >= 65520 (only possible for BF16/F32 embeddings) gets
 *     df = inf and all its weights 0 (e / inf), and its logits become NaN (0 * inf); a block
 *     whose amax / 7 rounds to f16 zero gets weights 0 and contributes 0.
 */
#include "qhead.h"

#include "forward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *tb_head_fmt_name(tb_head_fmt f) {
    switch (f) {
    case TB_HEAD_EXACT: return "exact";
    case TB_HEAD_Q8ROW: return "q8row";
    case TB_HEAD_Q4BLK: return "q4blk";
    }
    return "?";
}

/* clamp(rint(v), lo, hi), NaN -> 0, for integers lo < 0 < hi (|lo|, |hi| < 2^22).  rint is
 * monotone, so v <= lo gives lo and v >= hi gives hi; in between |v| < 2^22 and
 * (v + 1.5 * 2^23) - 1.5 * 2^23 is rint(v) exactly (the sum lies in [2^23, 2^24), where
 * floats are the integers: rounded to nearest, ties to even, as rintf in the default
 * rounding mode; 1.5 * 2^23 is even, so the parity is rint's), without a libm call. */
static inline int round_clamp(float v, int lo, int hi) {
    if (v != v) return 0;
    if (v <= (float)lo) return lo;
    if (v >= (float)hi) return hi;
    const float r = (v + 12582912.0f) - 12582912.0f;
    return (int)r;
}

/* Q8ROW row: e (H) -> w (32*blocks, zero-padded), returns dw. */
static float quant_row_q8(const float *e, int H, int8_t *w, size_t row_bytes) {
    float amax = 0.0f;
    for (int i = 0; i < H; i++) {
        const float a = fabsf(e[i]);
        if (a > amax) amax = a;
    }
    memset(w, 0, row_bytes);
    if (amax == 0.0f) return 0.0f;
    const float inv = 127.0f / amax;
    for (int i = 0; i < H; i++) w[i] = (int8_t)round_clamp(e[i] * inv, -127, 127);
    return amax / 127.0f;
}

/* Q4BLK row: e (H) -> nibbles (16*blocks) and f16 scales (blocks). */
static void quant_row_q4(const float *e, int H, int blocks, uint8_t *w, uint16_t *scale) {
    for (int b = 0; b < blocks; b++) {
        const int i0 = b * TB_QHEAD_BLOCK, len = H - i0 < TB_QHEAD_BLOCK ? H - i0 : TB_QHEAD_BLOCK;
        float amax = 0.0f;
        for (int i = 0; i < len; i++) {
            const float a = fabsf(e[i0 + i]);
            if (a > amax) amax = a;
        }
        const uint16_t d = tb_f32_to_f16(amax / 7.0f);
        const float df = tb_f16_to_f32(d);
        int v[TB_QHEAD_BLOCK] = {0}; /* w_i, 0 in the padding */
        if (df != 0.0f)
            for (int i = 0; i < len; i++) v[i] = round_clamp(e[i0 + i] / df, -8, 7);
        uint8_t *o = w + (size_t)b * 16;
        for (int j = 0; j < 16; j++) o[j] = (uint8_t)((v[j] + 8) | (v[j + 16] + 8) << 4);
        scale[b] = d;
    }
}

int tb_qhead_new(const tb_model *m, tb_head_fmt fmt, tb_qhead **out, tb_err *e) {
    *out = NULL;
    if (fmt != TB_HEAD_Q8ROW && fmt != TB_HEAD_Q4BLK)
        return tb_fail(e, "qhead: format %d (%s) is not a quantized head format", (int)fmt, tb_head_fmt_name(fmt));
    if (m->embd_type != TB_F16 && m->embd_type != TB_BF16 && m->embd_type != TB_F32)
        return tb_fail(e, "qhead: unsupported embedding type %d (F16, BF16 or F32 expected)", (int)m->embd_type);
    const int V = m->cfg.vocab, H = m->cfg.hidden;
    if (V < 1 || H < 1 || !m->embd) return tb_fail(e, "qhead: empty embedding (vocab %d, hidden %d)", V, H);
    tb_qhead *h = calloc(1, sizeof *h);
    if (!h) return tb_fail(e, "qhead: out of memory");
    h->fmt = fmt;
    h->vocab = V;
    h->hidden = H;
    h->blocks = (H + TB_QHEAD_BLOCK - 1) / TB_QHEAD_BLOCK;
    h->row_bytes = fmt == TB_HEAD_Q8ROW ? (size_t)TB_QHEAD_BLOCK * h->blocks : (size_t)16 * h->blocks;
    const size_t wbytes = (size_t)V * h->row_bytes;
    h->w = tb_alloc(wbytes);
    if (fmt == TB_HEAD_Q8ROW) {
        h->row_scale = tb_alloc(sizeof(float) * (size_t)V);
        h->bytes = (double)V * (double)(h->row_bytes + sizeof(float));
    } else {
        h->blk_scale = tb_alloc(sizeof(uint16_t) * (size_t)V * h->blocks);
        h->bytes = (double)V * (double)h->blocks * 18.0;
    }
    float *row = malloc(sizeof(float) * (size_t)H); /* (H) one embedding row as f32 */
    float *f16 = NULL;                              /* (65536) F16 -> f32 */
    if (m->embd_type == TB_F16) f16 = malloc(sizeof(float) * 65536);
    if (!h->w || (fmt == TB_HEAD_Q8ROW ? !h->row_scale : !h->blk_scale) || !row || (m->embd_type == TB_F16 && !f16)) {
        free(row);
        free(f16);
        tb_qhead_free(h);
        return tb_fail(e, "qhead: out of memory for the %s head (%.1f MB)", tb_head_fmt_name(fmt), (double)wbytes / 1e6);
    }
    if (f16)
        for (uint32_t i = 0; i < 65536; i++) f16[i] = tb_f16_to_f32((uint16_t)i);
    for (int v = 0; v < V; v++) {
        tb_embed_row(m, f16, v, row);
        uint8_t *w = h->w + (size_t)v * h->row_bytes;
        if (fmt == TB_HEAD_Q8ROW)
            h->row_scale[v] = quant_row_q8(row, H, (int8_t *)w, h->row_bytes);
        else
            quant_row_q4(row, H, h->blocks, w, h->blk_scale + (size_t)v * h->blocks);
    }
    free(row);
    free(f16);
    *out = h;
    return 0;
}

void tb_qhead_free(tb_qhead *h) {
    if (!h) return;
    tb_free(h->w);
    tb_free(h->row_scale);
    tb_free(h->blk_scale);
    free(h);
}

void tb_qhead_quantize_x(const tb_qhead *h, const float *x, int8_t *q, float *dx) {
    const int H = h->hidden;
    for (int b = 0; b < h->blocks; b++) {
        const int i0 = b * TB_QHEAD_BLOCK, len = H - i0 < TB_QHEAD_BLOCK ? H - i0 : TB_QHEAD_BLOCK;
        int8_t *qb = q + i0;
        float amax = 0.0f;
        for (int i = 0; i < len; i++) {
            const float a = fabsf(x[i0 + i]);
            if (a > amax) amax = a;
        }
        memset(qb, 0, TB_QHEAD_BLOCK);
        dx[b] = amax / 127.0f;
        if (amax == 0.0f) continue;
        const float inv = 127.0f / amax;
        for (int i = 0; i < len; i++) qb[i] = (int8_t)round_clamp(x[i0 + i] * inv, -127, 127);
    }
}

/* weight i of block b of a row (its row_bytes at w) */
static inline int weight(const tb_qhead *h, const uint8_t *w, int b, int i) {
    if (h->fmt == TB_HEAD_Q8ROW) return ((const int8_t *)w)[b * TB_QHEAD_BLOCK + i];
    const uint8_t byte = w[b * 16 + (i & 15)];
    return (i < 16 ? byte & 15 : byte >> 4) - 8;
}

/* The logit of row v for the quantized input q (32*blocks), dx (blocks). */
static float dot_row(const tb_qhead *h, int v, const int8_t *q, const float *dx) {
    const uint8_t *w = h->w + (size_t)v * h->row_bytes;
    float l[8] = {0};
    for (int b = 0; b < h->blocks; b++) {
        const float dw = h->fmt == TB_HEAD_Q8ROW ? h->row_scale[v] : tb_f16_to_f32(h->blk_scale[(size_t)v * h->blocks + b]);
        const float s = dw * dx[b];
        for (int m = 0; m < 8; m++) {
            int32_t isum = 0;
            for (int k = 0; k < 4; k++) {
                const int i = 4 * m + k;
                isum += weight(h, w, b, i) * q[b * TB_QHEAD_BLOCK + i];
            }
            const float p = (float)isum * s;
            l[m] = l[m] + p;
        }
    }
    for (int j = 0; j < 4; j++) l[j] = l[j] + l[j + 4];
    for (int j = 0; j < 2; j++) l[j] = l[j] + l[j + 2];
    return l[0] + l[1];
}

int tb_qhead_rows_ref(const tb_qhead *h, int v0, int v1, const float *x, int n, float *out, size_t ldo) {
    if (v0 >= v1 || n < 1) return 0;
    const int H = h->hidden, nb = h->blocks;
    int8_t *q = malloc((size_t)n * nb * TB_QHEAD_BLOCK); /* (n, 32*blocks) */
    float *dx = malloc(sizeof(float) * (size_t)n * nb);  /* (n, blocks) */
    if (!q || !dx) {
        free(q);
        free(dx);
        return -1;
    }
    for (int t = 0; t < n; t++)
        tb_qhead_quantize_x(h, x + (size_t)t * H, q + (size_t)t * nb * TB_QHEAD_BLOCK, dx + (size_t)t * nb);
    for (int v = v0; v < v1; v++)
        for (int t = 0; t < n; t++)
            out[(size_t)t * ldo + (size_t)(v - v0)] = dot_row(h, v, q + (size_t)t * nb * TB_QHEAD_BLOCK, dx + (size_t)t * nb);
    free(q);
    free(dx);
    return 0;
}
