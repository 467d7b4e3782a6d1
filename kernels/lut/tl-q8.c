/* tl-q8.c: the int8-quantized table prep of the approximate q8 LUT kernels (tl.h,
 * "int8-quantized tables"), portable C, and their documented error bounds.  The packed
 * weights are the exact kernels' (tl-pack.c), byte for byte. */
#include "tl.h"

/* Writes the (P, 2, 16) q8 table bytes of pairs [p0, P) of one activation row:
 * byte = min(rint(T / 2^s), 127) + 128 with s = 1 (TL1) or 2 (TL2), ties to even. */
void tlq8_prep_tail(const int8_t *q, int cols, int g, int p0, uint8_t *dst) {
    const tl_dims d = tl_dims_of(g, 1, cols);
    if (p0 >= d.pairs) return;
    memset(dst + (size_t)p0 * TLQ8_PREP_PAIR, TLQ8_BIAS, (size_t)(d.pairs - p0) * TLQ8_PREP_PAIR);
    const int s = g == 2 ? 1 : 2;
    for (int k = 2 * p0; k < d.groups; k++) {
        int a[3] = {0, 0, 0};
        for (int i = 0; i < g; i++) a[i] = g * k + i < cols ? q[g * k + i] : 0;
        uint8_t *tab = dst + (size_t)(k / 2) * TLQ8_PREP_PAIR + 16 * (k % 2);
        const int n_entries = g == 2 ? 9 : 14;
        for (int e = 0; e < n_entries; e++) {
            int v;
            if (g == 2) v = (e / 3 - 1) * a[0] + (e % 3 - 1) * a[1];
            else v = tl2_canon[e][0] * a[0] + tl2_canon[e][1] * a[1] + tl2_canon[e][2] * a[2];
            int t8 = tl_rshift_rne(v, s);
            if (t8 > 127) t8 = 127; /* TL1, T = 256 only (tl.h) */
            tab[e] = (uint8_t)(t8 + TLQ8_BIAS);
        }
    }
}

size_t tl1q8_prep_size(int cols, int n) { return (size_t)n * tl_dims_of(2, 1, cols).pairs * TLQ8_PREP_PAIR; }
size_t tl2q8_prep_size(int cols, int n) { return (size_t)n * tl_dims_of(3, 1, cols).pairs * TLQ8_PREP_PAIR; }

int tl1q8_prep(const int8_t *q, int cols, int n, void *prep) {
    if (cols < 1 || n < 1) return TB_KERR_SHAPE;
    const size_t per = tl1q8_prep_size(cols, 1);
    for (int t = 0; t < n; t++) tlq8_prep_tail(q + (size_t)t * cols, cols, 2, 0, (uint8_t *)prep + per * t);
    return 0;
}

int tl2q8_prep(const int8_t *q, int cols, int n, void *prep) {
    if (cols < 1 || n < 1) return TB_KERR_SHAPE;
    const size_t per = tl2q8_prep_size(cols, 1);
    for (int t = 0; t < n; t++) tlq8_prep_tail(q + (size_t)t * cols, cols, 3, 0, (uint8_t *)prep + per * t);
    return 0;
}

/* TL1: |2*T8 - T| <= 1 per group, 2 for the saturated T = 256 of a full group (tl.h):
 * 2*floor(cols/2) + cols%2 = cols.  TL2: |4*rint(T/4) - T| <= 2 per group. */
int64_t tl1q8_err_bound(int cols) { return cols < 1 ? 0 : (int64_t)cols; }
int64_t tl2q8_err_bound(int cols) { return cols < 1 ? 0 : 2 * ((int64_t)(cols + 2) / 3); }
