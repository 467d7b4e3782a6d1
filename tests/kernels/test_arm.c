/* test_arm.c: AArch64-only tests (built by the cross build, run under qemu-aarch64 by
 * test_arm_qemu.sh, or natively on an ARM machine):
 *  - run-time detection: the AT_HWCAP/AT_HWCAP2 bits map onto the TB_ISA_* bits;
 *  - the checker catches a NEON MAD kernel that reads the i2s4x128 layout with the
 *    wrong block geometry (64-weight / 16-byte groups where the data is 128 / 32: the
 *    bitnet.cpp ARM I2_S bug, issues #585/#598/#600); the real kernels pass the same
 *    checker in `ternbench check --quick` (run by test_arm_qemu.sh);
 *  - the NEON LM head equals tb_ref_lm_rows bit for bit (F16, BF16, F32; any hidden
 *    size, tails, row ranges, padded strides, 1..4 input rows). */
#include <arm_neon.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "../tb_test.h"
#include "arm/i2s4x128-neon.h"
#include "check.h"
#include "forward.h"
#include "kernel.h"
#include "lmhead.h"

/* ---- feature detection ------------------------------------------------------- */

TB_TEST(hwcap_detection) {
    unsigned long hw, hw2;
    tb_cpu_hwcaps(&hw, &hw2);
    const unsigned f = tb_cpu_features();
    char desc[128];
    tb_isa_describe(f, desc, sizeof desc);
    printf("AT_HWCAP 0x%lx AT_HWCAP2 0x%lx -> features: %s\n", hw, hw2, desc);
#ifdef PR_SVE_GET_VL
    if (f & TB_ISA_SVE) {
        const int vl = prctl(PR_SVE_GET_VL);
        printf("SVE vector length: %d bits\n", vl < 0 ? -1 : (vl & PR_SVE_VL_LEN_MASK) * 8);
    }
#endif
    TB_CHECK(((f & TB_ISA_NEON) != 0) == ((hw & (1ul << 1)) != 0));                         /* ASIMD */
    TB_CHECK(((f & TB_ISA_DOTPROD) != 0) == ((hw & (1ul << 1)) && (hw & (1ul << 20))));     /* ASIMDDP */
    TB_CHECK(((f & TB_ISA_SVE) != 0) == ((hw & (1ul << 1)) && (hw & (1ul << 22))));         /* SVE */
    TB_CHECK((f & (TB_ISA_AVX2 | TB_ISA_AVX512)) == 0);
    unsigned m;
    TB_CHECK(tb_isa_mask_from_name("neon", &m) == 0 && (m & TB_ISA_NEON) && !(m & TB_ISA_DOTPROD));
    TB_CHECK(tb_isa_mask_from_name("neondot", &m) == 0 && (m & TB_ISA_DOTPROD));
}

/* ---- a layout-broken NEON kernel is caught ------------------------------------ */

/* The NEON dot step of gemv_i2s_4x128__neon. */
TB_ALWAYS_INLINE int32x4_t dot16(int32x4_t acc, int8x16_t c, int8x16_t q) {
    return vpadalq_s16(acc, vmlal_high_s8(vmull_s8(vget_low_s8(c), vget_low_s8(q)), c, q));
}

/* Reads a row's 32 bytes as two 64-weight groups of 16 bytes (byte j of half h holding
 * K index 64h + 16s + j at bits 2s+1:2s) while the packer wrote 32-byte / 128-weight
 * groups (K index 32s + 16h + j): every code meets the wrong activation, except that
 * sums over all-equal activations still come out right. */
static int gemv_64x16(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0,
                      int r1, int32_t *acc) {
    (void)q;
    int rc = tb_i2s4_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    const int kp = tb_i2s4_kp(cols), nb = kp / TB_I2S4_BLOCK;
    const int32_t *qsum = prep;
    const int8_t *qpad = (const int8_t *)prep + tb_i2s4_sums_bytes(n);
    const uint8x16_t m3 = vdupq_n_u8(3);
    for (int t0 = r0 / 4; t0 * 4 < r1; t0++)
        for (int t = 0; t < n; t++) {
            int32_t d[4];
            for (int i = 0; i < 4; i++) {
                int32x4_t a = vdupq_n_s32(0);
                for (int b = 0; b < nb; b++) {
                    const uint8_t *w = (const uint8_t *)packed + ((size_t)t0 * nb + b) * 128 + 32 * i;
                    const int8_t *qb = qpad + (size_t)t * kp + b * 128;
                    for (int h = 0; h < 2; h++) {
                        const uint8x16_t x = vld1q_u8(w + 16 * h);
                        a = dot16(a, vreinterpretq_s8_u8(vandq_u8(x, m3)), vld1q_s8(qb + 64 * h));
                        a = dot16(a, vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(x, 2), m3)), vld1q_s8(qb + 64 * h + 16));
                        a = dot16(a, vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(x, 4), m3)), vld1q_s8(qb + 64 * h + 32));
                        a = dot16(a, vreinterpretq_s8_u8(vshrq_n_u8(x, 6)), vld1q_s8(qb + 64 * h + 48));
                    }
                }
                d[i] = vaddvq_s32(a) - qsum[t];
            }
            tb_i2s4_store(acc + (size_t)t * rows, t0 * 4, r0, r1, d);
        }
    return 0;
}

typedef struct fail_log {
    int lines;
    char first[512];
} fail_log;
static void log_fail(void *user, const char *line) {
    fail_log *f = user;
    if (!f->lines++) snprintf(f->first, sizeof f->first, "%s", line);
}

TB_TEST(checker_catches_arm_layout_bug) {
    const tb_kernel *good = tb_kernel_find("gemv_i2s_4x128__neon");
    TB_CHECK(good != NULL);
    if (!good) return;
    tb_kernel bad = *good;
    bad.name = "gemv_i2s_4x128__neon64x16";
    bad.gemv = gemv_64x16;
    tb_check_opts o;
    tb_check_opts_default(&o);
    o.quick = true;
    fail_log fl = {0, ""};
    o.on_fail = log_fail;
    o.user = &fl;
    tb_check_result r;
    tb_err e = {{0}};
    const int rc = tb_check_kernel(&bad, &o, &r, &e);
    printf("broken kernel %s: %d of %d cases failed; first: %s\n", bad.name, r.failed, r.cases, fl.first);
    TB_CHECK_MSG(rc == 1 && r.failed > 0, "64/16 layout bug not caught (rc %d, failed %d)", rc, r.failed);
    TB_CHECK(strstr(fl.first, bad.name) != NULL && strstr(fl.first, "--case ") != NULL);
}

/* ---- the NEON LM head against the reference ------------------------------------ */

static uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* An embedding (V, H) of type `type`, N(0, 1) values rounded to the type. */
static void *make_embd(tb_rng *r, int type, int V, int H) {
    const size_t n = (size_t)V * H;
    if (type == TB_F32) {
        float *e = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) e[i] = (float)tb_rng_normal(r);
        return e;
    }
    uint16_t *e = malloc(n * sizeof(uint16_t));
    for (size_t i = 0; i < n; i++) {
        const float v = (float)tb_rng_normal(r);
        uint32_t u = f2u(v);
        e[i] = type == TB_F16 ? tb_f32_to_f16(v) : (uint16_t)(u >> 16);
    }
    return e;
}

TB_TEST(neon_lmhead_bit_identical) {
    if (!(tb_cpu_features() & TB_ISA_NEON)) TB_SKIP("no NEON");
    TB_CHECK(tb_lm_rows_best(tb_cpu_features()) == tb_lm_rows_neon);
    TB_CHECK(tb_lm_rows_best(0) == NULL);
    tb_rng r;
    tb_rng_seed(&r, 0xa64ull);
    const int Hs[] = {1, 3, 4, 15, 16, 17, 33, 100, 128, 2560};
    const int types[] = {TB_F16, TB_BF16, TB_F32};
    const int V = 21;
    int cases = 0, bad = 0;
    for (size_t hi = 0; hi < sizeof Hs / sizeof Hs[0]; hi++)
        for (int ti = 0; ti < 3; ti++) {
            const int H = Hs[hi];
            void *embd = make_embd(&r, types[ti], V, H);
            tb_model m;
            memset(&m, 0, sizeof m);
            m.cfg.vocab = V;
            m.cfg.hidden = H;
            m.embd_type = (tb_ftype)types[ti];
            m.embd = embd;
            float *x = malloc(sizeof(float) * 4 * (size_t)H); /* (4, H) */
            for (int i = 0; i < 4 * H; i++) x[i] = (float)tb_rng_normal(&r);
            for (int n = 1; n <= 4; n++) {
                const size_t ldo = V + 3;
                float *a = calloc((size_t)n * ldo, sizeof(float)), *b = calloc((size_t)n * ldo, sizeof(float));
                TB_CHECK_EQ_INT(tb_ref_lm_rows(&m, 2, V, x, n, a + 2, ldo), 0);
                TB_CHECK_EQ_INT(tb_lm_rows_neon(NULL, &m, 2, V, x, n, b + 2, ldo), 0);
                for (size_t c = 0; c < (size_t)n * ldo; c++) bad += f2u(a[c]) != f2u(b[c]);
                cases++;
                free(a);
                free(b);
            }
            free(x);
            free(embd);
        }
    printf("neon lm_rows: %d cases (F16/BF16/F32, H 1..2560, n 1..4), %d cells differ from tb_ref_lm_rows\n", cases,
           bad);
    TB_CHECK_EQ_INT(bad, 0);
}

int main(void) { return tb_test_main(); }
