/* cuda-stub.c: the device half of tb_cuda.h for builds without CUDA (no nvcc, or
 * meson -Dcuda=disabled).  Every device function fails cleanly with
 * "built without CUDA"; tb_cuda_available() is false, so the registry lists
 * gemv_w2a8_4x512__cuda as SKIP.  The packer and the host emulation are always
 * built (pack-w2a8-4x512.c, gemv-w2a8-4x512-cudaemu.c). */
#include <stdio.h>

#include "tb_cuda.h"

#define NO_CUDA "built without CUDA (nvcc not found or -Dcuda=disabled)"

bool tb_cuda_built(void) { return false; }
const char *tb_cuda_archs(void) { return ""; }

bool tb_cuda_available(char *why, size_t n) {
    if (why && n) snprintf(why, n, "%s", NO_CUDA);
    return false;
}

int tb_cuda_device_info(tb_cuda_info *info, tb_err *e) {
    (void)info;
    return tb_fail(e, "%s", NO_CUDA);
}

int tb_cuda_gemv_host(const void *packed, int rows, int cols, const int8_t *q, int n, int r0, int r1,
                      int32_t *acc, tb_err *e) {
    (void)packed, (void)rows, (void)cols, (void)q, (void)n, (void)r0, (void)r1, (void)acc;
    return tb_fail(e, "%s", NO_CUDA);
}

int tb_cuda_linear_new(const tb_ternary *const *parts, int n_parts, int max_n, tb_cuda_linear **out,
                       tb_err *e) {
    (void)parts, (void)n_parts, (void)max_n;
    *out = NULL;
    return tb_fail(e, "%s", NO_CUDA);
}
void tb_cuda_linear_free(tb_cuda_linear *l) { (void)l; }
int tb_cuda_linear_rows(const tb_cuda_linear *l) { (void)l; return 0; }
int tb_cuda_linear_cols(const tb_cuda_linear *l) { (void)l; return 0; }
int tb_cuda_linear_forward(tb_cuda_linear *l, const float *x_dev, int n, float *y_dev, tb_err *e) {
    (void)l, (void)x_dev, (void)n, (void)y_dev;
    return tb_fail(e, "%s", NO_CUDA);
}
int tb_cuda_linear_forward_host(tb_cuda_linear *l, const float *x, int n, float *y, int32_t *acc,
                                float *s, tb_err *e) {
    (void)l, (void)x, (void)n, (void)y, (void)acc, (void)s;
    return tb_fail(e, "%s", NO_CUDA);
}

int tb_cuda_bench_new(int rows, int cols, int n, uint64_t seed, tb_cuda_bench **out, tb_err *e) {
    (void)rows, (void)cols, (void)n, (void)seed;
    *out = NULL;
    return tb_fail(e, "%s", NO_CUDA);
}
int tb_cuda_bench_run(tb_cuda_bench *b, int iters, double *seconds, tb_err *e) {
    (void)b, (void)iters, (void)seconds;
    return tb_fail(e, "%s", NO_CUDA);
}
double tb_cuda_bench_bytes(const tb_cuda_bench *b) { (void)b; return 0.0; }
int tb_cuda_bench_copies(const tb_cuda_bench *b) { (void)b; return 0; }
void tb_cuda_bench_free(tb_cuda_bench *b) { (void)b; }

int tb_cuda_d2d_bandwidth(size_t bytes, int iters, double *gbps, tb_err *e) {
    (void)bytes, (void)iters, (void)gbps;
    return tb_fail(e, "%s", NO_CUDA);
}

int tb_cuda_weights_upload(const void *packed, size_t bytes, void **dev, tb_err *e) {
    (void)packed, (void)bytes;
    *dev = NULL;
    return tb_fail(e, "%s", NO_CUDA);
}
void tb_cuda_weights_free(void *dev) { (void)dev; }
int tb_cuda_gemv_resident(const void *dev_packed, int rows, int cols, const int8_t *q, int n, int32_t *acc,
                          tb_err *e) {
    (void)dev_packed, (void)rows, (void)cols, (void)q, (void)n, (void)acc;
    return tb_fail(e, "%s", NO_CUDA);
}

int tb_cuda_device_buffer(float **dev, size_t n, tb_err *e) {
    (void)n;
    *dev = NULL;
    return tb_fail(e, "%s", NO_CUDA);
}
void tb_cuda_device_free(void *dev) { (void)dev; }
int tb_cuda_fill_random(float *dev, size_t n, uint64_t seed, tb_err *e) {
    (void)dev, (void)n, (void)seed;
    return tb_fail(e, "%s", NO_CUDA);
}
int tb_cuda_timer_start(tb_err *e) { return tb_fail(e, "%s", NO_CUDA); }
int tb_cuda_timer_stop(double *seconds, tb_err *e) {
    (void)seconds;
    return tb_fail(e, "%s", NO_CUDA);
}

int tb_cuda_decoder_new(const tb_model *m, int max_ctx, tb_cuda_decoder **out, tb_err *e) {
    (void)m, (void)max_ctx;
    *out = NULL;
    return tb_fail(e, "%s", NO_CUDA);
}
void tb_cuda_decoder_free(tb_cuda_decoder *d) { (void)d; }
void tb_cuda_decoder_reset(tb_cuda_decoder *d) { (void)d; }
int tb_cuda_decoder_pos(const tb_cuda_decoder *d) { (void)d; return 0; }
size_t tb_cuda_decoder_bytes(const tb_cuda_decoder *d) { (void)d; return 0; }
int tb_cuda_decoder_step(tb_cuda_decoder *d, int token, float *logits, tb_err *e) {
    (void)d, (void)token, (void)logits;
    return tb_fail(e, "%s", NO_CUDA);
}
