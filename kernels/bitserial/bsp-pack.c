/* bsp-pack.c: packer, unpacker and activation bit-plane prep of the layout
 * "bsp_1x256" (see bsp.h), shared by every bit-serial variant.  Portable C. */
#include <stdlib.h>

#include "bsp.h"

size_t bsp_packed_size(int rows, int cols) {
    return (size_t)rows * bsp_nchunks(cols) * BSP_CHUNK_BYTES;
}

int bsp_pack(const tb_ternary *w, void *dst) {
    if (w->rows < 1 || w->cols < 1) return TB_KERR_SHAPE;
    const int cols = w->cols, nc = bsp_nchunks(cols);
    int8_t *row = malloc((size_t)cols);
    if (!row) return TB_KERR_NOMEM;
    memset(dst, 0, bsp_packed_size(w->rows, cols));
    for (int r = 0; r < w->rows; r++) {
        tb_ternary_row(w, r, row);
        uint8_t *base = (uint8_t *)dst + (size_t)r * nc * BSP_CHUNK_BYTES; /* (nc, 2, 32) */
        for (int c = 0; c < cols; c++) {
            if (row[c] < -1 || row[c] > 1) { free(row); return TB_KERR_CODE; }
            if (row[c] == 0) continue;
            uint8_t *chunk = base + (size_t)(c / BSP_CHUNK) * BSP_CHUNK_BYTES;
            int i = (c % BSP_CHUNK) / 8, b = c % 8;
            chunk[(row[c] < 0 ? 32 : 0) + i] |= (uint8_t)(1u << b);
        }
    }
    free(row);
    return 0;
}

int bsp_unpack_row(const void *packed, int rows, int cols, int r, int8_t *out) {
    if (r < 0 || r >= rows || cols < 1) return TB_KERR_SHAPE;
    const int nc = bsp_nchunks(cols);
    const uint8_t *base = (const uint8_t *)packed + (size_t)r * nc * BSP_CHUNK_BYTES;
    for (int c = 0; c < nc * BSP_CHUNK; c++) {
        const uint8_t *chunk = base + (size_t)(c / BSP_CHUNK) * BSP_CHUNK_BYTES;
        int i = (c % BSP_CHUNK) / 8, b = c % 8;
        int plus = (chunk[i] >> b) & 1, minus = (chunk[32 + i] >> b) & 1;
        if (plus && minus) return TB_KERR_CODE;  /* both masks set: corrupt */
        if (c >= cols) {
            if (plus || minus) return TB_KERR_CODE; /* padding weight must be 0 */
            continue;
        }
        out[c] = (int8_t)(plus - minus);
    }
    return 0;
}

size_t bsp_prep_size(int cols, int n) {
    return (size_t)n * bsp_nchunks(cols) * BSP_PREP_CHUNK;
}

int bsp_prep(const int8_t *q, int cols, int n, void *prep) {
    if (cols < 1 || n < 1) return TB_KERR_SHAPE;
    const int nc = bsp_nchunks(cols);
    uint8_t *out = prep; /* (n, nc, 8, 2, 32) */
    memset(out, 0, bsp_prep_size(cols, n));
    for (int t = 0; t < n; t++) {
        const int8_t *qt = q + (size_t)t * cols;
        uint8_t *pt = out + (size_t)t * nc * BSP_PREP_CHUNK;
        for (int c = 0; c < cols; c++) {
            const uint8_t u = (uint8_t)qt[c]; /* two's complement bits */
            uint8_t *chunk = pt + (size_t)(c / BSP_CHUNK) * BSP_PREP_CHUNK;
            int i = (c % BSP_CHUNK) / 8, b = c % 8;
            for (int j = 0; j < 8; j++) {
                if (!((u >> j) & 1)) continue;
                /* bit b of plane byte i: low nibble part (b < 4) or high (b >= 4) */
                chunk[j * 64 + (b < 4 ? 0 : 32) + i] |= (uint8_t)(1u << (b & 3));
            }
        }
    }
    return 0;
}
