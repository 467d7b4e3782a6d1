/* ppl.h: perplexity the way llama-perplexity measures it (docs/numerics.md §4), plus KL
 * divergence and top-1 agreement of other backends against a first one.
 *
 * Convention: the caller tokenizes the whole text once with BOS first; the tokens
 * are cut into n_chunks = min(max_chunks, n_tokens / ctx) non-overlapping chunks of
 * ctx tokens; each chunk starts from an empty KV cache with BOS as its first token;
 * only the second half is scored: logits at positions ctx/2 .. ctx-2 predict tokens
 * ctx/2+1 .. ctx-1 (ctx - 1 - ctx/2 tokens per chunk: 255 for ctx 512).
 * PPL = exp(mean NLL); its error is PPL * sqrt(var(NLL) / (N - 1)), var over the
 * scored tokens, as llama-perplexity propagates it.
 */
#ifndef TB_PPL_H
#define TB_PPL_H

#include "forward.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_ppl_opts {
    int ctx;        /* tokens per chunk (>= 4); 512 for the published numbers */
    int max_chunks; /* <= 0: all chunks */
    int bos;        /* token id put first in every chunk; < 0: keep the chunk's own first token */
    /* Called after each chunk of each backend (may be NULL): backend index, chunk done
     * (1-based), chunk count, running PPL and seconds spent in this backend so far. */
    void (*progress)(void *user, int backend, int chunk, int n_chunks, double ppl, double seconds);
    void *user;
    int threads;    /* threads for scoring (log-softmax, KL); <= 0: all online cores.  Results
                       do not depend on it */
    /* NULL (every backend exact), or (n_backends) the numerics of each backend (an entry
     * NULL: exact), e.g. from numeric configurations (numcfg.h). */
    const tb_numerics *const *numerics;
} tb_ppl_opts;

typedef struct tb_ppl_result {
    double ppl, ppl_err;       /* exp(mean NLL) and its standard error */
    double mean_nll, nll_err;  /* natural log units */
    long n_scored;             /* tokens scored */
    int n_chunks;
    double seconds;            /* forward passes and scoring of this backend */
    /* Against backend 0 over the same positions (backends 1..n-1 only): */
    bool has_kl;
    double kl_mean, kl_err, kl_max; /* KL(P_0 || P_this) per position, nats */
    double top1;               /* fraction of positions whose argmax equals backend 0's */
    /* 64-bit FNV-1a (common/tb_hash.h) of the bytes of every scored logit row (float32,
     * host byte order), chunk after chunk: equal for two runs exactly when the scored
     * logits are bit-identical (up to hash collisions), so a numerics change shows even
     * where the perplexity rounds to the same digits. */
    uint64_t logits_fnv64;
} tb_ppl_result;

/* Chunk count for n_tokens (BOS included) at ctx, or -1 with a clear error when the
 * text is too short (fewer than 2*ctx tokens, as llama-perplexity requires) or ctx is
 * out of range. */
int tb_ppl_n_chunks(size_t n_tokens, int ctx, int max_chunks, tb_err *e);

/* Runs every backend over the same chunks.  backends[i] == NULL selects the scalar
 * reference.  res has n_backends entries.  Needs the model's vocabulary to cover the
 * tokens (else the forward pass reports the bad id). */
int tb_ppl_run(const tb_model *m, const int32_t *tokens, size_t n_tokens, const tb_backend *const *backends,
               int n_backends, const tb_ppl_opts *o, tb_ppl_result *res, tb_err *e);

#ifdef __cplusplus
}
#endif
#endif
