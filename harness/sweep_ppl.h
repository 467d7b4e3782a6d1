/* sweep_ppl.h: the sweep's perplexity step (harness/sweep.c): one text, one model, the
 * reference and every checked CPU kernel, and its part of results.json. */
#ifndef TB_SWEEP_PPL_H
#define TB_SWEEP_PPL_H

#include "bench.h"
#include "ppl.h"
#include "results.h"

#define TB_SWEEP_PPL_MAX 64

typedef struct tb_sweep_ppl {
    char model[1200];    /* the model file measured */
    char text[1100];     /* the text scored ("" when none) */
    int ctx, chunks;     /* chunk length, at most this many chunks */
    int n;               /* backends measured: names[0] is the KL/top-1 reference */
    const char *names[TB_SWEEP_PPL_MAX];
    tb_ppl_result res[TB_SWEEP_PPL_MAX];
    char why[512];       /* why nothing was measured ("" when n > 0) */
} tb_sweep_ppl;

struct tb_tokenizer;
/* The model's own tokenizer (GGUF metadata or the HF directory's tokenizer.json), else
 * the tokenizer.json at tok_json (NULL or "": none).  0, or -1 (+e). */
int tb_model_tokenizer(const tb_model *m, const char *tok_json, struct tb_tokenizer **tok, tb_err *e);

/* Perplexity of model m on p->text with the reference (when cheap: `with_ref`) and every
 * kernel that passed its check (on a 2B4T-shaped model the best first and no scalar ones).
 * tok_json: a tokenizer.json for models without tokenizer metadata ("" for none).
 * Never fails the sweep: on any problem p->n = 0 and p->why says why. */
void tb_sweep_ppl_run(const tb_model *m, const char *tok_json, bool with_ref, bool big, const tb_kernel *best,
                      const tb_bench_kcheck *checks, int n_checks, int threads,
                      void (*progress)(void *user, int backend, int chunk, int n_chunks, double ppl, double secs),
                      void *user, tb_sweep_ppl *p);
/* `setup_key` {ctx, max_chunks, text, model, why, kl_reference} and `rows_key` [per backend]. */
void tb_sweep_ppl_json(tb_jw *w, const char *setup_key, const char *rows_key, const tb_sweep_ppl *p);

#endif
