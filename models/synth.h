/* synth.h: deterministic synthetic BitNet b1.58 models, written as a bitnet.cpp-style
 * GGUF (I2_S, F16 embedding) or an HF packed checkpoint directory.
 *
 * Content (identical between the two formats, so either can be checked against the other):
 * - every tensor has its own PRNG stream seeded from (seed, tensor index), so the
 *   output does not depend on the write order;
 * - ternary codes: P(0) = 317/1024 ~ 0.31, P(-1) = P(+1) ~ 0.345: the split absmean
 *   quantization gives a Gaussian latent weight (|w| < 0.5 mean|w| = 0.4 sigma);
 * - one scale per tensor, lognormal exp(N(ln 1.2, 0.4^2)) clamped to [0.5, 3];
 * - norms uniform in [0.5, 1.5]; embedding N(0, 0.08^2), sampled directly as the
 *   bf16-rounded distribution (alias method over the bf16 values, see synth.c);
 * - every float is rounded to bf16 precision (scales, norms, embedding; embedding
 *   magnitudes below 2^-14 flushed to 0), so the F16/F32 GGUF values and the BF16
 *   HF values are the same numbers.
 */
#ifndef TB_SYNTH_H
#define TB_SYNTH_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the generator: bump it whenever the bytes written for the same (preset,
 * shape, seed, tokenizer) change.  It is written into every synthetic GGUF
 * (`ternbench.synth.version`, with `ternbench.synth.seed` as 20 zero-padded decimal
 * digits, so the file size does not depend on the seed), keys the synthetic-model
 * cache and appears in every result measured on a synthetic model.  History: 1 = the
 * files written before the number existed (no such keys in them); 2 = the same tensors
 * plus those two keys. */
#define TB_SYNTH_VERSION 2

typedef enum { TB_SYNTH_GGUF = 0, TB_SYNTH_HF = 1 } tb_synth_format;

typedef struct tb_synth_opts {
    tb_config cfg;              /* shape (from tb_config_preset, then overridden); ffn_act picks the arch */
    uint64_t seed;
    tb_synth_format format;
    const char *tokenizer_json; /* path to an HF tokenizer.json, or NULL for none */
    const char *out;            /* GGUF: file path; HF: directory (created if absent) */
    /* optional progress report: called after each tensor */
    void (*progress)(void *ctx, const char *tensor, uint64_t bytes_done, uint64_t bytes_total);
    void *progress_ctx;
    /* Conversion (`ternbench convert`): when set, every tensor comes from this loaded model
     * instead of the generator (cfg must be from->cfg; seed is unused) and the file is
     * labelled with from->format instead of the synth keys.  Floats must be exact in the
     * output's encodings (F16/F32 GGUF, BF16 HF), else tb_synth_write fails and writes nothing. */
    const tb_model *from;
} tb_synth_opts;

/* Writes the model.  Checks the shape first (I2_S needs rows*cols % 128 == 0,
 * HF needs rows % 4 == 0, the tokenizer must have exactly cfg.vocab tokens).
 * On error nothing is left behind (GGUF: temp file removed). */
int tb_synth_write(const tb_synth_opts *o, tb_err *e);
/* The shape checks of tb_synth_write alone (for the CLI: a usage error before any work). */
int tb_synth_check(const tb_synth_opts *o, tb_err *e);

/* The content generators, exposed for tests. */
void tb_synth_codes(uint64_t seed, int tensor_index, int64_t rows, int64_t cols, int8_t *codes, float *scale);
/* Per-tensor indices: 0 = embedding, 1 = output norm, then per layer l:
 * 2 + 11*l + {0 attn_norm, 1 attn_sub_norm, 2 ffn_norm, 3 ffn_sub_norm, 4 + TB_LIN_*}. */
int tb_synth_index_norm(int layer, int which);
int tb_synth_index_lin(int layer, int lin);

#ifdef __cplusplus
}
#endif
#endif
