/* test_bitserial.c: every bit-serial kernel (all ISAs this CPU has) is exact against
 * the scalar reference on random, odd-shaped, sub-range, batched and adversarial
 * inputs (see test_lut_common.h). */
#include "test_lut_common.h"

TB_TEST(bitserial_random_shapes) { sweep_random("bitserial", 0x2u); }
TB_TEST(bitserial_adversarial_k6912) { sweep_adversarial("bitserial"); }
TB_TEST(bitserial_i2s_input_and_errors) { sweep_errors("bitserial"); }

#include "../../kernels/bitserial/bsp.h"
TB_TEST(bsp_prep_avx2_same_bytes) { check_prep_equal("bsp_prep_avx2", bsp_prep, bsp_prep_avx2, bsp_prep_size); }

int main(void) { return tb_test_main(); }
