/* runner.h: run the whole model with a registered kernel.
 *
 * tb_runner repacks all ternary linears of a model (7 per layer; 210 for 2B4T)
 * into a kernel's layout once, owns a pool of worker threads (pinned with hwloc
 * when available) that split output rows, and exposes a tb_backend for
 * tb_forward().  Results are identical for any thread count for exact kernels.
 */
#ifndef TB_RUNNER_H
#define TB_RUNNER_H

#include "forward.h"
#include "kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_runner tb_runner;

/* Resolves a --kernel argument: "ref" -> *k = NULL (the scalar reference path);
 * NULL, "" or "best" -> tb_kernel_best(mask); otherwise an exact registered name.
 * Errors: unknown name (lists close names), unsupported on this machine (says why). */
int tb_kernel_resolve(const char *name, unsigned isa_mask, const tb_kernel **k, tb_err *e);

/* threads: 1..N (0 = all online cores).  k must be non-NULL. */
int tb_runner_new(const tb_model *m, const tb_kernel *k, int threads, tb_runner **out, tb_err *e);
void tb_runner_free(tb_runner *r);
const tb_backend *tb_runner_backend(tb_runner *r);
int tb_runner_threads(const tb_runner *r);
/* The runner also runs the LM head with the best exact SIMD version the CPU has
 * (tb_backend.lm_rows, kernels/lmhead.h; same bits as the plain C loop).  This limits
 * that choice to the ISA levels in isa_mask.  Default: TB_ISA_ALL for SIMD kernels, 0 (plain C)
 * for portable kernels, so a run capped by --isa-max scalar stays scalar end to end. */
void tb_runner_limit_isa(tb_runner *r, unsigned isa_mask);
/* Bytes of packed weights held (for memory reports). */
size_t tb_runner_packed_bytes(const tb_runner *r);

#ifdef __cplusplus
}
#endif
#endif
