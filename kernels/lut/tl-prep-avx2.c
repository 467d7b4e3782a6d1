/* tl-prep-avx2.c: AVX2 versions of tl1_prep / tl2_prep (see tl.h).  They write
 * exactly the same bytes as the portable prep (tests compare them byte for byte);
 * the portable code still handles the last, partial group pair.
 *
 * Per group: the 16 int16 entries are built at once as
 *     T = sign(a0, W0) + sign(a1, W1) [+ sign(a2, W2)]
 * where Wi[e] is the weight of position i in entry e (vpsignw: a * sign(w), 0 for w = 0),
 * then split into 16 low bytes and 16 high bytes (pshufb + vpermq), and two groups'
 * halves are interleaved into the (4, 16) byte block of a pair with vperm2i128.
 * q8 preps (approximate kernels): the same int16 entries, then rint(T / 2^s) with ties to
 * even as (T + 2^(s-1) - 1 + ((T >> s) & 1)) >> s (arithmetic shifts), packed to bytes
 * with signed saturation (TL1's 128 -> 127, as tlq8_prep_tail clamps) and offset by 128
 * (XOR 0x80): the bytes of tlq8_prep_tail. */
#include <immintrin.h>

#include "tl.h"

/* [lo bytes of entries 0..15 | hi bytes of entries 0..15] from 16 int16 entries. */
static inline __m256i split_bytes(__m256i t) {
    const __m256i sh = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12,
                                        14, 1, 3, 5, 7, 9, 11, 13, 15);
    /* per lane: [lo0-7 hi0-7 | lo8-15 hi8-15] -> qwords (0, 2, 1, 3) */
    return _mm256_permute4x64_epi64(_mm256_shuffle_epi8(t, sh), 0xd8);
}

static inline void store_pair(uint8_t *dst, __m256i t0, __m256i t1) {
    const __m256i x0 = split_bytes(t0), x1 = split_bytes(t1);
    _mm256_storeu_si256((__m256i *)dst, _mm256_permute2x128_si256(x0, x1, 0x20));        /* lo(2p), lo(2p+1) */
    _mm256_storeu_si256((__m256i *)(dst + 32), _mm256_permute2x128_si256(x0, x1, 0x31)); /* hi(2p), hi(2p+1) */
}

/* Full pairs with the vector path; returns the first pair left to the portable code. */
static int prep_row_tl1(const int8_t *q, int cols, uint8_t *dst) {
    const __m256i w0 = _mm256_setr_epi16(-1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0);
    const __m256i w1 = _mm256_setr_epi16(-1, 0, 1, -1, 0, 1, -1, 0, 1, 0, 0, 0, 0, 0, 0, 0);
    const int full = cols / 4; /* pairs whose 4 activations all exist */
    for (int p = 0; p < full; p++) {
        const int8_t *a = q + 4 * p;
        const __m256i t0 = _mm256_add_epi16(_mm256_sign_epi16(_mm256_set1_epi16(a[0]), w0),
                                            _mm256_sign_epi16(_mm256_set1_epi16(a[1]), w1));
        const __m256i t1 = _mm256_add_epi16(_mm256_sign_epi16(_mm256_set1_epi16(a[2]), w0),
                                            _mm256_sign_epi16(_mm256_set1_epi16(a[3]), w1));
        store_pair(dst + (size_t)p * TL_PREP_PAIR, t0, t1);
    }
    return full;
}

static int prep_row_tl2(const int8_t *q, int cols, uint8_t *dst) {
    /* columns of tl2_canon (tl-pack.c), entries 14, 15 zero */
    const __m256i w0 = _mm256_setr_epi16(0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0);
    const __m256i w1 = _mm256_setr_epi16(0, -1, -1, -1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0);
    const __m256i w2 = _mm256_setr_epi16(0, -1, 0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, 1, 0, 0);
    const int full = cols / 6;
    for (int p = 0; p < full; p++) {
        const int8_t *a = q + 6 * p;
        __m256i t[2];
        for (int h = 0; h < 2; h++)
            t[h] = _mm256_add_epi16(_mm256_add_epi16(_mm256_sign_epi16(_mm256_set1_epi16(a[3 * h]), w0),
                                                     _mm256_sign_epi16(_mm256_set1_epi16(a[3 * h + 1]), w1)),
                                    _mm256_sign_epi16(_mm256_set1_epi16(a[3 * h + 2]), w2));
        store_pair(dst + (size_t)p * TL_PREP_PAIR, t[0], t[1]);
    }
    return full;
}

int tl1_prep_avx2(const int8_t *q, int cols, int n, void *prep) {
    if (cols < 1 || n < 1) return TB_KERR_SHAPE;
    const size_t per = tl1_prep_size(cols, 1);
    for (int t = 0; t < n; t++) {
        const int8_t *qt = q + (size_t)t * cols;
        uint8_t *dst = (uint8_t *)prep + per * t;
        int p = prep_row_tl1(qt, cols, dst);
        tl_prep_tail(qt, cols, 2, p, dst);
    }
    return 0;
}

int tl2_prep_avx2(const int8_t *q, int cols, int n, void *prep) {
    if (cols < 1 || n < 1) return TB_KERR_SHAPE;
    const size_t per = tl2_prep_size(cols, 1);
    for (int t = 0; t < n; t++) {
        const int8_t *qt = q + (size_t)t * cols;
        uint8_t *dst = (uint8_t *)prep + per * t;
        int p = prep_row_tl2(qt, cols, dst);
        tl_prep_tail(qt, cols, 3, p, dst);
    }
    return 0;
}

/* ---- q8 (int8 tables) ------------------------------------------------------------- */

/* rint(t / 2^s), ties to even, per int16 lane (|t| <= 384: no overflow). */
static inline __m256i rshift_rne(__m256i t, int s) {
    const __m128i c = _mm_cvtsi32_si128(s);
    const __m256i odd = _mm256_and_si256(_mm256_sra_epi16(t, c), _mm256_set1_epi16(1));
    const __m256i bias = _mm256_add_epi16(_mm256_set1_epi16((short)((1 << (s - 1)) - 1)), odd);
    return _mm256_sra_epi16(_mm256_add_epi16(t, bias), c);
}

/* 32 bytes of a pair: the 16 entries of t0, then of t1, as int8 + 128. */
static inline void store_pair_q8(uint8_t *dst, __m256i t0, __m256i t1, int s) {
    const __m256i b = _mm256_packs_epi16(rshift_rne(t0, s), rshift_rne(t1, s)); /* [t0 0-7 t1 0-7 | t0 8-15 t1 8-15] */
    const __m256i v = _mm256_permute4x64_epi64(b, 0xd8);
    _mm256_storeu_si256((__m256i *)dst, _mm256_xor_si256(v, _mm256_set1_epi8((char)0x80)));
}

static inline __m256i tl1_entries(const int8_t *a) {
    const __m256i w0 = _mm256_setr_epi16(-1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0);
    const __m256i w1 = _mm256_setr_epi16(-1, 0, 1, -1, 0, 1, -1, 0, 1, 0, 0, 0, 0, 0, 0, 0);
    return _mm256_add_epi16(_mm256_sign_epi16(_mm256_set1_epi16(a[0]), w0), _mm256_sign_epi16(_mm256_set1_epi16(a[1]), w1));
}

static inline __m256i tl2_entries(const int8_t *a) {
    const __m256i w0 = _mm256_setr_epi16(0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0);
    const __m256i w1 = _mm256_setr_epi16(0, -1, -1, -1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0);
    const __m256i w2 = _mm256_setr_epi16(0, -1, 0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, 1, 0, 0);
    return _mm256_add_epi16(_mm256_add_epi16(_mm256_sign_epi16(_mm256_set1_epi16(a[0]), w0),
                                             _mm256_sign_epi16(_mm256_set1_epi16(a[1]), w1)),
                            _mm256_sign_epi16(_mm256_set1_epi16(a[2]), w2));
}

int tl1q8_prep_avx2(const int8_t *q, int cols, int n, void *prep) {
    if (cols < 1 || n < 1) return TB_KERR_SHAPE;
    const size_t per = tl1q8_prep_size(cols, 1);
    const int full = cols / 4; /* pairs whose 4 activations all exist */
    for (int t = 0; t < n; t++) {
        const int8_t *qt = q + (size_t)t * cols;
        uint8_t *dst = (uint8_t *)prep + per * t;
        for (int p = 0; p < full; p++)
            store_pair_q8(dst + (size_t)p * TLQ8_PREP_PAIR, tl1_entries(qt + 4 * p), tl1_entries(qt + 4 * p + 2), 1);
        tlq8_prep_tail(qt, cols, 2, full, dst);
    }
    return 0;
}

int tl2q8_prep_avx2(const int8_t *q, int cols, int n, void *prep) {
    if (cols < 1 || n < 1) return TB_KERR_SHAPE;
    const size_t per = tl2q8_prep_size(cols, 1);
    const int full = cols / 6;
    for (int t = 0; t < n; t++) {
        const int8_t *qt = q + (size_t)t * cols;
        uint8_t *dst = (uint8_t *)prep + per * t;
        for (int p = 0; p < full; p++)
            store_pair_q8(dst + (size_t)p * TLQ8_PREP_PAIR, tl2_entries(qt + 6 * p), tl2_entries(qt + 6 * p + 3), 2);
        tlq8_prep_tail(qt, cols, 3, full, dst);
    }
    return 0;
}
