/* mykernel.c: an out-of-tree ternary GEMV for ternbench, built with only ternbench_plugin.h:
 *
 *     cc -O2 -shared -fPIC -I<dir of ternbench_plugin.h> mykernel.c -o libmykernel.so
 *     ternbench check --plugin ./libmykernel.so --kernel 'plugin:*'
 *
 * Layout: row-major, 4 weights per byte (code + 1 in 2 bits, weight c in bits 2*(c%4)),
 * each row padded to a whole byte.  Portable C, exact. */
#include "ternbench_plugin.h"

static size_t row_bytes(int cols) { return ((size_t)cols + 3) / 4; }

static size_t packed_size(int rows, int cols) { return (size_t)rows * row_bytes(cols); }

static int pack(const int8_t *codes, int rows, int cols, void *dst) {
    uint8_t *d = dst;
    for (int r = 0; r < rows; r++) {
        uint8_t *row = d + (size_t)r * row_bytes(cols);
        for (size_t b = 0; b < row_bytes(cols); b++) row[b] = 0;
        for (int c = 0; c < cols; c++) {
            int8_t w = codes[(size_t)r * cols + c];
            if (w < -1 || w > 1) return TB_PLUGIN_ERR_CODE;
            row[c / 4] |= (uint8_t)((w + 1) << (2 * (c % 4)));
        }
    }
    return 0;
}

static int unpack_row(const void *packed, int rows, int cols, int r, int8_t *out) {
    (void)rows;
    const uint8_t *row = (const uint8_t *)packed + (size_t)r * row_bytes(cols);
    for (int c = 0; c < cols; c++) out[c] = (int8_t)(((row[c / 4] >> (2 * (c % 4))) & 3) - 1);
    return 0;
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0, int r1,
                int32_t *acc) {
    (void)prep;
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)packed + (size_t)r * row_bytes(cols);
        for (int t = 0; t < n; t++) {
            int32_t s = 0;
            for (int c = 0; c < cols; c++) s += (((row[c / 4] >> (2 * (c % 4))) & 3) - 1) * q[(size_t)t * cols + c];
            acc[(size_t)t * rows + r] = s;
        }
    }
    return 0;
}

static const tb_plugin_kernel kernels[] = {{
    .name = "gemv_rowmajor2b_1x4__c",
    .desc = "example: row-major 2-bit codes, one row at a time, portable C",
    .isa = "",
    .tile_rows = 1,
    .block_k = 4,
    .exact = 1,
    .packed_size = packed_size,
    .pack = pack,
    .unpack_row = unpack_row,
    .gemv = gemv,
}};

static const tb_plugin_table table = {TB_PLUGIN_ABI_VERSION, "ternbench example plugin", 1, kernels};

const tb_plugin_table *ternbench_plugin_entry(void) { return &table; }
