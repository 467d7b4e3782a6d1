/* test_lut.c: every LUT kernel (TL1, TL2; all ISAs this CPU has) is exact against
 * the scalar reference on random, odd-shaped, sub-range, batched and adversarial
 * inputs (see test_lut_common.h). */
#include "test_lut_common.h"

/* TL1 and TL2 of each ISA (meson tests lut_scalar, lut_avx2, lut_avx512) */
TB_TEST(lut_scalar) { sweep_family_isa("lut", "scalar", 2, 0x1u); }
TB_TEST(lut_avx2) { sweep_family_isa("lut", "avx2", 2, 0x1u); }
TB_TEST(lut_avx512) { sweep_family_isa("lut", "avx512", 2, 0x1u); }

/* TL2's encoder covers all 27 triples: decode(encode(w)) == w and the zero triple is
 * index 0 with sign 0. */
#include "../../kernels/lut/tl.h"
TB_TEST(tl2_encoding_roundtrip) {
    int seen[14][2] = {{0}};
    for (int c = 0; c < 27; c++) {
        int w[3] = {c / 9 - 1, c / 3 % 3 - 1, c % 3 - 1}, idx, sign;
        tl2_encode(w[0], w[1], w[2], &idx, &sign);
        TB_CHECK(idx >= 0 && idx < 14);
        seen[idx][sign]++;
        for (int i = 0; i < 3; i++) TB_CHECK_EQ_INT(sign ? -tl2_canon[idx][i] : tl2_canon[idx][i], w[i]);
    }
    TB_CHECK_EQ_INT(seen[0][0], 1);
    TB_CHECK_EQ_INT(seen[0][1], 0);
    for (int i = 1; i < 14; i++) TB_CHECK(seen[i][0] == 1 && seen[i][1] == 1);
}

TB_TEST(tl_prep_avx2_same_bytes) {
    check_prep_equal("tl1_prep_avx2", tl1_prep, tl1_prep_avx2, tl1_prep_size);
    check_prep_equal("tl2_prep_avx2", tl2_prep, tl2_prep_avx2, tl2_prep_size);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
