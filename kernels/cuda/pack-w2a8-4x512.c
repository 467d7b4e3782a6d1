/* pack-w2a8-4x512.c: canonical ternary rows -> the warp-packed W2A8 layout of the
 * CUDA kernel (layout in w2a8_layout.h), the inverse (for the packer check), and the
 * per-part scale table of fused linears.  Host C, always built. */
#include <stdlib.h>
#include <string.h>

#include "tb_cuda.h"

size_t tb_w2a8_packed_size(int rows, int cols) {
    if (rows <= 0 || cols <= 0) return 0;
    return (size_t)tb_w2a8_tiles(rows) * TB_W2A8_TILE_ROWS * (size_t)tb_w2a8_kpad(cols) / 4;
}

static void store_word(uint8_t *dst, int64_t idx, uint32_t w) {
    uint8_t *p = dst + idx * 4; /* little-endian, as the device reads it */
    p[0] = (uint8_t)w;
    p[1] = (uint8_t)(w >> 8);
    p[2] = (uint8_t)(w >> 16);
    p[3] = (uint8_t)(w >> 24);
}

static uint32_t load_word(const uint8_t *src, int64_t idx) {
    const uint8_t *p = src + idx * 4;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Packs one row (values -1/0/+1 in row[0..cols)) as row r of the packed matrix.
 * row == NULL packs a padding row (all code 1). */
static void pack_row(const int8_t *row, int r, int cols, uint8_t *dst) {
    const int nchunks = tb_w2a8_nchunks(cols);
    const int tile = r / TB_W2A8_TILE_ROWS, i = r % TB_W2A8_TILE_ROWS;
    for (int c = 0; c < nchunks; c++) {
        for (int l = 0; l < TB_W2A8_LANES; l++) {
            uint32_t w = 0;
            for (int k = 0; k < 16; k++) {
                const int cc = l * 16 + k;                 /* column within the chunk */
                const int col = c * TB_W2A8_CHUNK + cc;
                const uint32_t code = (row && col < cols) ? (uint32_t)(row[col] + 1) : 1u;
                w |= code << tb_w2a8_bit_of(cc);
            }
            store_word(dst, tb_w2a8_word_index(nchunks, tile, c, i, l), w);
        }
    }
}

int tb_w2a8_pack_parts(const tb_ternary *const *parts, int n_parts, void *dst) {
    if (n_parts < 1) return TB_KERR_SHAPE;
    const int cols = parts[0]->cols;
    int rows = 0;
    for (int p = 0; p < n_parts; p++) {
        if (parts[p]->cols != cols || parts[p]->rows <= 0 || cols <= 0) return TB_KERR_SHAPE;
        rows += parts[p]->rows;
    }
    int8_t *row = malloc((size_t)cols);
    if (!row) return TB_KERR_NOMEM;
    int r = 0;
    for (int p = 0; p < n_parts; p++) {
        for (int pr = 0; pr < parts[p]->rows; pr++, r++) {
            tb_ternary_row(parts[p], pr, row);
            for (int c = 0; c < cols; c++) {
                if (row[c] < -1 || row[c] > 1) {
                    free(row);
                    return TB_KERR_CODE;
                }
            }
            pack_row(row, r, cols, dst);
        }
    }
    for (; r < tb_w2a8_tiles(rows) * TB_W2A8_TILE_ROWS; r++) pack_row(NULL, r, cols, dst);
    free(row);
    return 0;
}

int tb_w2a8_parts_from(const tb_ternary *const *parts, int n_parts, tb_w2a8_parts *p) {
    if (n_parts < 1 || n_parts > TB_W2A8_MAX_PARTS) return TB_KERR_SHAPE;
    memset(p, 0, sizeof *p);
    p->n = n_parts;
    int end = 0;
    for (int i = 0; i < n_parts; i++) {
        if (parts[i]->cols != parts[0]->cols || parts[i]->rows <= 0) return TB_KERR_SHAPE;
        end += parts[i]->rows;
        p->row_end[i] = end;
        p->scale[i] = parts[i]->scale;
    }
    return 0;
}

/* ---- registry hooks shared by the cuda and cudaemu entries ------------- */
size_t tb_w2a8_k_packed_size(int rows, int cols) { return tb_w2a8_packed_size(rows, cols); }

int tb_w2a8_k_pack(const tb_ternary *w, void *dst) {
    const tb_ternary *parts[1] = {w};
    return tb_w2a8_pack_parts(parts, 1, dst);
}

int tb_w2a8_k_unpack_row(const void *packed, int rows, int cols, int r, int8_t *out) {
    if (r < 0 || r >= rows || cols <= 0) return TB_KERR_SHAPE;
    const int nchunks = tb_w2a8_nchunks(cols);
    const int tile = r / TB_W2A8_TILE_ROWS, i = r % TB_W2A8_TILE_ROWS;
    for (int col = 0; col < cols; col++) {
        const int c = col / TB_W2A8_CHUNK, cc = col % TB_W2A8_CHUNK;
        const uint32_t w =
            load_word(packed, tb_w2a8_word_index(nchunks, tile, c, i, tb_w2a8_lane_of(cc)));
        const int code = (int)((w >> tb_w2a8_bit_of(cc)) & 3u);
        if (code == 3) return TB_KERR_CODE;
        out[col] = (int8_t)(code - 1);
    }
    return 0;
}
