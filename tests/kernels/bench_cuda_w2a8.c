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
#include <stdio.h>
#include <stdlib.h>

#include "cuda/tb_cuda.h"

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
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
    printf("(energy: NVML total-energy counter, ms resolution and ~100 ms update period: only meaningful for long runs)\n");
    return rc;
}
