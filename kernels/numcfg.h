/* numcfg.h: numeric configurations, the registry of what a run computes with
 * (docs/approximations.md).
 *
 * A configuration is more than a GEMV kernel: the ternary kernel, the LM head format, the
 * activation bits and the KV cache format.  "exact" (the default) is today's behaviour and
 * the reference every other configuration is measured against; the others trade accuracy
 * for speed.  ppl, bench-e2e, generate, logits and sweep take --config NAME (a name, a
 * glob, a comma list or "all"); the frontier (sweep) places every configuration on speed
 * against KL / perplexity.
 */
#ifndef TB_NUMCFG_H
#define TB_NUMCFG_H

#include "forward.h"
#include "kernel.h"
#include "qhead.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_numcfg {
    const char *name;   /* e.g. "exact", "head-q4+kv-f16" */
    const char *desc;   /* one line */
    /* Glob of the kernels the configuration runs (the best one this machine can run), or
     * NULL: the run's --kernel (default: the best exact kernel). */
    const char *kernel;
    tb_head_fmt head;
    int act_bits;       /* 8 or 4 */
    tb_kv_fmt kv;
} tb_numcfg;

#define TB_NUMCFG_MAX 32
extern const tb_numcfg tb_numcfgs[];
extern const int tb_n_numcfgs;

const tb_numcfg *tb_numcfg_find(const char *name);
/* NAME, a glob, a comma list of them, or "all" into out (registry order, no repeats).
 * Returns the count (>= 1), or -1 (+e naming the registered configurations). */
int tb_numcfg_select(const char *spec, const tb_numcfg **out, int max, tb_err *e);
/* True when every part of c is exact and so is k (NULL: the scalar reference). */
bool tb_numcfg_exact(const tb_numcfg *c, const tb_kernel *k);
/* The kernel c runs: c->kernel's best match (ignoring `requested` unless it is given and
 * matches, else an error), or `requested` (NULL when the reference).  *k NULL = reference. */
int tb_numcfg_kernel(const tb_numcfg *c, const tb_kernel *requested, bool kernel_given, unsigned mask,
                     const tb_kernel **k, tb_err *e);

/* A configuration opened on a model: the quantized head it owns and the numerics to give
 * tb_state_set_numerics. */
typedef struct tb_numcfg_run {
    const tb_numcfg *cfg;
    tb_qhead *head;
    tb_numerics nx;
    double head_bytes;  /* LM head bytes read per token in this configuration */
} tb_numcfg_run;

int tb_numcfg_open(const tb_numcfg *c, const tb_model *m, tb_numcfg_run *r, tb_err *e);
void tb_numcfg_close(tb_numcfg_run *r);

#ifdef __cplusplus
}
#endif
#endif
