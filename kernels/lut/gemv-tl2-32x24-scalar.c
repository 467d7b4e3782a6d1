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
            for (int o = 0; o < d.octets; o++) {
                const uint8_t *oct = tile + (size_t)o * TL2_OCTET_BYTES;
                const unsigned sg = oct[128 + j]; /* bit k: group 8o+k negated */
                for (int i = 0; i < 4; i++) {     /* pair 4o+i: groups 8o+2i, 8o+2i+1 */
                    const uint8_t b = oct[32 * i + j];
                    const uint8_t *tp = tab + (size_t)(4 * o + i) * TL_PREP_PAIR; /* (4, 16) */
                    const int32_t v0 = tl_entry(tp, tp + 32, b & 15), v1 = tl_entry(tp + 16, tp + 48, b >> 4);
                    const int32_t n0 = (sg >> (2 * i)) & 1, n1 = (sg >> (2 * i + 1)) & 1;
                    s += (v0 ^ -n0) + n0; /* -v0 when negated, without a branch */
                    s += (v1 ^ -n1) + n1;
                }
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
