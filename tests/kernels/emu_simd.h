/* emu_simd.h: test-only emulation of the few AVX-VNNI / AVX-512 intrinsics the int8-MAD
 * kernels use, built from AVX2 (each written from the instruction's definition), so the
 * kernels' data flow (layout, lane halves, broadcasts, reductions) can be checked on a
 * machine without those ISAs.  It proves the kernel code, not the silicon.
 * Include AFTER <immintrin.h> and BEFORE the kernel source. */
#ifndef TB_EMU_SIMD_H
#define TB_EMU_SIMD_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* vpdpbusd: each int32 lane += sum of 4 (u8 of b) * (s8 of c), no saturation */
static inline __m256i emu_dpbusd256(__m256i a, __m256i b, __m256i c) {
    int32_t acc[8];
    uint8_t ub[32];
    int8_t sc[32];
    memcpy(acc, &a, 32);
    memcpy(ub, &b, 32);
    memcpy(sc, &c, 32);
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++) acc[i] += (int32_t)ub[4 * i + j] * (int32_t)sc[4 * i + j];
    __m256i r;
    memcpy(&r, acc, 32);
    return r;
}

/* a 512-bit register as two 256-bit halves: lo = bits 255:0, hi = bits 511:256 */
typedef struct emu512 {
    __m256i lo, hi;
} emu512;

static inline emu512 e512_loadu(const void *p) {
    emu512 r = {_mm256_loadu_si256((const __m256i *)p), _mm256_loadu_si256((const __m256i *)((const char *)p + 32))};
    return r;
}
static inline emu512 e512_and(emu512 a, emu512 b) {
    emu512 r = {_mm256_and_si256(a.lo, b.lo), _mm256_and_si256(a.hi, b.hi)};
    return r;
}
static inline emu512 e512_srli16(emu512 a, int n) {
    emu512 r = {_mm256_srli_epi16(a.lo, n), _mm256_srli_epi16(a.hi, n)};
    return r;
}
static inline emu512 e512_maddubs(emu512 a, emu512 b) {
    emu512 r = {_mm256_maddubs_epi16(a.lo, b.lo), _mm256_maddubs_epi16(a.hi, b.hi)};
    return r;
}
static inline emu512 e512_add16(emu512 a, emu512 b) {
    emu512 r = {_mm256_add_epi16(a.lo, b.lo), _mm256_add_epi16(a.hi, b.hi)};
    return r;
}
static inline emu512 e512_madd16(emu512 a, emu512 b) {
    emu512 r = {_mm256_madd_epi16(a.lo, b.lo), _mm256_madd_epi16(a.hi, b.hi)};
    return r;
}
static inline emu512 e512_add32(emu512 a, emu512 b) {
    emu512 r = {_mm256_add_epi32(a.lo, b.lo), _mm256_add_epi32(a.hi, b.hi)};
    return r;
}
static inline emu512 e512_zero(void) {
    emu512 r = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    return r;
}
static inline emu512 e512_set1_8(char v) {
    emu512 r = {_mm256_set1_epi8(v), _mm256_set1_epi8(v)};
    return r;
}
static inline emu512 e512_set1_16(short v) {
    emu512 r = {_mm256_set1_epi16(v), _mm256_set1_epi16(v)};
    return r;
}
/* vbroadcasti64x4: the 256-bit source in both halves */
static inline emu512 e512_bcast256(__m256i a) {
    emu512 r = {a, a};
    return r;
}
static inline __m256i e512_cast256(emu512 a) { return a.lo; }
static inline __m256i e512_extract256(emu512 a, int i) { return i ? a.hi : a.lo; }
static inline emu512 e512_dpbusd(emu512 a, emu512 b, emu512 c) {
    emu512 r = {emu_dpbusd256(a.lo, b.lo, c.lo), emu_dpbusd256(a.hi, b.hi, c.hi)};
    return r;
}

/* the 16 dwords of a, lowest first, and back */
static inline void e512_d(emu512 a, int32_t d[16]) {
    memcpy(d, &a.lo, 32);
    memcpy(d + 8, &a.hi, 32);
}
static inline emu512 e512_from_d(const int32_t d[16]) {
    emu512 r;
    memcpy(&r.lo, d, 32);
    memcpy(&r.hi, d + 8, 32);
    return r;
}
/* vpunpckl/h of elements w dwords wide (w = 1: dq, w = 2: qdq): in each 128-bit lane, the
 * lane's low (hi = 0) or high (hi = 1) half of a and of b, element by element alternately:
 * w = 1 gives [a0 b0 a1 b1] / [a2 b2 a3 b3], w = 2 [a.q0 b.q0] / [a.q1 b.q1] */
static inline emu512 e512_unpack(emu512 a, emu512 b, int hi, int w) {
    int32_t x[16], y[16], r[16];
    e512_d(a, x), e512_d(b, y);
    for (int l = 0; l < 4; l++)
        for (int k = 0; k < 4 / w; k++) /* element k of the result lane: a's or b's element hi*2/w + k/2 */
            memcpy(r + 4 * l + w * k, (k % 2 ? y : x) + 4 * l + 2 * hi + w * (k / 2), 4 * (size_t)w);
    return e512_from_d(r);
}
static inline emu512 e512_unpacklo32(emu512 a, emu512 b) { return e512_unpack(a, b, 0, 1); }
static inline emu512 e512_unpackhi32(emu512 a, emu512 b) { return e512_unpack(a, b, 1, 1); }
static inline emu512 e512_unpacklo64(emu512 a, emu512 b) { return e512_unpack(a, b, 0, 2); }
static inline emu512 e512_unpackhi64(emu512 a, emu512 b) { return e512_unpack(a, b, 1, 2); }
/* vshufi32x4: lanes 0, 1 = a's lanes imm[1:0], imm[3:2]; lanes 2, 3 = b's imm[5:4], imm[7:6] */
static inline emu512 e512_shuffle_i32x4(emu512 a, emu512 b, int imm) {
    int32_t x[16], y[16], r[16];
    e512_d(a, x), e512_d(b, y);
    for (int l = 0; l < 4; l++) memcpy(r + 4 * l, (l < 2 ? x : y) + 4 * ((imm >> (2 * l)) & 3), 16);
    return e512_from_d(r);
}
/* vpermd: r[i] = a[idx[i] & 15] */
static inline emu512 e512_permutexvar32(emu512 idx, emu512 a) {
    int32_t ix[16], x[16], r[16];
    e512_d(idx, ix), e512_d(a, x);
    for (int i = 0; i < 16; i++) r[i] = x[ix[i] & 15];
    return e512_from_d(r);
}
static inline emu512 e512_setr32(int e0, int e1, int e2, int e3, int e4, int e5, int e6, int e7, int e8, int e9,
                                 int e10, int e11, int e12, int e13, int e14, int e15) {
    const int32_t d[16] = {e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15};
    return e512_from_d(d);
}
static inline void e512_storeu(void *p, emu512 a) {
    memcpy(p, &a.lo, 32);
    memcpy((char *)p + 32, &a.hi, 32);
}

#undef _mm256_dpbusd_avx_epi32
#undef _mm512_unpacklo_epi32
#undef _mm512_unpackhi_epi32
#undef _mm512_unpacklo_epi64
#undef _mm512_unpackhi_epi64
#undef _mm512_shuffle_i32x4
#undef _mm512_permutexvar_epi32
#undef _mm512_setr_epi32
#undef _mm512_storeu_si512
#undef _mm512_loadu_si512
#undef _mm512_and_si512
#undef _mm512_srli_epi16
#undef _mm512_maddubs_epi16
#undef _mm512_add_epi16
#undef _mm512_madd_epi16
#undef _mm512_add_epi32
#undef _mm512_setzero_si512
#undef _mm512_set1_epi8
#undef _mm512_set1_epi16
#undef _mm512_broadcast_i64x4
#undef _mm512_castsi512_si256
#undef _mm512_extracti64x4_epi64
#undef _mm512_dpbusd_epi32
#define _mm256_dpbusd_avx_epi32 emu_dpbusd256
#define __m512i emu512
#define _mm512_loadu_si512 e512_loadu
#define _mm512_and_si512 e512_and
#define _mm512_srli_epi16 e512_srli16
#define _mm512_maddubs_epi16 e512_maddubs
#define _mm512_add_epi16 e512_add16
#define _mm512_madd_epi16 e512_madd16
#define _mm512_add_epi32 e512_add32
#define _mm512_setzero_si512 e512_zero
#define _mm512_set1_epi8 e512_set1_8
#define _mm512_set1_epi16 e512_set1_16
#define _mm512_broadcast_i64x4 e512_bcast256
#define _mm512_castsi512_si256 e512_cast256
#define _mm512_extracti64x4_epi64 e512_extract256
#define _mm512_dpbusd_epi32 e512_dpbusd
#define _mm512_unpacklo_epi32 e512_unpacklo32
#define _mm512_unpackhi_epi32 e512_unpackhi32
#define _mm512_unpacklo_epi64 e512_unpacklo64
#define _mm512_unpackhi_epi64 e512_unpackhi64
#define _mm512_shuffle_i32x4 e512_shuffle_i32x4
#define _mm512_permutexvar_epi32 e512_permutexvar32
#define _mm512_setr_epi32 e512_setr32
#define _mm512_storeu_si512 e512_storeu

#endif
