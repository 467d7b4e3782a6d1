/* test_cuda_device.c: the CUDA kernel's runtime behaviour.
 *
 * Without a usable GPU (or built without CUDA): availability is false with a reason,
 * the registry reports the kernel unsupported with a reason, every device entry point
 * fails cleanly (no crash) and TB_ISA_CUDA is absent from tb_cpu_features().
 * With a GPU: the device GEMV is bit-exact against the reference on every 2B4T shape,
 * odd shapes, batches and the adversarial inputs, and the device BitLinear (quantize +
 * GEMV + per-part epilogue) is bit-exact against the host emulation and the reference.
 */
#include <stdlib.h>
#include <string.h>

#include "bitlinear.h"
#include "tb_build_config.h"
#include "cuda/tb_cuda.h"
#include "../tb_test.h"

TB_TEST(build_flags_agree) {
    TB_CHECK_EQ_INT(tb_cuda_built() ? 1 : 0, TB_HAVE_CUDA);
    if (tb_cuda_built()) {
        TB_CHECK(strstr(tb_cuda_archs(), "sm_80") != NULL);
        TB_CHECK(strstr(tb_cuda_archs(), "sm_90") != NULL);
    }
}

TB_TEST(availability_is_consistent) {
    char why[256] = "unchanged";
    const bool ok = tb_cuda_available(why, sizeof why);
    const bool ok2 = tb_cuda_available(NULL, 0); /* NULL reason is fine, result cached */
    TB_CHECK(ok == ok2);
    TB_CHECK_EQ_INT(tb_cuda_device_usable() ? 1 : 0, ok ? 1 : 0);
    TB_CHECK_EQ_INT((tb_cpu_features() & TB_ISA_CUDA) ? 1 : 0, ok ? 1 : 0);
    if (ok) {
        TB_CHECK(why[0] == '\0');
    } else {
        TB_CHECK(why[0] != '\0' && strcmp(why, "unchanged") != 0);
        TB_CHECK(strcmp(tb_cuda_unusable_reason(), why) == 0);
        if (!tb_cuda_built()) TB_CHECK(strstr(why, "built without CUDA") != NULL);
        printf("no usable CUDA device: %s\n", why);
    }
}

TB_TEST(without_device_everything_fails_cleanly) {
    if (tb_cuda_available(NULL, 0)) TB_SKIP("a CUDA device is usable: covered by the device tests");
    const tb_kernel *k = tb_kernel_find("gemv_w2a8_4x512__cuda");
    TB_CHECK(k != NULL);
    if (!k) return;
    const char *why = NULL;
    TB_CHECK(!tb_kernel_supported(k, TB_ISA_ALL, &why));
    TB_CHECK(why != NULL && why[0] != '\0');
    /* calling it anyway returns an error, never crashes, and leaves acc alone */
    int8_t codes[8 * 16] = {0}, q[16] = {0};
    tb_ternary w = {"t", 8, 16, 1.0f, TB_TERN_CODES, (const uint8_t *)codes};
    void *p = malloc(k->packed_size(8, 16));
    TB_CHECK_EQ_INT(k->pack(&w, p), 0);
    int32_t acc[8];
    for (int i = 0; i < 8; i++) acc[i] = 12345;
    TB_CHECK_EQ_INT(k->gemv(p, 8, 16, q, NULL, 1, 0, 8, acc), TB_KERR_DEVICE);
    for (int i = 0; i < 8; i++) TB_CHECK_EQ_INT(acc[i], 12345);
    TB_CHECK(tb_cuda_last_error()[0] != '\0');
    free(p);

    tb_err e = {{0}};
    const tb_ternary *parts[1] = {&w};
    tb_cuda_linear *l = (tb_cuda_linear *)1;
    TB_CHECK(tb_cuda_linear_new(parts, 1, 1, &l, &e) < 0 && l == NULL && e.msg[0]);
    tb_cuda_bench *b = (tb_cuda_bench *)1;
    e.msg[0] = 0;
    TB_CHECK(tb_cuda_bench_new(64, 64, 1, 1, &b, &e) < 0 && b == NULL && e.msg[0]);
    double gbps = -1;
    e.msg[0] = 0;
    TB_CHECK(tb_cuda_d2d_bandwidth(1 << 20, 2, &gbps, &e) < 0 && e.msg[0] && gbps == -1);
    tb_cuda_info info;
    e.msg[0] = 0;
    TB_CHECK(tb_cuda_device_info(&info, &e) < 0 && e.msg[0]);
    unsigned long long mj = 0;
    e.msg[0] = 0;
    if (tb_nvml_energy_mj(0, &mj, &e) < 0) TB_CHECK(e.msg[0] != '\0'); /* no driver: a reason, no crash */
    tb_cuda_linear_free(NULL);
    tb_cuda_bench_free(NULL);
}

/* ---- with a device ------------------------------------------------------- */

static int8_t *random_codes(tb_rng *rng, size_t n) {
    int8_t *c = malloc(n);
    for (size_t i = 0; i < n; i++) c[i] = (int8_t)((int)tb_rng_below(rng, 3) - 1);
    return c;
}

static int device_vs_ref(int rows, int cols, int n, const int8_t *codes, const int8_t *q, int r0, int r1) {
    const tb_kernel *k = &tb_k_gemv_w2a8_4x512__cuda;
    tb_ternary w = {"dev", rows, cols, 1.0f, TB_TERN_CODES, (const uint8_t *)codes};
    void *p = malloc(k->packed_size(rows, cols));
    int32_t *want = malloc(sizeof *want * (size_t)n * rows), *got = malloc(sizeof *got * (size_t)n * rows);
    int8_t *scratch = malloc((size_t)cols);
    TB_CHECK_EQ_INT(k->pack(&w, p), 0);
    tb_matmul_ref(&w, q, n, want, scratch);
    for (size_t i = 0; i < (size_t)n * rows; i++) got[i] = (int32_t)0x5EADBEEF;
    const int rc = k->gemv(p, rows, cols, q, NULL, n, r0, r1, got);
    TB_CHECK_MSG(rc == 0, "%s", tb_cuda_last_error());
    int bad = 0;
    for (int t = 0; t < n; t++)
        for (int r = 0; r < rows; r++) {
            const size_t i = (size_t)t * rows + r;
            const int32_t expect = (r >= r0 && r < r1) ? want[i] : (int32_t)0x5EADBEEF;
            if (got[i] != expect && bad++ < 3)
                fprintf(stderr, "device %dx%d n=%d [%d,%d): token %d row %d got %d want %d\n", rows, cols, n, r0,
                        r1, t, r, got[i], expect);
        }
    free(p), free(want), free(got), free(scratch);
    return bad;
}

TB_TEST(device_gemv_exact) {
    if (!tb_cuda_available(NULL, 0)) TB_SKIP("no usable CUDA device: %s", tb_cuda_unusable_reason());
    static const int shapes[][3] = {{2560, 2560, 1}, {640, 2560, 1}, {6912, 2560, 1}, {2560, 6912, 1},
                                    {3840, 2560, 1}, {13824, 2560, 1}, {2560, 2560, 8}, {3840, 2560, 13},
                                    {5, 513, 3},     {130, 1539, 7},   {1, 1, 1},       {17, 100, 2}};
    tb_rng rng;
    tb_rng_seed(&rng, 77);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int rows = shapes[s][0], cols = shapes[s][1], n = shapes[s][2];
        int8_t *codes = random_codes(&rng, (size_t)rows * cols), *q = malloc((size_t)n * cols);
        for (size_t i = 0; i < (size_t)n * cols; i++) q[i] = (int8_t)((int)tb_rng_below(&rng, 256) - 128);
        TB_CHECK_EQ_INT(device_vs_ref(rows, cols, n, codes, q, 0, rows), 0);
        if (rows > 3) TB_CHECK_EQ_INT(device_vs_ref(rows, cols, n, codes, q, 1, rows - 2), 0);
        free(codes), free(q);
    }
    /* adversarial: all +1 / all -1 against -128 at K = 6912 */
    const int rows = 8, cols = 6912;
    int8_t *codes = malloc((size_t)rows * cols), *q = malloc((size_t)2 * cols);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) codes[(size_t)r * cols + c] = (int8_t)(r & 1 ? -1 : 1);
    for (int c = 0; c < 2 * cols; c++) q[c] = c < cols ? -128 : 127;
    TB_CHECK_EQ_INT(device_vs_ref(rows, cols, 2, codes, q, 0, rows), 0);
    free(codes), free(q);
}

TB_TEST(device_bitlinear_fused_matches_emulation_and_reference) {
    if (!tb_cuda_available(NULL, 0)) TB_SKIP("no usable CUDA device: %s", tb_cuda_unusable_reason());
    tb_rng rng;
    tb_rng_seed(&rng, 31);
    const int cols = 2560, pr[3] = {2560, 640, 640}, rows = 3840, n = 5;
    const float sc[3] = {0.5f, 1.25f, 3.0f};
    int8_t *codes[3];
    tb_ternary w[3];
    const tb_ternary *pp[3];
    for (int i = 0; i < 3; i++) {
        codes[i] = random_codes(&rng, (size_t)pr[i] * cols);
        w[i] = (tb_ternary){"qkv", pr[i], cols, sc[i], TB_TERN_CODES, (const uint8_t *)codes[i]};
        pp[i] = &w[i];
    }
    tb_err e = {{0}};
    tb_cuda_linear *l = NULL;
    TB_CHECK_MSG(tb_cuda_linear_new(pp, 3, 8, &l, &e) == 0, "%s", e.msg);
    if (!l) return;
    float *x = malloc(sizeof *x * (size_t)n * cols), *y = malloc(sizeof *y * (size_t)n * rows);
    float *ye = malloc(sizeof *ye * (size_t)n * rows), *yr = malloc(sizeof *yr * rows);
    for (size_t i = 0; i < (size_t)n * cols; i++) x[i] = (float)tb_rng_normal(&rng);
    TB_CHECK_MSG(tb_cuda_linear_forward_host(l, x, n, y, NULL, NULL, &e) == 0, "%s", e.msg);
    tb_w2a8_parts parts;
    tb_w2a8_parts_from(pp, 3, &parts);
    void *packed = malloc(tb_w2a8_packed_size(rows, cols));
    tb_w2a8_pack_parts(pp, 3, packed);
    TB_CHECK_EQ_INT(tb_w2a8_bitlinear_emu(packed, rows, cols, &parts, x, n, ye, NULL), 0);
    TB_CHECK(memcmp(y, ye, sizeof *y * (size_t)n * rows) == 0);
    for (int t = 0; t < n; t++) {
        int r0 = 0;
        for (int i = 0; i < 3; i++) {
            tb_bitlinear_ref(&w[i], x + (size_t)t * cols, yr, NULL);
            TB_CHECK(memcmp(y + (size_t)t * rows + r0, yr, sizeof *yr * pr[i]) == 0);
            r0 += pr[i];
        }
    }
    tb_cuda_linear_free(l);
    for (int i = 0; i < 3; i++) free(codes[i]);
    free(x), free(y), free(ye), free(yr), free(packed);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
