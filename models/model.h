/* model.h: the canonical in-memory BitNet b1.58 model (docs/architecture.md, docs/formats.md).
 *
 * Every loader (GGUF I2_S, HF packed safetensors, HF bf16 "online" master) fills
 * this one structure.  Ternary tensors are described, not copied: `data` points
 * into the memory-mapped file in its on-disk layout and tb_ternary_row() decodes
 * one row.  Kernels repack from the canonical codes into their own layouts.
 */
#ifndef TB_MODEL_H
#define TB_MODEL_H

#include "tb_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration ---------------------------------------------------- */
/* FFN activation on the gate branch: mid = act(gate) * up, then ffn_sub_norm and down. */
typedef enum {
    TB_ACT_RELU2 = 0, /* relu(g)^2: BitNet b1.58 2B4T (GGUF arch bitnet-b1.58 / bitnet-25, HF hidden_act "relu2") */
    TB_ACT_SILU = 1,  /* g / (1 + exp(-g)): llama.cpp arch "bitnet" (1bitLLM bitnet_b1_58-*), HF "silu" */
} tb_ffn_act;
const char *tb_ffn_act_name(int act); /* "relu2", "silu", or "unknown" */

typedef struct tb_config {
    char arch[32];    /* "bitnet-b1.58", "bitnet-25", "bitnet", or "hf" */
    int vocab;        /* 128256 */
    int hidden;       /* 2560 */
    int layers;       /* 30 */
    int heads;        /* 20 query heads */
    int kv_heads;     /* 5 KV heads (GQA: query head h uses KV head h / (heads/kv_heads)) */
    int head_dim;     /* 128 = hidden / heads */
    int ffn;          /* 6912 */
    int ctx;          /* 4096 */
    float rope_theta; /* 500000 */
    float norm_eps;   /* 1e-5 */
    int bos, eos, eot;/* 128000, 128001, 128009 */
    int ffn_act;      /* tb_ffn_act: TB_ACT_RELU2 (2B4T; 0, so zeroed configs keep it) or TB_ACT_SILU (arch "bitnet") */
} tb_config;

/* ---- ternary weight tensors ------------------------------------------- */
typedef enum {
    TB_TERN_I2S = 0,   /* GGUF I2_S bytes: 128-weight blocks of 32 bytes, code 0=-1 1=0 2=+1 (docs/formats.md §1) */
    TB_TERN_HF_PACKED, /* HF uint8 [rows/4][cols], packed along the output dim, code = w+1 (docs/formats.md §2) */
    TB_TERN_CODES,     /* int8 [rows][cols] with values -1, 0, +1 (owned; online ternarization, tests) */
} tb_tern_layout;

typedef struct tb_ternary {
    const char *name;      /* tensor name as in the file */
    int32_t rows, cols;    /* out x in (ggml ne1 x ne0) */
    float scale;           /* effective weight = code * scale; finite and > 0 */
    tb_tern_layout layout;
    const uint8_t *data;   /* in `layout`; lives as long as the model */
} tb_ternary;

/* Decodes row r into out[0..cols) with values in {-1, 0, +1}. */
void tb_ternary_row(const tb_ternary *t, int r, int8_t *out);

/* Packs codes [rows][cols] (values -1/0/+1) into the on-disk layouts.
 * i2s: dst has tb_i2s_nbytes(rows, cols) bytes; the f32 scale is written at
 *      byte rows*cols/4 and the 28 trailing bytes are zeroed.
 * hf:  dst has rows/4*cols bytes (rows must be a multiple of 4). */
size_t tb_i2s_nbytes(int64_t rows, int64_t cols);
void tb_i2s_pack(const int8_t *codes, int64_t rows, int64_t cols, float scale, uint8_t *dst);
void tb_hf_pack(const int8_t *codes, int64_t rows, int64_t cols, uint8_t *dst);

/* ---- model --------------------------------------------------------------- */
enum { TB_LIN_Q, TB_LIN_K, TB_LIN_V, TB_LIN_O, TB_LIN_GATE, TB_LIN_UP, TB_LIN_DOWN, TB_LIN_COUNT };
extern const char *const tb_lin_names[TB_LIN_COUNT]; /* "q", "k", "v", "o", "gate", "up", "down" */

typedef enum { TB_F32 = 0, TB_F16 = 1, TB_BF16 = 30 } tb_ftype; /* values match ggml / our own use */

typedef struct tb_layer {
    float *attn_norm;      /* (hidden) */
    float *attn_sub_norm;  /* (hidden) on the concatenated heads before o */
    float *ffn_norm;       /* (hidden) */
    float *ffn_sub_norm;   /* (ffn) on act(g)*u (cfg.ffn_act) before down */
    tb_ternary lin[TB_LIN_COUNT]; /* q (hidden,hidden) k,v (kv_heads*head_dim,hidden) o (hidden,hidden)
                                     gate,up (ffn,hidden) down (hidden,ffn) as (rows=out, cols=in) */
} tb_layer;

typedef struct tb_model {
    tb_config cfg;
    char format[32];        /* "gguf-i2_s", "hf-packed", "hf-bf16-online" (ternarized at load) */
    char path[1024];        /* the file or directory it was loaded from */

    tb_ftype embd_type;     /* TB_F16 (GGUF), TB_BF16 (HF) or TB_F32 */
    const void *embd;       /* (vocab, hidden), tied LM head, mapped */
    float *output_norm;     /* (hidden) */
    tb_layer *layer;        /* (layers) */

    struct tb_gguf *gguf;   /* the open GGUF (tokenizer metadata), or NULL for HF */
    char tokenizer_json[1024]; /* HF: <dir>/tokenizer.json if present, else "" */

    /* private to the loaders */
    tb_map map;             /* main file mapping */
    void **owned;           /* buffers to free */
    int n_owned, cap_owned;
} tb_model;

/* Loads a .gguf file or an HF checkpoint directory (config.json + model.safetensors),
 * validating strictly (docs/formats.md).  On error: NULL model, one line in e naming the
 * file, tensor and problem. */
int tb_model_load(const char *path, tb_model **out, tb_err *e);
void tb_model_free(tb_model *m);

/* Embedding row of token `tok` as f32 (hidden). */
void tb_model_embed_row(const tb_model *m, int tok, float *out);

/* Bytes of ternary weights (on-disk layout) and of the embedding: for bytes-per-token figures. */
size_t tb_model_ternary_bytes(const tb_model *m);
size_t tb_model_embd_bytes(const tb_model *m);

/* Fills cfg with the shape of a preset: "2b4t" (docs/architecture.md §1) or "tiny". Returns -1 if unknown. */
int tb_config_preset(const char *name, tb_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
