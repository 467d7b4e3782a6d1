/* test_kcore_emu.c: the AVX-VNNI and AVX-512 int8-MAD kernels, which cannot run on the
 * development/CI machine, checked through AVX2 emulations of their intrinsics
 * (emu_simd.h): the whole quick checker matrix (K = 6912 adversarial case included) and
 * the model-level check (logits of the synthetic model bit-identical to the reference).
 * This proves their layout handling, lane halves, broadcasts and reductions; the real
 * instructions are checked by `ternbench check` on machines that have them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tb_test.h"
#include "check.h"

extern const tb_kernel tb_k_emu_avxvnni, tb_k_emu_avx512, tb_k_emu_avx512vnni;

static void print_line(void *user, const char *line) {
    (void)user;
    fprintf(stderr, "%s\n", line);
}

static void check_emulated(const tb_kernel *real) {
    if (!(tb_cpu_features() & TB_ISA_AVX2)) TB_SKIP("the emulation needs AVX2");
    tb_kernel k = *real;
    char name[96];
    snprintf(name, sizeof name, "%s_emu", real->name);
    k.name = name;
    k.isa = TB_ISA_AVX2;
    tb_check_opts o;
    tb_check_opts_default(&o);
    o.quick = true;
    o.seed = 11;
    o.on_fail = print_line;
    tb_check_result r;
    tb_err e = {{0}};
    TB_CHECK_MSG(tb_check_kernel(&k, &o, &r, &e) == 0, "%s: %s", name, r.first_failure[0] ? r.first_failure : e.msg);
    TB_CHECK(r.cases > 100 && r.passed == r.cases && r.refused == 0);
    double md = -1;
    bool ident = false;
    TB_CHECK_MSG(tb_check_model(&k, 2, 11, &md, &ident, &e) == 0, "%s: %s", name, e.msg);
    TB_CHECK_MSG(ident && md == 0, "%s: model-level max |logit diff| %g", name, md);
    /* reports label the real kernel as checked through this emulation */
    TB_CHECK(tb_kernel_emulated_in_tests(tb_kernel_find(real->name)));
}

TB_TEST(emulated_avxvnni) { check_emulated(&tb_k_emu_avxvnni); }
TB_TEST(emulated_avx512) { check_emulated(&tb_k_emu_avx512); }
TB_TEST(emulated_avx512vnni) { check_emulated(&tb_k_emu_avx512vnni); }

/* the emulated descriptors are the registered ones (same name, layout, packer) */
TB_TEST(emulated_match_registry) {
    const tb_kernel *e[3] = {&tb_k_emu_avxvnni, &tb_k_emu_avx512, &tb_k_emu_avx512vnni};
    for (int i = 0; i < 3; i++) {
        const tb_kernel *k = tb_kernel_find(e[i]->name);
        TB_CHECK_MSG(k != NULL, "%s not registered", e[i]->name);
        if (k) TB_CHECK(k->pack == e[i]->pack && k->isa == e[i]->isa && strcmp(k->layout, e[i]->layout) == 0);
    }
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
