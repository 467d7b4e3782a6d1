/* test_emu_vs_avx512.c: where the CPU has AVX-512 (+ VNNI), every intrinsic model that the
 * emulated kernels rely on for arithmetic, shuffles and masks is compared with the real
 * instruction on random and extreme inputs (2000 draws each).  Elsewhere it SKIPs: the
 * fact tests (test_emu_facts.c) are then all that ties the models to the instructions. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "../tb_test.h"
#include "kernel.h"

typedef union {
    int8_t b[64];
    int16_t w[32];
    int32_t d[16];
} v64;

/* ---- the real instructions (before the models' macros exist) ---- */
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define LD(p) _mm512_loadu_si512((const void *)(p))
#define ST(p, v) _mm512_storeu_si512((void *)(p), (v))

T512 static void r_dpbusd(const v64 *a, const v64 *b, const v64 *c, v64 *o) { ST(o, _mm512_dpbusd_epi32(LD(a), LD(b), LD(c))); }
T512 static void r_dpbusd256(const v64 *a, const v64 *b, const v64 *c, v64 *o) {
    __m256i r = _mm256_dpbusd_epi32(_mm256_loadu_si256((const __m256i *)a), _mm256_loadu_si256((const __m256i *)b),
                                    _mm256_loadu_si256((const __m256i *)c));
    memset(o, 0, sizeof *o);
    _mm256_storeu_si256((__m256i *)o, r);
}
T512 static void r_maddubs(const v64 *a, const v64 *b, v64 *o) { ST(o, _mm512_maddubs_epi16(LD(a), LD(b))); }
T512 static void r_madd(const v64 *a, const v64 *b, v64 *o) { ST(o, _mm512_madd_epi16(LD(a), LD(b))); }
T512 static void r_add16(const v64 *a, const v64 *b, v64 *o) { ST(o, _mm512_add_epi16(LD(a), LD(b))); }
T512 static void r_add32(const v64 *a, const v64 *b, v64 *o) { ST(o, _mm512_add_epi32(LD(a), LD(b))); }
T512 static void r_srli3(const v64 *a, v64 *o) { ST(o, _mm512_srli_epi16(LD(a), 3)); }
T512 static void r_unpack32(const v64 *a, const v64 *b, v64 *lo, v64 *hi) {
    ST(lo, _mm512_unpacklo_epi32(LD(a), LD(b)));
    ST(hi, _mm512_unpackhi_epi32(LD(a), LD(b)));
}
T512 static void r_unpack64(const v64 *a, const v64 *b, v64 *lo, v64 *hi) {
    ST(lo, _mm512_unpacklo_epi64(LD(a), LD(b)));
    ST(hi, _mm512_unpackhi_epi64(LD(a), LD(b)));
}
T512 static void r_shuf_2031(const v64 *a, const v64 *b, v64 *o) {
    ST(o, _mm512_shuffle_i32x4(LD(a), LD(b), _MM_SHUFFLE(2, 0, 3, 1)));
}
T512 static void r_permd(const v64 *i, const v64 *a, v64 *o) { ST(o, _mm512_permutexvar_epi32(LD(i), LD(a))); }
T512 static void r_shuffle(const v64 *a, const v64 *b, v64 *o) { ST(o, _mm512_shuffle_epi8(LD(a), LD(b))); }
T512 static void r_unpacklo(const v64 *a, const v64 *b, v64 *o) { ST(o, _mm512_unpacklo_epi8(LD(a), LD(b))); }
T512 static void r_unpackhi(const v64 *a, const v64 *b, v64 *o) { ST(o, _mm512_unpackhi_epi8(LD(a), LD(b))); }
T512 static void r_cvt(const v64 *a, v64 *o) { ST(o, _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)a))); }
T512 static void r_mask_add(const v64 *s, uint32_t k, const v64 *a, const v64 *b, v64 *o) {
    ST(o, _mm512_mask_add_epi16(LD(s), k, LD(a), LD(b)));
}
T512 static void r_mask_sub(const v64 *s, uint32_t k, const v64 *a, const v64 *b, v64 *o) {
    ST(o, _mm512_mask_sub_epi16(LD(s), k, LD(a), LD(b)));
}
T512 static void r_mask_bcast(const v64 *s, uint16_t k, const v64 *a, v64 *o) {
    ST(o, _mm512_mask_broadcast_i32x4(LD(s), k, _mm_loadu_si128((const __m128i *)a)));
}
T512 static uint64_t r_test(const v64 *a, const v64 *b) { return _mm512_test_epi8_mask(LD(a), LD(b)); }
T512 static void r_movm(uint64_t k, v64 *o) { ST(o, _mm512_movm_epi8(k)); }
T512 static int r_reduce(const v64 *a) { return _mm512_reduce_add_epi32(LD(a)); }
T512 static void r_maskz_load(uint32_t k, const void *p, v64 *o) {
    memset(o, 0, sizeof *o);
    _mm256_storeu_si256((__m256i *)o, _mm256_maskz_loadu_epi8(k, p));
}

/* ---- the models ---- */
#include "emu_simd.h"
#include "test_lut_emu.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t next64(void) {
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return rng_state;
}
/* random bytes, a quarter of them extremes (0x80, 0x7f, 0xff, 0x00) */
static void fill(v64 *v) {
    static const uint8_t ext[4] = {0x80, 0x7f, 0xff, 0x00};
    for (int i = 0; i < 64; i++) {
        uint64_t r = next64();
        v->b[i] = (int8_t)((r & 3) == 0 ? ext[(r >> 2) & 3] : (uint8_t)(r >> 8));
    }
}
static emu_v512 to_lut(const v64 *v) { emu_v512 r; memcpy(&r, v, 64); return r; }
static emu512 to_mad(const v64 *v) { return e512_loadu(v); }
static void from_mad(emu512 e, v64 *o) {
    memcpy(o->b, &e.lo, 32);
    memcpy(o->b + 32, &e.hi, 32);
}

static bool have_avx512vnni(void) {
    const unsigned f = tb_cpu_features();
    return (f & TB_ISA_AVX512) && (f & TB_ISA_AVX512VNNI) && (f & TB_ISA_AVX2);
}

#define SAME(what, real, model)                                                                          \
    TB_CHECK_MSG(memcmp(&(real), &(model), sizeof(real)) == 0, "%s: model differs from the instruction", what)

TB_TEST(mad_models_match_avx512) {
    if (!have_avx512vnni()) TB_SKIP("no AVX-512 + VNNI on this CPU: models not compared with the instructions");
    for (int it = 0; it < 2000; it++) {
        v64 a, b, c, r, m;
        fill(&a); fill(&b); fill(&c);
        for (int i = 0; i < 16; i++) a.d[i] >>= 2; /* keep dpbusd's int32 sum off overflow (UB in the C model) */
        r_dpbusd(&a, &b, &c, &r);
        from_mad(e512_dpbusd(to_mad(&a), to_mad(&b), to_mad(&c)), &m);
        SAME("dpbusd (512)", r, m);
        r_dpbusd256(&a, &b, &c, &r);
        memset(&m, 0, sizeof m);
        __m256i d = emu_dpbusd256(to_mad(&a).lo, to_mad(&b).lo, to_mad(&c).lo);
        memcpy(m.b, &d, 32);
        SAME("dpbusd (256)", r, m);
        r_maddubs(&a, &b, &r); from_mad(e512_maddubs(to_mad(&a), to_mad(&b)), &m); SAME("maddubs", r, m);
        r_madd(&a, &b, &r); from_mad(e512_madd16(to_mad(&a), to_mad(&b)), &m); SAME("madd (mad model)", r, m);
        r_add16(&a, &b, &r); from_mad(e512_add16(to_mad(&a), to_mad(&b)), &m); SAME("add16", r, m);
        r_add32(&a, &b, &r); from_mad(e512_add32(to_mad(&a), to_mad(&b)), &m); SAME("add32", r, m);
        r_srli3(&a, &r); from_mad(e512_srli16(to_mad(&a), 3), &m); SAME("srli16", r, m);
        v64 r2, m2;
        r_unpack32(&a, &b, &r, &r2);
        from_mad(e512_unpacklo32(to_mad(&a), to_mad(&b)), &m); SAME("unpacklo_epi32", r, m);
        from_mad(e512_unpackhi32(to_mad(&a), to_mad(&b)), &m2); SAME("unpackhi_epi32", r2, m2);
        r_unpack64(&a, &b, &r, &r2);
        from_mad(e512_unpacklo64(to_mad(&a), to_mad(&b)), &m); SAME("unpacklo_epi64", r, m);
        from_mad(e512_unpackhi64(to_mad(&a), to_mad(&b)), &m2); SAME("unpackhi_epi64", r2, m2);
        r_shuf_2031(&a, &b, &r); from_mad(e512_shuffle_i32x4(to_mad(&a), to_mad(&b), _MM_SHUFFLE(2, 0, 3, 1)), &m);
        SAME("shuffle_i32x4", r, m);
        r_permd(&c, &a, &r); from_mad(e512_permutexvar32(to_mad(&c), to_mad(&a)), &m); SAME("permutexvar_epi32", r, m);
    }
}

TB_TEST(lut_models_match_avx512) {
    if (!have_avx512vnni()) TB_SKIP("no AVX-512 on this CPU: models not compared with the instructions");
    for (int it = 0; it < 2000; it++) {
        v64 a, b, s, r;
        emu_v512 e;
        fill(&a); fill(&b); fill(&s);
        const uint64_t k = next64();
        r_shuffle(&a, &b, &r); e = emu_shuffle_epi8(to_lut(&a), to_lut(&b)); SAME("shuffle_epi8", r, e);
        r_unpacklo(&a, &b, &r); e = emu_unpacklo_epi8(to_lut(&a), to_lut(&b)); SAME("unpacklo_epi8", r, e);
        r_unpackhi(&a, &b, &r); e = emu_unpackhi_epi8(to_lut(&a), to_lut(&b)); SAME("unpackhi_epi8", r, e);
        r_madd(&a, &b, &r); e = emu_madd_epi16(to_lut(&a), to_lut(&b)); SAME("madd_epi16", r, e);
        r_srli3(&a, &r); e = emu_srli_epi16(to_lut(&a), 3); SAME("srli_epi16", r, e);
        r_add16(&a, &b, &r); e = emu_add_epi16(to_lut(&a), to_lut(&b)); SAME("add_epi16", r, e);
        r_add32(&a, &b, &r); e = emu_add_epi32(to_lut(&a), to_lut(&b)); SAME("add_epi32", r, e);
        r_cvt(&a, &r); e = emu_cvtepi8_epi16(emu_lo256(to_lut(&a))); SAME("cvtepi8_epi16", r, e);
        r_mask_add(&s, (uint32_t)k, &a, &b, &r), e = emu_mask_add_epi16(to_lut(&s), (__mmask32)k, to_lut(&a), to_lut(&b));
        SAME("mask_add_epi16", r, e);
        r_mask_sub(&s, (uint32_t)k, &a, &b, &r), e = emu_mask_sub_epi16(to_lut(&s), (__mmask32)k, to_lut(&a), to_lut(&b));
        SAME("mask_sub_epi16", r, e);
        r_mask_bcast(&s, (uint16_t)k, &a, &r);
        __m128i x;
        memcpy(&x, a.b, 16);
        e = emu_mask_broadcast_i32x4(to_lut(&s), (__mmask16)k, x); SAME("mask_broadcast_i32x4", r, e);
        TB_CHECK_MSG(r_test(&a, &b) == emu_test_epi8_mask(to_lut(&a), to_lut(&b)), "test_epi8_mask differs");
        r_movm(k, &r); e = emu_movm_epi8(k); SAME("movm_epi8", r, e);
        v64 small = a; /* GCC's reduce_add is a signed C sum: keep it off overflow (UBSan) */
        for (int i = 0; i < 16; i++) small.d[i] >>= 5;
        TB_CHECK_MSG(r_reduce(&small) == emu_reduce_add_epi32(to_lut(&small)), "reduce_add_epi32 differs");
        r_maskz_load((uint32_t)k, a.b, &r);
        memset(&e, 0, sizeof e);
        __m256i z = emu_mm256_maskz_loadu_epi8((__mmask32)k, a.b);
        memcpy(e.b, &z, 32);
        SAME("maskz_loadu_epi8", r, e);
    }
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
