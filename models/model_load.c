/* model_load.c: tb_model_load() (dispatch on .gguf file vs HF directory), the
 * GGUF I2_S loader (docs/formats.md §1), shared validation, presets and model helpers. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gguf.h"
#include "model_internal.h"

/* ---- ownership ----------------------------------------------------------- */
void *tb__own(tb_model *m, void *p) {
    if (!p) return NULL;
    if (m->n_owned == m->cap_owned) {
        int nc = m->cap_owned ? m->cap_owned * 2 : 64;
        void **no = realloc(m->owned, sizeof *no * (size_t)nc);
        if (!no) {
            free(p);
            return NULL;
        }
        m->owned = no;
        m->cap_owned = nc;
    }
    m->owned[m->n_owned++] = p;
    return p;
}

char *tb__own_str(tb_model *m, const char *s) { return tb__own(m, strdup(s)); }

/* ---- validation ---------------------------------------------------------- */
int tb__check_packed_codes(const uint8_t *p, size_t n, const char *file, const char *tensor, tb_err *e) {
    /* A 2-bit field holds code 3 iff both its bits are set: (b & b>>1) & 0x55.
     * All weights zero iff every field is code 1: every byte is 0x55. */
    const uint64_t lo = 0x5555555555555555ull;
    uint64_t bad = 0, nz = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        bad |= x & (x >> 1) & lo;
        nz |= x ^ lo;
    }
    for (; i < n; i++) {
        bad |= (uint64_t)(p[i] & (p[i] >> 1) & 0x55);
        nz |= (uint64_t)(p[i] ^ 0x55);
    }
    if (bad) {
        size_t at = 0;
        while (at < n && !(p[at] & (p[at] >> 1) & 0x55)) at++;
        return tb_fail(e, "%s: tensor %s: invalid ternary code 3 (corrupt weights) in packed byte %zu", file, tensor,
                       at);
    }
    if (!nz) return tb_fail(e, "%s: tensor %s: all-zero linear tensor (every weight is 0)", file, tensor);
    return 0;
}

int tb__check_scale(float s, const char *file, const char *tensor, tb_err *e) {
    if (!isfinite(s)) return tb_fail(e, "%s: tensor %s: non-finite scale %g", file, tensor, (double)s);
    if (!(s > 0)) return tb_fail(e, "%s: tensor %s: non-positive scale %g", file, tensor, (double)s);
    return 0;
}

int tb__check_config(const tb_config *c, const char *file, tb_err *e) {
    if (c->hidden <= 0 || c->hidden > 65536) return tb_fail(e, "%s: bad hidden size %d", file, c->hidden);
    if (c->layers <= 0 || c->layers > 4096) return tb_fail(e, "%s: bad layer count %d", file, c->layers);
    if (c->heads <= 0 || c->kv_heads <= 0 || c->heads > c->hidden)
        return tb_fail(e, "%s: bad head counts %d/%d", file, c->heads, c->kv_heads);
    if (c->hidden % c->heads)
        return tb_fail(e, "%s: inconsistent head dims: hidden %d is not a multiple of %d heads", file, c->hidden,
                       c->heads);
    if (c->heads % c->kv_heads)
        return tb_fail(e, "%s: inconsistent head dims: %d query heads not a multiple of %d KV heads", file, c->heads,
                       c->kv_heads);
    if (c->head_dim != c->hidden / c->heads || c->head_dim % 2)
        return tb_fail(e, "%s: inconsistent head dims: head_dim %d but hidden/heads = %d (must be even)", file,
                       c->head_dim, c->hidden / c->heads);
    if (c->ffn <= 0 || c->ffn > (1 << 20)) return tb_fail(e, "%s: bad FFN width %d", file, c->ffn);
    if (c->vocab <= 0 || c->vocab > (1 << 24)) return tb_fail(e, "%s: bad vocab size %d", file, c->vocab);
    if (c->ctx <= 0) return tb_fail(e, "%s: bad context length %d", file, c->ctx);
    if (!isfinite(c->norm_eps) || !(c->norm_eps > 0)) return tb_fail(e, "%s: bad RMSNorm eps %g", file, (double)c->norm_eps);
    if (!isfinite(c->rope_theta) || !(c->rope_theta > 0))
        return tb_fail(e, "%s: bad RoPE theta %g", file, (double)c->rope_theta);
    if (c->ffn_act != TB_ACT_RELU2 && c->ffn_act != TB_ACT_SILU)
        return tb_fail(e, "%s: unknown FFN activation %d", file, c->ffn_act);
    return 0;
}

void tb__lin_shape(const tb_config *c, int lin, int32_t *rows, int32_t *cols) {
    int kv = c->kv_heads * c->head_dim;
    switch (lin) {
    case TB_LIN_Q: case TB_LIN_O: *rows = c->hidden; *cols = c->hidden; break;
    case TB_LIN_K: case TB_LIN_V: *rows = kv; *cols = c->hidden; break;
    case TB_LIN_GATE: case TB_LIN_UP: *rows = c->ffn; *cols = c->hidden; break;
    default: *rows = c->hidden; *cols = c->ffn; break;
    }
}

const char *tb_ffn_act_name(int act) {
    return act == TB_ACT_RELU2 ? "relu2" : act == TB_ACT_SILU ? "silu" : "unknown";
}

/* ---- presets --------------------------------------------------------------- */
int tb_config_preset(const char *name, tb_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->arch, sizeof cfg->arch, "bitnet-b1.58");
    cfg->ffn_act = TB_ACT_RELU2;
    cfg->vocab = 128256;
    cfg->ctx = 4096;
    cfg->rope_theta = 500000.0f;
    cfg->norm_eps = 1e-5f;
    cfg->bos = 128000;
    cfg->eos = 128001;
    cfg->eot = 128009;
    if (!strcmp(name, "2b4t")) { /* docs/architecture.md §1 */
        cfg->hidden = 2560;
        cfg->layers = 30;
        cfg->heads = 20;
        cfg->kv_heads = 5;
        cfg->head_dim = 128;
        cfg->ffn = 6912;
        return 0;
    }
    if (!strcmp(name, "tiny")) { /* 2B4T shape family scaled down: GQA 2:1, head_dim 64 */
        cfg->hidden = 256;
        cfg->layers = 2;
        cfg->heads = 4;
        cfg->kv_heads = 2;
        cfg->head_dim = 64;
        cfg->ffn = 768;
        return 0;
    }
    return -1;
}

/* ---- GGUF loader --------------------------------------------------------- */
static const char *const gguf_lin_names[TB_LIN_COUNT] = {"attn_q",   "attn_k", "attn_v",  "attn_output",
                                                          "ffn_gate", "ffn_up", "ffn_down"};

static int gguf_key_u32(const tb_gguf *g, const char *arch, const char *suffix, int required, int *out, tb_err *e) {
    char key[128];
    uint32_t v;
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (tb_gguf_get_u32(g, key, &v) < 0) {
        if (!required) return 1;
        if (tb_gguf_find(g, key)) return tb_fail(e, "%s: metadata %s has a wrong type or value", g->path, key);
        return tb_fail(e, "%s: missing metadata %s", g->path, key);
    }
    if (v > INT32_MAX) return tb_fail(e, "%s: metadata %s = %u is out of range", g->path, key, v);
    *out = (int)v;
    return 0;
}

static int gguf_key_f32(const tb_gguf *g, const char *arch, const char *suffix, float *out, tb_err *e) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (tb_gguf_get_f32(g, key, out) < 0) {
        if (tb_gguf_find(g, key)) return tb_fail(e, "%s: metadata %s has a wrong type", g->path, key);
        return tb_fail(e, "%s: missing metadata %s", g->path, key);
    }
    return 0;
}

static const tb_gguf_tensor *gguf_need(const tb_gguf *g, const char *name, tb_err *e) {
    const tb_gguf_tensor *t = tb_gguf_find_tensor(g, name);
    if (!t) tb_fail(e, "%s: missing tensor %s", g->path, name);
    return t;
}

/* Loads an F32 1-D tensor of n elements into an owned float array. */
static float *gguf_norm(tb_model *m, const tb_gguf *g, const char *name, int n, tb_err *e) {
    const tb_gguf_tensor *t = gguf_need(g, name, e);
    if (!t) return NULL;
    if (t->type != TB_GGML_F32) {
        tb_fail(e, "%s: tensor %s: wrong type %u (expected F32)", g->path, name, t->type);
        return NULL;
    }
    if (t->n_dims != 1 || t->ne[0] != (uint64_t)n) {
        tb_fail(e, "%s: tensor %s: wrong shape [%" PRIu64 ", %" PRIu64 "] (expected [%d])", g->path, name, t->ne[0],
                t->ne[1], n);
        return NULL;
    }
    float *v = tb__own(m, malloc(sizeof(float) * (size_t)n)); /* (n) */
    if (!v) {
        tb_fail(e, "%s: out of memory", g->path);
        return NULL;
    }
    memcpy(v, t->data, sizeof(float) * (size_t)n);
    for (int i = 0; i < n; i++)
        if (!isfinite(v[i])) {
            tb_fail(e, "%s: tensor %s: non-finite value at %d", g->path, name, i);
            return NULL;
        }
    return v;
}

static int gguf_linear(tb_model *m, const tb_gguf *g, const char *name, int32_t rows, int32_t cols, tb_ternary *out,
                       tb_err *e) {
    const tb_gguf_tensor *t = gguf_need(g, name, e);
    if (!t) return -1;
    if (t->type != TB_GGML_I2_S)
        return tb_fail(e, "%s: tensor %s: wrong type %u (expected I2_S = %d)", g->path, name, t->type, TB_GGML_I2_S);
    if (t->n_dims != 2 || t->ne[0] != (uint64_t)cols || t->ne[1] != (uint64_t)rows)
        return tb_fail(e, "%s: tensor %s: wrong shape [%" PRIu64 ", %" PRIu64 "] (expected [%d, %d])", g->path, name,
                       t->ne[0], t->ne[1], cols, rows);
    if (((int64_t)rows * cols) % 128)
        return tb_fail(e, "%s: tensor %s: I2_S needs rows*cols %% 128 == 0 (got %d x %d)", g->path, name, rows, cols);
    size_t nb = (size_t)rows * (size_t)cols / 4;
    float scale;
    memcpy(&scale, t->data + nb, 4);
    if (tb__check_scale(scale, g->path, name, e) < 0) return -1;
    if (tb__check_packed_codes(t->data, nb, g->path, name, e) < 0) return -1;
    out->name = tb__own_str(m, name);
    if (!out->name) return tb_fail(e, "%s: out of memory", g->path);
    out->rows = rows;
    out->cols = cols;
    out->scale = scale;
    out->layout = TB_TERN_I2S;
    out->data = t->data;
    return 0;
}

int tb__load_gguf(tb_model *m, const char *path, tb_err *e) {
    tb_gguf *g;
    if (tb_gguf_open(path, &g, e) < 0) return -1;
    m->gguf = g;
    snprintf(m->format, sizeof m->format, "gguf-i2_s");

    /* ---- architecture and config ---- */
    tb_gguf_str a;
    if (tb_gguf_get_str(g, "general.architecture", &a) < 0)
        return tb_fail(e, "%s: missing metadata general.architecture", path);
    static const char *const archs[] = {"bitnet-b1.58", "bitnet-25", "bitnet"};
    const char *arch = NULL;
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (a.len == strlen(archs[i]) && !memcmp(a.p, archs[i], a.len)) arch = archs[i];
    if (!arch) {
        char shown[64];
        size_t n = a.len < 40 ? (size_t)a.len : 40;
        for (size_t i = 0; i < n; i++) shown[i] = (a.p[i] >= 32 && a.p[i] < 127) ? a.p[i] : '?';
        shown[n] = 0;
        return tb_fail(e,
                       "%s: unknown architecture '%s' (need bitnet-b1.58, bitnet-25 or bitnet; type ids 34-39 are "
                       "only I2_S & co. in the bitnet.cpp fork)",
                       path, shown);
    }
    tb_config *c = &m->cfg;
    snprintf(c->arch, sizeof c->arch, "%s", arch);
    /* llama.cpp's "bitnet" (1bitLLM bitnet_b1_58-*) gates with SiLU; 2B4T's archs with relu^2 */
    c->ffn_act = !strcmp(arch, "bitnet") ? TB_ACT_SILU : TB_ACT_RELU2;
    int rope_dim = 0;
    if (gguf_key_u32(g, arch, "embedding_length", 1, &c->hidden, e) < 0 ||
        gguf_key_u32(g, arch, "block_count", 1, &c->layers, e) < 0 ||
        gguf_key_u32(g, arch, "feed_forward_length", 1, &c->ffn, e) < 0 ||
        gguf_key_u32(g, arch, "attention.head_count", 1, &c->heads, e) < 0 ||
        gguf_key_u32(g, arch, "context_length", 1, &c->ctx, e) < 0 ||
        gguf_key_f32(g, arch, "attention.layer_norm_rms_epsilon", &c->norm_eps, e) < 0 ||
        gguf_key_f32(g, arch, "rope.freq_base", &c->rope_theta, e) < 0)
        return -1;
    int r = gguf_key_u32(g, arch, "attention.head_count_kv", 0, &c->kv_heads, e);
    if (r < 0) return -1;
    if (r == 1) c->kv_heads = c->heads;
    r = gguf_key_u32(g, arch, "vocab_size", 0, &c->vocab, e);
    if (r < 0) return -1;
    if (r == 1) {
        const tb_gguf_kv *tok = tb_gguf_find(g, "tokenizer.ggml.tokens");
        if (!tok || tok->type != TB_GGUF_ARRAY || tok->arr_n > INT32_MAX)
            return tb_fail(e, "%s: missing metadata %s.vocab_size (and no tokenizer.ggml.tokens)", path, arch);
        c->vocab = (int)tok->arr_n;
    }
    c->head_dim = c->heads > 0 ? c->hidden / c->heads : 0;
    uint32_t v;
    c->bos = tb_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &v) == 0 ? (int)v : 128000;
    c->eos = tb_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &v) == 0 ? (int)v : 128001;
    c->eot = c->vocab > 128009 ? 128009 : c->eos;
    if (tb__check_config(c, path, e) < 0) return -1;
    r = gguf_key_u32(g, arch, "rope.dimension_count", 0, &rope_dim, e);
    if (r < 0) return -1;
    if (r == 0 && rope_dim != c->head_dim) /* docs/architecture.md §1: RoPE rotates all head dims */
        return tb_fail(e, "%s: inconsistent head dims: rope.dimension_count %d != hidden/heads %d", path, rope_dim,
                       c->head_dim);

    /* ---- tensors ---- */
    const tb_gguf_tensor *te = gguf_need(g, "token_embd.weight", e);
    if (!te) return -1;
    if (te->type != TB_GGML_F16 && te->type != TB_GGML_BF16 && te->type != TB_GGML_F32)
        return tb_fail(e, "%s: tensor token_embd.weight: wrong type %u (expected F16, BF16 or F32)", path, te->type);
    if (te->n_dims != 2 || te->ne[0] != (uint64_t)c->hidden || te->ne[1] != (uint64_t)c->vocab)
        return tb_fail(e, "%s: tensor token_embd.weight: wrong shape [%" PRIu64 ", %" PRIu64 "] (expected [%d, %d])",
                       path, te->ne[0], te->ne[1], c->hidden, c->vocab);
    m->embd_type = (tb_ftype)te->type;
    m->embd = te->data;
    if (!(m->output_norm = gguf_norm(m, g, "output_norm.weight", c->hidden, e))) return -1;
    m->layer = tb__own(m, calloc((size_t)c->layers, sizeof *m->layer));
    if (!m->layer) return tb_fail(e, "%s: out of memory", path);
    char name[96];
    for (int l = 0; l < c->layers; l++) {
        tb_layer *L = &m->layer[l];
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
        if (!(L->attn_norm = gguf_norm(m, g, name, c->hidden, e))) return -1;
        snprintf(name, sizeof name, "blk.%d.attn_sub_norm.weight", l);
        if (!(L->attn_sub_norm = gguf_norm(m, g, name, c->hidden, e))) return -1;
        snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l);
        if (!(L->ffn_norm = gguf_norm(m, g, name, c->hidden, e))) return -1;
        snprintf(name, sizeof name, "blk.%d.ffn_sub_norm.weight", l);
        if (!(L->ffn_sub_norm = gguf_norm(m, g, name, c->ffn, e))) return -1;
        for (int k = 0; k < TB_LIN_COUNT; k++) {
            int32_t rows, cols;
            tb__lin_shape(c, k, &rows, &cols);
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, gguf_lin_names[k]);
            if (gguf_linear(m, g, name, rows, cols, &L->lin[k], e) < 0) return -1;
        }
    }
    return 0;
}

/* ---- dispatch -------------------------------------------------------------- */
int tb_model_load(const char *path, tb_model **out, tb_err *e) {
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return tb_fail(e, "%s: cannot open: %s", path, strerror(errno));
    tb_model *m = calloc(1, sizeof *m);
    if (!m) return tb_fail(e, "%s: out of memory", path);
    snprintf(m->path, sizeof m->path, "%s", path);
    int rc = S_ISDIR(st.st_mode) ? tb__load_hf(m, path, e) : tb__load_gguf(m, path, e);
    if (rc < 0) {
        tb_model_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

void tb_model_free(tb_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    tb_gguf_close(m->gguf);
    tb_unmap(&m->map);
    free(m);
}

/* ---- helpers --------------------------------------------------------------- */
void tb_model_embed_row(const tb_model *m, int tok, float *out) {
    const int h = m->cfg.hidden;
    if (tok < 0 || tok >= m->cfg.vocab) { /* caller bug: never read out of bounds */
        for (int i = 0; i < h; i++) out[i] = 0.0f;
        return;
    }
    const size_t base = (size_t)tok * (size_t)h;
    if (m->embd_type == TB_F32) {
        memcpy(out, (const float *)m->embd + base, sizeof(float) * (size_t)h);
        return;
    }
    const uint8_t *p = (const uint8_t *)m->embd + base * 2;
    for (int i = 0; i < h; i++) {
        uint16_t x;
        memcpy(&x, p + 2 * (size_t)i, 2); /* HF data may be only byte-aligned */
        out[i] = m->embd_type == TB_F16 ? tb_f16_to_f32(x) : tb_bf16_to_f32(x);
    }
}

/* The 2-bit payload of every linear (rows*cols/4: what a decode step must read at
 * 2 bits/weight); the I2_S 32-byte scale blocks and HF scale tensors are not counted.
 * Online-ternarized models hold int8 codes: 1 byte per weight. */
size_t tb_model_ternary_bytes(const tb_model *m) {
    size_t n = 0;
    for (int l = 0; l < m->cfg.layers; l++)
        for (int k = 0; k < TB_LIN_COUNT; k++) {
            const tb_ternary *t = &m->layer[l].lin[k];
            size_t w = (size_t)t->rows * (size_t)t->cols;
            n += t->layout == TB_TERN_CODES ? w : w / 4;
        }
    return n;
}

size_t tb_model_embd_bytes(const tb_model *m) {
    size_t es = m->embd_type == TB_F32 ? 4 : 2;
    return (size_t)m->cfg.vocab * (size_t)m->cfg.hidden * es;
}
