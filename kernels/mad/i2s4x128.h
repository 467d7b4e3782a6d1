/* i2s4x128.h: the packed layout "i2s4x128" shared by every int8-MAD kernel variant.
 *
 * Weights (2 bits per weight, unsigned code = w + 1: 0 = -1, 1 = 0, 2 = +1; code 3 never):
 *   rows are padded to Rp = round_up(rows, 4) and K to Kp = round_up(cols, 128) with
 *   code 1 (weight 0), so row and K tails cost nothing and stay exact.
 *   The tensor is a sequence of 4-row tiles; each tile is Kp/128 blocks of 128 bytes;
 *   block b of tile t starts at (t * Kp/128 + b) * 128 and holds 4 rows x 32 bytes:
 *       row i of the tile at bytes [32*i, 32*i + 32)
 *       byte j holds K index b*128 + j + 32*s at bits 2s+1:2s, for s = 0..3
 *   so one 32-byte load + shift + AND 0x03 yields 32 consecutive codes, lined up with
 *   32 consecutive activations (no shuffles).
 *
 * Activations (prep, shared by every variant; runs once per call on the caller's thread):
 *   bytes [0, SUMS)        int32 qsum[n]: sum_c q[t][c]   (SUMS = round_up(4n, 64))
 *   bytes [SUMS, + n*Kp)   int8 qpad[n][Kp]: q zero-padded to Kp
 *
 * Integer result:  dot = sum_c code_c * q_c - sum_c q_c = sum_c (code_c - 1) * q_c.
 * Bounds: |dot| <= Kp*128 and sum code*q <= 2*127*Kp, both far inside int32 for any
 * realistic K (< 8M), so every variant accumulates in int32 and is exact.
 */
#ifndef TB_MAD_I2S4X128_H
#define TB_MAD_I2S4X128_H

#include "kernel.h"

#define TB_I2S4_TILE 4
#define TB_I2S4_BLOCK 128
#define TB_I2S4_TOKCHUNK 8 /* tokens per sweep over the weights (8 x 6912 B of q fits L1) */

static inline int tb_i2s4_kp(int cols) { return (cols + TB_I2S4_BLOCK - 1) / TB_I2S4_BLOCK * TB_I2S4_BLOCK; }
static inline int tb_i2s4_rp(int rows) { return (rows + TB_I2S4_TILE - 1) / TB_I2S4_TILE * TB_I2S4_TILE; }
static inline size_t tb_i2s4_sums_bytes(int n) { return ((size_t)n * 4 + 63) / 64 * 64; }

/* Shared by every variant (pack-i2s-4x128.c). */
size_t tb_i2s4_packed_size(int rows, int cols);
int tb_i2s4_pack(const tb_ternary *w, void *dst);
int tb_i2s4_unpack_row(const void *packed, int rows, int cols, int r, int8_t *out);
size_t tb_i2s4_prep_size(int cols, int n);
int tb_i2s4_prep(const int8_t *q, int cols, int n, void *prep);

/* Writes the 4 dot products of tile rows [t*4, t*4+4) that fall in [r0, r1). */
static inline void tb_i2s4_store(int32_t *acc_t, int tile_row0, int r0, int r1, const int32_t d[4]) {
    for (int i = 0; i < TB_I2S4_TILE; i++) {
        int r = tile_row0 + i;
        if (r >= r0 && r < r1) acc_t[r] = d[i];
    }
}

/* Common argument checks of every variant's gemv(). */
static inline int tb_i2s4_check_args(int rows, int cols, const void *prep, int n, int r0, int r1) {
    if (rows < 1 || cols < 1 || n < 1 || !prep || r0 < 0 || r1 > rows || r0 >= r1) return TB_KERR_SHAPE;
    return 0;
}

/* The descriptor fields every variant shares (TB_I2S4_COMMON adds the shared prep;
 * a variant with its own prep, such as the token-lane lookup GEMM's, names its own). */
#define TB_I2S4_BYTES                                                                   \
    .family = "mad", .layout = "i2s4x128", .tile_rows = TB_I2S4_TILE,                   \
    .block_k = TB_I2S4_BLOCK, .exact = true, .needs_prep = true, .on_device = false,    \
    .bits_per_weight = 2.0, .packed_size = tb_i2s4_packed_size, .pack = tb_i2s4_pack,   \
    .unpack_row = tb_i2s4_unpack_row
#define TB_I2S4_COMMON TB_I2S4_BYTES, .prep_size = tb_i2s4_prep_size, .prep = tb_i2s4_prep

#endif
