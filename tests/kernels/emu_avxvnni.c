/* emu_avxvnni.c: kernels/mad/gemv-i2s-4x128-avxvnni.c compiled with AVX2 emulations of its
 * intrinsics (emu_simd.h), registered for the test as tb_k_emu_avxvnni. */
#include "emu_simd.h"
#define tb_k_gemv_i2s_4x128__avxvnni tb_k_emu_avxvnni
#include "../../kernels/mad/gemv-i2s-4x128-avxvnni.c"
