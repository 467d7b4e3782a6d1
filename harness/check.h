/* check.h: the checkasm-style kernel checker (library part of `ternbench check`).
 *
 * For one registered kernel: every 2B4T GEMV shape and a set of edge shapes, times a
 * set of input families (random weights at several zero densities, all +1 / all -1,
 * activations pinned at +127 / -128, all-zero rows, ...), all seeded.  Checks:
 *   - unpack(pack(W)) == W and the packer writes nothing past packed_size();
 *   - int32 accumulators bit-identical to tb_matmul_ref, output poisoned before the
 *     call and guard words around it untouched; approximate kernels (exact == false):
 *     bit-identical to their definition's output (defined_by) on the same packed bytes,
 *     the definition itself within err_bound(cols) of tb_matmul_ref;
 *   - sub-ranges [r0, r1) (aligned and unaligned r0) write exactly those rows;
 *   - n = 2, 3 and 21 activation rows (prefill) on some shapes; the threaded driver.
 * A case whose shape the packer refuses (TB_KERR_SHAPE) is counted as refused, neither
 * passed nor failed; refusing a 2B4T shape is a failure.
 * Library code: nothing is printed; failures go to a callback and the result.
 */
#ifndef TB_CHECK_H
#define TB_CHECK_H

#include "kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_check_opts {
    uint64_t seed;        /* every case derives its inputs from (seed, case id) */
    bool quick;           /* fewer input families on the big 2B4T shapes */
    unsigned isa_mask;    /* AND'ed with the detected features (TB_ISA_ALL = no limit) */
    int threads;          /* threads for the driver check (<= 1: driver check uses 2) */
    int only_case;        /* -1: all cases; else replay this case id only */
    int max_fail_lines;   /* failure lines reported per kernel (0 = 5) */
    int stop_after;       /* stop after this many failing cases (0 = run every case) */
    /* called once per failure with one line (kernel, shape, family, seed, first differing
     * index, rerun command); may be NULL */
    void (*on_fail)(void *user, const char *line);
    void *user;
    /* if non-NULL, the id of the case being run is stored here before it starts (so a
     * crash handler in the CLI can name it) */
    volatile int *current_case;
} tb_check_opts;

typedef struct tb_check_result {
    bool skipped;         /* kernel not runnable here; skip_reason says why */
    const char *skip_reason;
    int cases;            /* shape x family cases run: passed + failed + refused */
    int passed;
    int failed;
    int refused;          /* edge-shape cases the packer refused with TB_KERR_SHAPE */
    long long checks;     /* individual comparisons made (acc values, guards, codes) */
    double seconds;
    char first_failure[512];
    /* approximate kernels: the largest |acc - tb_matmul_ref| seen (of the definition's
     * outputs: its own, or those its variant was compared with bit for bit), and the
     * largest such error as a fraction of err_bound(cols) */
    long long max_err;
    double max_err_frac;
} tb_check_result;

void tb_check_opts_default(tb_check_opts *o);

/* Runs the whole matrix for kernel k.  Returns 0 if it passed or was skipped, 1 if any
 * case failed, negative (+ e) on an internal problem (out of memory). */
int tb_check_kernel(const tb_kernel *k, const tb_check_opts *o, tb_check_result *r, tb_err *e);


/* Number of cases tb_check_kernel runs with these options (for --list-cases / reports),
 * and a one-line description of case id i ("6912x2560 n=1 family=allpos-neg128"). */
int tb_check_ncases(const tb_check_opts *o);
int tb_check_case_desc(const tb_check_opts *o, int i, char *buf, size_t n);

/* Model level: builds a small synthetic BitNet in memory (awkward shapes: hidden 96,
 * FFN 200, GQA 3/1), runs tb_forward with the reference (backend NULL) and with a
 * runner of kernel k at `threads`, over a 6-token prefill plus 2 decode steps, and
 * compares the logits and every traced intermediate.  *max_abs_diff gets the largest
 * |logit difference|, *identical whether everything matched bit for bit. */
int tb_check_model(const tb_kernel *k, int threads, uint64_t seed, double *max_abs_diff, bool *identical,
                   tb_err *e);
/* The same with a runner of kernel `base` in place of the reference path (base NULL: the
 * reference): how an approximate kernel's logits are compared with its definition's. */
int tb_check_model_vs(const tb_kernel *k, const tb_kernel *base, int threads, uint64_t seed, double *max_abs_diff,
                      bool *identical, tb_err *e);

#ifdef __cplusplus
}
#endif
#endif
