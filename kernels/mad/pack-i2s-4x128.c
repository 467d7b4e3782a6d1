/* pack-i2s-4x128.c: packer, unpacker and activation prep of the "i2s4x128" layout
 * (see i2s4x128.h), shared by every int8-MAD variant.  Portable C. */
#include <stdlib.h>
#include <string.h>

#include "i2s4x128.h"

size_t tb_i2s4_packed_size(int rows, int cols) {
    return (size_t)tb_i2s4_rp(rows) / 4 * (size_t)(tb_i2s4_kp(cols) / TB_I2S4_BLOCK) * 128;
}

int tb_i2s4_pack(const tb_ternary *w, void *dst) {
    const int rows = w->rows, cols = w->cols;
    if (rows < 1 || cols < 1) return TB_KERR_SHAPE;
    const int nb = tb_i2s4_kp(cols) / TB_I2S4_BLOCK;
    uint8_t *out = dst;
    /* all codes 1 (weight 0) = 0b01010101: rows/K padding stays zero weight */
    memset(out, 0x55, tb_i2s4_packed_size(rows, cols));
    int8_t *row = malloc((size_t)cols); /* (cols) */
    if (!row) return TB_KERR_NOMEM;
    for (int r = 0; r < rows; r++) {
        tb_ternary_row(w, r, row);
        uint8_t *tile = out + (size_t)(r / 4) * nb * 128 + (size_t)(r % 4) * 32;
        for (int c = 0; c < cols; c++) {
            int v = row[c];
            if (v < -1 || v > 1) {
                free(row);
                return TB_KERR_CODE;
            }
            int b = c / 128, j = c % 128;
            uint8_t *byte = tile + (size_t)b * 128 + (j & 31);
            int sh = 2 * (j >> 5);
            *byte = (uint8_t)((*byte & ~(3u << sh)) | ((unsigned)(v + 1) << sh));
        }
    }
    free(row);
    return 0;
}

int tb_i2s4_unpack_row(const void *packed, int rows, int cols, int r, int8_t *out) {
    if (r < 0 || r >= rows || cols < 1) return TB_KERR_SHAPE;
    const int nb = tb_i2s4_kp(cols) / TB_I2S4_BLOCK;
    const uint8_t *tile = (const uint8_t *)packed + (size_t)(r / 4) * nb * 128 + (size_t)(r % 4) * 32;
    for (int c = 0; c < cols; c++) {
        int b = c / 128, j = c % 128;
        int code = (tile[(size_t)b * 128 + (j & 31)] >> (2 * (j >> 5))) & 3;
        if (code == 3) return TB_KERR_CODE;
        out[c] = (int8_t)(code - 1);
    }
    return 0;
}

size_t tb_i2s4_prep_size(int cols, int n) {
    return tb_i2s4_sums_bytes(n) + (size_t)n * (size_t)tb_i2s4_kp(cols);
}

int tb_i2s4_prep(const int8_t *q, int cols, int n, void *prep) {
    if (cols < 1 || n < 1) return TB_KERR_SHAPE;
    const int kp = tb_i2s4_kp(cols);
    int32_t *sums = prep;                                          /* (n) */
    int8_t *qpad = (int8_t *)prep + tb_i2s4_sums_bytes(n);         /* (n, Kp) */
    for (int t = 0; t < n; t++) {
        const int8_t *qt = q + (size_t)t * cols;
        int8_t *dt = qpad + (size_t)t * kp;
        int32_t s = 0;
        for (int c = 0; c < cols; c++) s += qt[c];
        sums[t] = s;
        memcpy(dt, qt, (size_t)cols);
        memset(dt + cols, 0, (size_t)(kp - cols));
    }
    return 0;
}
