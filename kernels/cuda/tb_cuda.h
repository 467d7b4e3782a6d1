/* tb_cuda.h: the CUDA W2A8 warp-packed GEMV — host packer, host emulation of the
 * device math, and the device API (availability, device-resident BitLinear,
 * benchmark hooks, device-to-device bandwidth, NVML energy).
 *
 * The layout is described in w2a8_layout.h.  Everything here is callable in every
 * build: without CUDA (meson -Dcuda=disabled or no nvcc) the device functions fail
 * cleanly with "built without CUDA"; without a usable GPU or driver they fail with
 * the CUDA error text.  Nothing here prints or exits.
 *
 * Registry entries (kernels/registry.inc):
 *   gemv_w2a8_4x512__cuda     the device kernel; gemv() uploads the packed weights and
 *                             activations, runs, downloads (correct, not fast: for the
 *                             checker).  Needs TB_ISA_CUDA.
 *   gemv_w2a8_4x512__cudaemu  the host emulation: walks the same packed bytes exactly
 *                             as the device threads do (portable C, exact).
 */
#ifndef TB_CUDA_H
#define TB_CUDA_H

#include "forward.h"
#include "kernel.h"
#include "w2a8_layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- packer (host, always built) --------------------------------------- */
size_t tb_w2a8_packed_size(int rows, int cols);
/* Packs the row-concatenation of parts[0..n_parts) (same cols; a fused linear such as
 * q|k|v) into dst (tb_w2a8_packed_size(sum rows, cols) bytes).  0 or TB_KERR_*. */
int tb_w2a8_pack_parts(const tb_ternary *const *parts, int n_parts, void *dst);
/* Fills p from the parts' rows and scales.  0, or TB_KERR_SHAPE if too many parts or
 * mismatched cols. */
int tb_w2a8_parts_from(const tb_ternary *const *parts, int n_parts, tb_w2a8_parts *p);

/* ---- host emulation of the device kernels (always built) -------------- */
/* The GEMV exactly as the device runs it: tokens in groups of up to
 * TB_W2A8_MAX_TOK, `ksplit` warps (1, 2 or 4) splitting the chunks of a tile
 * round-robin, per-lane dp4a accumulation, xor-butterfly reduction, partials summed
 * in warp order.  Writes acc[t*rows + r] for r in [r0, r1).  q is (n, cols). */
int tb_w2a8_gemv_emu(const void *packed, int rows, int cols, const int8_t *q, int n, int r0,
                     int r1, int ksplit, int32_t *acc);
/* The device's activation quantization of one token (per-token absmax, docs/numerics.md §2) into a
 * zero-padded row of kpad int8; returns s. */
float tb_w2a8_quant_emu(const float *x, int cols, int kpad, int8_t *q);
/* Whole BitLinear as the device runs it: x (n, cols) f32 -> y (n, rows) f32 with the
 * per-part epilogue.  Allocates scratch; 0 or -1 with e. */
int tb_w2a8_bitlinear_emu(const void *packed, int rows, int cols, const tb_w2a8_parts *parts,
                          const float *x, int n, float *y, tb_err *e);
/* The ksplit the device launcher picks for a tile count, chunk count and SM count. */
int tb_w2a8_pick_ksplit(int tiles, int nchunks, int sms);

/* ---- device availability ----------------------------------------------- */
/* True when built with CUDA and cudaGetDeviceCount() reports >= 1 device; otherwise
 * false and `why` (if non-NULL) gets the reason ("built without CUDA", the CUDA error
 * text, "no CUDA device").  Detected once, thread-safe, never crashes. */
bool tb_cuda_available(char *why, size_t n);
/* The same, for kernels/cpu.c (weak reference there) and SKIP lines: nonzero when
 * usable; the reason it is not ("" when it is). */
int tb_cuda_device_usable(void);
const char *tb_cuda_unusable_reason(void);
/* True if this binary contains the CUDA kernels. */
bool tb_cuda_built(void);
/* The -gencode targets compiled into the fat binary, e.g. "sm_80 sm_90 compute_90". */
const char *tb_cuda_archs(void);

typedef struct tb_cuda_info {
    char name[256];
    int sm_major, sm_minor;
    int sms;                /* multiprocessors */
    size_t l2_bytes;
    size_t global_bytes;
    double mem_clock_khz;   /* 0 if unknown */
    int bus_width_bits;     /* 0 if unknown */
} tb_cuda_info;
int tb_cuda_device_info(tb_cuda_info *info, tb_err *e);

/* Integer part with host pointers (what the registry gemv does): uploads packed
 * (tb_w2a8_packed_size(rows, cols) bytes) and q (n, cols), runs, downloads rows
 * [r0, r1) of acc (n, rows).  Serialized by a mutex; device buffers are reused. */
int tb_cuda_gemv_host(const void *packed, int rows, int cols, const int8_t *q, int n, int r0,
                      int r1, int32_t *acc, tb_err *e);

/* The message of this thread's last failed gemv_w2a8_4x512__cuda gemv() ("" if none):
 * the registry gemv returns only TB_KERR_DEVICE. */
const char *tb_cuda_last_error(void);

/* ---- device-resident BitLinear (for a GPU runner) ---------------------- */
typedef struct tb_cuda_linear tb_cuda_linear;
/* Packs and uploads parts (row-concatenated, per-part scales); workspace for up to
 * max_n tokens per call. */
int tb_cuda_linear_new(const tb_ternary *const *parts, int n_parts, int max_n,
                       tb_cuda_linear **out, tb_err *e);
void tb_cuda_linear_free(tb_cuda_linear *l);
int tb_cuda_linear_rows(const tb_cuda_linear *l);
int tb_cuda_linear_cols(const tb_cuda_linear *l);
/* x_dev (n, cols) f32 on the device -> y_dev (n, rows) f32 on the device:
 * quantize (per token), GEMV, per-part epilogue; all on the device, stream 0. */
int tb_cuda_linear_forward(tb_cuda_linear *l, const float *x_dev, int n, float *y_dev, tb_err *e);
/* Same with host buffers (tests, tools).  Optionally returns the int32 accumulators
 * (acc: (n, rows) or NULL) and the per-token scales (s: (n) or NULL). */
int tb_cuda_linear_forward_host(tb_cuda_linear *l, const float *x, int n, float *y, int32_t *acc,
                                float *s, tb_err *e);

/* ---- raw device-resident weights (for tb_cuda_backend) ----------------- */
/* Uploads `bytes` of packed weights; *dev is a device pointer (free with
 * tb_cuda_weights_free). */
int tb_cuda_weights_upload(const void *packed, size_t bytes, void **dev, tb_err *e);
void tb_cuda_weights_free(void *dev);
/* acc (n, rows) = W . q for host q (n, cols) and host acc, W device-resident: uploads
 * the activations, runs the GEMV, downloads.  Serialized by a mutex. */
int tb_cuda_gemv_resident(const void *dev_packed, int rows, int cols, const int8_t *q, int n, int32_t *acc,
                          tb_err *e);

/* ---- a tb_forward backend with all ternary weights on the GPU ----------- */
/* Packs all 7 linears of every layer once and keeps them on the device; each matmul
 * uploads the int8 activations, runs the W2A8 GEMV and downloads the int32
 * accumulators (norms, attention, the epilogue and the LM head stay on the CPU in
 * tb_forward).  Exact: logits are bit-identical to the reference.  emulate = true
 * runs the host emulation on host-resident packed weights instead (same wiring,
 * no GPU needed: for tests). */
typedef struct tb_cuda_backend tb_cuda_backend;
int tb_cuda_backend_new(const tb_model *m, bool emulate, tb_cuda_backend **out, tb_err *e);
const tb_backend *tb_cuda_backend_get(tb_cuda_backend *b);
size_t tb_cuda_backend_bytes(const tb_cuda_backend *b); /* packed bytes held */
void tb_cuda_backend_free(tb_cuda_backend *b);

/* ---- whole-model decode on the device ------------------------------------ */
/* One token per step with every operation on the GPU (norms, fused q|k|v and gate|up
 * BitLinears with per-part scales, NEOX RoPE, f32 KV cache, GQA attention, relu^2 (only: a model
 * with cfg.ffn_act != TB_ACT_RELU2 is refused),
 * residuals, output norm, tied LM head with the embedding kept on the device).
 * Precision follows reference/forward.c (double where it uses double); reduction
 * order and the device math library differ, so logits match the reference closely but
 * not bit for bit.  max_ctx <= 6144 (attention scores live in shared memory). */
typedef struct tb_cuda_decoder tb_cuda_decoder;
int tb_cuda_decoder_new(const tb_model *m, int max_ctx, tb_cuda_decoder **out, tb_err *e);
void tb_cuda_decoder_free(tb_cuda_decoder *d);
void tb_cuda_decoder_reset(tb_cuda_decoder *d);        /* position 0 next */
int tb_cuda_decoder_pos(const tb_cuda_decoder *d);     /* next position */
size_t tb_cuda_decoder_bytes(const tb_cuda_decoder *d); /* device bytes held */
/* Evaluates `token` at the next position; logits: host (vocab) or NULL. */
int tb_cuda_decoder_step(tb_cuda_decoder *d, int token, float *logits, tb_err *e);

/* ---- small device helpers (benchmarks, GPU runners) --------------------- */
/* n floats on the device (free with tb_cuda_device_free). */
int tb_cuda_device_buffer(float **dev, size_t n, tb_err *e);
void tb_cuda_device_free(void *dev);
/* Fills n device floats with seeded N(0,1)-like values (uploaded from the host). */
int tb_cuda_fill_random(float *dev, size_t n, uint64_t seed, tb_err *e);
/* Device time between start and stop (CUDA events on stream 0); not reentrant. */
int tb_cuda_timer_start(tb_err *e);
int tb_cuda_timer_stop(double *seconds, tb_err *e);

/* ---- benchmark hooks (for a manual-time benchmark shim) ---------------- */
typedef struct tb_cuda_bench tb_cuda_bench;
/* Random ternary weights (seeded) of rows x cols packed and uploaded in enough
 * rotated copies that consecutive launches never find their weights in L2 (the copies
 * total >= 2x L2 and >= 2 copies), plus n random activation rows. */
int tb_cuda_bench_new(int rows, int cols, int n, uint64_t seed, tb_cuda_bench **out, tb_err *e);
/* Runs `iters` launches (rotating copies) between two CUDA events; *seconds is the
 * elapsed device time of all of them.  Also checks the last result against the host
 * emulation the first time it is called (-1 with e on mismatch). */
int tb_cuda_bench_run(tb_cuda_bench *b, int iters, double *seconds, tb_err *e);
/* Bytes one launch must read/write: packed weights + activations + accumulators. */
double tb_cuda_bench_bytes(const tb_cuda_bench *b);
int tb_cuda_bench_copies(const tb_cuda_bench *b);
void tb_cuda_bench_free(tb_cuda_bench *b);

/* Device-to-device cudaMemcpy of `bytes` (iters times, CUDA events): GB/s counted as
 * 2*bytes per copy (read + write), the peak a streaming kernel can hope for. */
int tb_cuda_d2d_bandwidth(size_t bytes, int iters, double *gbps, tb_err *e);

/* ---- NVML energy (dlopen libnvidia-ml.so.1; no link-time dependency) --- */
/* Total energy of GPU `index` since driver load, in millijoules (Volta and newer). */
int tb_nvml_energy_mj(int index, unsigned long long *mj, tb_err *e);

/* Registry hooks shared by both entries (pack-w2a8-4x512.c). */
size_t tb_w2a8_k_packed_size(int rows, int cols);
int tb_w2a8_k_pack(const tb_ternary *w, void *dst);
int tb_w2a8_k_unpack_row(const void *packed, int rows, int cols, int r, int8_t *out);

/* Registry entries. */
extern const tb_kernel tb_k_gemv_w2a8_4x512__cuda;
extern const tb_kernel tb_k_gemv_w2a8_4x512__cudaemu;

#ifdef __cplusplus
}
#endif
#endif
