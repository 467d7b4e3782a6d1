/* forward.c: the scalar reference forward pass of BitNet b1.58 2B4T (docs/architecture.md, docs/numerics.md),
 * also of llama.cpp's arch "bitnet" (1bitLLM), which differs only in the FFN activation.
 *
 * The ground truth of the project: plain C, no threads of its own, no SIMD intrinsics,
 * every reduction in a fixed order, so the same inputs always give the same bits
 * (built with -std=c11, so GCC does not contract a*b+c into FMAs).
 * The integer part of each BitLinear goes through a pluggable backend (NULL =
 * tb_matmul_ref); everything else (activation quantization, epilogue, norms,
 * RoPE, attention, FFN, LM head) is this file, shared by every path.
 *
 * Precision choices (all deterministic, documented once here):
 *   - activations, residual stream, Q/K/V and the KV cache are f32.  bitnet.cpp keeps
 *     K and V in f16; we keep f32 (the reference should be the more exact of the two).
 *   - RMSNorm: sum of squares in double, in 8 lanes (i mod 8) combined by a fixed tree
 *     (so SIMD versions give the same bits); the scale 1/sqrt(mean + eps) computed in
 *     double, rounded to float; y = (x * scale) * w in float.
 *   - FFN (cfg.ffn_act): RELU2 (2B4T) m = (r * r) * u in float, r = max(g, 0);
 *     SILU (arch "bitnet") m = s * u in float, s = g / (1 + exp(-g)) in double (C library
 *     exp) rounded to float.
 *   - RoPE: angle = pos * theta^(-2i/head_dim), cos/sin and the rotation in double,
 *     result rounded to float.
 *   - attention (tb_ref_attn_head): q.k in 16 float lanes (dot_f32), times
 *     1/sqrt(head_dim) in float; tb_softmax_exp(s - max) (expf, 0 below -104); the softmax denominator summed in
 *     double in position order; the weighted sum of V in float (product rounded, then
 *     added), position by position.  Until 2026-12 all of it was double: SIMD
 *     versions (tb_backend.attn_heads) now give the same bits, at a tenth of the time.
 *   - LM head (tied embedding, F16/BF16/F32 rows converted exactly to f32): each logit is
 *     a dot product in 32 interleaved float lanes (lane j takes the i with i mod 32 = j, in
 *     index order, the tail included), each product rounded to float and added to its lane
 *     (no FMA), combined by the fixed tree l[j] += l[j+16], then +8, +4, +2, +1 in float.
 *     The order is chosen so that SIMD versions (kernels/lmhead-*.c via
 *     tb_backend.lm_rows) give the same bits, and float lanes keep the head bound by
 *     memory, as in bitnet.cpp (which sums f16 products in float).  Until 2026-12 the
 *     lanes were double (every product widened): twice the instructions per weight, which
 *     made the head compute-bound on one core.  Unfused on purpose: a portable fmaf is
 *     a slow library call, and the reference must stay fast enough to run whole models.
 *   - BitLinear (docs/numerics.md §2): tb_quantize_act per token row, exact int32 dot products,
 *     tb_bitlinear_epilogue (divide by s first, then multiply by the tensor scale).
 *
 * tb_state_set_emulate_f16 rounds to f16 what bitnet.cpp stores in f16 (K/V cache, Q in
 * the Q.K product, the LM head input); with it the golden bitnet.cpp logits are matched
 * to ~1e-3 (without it: ~0.1, all from those roundings).  Off by default.
 *
 * Threads: none of our own.  If the backend offers a thread pool (tb_backend.parallel),
 * attention (token, head) pairs and LM head vocabulary rows are split across it; each
 * unit is computed by the same code in the same order, so the split never changes a bit.
 *
 * Batching: tb_forward evaluates n tokens at once.  Every per-token computation is
 * independent of n (same code, same order), so a batched prefill and token-by-token
 * decoding give bit-identical results; the backend sees all n rows in one call so a
 * kernel can run a real batched GEMM.
 */
#include "forward.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bitlinear.h"
#include "qhead.h"
#include "split.h"

/* ============================================================================
 * run state
 * ========================================================================== */

struct tb_state {
    const tb_model *m;
    int max_ctx;       /* KV cache length */
    int max_batch;     /* most tokens per tb_forward call */
    int n_past;        /* positions [0, n_past) hold valid K/V */
    int q_dim, kv_dim; /* heads*head_dim, kv_heads*head_dim */
    int max_in, max_out; /* widest BitLinear input; widest output of a linear or a group */

    tb_trace_fn trace;
    void *trace_user;
    tb_profile *prof;  /* NULL: no time breakdown */
    double prof_t;     /* time of the last lap */
    double prof_wait;  /* backend wait_seconds at the last lap */
    const tb_backend *prof_be;
    bool emulate_f16; /* round K/V, Q and the LM head input to f16 like bitnet.cpp */
    tb_numerics nx;   /* approximate numerics (all zero: exact) */

    /* activations, one row per token of the batch */
    float *x;      /* (max_batch, hidden)  residual stream */
    float *xb;     /* (max_batch, max_in)  normed input of a BitLinear */
    float *q;      /* (max_batch, q_dim)   queries (after RoPE) */
    float *k;      /* (max_batch, kv_dim)  keys (after RoPE) */
    float *v;      /* (max_batch, kv_dim)  values */
    float *att;    /* (max_batch, q_dim)   attention output, heads concatenated */
    float *gate;   /* (max_batch, ffn)     gate projection, then act(gate) * up (cfg.ffn_act) */
    float *up;     /* (max_batch, ffn)     up projection */
    float *proj;   /* (max_batch, hidden)  output of o / down, added to the residual */

    /* BitLinear scratch */
    int8_t *qa;    /* (max_batch, max_in)  int8 activations, row t at qa + t*cols */
    float *qs;     /* (max_batch)          activation scale s of each row */
    int32_t *acc;  /* (max_batch, max_out) integer results, row t at acc + t*rows */
    int8_t *wrow;  /* (max_in)             one decoded weight row (tb_matmul_ref) */


    float *f16;    /* (65536) exact f16 -> f32 table, when the embedding is F16 */
    double *rope;  /* (max_batch, head_dim) cos, sin of every RoPE pair at the batch's positions */

    /* KV cache, in nx.kv's format: element (layer, pos, d) at (layer * max_ctx + pos) * kv_dim + d */
    void *key_cache;    /* (layers, max_ctx, kv_dim) float, uint16_t (F16) or int8_t (Q8) */
    void *value_cache;
    float *key_scale;   /* Q8: (layers, max_ctx, kv_heads) scales; NULL otherwise */
    float *value_scale;
};

static int check_linear(const tb_model *m, int l, int which, int rows, int cols, tb_err *e) {
    const tb_ternary *w = &m->layer[l].lin[which];
    if (!w->data) return tb_fail(e, "model: layer %d %s has no weights", l, tb_lin_names[which]);
    if (w->rows != rows || w->cols != cols)
        return tb_fail(e, "model: layer %d %s is %d x %d, expected %d x %d", l, tb_lin_names[which],
                       w->rows, w->cols, rows, cols);
    if (!(w->scale > 0.0f) || !isfinite(w->scale))
        return tb_fail(e, "model: layer %d %s has scale %g (must be finite and > 0)", l,
                       tb_lin_names[which], (double)w->scale);
    return 0;
}

/* The shape rules of docs/architecture.md §1, checked once so tb_forward can trust them. */
static int check_model(const tb_model *m, tb_err *e) {
    const tb_config *c = &m->cfg;
    if (c->vocab < 1 || c->hidden < 1 || c->layers < 1 || c->heads < 1 || c->kv_heads < 1 ||
        c->head_dim < 2 || c->ffn < 1 || c->ctx < 1)
        return tb_fail(e, "model: bad config (vocab %d hidden %d layers %d heads %d kv_heads %d "
                          "head_dim %d ffn %d ctx %d)",
                       c->vocab, c->hidden, c->layers, c->heads, c->kv_heads, c->head_dim, c->ffn, c->ctx);
    if (c->head_dim % 2) return tb_fail(e, "model: head_dim %d is odd (RoPE needs pairs)", c->head_dim);
    if (c->heads % c->kv_heads)
        return tb_fail(e, "model: %d query heads not a multiple of %d KV heads", c->heads, c->kv_heads);
    if (c->heads * c->head_dim != c->hidden)
        return tb_fail(e, "model: heads*head_dim = %d differs from hidden %d", c->heads * c->head_dim,
                       c->hidden);
    if (!(c->rope_theta > 0.0f) || !(c->norm_eps > 0.0f))
        return tb_fail(e, "model: rope_theta %g and norm_eps %g must be > 0", (double)c->rope_theta,
                       (double)c->norm_eps);
    if (c->ffn_act != TB_ACT_RELU2 && c->ffn_act != TB_ACT_SILU)
        return tb_fail(e, "model: unknown FFN activation %d (need TB_ACT_RELU2 or TB_ACT_SILU)", c->ffn_act);
    if (!m->embd || !m->output_norm || !m->layer) return tb_fail(e, "model: missing embedding, output norm or layers");
    if (m->embd_type != TB_F32 && m->embd_type != TB_F16 && m->embd_type != TB_BF16)
        return tb_fail(e, "model: unsupported embedding type %d", (int)m->embd_type);
    const int kv = c->kv_heads * c->head_dim;
    for (int l = 0; l < c->layers; l++) {
        const tb_layer *L = &m->layer[l];
        if (!L->attn_norm || !L->attn_sub_norm || !L->ffn_norm || !L->ffn_sub_norm)
            return tb_fail(e, "model: layer %d is missing a norm weight", l);
        if (check_linear(m, l, TB_LIN_Q, c->hidden, c->hidden, e) ||
            check_linear(m, l, TB_LIN_K, kv, c->hidden, e) || check_linear(m, l, TB_LIN_V, kv, c->hidden, e) ||
            check_linear(m, l, TB_LIN_O, c->hidden, c->hidden, e) ||
            check_linear(m, l, TB_LIN_GATE, c->ffn, c->hidden, e) ||
            check_linear(m, l, TB_LIN_UP, c->ffn, c->hidden, e) ||
            check_linear(m, l, TB_LIN_DOWN, c->hidden, c->ffn, e))
            return -1;
    }
    return 0;
}

void tb_state_free(tb_state *st) {
    if (!st) return;
    float *fbufs[] = {st->x, st->xb, st->q, st->k, st->v, st->att, st->gate, st->up, st->proj,
                      st->qs, st->f16, st->key_cache, st->value_cache, st->key_scale, st->value_scale};
    for (size_t i = 0; i < sizeof fbufs / sizeof fbufs[0]; i++) tb_free(fbufs[i]);
    tb_free(st->rope);
    tb_free(st->qa);
    tb_free(st->acc);
    tb_free(st->wrow);
    free(st);
}

int tb_state_new(const tb_model *m, int max_ctx, int max_batch, tb_state **out, tb_err *e) {
    *out = NULL;
    if (!m) return tb_fail(e, "tb_state_new: no model");
    if (check_model(m, e)) return -1;
    const tb_numerics exact = {.act_bits = 8, .kv = TB_KV_F32, .head = NULL};
    const tb_config *c = &m->cfg;
    if (max_ctx < 1 || max_ctx > c->ctx)
        return tb_fail(e, "tb_state_new: max_ctx %d outside 1..%d (the model's context length)", max_ctx, c->ctx);
    if (max_batch < 1 || max_batch > max_ctx)
        return tb_fail(e, "tb_state_new: max_batch %d outside 1..%d (max_ctx)", max_batch, max_ctx);

    tb_state *st = calloc(1, sizeof *st);
    if (!st) return tb_fail(e, "tb_state_new: out of memory");
    st->m = m;
    st->max_ctx = max_ctx;
    st->max_batch = max_batch;
    st->q_dim = c->heads * c->head_dim;
    st->kv_dim = c->kv_heads * c->head_dim;
    st->max_in = c->hidden > c->ffn ? c->hidden : c->ffn;
    /* the integer results of one linear, or of a group of them: (q, k, v), (gate, up) */
    st->max_out = st->max_in;
    if (st->q_dim + 2 * st->kv_dim > st->max_out) st->max_out = st->q_dim + 2 * st->kv_dim;
    if (2 * c->ffn > st->max_out) st->max_out = 2 * c->ffn;
    st->nx = exact;

    const size_t B = (size_t)max_batch, H = (size_t)c->hidden, F = (size_t)c->ffn;
    const size_t kvc = (size_t)c->layers * (size_t)max_ctx * (size_t)st->kv_dim;
    bool ok = true;
#define ALLOC(ptr, count) ok = ok && ((ptr) = tb_alloc(sizeof *(ptr) * (size_t)(count))) != NULL
    ALLOC(st->x, B * H);
    ALLOC(st->xb, B * (size_t)st->max_in);
    ALLOC(st->q, B * (size_t)st->q_dim);
    ALLOC(st->k, B * (size_t)st->kv_dim);
    ALLOC(st->v, B * (size_t)st->kv_dim);
    ALLOC(st->att, B * (size_t)st->q_dim);
    ALLOC(st->gate, B * F);
    ALLOC(st->up, B * F);
    ALLOC(st->proj, B * H);
    ALLOC(st->qa, B * (size_t)st->max_in);
    ALLOC(st->qs, B);
    ALLOC(st->acc, B * (size_t)st->max_out);
    ALLOC(st->wrow, (size_t)st->max_in);
    ALLOC(st->rope, B * (size_t)c->head_dim);
    ok = ok && (st->key_cache = tb_alloc(sizeof(float) * kvc)) != NULL;
    ok = ok && (st->value_cache = tb_alloc(sizeof(float) * kvc)) != NULL;
    if (m->embd_type == TB_F16) ALLOC(st->f16, 65536);
#undef ALLOC
    if (!ok) {
        tb_state_free(st);
        return tb_fail(e, "tb_state_new: out of memory (max_ctx %d, max_batch %d; KV cache %.1f MB)", max_ctx,
                       max_batch, 2.0 * (double)kvc * sizeof(float) / 1e6);
    }
    if (st->f16)
        for (uint32_t h = 0; h < 65536; h++) st->f16[h] = tb_f16_to_f32((uint16_t)h);
    tb_state_reset(st);
    *out = st;
    return 0;
}

void tb_state_reset(tb_state *st) {
    if (st) st->n_past = 0;
}

void tb_state_set_trace(tb_state *st, tb_trace_fn fn, void *user) {
    st->trace = fn;
    st->trace_user = user;
}

void tb_state_set_emulate_f16(tb_state *st, bool on) { st->emulate_f16 = on; }

void tb_state_set_profile(tb_state *st, tb_profile *p) { st->prof = p; }

const char *tb_kv_fmt_name(tb_kv_fmt f) {
    switch (f) {
    case TB_KV_F32: return "f32";
    case TB_KV_F16: return "f16";
    case TB_KV_Q8: return "q8";
    }
    return "?";
}

static size_t kv_elem_bytes(tb_kv_fmt f) { return f == TB_KV_F32 ? 4 : f == TB_KV_F16 ? 2 : 1; }

double tb_kv_bytes_per_pos(tb_kv_fmt f, int kv_heads, int head_dim) {
    const double per = (double)kv_heads * head_dim * (double)kv_elem_bytes(f) + (f == TB_KV_Q8 ? 4.0 * kv_heads : 0.0);
    return 2.0 * per; /* K and V */
}

int tb_state_set_numerics(tb_state *st, const tb_numerics *nx, tb_err *e) {
    const tb_numerics exact = {.act_bits = 8, .kv = TB_KV_F32, .head = NULL};
    tb_numerics n = nx ? *nx : exact;
    if (n.act_bits == 0) n.act_bits = 8;
    if (n.act_bits != 8 && n.act_bits != 4)
        return tb_fail(e, "numerics: activation bits %d (supported: 8, 4)", n.act_bits);
    if (n.kv != TB_KV_F32 && n.kv != TB_KV_F16 && n.kv != TB_KV_Q8)
        return tb_fail(e, "numerics: unknown KV cache format %d", (int)n.kv);
    if (n.head && (n.head->vocab != st->m->cfg.vocab || n.head->hidden != st->m->cfg.hidden))
        return tb_fail(e, "numerics: the quantized head is %d x %d, the model %d x %d", n.head->vocab,
                       n.head->hidden, st->m->cfg.vocab, st->m->cfg.hidden);
    if (n.kv == st->nx.kv) { /* the cache keeps its format: no reallocation */
        st->nx = n;
        tb_state_reset(st);
        return 0;
    }
    const tb_config *c = &st->m->cfg;
    const size_t pos = (size_t)c->layers * (size_t)st->max_ctx, kvc = pos * (size_t)st->kv_dim;
    void *k = tb_alloc(kv_elem_bytes(n.kv) * kvc), *v = tb_alloc(kv_elem_bytes(n.kv) * kvc);
    float *ks = NULL, *vs = NULL;
    if (n.kv == TB_KV_Q8) {
        ks = tb_alloc(sizeof(float) * pos * (size_t)c->kv_heads);
        vs = tb_alloc(sizeof(float) * pos * (size_t)c->kv_heads);
    }
    if (!k || !v || (n.kv == TB_KV_Q8 && (!ks || !vs))) {
        tb_free(k), tb_free(v), tb_free(ks), tb_free(vs);
        return tb_fail(e, "numerics: out of memory for a %s KV cache of %zu values", tb_kv_fmt_name(n.kv), 2 * kvc);
    }
    tb_free(st->key_cache), tb_free(st->value_cache), tb_free(st->key_scale), tb_free(st->value_scale);
    st->key_cache = k, st->value_cache = v, st->key_scale = ks, st->value_scale = vs;
    st->nx = n;
    tb_state_reset(st);
    return 0;
}

const char *tb_prof_name(int part) {
    static const char *names[TB_PROF_COUNT] = {"ternary", "lm_head", "attention", "norm_quant", "rope", "sync",
                                               "other"};
    return part >= 0 && part < TB_PROF_COUNT ? names[part] : "?";
}

static double backend_wait(const tb_backend *be) {
    return be && be->wait_seconds ? be->wait_seconds(be->ctx) : 0.0;
}

static void prof_start(tb_state *st, const tb_backend *be) {
    if (!st->prof) return;
    st->prof_be = be;
    st->prof_t = tb_now();
    st->prof_wait = backend_wait(be);
}

/* Time since the last lap goes to `part`, less what the caller spent waiting for the
 * backend's threads meanwhile, which goes to TB_PROF_SYNC. */
static void lap(tb_state *st, int part) {
    if (!st->prof) return;
    const double now = tb_now(), wait = backend_wait(st->prof_be);
    const double dt = now - st->prof_t, dw = wait - st->prof_wait;
    st->prof->seconds[part] += dt - dw;
    st->prof->seconds[TB_PROF_SYNC] += dw;
    st->prof->total += dt;
    st->prof_t = now;
    st->prof_wait = wait;
}

/* x rounded to the nearest f16 value (for tb_state_set_emulate_f16) */
static float round_f16(float x) { return tb_f16_to_f32(tb_f32_to_f16(x)); }

static void round_f16_all(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = round_f16(x[i]);
}

/* Calls the trace for each of n token rows of a (n, dim) buffer. */
static void trace_rows(tb_state *st, const char *name, int layer, int pos0, const float *buf, int n, int dim) {
    if (!st->trace) return;
    for (int t = 0; t < n; t++) st->trace(st->trace_user, name, layer, pos0 + t, buf + (size_t)t * dim, dim);
}

/* ============================================================================
 * the blocks
 * ========================================================================== */

/* y = x / sqrt(mean(x^2) + eps) * w; the sum of squares in 8 double lanes (forward.h) */
void tb_ref_rmsnorm(float *y, const float *x, const float *w, int n, float eps) {
    double l[8] = {0};
    for (int i = 0; i < n; i++) l[i & 7] += (double)x[i] * (double)x[i];
    for (int s = 4; s >= 1; s /= 2)
        for (int j = 0; j < s; j++) l[j] += l[j + s];
    const float scale = (float)(1.0 / sqrt(l[0] / n + (double)eps));
    for (int i = 0; i < n; i++) y[i] = (x[i] * scale) * w[i];
}

static void ref_epilogue(const int32_t *acc, int n, float s, float w_scale, float *y) {
    for (int r = 0; r < n; r++) y[r] = tb_bitlinear_epilogue(acc[r], s, w_scale);
}

static void ref_relu2_mul(float *g, const float *u, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const float r = g[i] > 0.0f ? g[i] : 0.0f;
        g[i] = (r * r) * u[i];
    }
}

static void ref_add(float *x, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

const tb_rowops *tb_ref_rowops(void) {
    static const tb_rowops ref = {tb_ref_rmsnorm, tb_quantize_act, ref_epilogue, ref_relu2_mul, ref_add,
                                  tb_quantize_act4};
    return &ref;
}

/* RoPE, NEOX / rotate-half pairing: within each head, dims i and i + head_dim/2
 * rotate together by angle pos * theta^(-2i/head_dim).  cs (head_dim) holds
 * cos, sin of each pair's angle (rope_angles); the rotation is in double. */
static void rope_angles(double *cs, int head_dim, int pos, float theta) {
    for (int i = 0; i < head_dim / 2; i++) {
        const double angle = (double)pos * pow((double)theta, -2.0 * i / (double)head_dim);
        cs[2 * i] = cos(angle);
        cs[2 * i + 1] = sin(angle);
    }
}

static void rope_apply(float *vec, int n_heads, int head_dim, const double *cs) {
    const int half = head_dim / 2;
    for (int h = 0; h < n_heads; h++) {
        float *p = vec + (size_t)h * head_dim;
        for (int i = 0; i < half; i++) {
            const double c = cs[2 * i], s = cs[2 * i + 1], x0 = p[i], x1 = p[i + half];
            p[i] = (float)(x0 * c - x1 * s);
            p[i + half] = (float)(x0 * s + x1 * c);
        }
    }
}

void tb_ref_rope_neox(float *vec, int n_heads, int head_dim, int pos, float theta) {
    const int half = head_dim / 2;
    for (int i = 0; i < half; i++) { /* the arithmetic of rope_angles + rope_apply, pair by pair */
        const double angle = (double)pos * pow((double)theta, -2.0 * i / (double)head_dim);
        const double c = cos(angle), s = sin(angle);
        for (int h = 0; h < n_heads; h++) {
            float *p = vec + (size_t)h * head_dim;
            const double x0 = p[i], x1 = p[i + half];
            p[i] = (float)(x0 * c - x1 * s);
            p[i + half] = (float)(x0 * s + x1 * c);
        }
    }
}

/* Dot product of float vectors in 16 float lanes: lane j takes the i with i mod 16 == j,
 * in index order, each step l[j] + a[i] * b[i] with the product rounded to float first
 * (no fused multiply-add: plain C11 never contracts), from 0; lanes combined by the tree
 * l[j] += l[j+8], then +4, +2, +1.  The LM head order (tb_ref_lm_rows); a SIMD version
 * runs the lanes as vector multiplies and adds in the same order. */
static float dot_f32(const float *a, const float *b, int n) {
    float l[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) l[j] += a[i + j] * b[i + j];
    for (; i < n; i++) l[i & 15] += a[i] * b[i];
    for (int w = 8; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) l[j] += l[j + w];
    return l[0];
}

float tb_ref_dot16(const float *a, const float *b, int n) { return dot_f32(a, b, n); }

/* The LM head's dot product: the same scheme as dot_f32 in 32 lanes (i mod 32; tree +16,
 * then +8, +4, +2, +1): one embedding row is one sequential stream, and 32 independent
 * add chains keep that stream at the read bandwidth on one core (16 were latency-bound
 * at ~90% of it on Zen 4). */
static float dot32_f32(const float *a, const float *b, int n) {
    float l[32] = {0};
    int i = 0;
    for (; i + 32 <= n; i += 32)
        for (int j = 0; j < 32; j++) l[j] += a[i + j] * b[i + j];
    for (; i < n; i++) l[i & 31] += a[i] * b[i];
    for (int w = 16; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) l[j] += l[j + w];
    return l[0];
}

/* Runs fn over the backend's threads when it offers them, else on this thread alone. */
static void run_parallel(const tb_backend *be, void (*fn)(void *arg, int tid, int nth), void *arg) {
    if (be && be->parallel)
        be->parallel(be->ctx, fn, arg);
    else
        fn(arg, 0, 1);
}

void tb_embed_row(const tb_model *m, const float *f16, int tok, float *out) {
    const size_t H = (size_t)m->cfg.hidden, off = (size_t)tok * H;
    switch (m->embd_type) {
    case TB_F16: {
        const uint16_t *src = (const uint16_t *)m->embd + off;
        if (f16)
            for (size_t i = 0; i < H; i++) out[i] = f16[src[i]];
        else
            for (size_t i = 0; i < H; i++) out[i] = tb_f16_to_f32(src[i]);
        break;
    }
    case TB_BF16: {
        const uint16_t *src = (const uint16_t *)m->embd + off;
        for (size_t i = 0; i < H; i++) out[i] = tb_bf16_to_f32(src[i]);
        break;
    }
    default:
        memcpy(out, (const float *)m->embd + off, H * sizeof(float));
        break;
    }
}

/* ---- per-token row work, split over the backend's threads in a batch -----------
 * RMSNorm + quantization, the BitLinear epilogues with what follows them (residual
 * add, FFN activation, and the next BitLinear's norm + quantization of that row) and
 * RoPE are independent per token row.  A batch (prefill) splits its rows across the
 * backend's threads, one hand-out per step (per layer: the q/k/v epilogues, RoPE + K/V,
 * attention, the sub-norm, the o epilogue + add + ffn_norm, the gate/up epilogues +
 * activation + ffn_sub_norm, the down epilogue + add + the next layer's attn_norm);
 * each row is computed by the same code either way, so the split never changes a bit.
 * One token (decode) runs inline: no hand-off for microseconds. */
typedef enum { ROW_NORM_QUANT, ROW_EPILOGUE, ROW_ROPE_KV } row_kind;

/* what an epilogue row does after its linears' outputs are written */
typedef enum { THEN_NONE, THEN_ADD, THEN_FFN_ACT } row_then;

typedef struct row_op {
    tb_state *st;
    const tb_rowops *ro; /* the backend's row operations, or the reference's */
    row_kind kind;
    int n, cols;        /* token rows; NORM_QUANT: elements per row */
    const float *in;    /* NORM_QUANT: input rows */
    const float *w;     /* NORM_QUANT: norm weight */
    int layer, pos0;    /* ROPE_KV */
    /* EPILOGUE: count (1..4) linears, linear i with rows[i] outputs per token */
    int count, rows[4];
    const int32_t *acc[4]; /* the integer results (n, rows[i]) */
    float *out[4];         /* the outputs (n, rows[i]) */
    float scale[4];        /* the tensor scales */
    row_then then;         /* THEN_ADD: st->x += out[0]; THEN_FFN_ACT: out[0] = act(out[0]) * out[1] */
    const float *next_norm; /* EPILOGUE, not NULL: then that row (x, or out[0]) normed with it and
                             * quantized for the next BitLinear (norm_quant_row) */
    tb_shares shares;       /* a batch: the threads' rows, owner first (split.h) */
} row_op;

/* RMSNorm of token row t (in: that row, cols long) into st->xb, then quantized to
 * st->qa / st->qs. */
static void norm_quant_row(tb_state *st, const tb_rowops *ro, const float *in, const float *w, int cols, int t) {
    const size_t C = (size_t)cols;
    ro->rmsnorm(st->xb + t * C, in, w, cols, st->m->cfg.norm_eps);
    if (st->nx.act_bits == 4)
        st->qs[t] = (ro->quantize4 ? ro->quantize4 : tb_quantize_act4)(st->xb + t * C, cols, st->qa + t * C);
    else
        st->qs[t] = ro->quantize(st->xb + t * C, cols, st->qa + t * C);
}

/* norm_quant_row of rows t0..t1 of o->in */
static void norm_quant_rows(const row_op *o, int t0, int t1) {
    for (int t = t0; t < t1; t++) norm_quant_row(o->st, o->ro, o->in + (size_t)t * o->cols, o->w, o->cols, t);
}

/* gate = act(gate) * up for one row of n */
static void ffn_act_row(const row_op *o, float *gate, const float *up, size_t n) {
    if (o->st->m->cfg.ffn_act == TB_ACT_SILU) {
        /* llama.cpp arch "bitnet": m = silu(g) * u, silu in double rounded to float, product in f32 */
        for (size_t i = 0; i < n; i++) {
            const double g = gate[i];
            gate[i] = (float)(g / (1.0 + exp(-g))) * up[i];
        }
    } else {
        /* 2B4T: squared ReLU on the gate branch only: m = relu(g)^2 * u, kept in f32 */
        o->ro->relu2_mul(gate, up, n);
    }
}

/* Each token row: the epilogue of every linear of the group, then o->then on it, then
 * (o->next_norm) the next BitLinear's input from it, while the row is in cache. */
static void epilogue_rows(const row_op *o, int t0, int t1) {
    tb_state *st = o->st;
    const size_t H = (size_t)st->m->cfg.hidden;
    for (int t = t0; t < t1; t++) {
        for (int i = 0; i < o->count; i++) {
            const size_t at = (size_t)t * (size_t)o->rows[i];
            o->ro->epilogue(o->acc[i] + at, o->rows[i], st->qs[t], o->scale[i], o->out[i] + at);
        }
        if (o->then == THEN_ADD)
            o->ro->add(st->x + t * H, o->out[0] + t * H, H);
        else if (o->then == THEN_FFN_ACT)
            ffn_act_row(o, o->out[0] + (size_t)t * o->rows[0], o->out[1] + (size_t)t * o->rows[1], (size_t)o->rows[0]);
        if (o->next_norm && o->then == THEN_ADD)
            norm_quant_row(st, o->ro, st->x + t * H, o->next_norm, (int)H, t);
        else if (o->next_norm)
            norm_quant_row(st, o->ro, o->out[0] + (size_t)t * o->rows[0], o->next_norm, o->rows[0], t);
    }
}

static void rope_kv_rows(const row_op *o, int t0, int t1); /* below, with the KV cache */

static void row_op_run(const row_op *o, int t0, int t1) {
    switch (o->kind) {
    case ROW_NORM_QUANT: norm_quant_rows(o, t0, t1); break;
    case ROW_EPILOGUE: epilogue_rows(o, t0, t1); break;
    case ROW_ROPE_KV: rope_kv_rows(o, t0, t1); break;
    }
}

/* Thread tid's contiguous share of the rows, then what is left of the others' (split.h):
 * the rows a thread's token split just wrote mostly stay with it. */
static void row_op_part(void *arg, int tid, int nth) {
    row_op *o = arg;
    enum { CHUNK = 2 };
    const int ns = tb_shares_count(nth);
    for (int d = 0; d < ns; d++) {
        const int v = (tid + d) % ns, b0 = (int)((int64_t)o->n * v / ns);
        const int size = (int)((int64_t)o->n * (v + 1) / ns) - b0;
        for (int k, end; (k = tb_share_claim(&o->shares, v, size, CHUNK, &end)) >= 0;) row_op_run(o, b0 + k, b0 + end);
    }
}

static void rows_do(const tb_backend *be, row_op *o) {
    o->ro = be && be->rowops ? be->rowops : tb_ref_rowops();
    if (o->n >= 2 && be && be->parallel)
        be->parallel(be->ctx, row_op_part, o);
    else
        row_op_run(o, 0, o->n);
}

/* st->xb = rmsnorm(in) and st->qa/qs = its quantization, for n rows of cols.  One call
 * per distinct BitLinear input: (q,k,v) share one, (gate,up) share one. */
static void norm_quant(tb_state *st, const tb_backend *be, const float *in, const float *w, int n, int cols) {
    row_op o = {.st = st, .kind = ROW_NORM_QUANT, .n = n, .cols = cols, .in = in, .w = w};
    rows_do(be, &o);
}

/* acc (n, rows) = the integer matmul of linear `which` with st->qa, by the backend or the reference. */
static int matmul_one(tb_state *st, const tb_backend *be, int layer, int which, int n, int32_t *acc, tb_err *e) {
    const tb_ternary *w = &st->m->layer[layer].lin[which];
    if (!be) {
        tb_matmul_ref(w, st->qa, n, acc, st->wrow);
        return 0;
    }
    tb_err be_err = {{0}};
    if (be->matmul(be->ctx, layer, which, st->qa, n, acc, &be_err) < 0)
        return tb_fail(e, "backend %s failed at layer %d %s (%d x %d, %d rows): %s", be->name ? be->name : "?", layer,
                       tb_lin_names[which], w->rows, w->cols, n, be_err.msg[0] ? be_err.msg : "no message");
    return 0;
}

/* out[i] (n, rows of which[i]) = BitLinear which[i] of the activations quantized last
 * (st->qa, st->qs), for count (1..4) linears that share that input: one backend call for
 * all of them when it offers matmul_group, else one each.  Same bits either way.  Then,
 * per token row in the same hand-out as the epilogues: st->x += out[0] (THEN_ADD) or
 * out[0] = act(out[0]) * out[1] (THEN_FFN_ACT), and with next_norm, that row (x or out[0])
 * RMSNorm'ed and quantized into st->xb / qa / qs: the next BitLinear's input, as
 * norm_quant would give it. */
static int bitlinear_group(tb_state *st, const tb_backend *be, int layer, const int *which, int count, int n,
                           float *const *out, row_then then, const float *next_norm, tb_err *e) {
    const tb_layer *L = &st->m->layer[layer];
    int32_t *acc[4];
    size_t off = 0;
    for (int i = 0; i < count; i++) {
        acc[i] = st->acc + off; /* st->max_out covers the groups tb_forward forms */
        off += (size_t)n * (size_t)L->lin[which[i]].rows;
    }
    if (count > 1 && be && be->matmul_group) {
        tb_err be_err = {{0}};
        if (be->matmul_group(be->ctx, layer, which, count, st->qa, n, acc, &be_err) < 0)
            return tb_fail(e, "backend %s failed at layer %d %s..%s (%d linears, %d rows): %s",
                           be->name ? be->name : "?", layer, tb_lin_names[which[0]], tb_lin_names[which[count - 1]],
                           count, n, be_err.msg[0] ? be_err.msg : "no message");
    } else {
        for (int i = 0; i < count; i++)
            if (matmul_one(st, be, layer, which[i], n, acc[i], e)) return -1;
    }
    lap(st, TB_PROF_TERNARY);
    row_op o = {.st = st, .kind = ROW_EPILOGUE, .n = n, .count = count, .then = then, .next_norm = next_norm};
    for (int i = 0; i < count; i++) {
        const tb_ternary *w = &L->lin[which[i]];
        o.rows[i] = w->rows, o.acc[i] = acc[i], o.out[i] = out[i], o.scale[i] = w->scale;
    }
    rows_do(be, &o);
    lap(st, TB_PROF_NORM_QUANT);
    return 0;
}

void tb_attn_softmax(float *score, int n, float scale) {
    float mx = -INFINITY;
    for (int j = 0; j < n; j++) {
        score[j] *= scale;
        if (score[j] > mx) mx = score[j];
    }
    double sum = 0.0;
    for (int j = 0; j < n; j++) {
        score[j] = tb_softmax_exp(score[j] - mx);
        sum += score[j];
    }
    const float inv = (float)(1.0 / sum);
    for (int j = 0; j < n; j++) score[j] *= inv;
}

float tb_kv_quantize_q8(const float *x, int n, int8_t *q) {
    float mx = 0.0f;
    for (int i = 0; i < n; i++) mx = fabsf(x[i]) > mx ? fabsf(x[i]) : mx;
    if (!(mx > 0.0f)) {
        memset(q, 0, (size_t)n);
        return 0.0f;
    }
    const float id = 127.0f / mx;
    for (int i = 0; i < n; i++) {
        float v = x[i] * id;
        v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
        q[i] = (int8_t)((v + 0x1.8p23f) - 0x1.8p23f); /* round half to even */
    }
    return mx / 127.0f;
}

/* Row j of a compressed cache's k or v (base), dequantized into out (hd). */
static void kv_row(const tb_kv_view *kv, const void *base, const float *sc, int j, int hd, float *out) {
    const size_t at = (size_t)j * kv->stride;
    switch (kv->fmt) {
    case TB_KV_F16:
        for (int i = 0; i < hd; i++) out[i] = tb_f16_to_f32(((const uint16_t *)base)[at + i]);
        break;
    case TB_KV_Q8: {
        const float s = sc[(size_t)j * kv->sstride];
        for (int i = 0; i < hd; i++) out[i] = (float)((const int8_t *)base)[at + i] * s;
        break;
    }
    default: memcpy(out, (const float *)base + at, sizeof(float) * (size_t)hd); break;
    }
}

void tb_ref_attn_head_kv(const float *q, const tb_kv_view *kv, int n, int hd, float scale, float *out,
                         float *score) {
    float stack[512], *row = hd <= 512 ? stack : malloc(sizeof(float) * (size_t)hd);
    if (!row) { /* never for 2B4T (head_dim 128); out of memory: NaN, caught as a non-finite logit */
        for (int i = 0; i < hd; i++) out[i] = NAN;
        return;
    }
    for (int j = 0; j < n; j++) {
        kv_row(kv, kv->k, kv->ks, j, hd, row);
        score[j] = dot_f32(q, row, hd);
    }
    tb_attn_softmax(score, n, scale);
    for (int i = 0; i < hd; i++) out[i] = 0.0f;
    for (int j = 0; j < n; j++) {
        kv_row(kv, kv->v, kv->vs, j, hd, row);
        const float a = score[j];
        for (int i = 0; i < hd; i++) out[i] += a * row[i];
    }
    if (row != stack) free(row);
}

void tb_ref_attn_head(const float *q, const float *k, const float *v, size_t stride, int n, int hd, float scale,
                      float *out, float *score) {
    for (int j = 0; j < n; j++) score[j] = dot_f32(q, k + (size_t)j * stride, hd);
    tb_attn_softmax(score, n, scale);
    for (int i = 0; i < hd; i++) out[i] = 0.0f;
    for (int j = 0; j < n; j++) {
        const float a = score[j], *vj = v + (size_t)j * stride;
        for (int i = 0; i < hd; i++) out[i] += a * vj[i];
    }
}

void tb_ref_attn_heads(const float *q, int g, const float *k, const float *v, size_t stride, int n, int hd,
                       float scale, float *out, float *score) {
    for (int h = 0; h < g; h++)
        tb_ref_attn_head(q + (size_t)h * hd, k, v, stride, n, hd, scale, out + (size_t)h * hd, score);
}

/* K and V of one position into layer l's cache, in the state's KV format. */
static void kv_store(tb_state *st, int l, int pos, const float *kt, const float *vt) {
    const size_t row = (size_t)l * st->max_ctx + (size_t)pos, at = row * st->kv_dim, D = (size_t)st->kv_dim;
    switch (st->nx.kv) {
    case TB_KV_F16:
        for (size_t i = 0; i < D; i++) {
            ((uint16_t *)st->key_cache)[at + i] = tb_f32_to_f16(kt[i]);
            ((uint16_t *)st->value_cache)[at + i] = tb_f32_to_f16(vt[i]);
        }
        break;
    case TB_KV_Q8: {
        const int hd = st->m->cfg.head_dim, kvh = st->m->cfg.kv_heads;
        for (int h = 0; h < kvh; h++) {
            const size_t o = (size_t)h * hd;
            st->key_scale[row * kvh + h] = tb_kv_quantize_q8(kt + o, hd, (int8_t *)st->key_cache + at + o);
            st->value_scale[row * kvh + h] = tb_kv_quantize_q8(vt + o, hd, (int8_t *)st->value_cache + at + o);
        }
        break;
    }
    default:
        memcpy((float *)st->key_cache + at, kt, sizeof(float) * D);
        memcpy((float *)st->value_cache + at, vt, sizeof(float) * D);
        if (st->emulate_f16) { /* bitnet.cpp's f16 KV cache */
            round_f16_all((float *)st->key_cache + at, D);
            round_f16_all((float *)st->value_cache + at, D);
        }
        break;
    }
}

/* RoPE on the q and k rows of tokens t0..t1 of the batch, their K/V into layer o->layer's
 * cache, and (tb_state_set_emulate_f16) q rounded to f16 as ggml does for Q.K. */
static void rope_kv_rows(const row_op *o, int t0, int t1) {
    tb_state *st = o->st;
    const tb_config *c = &st->m->cfg;
    for (int t = t0; t < t1; t++) {
        float *qt = st->q + (size_t)t * st->q_dim, *kt = st->k + (size_t)t * st->kv_dim, *vt = st->v + (size_t)t * st->kv_dim;
        const double *cs = st->rope + (size_t)t * c->head_dim; /* this position's angles */
        rope_apply(qt, c->heads, c->head_dim, cs);
        rope_apply(kt, c->kv_heads, c->head_dim, cs);
        kv_store(st, o->layer, o->pos0 + t, kt, vt);
        if (st->emulate_f16) round_f16_all(qt, (size_t)st->q_dim);
    }
}

/* softmax(q.K^T / sqrt(head_dim) + causal) . V for the g query heads h..h+g-1 of one token
 * at pos, which read the same KV head (tb_ref_attn_head for each, or the backend's
 * attn_heads: the same bits).  GQA: query head h reads KV head h / (heads / kv_heads).
 * q, out: g heads; score: scratch of g * (pos+1) floats. */
static void attention_heads(const tb_state *st, const tb_backend *be, int layer, int h, int g, int pos,
                            const float *q, float *out, float *score) {
    const tb_config *c = &st->m->cfg;
    const int hd = c->head_dim, kvh = h / (c->heads / c->kv_heads);
    const size_t base = (size_t)layer * st->max_ctx * st->kv_dim + (size_t)kvh * hd;
    const float scale = (float)(1.0 / sqrt((double)hd));
    if (st->nx.kv != TB_KV_F32) { /* a compressed cache (approximate numerics) */
        const size_t eb = kv_elem_bytes(st->nx.kv), sbase = (size_t)layer * st->max_ctx * c->kv_heads + (size_t)kvh;
        const tb_kv_view kv = {.fmt = st->nx.kv,
                               .k = (const char *)st->key_cache + base * eb,
                               .v = (const char *)st->value_cache + base * eb,
                               .ks = st->key_scale ? st->key_scale + sbase : NULL,
                               .vs = st->value_scale ? st->value_scale + sbase : NULL,
                               .stride = (size_t)st->kv_dim,
                               .sstride = (size_t)c->kv_heads};
        for (int i = 0; i < g; i++)
            (be && be->attn_head_kv ? be->attn_head_kv : tb_ref_attn_head_kv)(q + (size_t)i * hd, &kv, pos + 1, hd,
                                                                              scale, out + (size_t)i * hd, score);
        return;
    }
    const float *k = (const float *)st->key_cache + base, *v = (const float *)st->value_cache + base;
    (be && be->attn_heads ? be->attn_heads : tb_ref_attn_heads)(q, g, k, v, (size_t)st->kv_dim, pos + 1, hd, scale,
                                                                 out, score); /* causal: positions 0..pos */
}

/* The (token, head) pairs of one layer, split across threads: every pair is computed by
 * the same code in the same order whatever the split, so results never depend on it. */
typedef struct attn_job {
    const tb_state *st;
    const tb_backend *be;
    int layer, n, pos0;
    atomic_int failed;
    tb_shares shares; /* a batch: the threads' dealt tokens, owner first (split.h) */
} attn_job;

/* The heads h .. h + g - 1 of token t (one KV head's, or fewer) */
static void attention_unit(const attn_job *j, int t, int h, int g, float *score) {
    const size_t off = (size_t)t * j->st->q_dim + (size_t)h * j->st->m->cfg.head_dim;
    attention_heads(j->st, j->be, j->layer, h, g, j->pos0 + t, j->st->q + off, j->st->att + off, score);
}

/* A batch: tokens dealt round-robin (causal work grows with the position, so contiguous
 * blocks of tokens would leave one thread with most of it), each thread's from the last
 * (the costliest) down, then what is left of the others' (split.h), one token at a time.
 * A token's heads go in runs that read one KV head, whose K/V rows (in L2) a SIMD
 * attn_heads loads once for all of them (prefill attention -22%). */
static void attention_dealt(attn_job *j, int tid, int nth, float *score) {
    const tb_config *c = &j->st->m->cfg;
    const int per_kv = c->heads / c->kv_heads, ns = tb_shares_count(nth);
    for (int d = 0; d < ns; d++) {
        const int v = (tid + d) % ns, size = (j->n - v + ns - 1) / ns; /* share v: tokens v, v + ns, ... */
        for (int k, end; (k = tb_share_claim(&j->shares, v, size, 1, &end)) >= 0;)
            for (int h = 0; h < c->heads; h += per_kv) attention_unit(j, v + (size - 1 - k) * ns, h, per_kv, score);
    }
}

/* The (token, head) pairs of one layer, split across threads: every pair is computed by
 * the same code in the same order whatever the split, so results never depend on it.
 * Fewer tokens than threads (decode): contiguous blocks of (token, head) units, one head
 * at a time; its K/V come from memory either way, and the one-head kernel keeps more of
 * those loads in flight (grouped: +0.3 ms a step). */
static void attention_part(void *arg, int tid, int nth) {
    attn_job *j = arg;
    const tb_config *c = &j->st->m->cfg;
    const int H = c->heads, per_kv = H / c->kv_heads, units = j->n * H;
    const bool deal = j->n >= nth;
    const int u0 = (int)((int64_t)units * tid / nth), u1 = (int)((int64_t)units * (tid + 1) / nth);
    if (!deal && u0 >= u1) return;
    float *score = malloc(sizeof(float) * (size_t)per_kv * (size_t)(j->pos0 + j->n)); /* (heads of a KV head, positions) */
    if (!score) {
        atomic_store(&j->failed, 1);
        return;
    }
    if (deal)
        attention_dealt(j, tid, nth, score);
    else
        for (int u = u0; u < u1; u++) attention_unit(j, u / H, u % H, 1, score);
    free(score);
}

/* x += o_proj(attn_sub_norm(attention(rope(q), rope(k), v))), q,k,v from attn_norm(x). */
static int attention_block(tb_state *st, const tb_backend *be, int l, int n, int pos0, tb_err *e) {
    const tb_model *m = st->m;
    const tb_config *c = &m->cfg;
    const tb_layer *L = &m->layer[l];
    const int H = c->hidden;

    if (l == 0) { /* later layers: the previous one's last hand-out normed x (ffn_block) */
        norm_quant(st, be, st->x, L->attn_norm, n, H); /* one quantization shared by q, k, v */
        lap(st, TB_PROF_NORM_QUANT);
    }
    static const int qkv[3] = {TB_LIN_Q, TB_LIN_K, TB_LIN_V};
    if (bitlinear_group(st, be, l, qkv, 3, n, (float *const[]){st->q, st->k, st->v}, THEN_NONE, NULL, e))
        return -1;

    /* RoPE on q and k, then K/V of the whole batch into the cache before any attention
     * (token t attends to positions <= pos0 + t, some of them from this batch) */
    row_op rope = {.st = st, .kind = ROW_ROPE_KV, .n = n, .layer = l, .pos0 = pos0};
    rows_do(be, &rope);
    trace_rows(st, "q", l, pos0, st->q, n, st->q_dim);
    trace_rows(st, "k", l, pos0, st->k, n, st->kv_dim);
    trace_rows(st, "v", l, pos0, st->v, n, st->kv_dim);
    lap(st, TB_PROF_ROPE);

    attn_job job = {.st = st, .be = be, .layer = l, .n = n, .pos0 = pos0};
    run_parallel(be, attention_part, &job);
    if (atomic_load(&job.failed)) return tb_fail(e, "forward: out of memory for attention scratch");
    lap(st, TB_PROF_ATTENTION);
    trace_rows(st, "attn_out", l, pos0, st->att, n, st->q_dim);

    norm_quant(st, be, st->att, L->attn_sub_norm, n, H);
    lap(st, TB_PROF_NORM_QUANT);
    static const int o_proj[1] = {TB_LIN_O};
    /* x += o, then ffn_norm(x) quantized: the FFN's input */
    return bitlinear_group(st, be, l, o_proj, 1, n, (float *const[]){st->proj}, THEN_ADD, L->ffn_norm, e);
}

/* x += down(ffn_sub_norm(act(gate(h)) * up(h))), h = ffn_norm(x); act = relu^2 (2B4T) or SiLU. */
static int ffn_block(tb_state *st, const tb_backend *be, int l, int n, int pos0, tb_err *e) {
    const tb_model *m = st->m;
    const tb_config *c = &m->cfg;
    const tb_layer *L = &m->layer[l];
    const int H = c->hidden, F = c->ffn;

    /* ffn_norm(x), quantized once for gate and up: by attention_block's last hand-out */
    trace_rows(st, "ffn_in", l, pos0, st->xb, n, H);
    static const int gate_up[2] = {TB_LIN_GATE, TB_LIN_UP};
    if (bitlinear_group(st, be, l, gate_up, 2, n, (float *const[]){st->gate, st->up}, THEN_FFN_ACT,
                        L->ffn_sub_norm, e))
        return -1; /* gate = act(gate) * up, per cfg.ffn_act; then ffn_sub_norm(gate) quantized */
    trace_rows(st, "ffn_mid", l, pos0, st->gate, n, F);

    static const int down[1] = {TB_LIN_DOWN};
    const float *next = l + 1 < c->layers ? m->layer[l + 1].attn_norm : NULL; /* the next layer's input */
    return bitlinear_group(st, be, l, down, 1, n, (float *const[]){st->proj}, THEN_ADD, next, e); /* x += down */
}

/* The LM head over vocabulary rows [v0, v1) (tb_ref_lm_rows); f16 as in tb_embed_row.
 * Each embedding row is converted once and used for every input row. */
static int lm_rows_c(const tb_model *m, const float *f16, int v0, int v1, const float *x, int n, float *out,
                     size_t ldo) {
    const int H = m->cfg.hidden;
    float *erow = malloc(sizeof(float) * (size_t)H); /* (hidden) one embedding row */
    if (!erow) return -1;
    for (int v = v0; v < v1; v++) {
        tb_embed_row(m, f16, v, erow);
        for (int t = 0; t < n; t++)
            out[(size_t)t * ldo + (size_t)(v - v0)] = dot32_f32(erow, x + (size_t)t * H, H);
    }
    free(erow);
    return 0;
}

int tb_ref_lm_rows(const tb_model *m, int v0, int v1, const float *x, int n, float *out, size_t ldo) {
    return lm_rows_c(m, NULL, v0, v1, x, n, out, ldo);
}

/* logits (n_out, vocab) = embed . output_norm(x) for the last n_out rows of the batch.
 * Vocabulary rows are split across threads (if the backend offers them); the backend's
 * lm_rows (same order, same bits) does a part when it has one, else the plain C loop. */
typedef struct lm_job {
    const tb_state *st;
    const tb_backend *be;
    int n, n_out;
    float *logits;
    atomic_int next;  /* first vocabulary row not yet taken */
    atomic_int failed;
} lm_job;

int tb_lm_min_rows(int vocab, int nth) { return (vocab + 32 * nth - 1) / (32 * nth); }

/* Threads take vocabulary rows from a shared counter, guided (split.h): long grabs first,
 * down to about 1/(32 nth) of the vocabulary (a slower thread takes fewer); every row is
 * computed by the same code whichever thread takes it. */
static void lm_head_part(void *arg, int tid, int nth) {
    (void)tid;
    lm_job *j = arg;
    const tb_state *st = j->st;
    const tb_backend *be = j->be;
    const int H = st->m->cfg.hidden, V = st->m->cfg.vocab, t0 = j->n - j->n_out;
    const int min = tb_lm_min_rows(V, nth);
    const float *x = st->xb + (size_t)t0 * H; /* (n_out, hidden) */
    for (int v0 = atomic_load(&j->next);; v0 = atomic_load(&j->next)) {
        if (v0 >= V || atomic_load(&j->failed)) return;
        const int c = tb_guided_rows(V - v0, nth, min, 1);
        if (!atomic_compare_exchange_weak(&j->next, &v0, v0 + c)) continue;
        const int v1 = v0 + c < V ? v0 + c : V;
        float *out = j->logits + v0; /* (n_out, vocab) from column v0 */
        int rc = TB_LM_UNHANDLED;
        if (st->nx.head) /* a quantized head (approximate numerics) */
            rc = (be && be->qhead_rows ? be->qhead_rows : tb_qhead_rows_ref)(st->nx.head, v0, v1, x, j->n_out, out,
                                                                             (size_t)V);
        else if (be && be->lm_rows)
            rc = be->lm_rows(be->ctx, st->m, v0, v1, x, j->n_out, out, (size_t)V);
        if (rc == TB_LM_UNHANDLED) rc = lm_rows_c(st->m, st->f16, v0, v1, x, j->n_out, out, (size_t)V);
        if (rc != 0) atomic_store(&j->failed, 1);
    }
}

static int lm_head(tb_state *st, const tb_backend *be, int n, int n_out, int pos0, float *logits, tb_err *e) {
    const tb_model *m = st->m;
    const int H = m->cfg.hidden, V = m->cfg.vocab, t0 = n - n_out;
    for (int t = t0; t < n; t++)
        (be && be->rowops ? be->rowops : tb_ref_rowops())
            ->rmsnorm(st->xb + (size_t)t * H, st->x + (size_t)t * H, m->output_norm, H, m->cfg.norm_eps);
    if (st->emulate_f16) round_f16_all(st->xb + (size_t)t0 * H, (size_t)n_out * H); /* ggml: f16 head input */
    lap(st, TB_PROF_NORM_QUANT);
    lm_job job = {.st = st, .be = be, .n = n, .n_out = n_out, .logits = logits};
    atomic_init(&job.next, 0);
    atomic_init(&job.failed, 0);
    run_parallel(be, lm_head_part, &job);
    lap(st, TB_PROF_LM_HEAD);
    if (atomic_load(&job.failed))
        return tb_fail(e, "forward: LM head failed (%s): out of memory for scratch",
                       be && be->lm_rows ? "backend lm_rows" : "plain C");
    /* a non-finite logit means a broken model or overflow: never hand it out silently */
    for (int t = 0; t < n_out; t++) {
        const float *row = logits + (size_t)t * V;
        for (int i = 0; i < V; i++)
            if (!isfinite(row[i]))
                return tb_fail(e, "forward: non-finite logit %g for token id %d at position %d", (double)row[i], i,
                               pos0 + t0 + t);
    }
    trace_rows(st, "logits", -1, pos0 + t0, logits, n_out, V);
    lap(st, TB_PROF_OTHER);
    return 0;
}

/* ============================================================================
 * the forward pass
 * ========================================================================== */

int tb_forward(tb_state *st, const tb_backend *be, const int32_t *tokens, int n, int pos0, float *logits,
               bool all_logits, tb_err *e) {
    const tb_model *m = st->m;
    const tb_config *c = &m->cfg;
    const int H = c->hidden;
    prof_start(st, be);
    if (n < 1 || !tokens) return tb_fail(e, "forward: no tokens to evaluate");
    if (n > st->max_batch) return tb_fail(e, "forward: %d tokens exceed max_batch %d", n, st->max_batch);
    if (pos0 < 0 || pos0 > st->n_past)
        return tb_fail(e, "forward: position %d but the KV cache holds only positions < %d", pos0, st->n_past);
    if ((int64_t)pos0 + n > st->max_ctx)
        return tb_fail(e, "forward: context overflow: positions %d..%d exceed the context of %d", pos0, pos0 + n - 1,
                       st->max_ctx);
    for (int t = 0; t < n; t++)
        if (tokens[t] < 0 || tokens[t] >= c->vocab)
            return tb_fail(e, "forward: token id %d (index %d) outside the vocabulary 0..%d", (int)tokens[t], t,
                           c->vocab - 1);

    /* x = embed[tok] */
    for (int t = 0; t < n; t++) {
        float *xt = st->x + (size_t)t * H;
        tb_embed_row(m, st->f16, tokens[t], xt);
        for (int i = 0; i < H; i++)
            if (!isfinite(xt[i]))
                return tb_fail(e, "forward: embedding row of token id %d is not finite (index %d)", (int)tokens[t], i);
    }
    /* the cache past pos0 is about to be overwritten: forget it first, so a failure
     * part-way leaves a consistent (shorter) cache */
    st->n_past = pos0;
    for (int t = 0; t < n; t++) /* RoPE angles once per position, not once per layer */
        rope_angles(st->rope + (size_t)t * c->head_dim, c->head_dim, pos0 + t, c->rope_theta);
    if (st->prof) {
        st->prof->calls++;
        st->prof->tokens += n;
    }
    lap(st, TB_PROF_OTHER);

    for (int l = 0; l < c->layers; l++) {
        if (attention_block(st, be, l, n, pos0, e) || ffn_block(st, be, l, n, pos0, e)) return -1;
        trace_rows(st, "layer_out", l, pos0, st->x, n, H);
    }
    st->n_past = pos0 + n;
    lap(st, TB_PROF_OTHER);

    if (!logits) return 0;
    return lm_head(st, be, n, all_logits ? n : 1, pos0, logits, e);
}
