/* test_half.c: f16 and bf16 conversions (common/tb_common.c), exhaustively:
 * every 16-bit pattern decodes to the value given by the IEEE formula and
 * round-trips; every midpoint between neighbours rounds to the even one
 * (round-to-nearest-even), and anything just off a midpoint to the nearer one. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tb_common.h"
#include "tb_test.h"

static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* IEEE binary16 value of h, by the textbook formula (in double, exact). */
static double f16_value(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

TB_TEST(f16_decode_exhaustive) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = tb_f16_to_f32((uint16_t)h);
        int e = (h >> 10) & 31, m = h & 1023;
        if (e == 31) {
            bad += m ? !isnan(f) : !(isinf(f) && (signbit(f) != 0) == (h >> 15));
            continue;
        }
        bad += (double)f != f16_value((uint16_t)h) || (signbit(f) != 0) != (int)(h >> 15);
    }
    TB_CHECK_EQ_INT(bad, 0);
}

TB_TEST(f16_roundtrip_exhaustive) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        int e = (h >> 10) & 31, m = h & 1023;
        uint16_t back = tb_f32_to_f16(tb_f16_to_f32((uint16_t)h));
        if (e == 31 && m) bad += ((back >> 10) & 31) != 31 || !(back & 1023) || (back >> 15) != (h >> 15); /* NaN stays NaN */
        else bad += back != h;
    }
    TB_CHECK_EQ_INT(bad, 0);
}

/* Midpoints between consecutive finite f16 values (all exactly representable in f32). */
TB_TEST(f16_ties_to_even_exhaustive) {
    int bad = 0;
    for (uint32_t h = 0; h < 0x7bff; h++) { /* h and h+1 both finite, positive */
        double lo = f16_value((uint16_t)h), hi = f16_value((uint16_t)(h + 1));
        float mid = (float)((lo + hi) / 2);
        TB_CHECK((double)mid == (lo + hi) / 2);
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        bad += tb_f32_to_f16(mid) != even;
        bad += tb_f32_to_f16(-mid) != (uint16_t)(even | 0x8000);
        /* one f32 ulp either side goes to the nearer neighbour */
        bad += tb_f32_to_f16(nextafterf(mid, 0.0f)) != h;
        bad += tb_f32_to_f16(nextafterf(mid, 1e9f)) != h + 1;
    }
    TB_CHECK_EQ_INT(bad, 0);
}

TB_TEST(f16_overflow_underflow) {
    TB_CHECK_EQ_INT(tb_f32_to_f16(65504.0f), 0x7bff);
    TB_CHECK_EQ_INT(tb_f32_to_f16(65519.996f), 0x7bff); /* below the midpoint to 65536 */
    TB_CHECK_EQ_INT(tb_f32_to_f16(65520.0f), 0x7c00);    /* midpoint: even side is inf */
    TB_CHECK_EQ_INT(tb_f32_to_f16(1e10f), 0x7c00);
    TB_CHECK_EQ_INT(tb_f32_to_f16(-1e10f), 0xfc00);
    TB_CHECK_EQ_INT(tb_f32_to_f16(INFINITY), 0x7c00);
    TB_CHECK(((tb_f32_to_f16(NAN) >> 10) & 31) == 31 && (tb_f32_to_f16(NAN) & 1023));
    TB_CHECK_EQ_INT(tb_f32_to_f16(0x1p-25f), 0x0000);          /* half of the smallest subnormal: tie to 0 */
    TB_CHECK_EQ_INT(tb_f32_to_f16(nextafterf(0x1p-25f, 1)), 1);
    TB_CHECK_EQ_INT(tb_f32_to_f16(0x1p-26f), 0);
    TB_CHECK_EQ_INT(tb_f32_to_f16(-0.0f), 0x8000);
    TB_CHECK_EQ_INT(tb_f32_to_f16(1e-30f), 0);
}

TB_TEST(bf16_exhaustive) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = tb_bf16_to_f32((uint16_t)h);
        bad += f2u(f) != h << 16; /* bf16 is the top half of an f32 */
        int isnan_ = ((h >> 7) & 255) == 255 && (h & 127);
        uint16_t back = tb_f32_to_bf16(f);
        if (isnan_) bad += !isnan(tb_bf16_to_f32(back));
        else bad += back != h;
        if (!isnan_ && ((h >> 7) & 255) != 255 && (h & 0x7fff) != 0x7f7f) {
            /* midpoint to the next pattern (same sign): ties to even */
            float mid = u2f((h << 16) | 0x8000u);
            uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
            bad += tb_f32_to_bf16(mid) != even;
            bad += tb_f32_to_bf16(u2f((h << 16) | 0x7fffu)) != h;
            bad += tb_f32_to_bf16(u2f((h << 16) | 0x8001u)) != (uint16_t)(h + 1);
        }
    }
    TB_CHECK_EQ_INT(bad, 0);
    TB_CHECK_EQ_INT(tb_f32_to_bf16(3.4028235e38f), 0x7f80); /* FLT_MAX rounds up to inf */
    TB_CHECK(isnan(tb_bf16_to_f32(tb_f32_to_bf16(u2f(0x7f800001u))))); /* a NaN whose payload is in the low half */
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
