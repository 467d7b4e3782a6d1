/* gemv-tl1-32x4-scalar.c: gemv_tl1_32x4__scalar, the portable TL1 LUT kernel.
 * Layout tl1_32x4 (see tl.h): 4-bit index per pair of weights into a per-group
 * table of the 9 signed sums w0*a0 + w1*a1 built by prep (int16, split in bytes).
 * Sums in int32: exact.  The simplest correct reading of the layout; the model for
 * the SIMD variants. */
#include "tl.h"

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    int rc = tl_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    const tl_dims d = tl_dims_of(2, rows, cols);
    const size_t prep_row = (size_t)d.pairs * TL_PREP_PAIR;
    for (int r = r0; r < r1; r++) {
        const uint8_t *w = (const uint8_t *)packed + (size_t)(r / TL_TILE) * d.pairs * TL1_PAIR_BYTES + r % TL_TILE;
        for (int t = 0; t < n; t++) {
            const uint8_t *tab = (const uint8_t *)prep + prep_row * t; /* (P, 4, 16) */
            int32_t s = 0;
            for (int p = 0; p < d.pairs; p++) {
                const uint8_t b = w[(size_t)p * TL1_PAIR_BYTES];
                const uint8_t *tp = tab + (size_t)p * TL_PREP_PAIR;
                s += tl_entry(tp, tp + 32, b & 15);       /* group 2p */
                s += tl_entry(tp + 16, tp + 48, b >> 4);  /* group 2p+1 */
            }
            acc[(size_t)t * rows + r] = s;
        }
    }
    return 0;
}

const tb_kernel tb_k_gemv_tl1_32x4__scalar = {
    .name = "gemv_tl1_32x4__scalar",
    .desc = "TL1 LUT, portable C: 4-bit index per 2 weights into exact int16 tables of signed sums",
    .isa = 0,
    .gemv = gemv,
    .prep = tl1_prep,
    TL1_COMMON,
};
