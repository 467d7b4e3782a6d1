/* gemv-w2a8-4x512-cudaemu.c: host emulation of the CUDA W2A8 kernels (w2a8.cu).
 *
 * Walks the warp-packed bytes (w2a8_layout.h) exactly as the device threads do, with
 * the same launch geometry helpers: one launch per token group of 8/4/2/1, blocks of
 * 4 warps, one warp per 4-row tile (ksplit warps sharing a tile take its 512-weight
 * chunks round-robin, partials through "shared memory"), each lane loading one 32-bit
 * word per row and
 * its 16 activations as 4 int8x4 words, the same decode bit operations, dp4a emulated
 * in C, the sum(q) correction, the xor-butterfly reduction and the partials summed in
 * warp order.  Portable C, exact.  Registered as gemv_w2a8_4x512__cudaemu (family
 * "cuda-emulated") so `ternbench check` proves the layout and decode math on every
 * machine, GPU or not.  It is slow (scalar emulation of 32 lanes): not a CPU kernel
 * to run models with.
 */
#include <stdlib.h>
#include <string.h>

#include "tb_cuda.h"

/* __dp4a(int a, int b, int c): c + sum of the four signed byte products. */
static int32_t dp4a_emu(uint32_t a, uint32_t b, int32_t c) {
    for (int k = 0; k < 4; k++) c += (int32_t)(int8_t)(a >> (8 * k)) * (int32_t)(int8_t)(b >> (8 * k));
    return c;
}

static uint32_t load_word(const uint8_t *src, int64_t idx) {
    const uint8_t *p = src + idx * 4;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Activation word j of a lane: 4 int8 at columns base + 4j .. +3, zero past cols
 * (the device reads its zero-padded buffer). */
static uint32_t load_q(const int8_t *qt, int cols, int base, int j) {
    uint32_t v = 0;
    for (int b = 0; b < 4; b++) {
        const int col = base + 4 * j + b;
        const uint8_t byte = col < cols ? (uint8_t)qt[col] : 0;
        v |= (uint32_t)byte << (8 * b);
    }
    return v;
}

int tb_w2a8_pick_ksplit(int tiles, int nchunks, int sms) {
    /* Aim for >= 24 warps per SM (about 1 KB of loads in flight each) before splitting K. */
    int ksplit = 1;
    while (ksplit < 4 && (long)tiles * ksplit < (long)sms * 24 && nchunks >= 2 * ksplit) ksplit *= 2;
    return ksplit;
}

/* One warp: tile `tile`, chunks kp, kp+ksplit, ...; tokens q[0..nt) (stride cols).
 * out[i][t] = the reduced lane sum for row i of the tile, token t. */
static void warp_emu(const uint8_t *W, int nchunks, int cols, const int8_t *q, int nt, int tile,
                     int kp, int ksplit, int32_t out[TB_W2A8_TILE_ROWS][TB_W2A8_MAX_TOK]) {
    int32_t a[TB_W2A8_LANES][TB_W2A8_TILE_ROWS][TB_W2A8_MAX_TOK]; /* per-lane accumulators */
    int32_t sq[TB_W2A8_LANES][TB_W2A8_MAX_TOK];                   /* per-lane sum(q) */
    memset(a, 0, sizeof a);
    memset(sq, 0, sizeof sq);
    for (int lane = 0; lane < TB_W2A8_LANES; lane++) {
        for (int c = kp; c < nchunks; c += ksplit) {
            uint32_t qv[TB_W2A8_MAX_TOK][4]; /* the lane's int4 load per token */
            const int base = c * TB_W2A8_CHUNK + lane * 16;
            for (int t = 0; t < nt; t++)
                for (int j = 0; j < 4; j++) qv[t][j] = load_q(q + (size_t)t * cols, cols, base, j);
            uint32_t w[TB_W2A8_TILE_ROWS];
            for (int i = 0; i < TB_W2A8_TILE_ROWS; i++)
                w[i] = load_word(W, tb_w2a8_word_index(nchunks, tile, c, i, lane));
            for (int t = 0; t < nt; t++)
                for (int j = 0; j < 4; j++) sq[lane][t] = dp4a_emu(0x01010101u, qv[t][j], sq[lane][t]);
            for (int i = 0; i < TB_W2A8_TILE_ROWS; i++)
                for (int j = 0; j < 4; j++) {
                    const uint32_t d = tb_w2a8_decode(w[i], j);
                    for (int t = 0; t < nt; t++) a[lane][i][t] = dp4a_emu(d, qv[t][j], a[lane][i][t]);
                }
        }
    }
    for (int i = 0; i < TB_W2A8_TILE_ROWS; i++) {
        for (int t = 0; t < nt; t++) {
            int32_t v[TB_W2A8_LANES], nv[TB_W2A8_LANES];
            for (int l = 0; l < TB_W2A8_LANES; l++) v[l] = a[l][i][t] - sq[l][t];
            for (int off = 16; off >= 1; off >>= 1) { /* __shfl_xor_sync butterfly */
                for (int l = 0; l < TB_W2A8_LANES; l++) nv[l] = v[l] + v[l ^ off];
                memcpy(v, nv, sizeof v);
            }
            out[i][t] = v[0];
        }
    }
}

int tb_w2a8_gemv_emu(const void *packed, int rows, int cols, const int8_t *q, int n, int r0,
                     int r1, int ksplit, int32_t *acc) {
    if (rows <= 0 || cols <= 0 || n <= 0 || r0 < 0 || r1 > rows || r0 >= r1) return TB_KERR_SHAPE;
    if (ksplit != 1 && ksplit != 2 && ksplit != 4) return TB_KERR_SHAPE;
    const int nchunks = tb_w2a8_nchunks(cols);
    const int tile0 = r0 / TB_W2A8_TILE_ROWS, ntiles = tb_w2a8_tiles(r1) - tile0;
    const int blocks = tb_w2a8_blocks(ntiles, ksplit);
    for (int g = 0; g < n; g += tb_w2a8_group(n - g)) { /* one launch per token group */
        const int nt = tb_w2a8_group(n - g);
        const int8_t *qg = q + (size_t)g * cols;
        int32_t *ag = acc + (size_t)g * rows;
        for (int block = 0; block < blocks; block++) {
            int32_t mine[TB_W2A8_WARPS][TB_W2A8_LANES];                       /* each lane's output value */
            int32_t part[TB_W2A8_WARPS][TB_W2A8_TILE_ROWS][TB_W2A8_MAX_TOK]; /* shared memory */
            for (int warp = 0; warp < TB_W2A8_WARPS; warp++) {
                int tile_local, kp;
                tb_w2a8_warp_role(block, warp, ksplit, &tile_local, &kp);
                int32_t sums[TB_W2A8_TILE_ROWS][TB_W2A8_MAX_TOK] = {{0}}; /* idle warps reduce zeros */
                if (tile_local < ntiles) warp_emu(packed, nchunks, cols, qg, nt, tile0 + tile_local, kp, ksplit, sums);
                for (int lane = 0; lane < TB_W2A8_LANES; lane++) {
                    int i, t;
                    tb_w2a8_lane_out(lane, nt, &i, &t);
                    mine[warp][lane] = lane < TB_W2A8_TILE_ROWS * nt ? sums[i][t] : 0;
                    if (ksplit > 1 && lane < TB_W2A8_TILE_ROWS * nt) part[warp][i][t] = mine[warp][lane];
                }
            }
            /* __syncthreads(); then the kp == 0 warp of each tile adds its siblings in order */
            for (int warp = 0; warp < TB_W2A8_WARPS; warp++) {
                int tile_local, kp;
                tb_w2a8_warp_role(block, warp, ksplit, &tile_local, &kp);
                if (kp != 0) continue;
                for (int lane = 0; lane < TB_W2A8_TILE_ROWS * nt; lane++) {
                    int i, t;
                    tb_w2a8_lane_out(lane, nt, &i, &t);
                    int32_t v = mine[warp][lane];
                    if (ksplit > 1) {
                        v = 0;
                        for (int k = 0; k < ksplit; k++) v += part[warp + k][i][t];
                    }
                    if (tile_local >= ntiles) continue;
                    const int r = (tile0 + tile_local) * TB_W2A8_TILE_ROWS + i;
                    if (r < r0 || r >= r1) continue;
                    ag[(size_t)t * rows + r] = v;
                }
            }
        }
    }
    return 0;
}

float tb_w2a8_quant_emu(const float *x, int cols, int kpad, int8_t *q) {
    float m = 0.0f; /* the device's block max: fmaxf ignores NaN, like the reference */
    for (int i = 0; i < cols; i++) m = fmaxf(m, fabsf(x[i]));
    const float s = tb_w2a8_act_scale(m);
    for (int i = 0; i < kpad; i++) q[i] = i < cols ? tb_w2a8_quant1(x[i], s) : 0;
    return s;
}

int tb_w2a8_bitlinear_emu(const void *packed, int rows, int cols, const tb_w2a8_parts *parts,
                          const float *x, int n, float *y, tb_err *e) {
    if (rows <= 0 || cols <= 0 || n <= 0 || !parts || parts->n < 1 || parts->n > TB_W2A8_MAX_PARTS)
        return tb_fail(e, "w2a8 emulation: bad shape %d x %d, n %d", rows, cols, n);
    int8_t *q = malloc((size_t)n * cols);               /* (n, cols) */
    float *s = malloc(sizeof *s * (size_t)n);           /* (n) */
    int32_t *acc = malloc(sizeof *acc * (size_t)n * rows); /* (n, rows) */
    int rc = 0;
    if (!q || !s || !acc) {
        rc = tb_fail(e, "w2a8 emulation: out of memory (%d x %d, n %d)", rows, cols, n);
        goto done;
    }
    for (int t = 0; t < n; t++) s[t] = tb_w2a8_quant_emu(x + (size_t)t * cols, cols, cols, q + (size_t)t * cols);
    const int ksplit = tb_w2a8_pick_ksplit(tb_w2a8_tiles(rows), tb_w2a8_nchunks(cols), 132);
    if (tb_w2a8_gemv_emu(packed, rows, cols, q, n, 0, rows, ksplit, acc) != 0) {
        rc = tb_fail(e, "w2a8 emulation: gemv failed (%d x %d)", rows, cols);
        goto done;
    }
    for (int t = 0; t < n; t++)
        for (int r = 0; r < rows; r++)
            y[(size_t)t * rows + r] =
                tb_w2a8_epilogue(acc[(size_t)t * rows + r], s[t], tb_w2a8_row_scale(parts, r));
done:
    free(q);
    free(s);
    free(acc);
    return rc;
}

/* Registry gemv: the device launch on an H100-sized part (132 SMs) picks this ksplit. */
static int gemv_cudaemu(const void *packed, int rows, int cols, const int8_t *q, const void *prep,
                        int n, int r0, int r1, int32_t *acc) {
    (void)prep;
    const int ksplit = tb_w2a8_pick_ksplit(tb_w2a8_tiles(rows), tb_w2a8_nchunks(cols), 132);
    return tb_w2a8_gemv_emu(packed, rows, cols, q, n, r0, r1, ksplit, acc);
}

const tb_kernel tb_k_gemv_w2a8_4x512__cudaemu = {
    .name = "gemv_w2a8_4x512__cudaemu",
    .family = "cuda-emulated",
    .layout = "w2a8-warp-4x512",
    .desc = "host emulation of the CUDA warp-packed W2A8 GEMV (same bytes, decode, dp4a, reduction)",
    .isa = 0,
    .tile_rows = TB_W2A8_TILE_ROWS,
    .block_k = TB_W2A8_CHUNK,
    .exact = true,
    .needs_prep = false,
    .on_device = false,
    .bits_per_weight = 2.0,
    .packed_size = tb_w2a8_k_packed_size,
    .pack = tb_w2a8_k_pack,
    .unpack_row = tb_w2a8_k_unpack_row,
    .gemv = gemv_cudaemu,
    .priority = -100, /* never tb_kernel_best(): a scalar emulation of 32 lanes */
};
