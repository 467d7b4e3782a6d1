/* test_lut_emu_bsp.c: compiles kernels/bitserial/gemv-bsp-1x256-avx512.c against the AVX-512 intrinsics model
 * (test_lut_emu.h) as the descriptor emu_bsp, for test_lut_emu.c. */
#include "test_lut_emu.h"
#define tb_k_gemv_bsp_1x256__avx512 emu_bsp
#include "../../kernels/bitserial/gemv-bsp-1x256-avx512.c"
