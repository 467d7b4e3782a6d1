/* gemv-i2s-4x128-sve.c: gemv_i2s_4x128__sve, int8-MAD with SVE SDOT, vector-length agnostic.
 * Layout i2s4x128 (mad/i2s4x128.h, the same bytes as every MAD variant).  A row's 32 code
 * bytes per 128-weight block are walked svcntb() bytes at a time under a whilelt predicate
 * (one step when the vector is >= 256 bits, two at 128 bits; inactive lanes load as zero
 * and add nothing); shift by 2s and AND 3 give the codes lined up with activations
 * 32s + j, and svdot_s32 (4 int8 products into each int32 lane) accumulates them; one
 * svaddv per row, minus sum(q).  Needs SVE (HWCAP_SVE) and dotprod-class SDOT, which SVE
 * includes; built with -march=armv8.2-a+dotprod+sve.  Exact for every vector length
 * (checked under qemu at 128, 256 and 512 bits). */
#include <arm_sve.h>

#include "mad/i2s4x128.h"

/* sum over one block of one row: codes of the 32 bytes w against the 128 activations qb */
static inline svint32_t row_block(svint32_t acc, const uint8_t *w, const int8_t *qb) {
    for (int j = 0; j < 32; j += (int)svcntb()) {
        const svbool_t pg = svwhilelt_b8_s32(j, 32);
        const svuint8_t b = svld1_u8(pg, w + j);
        for (int s = 0; s < 4; s++) {
            const svuint8_t c = svand_n_u8_x(pg, svlsr_n_u8_x(pg, b, (uint8_t)(2 * s)), 3);
            acc = svdot_s32(acc, svreinterpret_s8_u8(c), svld1_s8(pg, qb + 32 * s + j));
        }
    }
    return acc;
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0, int r1,
                int32_t *acc) {
    (void)q;
    int rc = tb_i2s4_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    const int kp = tb_i2s4_kp(cols), nb = kp / TB_I2S4_BLOCK;
    const int32_t *qsum = prep;
    const int8_t *qpad = (const int8_t *)prep + tb_i2s4_sums_bytes(n); /* (n, kp) */
    for (int tc = 0; tc < n; tc += TB_I2S4_TOKCHUNK) {
        const int te = tc + TB_I2S4_TOKCHUNK < n ? tc + TB_I2S4_TOKCHUNK : n;
        for (int t0 = r0 / 4; t0 * 4 < r1; t0++) {
            const uint8_t *tile = (const uint8_t *)packed + (size_t)t0 * nb * TB_I2S4_BLOCK; /* (nb, 4, 32) */
            for (int tok = tc; tok < te; tok++) {
                const int8_t *qt = qpad + (size_t)tok * kp;
                int32_t d[4];
                for (int i = 0; i < 4; i++) {
                    svint32_t a = svdup_n_s32(0);
                    for (int b = 0; b < nb; b++)
                        a = row_block(a, tile + (size_t)b * TB_I2S4_BLOCK + 32 * i, qt + b * TB_I2S4_BLOCK);
                    d[i] = (int32_t)svaddv_s32(svptrue_b32(), a) - qsum[tok];
                }
                tb_i2s4_store(acc + (size_t)tok * rows, t0 * 4, r0, r1, d);
            }
        }
    }
    return 0;
}

const tb_kernel tb_k_gemv_i2s_4x128__sve = {
    .name = "gemv_i2s_4x128__sve",
    .desc = "int8-MAD, SVE (any vector length): predicated 32-byte rows, sdot into int32, minus sum(q)",
    .isa = TB_ISA_NEON | TB_ISA_SVE,
    .gemv = gemv,
    .priority = 9, /* not measured on hardware: below __neondot (at 128-bit SVE it is the same work) */
    TB_I2S4_COMMON,
};
