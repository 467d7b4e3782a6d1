/* i2s4x128-x86.h: small x86 helpers shared by the SIMD variants of the i2s4x128 kernels.
 * Included by ISA-specific files only (each compiled with at least AVX2); the AVX-512
 * helper is visible only where the file is compiled with AVX-512 (or its emulation in
 * tests/kernels/emu_simd.h, which defines the intrinsic names as macros first). */
#ifndef TB_I2S4X128_X86_H
#define TB_I2S4X128_X86_H

#include <immintrin.h>

/* [sum(a0), sum(a1), sum(a2), sum(a3)] of four vectors of 8 int32 */
static inline __m128i hsum4(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

#if defined(__AVX512F__) || defined(_mm512_broadcast_i64x4)
/* the 32 activations at p in both 256-bit halves */
static inline __m512i bcast(const int8_t *p) {
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)p));
}
#endif

#endif
