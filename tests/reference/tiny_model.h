/* tiny_model.h: build small BitNet models in memory for the reference tests.
 *
 * Ternary tensors use the TB_TERN_CODES layout (int8 -1/0/+1), norms are uniform
 * in [0.5, 1.5], scales uniform in [0.5, 1.5], the embedding N(0, sigma^2) stored
 * as F32, F16 or BF16.  Everything comes from one seed (tb_rng). */
#ifndef TB_TINY_MODEL_H
#define TB_TINY_MODEL_H

#include <stdlib.h>
#include <string.h>

#include "model.h"

typedef struct tiny_model {
    tb_model m;
    void *bufs[256]; /* everything malloc'd for m */
    int n_bufs;
} tiny_model;

static void *tiny_keep(tiny_model *t, size_t bytes) {
    void *p = calloc(1, bytes);
    if (!p || t->n_bufs >= 256) abort();
    t->bufs[t->n_bufs++] = p;
    return p;
}

static float *tiny_norm(tiny_model *t, tb_rng *r, int n) {
    float *w = tiny_keep(t, sizeof(float) * (size_t)n);
    for (int i = 0; i < n; i++) w[i] = (float)(0.5 + tb_rng_uniform(r));
    return w;
}

/* cfg: the shape; embd_type: TB_F32, TB_F16 or TB_BF16. */
static tiny_model *tiny_model_new(const tb_config *cfg, uint64_t seed, tb_ftype embd_type, double embd_sigma) {
    tiny_model *t = calloc(1, sizeof *t);
    if (!t) abort();
    tb_rng r;
    tb_rng_seed(&r, seed);
    t->m.cfg = *cfg;
    snprintf(t->m.format, sizeof t->m.format, "test");
    const size_t nemb = (size_t)cfg->vocab * cfg->hidden;
    t->m.embd_type = embd_type;
    if (embd_type == TB_F32) {
        float *e = tiny_keep(t, nemb * sizeof(float));
        for (size_t i = 0; i < nemb; i++) e[i] = (float)(embd_sigma * tb_rng_normal(&r));
        t->m.embd = e;
    } else {
        uint16_t *e = tiny_keep(t, nemb * sizeof(uint16_t));
        for (size_t i = 0; i < nemb; i++) {
            float v = (float)(embd_sigma * tb_rng_normal(&r));
            e[i] = embd_type == TB_F16 ? tb_f32_to_f16(v) : tb_f32_to_bf16(v);
        }
        t->m.embd = e;
    }
    t->m.output_norm = tiny_norm(t, &r, cfg->hidden);
    t->m.layer = tiny_keep(t, sizeof(tb_layer) * (size_t)cfg->layers);
    const int kv = cfg->kv_heads * cfg->head_dim;
    const int rows[TB_LIN_COUNT] = {cfg->hidden, kv, kv, cfg->hidden, cfg->ffn, cfg->ffn, cfg->hidden};
    const int cols[TB_LIN_COUNT] = {cfg->hidden, cfg->hidden, cfg->hidden, cfg->hidden,
                                    cfg->hidden, cfg->hidden, cfg->ffn};
    for (int l = 0; l < cfg->layers; l++) {
        tb_layer *L = &t->m.layer[l];
        L->attn_norm = tiny_norm(t, &r, cfg->hidden);
        L->attn_sub_norm = tiny_norm(t, &r, cfg->hidden);
        L->ffn_norm = tiny_norm(t, &r, cfg->hidden);
        L->ffn_sub_norm = tiny_norm(t, &r, cfg->ffn);
        for (int w = 0; w < TB_LIN_COUNT; w++) {
            const size_t n = (size_t)rows[w] * cols[w];
            int8_t *codes = tiny_keep(t, n);
            for (size_t i = 0; i < n; i++) codes[i] = (int8_t)((int)tb_rng_below(&r, 3) - 1);
            L->lin[w] = (tb_ternary){.name = tb_lin_names[w], .rows = rows[w], .cols = cols[w],
                                     .scale = (float)(0.5 + tb_rng_uniform(&r)), .layout = TB_TERN_CODES,
                                     .data = (const uint8_t *)codes};
        }
    }
    return t;
}

static void tiny_model_free(tiny_model *t) {
    if (!t) return;
    for (int i = 0; i < t->n_bufs; i++) free(t->bufs[i]);
    free(t);
}

/* hidden 16, 2 layers, 4 query heads / 2 KV heads of dim 4, FFN 24, vocab 50, ctx 16 */
static tb_config tiny_config(void) {
    tb_config c = {.vocab = 50, .hidden = 16, .layers = 2, .heads = 4, .kv_heads = 2, .head_dim = 4,
                   .ffn = 24, .ctx = 16, .rope_theta = 500000.0f, .norm_eps = 1e-5f,
                   .bos = 0, .eos = 1, .eot = 2};
    snprintf(c.arch, sizeof c.arch, "test");
    return c;
}

#endif
