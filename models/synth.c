/* synth.c: deterministic synthetic models (see synth.h for the content), written
 * tensor by tensor so the 2B4T shape never needs more than one tensor in memory:
 * - GGUF laid out like bitnet.cpp's ggml-model-i2_s.gguf (arch bitnet-b1.58, the
 *   same KV names, file_type 40, F16 token_embd, F32 norms, I2_S linears); with
 *   cfg.ffn_act == TB_ACT_SILU the arch is "bitnet" (HF: hidden_act "silu");
 * - HF directory: config.json + model.safetensors (bf16 embedding and norms,
 *   uint8 [out/4, in] packed linears with a bf16 `.weight_scale` of shape [1]) +
 *   a copy of tokenizer.json.
 */
#include "synth.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf.h"
#include "json.h"
#include "model_internal.h"

/* ---- content ------------------------------------------------------------- */
static void tensor_rng(tb_rng *r, uint64_t seed, int idx) {
    tb_rng_seed(r, seed + 0x9e3779b97f4a7c15ull * (uint64_t)(idx + 1));
}

static float round_bf16(float x) { return tb_bf16_to_f32(tb_f32_to_bf16(x)); }

int tb_synth_index_norm(int layer, int which) { return 2 + 11 * layer + which; }
int tb_synth_index_lin(int layer, int lin) { return 2 + 11 * layer + 4 + lin; }

/* The scale is the first draw of the tensor's stream, so it can be had alone. */
static float synth_scale(tb_rng *r) {
    double s = exp(log(1.2) + 0.4 * tb_rng_normal(r));
    return round_bf16((float)(s < 0.5 ? 0.5 : s > 3.0 ? 3.0 : s));
}

static float synth_scale_only(uint64_t seed, int tensor_index) {
    tb_rng r;
    tensor_rng(&r, seed, tensor_index);
    return synth_scale(&r);
}

void tb_synth_codes(uint64_t seed, int tensor_index, int64_t rows, int64_t cols, int8_t *codes, float *scale) {
    tb_rng r;
    tensor_rng(&r, seed, tensor_index);
    *scale = synth_scale(&r);
    const int64_t n = rows * cols;
    int64_t i = 0;
    while (i < n) {
        uint64_t x = tb_rng_next(&r); /* six 10-bit draws per 64-bit word */
        for (int k = 0; k < 6 && i < n; k++, i++, x >>= 10) {
            unsigned d = (unsigned)(x & 1023);
            codes[i] = d < 317 ? 0 : d < 670 ? -1 : 1;
        }
    }
}

static void synth_norm(uint64_t seed, int idx, int n, float *out) {
    tb_rng r;
    tensor_rng(&r, seed, idx);
    for (int i = 0; i < n; i++) out[i] = round_bf16((float)(0.5 + tb_rng_uniform(&r)));
}

/* Embedding stream: N(0, 0.08^2) rounded to bf16 (magnitudes below 2^-14 flushed to
 * 0 so the values are exact in f16 too).  Since every value is rounded to one of a
 * few thousand bf16 numbers anyway, we sample that discrete distribution directly:
 * the probability of each bf16 value is the normal mass of its rounding interval
 * (from erfc), drawn in O(1) with Walker's alias method, one PRNG word per value.
 * For 2B4T that is 328M values; Box-Muller took most of the synth time. */
#define EMBD_SIGMA 0.08

typedef struct {
    int n;
    uint32_t *thresh;   /* (n) accept column i if the low 32 bits of the draw are below */
    uint16_t *alias;    /* (n) else take this column */
    uint16_t *f16, *bf16; /* (n) the value of each column in both encodings */
} embd_table;

static void embd_table_free(embd_table *t) {
    free(t->thresh);
    free(t->alias);
    free(t->f16);
    free(t->bf16);
}

/* Normal mass of [lo, hi) for N(0, EMBD_SIGMA^2), 0 <= lo < hi. */
static double normal_mass(double lo, double hi) {
    const double k = 1.0 / (EMBD_SIGMA * 1.4142135623730951);
    return 0.5 * (erfc(lo * k) - erfc(hi * k));
}

static int embd_table_init(embd_table *t) {
    memset(t, 0, sizeof *t);
    /* positive bf16 values from 2^-14 (0x3880) while their mass is not negligible */
    const uint16_t first = 0x3880;
    int npos = 0;
    while (first + npos < 0x7f80 &&
           normal_mass(tb_bf16_to_f32((uint16_t)(first + npos)) * 0.99, 1e300) > 1e-30)
        npos++;
    int n = 2 * npos + 1;
    double *p = malloc(sizeof(double) * (size_t)n); /* (n) column probabilities */
    int *small = malloc(sizeof(int) * (size_t)n), *large = malloc(sizeof(int) * (size_t)n);
    t->thresh = malloc(sizeof(uint32_t) * (size_t)n);
    t->alias = malloc(sizeof(uint16_t) * (size_t)n);
    t->f16 = malloc(sizeof(uint16_t) * (size_t)n);
    t->bf16 = malloc(sizeof(uint16_t) * (size_t)n);
    if (!p || !small || !large || !t->thresh || !t->alias || !t->f16 || !t->bf16) {
        free(p);
        free(small);
        free(large);
        embd_table_free(t);
        return -1;
    }
    t->n = n;
    /* column 0: zero (everything rounding below 2^-14); columns 1..npos: +v, npos+1..: -v */
    double zero_hi = 0.5 * (tb_bf16_to_f32(first - 1) + tb_bf16_to_f32(first));
    p[0] = 2 * normal_mass(0, zero_hi);
    t->f16[0] = t->bf16[0] = 0;
    for (int i = 0; i < npos; i++) {
        uint16_t h = (uint16_t)(first + i);
        double v = tb_bf16_to_f32(h);
        double lo = 0.5 * (tb_bf16_to_f32((uint16_t)(h - 1)) + v), hi = 0.5 * (v + tb_bf16_to_f32((uint16_t)(h + 1)));
        p[1 + i] = p[1 + npos + i] = normal_mass(lo, hi);
        t->bf16[1 + i] = h;
        t->bf16[1 + npos + i] = (uint16_t)(h | 0x8000);
        t->f16[1 + i] = tb_f32_to_f16((float)v);
        t->f16[1 + npos + i] = tb_f32_to_f16((float)-v);
    }
    /* Vose's alias construction on probabilities scaled to mean 1 */
    double sum = 0;
    for (int i = 0; i < n; i++) sum += p[i];
    int ns = 0, nl = 0;
    for (int i = 0; i < n; i++) {
        p[i] *= n / sum;
        if (p[i] < 1.0) small[ns++] = i;
        else large[nl++] = i;
    }
    while (ns && nl) {
        int s_ = small[--ns], l = large[nl - 1];
        t->thresh[s_] = (uint32_t)(p[s_] * 4294967296.0 < 4294967295.0 ? p[s_] * 4294967296.0 : 4294967295.0);
        t->alias[s_] = (uint16_t)l;
        p[l] -= 1.0 - p[s_];
        if (p[l] < 1.0) {
            nl--;
            small[ns++] = l;
        }
    }
    while (nl) { /* left-overs are 1 up to rounding: always accept */
        int l = large[--nl];
        t->thresh[l] = 0xffffffffu;
        t->alias[l] = (uint16_t)l;
    }
    while (ns) {
        int s_ = small[--ns];
        t->thresh[s_] = 0xffffffffu;
        t->alias[s_] = (uint16_t)s_;
    }
    free(p);
    free(small);
    free(large);
    return 0;
}

/* Column of the next embedding value of the stream. */
static inline int embd_draw(const embd_table *t, tb_rng *r) {
    uint64_t x = tb_rng_next(r);
    int col = (int)(((x >> 32) * (uint64_t)t->n) >> 32);
    return (uint32_t)x < t->thresh[col] ? col : t->alias[col];
}

/* ---- tokenizer.json -> GGUF token arrays ---------------------------------- */
typedef struct {
    tb_json *root;
    const char **tok;   /* (vocab) token strings in id order */
    size_t *tok_len;
    int32_t *type;      /* 1 normal, 3 control, 4 user-defined */
    float *score;       /* 0 for normal tokens, -1000 for the others (as bitnet.cpp's converter writes) */
    char **merge;       /* (n_merge) "a b" */
    size_t *merge_len;
    char *merge_owned;  /* 1 where merge[i] was malloc'd here */
    uint64_t n_merge;
} synth_tok;

static void tok_free(synth_tok *t) {
    if (t->merge)
        for (uint64_t i = 0; i < t->n_merge; i++)
            if (t->merge_owned[i]) free(t->merge[i]);
    free(t->tok);
    free(t->tok_len);
    free(t->type);
    free(t->score);
    free(t->merge);
    free(t->merge_len);
    free(t->merge_owned);
    tb_json_free(t->root);
}

static int tok_load(synth_tok *t, const char *path, int vocab, tb_err *e) {
    memset(t, 0, sizeof *t);
    char *text;
    size_t len;
    if (tb_read_file(path, &text, &len, e) < 0) return -1;
    tb_err je;
    t->root = tb_json_parse(text, len, &je);
    free(text);
    if (!t->root) return tb_fail(e, "%s: %s", path, je.msg);
    const tb_json *model = tb_json_get(t->root, "model");
    const tb_json *vocab_o = tb_json_get(model, "vocab");
    const tb_json *merges = tb_json_get(model, "merges");
    const tb_json *added = tb_json_get(t->root, "added_tokens");
    if (!vocab_o || vocab_o->type != TB_JSON_OBJECT || !merges || merges->type != TB_JSON_ARRAY)
        return tb_fail(e, "%s: not an HF BPE tokenizer.json (model.vocab / model.merges missing)", path);
    size_t n_added = added && added->type == TB_JSON_ARRAY ? added->len : 0;
    if (vocab_o->len + n_added != (size_t)vocab)
        return tb_fail(e, "%s: tokenizer has %zu tokens (%zu + %zu added) but the model vocab is %d (use --no-tokenizer)",
                       path, vocab_o->len + n_added, vocab_o->len, n_added, vocab);
    t->tok = calloc((size_t)vocab, sizeof *t->tok);
    t->tok_len = calloc((size_t)vocab, sizeof *t->tok_len);
    t->type = calloc((size_t)vocab, sizeof *t->type);
    t->score = calloc((size_t)vocab, sizeof *t->score);
    if (!t->tok || !t->tok_len || !t->type || !t->score) return tb_fail(e, "%s: out of memory", path);
    for (size_t i = 0; i < vocab_o->len; i++) {
        double id = vocab_o->items[i]->number;
        if (vocab_o->items[i]->type != TB_JSON_NUMBER || id < 0 || id >= vocab || id != floor(id) || t->tok[(int)id])
            return tb_fail(e, "%s: model.vocab entry '%.60s' has a bad or duplicate id", path, vocab_o->keys[i]);
        t->tok[(int)id] = vocab_o->keys[i];
        t->tok_len[(int)id] = strlen(vocab_o->keys[i]);
        t->type[(int)id] = 1;
    }
    for (size_t i = 0; i < n_added; i++) {
        const tb_json *a = added->items[i];
        const tb_json *idv = tb_json_get(a, "id"), *content = tb_json_get(a, "content"), *sp = tb_json_get(a, "special");
        if (!idv || idv->type != TB_JSON_NUMBER || !content || content->type != TB_JSON_STRING)
            return tb_fail(e, "%s: added_tokens[%zu] lacks id or content", path, i);
        double id = idv->number;
        if (id < 0 || id >= vocab || id != floor(id) || t->tok[(int)id])
            return tb_fail(e, "%s: added_tokens[%zu] has a bad or duplicate id", path, i);
        t->tok[(int)id] = content->str;
        t->tok_len[(int)id] = content->len;
        t->type[(int)id] = sp && sp->type == TB_JSON_BOOL && sp->boolean ? 3 : 4; /* control / user-defined */
        t->score[(int)id] = -1000.0f;
    }
    for (int i = 0; i < vocab; i++)
        if (!t->tok[i]) return tb_fail(e, "%s: token id %d is missing", path, i);
    t->n_merge = merges->len;
    t->merge = calloc(t->n_merge ? t->n_merge : 1, sizeof *t->merge);
    t->merge_len = calloc(t->n_merge ? t->n_merge : 1, sizeof *t->merge_len);
    t->merge_owned = calloc(t->n_merge ? t->n_merge : 1, 1);
    if (!t->merge || !t->merge_len || !t->merge_owned) return tb_fail(e, "%s: out of memory", path);
    for (uint64_t i = 0; i < t->n_merge; i++) {
        const tb_json *mg = merges->items[i];
        if (mg->type == TB_JSON_STRING) { /* "a b" */
            t->merge[i] = mg->str;
            t->merge_len[i] = mg->len;
        } else if (mg->type == TB_JSON_ARRAY && mg->len == 2 && mg->items[0]->type == TB_JSON_STRING &&
                   mg->items[1]->type == TB_JSON_STRING) { /* ["a", "b"] */
            size_t la = mg->items[0]->len, lb = mg->items[1]->len;
            char *s = malloc(la + lb + 2);
            if (!s) return tb_fail(e, "%s: out of memory", path);
            memcpy(s, mg->items[0]->str, la);
            s[la] = ' ';
            memcpy(s + la + 1, mg->items[1]->str, lb);
            s[la + lb + 1] = 0;
            t->merge[i] = s;
            t->merge_len[i] = la + lb + 1;
            t->merge_owned[i] = 1;
        } else {
            return tb_fail(e, "%s: model.merges[%" PRIu64 "] is neither \"a b\" nor [a, b]", path, i);
        }
    }
    return 0;
}

/* ---- shape checks ------------------------------------------------------------ */
int tb_synth_check(const tb_synth_opts *o, tb_err *e) {
    const tb_config *c = &o->cfg;
    if (tb__check_config(c, "synth", e) < 0) return -1;
    for (int k = 0; k < TB_LIN_COUNT; k++) {
        int32_t rows, cols;
        tb__lin_shape(c, k, &rows, &cols);
        if (o->format == TB_SYNTH_GGUF && ((int64_t)rows * cols) % 128)
            return tb_fail(e, "%s is %d x %d: I2_S needs rows*cols %% 128 == 0", tb_lin_names[k], rows, cols);
        if (o->format == TB_SYNTH_HF && rows % 4)
            return tb_fail(e, "%s has %d rows: the HF packed layout needs rows %% 4 == 0", tb_lin_names[k], rows);
    }
    return 0;
}

/* ---- the content of every tensor: the generator, or a loaded model (convert) ------ */
static void src_norm(const tb_synth_opts *o, int layer, int which, int n, float *out) {
    if (!o->from) {
        synth_norm(o->seed, layer < 0 ? 1 : tb_synth_index_norm(layer, which), n, out);
        return;
    }
    const float *v = o->from->output_norm;
    if (layer >= 0) {
        const tb_layer *L = &o->from->layer[layer];
        v = which == 0 ? L->attn_norm : which == 1 ? L->attn_sub_norm : which == 2 ? L->ffn_norm : L->ffn_sub_norm;
    }
    memcpy(out, v, sizeof(float) * (size_t)n);
}

static void src_codes(const tb_synth_opts *o, int layer, int lin, int rows, int cols, int8_t *codes, float *scale) {
    if (!o->from) {
        tb_synth_codes(o->seed, tb_synth_index_lin(layer, lin), rows, cols, codes, scale);
        return;
    }
    const tb_ternary *t = &o->from->layer[layer].lin[lin];
    for (int r = 0; r < rows; r++) tb_ternary_row(t, r, codes + (size_t)r * (size_t)cols);
    *scale = t->scale;
}

static float src_scale(const tb_synth_opts *o, int layer, int lin) {
    return o->from ? o->from->layer[layer].lin[lin].scale : synth_scale_only(o->seed, tb_synth_index_lin(layer, lin));
}

/* Rows [r0, r0 + nr) of the embedding in f16 (bf16 = 0) or bf16 bits.  A converted value
 * that the encoding cannot hold exactly is an error (a silent rounding would change the model). */
static int src_embd(const tb_synth_opts *o, const embd_table *et, tb_rng *er, int r0, int nr, int bf16,
                    uint16_t *out, float *row, tb_err *e) {
    const int h = o->cfg.hidden;
    if (!o->from) {
        for (size_t i = 0; i < (size_t)nr * (size_t)h; i++) out[i] = (bf16 ? et->bf16 : et->f16)[embd_draw(et, er)];
        return 0;
    }
    for (int r = 0; r < nr; r++) {
        tb_model_embed_row(o->from, r0 + r, row);
        for (int i = 0; i < h; i++) {
            uint16_t x = bf16 ? tb_f32_to_bf16(row[i]) : tb_f32_to_f16(row[i]);
            float back = bf16 ? tb_bf16_to_f32(x) : tb_f16_to_f32(x);
            if (back != row[i] && !(back != back && row[i] != row[i]))
                return tb_fail(e, "%s: token_embd row %d column %d = %.9g is not exact in %s; not converted",
                               o->from->path, r0 + r, i, (double)row[i], bf16 ? "BF16" : "F16");
            out[(size_t)r * (size_t)h + (size_t)i] = x;
        }
    }
    return 0;
}

/* A float tensor (norm, scale) must be exact in the output encoding too. */
static int src_exact_bf16(const tb_synth_opts *o, const char *what, const float *v, int n, tb_err *e) {
    if (!o->from) return 0;
    for (int i = 0; i < n; i++)
        if (tb_bf16_to_f32(tb_f32_to_bf16(v[i])) != v[i])
            return tb_fail(e, "%s: %s[%d] = %.9g is not exact in BF16; not converted", o->from->path, what, i,
                           (double)v[i]);
    return 0;
}

typedef struct {
    const tb_synth_opts *o;
    uint64_t done, total;
} progress;

static void report(progress *p, const char *name, uint64_t bytes) {
    p->done += bytes;
    if (p->o->progress) p->o->progress(p->o->progress_ctx, name, p->done, p->total);
}

#define EMBD_CHUNK_ROWS 1024

/* ---- GGUF -------------------------------------------------------------------- */
static const char *const gguf_lin[TB_LIN_COUNT] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                                    "ffn_gate", "ffn_up", "ffn_down"};

static int write_gguf(const tb_synth_opts *o, const synth_tok *tok, tb_err *e) {
    const tb_config *c = &o->cfg;
    const char *arch = c->ffn_act == TB_ACT_SILU ? "bitnet" : "bitnet-b1.58"; /* the arch sets the activation */
    char key[128], name[96];
    tb_gguf_writer *w = tb_gguf_writer_new();
    if (!w) return tb_fail(e, "%s: out of memory", o->out);
#define AKEY(s) (snprintf(key, sizeof key, "%s.%s", arch, s), key)
    tb_gguf_w_str(w, "general.architecture", arch);
    tb_gguf_w_str(w, "general.name", o->from ? "ternbench-convert" : "ternbench-synth");
    tb_gguf_w_u32(w, AKEY("vocab_size"), (uint32_t)c->vocab);
    tb_gguf_w_u32(w, AKEY("context_length"), (uint32_t)c->ctx);
    tb_gguf_w_u32(w, AKEY("embedding_length"), (uint32_t)c->hidden);
    tb_gguf_w_u32(w, AKEY("block_count"), (uint32_t)c->layers);
    tb_gguf_w_u32(w, AKEY("feed_forward_length"), (uint32_t)c->ffn);
    tb_gguf_w_u32(w, AKEY("rope.dimension_count"), (uint32_t)c->head_dim);
    tb_gguf_w_u32(w, AKEY("attention.head_count"), (uint32_t)c->heads);
    tb_gguf_w_u32(w, AKEY("attention.head_count_kv"), (uint32_t)c->kv_heads);
    tb_gguf_w_bool(w, "tokenizer.ggml.add_bos_token", true);
    tb_gguf_w_f32(w, AKEY("attention.layer_norm_rms_epsilon"), c->norm_eps);
    tb_gguf_w_f32(w, AKEY("rope.freq_base"), c->rope_theta);
    tb_gguf_w_u32(w, "general.file_type", 40); /* mostly I2_S */
#undef AKEY
    if (tok) {
        tb_gguf_w_str(w, "tokenizer.ggml.model", "gpt2");
        tb_gguf_w_arr_str(w, "tokenizer.ggml.tokens", tok->tok, tok->tok_len, (uint64_t)c->vocab);
        tb_gguf_w_arr_f32(w, "tokenizer.ggml.scores", tok->score, (uint64_t)c->vocab);
        tb_gguf_w_arr_i32(w, "tokenizer.ggml.token_type", tok->type, (uint64_t)c->vocab);
        tb_gguf_w_arr_str(w, "tokenizer.ggml.merges", (const char *const *)tok->merge, tok->merge_len, tok->n_merge);
    }
    if (c->bos >= 0 && c->bos < c->vocab) tb_gguf_w_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)c->bos);
    if (c->eos >= 0 && c->eos < c->vocab) tb_gguf_w_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)c->eos);
    tb_gguf_w_u32(w, "general.quantization_version", 2);
    char seed_s[24]; /* 20 digits, zero-padded: every seed gives a file of the same size and layout */
    snprintf(seed_s, sizeof seed_s, "%020llu", (unsigned long long)o->seed);
    if (o->from) {
        tb_gguf_w_str(w, "ternbench.converted_from", o->from->format); /* e.g. hf-bf16-online: ternarized at load */
    } else {
        tb_gguf_w_u32(w, "ternbench.synth.version", TB_SYNTH_VERSION);
        tb_gguf_w_str(w, "ternbench.synth.seed", seed_s);
    }

    /* tensor infos, in bitnet.cpp's order */
    progress pr = {o, 0, 0};
    tb_gguf_w_tensor(w, "token_embd.weight", TB_GGML_F16, (uint64_t)c->hidden, (uint64_t)c->vocab);
    pr.total += (uint64_t)c->hidden * (uint64_t)c->vocab * 2;
    for (int l = 0; l < c->layers; l++) {
        static const int order[11] = {-1, 0, 1, 2, 3, -2, -3, 4, 5, 6, -4}; /* <0: norm -(i+1), else lin */
        static const char *const norm_names[4] = {"attn_norm", "attn_sub_norm", "ffn_norm", "ffn_sub_norm"};
        for (int j = 0; j < 11; j++) {
            if (order[j] < 0) {
                int which = -order[j] - 1;
                snprintf(name, sizeof name, "blk.%d.%s.weight", l, norm_names[which]);
                int n = which == 3 ? c->ffn : c->hidden;
                tb_gguf_w_tensor(w, name, TB_GGML_F32, (uint64_t)n, 0);
                pr.total += (uint64_t)n * 4;
            } else {
                int32_t rows, cols;
                tb__lin_shape(c, order[j], &rows, &cols);
                snprintf(name, sizeof name, "blk.%d.%s.weight", l, gguf_lin[order[j]]);
                tb_gguf_w_tensor(w, name, TB_GGML_I2_S, (uint64_t)cols, (uint64_t)rows);
                pr.total += tb_i2s_nbytes(rows, cols);
            }
        }
    }
    tb_gguf_w_tensor(w, "output_norm.weight", TB_GGML_F32, (uint64_t)c->hidden, 0);
    pr.total += (uint64_t)c->hidden * 4;

    int rc = -1;
    int32_t maxr = c->ffn > c->hidden ? c->ffn : c->hidden;
    size_t max_lin = (size_t)maxr * (size_t)(c->ffn > c->hidden ? c->ffn : c->hidden); /* upper bound */
    int8_t *codes = malloc(max_lin);                /* (rows, cols) of the largest linear */
    uint8_t *packed = malloc(max_lin / 4 + 64);     /* its packed bytes (+ I2_S scale block) */
    float *normv = malloc(sizeof(float) * (size_t)maxr); /* (hidden or ffn) */
    uint16_t *half = malloc(sizeof(uint16_t) * (size_t)c->hidden * EMBD_CHUNK_ROWS); /* (chunk rows, hidden) */
    embd_table et;
    int et_ok = embd_table_init(&et) == 0;
    if (!codes || !packed || !normv || !half || !et_ok) {
        tb_fail(e, "%s: out of memory", o->out);
        goto done;
    }
    if (tb_gguf_w_begin(w, o->out, e) < 0) goto done;

    /* token_embd: one stream, streamed in chunks of rows */
    tb_rng er;
    tensor_rng(&er, o->seed, 0);
    for (int r0 = 0; r0 < c->vocab; r0 += EMBD_CHUNK_ROWS) {
        int nr = c->vocab - r0 < EMBD_CHUNK_ROWS ? c->vocab - r0 : EMBD_CHUNK_ROWS;
        size_t n = (size_t)nr * (size_t)c->hidden;
        if (src_embd(o, &et, &er, r0, nr, 0, half, normv, e) < 0) goto done;
        if (tb_gguf_w_data(w, half, n * 2, e) < 0) goto done;
        report(&pr, "token_embd.weight", n * 2);
    }
    for (int l = 0; l < c->layers; l++) {
        static const int order[11] = {-1, 0, 1, 2, 3, -2, -3, 4, 5, 6, -4};
        for (int j = 0; j < 11; j++) {
            if (order[j] < 0) {
                int which = -order[j] - 1, n = which == 3 ? c->ffn : c->hidden;
                src_norm(o, l, which, n, normv);
                if (tb_gguf_w_data(w, normv, sizeof(float) * (size_t)n, e) < 0) goto done;
                report(&pr, "norm", (uint64_t)n * 4);
            } else {
                int32_t rows, cols;
                float scale;
                tb__lin_shape(c, order[j], &rows, &cols);
                src_codes(o, l, order[j], rows, cols, codes, &scale);
                tb_i2s_pack(codes, rows, cols, scale, packed);
                if (tb_gguf_w_data(w, packed, tb_i2s_nbytes(rows, cols), e) < 0) goto done;
                snprintf(name, sizeof name, "blk.%d.%s.weight", l, gguf_lin[order[j]]);
                report(&pr, name, tb_i2s_nbytes(rows, cols));
            }
        }
    }
    src_norm(o, -1, 0, c->hidden, normv);
    if (tb_gguf_w_data(w, normv, sizeof(float) * (size_t)c->hidden, e) < 0) goto done;
    report(&pr, "output_norm.weight", (uint64_t)c->hidden * 4);
    rc = tb_gguf_w_end(w, e);
done:
    tb_gguf_writer_free(w); /* removes the temp file if not finished */
    if (et_ok) embd_table_free(&et);
    free(codes);
    free(packed);
    free(normv);
    free(half);
    return rc;
}

/* ---- HF ------------------------------------------------------------------------ */
static const char *const hf_lin[TB_LIN_COUNT] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                                  "self_attn.o_proj", "mlp.gate_proj",   "mlp.up_proj",
                                                  "mlp.down_proj"};
static const char *const hf_norm_names[4] = {"input_layernorm", "self_attn.attn_sub_norm", "post_attention_layernorm",
                                             "mlp.ffn_sub_norm"};

typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) { b->oom = 1; return; }
        if (b->s && b->len + (size_t)n < b->cap) { b->len += (size_t)n; return; }
        size_t nc = b->cap ? b->cap * 2 : 4096;
        while (nc <= b->len + (size_t)n) nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) { b->oom = 1; return; }
        b->s = ns;
        b->cap = nc;
    }
}

static int copy_file(const char *src, const char *dst, tb_err *e) {
    char *data;
    size_t n;
    if (tb_read_file(src, &data, &n, e) < 0) return -1;
    FILE *f = fopen(dst, "wb");
    if (!f) {
        free(data);
        return tb_fail(e, "%s: cannot create: %s", dst, strerror(errno));
    }
    int bad = fwrite(data, 1, n, f) != n;
    bad |= fclose(f) != 0;
    free(data);
    if (bad) {
        unlink(dst);
        return tb_fail(e, "%s: write failed", dst);
    }
    return 0;
}

static int write_hf(const tb_synth_opts *o, tb_err *e) {
    const tb_config *c = &o->cfg;
    char cfg_path[1100], st_path[1100], st_tmp[1100], tok_path[1100];
    struct stat st;
    int made_dir = 0;
    if (stat(o->out, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return tb_fail(e, "%s: exists and is not a directory", o->out);
    } else {
        if (mkdir(o->out, 0777) != 0) return tb_fail(e, "%s: cannot create directory: %s", o->out, strerror(errno));
        made_dir = 1;
    }
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", o->out);
    snprintf(st_path, sizeof st_path, "%s/model.safetensors", o->out);
    snprintf(st_tmp, sizeof st_tmp, "%s/model.safetensors.tmp", o->out);
    snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", o->out);

    /* ---- safetensors header: 2-byte tensors first (keeps them aligned), then uint8 ---- */
    sbuf h = {0};
    uint64_t off = 0, total;
    char name[160];
#define ENTRY(nm, dt, shape_fmt, nbytes, ...)                                                                    \
    do {                                                                                                         \
        sb_printf(&h, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":" shape_fmt ",\"data_offsets\":[%" PRIu64 ",%" PRIu64 \
                      "]}",                                                                                      \
                  h.len > 1 ? "," : "", nm, dt, __VA_ARGS__, off, off + (uint64_t)(nbytes));                     \
        off += (uint64_t)(nbytes);                                                                               \
    } while (0)
    sb_printf(&h, "{");
    ENTRY("model.embed_tokens.weight", "BF16", "[%d,%d]", (uint64_t)c->vocab * (uint64_t)c->hidden * 2, c->vocab,
          c->hidden);
    ENTRY("model.norm.weight", "BF16", "[%d]", (uint64_t)c->hidden * 2, c->hidden);
    for (int l = 0; l < c->layers; l++)
        for (int k = 0; k < 4; k++) {
            int n = k == 3 ? c->ffn : c->hidden;
            snprintf(name, sizeof name, "model.layers.%d.%s.weight", l, hf_norm_names[k]);
            ENTRY(name, "BF16", "[%d]", (uint64_t)n * 2, n);
        }
    for (int l = 0; l < c->layers; l++)
        for (int k = 0; k < TB_LIN_COUNT; k++) {
            snprintf(name, sizeof name, "model.layers.%d.%s.weight_scale", l, hf_lin[k]);
            ENTRY(name, "BF16", "[%d]", 2, 1);
        }
    for (int l = 0; l < c->layers; l++)
        for (int k = 0; k < TB_LIN_COUNT; k++) {
            int32_t rows, cols;
            tb__lin_shape(c, k, &rows, &cols);
            snprintf(name, sizeof name, "model.layers.%d.%s.weight", l, hf_lin[k]);
            ENTRY(name, "U8", "[%d,%d]", (uint64_t)(rows / 4) * (uint64_t)cols, rows / 4, cols);
        }
#undef ENTRY
    sb_printf(&h, "}");
    while ((8 + h.len) % 8) sb_printf(&h, " "); /* data starts 8-byte aligned */
    total = off;
    if (h.oom) {
        free(h.s);
        if (made_dir) rmdir(o->out);
        return tb_fail(e, "%s: out of memory", o->out);
    }

    int rc = -1;
    progress pr = {o, 0, total};
    int32_t maxr = c->ffn > c->hidden ? c->ffn : c->hidden;
    size_t max_lin = (size_t)maxr * (size_t)maxr;
    int8_t *codes = malloc(max_lin);                /* (rows, cols) of the largest linear */
    uint8_t *packed = malloc(max_lin / 4 + 64);     /* its packed bytes (+ I2_S scale block) */
    float *normv = malloc(sizeof(float) * (size_t)maxr); /* (hidden or ffn) */
    uint16_t *half = malloc(sizeof(uint16_t) * (size_t)c->hidden * EMBD_CHUNK_ROWS); /* (chunk rows, hidden) */
    FILE *f = NULL;
    embd_table et;
    int et_ok = embd_table_init(&et) == 0;
    if (!codes || !packed || !normv || !half || !et_ok) {
        tb_fail(e, "%s: out of memory", o->out);
        goto done;
    }
    f = fopen(st_tmp, "wb");
    if (!f) {
        tb_fail(e, "%s: cannot create: %s", st_tmp, strerror(errno));
        goto done;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    uint64_t hl = h.len;
    int bad = fwrite(&hl, 8, 1, f) != 1 || fwrite(h.s, 1, h.len, f) != h.len;
    /* embedding */
    tb_rng er;
    tensor_rng(&er, o->seed, 0);
    for (int r0 = 0; r0 < c->vocab && !bad; r0 += EMBD_CHUNK_ROWS) {
        int nr = c->vocab - r0 < EMBD_CHUNK_ROWS ? c->vocab - r0 : EMBD_CHUNK_ROWS;
        size_t n = (size_t)nr * (size_t)c->hidden;
        if (src_embd(o, &et, &er, r0, nr, 1, half, normv, e) < 0) goto done;
        bad |= fwrite(half, 2, n, f) != n;
        report(&pr, "model.embed_tokens.weight", n * 2);
    }
    /* norms */
    src_norm(o, -1, 0, c->hidden, normv);
    if (src_exact_bf16(o, "output_norm", normv, c->hidden, e) < 0) goto done;
    for (int i = 0; i < c->hidden; i++) half[i] = tb_f32_to_bf16(normv[i]);
    bad |= fwrite(half, 2, (size_t)c->hidden, f) != (size_t)c->hidden;
    for (int l = 0; l < c->layers && !bad; l++)
        for (int k = 0; k < 4; k++) {
            int n = k == 3 ? c->ffn : c->hidden;
            src_norm(o, l, k, n, normv);
            if (src_exact_bf16(o, hf_norm_names[k], normv, n, e) < 0) goto done;
            for (int i = 0; i < n; i++) half[i] = tb_f32_to_bf16(normv[i]);
            bad |= fwrite(half, 2, (size_t)n, f) != (size_t)n;
        }
    /* scales, then packed codes */
    for (int l = 0; l < c->layers && !bad; l++)
        for (int k = 0; k < TB_LIN_COUNT; k++) {
            const float sc = src_scale(o, l, k);
            if (src_exact_bf16(o, hf_lin[k], &sc, 1, e) < 0) goto done;
            uint16_t sb = tb_f32_to_bf16(sc);
            bad |= fwrite(&sb, 2, 1, f) != 1;
        }
    report(&pr, "norms and scales",
           2 * ((uint64_t)c->hidden + (uint64_t)c->layers * (3 * (uint64_t)c->hidden + (uint64_t)c->ffn + TB_LIN_COUNT)));
    for (int l = 0; l < c->layers && !bad; l++)
        for (int k = 0; k < TB_LIN_COUNT && !bad; k++) {
            int32_t rows, cols;
            float scale;
            tb__lin_shape(c, k, &rows, &cols);
            src_codes(o, l, k, rows, cols, codes, &scale);
            tb_hf_pack(codes, rows, cols, packed);
            size_t nb = (size_t)(rows / 4) * (size_t)cols;
            bad |= fwrite(packed, 1, nb, f) != nb;
            snprintf(name, sizeof name, "model.layers.%d.%s.weight", l, hf_lin[k]);
            report(&pr, name, nb);
        }
    bad |= fclose(f) != 0;
    f = NULL;
    if (bad) {
        tb_fail(e, "%s: write failed: %s", st_tmp, strerror(errno));
        goto done;
    }

    /* config.json */
    FILE *cf = fopen(cfg_path, "w");
    if (!cf) {
        tb_fail(e, "%s: cannot create: %s", cfg_path, strerror(errno));
        goto done;
    }
    fprintf(cf,
            "{\n  \"architectures\": [\"BitNetForCausalLM\"],\n  \"model_type\": \"bitnet\",\n"
            "  \"hidden_act\": \"%s\",\n  \"hidden_size\": %d,\n  \"intermediate_size\": %d,\n"
            "  \"num_hidden_layers\": %d,\n  \"num_attention_heads\": %d,\n  \"num_key_value_heads\": %d,\n"
            "  \"vocab_size\": %d,\n  \"max_position_embeddings\": %d,\n  \"rope_theta\": %.9g,\n"
            "  \"rms_norm_eps\": %.9g,\n  \"bos_token_id\": %d,\n  \"eos_token_id\": %d,\n"
            "  \"tie_word_embeddings\": true,\n  \"torch_dtype\": \"bfloat16\",\n"
            "  \"quantization_config\": {\"quant_method\": \"bitnet\", \"linear_class\": \"autobitlinear\", "
            "\"quantization_mode\": \"offline\"},\n",
            tb_ffn_act_name(c->ffn_act), c->hidden, c->ffn, c->layers, c->heads, c->kv_heads, c->vocab, c->ctx,
            (double)c->rope_theta, (double)c->norm_eps, c->bos, c->eos);
    if (o->from)
        fprintf(cf, "  \"ternbench_converted_from\": \"%s\"\n}\n", o->from->format);
    else
        fprintf(cf, "  \"ternbench_synth\": {\"version\": %d, \"seed\": \"%llu\"}\n}\n", TB_SYNTH_VERSION,
                (unsigned long long)o->seed);
    if (fclose(cf) != 0) {
        tb_fail(e, "%s: write failed", cfg_path);
        unlink(cfg_path);
        goto done;
    }
    if (o->tokenizer_json && copy_file(o->tokenizer_json, tok_path, e) < 0) {
        unlink(cfg_path);
        goto done;
    }
    if (rename(st_tmp, st_path) != 0) {
        tb_fail(e, "%s: cannot rename: %s", st_path, strerror(errno));
        unlink(cfg_path);
        if (o->tokenizer_json) unlink(tok_path);
        goto done;
    }
    if (o->tokenizer_json) {
        /* The Llama-3 tokenizer data is under the Meta Llama 3 Community License: a copy of
         * it travels with its licence (taken from beside the source tokenizer.json when
         * present) and the notice the licence asks for. */
        char lic_src[1200], lic_dst[1200], notice[1200];
        const char *slash = strrchr(o->tokenizer_json, '/');
        int dl = slash ? (int)(slash - o->tokenizer_json) : 1;
        snprintf(lic_src, sizeof lic_src, "%.*s/LICENSE", dl, slash ? o->tokenizer_json : ".");
        snprintf(lic_dst, sizeof lic_dst, "%s/LICENSE", o->out);
        snprintf(notice, sizeof notice, "%s/NOTICE", o->out);
        if (access(lic_src, R_OK) == 0) copy_file(lic_src, lic_dst, NULL);
        FILE *nf = fopen(notice, "w");
        if (nf) {
            fputs(o->from ? "BitNet b1.58 model converted by ternbench convert.\n"
                          : "Synthetic BitNet b1.58 model written by ternbench synth (random weights).\n",
                  nf);
            fputs(
                  "tokenizer.json: the Llama-3 tokenizer. Built with Meta Llama 3.\n"
                  "It is licensed under the Meta Llama 3 Community License (LICENSE, when present).\n",
                  nf);
            fclose(nf);
        }
    }
    rc = 0;
done:
    if (f) fclose(f);
    if (rc < 0) {
        unlink(st_tmp);
        if (made_dir) rmdir(o->out);
    }
    if (et_ok) embd_table_free(&et);
    free(h.s);
    free(codes);
    free(packed);
    free(normv);
    free(half);
    return rc;
}

int tb_synth_write(const tb_synth_opts *o, tb_err *e) {
    if (tb_synth_check(o, e) < 0) return -1;
    if (o->format == TB_SYNTH_HF) {
        if (o->tokenizer_json) { /* validate the vocabulary size before writing anything */
            synth_tok tok;
            int rc = tok_load(&tok, o->tokenizer_json, o->cfg.vocab, e);
            tok_free(&tok);
            if (rc < 0) return -1;
        }
        return write_hf(o, e);
    }
    synth_tok tok;
    memset(&tok, 0, sizeof tok);
    if (o->tokenizer_json && tok_load(&tok, o->tokenizer_json, o->cfg.vocab, e) < 0) {
        tok_free(&tok);
        return -1;
    }
    int rc = write_gguf(o, o->tokenizer_json ? &tok : NULL, e);
    tok_free(&tok);
    return rc;
}
