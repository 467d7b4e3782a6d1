/* emu_avx512.c: kernels/mad/gemv-i2s-4x128-avx512.c compiled with AVX2 emulations of its
 * intrinsics (emu_simd.h), registered for the test as tb_k_emu_avx512. */
#include "emu_simd.h"
#define tb_k_gemv_i2s_4x128__avx512 tb_k_emu_avx512
#include "../../kernels/mad/gemv-i2s-4x128-avx512.c"
