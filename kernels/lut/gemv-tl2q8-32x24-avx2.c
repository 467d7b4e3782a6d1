/* gemv-tl2q8-32x24-avx2.c: gemv_tl2q8_32x24__avx2, TL2 LUT (1.67 bpw) on int8 tables.
 * APPROXIMATE, bit-identical to its definition gemv_tl2q8_32x24__scalar (acc = 4 * sum of
 * +-T8, T8 = rint(T/4); tl.h "int8-quantized tables").  Same packed weights as
 * gemv_tl2_32x24__*.  As gemv-tl1q8-32x4-avx2.c (one pshufb per group, uint16 word sums,
 * blocks of <= 256 groups = 32 octets) with the sign: the group's byte mask (and + cmpeq
 * on the sign byte) XORs the offset-binary byte (u -> 255 - u, T8 -> ~T8); the tile's
 * per-row nneg count adds the +1s once at the end, with the bias of 128 per group. */
#include "tl-avx2.h"

static void tile_dot(const uint8_t *w, const uint8_t *tab, tl_dims d, int32_t out[TL_TILE]) {
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    const int per_block = TLQ8_BLOCK_GROUPS / 8; /* octets per uint16 block */
    for (int o0 = 0; o0 < d.octets; o0 += per_block) {
        const int o1 = o0 + per_block < d.octets ? o0 + per_block : d.octets;
        __m256i ws = _mm256_setzero_si256(), hs = _mm256_setzero_si256();
        for (int o = o0; o < o1; o++)
            tl2q8_octet_avx2(w + (size_t)o * TL2_OCTET_BYTES, tab + (size_t)o * 4 * TLQ8_PREP_PAIR, &ws, &hs);
        tlq8_widen_avx2(ws, hs, acc);
    }
    tl2_add_nneg_avx2(w + (size_t)d.octets * TL2_OCTET_BYTES, acc);
    tlq8_store_acc_avx2(acc, TLQ8_BIAS * 8 * d.octets, 2, out);
}

static int gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc) {
    (void)q;
    return tlq8_gemv_tiles(3, tile_dot, packed, rows, cols, prep, n, r0, r1, acc);
}

const tb_kernel tb_k_gemv_tl2q8_32x24__avx2 = {
    .name = "gemv_tl2q8_32x24__avx2",
    .desc = "TL2 LUT, AVX2, APPROXIMATE (= tl2q8 scalar): one pshufb per group on int8 tables, sign by XOR",
    .isa = TB_ISA_AVX2,
    .gemv = gemv,
    .prep = tl2q8_prep_avx2,
    TL2Q8_COMMON,
};
