/* test_lut_emu.c: the AVX-512 LUT and bit-serial kernels, compiled against a plain-C
 * model of the AVX-512 intrinsics (test_lut_emu.h), must be exact on the same sweep
 * as the real kernels (random/odd shapes, sub-ranges, n = 1..3 and the batched n = 2..9, 17, 33, 130,
 * adversarial K = 6912).
 * This verifies their logic on machines without AVX-512 (this one); it does not
 * replace running them on AVX-512 hardware, where `ternbench check` does that. */
#include "test_lut_common.h"
#include "test_lut_emu.h"

extern const tb_kernel emu_tl1, emu_tl2, emu_bsp;

static int have_avx2(void) { return (tb_cpu_features() & TB_ISA_AVX2) != 0; }

TB_TEST(emu_avx512_random_shapes) {
    if (!have_avx2()) TB_SKIP("the emulated kernels also use AVX2; no AVX2 here");
    const tb_kernel *ks[3] = {&emu_tl1, &emu_tl2, &emu_bsp};
    sweep_random_list(ks, 3, 0x3u);
    sweep_batched_list(ks, 3, 0x3u); /* the GEMM paths (n >= 2) */
    fprintf(stderr, "emulated AVX-512: %d cases passed\n", n_run_);
}

TB_TEST(emu_avx512_adversarial_k6912) {
    if (!have_avx2()) TB_SKIP("the emulated kernels also use AVX2; no AVX2 here");
    const tb_kernel *ks[3] = {&emu_tl1, &emu_tl2, &emu_bsp};
    sweep_adversarial_list(ks, 3);
}

#include "check.h"

static void quiet(void *user, const char *line) {
    (void)user;
    fprintf(stderr, "%s\n", line);
}

/* the emulated kernels through the checker matrix (quick) and the model-level check */
TB_TEST(emu_avx512_checker_and_model) {
    if (!have_avx2()) TB_SKIP("the emulated kernels also use AVX2; no AVX2 here");
    const tb_kernel *ks[3] = {&emu_tl1, &emu_tl2, &emu_bsp};
    for (int i = 0; i < 3; i++) {
        tb_kernel k = *ks[i];
        k.isa = TB_ISA_AVX2; /* the model needs no AVX-512 */
        tb_check_opts o;
        tb_check_opts_default(&o);
        o.quick = true;
        o.seed = 13;
        o.on_fail = quiet;
        tb_check_result r;
        tb_err e = {{0}};
        TB_CHECK_MSG(tb_check_kernel(&k, &o, &r, &e) == 0, "%s: %s", k.name, r.first_failure[0] ? r.first_failure : e.msg);
        TB_CHECK(r.cases > 100 && r.passed == r.cases && r.refused == 0);
        double md = -1;
        bool ident = false;
        TB_CHECK_MSG(tb_check_model(&k, 2, 13, &md, &ident, &e) == 0, "%s: %s", k.name, e.msg);
        TB_CHECK_MSG(ident && md == 0, "%s: model-level max |logit diff| %g", k.name, md);
        TB_CHECK(tb_kernel_emulated_in_tests(tb_kernel_find(ks[i]->name)));
    }
}

/* The model itself, on facts stated by the instruction definitions. */
TB_TEST(emu_model_facts) {
    emu_v512 a, idx;
    for (int i = 0; i < 64; i++) { a.b[i] = (int8_t)i; idx.b[i] = (int8_t)(15 - (i & 15)); }
    idx.b[5] = (int8_t)0x80;
    emu_v512 r = emu_shuffle_epi8(a, idx);
    TB_CHECK_EQ_INT(r.b[0], 15);     /* lane 0 reversed */
    TB_CHECK_EQ_INT(r.b[16], 31);    /* lane 1 uses its own bytes */
    TB_CHECK_EQ_INT(r.b[5], 0);      /* bit 7 zeroes */
    r = emu_unpacklo_epi8(a, emu_set1_epi8(-1));
    TB_CHECK(r.b[0] == 0 && r.b[1] == -1 && r.b[2] == 1 && r.b[32] == 32 && r.b[34] == 33);
    r = emu_unpackhi_epi8(a, a);
    TB_CHECK(r.b[0] == 8 && r.b[1] == 8 && r.b[48] == 56);
    r = emu_movm_epi8((__mmask64)1 << 63 | 1);
    TB_CHECK(r.b[0] == -1 && r.b[1] == 0 && r.b[63] == -1);
    r = emu_mask_broadcast_i32x4(emu_setzero(), 0xFF00, _mm_set1_epi8(7));
    TB_CHECK(r.b[31] == 0 && r.b[32] == 7 && r.b[63] == 7);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
