/* test_bitserial.c: every bit-serial kernel (all ISAs this CPU has) is exact against
 * the scalar reference on random, odd-shaped, sub-range, batched and adversarial
 * inputs (see test_lut_common.h). */
#include "test_lut_common.h"

/* one kernel per ISA (meson tests bitserial_scalar, bitserial_avx2, bitserial_avx512) */
TB_TEST(bitserial_scalar) { sweep_family_isa("bitserial", "scalar", 1, 0x2u); }
TB_TEST(bitserial_avx2) { sweep_family_isa("bitserial", "avx2", 1, 0x2u); }
TB_TEST(bitserial_avx512) { sweep_family_isa("bitserial", "avx512", 1, 0x2u); }

#include "../../kernels/bitserial/bsp.h"
TB_TEST(bsp_prep_avx2_same_bytes) { check_prep_equal("bsp_prep_avx2", bsp_prep, bsp_prep_avx2, bsp_prep_size); }

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
