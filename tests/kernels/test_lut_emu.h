/* test_lut_emu.h: a plain-C model of the AVX-512 intrinsics used by the LUT and
 * bit-serial AVX-512 kernels, so their source can run (slowly) on a CPU without
 * AVX-512.  Written from the instructions' documented semantics, element by element
 * on byte/word/dword arrays, independently of the kernels.  It checks the kernels'
 * LOGIC (lane orders, masks, bounds, tails); it cannot check compiler code
 * generation for real AVX-512, nor the CPU.
 *
 * Use: include <immintrin.h>, then this header, then the kernel's .c file, in a
 * translation unit compiled with the AVX2 flags (the kernels share AVX2 helpers).
 * Every name is #undef'd first, because some are macros in GCC's headers at -O0.
 */
#ifndef TEST_LUT_EMU_H
#define TEST_LUT_EMU_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

typedef union {
    int8_t b[64];
    int16_t w[32];
    int32_t d[16];
} emu_v512;

static inline __m256i emu_lo256(emu_v512 a) { __m256i r; memcpy(&r, a.b, 32); return r; }
static inline __m256i emu_hi256(emu_v512 a) { __m256i r; memcpy(&r, a.b + 32, 32); return r; }

static inline emu_v512 emu_setzero(void) { emu_v512 r; memset(&r, 0, sizeof r); return r; }
static inline emu_v512 emu_set1_epi8(char v) { emu_v512 r; memset(r.b, v, 64); return r; }
static inline emu_v512 emu_set1_epi16(short v) { emu_v512 r; for (int i = 0; i < 32; i++) r.w[i] = v; return r; }
static inline emu_v512 emu_loadu(const void *p) { emu_v512 r; memcpy(r.b, p, 64); return r; }
static inline emu_v512 emu_and(emu_v512 a, emu_v512 b) { for (int i = 0; i < 64; i++) a.b[i] &= b.b[i]; return a; }
static inline emu_v512 emu_xor(emu_v512 a, emu_v512 b) { for (int i = 0; i < 64; i++) a.b[i] ^= b.b[i]; return a; }
static inline emu_v512 emu_add_epi16(emu_v512 a, emu_v512 b) {
    for (int i = 0; i < 32; i++) a.w[i] = (int16_t)(uint16_t)((uint16_t)a.w[i] + (uint16_t)b.w[i]);
    return a;
}
static inline emu_v512 emu_add_epi32(emu_v512 a, emu_v512 b) {
    for (int i = 0; i < 16; i++) a.d[i] = (int32_t)((uint32_t)a.d[i] + (uint32_t)b.d[i]);
    return a;
}
static inline emu_v512 emu_srli_epi16(emu_v512 a, int n) {
    for (int i = 0; i < 32; i++) a.w[i] = n > 15 ? 0 : (int16_t)((uint16_t)a.w[i] >> n);
    return a;
}
/* vpshufb: within each 128-bit lane; index bit 7 zeroes the byte. */
static inline emu_v512 emu_shuffle_epi8(emu_v512 a, emu_v512 idx) {
    emu_v512 r;
    for (int i = 0; i < 64; i++) {
        uint8_t x = (uint8_t)idx.b[i];
        r.b[i] = (x & 0x80) ? 0 : a.b[(i & ~15) + (x & 15)];
    }
    return r;
}
/* vpunpck{l,h}bw: interleave bytes of the low / high half of each 128-bit lane. */
static inline emu_v512 emu_unpack_epi8(emu_v512 a, emu_v512 b, int high) {
    emu_v512 r;
    for (int lane = 0; lane < 4; lane++)
        for (int k = 0; k < 8; k++) {
            r.b[16 * lane + 2 * k] = a.b[16 * lane + 8 * high + k];
            r.b[16 * lane + 2 * k + 1] = b.b[16 * lane + 8 * high + k];
        }
    return r;
}
static inline emu_v512 emu_unpacklo_epi8(emu_v512 a, emu_v512 b) { return emu_unpack_epi8(a, b, 0); }
static inline emu_v512 emu_unpackhi_epi8(emu_v512 a, emu_v512 b) { return emu_unpack_epi8(a, b, 1); }
static inline emu_v512 emu_broadcast_i32x4(__m128i a) {
    emu_v512 r;
    for (int lane = 0; lane < 4; lane++) memcpy(r.b + 16 * lane, &a, 16);
    return r;
}
/* vbroadcasti32x4 with merge mask over the 16 dwords. */
static inline emu_v512 emu_mask_broadcast_i32x4(emu_v512 src, __mmask16 k, __m128i a) {
    emu_v512 full = emu_broadcast_i32x4(a);
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1) src.d[i] = full.d[i];
    return src;
}
static inline emu_v512 emu_broadcast_i64x4(__m256i a) {
    emu_v512 r;
    memcpy(r.b, &a, 32);
    memcpy(r.b + 32, &a, 32);
    return r;
}
static inline __m256i emu_castsi512_si256(emu_v512 a) { return emu_lo256(a); }
static inline __m256i emu_extracti64x4(emu_v512 a, int imm) { return imm & 1 ? emu_hi256(a) : emu_lo256(a); }
static inline emu_v512 emu_inserti64x4(emu_v512 a, __m256i b, int imm) {
    memcpy(a.b + 32 * (imm & 1), &b, 32);
    return a;
}
static inline emu_v512 emu_movm_epi8(__mmask64 k) {
    emu_v512 r;
    for (int i = 0; i < 64; i++) r.b[i] = (int8_t)(((k >> i) & 1) ? -1 : 0);
    return r;
}
static inline __mmask64 emu_test_epi8_mask(emu_v512 a, emu_v512 b) {
    __mmask64 k = 0;
    for (int i = 0; i < 64; i++)
        if (a.b[i] & b.b[i]) k |= (__mmask64)1 << i;
    return k;
}
static inline emu_v512 emu_cvtepi8_epi16(__m256i a) {
    int8_t x[32];
    emu_v512 r;
    memcpy(x, &a, 32);
    for (int i = 0; i < 32; i++) r.w[i] = x[i];
    return r;
}
static inline emu_v512 emu_mask_add_epi16(emu_v512 src, __mmask32 k, emu_v512 a, emu_v512 b) {
    emu_v512 s = emu_add_epi16(a, b);
    for (int i = 0; i < 32; i++) src.w[i] = ((k >> i) & 1) ? s.w[i] : src.w[i];
    return src;
}
static inline emu_v512 emu_mask_sub_epi16(emu_v512 src, __mmask32 k, emu_v512 a, emu_v512 b) {
    for (int i = 0; i < 32; i++)
        if ((k >> i) & 1) src.w[i] = (int16_t)(uint16_t)((uint16_t)a.w[i] - (uint16_t)b.w[i]);
    return src;
}
static inline emu_v512 emu_madd_epi16(emu_v512 a, emu_v512 b) {
    emu_v512 r;
    for (int i = 0; i < 16; i++)
        r.d[i] = (int32_t)((uint32_t)(a.w[2 * i] * b.w[2 * i]) + (uint32_t)(a.w[2 * i + 1] * b.w[2 * i + 1]));
    return r;
}
static inline int emu_reduce_add_epi32(emu_v512 a) {
    uint32_t s = 0;
    for (int i = 0; i < 16; i++) s += (uint32_t)a.d[i];
    return (int)s;
}
/* Masked byte load: bytes whose mask bit is clear are zero and are NOT read. */
static inline __m256i emu_mm256_maskz_loadu_epi8(__mmask32 k, const void *p) {
    int8_t x[32] = {0};
    for (int i = 0; i < 32; i++)
        if ((k >> i) & 1) x[i] = ((const int8_t *)p)[i];
    __m256i r;
    memcpy(&r, x, 32);
    return r;
}

/* ---- used by the batched (GEMM) paths: kernels/lut/tl-gemm-avx512.h, bsp GEMM ---- */
static inline emu_v512 emu_or(emu_v512 a, emu_v512 b) { for (int i = 0; i < 64; i++) a.b[i] |= b.b[i]; return a; }
static inline emu_v512 emu_sub_epi16(emu_v512 a, emu_v512 b) {
    for (int i = 0; i < 32; i++) a.w[i] = (int16_t)(uint16_t)((uint16_t)a.w[i] - (uint16_t)b.w[i]);
    return a;
}
static inline emu_v512 emu_set1_epi32(int v) { emu_v512 r; for (int i = 0; i < 16; i++) r.d[i] = v; return r; }
static inline void emu_storeu(void *p, emu_v512 a) { memcpy(p, a.b, 64); }
/* vpmovzxbw: 32 unsigned bytes -> 32 words. */
static inline emu_v512 emu_cvtepu8_epi16(__m256i a) {
    uint8_t x[32];
    emu_v512 r;
    memcpy(x, &a, 32);
    for (int i = 0; i < 32; i++) r.w[i] = (int16_t)x[i];
    return r;
}
/* vpmovsxwd: 16 signed words -> 16 dwords. */
static inline emu_v512 emu_cvtepi16_epi32(__m256i a) {
    int16_t x[16];
    emu_v512 r;
    memcpy(x, &a, 32);
    for (int i = 0; i < 16; i++) r.d[i] = x[i];
    return r;
}
/* vpermw: word i of the result is word (idx.w[i] & 31) of a (the table). */
static inline emu_v512 emu_permutexvar_epi16(emu_v512 idx, emu_v512 a) {
    emu_v512 r;
    for (int i = 0; i < 32; i++) r.w[i] = a.w[(uint16_t)idx.w[i] & 31];
    return r;
}
/* vptestmw: bit i set when word i of a AND b is nonzero. */
static inline __mmask32 emu_test_epi16_mask(emu_v512 a, emu_v512 b) {
    __mmask32 k = 0;
    for (int i = 0; i < 32; i++)
        if (a.w[i] & b.w[i]) k |= (__mmask32)1 << i;
    return k;
}

#undef __m512i
#define __m512i emu_v512
#undef _mm512_setzero_si512
#define _mm512_setzero_si512 emu_setzero
#undef _mm512_set1_epi8
#define _mm512_set1_epi8 emu_set1_epi8
#undef _mm512_set1_epi16
#define _mm512_set1_epi16 emu_set1_epi16
#undef _mm512_loadu_si512
#define _mm512_loadu_si512 emu_loadu
#undef _mm512_and_si512
#define _mm512_and_si512 emu_and
#undef _mm512_xor_si512
#define _mm512_xor_si512 emu_xor
#undef _mm512_add_epi16
#define _mm512_add_epi16 emu_add_epi16
#undef _mm512_add_epi32
#define _mm512_add_epi32 emu_add_epi32
#undef _mm512_srli_epi16
#define _mm512_srli_epi16 emu_srli_epi16
#undef _mm512_shuffle_epi8
#define _mm512_shuffle_epi8 emu_shuffle_epi8
#undef _mm512_unpacklo_epi8
#define _mm512_unpacklo_epi8 emu_unpacklo_epi8
#undef _mm512_unpackhi_epi8
#define _mm512_unpackhi_epi8 emu_unpackhi_epi8
#undef _mm512_broadcast_i32x4
#define _mm512_broadcast_i32x4 emu_broadcast_i32x4
#undef _mm512_mask_broadcast_i32x4
#define _mm512_mask_broadcast_i32x4 emu_mask_broadcast_i32x4
#undef _mm512_broadcast_i64x4
#define _mm512_broadcast_i64x4 emu_broadcast_i64x4
#undef _mm512_castsi512_si256
#define _mm512_castsi512_si256 emu_castsi512_si256
#undef _mm512_extracti64x4_epi64
#define _mm512_extracti64x4_epi64 emu_extracti64x4
#undef _mm512_inserti64x4
#define _mm512_inserti64x4 emu_inserti64x4
#undef _mm512_movm_epi8
#define _mm512_movm_epi8 emu_movm_epi8
#undef _mm512_test_epi8_mask
#define _mm512_test_epi8_mask emu_test_epi8_mask
#undef _mm512_cvtepi8_epi16
#define _mm512_cvtepi8_epi16 emu_cvtepi8_epi16
#undef _mm512_mask_add_epi16
#define _mm512_mask_add_epi16 emu_mask_add_epi16
#undef _mm512_mask_sub_epi16
#define _mm512_mask_sub_epi16 emu_mask_sub_epi16
#undef _mm512_madd_epi16
#define _mm512_madd_epi16 emu_madd_epi16
#undef _mm512_reduce_add_epi32
#define _mm512_reduce_add_epi32 emu_reduce_add_epi32
#undef _mm256_maskz_loadu_epi8
#define _mm256_maskz_loadu_epi8 emu_mm256_maskz_loadu_epi8

#undef _mm512_or_si512
#define _mm512_or_si512 emu_or
#undef _mm512_sub_epi16
#define _mm512_sub_epi16 emu_sub_epi16
#undef _mm512_set1_epi32
#define _mm512_set1_epi32 emu_set1_epi32
#undef _mm512_storeu_si512
#define _mm512_storeu_si512 emu_storeu
#undef _mm512_cvtepu8_epi16
#define _mm512_cvtepu8_epi16 emu_cvtepu8_epi16
#undef _mm512_cvtepi16_epi32
#define _mm512_cvtepi16_epi32 emu_cvtepi16_epi32
#undef _mm512_permutexvar_epi16
#define _mm512_permutexvar_epi16 emu_permutexvar_epi16
#undef _mm512_test_epi16_mask
#define _mm512_test_epi16_mask emu_test_epi16_mask

#endif
