/* gemv-i2s-4x128-scalar.c: gemv_i2s_4x128__scalar, the portable int8-MAD kernel.
 * Layout i2s4x128 (see i2s4x128.h); unsigned codes x int8 in int32, minus sum(q).
 * Exact.  The simplest correct version: the model for the SIMD variants. */
#include "i2s4x128.h"

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    int rc = tb_i2s4_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    const int kp = tb_i2s4_kp(cols), nb = kp / TB_I2S4_BLOCK;
    const int32_t *qsum = prep;
    const int8_t *qpad = (const int8_t *)prep + tb_i2s4_sums_bytes(n);
    /* tokens in chunks of TB_I2S4_TOKCHUNK: their activations stay in L1 while the
     * chunk sweeps the weight tiles (prefill); n = 1 is one chunk */
    for (int tc = 0; tc < n; tc += TB_I2S4_TOKCHUNK) {
        const int te = tc + TB_I2S4_TOKCHUNK < n ? tc + TB_I2S4_TOKCHUNK : n;
        for (int t0 = r0 / 4; t0 * 4 < r1; t0++) {
            const uint8_t *tile = (const uint8_t *)packed + (size_t)t0 * nb * 128; /* (nb, 4, 32) */
            for (int tok = tc; tok < te; tok++) {
                const int8_t *qt = qpad + (size_t)tok * kp;
                int32_t d[4];
                for (int i = 0; i < 4; i++) {
                    int32_t s = 0;
                    for (int b = 0; b < nb; b++) {
                        const uint8_t *w = tile + (size_t)b * 128 + i * 32;
                        const int8_t *qb = qt + b * 128;
                        for (int j = 0; j < 32; j++) {
                            s += (int32_t)(w[j] & 3) * qb[j];
                            s += (int32_t)((w[j] >> 2) & 3) * qb[j + 32];
                            s += (int32_t)((w[j] >> 4) & 3) * qb[j + 64];
                            s += (int32_t)(w[j] >> 6) * qb[j + 96];
                        }
                    }
                    d[i] = s - qsum[tok];
                }
                tb_i2s4_store(acc + (size_t)tok * rows, t0 * 4, r0, r1, d);
            }
        }
    }
    return 0;
}

const tb_kernel tb_k_gemv_i2s_4x128__scalar = {
    .name = "gemv_i2s_4x128__scalar",
    .desc = "int8-MAD, portable C: 2-bit unsigned codes x int8 in int32, minus sum(q)",
    .isa = 0,
    .gemv = gemv,
    .priority = 5, /* measured: fastest portable kernel (check --time: 1.4 GB/s vs <= 0.6) */
    TB_I2S4_COMMON,
};
