/* forward.h: the whole BitNet b1.58 2B4T forward pass (docs/architecture.md §2) with a KV cache.
 *
 * One forward pass is shared by every path.  What varies is the integer part of
 * each BitLinear, supplied by a backend: NULL selects the scalar reference
 * (tb_matmul_ref), a kernel backend (kernels/runner.h) runs a registered kernel.
 * Because quantization and the float epilogue are the same code, an exact
 * kernel gives logits bit-identical to the reference.
 */
#ifndef TB_FORWARD_H
#define TB_FORWARD_H

#include <math.h>

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The per-token row operations of the forward pass.  tb_ref_rowops() is the reference
 * (plain C); a backend may supply SIMD versions (tb_backend.rowops) that must give the
 * same bits for every input (kernels/rowops-*.c, tests/kernels/test_rowops.c). */
typedef struct tb_rowops {
    /* y = rmsnorm(x) * w, exactly as tb_ref_rmsnorm (y may alias x) */
    void (*rmsnorm)(float *y, const float *x, const float *w, int n, float eps);
    /* q = int8 quantization of x, returns the scale, exactly as tb_quantize_act */
    float (*quantize)(const float *x, int n, int8_t *q);
    /* y[r] = tb_bitlinear_epilogue(acc[r], s, w_scale) for r < n */
    void (*epilogue)(const int32_t *acc, int n, float s, float w_scale, float *y);
    /* g[i] = (r * r) * u[i], r = g[i] > 0 ? g[i] : 0 (2B4T's squared-ReLU gate, in place) */
    void (*relu2_mul)(float *g, const float *u, size_t n);
    /* x[i] += y[i] */
    void (*add)(float *x, const float *y, size_t n);
    /* The 4-bit activations of the approximate configurations, exactly as tb_quantize_act4
     * (NULL in a backend's table: the reference's). */
    float (*quantize4)(const float *x, int n, int8_t *q);
} tb_rowops;

/* ---- approximate numerics (docs/approximations.md) ----------------------------
 * The exact forward pass keeps K and V in f32.  The approximate KV formats store them
 * smaller; attention reads them back dequantized (TB_KV_F16: the exact f16 value;
 * TB_KV_Q8: (float)q * scale, one rounding) and then does exactly the reference's
 * attention arithmetic (tb_ref_attn_head) on those floats. */
typedef enum tb_kv_fmt {
    TB_KV_F32 = 0, /* the reference */
    TB_KV_F16,     /* IEEE half (round to nearest even) */
    TB_KV_Q8,      /* int8 per (position, KV head): scale = max|x| / 127, q = rint(x / scale) */
} tb_kv_fmt;

/* "f32", "f16", "q8" */
const char *tb_kv_fmt_name(tb_kv_fmt f);
/* Bytes one position's K and V take for one layer (kv_dim values each, plus Q8 scales). */
double tb_kv_bytes_per_pos(tb_kv_fmt f, int kv_heads, int head_dim);

/* Keys and values of one KV head in a cache of format fmt: position j, element i at
 * element j*stride + i of k / v (uint16_t for F16, int8_t for Q8, float for F32);
 * Q8 scales of position j at ks[j*sstride], vs[j*sstride]. */
typedef struct tb_kv_view {
    tb_kv_fmt fmt;
    const void *k, *v;
    const float *ks, *vs;
    size_t stride, sstride;
} tb_kv_view;

/* The definition of attention over a compressed cache: q (hd) against positions
 * 0..n-1 of kv, each key and value dequantized as above, then tb_ref_attn_head's
 * arithmetic in its order.  score: scratch of n floats. */
void tb_ref_attn_head_kv(const float *q, const tb_kv_view *kv, int n, int hd, float scale, float *out,
                         float *score);

/* int8 of one vector for the Q8 cache: scale = max|x| / 127.0f (float), q = 0 when the max
 * is 0, else clamp(rint(x * (127.0f / max)), -127, 127).  Returns the scale. */
float tb_kv_quantize_q8(const float *x, int n, int8_t *q);

struct tb_qhead; /* reference/qhead.h */

/* What a state computes in place of the exact definitions (all zero / NULL = exact). */
typedef struct tb_numerics {
    int act_bits;                 /* 8 (the reference) or 4 (tb_quantize_act4) */
    tb_kv_fmt kv;                 /* KV cache format */
    const struct tb_qhead *head;  /* NULL: the exact tied head; else this quantized head */
} tb_numerics;

const tb_rowops *tb_ref_rowops(void);

typedef struct tb_backend {
    const char *name;
    void *ctx;
    /* acc[t*rows + r] = sum_c W[layer][which][r][c] * q[t*cols + c] for t < n_tok. 0 or -1 (+e). */
    int (*matmul)(void *ctx, int layer, int which, const int8_t *q, int n_tok, int32_t *acc, tb_err *e);
    /* Optional (NULL = single thread): runs fn(arg, tid, nth) for tid = 0..nth-1 on the
     * backend's threads and returns when all are done.  tb_forward uses it to split
     * attention heads and LM head rows; results are bit-identical for any nth. */
    void (*parallel)(void *ctx, void (*fn)(void *arg, int tid, int nth), void *arg);
    /* Optional (NULL = plain C): the LM head for vocabulary rows [v0, v1) of m's tied
     * embedding (F16, BF16 or F32) and n input rows x (n, hidden):
     * out[t*ldo + (v - v0)] = logit of vocabulary row v for input row t, computed in exactly
     * the order of tb_ref_lm_rows, so the logits stay bit-identical to the reference.
     * tb_forward calls it from its parallel split (concurrently, on disjoint row ranges).
     * Returns 0, TB_LM_UNHANDLED when it does not handle this embedding type (tb_forward
     * then runs the plain C loop), or -1 when out of memory. */
    int (*lm_rows)(void *ctx, const tb_model *m, int v0, int v1, const float *x, int n, float *out, size_t ldo);
    /* Optional (NULL = tb_ref_attn_heads): g >= 1 consecutive query heads that read the
     * same K/V (GQA: heads of one KV head), for each head h < g exactly
     * tb_ref_attn_head(q + h*hd, k, v, stride, n, hd, scale, out + h*hd, .): the same bits;
     * score is scratch of g*n floats.  Called concurrently from tb_forward's parallel split. */
    void (*attn_heads)(const float *q, int g, const float *k, const float *v, size_t stride, int n, int hd,
                       float scale, float *out, float *score);
    /* Optional (NULL = tb_ref_rowops()): SIMD versions of the row operations, same bits. */
    const tb_rowops *rowops;
    /* Optional (NULL = tb_ref_attn_head_kv): one attention head over a compressed (F16 or
     * Q8) KV cache, the same bits as tb_ref_attn_head_kv. */
    void (*attn_head_kv)(const float *q, const tb_kv_view *kv, int n, int hd, float scale, float *out,
                         float *score);
    /* Optional (NULL = tb_qhead_rows_ref): a quantized LM head, the same bits as
     * tb_qhead_rows_ref (reference/qhead.h); same calling pattern as lm_rows. */
    int (*qhead_rows)(const struct tb_qhead *h, int v0, int v1, const float *x, int n, float *out, size_t ldo);
    /* Optional (NULL = none): seconds the calling thread has spent so far waiting for the
     * backend's other threads (load imbalance, wake-up and hand-off), cumulative.  The
     * time breakdown (tb_profile) reports it as "sync" instead of in the phase it ran in. */
    double (*wait_seconds)(void *ctx);
    /* Optional (NULL = one matmul call each): count (2..4) linears of one layer that share
     * the input q (same cols) in one call; acc[i] receives linear which[i] exactly as
     * matmul would.  tb_forward groups (q, k, v) and (gate, up), so a threaded backend
     * starts its threads once per group instead of once per matrix. */
    int (*matmul_group)(void *ctx, int layer, const int *which, int count, const int8_t *q, int n_tok,
                        int32_t *const *acc, tb_err *e);
} tb_backend;

enum { TB_LM_UNHANDLED = 1 };
/* The smallest grab of vocabulary rows the LM head's split hands a thread (split.h). */
int tb_lm_min_rows(int vocab, int nth); /* tb_backend.lm_rows: "not for this embedding type" */

/* Trace of named intermediates: "q", "k", "v" (after RoPE for q/k), "attn_out" (before
 * attn_sub_norm), "ffn_in" (ffn_norm output), "ffn_mid" (act(g)*u per cfg.ffn_act), "layer_out", "logits".
 * layer = -1 for model-level names; data has n floats for one token at position pos. */
typedef void (*tb_trace_fn)(void *user, const char *name, int layer, int pos, const float *data, int n);

typedef struct tb_state tb_state;

/* Where the time of tb_forward goes (tb_state_set_profile).  Every second of a call is
 * counted in exactly one part: */
typedef enum tb_prof_part {
    TB_PROF_TERNARY,   /* the backend's integer matmuls (BitLinear GEMV / GEMM, with prep) */
    TB_PROF_LM_HEAD,   /* logits = embedding . normed x (the tied head) */
    TB_PROF_ATTENTION, /* softmax(q.K) . V over the KV cache */
    TB_PROF_NORM_QUANT,/* RMSNorms, activation quantization, BitLinear epilogue, FFN
                          activation, residual adds */
    TB_PROF_ROPE,      /* RoPE on q and k, K/V into the cache */
    TB_PROF_SYNC,      /* the caller waiting for the backend's other threads (wait_seconds) */
    TB_PROF_OTHER,     /* embedding lookup, argument and finiteness checks */
    TB_PROF_COUNT
} tb_prof_part;

typedef struct tb_profile {
    double seconds[TB_PROF_COUNT];
    double total;  /* wall time of the profiled tb_forward calls (= sum of seconds[]) */
    long calls;    /* tb_forward calls added */
    long tokens;   /* tokens evaluated by them */
} tb_profile;

/* "ternary", "lm_head", "attention", "norm_quant", "rope", "sync", "other". */
const char *tb_prof_name(int part);

/* max_ctx: KV cache length (<= cfg.ctx); max_batch: most tokens per tb_forward call. */
int tb_state_new(const tb_model *m, int max_ctx, int max_batch, tb_state **out, tb_err *e);
void tb_state_free(tb_state *st);
void tb_state_reset(tb_state *st);          /* clears the KV cache (position 0 next) */
void tb_state_set_trace(tb_state *st, tb_trace_fn fn, void *user);
/* Off by default.  On: round to f16 what bitnet.cpp keeps in f16 (K/V cache, Q in Q.K,
 * the LM head input) to compare with bitnet.cpp to ~1e-3 instead of ~0.1. */
void tb_state_set_emulate_f16(tb_state *st, bool on);
/* The approximate numerics this state computes with (NULL or all zero: exact, the default).
 * Clears the KV cache and reallocates it in the new format.  nx->head must outlive the
 * state's use of it.  Errors: act_bits not 4 or 8, unknown KV format, out of memory (the
 * state keeps its previous numerics then). */
int tb_state_set_numerics(tb_state *st, const tb_numerics *nx, tb_err *e);
/* Off (NULL) by default.  On: every tb_forward call adds its time, split by part, to *p
 * (a few clock reads per layer; the caller zeroes *p). */
void tb_state_set_profile(tb_state *st, tb_profile *p);

/* Evaluates tokens[0..n) at positions pos0..pos0+n-1 (causal, one batch; the KV cache
 * must already hold positions < pos0).  logits: NULL, or (n, vocab) if all_logits else
 * (vocab) for the last token only.  Errors: out-of-range token id, context overflow,
 * n > max_batch, backend failure. */
int tb_forward(tb_state *st, const tb_backend *be, const int32_t *tokens, int n, int pos0,
               float *logits, bool all_logits, tb_err *e);

/* The reference's own blocks, exposed for tests and tools (reference/forward.c documents
 * their precision).  y may alias x. */
/* y = x / sqrt(mean(x^2) + eps) * w.  The order: x[i]^2 (exact in double) summed in 8
 * double lanes (lane j takes the i with i mod 8 == j, in index order), lanes combined
 * l[j] += l[j+4], then +2, +1; scale = (float)(1 / sqrt(sum / n + eps)) in double;
 * y[i] = (x[i] * scale) * w[i] in float. */
void tb_ref_rmsnorm(float *y, const float *x, const float *w, int n, float eps);
/* In place on vec (n_heads, head_dim): NEOX pairs (i, i + head_dim/2) rotate by pos * theta^(-2i/head_dim). */
void tb_ref_rope_neox(float *vec, int n_heads, int head_dim, int pos, float theta);
/* The reference LM head (plain C; what tb_backend.lm_rows must match bit for bit), same
 * contract as lm_rows: out[t*ldo + (v - v0)] = sum_i e[v][i] * x[t][i] for t < n and
 * v0 <= v < v1, e = m's embedding converted exactly to f32.  The order (forward.c): 32
 * float lanes (lane j takes the i with i mod 32 == j, in index order), each step
 * l[j] = l[j] + (float)(e[i] * x[i]) from 0 (not fused); lanes combined l[j] += l[j+16],
 * then +8, +4, +2, +1, in float.  Returns 0, or -1 when out of memory. */
int tb_ref_lm_rows(const tb_model *m, int v0, int v1, const float *x, int n, float *out, size_t ldo);
/* The reference attention for one query head (what tb_backend.attn_heads must match bit
 * for bit): q (hd); keys k + j*stride and values v + j*stride (hd each) for j < n;
 * out (hd) = softmax_j(scale * q.k_j) . v_j; score: scratch of n floats.  The order
 * (forward.c): s_j = dot(q, k_j) * scale with dot in 16 float lanes (i mod 16, product
 * rounded then added, tree +8 +4 +2 +1);
 * p_j = tb_softmax_exp(s_j - max s); sum of p_j in double, in j order; a_j = p_j * (float)(1/sum);
 * out[i] = out[i] + a_j * v_j[i] (product rounded, not fused) for j = 0..n-1 from 0. */
/* expf(x) for x <= 0, with x < -104 (where expf is 0: e^-104 < 2^-150) answered without
 * the call: libm's underflow path is slow, and far-off scores are common in synthetic
 * models.  Shared by the reference and every SIMD attention head. */
static inline float tb_softmax_exp(float x) { return x < -104.0f ? 0.0f : expf(x); }

/* The softmax step of tb_ref_attn_head, shared by every version of it: on the raw dot
 * products score[j] (n), s_j = score[j] * scale, p_j = tb_softmax_exp(s_j - max s), the
 * sum of p_j in double in j order, and score[j] = a_j = p_j * (float)(1 / sum). */
void tb_attn_softmax(float *score, int n, float scale);

/* One embedding row (= one LM head row) of m as f32; every conversion is exact.
 * f16: the (65536) F16 -> f32 table, or NULL to convert with tb_f16_to_f32. */
void tb_embed_row(const tb_model *m, const float *f16, int tok, float *out);

/* The reference's 16-lane float dot product (the attention scores' order above). */
float tb_ref_dot16(const float *a, const float *b, int n);

void tb_ref_attn_head(const float *q, const float *k, const float *v, size_t stride, int n, int hd, float scale,
                      float *out, float *score);
/* tb_backend.attn_heads' definition: tb_ref_attn_head for each of the g heads q + h*hd
 * (outputs out + h*hd), one after the other; score: scratch of n floats. */
void tb_ref_attn_heads(const float *q, int g, const float *k, const float *v, size_t stride, int n, int hd,
                       float scale, float *out, float *score);

#ifdef __cplusplus
}
#endif
#endif
