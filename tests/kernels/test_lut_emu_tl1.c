/* test_lut_emu_tl1.c: compiles kernels/lut/gemv-tl1-32x4-avx512.c against the AVX-512 intrinsics model
 * (test_lut_emu.h) as the descriptor emu_tl1, for test_lut_emu.c. */
#include "test_lut_emu.h"
#define tb_k_gemv_tl1_32x4__avx512 emu_tl1
#include "../../kernels/lut/gemv-tl1-32x4-avx512.c"
