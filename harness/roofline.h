/* roofline.h: the inputs of a roofline that are not the kernel rows themselves.
 *
 * tb_peak_measure times int8 dot-product instruction throughput on one core, per ISA
 * this CPU has: independent accumulators so the loop is bound by issue, not latency;
 * the measured compute ceiling of the integer kernels.  Operations are counted as the
 * kernels count them: 2 per int8 multiply-add.
 *   avx512vnni  vpdpbusd zmm            64 multiply-adds per instruction
 *   avxvnni     vpdpbusd ymm (VEX)      32
 *   avx2        vpmaddubsw + vpmaddwd + vpaddd ymm, the AVX2 int8 dot product: 32
 * tb_roofline_batches times every passed kernel at n = 1, 8, 32, 128, 512 activation
 * rows (GEMV at decode, GEMM at prefill sizes) on one shape, so each kernel's
 * arithmetic intensity moves right as the batch grows. */
#ifndef TB_ROOFLINE_H
#define TB_ROOFLINE_H

#include "bench.h"
#include "results.h"

typedef struct tb_peak {
    char isa[16];         /* "avx512vnni", "avxvnni", "avx2" */
    char instr[64];       /* what the loop issues */
    double gops_1t;       /* measured on one thread: 1e9 ops/s */
} tb_peak;

/* Fills up to max peaks (those this CPU runs) in about `seconds` each; returns the count
 * (0 on a CPU with none of them, e.g. AArch64 builds). */
int tb_peak_measure(tb_peak *out, int max, double seconds);

void tb_peak_write(tb_jw *w, const char *key, const tb_peak *p, int n);

#define TB_ROOFLINE_NB 5
extern const int tb_roofline_batches[TB_ROOFLINE_NB]; /* 1, 8, 32, 128, 512 */

/* Times kernels ks[0..nk) (already checked by the caller) on one shape at `threads`,
 * for each batch size; rows appended to *rows (malloc'd; caller frees). */
int tb_roofline_run(const tb_bench_config *base, const tb_bench_shape *shape, const tb_kernel *const *ks, int nk,
                    int threads, tb_bench_row **rows, int *n_rows, tb_err *e);

#endif
