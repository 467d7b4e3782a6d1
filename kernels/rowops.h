/* rowops.h: SIMD versions of the forward pass's row operations (tb_rowops,
 * reference/forward.h), each bit-identical to tb_ref_rowops().  The runner installs
 * the best one the CPU (and the runner's ISA limit) allows. */
#ifndef TB_ROWOPS_H
#define TB_ROWOPS_H

#include <math.h>

#include "forward.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const tb_rowops tb_rowops_avx2; /* AVX2 + FMA (TB_ISA_AVX2) */

#ifdef __cplusplus
}
#endif
#endif
