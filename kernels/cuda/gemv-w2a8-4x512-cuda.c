/* gemv-w2a8-4x512-cuda.c: registry entry of the CUDA warp-packed W2A8 GEMV
 * (device code in w2a8.cu, layout in w2a8_layout.h).
 *
 * Same packed bytes as gemv_w2a8_4x512__cudaemu.  gemv() here takes host pointers
 * like every registered kernel: it uploads the packed weights and activations, runs
 * the device kernel and downloads rows [r0, r1) (tb_cuda_gemv_host).  That makes the
 * kernel checkable by `ternbench check`; it is not how to time it (see the
 * device-resident API in tb_cuda.h).  Needs TB_ISA_CUDA: without a usable device the
 * registry reports SKIP with the reason from tb_cuda_available().  Exact.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tb_cuda.h"

static _Thread_local char last_error[512]; /* this thread's last gemv_cuda failure */

const char *tb_cuda_last_error(void) { return last_error; }

static int gemv_cuda(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                     int r0, int r1, int32_t *acc) {
    (void)prep;
    if (rows <= 0 || cols <= 0 || n <= 0 || r0 < 0 || r1 > rows || r0 >= r1) return TB_KERR_SHAPE;
    tb_err e = {{0}};
    if (tb_cuda_gemv_host(packed, rows, cols, q, n, r0, r1, acc, &e) != 0) {
        memcpy(last_error, e.msg, sizeof last_error);
        return TB_KERR_DEVICE;
    }
    return 0;
}

/* ---- device hooks: what the harness uses to time it and run a model on it ---- */
static int bench_new(int rows, int cols, int n, uint64_t seed, void **ctx, int *n_copies, tb_err *e) {
    tb_cuda_bench *b = NULL;
    if (tb_cuda_bench_new(rows, cols, n, seed, &b, e) < 0) return -1;
    *ctx = b;
    *n_copies = tb_cuda_bench_copies(b);
    return 0;
}
static int bench_run(void *ctx, int iters, double *seconds, tb_err *e) { return tb_cuda_bench_run(ctx, iters, seconds, e); }
static void bench_free(void *ctx) { tb_cuda_bench_free(ctx); }

static int e2e_open(const tb_model *m, void **ctx, const tb_backend **be, double *weight_bytes, tb_err *e) {
    tb_cuda_backend *cb = NULL;
    if (tb_cuda_backend_new(m, false, &cb, e) < 0) return -1;
    *ctx = cb;
    *be = tb_cuda_backend_get(cb);
    *weight_bytes = (double)tb_cuda_backend_bytes(cb);
    return 0;
}
static void e2e_close(void *ctx) { tb_cuda_backend_free(ctx); }

static int bandwidth(double *gbps, char *why, size_t why_n) {
    if (!tb_cuda_available(why, why_n)) return -1;
    tb_err e = {{0}};
    if (tb_cuda_d2d_bandwidth(256u << 20, 20, gbps, &e) < 0) {
        snprintf(why, why_n, "%s", e.msg);
        return -1;
    }
    return 0;
}

static const tb_device_hooks cuda_hooks = {bench_new, bench_run, bench_free, e2e_open, e2e_close, bandwidth};

const tb_kernel tb_k_gemv_w2a8_4x512__cuda = {
    .name = "gemv_w2a8_4x512__cuda",
    .family = "cuda",
    .layout = "w2a8-warp-4x512",
    .desc = "CUDA warp-packed W2A8 GEMV: 128-byte coalesced 2-bit loads, dp4a, int32, 1-8 tokens per pass",
    .isa = TB_ISA_CUDA,
    .tile_rows = TB_W2A8_TILE_ROWS,
    .block_k = TB_W2A8_CHUNK,
    .exact = true,
    .needs_prep = false,
    .on_device = true,
    .bits_per_weight = 2.0,
    .packed_size = tb_w2a8_k_packed_size,
    .pack = tb_w2a8_k_pack,
    .unpack_row = tb_w2a8_k_unpack_row,
    .gemv = gemv_cuda,
    .device = &cuda_hooks,
    .priority = -100, /* a device kernel is never the best CPU kernel */
};

/* Hook used by kernels/cpu.c (weak there): nonzero when a CUDA device is usable, so
 * tb_cpu_features() includes TB_ISA_CUDA exactly when this kernel can run. */
int tb_cuda_device_usable(void) { return tb_cuda_available(NULL, 0); }

/* Why it is not usable ("" if it is): for SKIP lines. */
static char unusable_why[256];
static void fill_why(void) { tb_cuda_available(unusable_why, sizeof unusable_why); }
const char *tb_cuda_unusable_reason(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fill_why);
    return unusable_why;
}
