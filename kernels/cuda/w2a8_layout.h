/* w2a8_layout.h: the warp-packed W2A8 weight layout, shared by the CUDA kernel
 * (w2a8.cu), the host packer and the host emulation (w2a8_pack.c).
 *
 * Everything here is plain C that also compiles as CUDA device code (TB_HD), so
 * the host emulation decodes with literally the same bit operations as the GPU.
 *
 * Layout ("w2a8-warp-4x512"):
 *   - rows are grouped into tiles of TB_W2A8_TILE_ROWS (4) rows: one warp owns a tile;
 *   - K is cut into chunks of TB_W2A8_CHUNK (512) weights per row;
 *   - for tile T, chunk c, row i of the tile and lane l (0..31), the 32-bit word
 *         W[((T * nchunks + c) * 4 + i) * 32 + l]
 *     holds the 16 codes of columns c*512 + l*16 + (0..15), so a warp reads each
 *     row's chunk as ONE fully coalesced 128-byte transaction (32 lanes x 4 B);
 *   - inside a word, the code of column l*16 + 4*j + b (j = 0..3, b = 0..3) sits at
 *     bits 8*b + 2*j, so `(word >> 2*j) & 0x03030303` gives four bytes whose byte b
 *     is the code for byte b of the lane's j-th activation word (the lane loads its
 *     16 activations as one int4 = 4 words of 4 int8);
 *   - code = w + 1 in {0, 1, 2} (3 is never written); padding rows and columns
 *     carry code 1 (weight 0).
 *   Bytes: ceil(rows/4)*4 * ceil(cols/512)*512 / 4 (exactly 2 bits per weight when
 *   the shape is a multiple of the tile: all 2B4T shapes except K = 6912, 3.7% padding).
 *
 * Integer math per lane (the unsigned-code trick):
 *   acc_r += dp4a(codes_j, q_j)     (codes 0..2 are the same as signed bytes)
 *   sq    += dp4a(0x01010101, q_j)  (sum of the lane's activations)
 *   lane value = acc_r - sq  ==  sum w*q over the lane's columns, exact in int32;
 *   the 32 lane values are summed with a xor butterfly (shfl_xor 16, 8, 4, 2, 1).
 *   Activations beyond `cols` must be 0 (the device buffer is zero-padded).
 *
 * Epilogue (docs/numerics.md §2) with per-part scales for fused linears (q|k|v, gate|up):
 *   part p covers rows [row_end[p-1], row_end[p]); y = ((float)acc / s) * scale[p].
 */
#ifndef TB_W2A8_LAYOUT_H
#define TB_W2A8_LAYOUT_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define TB_HD __host__ __device__ __forceinline__
#else
#define TB_HD static inline
#endif

#define TB_W2A8_TILE_ROWS 4   /* rows per warp tile */
#define TB_W2A8_CHUNK 512     /* weights per row per warp-load (32 lanes x 16 codes) */
#define TB_W2A8_LANES 32
#define TB_W2A8_MAX_TOK 8     /* tokens per pass of the small-batch path */
#define TB_W2A8_MAX_PARTS 4   /* fused parts (q|k|v = 3, gate|up = 2) */
#define TB_W2A8_WARPS 4       /* warps per thread block */

/* Scales of the row parts of a (possibly fused) linear. */
typedef struct tb_w2a8_parts {
    int n;                            /* 1..TB_W2A8_MAX_PARTS */
    int row_end[TB_W2A8_MAX_PARTS];   /* exclusive end row of each part, increasing */
    float scale[TB_W2A8_MAX_PARTS];   /* w_scale of each part */
} tb_w2a8_parts;

TB_HD int tb_w2a8_tiles(int rows) { return (rows + TB_W2A8_TILE_ROWS - 1) / TB_W2A8_TILE_ROWS; }
TB_HD int tb_w2a8_nchunks(int cols) { return (cols + TB_W2A8_CHUNK - 1) / TB_W2A8_CHUNK; }
TB_HD int tb_w2a8_kpad(int cols) { return tb_w2a8_nchunks(cols) * TB_W2A8_CHUNK; }

/* Index of the 32-bit word for (tile, chunk, row in tile, lane). */
TB_HD int64_t tb_w2a8_word_index(int nchunks, int tile, int chunk, int i, int lane) {
    return (((int64_t)tile * nchunks + chunk) * TB_W2A8_TILE_ROWS + i) * TB_W2A8_LANES + lane;
}

/* Bit position of the code of column c (0..511 within a chunk) inside its lane's word,
 * and that lane.  Column l*16 + 4j + b -> lane l, bit 8b + 2j. */
TB_HD int tb_w2a8_lane_of(int c) { return c >> 4; }
TB_HD int tb_w2a8_bit_of(int c) { return 8 * (c & 3) + 2 * ((c >> 2) & 3); }

/* The decode: four code bytes (0..2 each) matching activation word j of the lane. */
TB_HD uint32_t tb_w2a8_decode(uint32_t word, int j) { return (word >> (2 * j)) & 0x03030303u; }

/* ---- launch geometry, shared by the device kernel and the host emulation ---- */
/* Blocks for ntiles tiles when ksplit warps share a tile (4/ksplit tiles per block). */
TB_HD int tb_w2a8_blocks(int ntiles, int ksplit) {
    const int tpb = TB_W2A8_WARPS / ksplit;
    return (ntiles + tpb - 1) / tpb;
}
/* Warp `warp` of block `block`: which tile (relative to the first) and which share kp
 * of its chunks (chunks kp, kp + ksplit, ...). */
TB_HD void tb_w2a8_warp_role(int block, int warp, int ksplit, int *tile_local, int *kp) {
    *tile_local = block * (TB_W2A8_WARPS / ksplit) + warp / ksplit;
    *kp = warp % ksplit;
}
/* After the butterfly every lane holds all 4*nt sums; lane l < 4*nt writes out
 * (row i, token t) = (l / nt, l % nt). */
TB_HD void tb_w2a8_lane_out(int lane, int nt, int *i, int *t) {
    *i = lane / nt;
    *t = lane % nt;
}

/* Scale of row r of a fused linear. */
TB_HD float tb_w2a8_row_scale(const tb_w2a8_parts *p, int r) {
    for (int i = 0; i < p->n - 1; i++)
        if (r < p->row_end[i]) return p->scale[i];
    return p->scale[p->n - 1];
}

/* Tokens handled by the next pass of the small-batch path: 8 while >= 8 remain, then
 * 4, 2, 1 (the device has one kernel instance per size). */
TB_HD int tb_w2a8_group(int remaining) {
    return remaining >= 8 ? 8 : remaining >= 4 ? 4 : remaining >= 2 ? 2 : 1;
}

/* docs/numerics.md §2: activation scale from the token's max |x| (NaNs ignored by the max). */
TB_HD float tb_w2a8_act_scale(float absmax) {
    double m = (double)absmax;
    if (m < 1e-5) m = 1e-5;
    return (float)(127.0 / m);
}

/* docs/numerics.md §2: quantization of one activation: round-half-even(x * s) clamped to int8. */
TB_HD int8_t tb_w2a8_quant1(float x, float s) {
#ifdef __CUDA_ARCH__
    float v = rintf(__fmul_rn(x, s)); /* rintf rounds half to even; no contraction */
#else
    float v = nearbyintf(x * s);
#endif
    if (v > 127.0f) v = 127.0f;
    if (v < -128.0f) v = -128.0f;
    return (int8_t)v;
}

/* docs/numerics.md §2: epilogue, divide first: y = ((float)acc / s) * w_scale. */
TB_HD float tb_w2a8_epilogue(int32_t acc, float s, float w_scale) {
#ifdef __CUDA_ARCH__
    return __fmul_rn(__fdiv_rn((float)acc, s), w_scale);
#else
    return ((float)acc / s) * w_scale;
#endif
}

#endif
