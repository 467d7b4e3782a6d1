/* tl-pack.c: packers, unpackers and the table-building prep of the LUT layouts
 * "tl1_32x4" and "tl2_32x6" (see tl.h), shared by every TL1/TL2 variant.  Portable C. */
#include <stdlib.h>

#include "tl.h"

const int8_t tl2_canon[14][3] = {
    {0, 0, 0},
    {1, -1, -1}, {1, -1, 0}, {1, -1, 1}, {1, 0, -1}, {1, 0, 0}, {1, 0, 1}, {1, 1, -1}, {1, 1, 0}, {1, 1, 1},
    {0, 1, -1}, {0, 1, 0}, {0, 1, 1},
    {0, 0, 1},
};

/* Decodes row r of w into row[cols], checking every code is -1, 0 or +1. */
static int load_row(const tb_ternary *w, int r, int8_t *row) {
    tb_ternary_row(w, r, row);
    for (int c = 0; c < w->cols; c++)
        if (row[c] < -1 || row[c] > 1) return TB_KERR_CODE;
    return 0;
}

/* ---- TL1 -------------------------------------------------------------------- */

size_t tl1_packed_size(int rows, int cols) {
    tl_dims d = tl_dims_of(2, rows, cols);
    return (size_t)d.tiles * d.pairs * TL1_PAIR_BYTES;
}

int tl1_pack(const tb_ternary *w, void *dst) {
    if (w->rows < 1 || w->cols < 1) return TB_KERR_SHAPE;
    const tl_dims d = tl_dims_of(2, w->rows, w->cols);
    const int cols = w->cols;
    uint8_t *out = dst; /* (tiles, pairs, 32) */
    int8_t *row = malloc((size_t)cols);
    if (!row) return TB_KERR_NOMEM;
    /* padding rows and groups: index 4 = weights (0, 0) in both nibbles */
    memset(out, 0x44, tl1_packed_size(w->rows, cols));
    for (int r = 0; r < w->rows; r++) {
        int rc = load_row(w, r, row);
        if (rc) { free(row); return rc; }
        uint8_t *base = out + (size_t)(r / TL_TILE) * d.pairs * TL1_PAIR_BYTES + r % TL_TILE;
        for (int k = 0; k < d.groups; k++) {
            int w0 = row[2 * k], w1 = 2 * k + 1 < cols ? row[2 * k + 1] : 0;
            int idx = 3 * (w0 + 1) + (w1 + 1);
            uint8_t *b = base + (size_t)(k / 2) * TL1_PAIR_BYTES;
            if (k % 2 == 0) *b = (uint8_t)((*b & 0xf0) | idx);
            else *b = (uint8_t)((*b & 0x0f) | idx << 4);
        }
    }
    free(row);
    return 0;
}

int tl1_unpack_row(const void *packed, int rows, int cols, int r, int8_t *out) {
    if (r < 0 || r >= rows || cols < 1) return TB_KERR_SHAPE;
    const tl_dims d = tl_dims_of(2, rows, cols);
    const uint8_t *base = (const uint8_t *)packed + (size_t)(r / TL_TILE) * d.pairs * TL1_PAIR_BYTES + r % TL_TILE;
    for (int k = 0; k < d.groups; k++) {
        int idx = (base[(size_t)(k / 2) * TL1_PAIR_BYTES] >> (4 * (k % 2))) & 15;
        if (idx > 8) return TB_KERR_CODE;
        out[2 * k] = (int8_t)(idx / 3 - 1);
        if (2 * k + 1 < cols) out[2 * k + 1] = (int8_t)(idx % 3 - 1);
        else if (idx % 3 != 1) return TB_KERR_CODE; /* padding weight must be 0 */
    }
    return 0;
}

/* ---- TL2 -------------------------------------------------------------------- */

size_t tl2_packed_size(int rows, int cols) {
    tl_dims d = tl_dims_of(3, rows, cols);
    return (size_t)d.tiles * tl2_tile_bytes(d);
}

int tl2_pack(const tb_ternary *w, void *dst) {
    if (w->rows < 1 || w->cols < 1) return TB_KERR_SHAPE;
    const tl_dims d = tl_dims_of(3, w->rows, w->cols);
    const int cols = w->cols;
    uint8_t *out = dst; /* (tiles, octets*160 + 128) */
    int8_t *row = malloc((size_t)cols);
    if (!row) return TB_KERR_NOMEM;
    /* padding: index 0 (zero triple), sign 0, nneg 0 */
    memset(out, 0, tl2_packed_size(w->rows, cols));
    for (int r = 0; r < w->rows; r++) {
        int rc = load_row(w, r, row);
        if (rc) { free(row); return rc; }
        uint8_t *tile = out + (size_t)(r / TL_TILE) * tl2_tile_bytes(d);
        const int j = r % TL_TILE;
        int32_t nneg = 0;
        for (int k = 0; k < d.groups; k++) {
            int wv[3];
            for (int i = 0; i < 3; i++) wv[i] = 3 * k + i < cols ? row[3 * k + i] : 0;
            int idx, sign;
            tl2_encode(wv[0], wv[1], wv[2], &idx, &sign);
            uint8_t *oct = tile + (size_t)(k / 8) * TL2_OCTET_BYTES;
            oct[32 * (k % 8 / 2) + j] |= (uint8_t)(idx << (4 * (k % 2)));
            oct[128 + j] |= (uint8_t)(sign << (k % 8));
            nneg += sign;
        }
        memcpy(tile + (size_t)d.octets * TL2_OCTET_BYTES + 4 * j, &nneg, 4);
    }
    free(row);
    return 0;
}

int tl2_unpack_row(const void *packed, int rows, int cols, int r, int8_t *out) {
    if (r < 0 || r >= rows || cols < 1) return TB_KERR_SHAPE;
    const tl_dims d = tl_dims_of(3, rows, cols);
    const uint8_t *tile = (const uint8_t *)packed + (size_t)(r / TL_TILE) * tl2_tile_bytes(d);
    const int j = r % TL_TILE;
    int32_t nneg = 0, stored;
    for (int k = 0; k < 8 * d.octets; k++) {
        const uint8_t *oct = tile + (size_t)(k / 8) * TL2_OCTET_BYTES;
        int idx = (oct[32 * (k % 8 / 2) + j] >> (4 * (k % 2))) & 15;
        int sign = (oct[128 + j] >> (k % 8)) & 1;
        if (idx > 13 || (idx == 0 && sign)) return TB_KERR_CODE;
        nneg += sign;
        for (int i = 0; i < 3; i++) {
            int v = sign ? -tl2_canon[idx][i] : tl2_canon[idx][i];
            if (3 * k + i < cols) out[3 * k + i] = (int8_t)v;
            else if (v != 0) return TB_KERR_CODE; /* padding weight must be 0 */
        }
    }
    memcpy(&stored, tile + (size_t)d.octets * TL2_OCTET_BYTES + 4 * j, 4);
    if (stored != nneg) return TB_KERR_CODE; /* count inconsistent with the signs */
    return 0;
}

/* ---- prep: per-group tables, split into low and high bytes -------------------- */

/* Writes the (P, 4, 16) table bytes of pairs [p0, P) of one activation row. */
void tl_prep_tail(const int8_t *q, int cols, int g, int p0, uint8_t *dst) {
    const tl_dims d = tl_dims_of(g, 1, cols);
    if (p0 >= d.pairs) return;
    memset(dst + (size_t)p0 * TL_PREP_PAIR, 0, (size_t)(d.pairs - p0) * TL_PREP_PAIR);
    for (int k = 2 * p0; k < d.groups; k++) {
        int a[3] = {0, 0, 0};
        for (int i = 0; i < g; i++) a[i] = g * k + i < cols ? q[g * k + i] : 0;
        uint8_t *lo = dst + (size_t)(k / 2) * TL_PREP_PAIR + 16 * (k % 2), *hi = lo + 32;
        const int n_entries = g == 2 ? 9 : 14;
        for (int e = 0; e < n_entries; e++) {
            int v;
            if (g == 2) v = (e / 3 - 1) * a[0] + (e % 3 - 1) * a[1];
            else v = tl2_canon[e][0] * a[0] + tl2_canon[e][1] * a[1] + tl2_canon[e][2] * a[2];
            uint16_t u = (uint16_t)(int16_t)v;
            lo[e] = (uint8_t)(u & 0xff);
            hi[e] = (uint8_t)(u >> 8);
        }
    }
}

size_t tl1_prep_size(int cols, int n) {
    return (size_t)n * tl_dims_of(2, 1, cols).pairs * TL_PREP_PAIR;
}

int tl1_prep(const int8_t *q, int cols, int n, void *prep) {
    if (cols < 1 || n < 1) return TB_KERR_SHAPE;
    const size_t per = tl1_prep_size(cols, 1);
    for (int t = 0; t < n; t++) tl_prep_tail(q + (size_t)t * cols, cols, 2, 0, (uint8_t *)prep + per * t);
    return 0;
}

size_t tl2_prep_size(int cols, int n) {
    return (size_t)n * tl_dims_of(3, 1, cols).pairs * TL_PREP_PAIR;
}

int tl2_prep(const int8_t *q, int cols, int n, void *prep) {
    if (cols < 1 || n < 1) return TB_KERR_SHAPE;
    const size_t per = tl2_prep_size(cols, 1);
    for (int t = 0; t < n; t++) tl_prep_tail(q + (size_t)t * cols, cols, 3, 0, (uint8_t *)prep + per * t);
    return 0;
}
