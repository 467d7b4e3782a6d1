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

/* End-to-end decode of a model with the full 2B4T shape entirely on the device
 * (tb_cuda_decoder): random weights built in memory (the same ternary codes in every
 * layer, separate device copies), F16 embedding, 128 greedy-free steps (token ids
 * fixed), logits downloaded every step.  Bytes per token: packed ternary weights +
 * F16 LM head + the KV cache read. */
static int e2e_decode(double d2d) {
    tb_config cfg;
    if (tb_config_preset("2b4t", &cfg) != 0) return 1;
    const int H = cfg.hidden, F = cfg.ffn, KV = cfg.kv_heads * cfg.head_dim, L = cfg.layers;
    tb_rng rng;
    tb_rng_seed(&rng, 99);
    const int shp[TB_LIN_COUNT][2] = {{H, H}, {KV, H}, {KV, H}, {H, H}, {F, H}, {F, H}, {H, F}};
    int8_t *codes[TB_LIN_COUNT];
    for (int k = 0; k < TB_LIN_COUNT; k++) {
        const size_t n = (size_t)shp[k][0] * shp[k][1];
        codes[k] = malloc(n);
        for (size_t i = 0; i < n; i++) codes[k][i] = (int8_t)((int)tb_rng_below(&rng, 3) - 1);
    }
    float *norm_h = malloc(sizeof(float) * H), *norm_f = malloc(sizeof(float) * F);
    for (int i = 0; i < H; i++) norm_h[i] = 1.0f;
    for (int i = 0; i < F; i++) norm_f[i] = 1.0f;
    uint16_t *embd = malloc(sizeof(uint16_t) * (size_t)cfg.vocab * H);
    for (size_t i = 0; i < (size_t)cfg.vocab * H; i++) embd[i] = tb_f32_to_f16((float)(tb_rng_normal(&rng) * 0.05));
    tb_layer *layers = calloc((size_t)L, sizeof *layers);
    tb_model *m = calloc(1, sizeof *m);
    m->cfg = cfg;
    m->embd_type = TB_F16;
    m->embd = embd;
    m->output_norm = norm_h;
    m->layer = layers;
    for (int l = 0; l < L; l++) {
        layers[l].attn_norm = layers[l].attn_sub_norm = layers[l].ffn_norm = norm_h;
        layers[l].ffn_sub_norm = norm_f;
        for (int k = 0; k < TB_LIN_COUNT; k++)
            layers[l].lin[k] = (tb_ternary){tb_lin_names[k], shp[k][0], shp[k][1], 1.0f / sqrtf((float)shp[k][1]),
                                            TB_TERN_CODES, (const uint8_t *)codes[k]};
    }
    enum { CTX = 256, STEPS = 128 };
    tb_cuda_decoder *d = NULL;
    tb_err e = {{0}};
    int rc = 0;
    float *logits = malloc(sizeof(float) * cfg.vocab);
    if (tb_cuda_decoder_new(m, CTX, &d, &e) != 0) {
        fprintf(stderr, "e2e: %s\n", e.msg);
        rc = 1;
    }
    double sec = 0.0;
    for (int i = 0; i < 8 && rc == 0; i++) /* warm-up */
        if (tb_cuda_decoder_step(d, 1000 + i, logits, &e) != 0) rc = 1;
    if (rc == 0) {
        tb_cuda_decoder_reset(d);
        const double t0 = tb_now();
        for (int i = 0; i < STEPS && rc == 0; i++)
            if (tb_cuda_decoder_step(d, 1000 + i, logits, &e) != 0) rc = 1;
        sec = tb_now() - t0;
    }
    if (rc) fprintf(stderr, "e2e: %s\n", e.msg);
    else {
        double tern = 0.0;
        for (int k = 0; k < TB_LIN_COUNT; k++) tern += L * (double)tb_w2a8_packed_size(shp[k][0], shp[k][1]);
        const double head = 2.0 * cfg.vocab * H, kv = 2.0 * L * (STEPS / 2.0) * KV * 4.0; /* mean KV read */
        const double per_tok = sec / STEPS, bytes = tern + head + kv;
        printf("end-to-end 2B4T-shape decode on the device (%d steps from position 0, logits downloaded each "
               "step): %.3f ms/token = %.1f tokens/s, %.0f MB/token -> %.1f GB/s (%.1f%% of d2d), device memory "
               "%.0f MB\n",
               STEPS, per_tok * 1e3, 1.0 / per_tok, bytes / 1e6, bytes / per_tok / 1e9,
               100.0 * bytes / per_tok / 1e9 / d2d, tb_cuda_decoder_bytes(d) / 1e6);
    }
    tb_cuda_decoder_free(d);
    for (int k = 0; k < TB_LIN_COUNT; k++) free(codes[k]);
    free(norm_h), free(norm_f), free(embd), free(layers), free(m), free(logits);
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
    if (rc == 0) rc = e2e_decode(d2d);
    printf("(energy: NVML total-energy counter, ms resolution and ~100 ms update period: only meaningful for long runs)\n");
    return rc;
}
