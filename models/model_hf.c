/* model_hf.c: Hugging Face checkpoint loader (docs/formats.md §2): <dir>/config.json +
 * <dir>/model.safetensors, either packed ("offline": uint8 [out/4, in] + a
 * `.weight_scale` scalar) or the bf16 master ("online": bf16 [out, in] latent
 * weights, ternarized here with absmean into owned int8 codes).
 *
 * safetensors: u64 LE header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
 * then the data; offsets are relative to the start of the data.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "model_internal.h"

enum { ST_U8, ST_I8, ST_BOOL, ST_F16, ST_BF16, ST_I16, ST_U16, ST_F32, ST_I32, ST_U32, ST_F64, ST_I64, ST_U64, ST_F8 };
static const struct { const char *name; int size; } st_dtypes[] = {
    [ST_U8] = {"U8", 1},   [ST_I8] = {"I8", 1},   [ST_BOOL] = {"BOOL", 1}, [ST_F16] = {"F16", 2},
    [ST_BF16] = {"BF16", 2}, [ST_I16] = {"I16", 2}, [ST_U16] = {"U16", 2},  [ST_F32] = {"F32", 4},
    [ST_I32] = {"I32", 4}, [ST_U32] = {"U32", 4}, [ST_F64] = {"F64", 8},  [ST_I64] = {"I64", 8},
    [ST_U64] = {"U64", 8}, [ST_F8] = {"F8_E4M3", 1},
};

typedef struct {
    const char *name;     /* key in the parsed header (lives while the JSON does) */
    int dtype;            /* ST_* */
    int ndim;
    int64_t shape[4];
    uint64_t begin, end;  /* relative to the data section */
    const uint8_t *data;  /* absolute, in the mapping */
} st_tensor;

typedef struct {
    const char *path;
    tb_json *hdr;
    st_tensor *t;
    size_t n;
} st_file;

static int cmp_begin(const void *a, const void *b) {
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* A JSON number that is a non-negative integer below 2^53. */
static int json_uint(const tb_json *v, uint64_t *out) {
    if (!v || v->type != TB_JSON_NUMBER || !(v->number >= 0) || v->number > 9007199254740992.0 ||
        v->number != floor(v->number))
        return -1;
    *out = (uint64_t)v->number;
    return 0;
}

static int st_parse(st_file *f, const tb_map *map, tb_err *e) {
    const char *path = f->path;
    if (map->size < 8) return tb_fail(e, "%s: truncated file (no header length)", path);
    uint64_t hl;
    memcpy(&hl, map->data, 8);
    if (hl > map->size - 8) return tb_fail(e, "%s: truncated file: header length %" PRIu64 " exceeds the file", path, hl);
    if (hl > (100u << 20)) return tb_fail(e, "%s: header length %" PRIu64 " is implausibly large", path, hl);
    tb_err je;
    f->hdr = tb_json_parse((const char *)map->data + 8, (size_t)hl, &je);
    if (!f->hdr) return tb_fail(e, "%s: bad header: %s", path, je.msg);
    if (f->hdr->type != TB_JSON_OBJECT) return tb_fail(e, "%s: bad header: not a JSON object", path);
    const uint8_t *data = map->data + 8 + hl;
    uint64_t data_size = map->size - 8 - hl;
    f->t = calloc(f->hdr->len ? f->hdr->len : 1, sizeof *f->t);
    if (!f->t) return tb_fail(e, "%s: out of memory", path);
    for (size_t i = 0; i < f->hdr->len; i++) {
        const char *name = f->hdr->keys[i];
        const tb_json *o = f->hdr->items[i];
        if (!strcmp(name, "__metadata__")) continue;
        st_tensor *t = &f->t[f->n];
        t->name = name;
        const char *dt = tb_json_get_str(o, "dtype");
        const tb_json *shape = tb_json_get(o, "shape"), *offs = tb_json_get(o, "data_offsets");
        if (!dt || !shape || shape->type != TB_JSON_ARRAY || !offs || offs->type != TB_JSON_ARRAY || offs->len != 2)
            return tb_fail(e, "%s: tensor %.200s: header entry lacks dtype, shape or data_offsets", path, name);
        t->dtype = -1;
        for (int d = 0; d < (int)(sizeof st_dtypes / sizeof st_dtypes[0]); d++)
            if (!strcmp(dt, st_dtypes[d].name)) t->dtype = d;
        if (t->dtype < 0) return tb_fail(e, "%s: tensor %.200s: unsupported dtype %.40s", path, name, dt);
        if (shape->len > 4) return tb_fail(e, "%s: tensor %.200s: too many dimensions (%zu)", path, name, shape->len);
        t->ndim = (int)shape->len;
        uint64_t n = 1;
        for (int d = 0; d < t->ndim; d++) {
            uint64_t s;
            if (json_uint(shape->items[d], &s) < 0 || s > (1ull << 40) || (s && n > (1ull << 52) / s))
                return tb_fail(e, "%s: tensor %.200s: bad shape", path, name);
            t->shape[d] = (int64_t)s;
            n *= s;
        }
        if (json_uint(offs->items[0], &t->begin) < 0 || json_uint(offs->items[1], &t->end) < 0 || t->begin > t->end)
            return tb_fail(e, "%s: tensor %.200s: bad data_offsets", path, name);
        if (t->end > data_size)
            return tb_fail(e,
                           "%s: tensor %.200s: data_offsets [%" PRIu64 ", %" PRIu64 "] out of bounds (data has %" PRIu64
                           " bytes; truncated file?)",
                           path, name, t->begin, t->end, data_size);
        if (t->end - t->begin != n * (uint64_t)st_dtypes[t->dtype].size)
            return tb_fail(e, "%s: tensor %.200s: data_offsets span %" PRIu64 " bytes, shape x dtype needs %" PRIu64,
                           path, name, t->end - t->begin, n * (uint64_t)st_dtypes[t->dtype].size);
        t->data = data + t->begin;
        f->n++;
    }
    /* no two tensors may share bytes */
    st_tensor **by = malloc(sizeof *by * (f->n ? f->n : 1));
    if (!by) return tb_fail(e, "%s: out of memory", path);
    for (size_t i = 0; i < f->n; i++) by[i] = &f->t[i];
    qsort(by, f->n, sizeof *by, cmp_begin);
    for (size_t i = 1; i < f->n; i++)
        if (by[i]->begin < by[i - 1]->end && by[i]->begin != by[i]->end && by[i - 1]->begin != by[i - 1]->end) {
            int rc = tb_fail(e, "%s: tensors %.200s and %.200s overlap", path, by[i - 1]->name, by[i]->name);
            free(by);
            return rc;
        }
    free(by);
    return 0;
}

static const st_tensor *st_find(const st_file *f, const char *name, tb_err *e) {
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) return &f->t[i];
    if (e) tb_fail(e, "%s: missing tensor %s", f->path, name);
    return NULL;
}

static float st_float(const st_tensor *t, size_t i) {
    const uint8_t *p = t->data;
    if (t->dtype == ST_F32) {
        float f;
        memcpy(&f, p + 4 * i, 4);
        return f;
    }
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    return t->dtype == ST_F16 ? tb_f16_to_f32(h) : tb_bf16_to_f32(h);
}

static int is_float(int dt) { return dt == ST_F32 || dt == ST_F16 || dt == ST_BF16; }

static float *hf_norm(tb_model *m, const st_file *f, const char *name, int n, tb_err *e) {
    const st_tensor *t = st_find(f, name, e);
    if (!t) return NULL;
    if (!is_float(t->dtype)) {
        tb_fail(e, "%s: tensor %s: wrong type %s (expected BF16, F16 or F32)", f->path, name, st_dtypes[t->dtype].name);
        return NULL;
    }
    if (t->ndim != 1 || t->shape[0] != n) {
        tb_fail(e, "%s: tensor %s: wrong shape (expected [%d])", f->path, name, n);
        return NULL;
    }
    float *v = tb__own(m, malloc(sizeof(float) * (size_t)n)); /* (n) */
    if (!v) {
        tb_fail(e, "%s: out of memory", f->path);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        v[i] = st_float(t, (size_t)i);
        if (!isfinite(v[i])) {
            tb_fail(e, "%s: tensor %s: non-finite value at %d", f->path, name, i);
            return NULL;
        }
    }
    return v;
}

float tb__ternarize_bf16(const void *w, int64_t rows, int64_t cols, int8_t *codes) {
    const int64_t n = rows * cols;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, (const uint8_t *)w + 2 * i, 2);
        sum += fabs((double)tb_bf16_to_f32(h));
    }
    float scale = (float)(sum / (double)n);
    if (!(scale >= 1e-5f)) scale = 1e-5f; /* also catches NaN */
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, (const uint8_t *)w + 2 * i, 2);
        float q = nearbyintf(tb_bf16_to_f32(h) / scale); /* default rounding: half to even */
        codes[i] = (int8_t)(q > 1.0f ? 1 : q < -1.0f ? -1 : q == q ? q : 0);
    }
    return scale;
}

static const char *const hf_lin_names[TB_LIN_COUNT] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                                        "self_attn.o_proj", "mlp.gate_proj",   "mlp.up_proj",
                                                        "mlp.down_proj"};

static int hf_linear(tb_model *m, const st_file *f, const char *base, int online, int32_t rows, int32_t cols,
                     tb_ternary *out, tb_err *e) {
    char name[200];
    snprintf(name, sizeof name, "%.160s.weight", base);
    const st_tensor *t = st_find(f, name, e);
    if (!t) return -1;
    out->name = tb__own_str(m, name);
    if (!out->name) return tb_fail(e, "%s: out of memory", f->path);
    out->rows = rows;
    out->cols = cols;
    if (online) {
        if (t->dtype != ST_BF16)
            return tb_fail(e, "%s: tensor %s: wrong type %s (quantization_mode online expects BF16 [out, in])",
                           f->path, name, st_dtypes[t->dtype].name);
        if (t->ndim != 2 || t->shape[0] != rows || t->shape[1] != cols)
            return tb_fail(e, "%s: tensor %s: wrong shape (expected [%d, %d])", f->path, name, rows, cols);
        int8_t *codes = tb__own(m, malloc((size_t)rows * (size_t)cols)); /* (rows, cols) */
        if (!codes) return tb_fail(e, "%s: out of memory", f->path);
        out->scale = tb__ternarize_bf16(t->data, rows, cols, codes);
        out->layout = TB_TERN_CODES;
        out->data = (const uint8_t *)codes;
        size_t i = 0, nw = (size_t)rows * (size_t)cols;
        while (i < nw && codes[i] == 0) i++;
        if (i == nw) return tb_fail(e, "%s: tensor %s: all-zero linear tensor (every weight is 0)", f->path, name);
        return 0;
    }
    if (rows % 4) return tb_fail(e, "%s: tensor %s: the HF packed layout needs rows %% 4 == 0 (rows %d)", f->path, name, rows);
    if (t->dtype != ST_U8)
        return tb_fail(e, "%s: tensor %s: wrong type %s (expected U8 packed [out/4, in])", f->path, name,
                       st_dtypes[t->dtype].name);
    if (t->ndim != 2 || t->shape[0] != rows / 4 || t->shape[1] != cols)
        return tb_fail(e, "%s: tensor %s: wrong shape (expected [%d, %d])", f->path, name, rows / 4, cols);
    char sname[200];
    snprintf(sname, sizeof sname, "%.160s.weight_scale", base);
    const st_tensor *s = st_find(f, sname, e);
    if (!s) return -1;
    int64_t sn = 1;
    for (int d = 0; d < s->ndim; d++) sn *= s->shape[d];
    if (!is_float(s->dtype) || sn != 1)
        return tb_fail(e, "%s: tensor %s: expected one BF16/F16/F32 value", f->path, sname);
    out->scale = st_float(s, 0);
    if (tb__check_scale(out->scale, f->path, sname, e) < 0) return -1;
    if (tb__check_packed_codes(t->data, (size_t)(rows / 4) * (size_t)cols, f->path, name, e) < 0) return -1;
    out->layout = TB_TERN_HF_PACKED;
    out->data = t->data;
    return 0;
}

/* Integer member of config.json; def < 0 means required. */
static int cfg_int(const tb_json *cfg, const char *key, int def, int *out, const char *path, tb_err *e) {
    const tb_json *v = tb_json_get(cfg, key);
    if (v && v->type == TB_JSON_ARRAY && v->len > 0) v = v->items[0]; /* e.g. eos_token_id: [128001, 128009] */
    if (!v || v->type == TB_JSON_NULL) {
        if (def < 0) return tb_fail(e, "%s: missing %s", path, key);
        *out = def;
        return 0;
    }
    uint64_t u;
    if (json_uint(v, &u) < 0 || u > INT32_MAX) return tb_fail(e, "%s: %s is not a valid non-negative integer", path, key);
    *out = (int)u;
    return 0;
}

static int cfg_float(const tb_json *cfg, const char *key, double def, float *out, const char *path, tb_err *e) {
    const tb_json *v = tb_json_get(cfg, key);
    if (!v) {
        if (def < 0) return tb_fail(e, "%s: missing %s", path, key);
        *out = (float)def;
        return 0;
    }
    if (v->type != TB_JSON_NUMBER) return tb_fail(e, "%s: %s is not a number", path, key);
    *out = (float)v->number;
    return 0;
}

static int load_hf(tb_model *m, const char *dir, st_file *f, tb_json **cfgp, tb_err *e) {
    char path[1100], stpath[1100];
    snprintf(path, sizeof path, "%s/config.json", dir);
    snprintf(stpath, sizeof stpath, "%s/model.safetensors", dir);
    char *text;
    size_t len;
    if (tb_read_file(path, &text, &len, e) < 0) return -1;
    tb_err je;
    tb_json *cfg = *cfgp = tb_json_parse(text, len, &je);
    free(text);
    if (!cfg) return tb_fail(e, "%s: %s", path, je.msg);
    if (cfg->type != TB_JSON_OBJECT) return tb_fail(e, "%s: not a JSON object", path);

    /* ---- config ---- */
    tb_config *c = &m->cfg;
    snprintf(c->arch, sizeof c->arch, "hf");
    const char *act = tb_json_get_str(cfg, "hidden_act");
    if (act && !strcmp(act, "relu2")) c->ffn_act = TB_ACT_RELU2;
    else if (act && !strcmp(act, "silu")) c->ffn_act = TB_ACT_SILU;
    else
        return tb_fail(e,
                       "%s: hidden_act must be \"relu2\" (BitNet b1.58 2B4T squared ReLU) or \"silu\" (1bitLLM "
                       "BitNet), got %s%.40s%s",
                       path, act ? "\"" : "", act ? act : "nothing", act ? "\"" : "");
    if (cfg_int(cfg, "hidden_size", -1, &c->hidden, path, e) < 0 ||
        cfg_int(cfg, "num_hidden_layers", -1, &c->layers, path, e) < 0 ||
        cfg_int(cfg, "num_attention_heads", -1, &c->heads, path, e) < 0 ||
        cfg_int(cfg, "intermediate_size", -1, &c->ffn, path, e) < 0 ||
        cfg_int(cfg, "vocab_size", -1, &c->vocab, path, e) < 0 ||
        cfg_int(cfg, "max_position_embeddings", -1, &c->ctx, path, e) < 0 ||
        cfg_float(cfg, "rope_theta", -1, &c->rope_theta, path, e) < 0 ||
        cfg_float(cfg, "rms_norm_eps", -1, &c->norm_eps, path, e) < 0 ||
        cfg_int(cfg, "bos_token_id", 128000, &c->bos, path, e) < 0 ||
        cfg_int(cfg, "eos_token_id", 128001, &c->eos, path, e) < 0)
        return -1;
    if (cfg_int(cfg, "num_key_value_heads", c->heads, &c->kv_heads, path, e) < 0) return -1;
    c->head_dim = c->heads > 0 ? c->hidden / c->heads : 0;
    int hd = c->head_dim;
    if (cfg_int(cfg, "head_dim", hd, &hd, path, e) < 0) return -1;
    if (hd != c->head_dim)
        return tb_fail(e, "%s: inconsistent head dims: head_dim %d != hidden_size/num_attention_heads %d", path, hd,
                       c->head_dim);
    c->eot = c->vocab > 128009 ? 128009 : c->eos;
    if (tb__check_config(c, path, e) < 0) return -1;
    int online = -1; /* -1: decide from the q_proj dtype */
    const tb_json *qc = tb_json_get(cfg, "quantization_config");
    const char *mode = qc ? tb_json_get_str(qc, "quantization_mode") : NULL;
    if (mode) {
        if (!strcmp(mode, "offline")) online = 0;
        else if (!strcmp(mode, "online")) online = 1;
        else return tb_fail(e, "%s: unknown quantization_mode \"%.40s\" (need offline or online)", path, mode);
    }

    /* ---- safetensors ---- */
    if (tb_map_file(stpath, &m->map, e) < 0) {
        char idx[1100];
        snprintf(idx, sizeof idx, "%s/model.safetensors.index.json", dir);
        if (access(idx, R_OK) == 0)
            return tb_fail(e, "%s: sharded checkpoints (model.safetensors.index.json) are not supported; "
                              "merge the shards into one model.safetensors", dir);
        return -1;
    }
    f->path = stpath;
    if (st_parse(f, &m->map, e) < 0) return -1;
    if (online < 0) {
        const st_tensor *q = st_find(f, "model.layers.0.self_attn.q_proj.weight", e);
        if (!q) return -1;
        online = q->dtype != ST_U8;
    }
    snprintf(m->format, sizeof m->format, online ? "hf-bf16-online" : "hf-packed");

    const st_tensor *te = st_find(f, "model.embed_tokens.weight", e);
    if (!te) return -1;
    if (!is_float(te->dtype))
        return tb_fail(e, "%s: tensor model.embed_tokens.weight: wrong type %s (expected BF16, F16 or F32)", stpath,
                       st_dtypes[te->dtype].name);
    if (te->ndim != 2 || te->shape[0] != c->vocab || te->shape[1] != c->hidden)
        return tb_fail(e, "%s: tensor model.embed_tokens.weight: wrong shape (expected [%d, %d])", stpath, c->vocab,
                       c->hidden);
    m->embd_type = te->dtype == ST_F32 ? TB_F32 : te->dtype == ST_F16 ? TB_F16 : TB_BF16;
    m->embd = te->data;
    if (!(m->output_norm = hf_norm(m, f, "model.norm.weight", c->hidden, e))) return -1;
    /* a checkpoint with more layers than config.json declares is a mismatch, not a smaller model */
    for (size_t i = 0; i < f->n; i++) {
        int li;
        if (sscanf(f->t[i].name, "model.layers.%d.", &li) == 1 && (li < 0 || li >= c->layers))
            return tb_fail(e, "%s: tensor %s is for layer %d, but config.json says num_hidden_layers = %d", stpath,
                           f->t[i].name, li, c->layers);
    }
    m->layer = tb__own(m, calloc((size_t)c->layers, sizeof *m->layer));
    if (!m->layer) return tb_fail(e, "%s: out of memory", stpath);
    char name[160];
    for (int l = 0; l < c->layers; l++) {
        tb_layer *L = &m->layer[l];
        snprintf(name, sizeof name, "model.layers.%d.input_layernorm.weight", l);
        if (!(L->attn_norm = hf_norm(m, f, name, c->hidden, e))) return -1;
        snprintf(name, sizeof name, "model.layers.%d.self_attn.attn_sub_norm.weight", l);
        if (!(L->attn_sub_norm = hf_norm(m, f, name, c->hidden, e))) return -1;
        snprintf(name, sizeof name, "model.layers.%d.post_attention_layernorm.weight", l);
        if (!(L->ffn_norm = hf_norm(m, f, name, c->hidden, e))) return -1;
        snprintf(name, sizeof name, "model.layers.%d.mlp.ffn_sub_norm.weight", l);
        if (!(L->ffn_sub_norm = hf_norm(m, f, name, c->ffn, e))) return -1;
        for (int k = 0; k < TB_LIN_COUNT; k++) {
            int32_t rows, cols;
            tb__lin_shape(c, k, &rows, &cols);
            snprintf(name, sizeof name, "model.layers.%d.%s", l, hf_lin_names[k]);
            if (hf_linear(m, f, name, online, rows, cols, &L->lin[k], e) < 0) return -1;
        }
    }
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    size_t pl = strlen(path);
    if (access(path, R_OK) == 0 && pl < sizeof m->tokenizer_json) memcpy(m->tokenizer_json, path, pl + 1);
    return 0;
}

int tb__load_hf(tb_model *m, const char *dir, tb_err *e) {
    st_file f = {0};
    tb_json *cfg = NULL;
    int rc = load_hf(m, dir, &f, &cfg, e);
    tb_json_free(cfg);
    tb_json_free(f.hdr);
    free(f.t);
    return rc;
}
