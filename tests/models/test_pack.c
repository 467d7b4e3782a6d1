/* test_pack.c: the two on-disk ternary layouts (docs/formats.md §1 I2_S, §2 HF packed):
 * pack -> tb_ternary_row round trips on adversarial patterns, the exact bit
 * positions written out from the text of docs/formats.md, and the packed-code validator. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "model_internal.h"
#include "tb_test.h"

static int roundtrip(tb_tern_layout layout, const int8_t *codes, int rows, int cols) {
    size_t nb = layout == TB_TERN_I2S ? tb_i2s_nbytes(rows, cols) : (size_t)(rows / 4) * (size_t)cols;
    uint8_t *buf = malloc(nb);
    int8_t *row = malloc((size_t)cols);
    if (layout == TB_TERN_I2S) tb_i2s_pack(codes, rows, cols, 1.5f, buf);
    else tb_hf_pack(codes, rows, cols, buf);
    tb_ternary t = {"t", rows, cols, 1.5f, layout, buf};
    int bad = 0;
    for (int r = 0; r < rows; r++) {
        tb_ternary_row(&t, r, row);
        if (memcmp(row, codes + (size_t)r * cols, (size_t)cols)) bad++;
    }
    if (layout == TB_TERN_I2S) { /* the scale sits right after the codes, then 28 zero bytes */
        float s;
        memcpy(&s, buf + (size_t)rows * cols / 4, 4);
        if (s != 1.5f) bad++;
        for (int i = 4; i < 32; i++)
            if (buf[(size_t)rows * cols / 4 + i]) bad++;
    }
    free(buf);
    free(row);
    return bad;
}

/* Every code value at every position mod 128 (I2_S) / every row phase (HF). */
TB_TEST(every_code_at_every_position) {
    const int shapes[][2] = {{4, 128}, {8, 256}, {4, 96}, {12, 32}, {16, 2560 / 20}, {4, 384}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int rows = shapes[s][0], cols = shapes[s][1];
        int n = rows * cols;
        int8_t *codes = malloc((size_t)n);
        for (int v = -1; v <= 1; v++)
            for (int bg = -1; bg <= 1; bg++) {
                if (bg == v) continue;
                for (int pos = 0; pos < 128 && pos < n; pos++) {
                    /* background bg, value v at every index == pos (mod 128) */
                    for (int i = 0; i < n; i++) codes[i] = (int8_t)((i % 128) == pos ? v : bg);
                    TB_CHECK_EQ_INT(roundtrip(TB_TERN_HF_PACKED, codes, rows, cols), 0);
                    if (n % 128 == 0) TB_CHECK_EQ_INT(roundtrip(TB_TERN_I2S, codes, rows, cols), 0);
                }
            }
        free(codes);
    }
}

TB_TEST(random_patterns) {
    tb_rng r;
    tb_rng_seed(&r, 42);
    const int shapes[][2] = {{640, 2560}, {4, 128}, {128, 4}, {36, 64}, {256, 768}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int rows = shapes[s][0], cols = shapes[s][1];
        int8_t *codes = malloc((size_t)rows * cols);
        for (int i = 0; i < rows * cols; i++) codes[i] = (int8_t)((int)tb_rng_below(&r, 3) - 1);
        TB_CHECK_EQ_INT(roundtrip(TB_TERN_HF_PACKED, codes, rows, cols), 0);
        if (rows * cols % 128 == 0) TB_CHECK_EQ_INT(roundtrip(TB_TERN_I2S, codes, rows, cols), 0);
        free(codes);
    }
}

/* The I2_S bit positions, straight from docs/formats.md §1: block b of 128 flattened
 * weights -> 32 bytes; byte j holds j at bits 7:6, j+32 at 5:4, j+64 at 3:2, j+96 at 1:0;
 * code = w + 1. */
TB_TEST(i2s_bit_positions_match_spec) {
    const int rows = 2, cols = 128; /* two blocks */
    int8_t codes[256];
    uint8_t buf[256 / 4 + 32];
    for (int idx = 0; idx < 256; idx++) {
        memset(codes, 0, sizeof codes); /* code 1 everywhere */
        codes[idx] = 1;                 /* code 2 at idx */
        tb_i2s_pack(codes, rows, cols, 1.0f, buf);
        int blk = idx / 128, j = idx % 128;
        int byte = blk * 32 + j % 32, shift = 6 - 2 * (j / 32);
        for (int b = 0; b < 64; b++) {
            uint8_t want = 0x55; /* all code 1 */
            if (b == byte) want = (uint8_t)((0x55 & ~(3 << shift)) | (2 << shift));
            if (buf[b] != want) {
                TB_CHECK_MSG(buf[b] == want, "idx %d byte %d: %02x != %02x", idx, b, buf[b], want);
                return;
            }
        }
    }
}

/* HF: row i*R + r, column c = ((packed[r][c] >> 2i) & 3) - 1, R = rows/4. */
TB_TEST(hf_bit_positions_match_spec) {
    const int rows = 8, cols = 3, R = rows / 4;
    int8_t codes[24];
    uint8_t buf[2 * 3];
    for (int row = 0; row < rows; row++)
        for (int c = 0; c < cols; c++) {
            memset(codes, 0, sizeof codes);
            codes[row * cols + c] = -1; /* code 0 at (row, c), code 1 elsewhere */
            tb_hf_pack(codes, rows, cols, buf);
            int i = row / R, r = row % R;
            for (int b = 0; b < R * cols; b++) {
                uint8_t want = b == r * cols + c ? (uint8_t)(0x55 & ~(3 << (2 * i))) : 0x55;
                TB_CHECK_MSG(buf[b] == want, "row %d col %d byte %d: %02x != %02x", row, c, b, buf[b], want);
            }
        }
}

TB_TEST(packed_code_validator) {
    tb_err e;
    uint8_t buf[100];
    memset(buf, 0x55, sizeof buf);
    /* all code 1 = all-zero weights */
    TB_CHECK(tb__check_packed_codes(buf, sizeof buf, "f", "t", &e) < 0);
    TB_CHECK(strstr(e.msg, "all-zero") != NULL);
    /* one nonzero weight anywhere (including the unaligned tail) makes it valid */
    for (int pos = 0; pos < 100; pos++)
        for (int sh = 0; sh < 8; sh += 2) {
            memset(buf, 0x55, sizeof buf);
            buf[pos] = (uint8_t)((0x55 & ~(3 << sh)) | (2 << sh));
            TB_CHECK(tb__check_packed_codes(buf, sizeof buf, "f", "t", &e) == 0);
            /* code 3 at this field: rejected, and the byte is named */
            buf[pos] |= (uint8_t)(3 << sh);
            TB_CHECK(tb__check_packed_codes(buf, sizeof buf, "f", "t", &e) < 0);
            TB_CHECK(strstr(e.msg, "code 3") != NULL);
            char want[32];
            snprintf(want, sizeof want, "byte %d", pos);
            TB_CHECK_MSG(strstr(e.msg, want) != NULL, "%s", e.msg);
        }
    /* every byte value: code 3 present iff some 2-bit field is 11 */
    for (int b = 0; b < 256; b++) {
        int has3 = 0;
        for (int sh = 0; sh < 8; sh += 2) has3 |= ((b >> sh) & 3) == 3;
        uint8_t one = (uint8_t)b;
        int rc = tb__check_packed_codes(&one, 1, "f", "t", &e);
        TB_CHECK_EQ_INT(rc < 0 && strstr(e.msg, "code 3") != NULL, has3);
        if (!has3) TB_CHECK_EQ_INT(rc < 0, b == 0x55);
    }
}

TB_TEST(i2s_nbytes) {
    TB_CHECK_EQ_INT(tb_i2s_nbytes(2560, 2560), 2560 * 2560 / 4 + 32);
    TB_CHECK_EQ_INT(tb_i2s_nbytes(6912, 2560), 6912 * 2560 / 4 + 32);
    TB_CHECK_EQ_INT(tb_i2s_nbytes(1, 128), 64);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
