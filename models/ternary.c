/* ternary.c: decode and pack the two on-disk ternary layouts (docs/formats.md §1, §2). */
#include <string.h>

#include "model.h"

const char *const tb_lin_names[TB_LIN_COUNT] = {"q", "k", "v", "o", "gate", "up", "down"};

void tb_ternary_row(const tb_ternary *t, int r, int8_t *out) {
    const int64_t cols = t->cols;
    switch (t->layout) {
    case TB_TERN_I2S:
        /* flatten rows, 128-weight blocks of 32 bytes; byte j of a block holds
         * element j at bits 7:6, j+32 at 5:4, j+64 at 3:2, j+96 at 1:0 */
        for (int64_t c = 0; c < cols; c++) {
            int64_t idx = (int64_t)r * cols + c;
            int64_t blk = idx >> 7;
            int j = (int)(idx & 127);
            uint8_t byte = t->data[blk * 32 + (j & 31)];
            out[c] = (int8_t)(((byte >> (6 - 2 * (j >> 5))) & 3) - 1);
        }
        break;
    case TB_TERN_HF_PACKED: {
        /* row r = i*R + rr, R = rows/4: code at bits 2i of packed[rr][c] */
        const int64_t R = t->rows / 4;
        const int i = (int)(r / R);
        const uint8_t *src = t->data + (int64_t)(r % R) * cols;
        for (int64_t c = 0; c < cols; c++) out[c] = (int8_t)(((src[c] >> (2 * i)) & 3) - 1);
        break;
    }
    case TB_TERN_CODES:
        memcpy(out, t->data + (int64_t)r * cols, (size_t)cols);
        break;
    }
}

size_t tb_i2s_nbytes(int64_t rows, int64_t cols) { return (size_t)(rows * cols / 4 + 32); }

void tb_i2s_pack(const int8_t *codes, int64_t rows, int64_t cols, float scale, uint8_t *dst) {
    const int64_t n = rows * cols;
    memset(dst, 0, tb_i2s_nbytes(rows, cols));
    int64_t idx = 0;
    /* whole 128-weight blocks: byte j = c[j] c[j+32] c[j+64] c[j+96], 2 bits each, MSB first */
    for (; idx + 128 <= n; idx += 128) {
        const int8_t *c = codes + idx;
        uint8_t *d = dst + (idx >> 7) * 32;
        for (int j = 0; j < 32; j++)
            d[j] = (uint8_t)(((c[j] + 1) << 6) | ((c[j + 32] + 1) << 4) | ((c[j + 64] + 1) << 2) | (c[j + 96] + 1));
    }
    for (; idx < n; idx++) { /* a partial last block (rows*cols % 128 != 0) */
        int64_t blk = idx >> 7;
        int j = (int)(idx & 127);
        dst[blk * 32 + (j & 31)] |= (uint8_t)((codes[idx] + 1) << (6 - 2 * (j >> 5)));
    }
    memcpy(dst + n / 4, &scale, sizeof scale);
}

void tb_hf_pack(const int8_t *codes, int64_t rows, int64_t cols, uint8_t *dst) {
    const int64_t R = rows / 4;
    memset(dst, 0, (size_t)(R * cols));
    for (int64_t r = 0; r < rows; r++) {
        int i = (int)(r / R);
        uint8_t *d = dst + (r % R) * cols;
        for (int64_t c = 0; c < cols; c++) d[c] |= (uint8_t)((codes[r * cols + c] + 1) << (2 * i));
    }
}
