/* gemv-tl1q8-32x4-scalar.c: gemv_tl1q8_32x4__scalar, the portable int8-table TL1 LUT
 * kernel and the DEFINITION of the TL1 q8 results (tl.h, "int8-quantized tables").
 * APPROXIMATE: per group the table entry is T8 = min(rint(T / 2), 127) (ties to even; the
 * min only bites at T = 256), the result acc = 2 * sum T8, so |acc - exact| <= cols
 * (<= ceil(cols/2) from the rounding, +1 per group whose T = 256).  Same packed weights as
 * gemv_tl1_32x4__* (layout tl1_32x4); q8 prep (16 bytes per group, offset-binary). */
#include "tl.h"

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    int rc = tl_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    const tl_dims d = tl_dims_of(2, rows, cols);
    const size_t prep_row = (size_t)d.pairs * TLQ8_PREP_PAIR;
    for (int r = r0; r < r1; r++) {
        const uint8_t *w = (const uint8_t *)packed + (size_t)(r / TL_TILE) * d.pairs * TL1_PAIR_BYTES + r % TL_TILE;
        for (int t = 0; t < n; t++) {
            const uint8_t *tab = (const uint8_t *)prep + prep_row * t; /* (P, 2, 16) */
            int32_t s = 0;
            for (int p = 0; p < d.pairs; p++) {
                const uint8_t b = w[(size_t)p * TL1_PAIR_BYTES];
                const uint8_t *tp = tab + (size_t)p * TLQ8_PREP_PAIR;
                s += (int32_t)tp[b & 15] - TLQ8_BIAS;       /* group 2p */
                s += (int32_t)tp[16 + (b >> 4)] - TLQ8_BIAS; /* group 2p+1 */
            }
            acc[(size_t)t * rows + r] = 2 * s;
        }
    }
    return 0;
}

const tb_kernel tb_k_gemv_tl1q8_32x4__scalar = {
    .name = "gemv_tl1q8_32x4__scalar",
    .desc = "TL1 LUT, portable C, APPROXIMATE: int8 tables min(rint(T/2),127) (ties even), acc = 2*sum; |err| <= K",
    .isa = 0,
    .gemv = gemv,
    .prep = tl1q8_prep,
    TL1Q8_COMMON,
};
