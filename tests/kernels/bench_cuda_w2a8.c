/* bench_cuda_w2a8.c: device timing of the CUDA W2A8 GEMV on every 2B4T decode shape
 * (meson benchmark 'cuda_w2a8': `meson test -C BUILD --benchmark --suite cuda`).
 *
 * For each shape and n in {1, 8}: weights rotated over >= 2x L2 worth of copies (cold
 * every launch), 200 launches each timed with CUDA events, median reported as GB/s of
 * bytes moved (packed weights + activations + accumulators) and as a fraction of the
 * device-to-device copy rate measured in the same run (2 x bytes per copy).  NVML
 * energy per launch when the driver exposes it.  Each shape is first checked against
 * the host emulation (tb_cuda_bench_run does it on its first call).  Exit 77 without
 * a usable GPU.  Prints one table; no assertions on speed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cuda/tb_cuda.h"

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The ternary part of one 2B4T decode step entirely on the device: 30 layers of
 * q|k|v, o, gate|up, down as device BitLinears (quantize + GEMV + per-part epilogue),
 * each layer's input the previous output (truncated to the next width), no host
 * copies.  Random weights (the same codes in every layer, separate device copies:
 * 521 MB in all, far above L2).  Excludes norms, attention and the LM head. */
static int ternary_decode(double d2d) {
    enum { LAYERS = 30, TOKENS = 20 };
    static const int shp[4][2] = {{3840, 2560}, {2560, 2560}, {13824, 2560}, {2560, 6912}};
    tb_cuda_linear *lin[LAYERS][4] = {{0}};
    tb_err e = {{0}};
    int rc = 0;
    tb_rng rng;
    tb_rng_seed(&rng, 42);
    double bytes = 0.0;
    for (int k = 0; k < 4 && rc == 0; k++) {
        const int rows = shp[k][0], cols = shp[k][1];
        int8_t *codes = malloc((size_t)rows * cols);
        for (size_t i = 0; i < (size_t)rows * cols; i++) codes[i] = (int8_t)((int)tb_rng_below(&rng, 3) - 1);
        /* scale ~ 1/sqrt(K) keeps activations O(1) through 120 linears */
        tb_ternary w = {"decode", rows, cols, 1.0f / sqrtf((float)cols), TB_TERN_CODES, (const uint8_t *)codes};
        const tb_ternary *parts[1] = {&w};
        for (int l = 0; l < LAYERS && rc == 0; l++) {
            if (tb_cuda_linear_new(parts, 1, 1, &lin[l][k], &e) != 0) {
                fprintf(stderr, "decode: %s\n", e.msg);
                rc = 1;
            }
            bytes += (double)tb_w2a8_packed_size(rows, cols);
        }
        free(codes);
    }
    float *xs[2] = {NULL, NULL};
    if (rc == 0 && (tb_cuda_device_buffer(&xs[0], 13824, &e) || tb_cuda_device_buffer(&xs[1], 13824, &e))) {
        fprintf(stderr, "decode: %s\n", e.msg);
        rc = 1;
    }
    double sec = 0.0;
    if (rc == 0 && tb_cuda_fill_random(xs[0], 13824, 7, &e) != 0) rc = 1;
    for (int rep = 0; rep < 2 && rc == 0; rep++) { /* rep 0: warm-up */
        if (tb_cuda_timer_start(&e) != 0) { rc = 1; break; }
        for (int t = 0; t < TOKENS && rc == 0; t++)
            for (int l = 0; l < LAYERS && rc == 0; l++)
                for (int k = 0; k < 4 && rc == 0; k++) /* x -> y, then y is the next input */
                    if (tb_cuda_linear_forward(lin[l][k], xs[0], 1, xs[1], &e) != 0) rc = 1;
                    else {
                        float *tmp = xs[0];
                        xs[0] = xs[1];
                        xs[1] = tmp;
                    }
        if (rc == 0 && tb_cuda_timer_stop(&sec, &e) != 0) rc = 1;
    }
    if (rc) fprintf(stderr, "decode: %s\n", e.msg);
    else
        printf("ternary part of a 2B4T decode step on the device (30 x [qkv, o, gate|up, down] BitLinears): "
               "%.3f ms/token, %.1f GB/s of packed weights (%.1f%% of d2d), %.0f MB/token\n",
               sec / TOKENS * 1e3, bytes / (sec / TOKENS) / 1e9, 100.0 * bytes / (sec / TOKENS) / 1e9 / d2d,
               bytes / 1e6);
    for (int l = 0; l < LAYERS; l++)
        for (int k = 0; k < 4; k++) tb_cuda_linear_free(lin[l][k]);
    tb_cuda_device_free(xs[0]);
    tb_cuda_device_free(xs[1]);
    return rc;
}

int main(void) {
    char why[256];
    if (!tb_cuda_available(why, sizeof why)) {
        printf("SKIP: %s\n", why);
        return 77;
    }
    tb_err e = {{0}};
    tb_cuda_info info;
    if (tb_cuda_device_info(&info, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    double d2d = 0.0;
    if (tb_cuda_d2d_bandwidth((size_t)512 << 20, 20, &d2d, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    printf("device: %s (sm_%d%d, %d SMs, L2 %.1f MB); build: %s\n", info.name, info.sm_major, info.sm_minor,
           info.sms, info.l2_bytes / 1e6, tb_cuda_archs());
    printf("device-to-device copy: %.1f GB/s (read + write)\n", d2d);
    static const struct {
        const char *name;
        int rows, cols;
    } shapes[] = {{"q/o", 2560, 2560}, {"k/v", 640, 2560},   {"gate/up", 6912, 2560},
                  {"down", 2560, 6912}, {"qkv", 3840, 2560}, {"gate|up", 13824, 2560}};
    enum { ITERS = 200 };
    printf("%-8s %6s %6s %3s %7s %10s %9s %9s %7s %10s\n", "shape", "rows", "cols", "n", "copies", "us/launch",
           "MB/launch", "GB/s", "of d2d", "uJ/launch");
    int rc = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (int n = 1; n <= 8; n += 7) {
            tb_cuda_bench *b = NULL;
            if (tb_cuda_bench_new(shapes[s].rows, shapes[s].cols, n, 1234 + s, &b, &e) != 0) {
                fprintf(stderr, "%s: %s\n", shapes[s].name, e.msg);
                rc = 1;
                continue;
            }
            double t[ITERS], sec = 0.0;
            if (tb_cuda_bench_run(b, 10, &sec, &e) != 0) { /* warm-up + verification */
                fprintf(stderr, "%s: %s\n", shapes[s].name, e.msg);
                rc = 1;
                tb_cuda_bench_free(b);
                continue;
            }
            unsigned long long mj0 = 0, mj1 = 0;
            tb_err ne = {{0}};
            const bool energy = tb_nvml_energy_mj(0, &mj0, &ne) == 0;
            for (int i = 0; i < ITERS && rc == 0; i++)
                if (tb_cuda_bench_run(b, 1, &t[i], &e) != 0) {
                    fprintf(stderr, "%s: %s\n", shapes[s].name, e.msg);
                    rc = 1;
                }
            const bool energy_ok = energy && tb_nvml_energy_mj(0, &mj1, &ne) == 0 && mj1 >= mj0;
            qsort(t, ITERS, sizeof t[0], cmp_double);
            const double med = t[ITERS / 2], bytes = tb_cuda_bench_bytes(b);
            const double gbps = bytes / med / 1e9;
            char ej[32] = "n/a";
            if (energy_ok) snprintf(ej, sizeof ej, "%.1f", (double)(mj1 - mj0) * 1e3 / ITERS);
            printf("%-8s %6d %6d %3d %7d %10.2f %9.3f %9.1f %6.1f%% %10s\n", shapes[s].name, shapes[s].rows,
                   shapes[s].cols, n, tb_cuda_bench_copies(b), med * 1e6, bytes / 1e6, gbps, 100.0 * gbps / d2d, ej);
            tb_cuda_bench_free(b);
        }
    }
    if (rc == 0) rc = ternary_decode(d2d);
    printf("(energy: NVML total-energy counter, ms resolution and ~100 ms update period: only meaningful for long runs)\n");
    return rc;
}
