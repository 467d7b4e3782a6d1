/* bsp.h: the bit-plane layout "bsp_1x256" shared by the bit-serial kernels.
 *
 * Weights as two bit masks (2 bits per weight): plus (w = +1) and minus (w = -1).
 *   K is padded to Kp = round_up(cols, 256) with zero weights; rows are independent.
 *   Packed: (rows, Kp/256, 2, 32) bytes.  Chunk c of row r at (r*Kp/256 + c)*64:
 *       bytes [0, 32)  plus mask:  bit b of byte i  <->  column 256c + 8i + b is +1
 *       bytes [32, 64) minus mask: same bit order, column is -1
 *   (so 32 consecutive weights are one little-endian uint32 of either mask).
 *   2.0 bits per weight when cols is a multiple of 256 (2560 and 6912 both are).
 *
 * Activation bit planes (prep of the scalar and AVX2 variants, "AND + POPCNT"):
 *   two's complement: q = -128*b7 + sum_{j<7} 2^j b_j, so
 *       dot = sum_j coef_j * (popcnt(plus & A_j) - popcnt(minus & A_j)),
 *       coef_j = 2^j (j < 7), coef_7 = -128.
 *   Per activation row: (Kp/256, 8, 2, 32) bytes: for chunk c and plane j,
 *       [c][j][0][i] = bits 0-3 of plane j's byte i (bit b <-> column 256c + 8i + b),
 *       [c][j][1][i] = bits 4-7 of it, shifted down (values 0..15).
 *   Planes are stored nibble-split so the AVX2 popcount (pshufb on nibbles) needs no
 *   shifts per plane; a plane byte is lo | hi << 4.  Padding columns are 0 in every plane.
 *   512 bytes per 256 activations (2*K bytes per row: 13.5 KB at K = 6912).
 *
 * The AVX-512 variant does not use planes: it adds int8 activations widened to int16
 * under the plus mask and subtracts them under the minus mask (mask registers), so it
 * has no prep.
 */
#ifndef TB_BITSERIAL_BSP_H
#define TB_BITSERIAL_BSP_H

#include <string.h>

#include "kernel.h"

#define BSP_CHUNK 256       /* weights per chunk */
#define BSP_CHUNK_BYTES 64  /* packed bytes per chunk (plus + minus) */
#define BSP_PREP_CHUNK 512  /* prep bytes per chunk per activation row */

static inline int bsp_nchunks(int cols) { return (cols + BSP_CHUNK - 1) / BSP_CHUNK; }

size_t bsp_packed_size(int rows, int cols);
int bsp_pack(const tb_ternary *w, void *dst);
int bsp_unpack_row(const void *packed, int rows, int cols, int r, int8_t *out);
size_t bsp_prep_size(int cols, int n);
int bsp_prep(const int8_t *q, int cols, int n, void *prep);
/* AVX2 prep (bsp-prep-avx2.c): the same bytes, faster; call only on AVX2 CPUs. */
int bsp_prep_avx2(const int8_t *q, int cols, int n, void *prep);

static inline int bsp_check_args(int rows, int cols, const void *q_or_prep, int n, int r0, int r1) {
    if (rows < 1 || cols < 1 || n < 1 || !q_or_prep || r0 < 0 || r1 > rows || r0 >= r1) return TB_KERR_SHAPE;
    return 0;
}

#define BSP_COMMON                                                                            \
    .family = "bitserial", .layout = "bsp_1x256", .tile_rows = 1, .block_k = BSP_CHUNK,       \
    .exact = true, .on_device = false, .bits_per_weight = 2.0, .packed_size = bsp_packed_size, \
    .pack = bsp_pack, .unpack_row = bsp_unpack_row

#endif
