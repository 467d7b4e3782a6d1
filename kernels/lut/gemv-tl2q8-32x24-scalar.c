/* gemv-tl2q8-32x24-scalar.c: gemv_tl2q8_32x24__scalar, the portable int8-table TL2 LUT
 * kernel and the DEFINITION of the TL2 q8 results (tl.h, "int8-quantized tables").
 * APPROXIMATE: per group the table entry is T8 = rint(T / 4) (ties to even), negated when
 * the group's sign bit is set, acc = 4 * sum, so |acc - exact| <= 2 * ceil(cols / 3).
 * Same packed weights as gemv_tl2_32x24__* (layout tl2_32x24; the nneg counts are not
 * used here); q8 prep (16 bytes per group, offset-binary). */
#include "tl.h"

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    int rc = tl_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    const tl_dims d = tl_dims_of(3, rows, cols);
    const size_t prep_row = (size_t)d.pairs * TLQ8_PREP_PAIR;
    for (int r = r0; r < r1; r++) {
        const uint8_t *tile = (const uint8_t *)packed + (size_t)(r / TL_TILE) * tl2_tile_bytes(d);
        const int j = r % TL_TILE;
        for (int t = 0; t < n; t++) {
            const uint8_t *tab = (const uint8_t *)prep + prep_row * t; /* (P, 2, 16) */
            int32_t s = 0;
            for (int o = 0; o < d.octets; o++) {
                const uint8_t *oct = tile + (size_t)o * TL2_OCTET_BYTES;
                const unsigned sg = oct[128 + j]; /* bit k: group 8o+k negated */
                for (int i = 0; i < 4; i++) {     /* pair 4o+i: groups 8o+2i, 8o+2i+1 */
                    const uint8_t b = oct[32 * i + j];
                    const uint8_t *tp = tab + (size_t)(4 * o + i) * TLQ8_PREP_PAIR; /* (2, 16) */
                    const int32_t v0 = (int32_t)tp[b & 15] - TLQ8_BIAS, v1 = (int32_t)tp[16 + (b >> 4)] - TLQ8_BIAS;
                    s += (sg >> (2 * i)) & 1 ? -v0 : v0;
                    s += (sg >> (2 * i + 1)) & 1 ? -v1 : v1;
                }
            }
            acc[(size_t)t * rows + r] = 4 * s;
        }
    }
    return 0;
}

const tb_kernel tb_k_gemv_tl2q8_32x24__scalar = {
    .name = "gemv_tl2q8_32x24__scalar",
    .desc = "TL2 LUT, portable C, APPROXIMATE: int8 tables rint(T/4) (ties even), sign, acc = 4*sum; |err| <= 2*ceil(K/3)",
    .isa = 0,
    .gemv = gemv,
    .prep = tl2q8_prep,
    TL2Q8_COMMON,
};
