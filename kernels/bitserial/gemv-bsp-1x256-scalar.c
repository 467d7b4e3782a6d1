/* gemv-bsp-1x256-scalar.c: gemv_bsp_1x256__scalar, the portable bit-serial kernel.
 * Layout bsp_1x256 (see bsp.h): plus/minus weight masks AND activation bit planes,
 * counted with popcount: dot = sum_j coef_j (popcnt(P & A_j) - popcnt(M & A_j)),
 * coef_j = 2^j, coef_7 = -128.  int32 throughout: exact.  The simplest correct
 * reading of the layout; the model for the AVX2 variant. */
#include "bsp.h"

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    int rc = bsp_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    const int nc = bsp_nchunks(cols);
    for (int r = r0; r < r1; r++) {
        const uint8_t *w = (const uint8_t *)packed + (size_t)r * nc * BSP_CHUNK_BYTES; /* (nc, 2, 32) */
        for (int t = 0; t < n; t++) {
            const uint8_t *a = (const uint8_t *)prep + (size_t)t * nc * BSP_PREP_CHUNK; /* (nc, 8, 2, 32) */
            int32_t s = 0;
            for (int c = 0; c < nc; c++) {
                const uint8_t *wc = w + (size_t)c * BSP_CHUNK_BYTES, *ac = a + (size_t)c * BSP_PREP_CHUNK;
                for (int j = 0; j < 8; j++) {
                    int32_t d = 0;
                    for (int k = 0; k < 32; k += 8) {
                        /* plane bytes: lo nibble | hi nibble << 4 (hi values < 16: no carry) */
                        uint64_t pl = load64(ac + j * 64 + k) | load64(ac + j * 64 + 32 + k) << 4;
                        d += __builtin_popcountll(load64(wc + k) & pl) - __builtin_popcountll(load64(wc + 32 + k) & pl);
                    }
                    s += j < 7 ? d * (1 << j) : -128 * d;
                }
            }
            acc[(size_t)t * rows + r] = s;
        }
    }
    return 0;
}

const tb_kernel tb_k_gemv_bsp_1x256__scalar = {
    .name = "gemv_bsp_1x256__scalar",
    .desc = "bit-serial, portable C: plus/minus weight masks AND 8 activation bit planes, popcount",
    .isa = 0,
    .gemv = gemv,
    .needs_prep = true,
    .prep_size = bsp_prep_size,
    .prep = bsp_prep,
    BSP_COMMON,
};
