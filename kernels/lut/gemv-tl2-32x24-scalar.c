/* gemv-tl2-32x24-scalar.c: gemv_tl2_32x24__scalar, the portable TL2 LUT kernel.
 * Layout tl2_32x24 (see tl.h): per 3 weights a 4-bit index into a per-group table of
 * the 14 canonical signed sums plus a sign bit (1.67 bits per weight).  Sums in
 * int32 with the sign applied directly (it does not use the nneg counts): exact.
 * The simplest correct reading of the layout; the model for the SIMD variants. */
#include "tl.h"

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    int rc = tl_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    const tl_dims d = tl_dims_of(3, rows, cols);
    const size_t prep_row = (size_t)d.pairs * TL_PREP_PAIR;
    for (int r = r0; r < r1; r++) {
        const uint8_t *tile = (const uint8_t *)packed + (size_t)(r / TL_TILE) * tl2_tile_bytes(d);
        const int j = r % TL_TILE;
        for (int t = 0; t < n; t++) {
            const uint8_t *tab = (const uint8_t *)prep + prep_row * t; /* (P, 4, 16) */
            int32_t s = 0;
            for (int k = 0; k < 8 * d.octets; k++) {
                const uint8_t *oct = tile + (size_t)(k / 8) * TL2_OCTET_BYTES;
                const int idx = (oct[32 * (k % 8 / 2) + j] >> (4 * (k % 2))) & 15;
                const uint8_t *tp = tab + (size_t)(k / 2) * TL_PREP_PAIR + 16 * (k % 2); /* lo; hi at +32 */
                const int32_t v = tl_entry(tp, tp + 32, idx);
                s += (oct[128 + j] >> (k % 8)) & 1 ? -v : v;
            }
            acc[(size_t)t * rows + r] = s;
        }
    }
    return 0;
}

const tb_kernel tb_k_gemv_tl2_32x24__scalar = {
    .name = "gemv_tl2_32x24__scalar",
    .desc = "TL2 LUT, portable C: sign + 4-bit index per 3 weights (1.67 bpw) into exact int16 tables",
    .isa = 0,
    .gemv = gemv,
    .prep = tl2_prep,
    TL2_COMMON,
};
