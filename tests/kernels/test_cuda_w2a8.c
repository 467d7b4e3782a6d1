/* test_cuda_w2a8.c: the CUDA W2A8 warp-packed layout, packer and the host emulation
 * of the device math, against the scalar reference.  Runs on every machine (no GPU
 * needed): the emulation walks the packed bytes exactly as the device threads do, so
 * this proves the layout, the decode bit operations, the dp4a/sum(q) trick, the
 * reduction, the small-batch grouping, the K split, the activation quantization and
 * the per-part epilogue of fused linears.  What it cannot prove is that the device
 * compiler and hardware do what the emulation does: test_cuda_device does that when a
 * GPU is present. */
#include <stdlib.h>
#include <string.h>

#include "bitlinear.h"
#include "cuda/tb_cuda.h"
#include "../tb_test.h"

#define POISON ((int32_t)0x5EADBEEF)

/* Random ternary codes with P(0) = zero_pct %; the rest +-1 evenly. */
static int8_t *random_codes(tb_rng *rng, int rows, int cols, int zero_pct) {
    int8_t *c = malloc((size_t)rows * cols);
    for (size_t i = 0; i < (size_t)rows * cols; i++) {
        if ((int)tb_rng_below(rng, 100) < zero_pct) c[i] = 0;
        else c[i] = tb_rng_below(rng, 2) ? 1 : -1;
    }
    return c;
}

static int8_t *random_q(tb_rng *rng, int n, int cols) {
    int8_t *q = malloc((size_t)n * cols);
    for (size_t i = 0; i < (size_t)n * cols; i++) q[i] = (int8_t)((int)tb_rng_below(rng, 256) - 128);
    return q;
}

static tb_ternary codes_tensor(const char *name, const int8_t *codes, int rows, int cols, float scale) {
    tb_ternary t = {name, rows, cols, scale, TB_TERN_CODES, (const uint8_t *)codes};
    return t;
}

static void *pack(const tb_ternary *w) {
    void *p = malloc(tb_w2a8_packed_size(w->rows, w->cols));
    TB_CHECK_EQ_INT(tb_w2a8_k_pack(w, p), 0);
    return p;
}

/* Emulated acc vs tb_matmul_ref over rows [r0, r1); rows outside must stay poisoned.
 * Returns the number of mismatches. */
static int compare_gemv(const tb_ternary *w, const void *packed, const int8_t *q, int n, int r0, int r1,
                        int ksplit, const char *what) {
    const int rows = w->rows, cols = w->cols;
    int32_t *want = malloc(sizeof *want * (size_t)n * rows), *got = malloc(sizeof *got * (size_t)n * rows);
    int8_t *scratch = malloc((size_t)cols);
    tb_matmul_ref(w, q, n, want, scratch);
    for (size_t i = 0; i < (size_t)n * rows; i++) got[i] = POISON;
    int bad = 0;
    TB_CHECK_EQ_INT(tb_w2a8_gemv_emu(packed, rows, cols, q, n, r0, r1, ksplit, got), 0);
    for (int t = 0; t < n; t++)
        for (int r = 0; r < rows; r++) {
            const size_t i = (size_t)t * rows + r;
            const int32_t expect = (r >= r0 && r < r1) ? want[i] : POISON;
            if (got[i] != expect) {
                if (bad++ < 3)
                    fprintf(stderr, "%s %dx%d n=%d rows [%d,%d) ksplit %d: token %d row %d: got %d want %d\n", what,
                            rows, cols, n, r0, r1, ksplit, t, r, got[i], expect);
            }
        }
    free(want);
    free(got);
    free(scratch);
    return bad;
}

/* ---- layout ------------------------------------------------------------ */

TB_TEST(layout_column_map_is_a_bijection) {
    /* 512 columns of a chunk -> (lane, 2-bit slot): every slot of every lane used once */
    int used[TB_W2A8_LANES][16];
    memset(used, 0, sizeof used);
    for (int c = 0; c < TB_W2A8_CHUNK; c++) {
        const int lane = tb_w2a8_lane_of(c), bit = tb_w2a8_bit_of(c);
        TB_CHECK(lane >= 0 && lane < TB_W2A8_LANES && bit >= 0 && bit < 32 && bit % 2 == 0);
        used[lane][bit / 2]++;
    }
    for (int l = 0; l < TB_W2A8_LANES; l++)
        for (int s = 0; s < 16; s++) TB_CHECK_EQ_INT(used[l][s], 1);
    /* decode(word, j) byte b is the code of column 16*l + 4*j + b: set one code at a time */
    for (int k = 0; k < 16; k++) {
        const uint32_t word = 2u << tb_w2a8_bit_of(k); /* lane 0, column k = 4j + b has code 2 */
        for (int j = 0; j < 4; j++)
            for (int b = 0; b < 4; b++)
                TB_CHECK_EQ_INT((tb_w2a8_decode(word, j) >> (8 * b)) & 0xff, (4 * j + b == k) ? 2 : 0);
    }
}

TB_TEST(layout_warp_loads_are_128_byte_segments) {
    /* for every (tile, chunk, row) the 32 lanes read 32 consecutive words starting at a
     * multiple of 32 words: one aligned 128-byte transaction */
    const int nchunks = tb_w2a8_nchunks(6912);
    for (int tile = 0; tile < 5; tile++)
        for (int c = 0; c < nchunks; c++)
            for (int i = 0; i < TB_W2A8_TILE_ROWS; i++) {
                const int64_t base = tb_w2a8_word_index(nchunks, tile, c, i, 0);
                TB_CHECK(base % 32 == 0);
                for (int l = 0; l < 32; l++) TB_CHECK(tb_w2a8_word_index(nchunks, tile, c, i, l) == base + l);
            }
    /* the words of a tile's rows for one chunk follow each other (4 x 128 B per warp step) */
    TB_CHECK(tb_w2a8_word_index(nchunks, 3, 2, 1, 0) == tb_w2a8_word_index(nchunks, 3, 2, 0, 31) + 1);
}

TB_TEST(packed_size_is_2_bits_per_weight_on_2b4t_shapes) {
    static const int shapes[][2] = {{2560, 2560}, {640, 2560}, {6912, 2560}, {3840, 2560}, {13824, 2560}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        TB_CHECK_EQ_INT(tb_w2a8_packed_size(shapes[i][0], shapes[i][1]), (size_t)shapes[i][0] * shapes[i][1] / 4);
    /* K = 6912 pads to 14 chunks of 512 = 7168 */
    TB_CHECK_EQ_INT(tb_w2a8_packed_size(2560, 6912), (size_t)2560 * 7168 / 4);
    TB_CHECK_EQ_INT(tb_w2a8_packed_size(5, 513), (size_t)8 * 1024 / 4);
    TB_CHECK_EQ_INT(tb_w2a8_packed_size(0, 10), 0);
}

/* ---- packer --------------------------------------------------------------- */

TB_TEST(pack_unpack_roundtrip_and_padding_is_zero_weight) {
    tb_rng rng;
    tb_rng_seed(&rng, 101);
    static const int shapes[][2] = {{1, 1}, {3, 7}, {5, 513}, {17, 1000}, {4, 512}, {130, 1539}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int rows = shapes[s][0], cols = shapes[s][1];
        int8_t *codes = random_codes(&rng, rows, cols, 30);
        tb_ternary w = codes_tensor("rt", codes, rows, cols, 1.0f);
        const size_t bytes = tb_w2a8_packed_size(rows, cols);
        uint8_t *p = malloc(bytes + 64);
        memset(p, 0xEE, bytes + 64);
        TB_CHECK_EQ_INT(tb_w2a8_k_pack(&w, p), 0);
        for (int g = 0; g < 64; g++) TB_CHECK_EQ_INT(p[bytes + g], 0xEE); /* nothing past the end */
        int8_t *row = malloc((size_t)cols);
        for (int r = 0; r < rows; r++) {
            TB_CHECK_EQ_INT(tb_w2a8_k_unpack_row(p, rows, cols, r, row), 0);
            TB_CHECK(memcmp(row, codes + (size_t)r * cols, (size_t)cols) == 0);
        }
        /* padding: every code outside [rows) x [cols) is 1 (weight 0) */
        const int nchunks = tb_w2a8_nchunks(cols), prow = tb_w2a8_tiles(rows) * TB_W2A8_TILE_ROWS;
        for (int r = 0; r < prow; r++)
            for (int col = 0; col < nchunks * TB_W2A8_CHUNK; col++) {
                if (r < rows && col < cols) continue;
                const int c = col / TB_W2A8_CHUNK, cc = col % TB_W2A8_CHUNK;
                const int64_t wi = tb_w2a8_word_index(nchunks, r / 4, c, r % 4, tb_w2a8_lane_of(cc));
                uint32_t word;
                memcpy(&word, p + wi * 4, 4);
                TB_CHECK_EQ_INT((word >> tb_w2a8_bit_of(cc)) & 3u, 1);
            }
        TB_CHECK_EQ_INT(tb_w2a8_k_unpack_row(p, rows, cols, rows, row), TB_KERR_SHAPE);
        free(row);
        free(p);
        free(codes);
    }
}

TB_TEST(pack_rejects_bad_codes) {
    int8_t codes[2 * 8] = {0};
    codes[11] = 2; /* not ternary */
    tb_ternary w = codes_tensor("bad", codes, 2, 8, 1.0f);
    uint8_t buf[4096];
    TB_CHECK_EQ_INT(tb_w2a8_k_pack(&w, buf), TB_KERR_CODE);
    /* I2_S code 3 decodes to +2: refused */
    uint8_t i2s[64 + 32];
    memset(i2s, 0x55, sizeof i2s); /* code 1 everywhere = 0 */
    i2s[5] = 0xFF;                 /* code 3 */
    tb_ternary w2 = {"i2s_bad", 4, 128, 1.0f, TB_TERN_I2S, i2s};
    TB_CHECK_EQ_INT(tb_w2a8_k_pack(&w2, buf), TB_KERR_CODE);
    /* a corrupted packed word (code 3) is reported by unpack */
    int8_t ok[4 * 16] = {0};
    tb_ternary w3 = codes_tensor("ok", ok, 4, 16, 1.0f);
    TB_CHECK_EQ_INT(tb_w2a8_k_pack(&w3, buf), 0);
    buf[0] |= 3;
    int8_t row[16];
    TB_CHECK_EQ_INT(tb_w2a8_k_unpack_row(buf, 4, 16, 0, row), TB_KERR_CODE);
}

TB_TEST(pack_from_i2s_and_hf_layouts) {
    /* the packer reads any canonical layout through tb_ternary_row */
    tb_rng rng;
    tb_rng_seed(&rng, 7);
    const int rows = 8, cols = 256;
    int8_t *codes = random_codes(&rng, rows, cols, 33);
    uint8_t *i2s = malloc(tb_i2s_nbytes(rows, cols)), *hf = malloc((size_t)rows / 4 * cols);
    tb_i2s_pack(codes, rows, cols, 1.0f, i2s);
    tb_hf_pack(codes, rows, cols, hf);
    tb_ternary wi = {"i2s", rows, cols, 1.0f, TB_TERN_I2S, i2s}, wh = {"hf", rows, cols, 1.0f, TB_TERN_HF_PACKED, hf};
    tb_ternary wc = codes_tensor("codes", codes, rows, cols, 1.0f);
    void *pi = pack(&wi), *ph = pack(&wh), *pc = pack(&wc);
    const size_t bytes = tb_w2a8_packed_size(rows, cols);
    TB_CHECK(memcmp(pi, pc, bytes) == 0);
    TB_CHECK(memcmp(ph, pc, bytes) == 0);
    free(pi), free(ph), free(pc), free(i2s), free(hf), free(codes);
}

/* ---- emulated GEMV vs the reference ----------------------------------- */

TB_TEST(emu_gemv_exact_on_every_2b4t_shape) {
    /* q/o, k/v, gate/up, down, fused qkv, fused gate|up; n = 1 (decode) */
    static const int shapes[][2] = {{2560, 2560}, {640, 2560}, {6912, 2560}, {2560, 6912}, {3840, 2560}, {13824, 2560}};
    tb_rng rng;
    tb_rng_seed(&rng, 2025);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int rows = shapes[s][0], cols = shapes[s][1];
        int8_t *codes = random_codes(&rng, rows, cols, 40), *q = random_q(&rng, 1, cols);
        tb_ternary w = codes_tensor("2b4t", codes, rows, cols, 1.0f);
        void *p = pack(&w);
        const int ksplit = tb_w2a8_pick_ksplit(tb_w2a8_tiles(rows), tb_w2a8_nchunks(cols), 132);
        TB_CHECK_EQ_INT(compare_gemv(&w, p, q, 1, 0, rows, ksplit, "2b4t"), 0);
        /* through the registry entry (the checker's path) */
        int32_t *acc = malloc(sizeof *acc * rows), *want = malloc(sizeof *want * rows);
        int8_t *scratch = malloc((size_t)cols);
        tb_matmul_ref(&w, q, 1, want, scratch);
        TB_CHECK_EQ_INT(tb_k_gemv_w2a8_4x512__cudaemu.gemv(p, rows, cols, q, NULL, 1, 0, rows, acc), 0);
        TB_CHECK(memcmp(acc, want, sizeof *acc * rows) == 0);
        free(acc), free(want), free(scratch), free(p), free(codes), free(q);
    }
}

TB_TEST(emu_gemv_exact_on_odd_shapes_batches_ksplits_and_subranges) {
    static const int rows_l[] = {1, 3, 5, 17, 130};
    static const int cols_l[] = {1, 7, 100, 511, 512, 513, 1539};
    static const int n_l[] = {1, 2, 3, 5, 8, 9, 13};
    tb_rng rng;
    tb_rng_seed(&rng, 99);
    int combos = 0;
    for (size_t a = 0; a < sizeof rows_l / sizeof rows_l[0]; a++)
        for (size_t b = 0; b < sizeof cols_l / sizeof cols_l[0]; b++) {
            const int rows = rows_l[a], cols = cols_l[b];
            const int n = n_l[(a + b) % (sizeof n_l / sizeof n_l[0])];
            int8_t *codes = random_codes(&rng, rows, cols, 20), *q = random_q(&rng, n, cols);
            tb_ternary w = codes_tensor("odd", codes, rows, cols, 1.0f);
            void *p = pack(&w);
            for (int ks = 1; ks <= 4; ks *= 2) {
                TB_CHECK_EQ_INT(compare_gemv(&w, p, q, n, 0, rows, ks, "odd"), 0);
                /* a random sub-range, r0 not necessarily tile aligned */
                const int r0 = (int)tb_rng_below(&rng, (uint32_t)rows);
                const int r1 = r0 + 1 + (int)tb_rng_below(&rng, (uint32_t)(rows - r0));
                TB_CHECK_EQ_INT(compare_gemv(&w, p, q, n, r0, r1, ks, "odd-range"), 0);
                combos++;
            }
            free(p), free(codes), free(q);
        }
    TB_CHECK(combos == 5 * 7 * 3);
}

TB_TEST(emu_gemv_adversarial_extremes) {
    /* |acc| reaches 6912 * 128 = 884736: all +1 / all -1 weights against -128 / +127 */
    const int rows = 8, cols = 6912;
    int8_t *codes = malloc((size_t)rows * cols), *q = malloc((size_t)4 * cols);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            codes[(size_t)r * cols + c] = r == 0 ? 1 : r == 1 ? -1 : r == 2 ? 0 : r == 3 ? (c & 1 ? 1 : -1)
                                        : r == 4 ? (c % 3) - 1 : r == 5 ? 1 : r == 6 ? -1 : (c < 6000 ? 1 : -1);
    for (int c = 0; c < cols; c++) {
        q[c] = -128;
        q[cols + c] = 127;
        q[2 * cols + c] = (c & 1) ? 127 : -128;
        q[3 * cols + c] = 0;
    }
    tb_ternary w = codes_tensor("adv", codes, rows, cols, 1.0f);
    void *p = pack(&w);
    for (int ks = 1; ks <= 4; ks *= 2) TB_CHECK_EQ_INT(compare_gemv(&w, p, q, 4, 0, rows, ks, "adv"), 0);
    /* the extremes themselves, independent of the reference */
    int32_t acc[4 * 8];
    TB_CHECK_EQ_INT(tb_w2a8_gemv_emu(p, rows, cols, q, 4, 0, rows, 1, acc), 0);
    TB_CHECK_EQ_INT(acc[0], -884736);     /* +1 x -128 */
    TB_CHECK_EQ_INT(acc[1], 884736);      /* -1 x -128 */
    TB_CHECK_EQ_INT(acc[2], 0);
    TB_CHECK_EQ_INT(acc[8 + 0], 877824);  /* +1 x 127 */
    TB_CHECK_EQ_INT(acc[8 + 1], -877824);
    free(p), free(codes), free(q);
}

TB_TEST(emu_gemv_rejects_bad_arguments) {
    int8_t codes[4 * 8] = {0}, q[8] = {0};
    tb_ternary w = codes_tensor("z", codes, 4, 8, 1.0f);
    void *p = pack(&w);
    int32_t acc[4];
    TB_CHECK_EQ_INT(tb_w2a8_gemv_emu(p, 4, 8, q, 1, 2, 2, 1, acc), TB_KERR_SHAPE); /* empty range */
    TB_CHECK_EQ_INT(tb_w2a8_gemv_emu(p, 4, 8, q, 1, 0, 5, 1, acc), TB_KERR_SHAPE); /* r1 > rows */
    TB_CHECK_EQ_INT(tb_w2a8_gemv_emu(p, 4, 8, q, 1, 0, 4, 3, acc), TB_KERR_SHAPE); /* ksplit 3 */
    TB_CHECK_EQ_INT(tb_w2a8_gemv_emu(p, 4, 8, q, 0, 0, 4, 1, acc), TB_KERR_SHAPE); /* n = 0 */
    free(p);
}

TB_TEST(ksplit_choice_is_valid) {
    for (int tiles = 1; tiles < 5000; tiles += 97)
        for (int nch = 1; nch < 20; nch++) {
            const int k = tb_w2a8_pick_ksplit(tiles, nch, 132);
            TB_CHECK(k == 1 || k == 2 || k == 4);
            TB_CHECK(k == 1 || nch >= k); /* never a warp with no chunk of its own */
        }
}

/* ---- activation quantization and epilogue ----------------------------- */

TB_TEST(emu_quantization_matches_reference_bit_exactly) {
    tb_rng rng;
    tb_rng_seed(&rng, 5);
    const int cols = 2560;
    float *x = malloc(sizeof *x * cols);
    int8_t *qr = malloc((size_t)cols), *qe = malloc((size_t)cols + 512);
    for (int trial = 0; trial < 12; trial++) {
        for (int i = 0; i < cols; i++) {
            double v = tb_rng_normal(&rng);
            if (trial == 1) v *= 1e-7;               /* max below 1e-5: s = 127 / 1e-5 */
            if (trial == 2) v *= 1e30;               /* huge */
            if (trial == 3) v = (i % 2) ? 0.0 : -0.0; /* all zero */
            x[i] = (float)v;
        }
        if (trial == 4) /* exact ties: max 127 -> s = 1, x = k + 0.5 rounds to even */
            for (int i = 0; i < cols; i++) x[i] = i == 0 ? 127.0f : (float)((i % 200) - 100) + 0.5f;
        if (trial == 5) x[7] = -300.0f; /* negative max */
        const float sr = tb_quantize_act(x, cols, qr);
        memset(qe, 0x7F, (size_t)cols + 512);
        const float se = tb_w2a8_quant_emu(x, cols, tb_w2a8_kpad(cols) , qe);
        TB_CHECK(memcmp(&sr, &se, sizeof sr) == 0);
        TB_CHECK(memcmp(qr, qe, (size_t)cols) == 0);
        for (int i = cols; i < tb_w2a8_kpad(cols); i++) TB_CHECK_EQ_INT(qe[i], 0); /* zero padding */
    }
    /* ties really were exercised: 0.5 -> 0, 1.5 -> 2, -0.5 -> 0, -1.5 -> -2 */
    float t[4] = {127.0f, 0.5f, 1.5f, -1.5f};
    int8_t tq[4];
    TB_CHECK(tb_w2a8_quant_emu(t, 4, 4, tq) == 1.0f);
    TB_CHECK_EQ_INT(tq[1], 0);
    TB_CHECK_EQ_INT(tq[2], 2);
    TB_CHECK_EQ_INT(tq[3], -2);
    free(x), free(qr), free(qe);
}

TB_TEST(row_scale_picks_each_rows_part) {
    tb_w2a8_parts p = {3, {2560, 3200, 3840}, {0.5f, 1.25f, 3.0f}};
    TB_CHECK(tb_w2a8_row_scale(&p, 0) == 0.5f);
    TB_CHECK(tb_w2a8_row_scale(&p, 2559) == 0.5f);
    TB_CHECK(tb_w2a8_row_scale(&p, 2560) == 1.25f);
    TB_CHECK(tb_w2a8_row_scale(&p, 3199) == 1.25f);
    TB_CHECK(tb_w2a8_row_scale(&p, 3200) == 3.0f);
    TB_CHECK(tb_w2a8_row_scale(&p, 3839) == 3.0f);
}

/* The whole fused BitLinear (quantize, GEMV, per-part epilogue) equals the reference
 * BitLinear of each part, bit for bit: fused rows must get their own part's scale
 * (the bug the issue suspects in the peer GPU kernel). */
static void fused_case(int n_parts, const int *part_rows, const float *scales, int cols, uint64_t seed) {
    tb_rng rng;
    tb_rng_seed(&rng, seed);
    tb_ternary w[TB_W2A8_MAX_PARTS];
    const tb_ternary *pp[TB_W2A8_MAX_PARTS];
    int8_t *codes[TB_W2A8_MAX_PARTS];
    int rows = 0;
    for (int i = 0; i < n_parts; i++) {
        codes[i] = random_codes(&rng, part_rows[i], cols, 35);
        w[i] = codes_tensor("part", codes[i], part_rows[i], cols, scales[i]);
        pp[i] = &w[i];
        rows += part_rows[i];
    }
    tb_w2a8_parts parts;
    TB_CHECK_EQ_INT(tb_w2a8_parts_from(pp, n_parts, &parts), 0);
    void *packed = malloc(tb_w2a8_packed_size(rows, cols));
    TB_CHECK_EQ_INT(tb_w2a8_pack_parts(pp, n_parts, packed), 0);
    const int n = 3;
    float *x = malloc(sizeof *x * (size_t)n * cols), *y = malloc(sizeof *y * (size_t)n * rows);
    float *yr = malloc(sizeof *yr * rows);
    for (size_t i = 0; i < (size_t)n * cols; i++) x[i] = (float)(tb_rng_normal(&rng) * 2.0);
    TB_CHECK_EQ_INT(tb_w2a8_bitlinear_emu(packed, rows, cols, &parts, x, n, y, NULL), 0);
    int bad = 0;
    for (int t = 0; t < n; t++) {
        int r0 = 0;
        for (int i = 0; i < n_parts; i++) {
            TB_CHECK_EQ_INT(tb_bitlinear_ref(&w[i], x + (size_t)t * cols, yr, NULL), 0);
            for (int r = 0; r < part_rows[i]; r++)
                if (memcmp(&y[(size_t)t * rows + r0 + r], &yr[r], sizeof(float)) != 0 && bad++ < 3)
                    fprintf(stderr, "fused part %d row %d token %d: %.9g vs %.9g\n", i, r, t,
                            y[(size_t)t * rows + r0 + r], yr[r]);
            r0 += part_rows[i];
        }
    }
    TB_CHECK_EQ_INT(bad, 0);
    for (int i = 0; i < n_parts; i++) free(codes[i]);
    free(packed), free(x), free(y), free(yr);
}

TB_TEST(fused_qkv_and_gate_up_use_each_parts_scale) {
    /* 2B4T q|k|v (2560 + 640 + 640) and gate|up (6912 + 6912) at full width */
    const int qkv[3] = {2560, 640, 640};
    const float s_qkv[3] = {0.5f, 1.25f, 3.0f};
    fused_case(3, qkv, s_qkv, 2560, 11);
    const int gu[2] = {6912, 6912};
    const float s_gu[2] = {2.0f, 0.75f};
    fused_case(2, gu, s_gu, 2560, 12);
    /* part boundaries inside a 4-row tile, odd K */
    const int odd[3] = {5, 2, 7};
    const float s_odd[3] = {1.5f, 0.1f, 7.0f};
    fused_case(3, odd, s_odd, 700, 13);
}

TB_TEST(parts_from_rejects_bad_input) {
    int8_t c[4 * 8] = {0};
    tb_ternary a = codes_tensor("a", c, 4, 8, 1.0f), b = codes_tensor("b", c, 2, 4, 1.0f);
    const tb_ternary *two[2] = {&a, &b};
    tb_w2a8_parts p;
    TB_CHECK_EQ_INT(tb_w2a8_parts_from(two, 2, &p), TB_KERR_SHAPE); /* different cols */
    const tb_ternary *five[5] = {&a, &a, &a, &a, &a};
    TB_CHECK_EQ_INT(tb_w2a8_parts_from(five, 5, &p), TB_KERR_SHAPE);
    TB_CHECK_EQ_INT(tb_w2a8_pack_parts(two, 2, (uint8_t[512]){0}), TB_KERR_SHAPE);
}

TB_TEST(registry_entries) {
    const tb_kernel *emu = tb_kernel_find("gemv_w2a8_4x512__cudaemu");
    const tb_kernel *dev = tb_kernel_find("gemv_w2a8_4x512__cuda");
    TB_CHECK(emu != NULL && dev != NULL);
    if (!emu || !dev) return;
    TB_CHECK(emu->exact && dev->exact);
    TB_CHECK(emu->isa == 0 && !emu->on_device);
    TB_CHECK(dev->isa == TB_ISA_CUDA && dev->on_device);
    TB_CHECK(strcmp(emu->layout, dev->layout) == 0); /* the same packed bytes */
    TB_CHECK(emu->pack == dev->pack && emu->packed_size == dev->packed_size);
    TB_CHECK(tb_kernel_supported(emu, TB_ISA_ALL, NULL));
    /* neither is ever picked as the best CPU kernel */
    const tb_kernel *best = tb_kernel_best(TB_ISA_ALL);
    TB_CHECK(best != emu && best != dev);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
