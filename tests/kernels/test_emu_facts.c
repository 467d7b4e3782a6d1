/* test_emu_facts.c: every modelled intrinsic of the two instruction models
 * (emu_simd.h for the int8-MAD kernels, test_lut_emu.h for the LUT / bit-serial ones)
 * against values computed by hand from the instruction definitions: lane boundaries,
 * saturation where the instruction saturates, wrap-around where it wraps, sign/zero
 * extension, masks.  test_emu_coverage.py checks that every modelled intrinsic is here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tb_test.h"
#include "kernel.h"
#include "emu_simd.h"
#include "test_lut_emu.h"

#define NEED_AVX2()                                                                       \
    do {                                                                                  \
        if (!(tb_cpu_features() & TB_ISA_AVX2)) TB_SKIP("the models are built on AVX2"); \
    } while (0)

static int8_t b8(__m256i v, int i) { int8_t x[32]; memcpy(x, &v, 32); return x[i]; }
static int16_t w16(__m256i v, int i) { int16_t x[16]; memcpy(x, &v, 32); return x[i]; }
static int32_t d32(__m256i v, int i) { int32_t x[8]; memcpy(x, &v, 32); return x[i]; }
static __m256i bytes256(const int8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* ---- emu_simd.h (int8-MAD kernels) ---- */

TB_TEST(mad_dpbusd) {
    NEED_AVX2();
    int8_t ub[32] = {0}, sc[32] = {0};
    int32_t a[8] = {10, 0, 0, 0, 0, 0, 0, 0};
    /* lane 0: 10 + 255*-128 + 1*127 + 2*-1 + 3*2 = -32499 (b unsigned, c signed) */
    ub[0] = (int8_t)255, ub[1] = 1, ub[2] = 2, ub[3] = 3;
    sc[0] = -128, sc[1] = 127, sc[2] = -1, sc[3] = 2;
    /* lane 7: 4 * 255 * -128 = -130560, far outside int16: no intermediate saturation */
    for (int j = 28; j < 32; j++) ub[j] = (int8_t)255, sc[j] = -128;
    __m256i acc;
    memcpy(&acc, a, 32);
    __m256i r = emu_dpbusd256(acc, bytes256(ub), bytes256(sc));
    TB_CHECK_EQ_INT(d32(r, 0), -32499);
    TB_CHECK_EQ_INT(d32(r, 1), 0);
    TB_CHECK_EQ_INT(d32(r, 7), -130560);
    /* the 512-bit form: the same per half */
    emu512 z = e512_dpbusd(e512_bcast256(acc), e512_bcast256(bytes256(ub)), e512_bcast256(bytes256(sc)));
    TB_CHECK_EQ_INT(d32(z.lo, 0), -32499);
    TB_CHECK_EQ_INT(d32(z.hi, 0), -32499);
    TB_CHECK_EQ_INT(d32(z.hi, 7), -130560);
}

TB_TEST(mad_load_and_shift) {
    NEED_AVX2();
    int8_t m[64];
    for (int i = 0; i < 64; i++) m[i] = (int8_t)i;
    emu512 v = e512_loadu(m);
    TB_CHECK(b8(v.lo, 0) == 0 && b8(v.lo, 31) == 31 && b8(v.hi, 0) == 32 && b8(v.hi, 31) == 63);
    emu512 x = e512_and(e512_set1_8((char)0xF0), e512_set1_8(0x3C));
    TB_CHECK_EQ_INT((uint8_t)b8(x.lo, 0), 0x30);
    TB_CHECK_EQ_INT((uint8_t)b8(x.hi, 31), 0x30);
    emu512 s = e512_srli16(e512_set1_16((short)0x8001), 1); /* logical: 0x4000, not 0xC000 */
    TB_CHECK_EQ_INT((uint16_t)w16(s.lo, 0), 0x4000);
    TB_CHECK_EQ_INT((uint16_t)w16(s.hi, 15), 0x4000);
    emu512 zero = e512_zero();
    TB_CHECK(b8(zero.lo, 0) == 0 && b8(zero.hi, 31) == 0);
    emu512 s8 = e512_set1_8(-3), s16 = e512_set1_16(-300);
    TB_CHECK(b8(s8.lo, 5) == -3 && b8(s8.hi, 30) == -3);
    TB_CHECK(w16(s16.lo, 0) == -300 && w16(s16.hi, 15) == -300);
}

TB_TEST(mad_multiply_add) {
    NEED_AVX2();
    int8_t u[32] = {0}, s[32] = {0};
    u[0] = (int8_t)255, u[1] = (int8_t)255, s[0] = 127, s[1] = 127; /* 2*255*127 = 64770 -> saturates to 32767 */
    u[2] = 2, u[3] = 3, s[2] = -4, s[3] = 5;                         /* -8 + 15 = 7 */
    emu512 m = e512_maddubs(e512_bcast256(bytes256(u)), e512_bcast256(bytes256(s)));
    TB_CHECK_EQ_INT(w16(m.lo, 0), 32767);
    TB_CHECK_EQ_INT(w16(m.hi, 1), 7);
    int16_t a[16] = {-32768, -32768, 3, 4}, b[16] = {-32768, -32768, 5, -6};
    __m256i va, vb;
    memcpy(&va, a, 32);
    memcpy(&vb, b, 32);
    emu512 d = e512_madd16(e512_bcast256(va), e512_bcast256(vb)); /* 2^31 wraps to INT32_MIN */
    TB_CHECK_EQ_INT(d32(d.lo, 0), INT32_MIN);
    TB_CHECK_EQ_INT(d32(d.hi, 1), -9);
    emu512 w = e512_add16(e512_set1_16(32767), e512_set1_16(1)); /* wraps */
    TB_CHECK_EQ_INT(w16(w.hi, 3), -32768);
    emu512 q = e512_add32(e512_bcast256(_mm256_set1_epi32(5)), e512_bcast256(_mm256_set1_epi32(-7)));
    TB_CHECK(d32(q.lo, 0) == -2 && d32(q.hi, 7) == -2);
}

TB_TEST(mad_halves) {
    NEED_AVX2();
    int8_t m[64];
    for (int i = 0; i < 64; i++) m[i] = (int8_t)(100 - i);
    emu512 v = e512_loadu(m);
    TB_CHECK_EQ_INT(b8(e512_cast256(v), 0), 100);               /* bits 255:0 */
    TB_CHECK_EQ_INT(b8(e512_extract256(v, 0), 31), 69);
    TB_CHECK_EQ_INT(b8(e512_extract256(v, 1), 0), 68);           /* bits 511:256 */
    emu512 bc = e512_bcast256(e512_extract256(v, 1));
    TB_CHECK(b8(bc.lo, 0) == 68 && b8(bc.hi, 0) == 68 && b8(bc.hi, 31) == 37);
}

/* the shuffles of the VNNI GEMM's transpose-add reduction, and setr / storeu */
TB_TEST(mad_reduce_shuffles) {
    NEED_AVX2();
    const emu512 a = e512_setr32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const emu512 b = e512_setr32(100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115);
    int32_t r[16];
    e512_storeu(r, a);
    for (int i = 0; i < 16; i++) TB_CHECK_EQ_INT(r[i], i); /* setr: element 0 first; storeu: in order */
    /* per 128-bit lane L: [a0 b0 a1 b1] and [a2 b2 a3 b3] */
    static const int32_t lo32[16] = {0, 100, 1, 101, 4, 104, 5, 105, 8, 108, 9, 109, 12, 112, 13, 113};
    static const int32_t hi32[16] = {2, 102, 3, 103, 6, 106, 7, 107, 10, 110, 11, 111, 14, 114, 15, 115};
    e512_storeu(r, e512_unpacklo32(a, b));
    TB_CHECK(memcmp(r, lo32, sizeof r) == 0);
    e512_storeu(r, e512_unpackhi32(a, b));
    TB_CHECK(memcmp(r, hi32, sizeof r) == 0);
    /* per 128-bit lane: [a.q0 b.q0] and [a.q1 b.q1] */
    static const int32_t lo64[16] = {0, 1, 100, 101, 4, 5, 104, 105, 8, 9, 108, 109, 12, 13, 112, 113};
    static const int32_t hi64[16] = {2, 3, 102, 103, 6, 7, 106, 107, 10, 11, 110, 111, 14, 15, 114, 115};
    e512_storeu(r, e512_unpacklo64(a, b));
    TB_CHECK(memcmp(r, lo64, sizeof r) == 0);
    e512_storeu(r, e512_unpackhi64(a, b));
    TB_CHECK(memcmp(r, hi64, sizeof r) == 0);
    /* vshufi32x4: lanes 0, 1 from a (imm[1:0], imm[3:2]); lanes 2, 3 from b (imm[5:4], imm[7:6]) */
    e512_storeu(r, e512_shuffle_i32x4(a, b, _MM_SHUFFLE(2, 0, 3, 1)));
    static const int32_t shuf[16] = {4, 5, 6, 7, 12, 13, 14, 15, 100, 101, 102, 103, 108, 109, 110, 111};
    TB_CHECK(memcmp(r, shuf, sizeof r) == 0);
    /* vpermd: r[i] = a[idx[i] mod 16] (the index's high bits ignored) */
    e512_storeu(r, e512_permutexvar32(e512_setr32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 16 + 0), b));
    for (int i = 0; i < 16; i++) TB_CHECK_EQ_INT(r[i], 115 - i);
}

/* ---- test_lut_emu.h (LUT and bit-serial kernels) ---- */

TB_TEST(lut_set_load_logic) {
    emu_v512 z = emu_setzero(), a = emu_set1_epi8(5), w = emu_set1_epi16(-2);
    TB_CHECK(z.d[0] == 0 && z.d[15] == 0 && a.b[0] == 5 && a.b[63] == 5 && w.w[0] == -2 && w.w[31] == -2);
    int8_t m[64];
    for (int i = 0; i < 64; i++) m[i] = (int8_t)i;
    emu_v512 l = emu_loadu(m);
    TB_CHECK(l.b[0] == 0 && l.b[63] == 63);
    TB_CHECK_EQ_INT((uint8_t)emu_and(emu_set1_epi8(0x0F), emu_set1_epi8((char)0x3C)).b[7], 0x0C);
    TB_CHECK_EQ_INT((uint8_t)emu_xor(emu_set1_epi8(0x55), emu_set1_epi8((char)0xFF)).b[60], 0xAA);
}

TB_TEST(lut_arith_wraps) {
    TB_CHECK_EQ_INT(emu_add_epi16(emu_set1_epi16(32767), emu_set1_epi16(1)).w[31], -32768);
    emu_v512 a = emu_setzero(), b = emu_setzero();
    a.d[15] = INT32_MAX, b.d[15] = 1;
    TB_CHECK_EQ_INT(emu_add_epi32(a, b).d[15], INT32_MIN);
    TB_CHECK_EQ_INT(emu_srli_epi16(emu_set1_epi16(-1), 4).w[0], 0x0FFF); /* logical */
    TB_CHECK_EQ_INT(emu_srli_epi16(emu_set1_epi16(-1), 16).w[9], 0);     /* count > 15: zero */
    a = emu_setzero(), b = emu_setzero();
    a.w[0] = a.w[1] = b.w[0] = b.w[1] = -32768; /* 2^31 wraps */
    a.w[30] = 3, a.w[31] = 4, b.w[30] = 5, b.w[31] = -6;
    emu_v512 d = emu_madd_epi16(a, b);
    TB_CHECK_EQ_INT(d.d[0], INT32_MIN);
    TB_CHECK_EQ_INT(d.d[15], -9);
    for (int i = 0; i < 16; i++) a.d[i] = i;
    TB_CHECK_EQ_INT(emu_reduce_add_epi32(a), 120);
    for (int i = 0; i < 16; i++) a.d[i] = INT32_MAX;
    TB_CHECK_EQ_INT(emu_reduce_add_epi32(a), -16); /* 16 * (2^31 - 1) mod 2^32 */
}

TB_TEST(lut_masked_arith) {
    emu_v512 src = emu_set1_epi16(9), a = emu_set1_epi16(-32768), b = emu_set1_epi16(1);
    emu_v512 r = emu_mask_add_epi16(src, 0x2u, a, b);
    TB_CHECK(r.w[0] == 9 && r.w[1] == -32767 && r.w[2] == 9);
    r = emu_mask_sub_epi16(src, 0x80000001u, a, b); /* -32768 - 1 wraps to 32767 */
    TB_CHECK(r.w[0] == 32767 && r.w[1] == 9 && r.w[31] == 32767);
    emu_v512 x = emu_setzero(), y = emu_setzero();
    x.b[0] = 1, y.b[0] = 2;  /* disjoint bits: 0 */
    x.b[3] = 3, y.b[3] = 2;  /* common bit: 1 */
    x.b[63] = -128, y.b[63] = -1;
    TB_CHECK(emu_test_epi8_mask(x, y) == (((__mmask64)1 << 3) | ((__mmask64)1 << 63)));
    int8_t s[32] = {-128, 127, -1, 0};
    emu_v512 w = emu_cvtepi8_epi16(bytes256(s)); /* sign extension: 0xFF -> -1, not 255 */
    TB_CHECK(w.w[0] == -128 && w.w[1] == 127 && w.w[2] == -1 && w.w[3] == 0);
}

TB_TEST(lut_shuffle_unpack) {
    emu_v512 a, idx;
    for (int i = 0; i < 64; i++) a.b[i] = (int8_t)i, idx.b[i] = (int8_t)(15 - (i & 15));
    idx.b[5] = (int8_t)0x80;
    idx.b[40] = 0x13; /* only the low 4 bits index, within the lane: byte 32 + 3 */
    emu_v512 r = emu_shuffle_epi8(a, idx);
    TB_CHECK_EQ_INT(r.b[0], 15);  /* lane 0 reversed */
    TB_CHECK_EQ_INT(r.b[16], 31); /* lane 1 uses its own bytes */
    TB_CHECK_EQ_INT(r.b[5], 0);   /* bit 7 zeroes */
    TB_CHECK_EQ_INT(r.b[40], 35);
    r = emu_unpacklo_epi8(a, emu_set1_epi8(-1));
    TB_CHECK(r.b[0] == 0 && r.b[1] == -1 && r.b[2] == 1 && r.b[32] == 32 && r.b[34] == 33);
    r = emu_unpackhi_epi8(a, a);
    TB_CHECK(r.b[0] == 8 && r.b[1] == 8 && r.b[48] == 56 && r.b[63] == 63);
}

TB_TEST(lut_broadcast_insert_extract) {
    int8_t m[32];
    for (int i = 0; i < 32; i++) m[i] = (int8_t)(i + 1);
    __m128i x;
    memcpy(&x, m, 16);
    emu_v512 r = emu_broadcast_i32x4(x);
    TB_CHECK(r.b[0] == 1 && r.b[16] == 1 && r.b[48 + 3] == 4 && r.b[63] == 16);
    r = emu_mask_broadcast_i32x4(emu_setzero(), 0xFF00, _mm_set1_epi8(7));
    TB_CHECK(r.b[31] == 0 && r.b[32] == 7 && r.b[63] == 7);
    r = emu_broadcast_i64x4(bytes256(m));
    TB_CHECK(r.b[0] == 1 && r.b[31] == 32 && r.b[32] == 1 && r.b[37] == 6);
    r = emu_inserti64x4(emu_setzero(), bytes256(m), 1);
    TB_CHECK(r.b[0] == 0 && r.b[32] == 1 && r.b[63] == 32);
    TB_CHECK(b8(emu_extracti64x4(r, 1), 0) == 1 && b8(emu_extracti64x4(r, 0), 0) == 0);
    r.b[0] = 42;
    TB_CHECK_EQ_INT(b8(emu_castsi512_si256(r), 0), 42);
    r = emu_movm_epi8((__mmask64)1 << 63 | 1);
    TB_CHECK(r.b[0] == -1 && r.b[1] == 0 && r.b[63] == -1);
}

/* the models the prefill GEMMs added (tl-gemm-avx512.h, the bsp AVX-512 GEMM) */
TB_TEST(lut_gemm_widen_permute_test_store) {
    int8_t m[32];
    for (int i = 0; i < 32; i++) m[i] = (int8_t)(i == 3 ? -1 : i * 7); /* byte 3 = 0xff */
    emu_v512 r = emu_cvtepu8_epi16(bytes256(m));
    TB_CHECK(r.w[0] == 0 && r.w[1] == 7 && r.w[3] == 255 && r.w[31] == (int16_t)(uint8_t)(31 * 7)); /* zero-extended */
    int16_t h[16];
    for (int i = 0; i < 16; i++) h[i] = (int16_t)(i == 2 ? -300 : i * 1000);
    __m256i hv;
    memcpy(&hv, h, 32);
    r = emu_cvtepi16_epi32(hv);
    TB_CHECK(r.d[0] == 0 && r.d[2] == -300 && r.d[15] == 15000); /* sign-extended */
    emu_v512 tab, idx;
    for (int i = 0; i < 32; i++) tab.w[i] = (int16_t)(100 + i), idx.w[i] = (int16_t)(31 - i);
    idx.w[0] = 33;     /* only the low 5 bits index: word 1 */
    idx.w[5] = -32768; /* 0x8000 & 31 = 0 */
    r = emu_permutexvar_epi16(idx, tab);
    TB_CHECK(r.w[0] == 101 && r.w[1] == 130 && r.w[5] == 100 && r.w[31] == 100);
    emu_v512 a = emu_setzero(), b = emu_setzero();
    a.w[0] = 0x0100, b.w[0] = 0x0100; /* high byte only: set */
    a.w[7] = 0x00f0, b.w[7] = 0x000f; /* disjoint bits: clear */
    a.w[31] = -1, b.w[31] = 1;
    TB_CHECK(emu_test_epi16_mask(a, b) == (((__mmask32)1 << 31) | 1));
    emu_v512 o = emu_set1_epi32(0x01020304);
    TB_CHECK(o.b[0] == 4 && o.b[3] == 1 && o.d[15] == 0x01020304);
    o = emu_or(emu_set1_epi32(0x00ff0000), emu_set1_epi32(0x0000ff00));
    TB_CHECK(o.d[7] == 0x00ffff00);
    emu_v512 x = emu_setzero(), y = emu_setzero();
    x.w[0] = -32768, y.w[0] = 1; /* wraps to 32767 */
    x.w[31] = 5, y.w[31] = 7;
    o = emu_sub_epi16(x, y);
    TB_CHECK(o.w[0] == 32767 && o.w[31] == -2 && o.w[1] == 0);
    uint8_t out[64];
    memset(out, 0, sizeof out);
    for (int i = 0; i < 64; i++) a.b[i] = (int8_t)(i + 1);
    emu_storeu(out, a);
    TB_CHECK(out[0] == 1 && out[63] == 64);
}

/* masked-off bytes are zero and are not read (a 3-byte buffer: ASan sees any overread) */
TB_TEST(lut_maskz_load) {
    int8_t *p = malloc(3);
    p[0] = 11, p[1] = 22, p[2] = 33;
    __m256i v = emu_mm256_maskz_loadu_epi8(0x5u, p);
    TB_CHECK(b8(v, 0) == 11 && b8(v, 1) == 0 && b8(v, 2) == 33 && b8(v, 3) == 0 && b8(v, 31) == 0);
    free(p);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
