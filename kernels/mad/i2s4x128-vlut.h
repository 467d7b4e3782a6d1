/* i2s4x128-vlut.h: the token-lane lookup-table GEMM ("vector LUT") over i2s4x128 bytes.
 *
 * Why: with int8 multiply-add (vpmaddubsw + vpaddw) AVX2 does at most 32 multiply-adds
 * per two vector operations, about 58 per cycle on Zen 3/4; the prefill GEMM reached 38.
 * A lookup table whose LANES ARE TOKENS does 4 ternary multiply-adds for each of 32
 * tokens with one 64-byte entry (two loads, two int16 adds) and no multiply.  Measured on
 * Zen 4 (1 thread, 128 tokens, cold weights): 344-373 GOPS against the MAD GEMM's 220-289;
 * the entry loads, whose addresses come from loaded bytes, run at ~1.1 cycles each and
 * are what limit it (kernels/README.md, "The token-lane LUT GEMM").
 *
 * How (exact):
 *   A group is the four weights of one i2s4x128 byte: K indices k, k+32, k+64, k+96
 *   (byte j of block b, k = b*128 + j).  For a block of 32 tokens, the table of a group
 *   holds, for each of the 3^4 = 81 weight patterns (f0..f3 in {0,1,2}, weight = f - 1),
 *       T[e][t] = sum_m (f_m - 1) * q[t][k + 32m]        e = f0 + 3 f1 + 9 f2 + 27 f3
 *   as 32 int16 (|T| <= 4*128 = 512).  A row adds T[e(byte)] for each of its bytes.  A
 *   SIMD file computes e from the byte's two nibbles (two 16-entry byte shuffles); a
 *   nibble holding the never-packed code 3 counts 0, so e stays in [0, 80] for any byte.
 *   int16 sums cover one 128-weight block (32 groups, |x| <= 32*512 = 16384) and then go
 *   to int32, so nothing wraps for any input.  The result is sum_c w_c q_c, the
 *   reference's integer dot, with no sum(q) correction.
 *
 * Prep (this file's variant of the i2s4x128 prep): the shared sums and padded rows
 * (i2s4x128.h), then, for each whole block of 32 tokens, the activations transposed:
 *   int8 qT[tb][Kp][32] = q[tb*32 + t][c]   (tokens contiguous, 32 bytes per column)
 * Tokens past the last whole block of 32 are left to the kernel's MAD path.
 */
#ifndef TB_MAD_I2S4X128_VLUT_H
#define TB_MAD_I2S4X128_VLUT_H

#include "i2s4x128.h"

#define TB_I2S4V_TOK 32     /* tokens per table (lanes) */
#define TB_I2S4V_ENT 81     /* weight patterns per group */
#define TB_I2S4V_ROWS 2560  /* rows swept per table build at most (their int32 sums: 320 KiB) */

/* Whole blocks of 32 tokens that the lookup path takes for n tokens. */
static inline int tb_i2s4v_blocks(int n) { return n / TB_I2S4V_TOK; }

size_t tb_i2s4v_prep_size(int cols, int n);
int tb_i2s4v_prep(const int8_t *q, int cols, int n, void *prep);
/* The transposed activations of token block tb (after the shared prep). */
static inline const int8_t *tb_i2s4v_qt(const void *prep, int cols, int n, int tb) {
    return (const int8_t *)prep + tb_i2s4_prep_size(cols, n) + (size_t)tb * tb_i2s4_kp(cols) * TB_I2S4V_TOK;
}

#endif
