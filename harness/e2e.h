/* e2e.h: end-to-end speed of a kernel on a whole model: batched prefill
 * tokens/s (one tb_forward call over the whole prompt), decode tokens/s and
 * latency per token (greedy, one token per call), resident memory, bytes read
 * per token and the achieved GB/s.
 *
 * Bytes read per decode token (the quantity that bounds batch-1 decode):
 *   packed ternary weights in the kernel's layout (all 7 linears x layers)
 *   + the LM head (the tied embedding matrix, read whole for the logits)
 *   + the KV cache read by attention (2 x layers x kv_dim x position x bytes per value:
 *     4 in f32, 2 in f16, 1 + a 4-byte scale per head in q8), averaged over the decoded
 *     positions;
 *   with a numeric configuration (numcfg.h), its LM head and KV cache formats.
 * Norm weights and the one embedding row are ignored (< 0.1%).
 */
#ifndef TB_E2E_H
#define TB_E2E_H

#include <stdio.h>

#include "forward.h"
#include "kernel.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_e2e_opts {
    int threads;     /* runner threads (>= 1) */
    int reps;        /* measured repetitions of prefill + decode (0 = 1); like llama-bench -r */
    bool no_warmup;  /* skip the unmeasured warm-up run (prefill + 1 decode token) */
    int n_prompt;    /* prompt tokens, evaluated as ONE batched prefill (>= 1) */
    int n_decode;    /* tokens decoded after the prompt (>= 1) */
    uint64_t seed;   /* prompt token ids (BOS first, then seeded ids) */
    double max_decode_seconds; /* stop decoding early (after >= 2 tokens) past this; <= 0: never */
    double bw_gbps;  /* measured read bandwidth at `threads` for roofline_frac (<= 0: none) */
    const struct tb_numcfg *config; /* numeric configuration (NULL: exact) */
    /* Optional progress after each decoded token. */
    void (*progress)(void *user, int done, int total, double seconds);
    void *user;
} tb_e2e_opts;

typedef struct tb_e2e_result {
    char kernel[64];          /* kernel name, or "ref" (scalar reference) */
    char config[48];          /* numeric configuration ("exact" unless opts.config) */
    bool exact;               /* the configuration and kernel are exact */
    int kv_fmt;               /* tb_kv_fmt of the KV cache */
    int threads, n_prompt, n_decode; /* n_decode: tokens actually decoded per repetition */
    int reps;                 /* measured repetitions; the tok/s below are their mean */
    bool warmup;              /* an unmeasured warm-up run came first */
    double prefill_tok_s_sd, decode_tok_s_sd; /* sample stddev over the repetitions (0 if 1) */
    tb_profile prof_prefill, prof_decode;     /* time breakdown summed over the repetitions */
    bool stopped_early;       /* max_decode_seconds reached */
    double prefill_s, prefill_tok_s;
    double decode_s, decode_tok_s;
    double ms_per_token_mean, ms_per_token_median, ms_per_token_min, ms_per_token_max;
    double weight_bytes;      /* packed ternary bytes (kernel layout) */
    double weight_params;     /* ternary weights (for the prefill GEMM's GOPS) */
    double lm_head_bytes;
    double kv_bytes_per_token;/* average over the decoded positions */
    double bytes_per_token;   /* sum of the three */
    double achieved_gbps;     /* bytes_per_token * decode_tok_s / 1e9 */
    double roofline_frac;     /* achieved / bw (NAN when no bandwidth given) */
    double rss_bytes, hwm_bytes; /* VmRSS, VmHWM after the run (NAN if unreadable) */
    int first_token;          /* the first greedy token after the prompt (for cross-checks) */
} tb_e2e_result;

/* k == NULL runs the scalar reference.  Errors: bad options, runner/forward failures. */
int tb_e2e_run(const tb_model *m, const tb_kernel *k, const tb_e2e_opts *o, tb_e2e_result *r, tb_err *e);

/* VmRSS / VmHWM of this process in bytes (NAN if /proc is unreadable). */
void tb_e2e_rss(double *rss, double *hwm);

struct tb_jw;
void tb_e2e_write(struct tb_jw *w, const tb_e2e_result *r); /* one object (no key: in an array) */
void tb_e2e_write_key(struct tb_jw *w, const char *key, const tb_e2e_result *r); /* the same under key */

/* The time breakdown as a table: per decode step and per prefill batch, each part's
 * milliseconds, share and achieved rate (GB/s of weights for the ternary matmuls and the
 * LM head, GB/s of KV cache for attention, GOPS for the prefill GEMM). */
void tb_e2e_print_breakdown(FILE *f, const tb_e2e_result *r);

#ifdef __cplusplus
}
#endif
#endif
