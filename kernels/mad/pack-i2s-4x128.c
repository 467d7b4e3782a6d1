/* pack-i2s-4x128.c: packer, unpacker and activation prep of the "i2s4x128" layout
 * (see i2s4x128.h), shared by every int8-MAD variant.  Portable C. */
#include <stdlib.h>
#include <string.h>

#include "i2s4x128.h"
#include "i2s4x128-vlut.h"

size_t tb_i2s4_packed_size(int rows, int cols) {
    return (size_t)tb_i2s4_rp(rows) / 4 * (size_t)(tb_i2s4_kp(cols) / TB_I2S4_BLOCK) * 128;
}

/* Fast path for GGUF I2_S rows made of whole 128-weight blocks (every 2B4T tensor):
 * an I2_S block byte holds K index j at bits 7:6, j+32 at 5:4, j+64 at 3:2, j+96 at 1:0
 * (docs/formats.md §1), ours the same four codes in the opposite order, so each byte maps through
 * a 256-entry table; bytes holding the never-written code 3 are rejected. */
static int pack_from_i2s(const tb_ternary *w, uint8_t *out) {
    static uint8_t rev[256], bad[256];
    static int ready;
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        for (int v = 0; v < 256; v++) {
            int r = 0, b = 0;
            for (int s = 0; s < 4; s++) {
                int code = (v >> (2 * s)) & 3;
                r |= code << (6 - 2 * s);
                b |= code == 3;
            }
            rev[v] = (uint8_t)r;
            bad[v] = (uint8_t)b;
        }
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    const int rows = w->rows, nb = w->cols / 128;
    for (int r = 0; r < rows; r++) {
        const uint8_t *src = w->data + (size_t)r * nb * 32;
        uint8_t *dr = out + (size_t)(r / 4) * nb * 128 + (size_t)(r % 4) * 32;
        int anybad = 0;
        for (int b = 0; b < nb; b++)
            for (int j = 0; j < 32; j++) {
                const uint8_t v = src[(size_t)b * 32 + j];
                anybad |= bad[v];
                dr[(size_t)b * 128 + j] = rev[v];
            }
        if (anybad) return TB_KERR_CODE;
    }
    return 0;
}

int tb_i2s4_pack(const tb_ternary *w, void *dst) {
    const int rows = w->rows, cols = w->cols;
    if (rows < 1 || cols < 1) return TB_KERR_SHAPE;
    const int kp = tb_i2s4_kp(cols), nb = kp / TB_I2S4_BLOCK;
    uint8_t *out = dst;
    /* padding rows of the last tile: all codes 1 (weight 0) = 0b01010101 */
    memset(out, 0x55, tb_i2s4_packed_size(rows, cols));
    if (w->layout == TB_TERN_I2S && cols % 128 == 0) return pack_from_i2s(w, out);
    int8_t *row = malloc((size_t)kp); /* (Kp): the row, then weight 0 up to Kp */
    if (!row) return TB_KERR_NOMEM;
    memset(row, 0, (size_t)kp);
    for (int r = 0; r < rows; r++) {
        tb_ternary_row(w, r, row);
        int bad = 0;
        for (int c = 0; c < cols; c++) bad |= (uint8_t)(row[c] + 1) > 2;
        if (bad) {
            free(row);
            return TB_KERR_CODE;
        }
        uint8_t *dr = out + (size_t)(r / 4) * nb * 128 + (size_t)(r % 4) * 32;
        for (int b = 0; b < nb; b++) {
            const int8_t *src = row + (size_t)b * 128;
            uint8_t *d = dr + (size_t)b * 128;
            for (int j = 0; j < 32; j++)
                d[j] = (uint8_t)((src[j] + 1) | (src[j + 32] + 1) << 2 | (src[j + 64] + 1) << 4 | (src[j + 96] + 1) << 6);
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

/* ---- the token-lane lookup GEMM's prep (i2s4x128-vlut.h) ---- */

/* dst[c * 32 + t] = src[t * stride + c] for an 8 x 8 block of bytes: the 8 rows as 64-bit
 * words, transposed by three rounds of masked swaps (Hacker's Delight, transpose8). */
static void transpose8(const int8_t *src, int stride, int8_t *dst) {
    uint64_t x[8];
    for (int i = 0; i < 8; i++) memcpy(&x[i], src + (size_t)i * stride, 8);
    /* as an 8x8 matrix of bytes m[i][j] = byte j of x[i]; swap m[i][j] and m[j][i] */
    for (int i = 0; i < 8; i += 2) { /* 1x1 blocks */
        const uint64_t a = x[i], b = x[i + 1];
        x[i] = (a & 0x00FF00FF00FF00FFull) | ((b << 8) & 0xFF00FF00FF00FF00ull);
        x[i + 1] = ((a >> 8) & 0x00FF00FF00FF00FFull) | (b & 0xFF00FF00FF00FF00ull);
    }
    for (int i = 0; i < 8; i += 4)   /* 2x2 blocks */
        for (int k = 0; k < 2; k++) {
            const uint64_t a = x[i + k], b = x[i + k + 2];
            x[i + k] = (a & 0x0000FFFF0000FFFFull) | ((b << 16) & 0xFFFF0000FFFF0000ull);
            x[i + k + 2] = ((a >> 16) & 0x0000FFFF0000FFFFull) | (b & 0xFFFF0000FFFF0000ull);
        }
    for (int k = 0; k < 4; k++) {    /* 4x4 blocks */
        const uint64_t a = x[k], b = x[k + 4];
        x[k] = (a & 0x00000000FFFFFFFFull) | (b << 32);
        x[k + 4] = (a >> 32) | (b & 0xFFFFFFFF00000000ull);
    }
    for (int j = 0; j < 8; j++) memcpy(dst + (size_t)j * TB_I2S4V_TOK, &x[j], 8);
}

size_t tb_i2s4v_prep_size(int cols, int n) {
    return tb_i2s4_prep_size(cols, n) + (size_t)tb_i2s4v_blocks(n) * TB_I2S4V_TOK * (size_t)tb_i2s4_kp(cols);
}

int tb_i2s4v_prep(const int8_t *q, int cols, int n, void *prep) {
    int rc = tb_i2s4_prep(q, cols, n, prep);
    if (rc) return rc;
    const int kp = tb_i2s4_kp(cols);
    const int8_t *qpad = (const int8_t *)prep + tb_i2s4_sums_bytes(n);
    for (int tb = 0; tb < tb_i2s4v_blocks(n); tb++) {
        int8_t *qt = (int8_t *)tb_i2s4v_qt(prep, cols, n, tb);
        const int8_t *src = qpad + (size_t)tb * TB_I2S4V_TOK * kp;
        for (int c = 0; c < kp; c += 8)
            for (int t = 0; t < TB_I2S4V_TOK; t += 8) transpose8(src + (size_t)t * kp + c, kp, qt + (size_t)c * TB_I2S4V_TOK + t);
    }
    return 0;
}
