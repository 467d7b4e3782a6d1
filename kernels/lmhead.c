/* lmhead.c: picks the SIMD LM head (lmhead.h) this build has and the ISA limit allows.
 * Only the architecture's own version is compiled (kernels/meson.build), so the choice
 * is made here under #if rather than in the runner. */
#include "kernel.h"
#include "lmhead.h"

tb_lm_rows_fn tb_lm_rows_best(unsigned isa) {
#if defined(__x86_64__) || defined(__i386__)
    if (isa & TB_ISA_AVX2) return tb_lm_rows_avx2;
#elif defined(__aarch64__)
    if (isa & TB_ISA_NEON) return tb_lm_rows_neon;
#endif
    (void)isa;
    return NULL;
}
