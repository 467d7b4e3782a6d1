/* test_lut_emu_tl2.c: compiles kernels/lut/gemv-tl2-32x24-avx512.c against the AVX-512 intrinsics model
 * (test_lut_emu.h) as the descriptor emu_tl2, for test_lut_emu.c. */
#include "test_lut_emu.h"
#define tb_k_gemv_tl2_32x24__avx512 emu_tl2
#include "../../kernels/lut/gemv-tl2-32x24-avx512.c"
