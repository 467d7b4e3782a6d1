/* qhead-best.c: picks the SIMD quantized LM head (qhead-simd.h) this build has and the ISA
 * limit allows.  Only x86 builds compile qhead-avx2.c (kernels/meson.build), so the choice
 * is made under #if, as lmhead.c does for the exact head. */
#include "kernel.h"
#include "qhead-simd.h"

tb_qhead_rows_fn tb_qhead_rows_best(unsigned isa) {
#if defined(__x86_64__) || defined(__i386__)
    if (isa & TB_ISA_AVX2) return tb_qhead_rows_avx2;
#endif
    (void)isa;
    return NULL;
}
