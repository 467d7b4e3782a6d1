/* test_rowops.c: the SIMD row operations and attention head give the reference's bits.
 *
 *  - tb_ref_rmsnorm follows its documented order (8 double lanes, tree +4 +2 +1),
 *    checked bit for bit against an independent transcription;
 *  - tb_rowops_avx2 equals tb_ref_rowops() bit for bit (output bits, int8 codes,
 *    returned scales) for lengths 1..70, 2560 and 6912 on: N(0,1) rows, wide dynamic
 *    range, rows with NaN, +-inf, +-0, subnormals, all-zero rows (the 1e-5 floor), values
 *    that land exactly on .5 after scaling (ties to even), and huge int32 accumulators;
 *  - tb_attn_heads_avx2 (and tb_attn_heads_avx512 where the CPU has AVX-512) for 1..5
 *    query heads sharing one K/V equal tb_ref_attn_head on each head bit for bit, for
 *    1..70 keys, strided K/V, head_dim 16..256, and fall back to the reference for
 *    head_dim % 16 != 0.
 * The AVX2 parts skip (exit 77) on a CPU without AVX2.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tb_test.h"
#include "attention.h"
#include "bitlinear.h"
#include "forward.h"
#include "kernel.h"
#include "rowops.h"

static uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static bool same_bits(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (f2u(a[i]) != f2u(b[i])) return false;
    return true;
}

enum { VALS_NORMAL, VALS_WIDE, VALS_SPECIAL, VALS_TIES, VALS_ZERO, VALS_COUNT };

/* n floats of value set `vals` (see the file comment). */
static void fill(tb_rng *r, int vals, float *x, int n) {
    for (int i = 0; i < n; i++) {
        const double g = tb_rng_normal(r);
        switch (vals) {
        case VALS_NORMAL: x[i] = (float)g; break;
        case VALS_WIDE: x[i] = (float)ldexp(g, (int)tb_rng_below(r, 80) - 40); break;
        case VALS_SPECIAL: {
            static const float sp[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f, -1e-42f, 3.0e38f};
            x[i] = tb_rng_below(r, 4) == 0 ? sp[tb_rng_below(r, 8)] : (float)g;
            break;
        }
        case VALS_TIES: x[i] = (float)((int)tb_rng_below(r, 255) - 127) + 0.5f; break; /* max 127.5: s = 127/127.5 */
        default: x[i] = 0.0f; break;
        }
    }
    if (vals == VALS_TIES && n > 0) x[0] = 127.0f; /* s = 1: every x.5 is an exact tie */
}

TB_TEST(rmsnorm_order) {
    tb_rng r;
    tb_rng_seed(&r, 0x7a11);
    int differs = 0;
    for (int n = 1; n <= 300; n += 7) {
        float *x = malloc(sizeof(float) * n), *w = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
        fill(&r, VALS_WIDE, x, n);
        for (int i = 0; i < n; i++) w[i] = (float)tb_rng_normal(&r);
        tb_ref_rmsnorm(y, x, w, n, 1e-5f);
        double l[8] = {0}, seq = 0;
        for (int i = 0; i < n; i++) {
            l[i % 8] += (double)x[i] * (double)x[i];
            seq += (double)x[i] * (double)x[i];
        }
        const double t4[4] = {l[0] + l[4], l[1] + l[5], l[2] + l[6], l[3] + l[7]};
        const double t2[2] = {t4[0] + t4[2], t4[1] + t4[3]};
        const float scale = (float)(1.0 / sqrt((t2[0] + t2[1]) / n + 1e-5));
        const float scale_seq = (float)(1.0 / sqrt(seq / n + 1e-5));
        for (int i = 0; i < n; i++) TB_CHECK(f2u(y[i]) == f2u((x[i] * scale) * w[i]));
        differs += f2u(scale) != f2u(scale_seq);
        free(x), free(w), free(y);
    }
    /* the float rounding of the scale hides most orders: informational only */
    printf("rmsnorm: 43 lengths match the 8-lane transcription; %d differ from sequential summation\n", differs);
}

static void check_rows(const tb_rowops *ro, const tb_rowops *ref, tb_rng *r, int vals, int n) {
    float *x = malloc(sizeof(float) * n), *w = malloc(sizeof(float) * n), *a = malloc(sizeof(float) * n),
          *b = malloc(sizeof(float) * n), *u = malloc(sizeof(float) * n);
    int8_t *qa = malloc(n), *qb = malloc(n);
    int32_t *acc = malloc(sizeof(int32_t) * n);
    fill(r, vals, x, n);
    fill(r, VALS_NORMAL, w, n);
    fill(r, vals, u, n);
    ref->rmsnorm(a, x, w, n, 1e-5f);
    ro->rmsnorm(b, x, w, n, 1e-5f);
    TB_CHECK_MSG(same_bits(a, b, n), "rmsnorm vals %d n %d", vals, n);
    const float sa = ref->quantize(x, n, qa), sb = ro->quantize(x, n, qb);
    TB_CHECK_MSG(f2u(sa) == f2u(sb) && !memcmp(qa, qb, n), "quantize vals %d n %d", vals, n);
    const float s4a = ref->quantize4(x, n, qa), s4b = ro->quantize4(x, n, qb);
    TB_CHECK_MSG(f2u(s4a) == f2u(s4b) && !memcmp(qa, qb, n), "quantize4 vals %d n %d", vals, n);
    for (int i = 0; i < n; i++)
        acc[i] = vals == VALS_WIDE ? (int32_t)(tb_rng_next(r) >> 33) - (1 << 30) : (int32_t)tb_rng_below(r, 2000001) - 1000000;
    ref->epilogue(acc, n, sa, 0.7f, a);
    ro->epilogue(acc, n, sa, 0.7f, b);
    TB_CHECK_MSG(same_bits(a, b, n), "epilogue vals %d n %d", vals, n);
    memcpy(a, x, sizeof(float) * n);
    memcpy(b, x, sizeof(float) * n);
    ref->relu2_mul(a, u, (size_t)n);
    ro->relu2_mul(b, u, (size_t)n);
    TB_CHECK_MSG(same_bits(a, b, n), "relu2_mul vals %d n %d", vals, n);
    memcpy(a, x, sizeof(float) * n);
    memcpy(b, x, sizeof(float) * n);
    ref->add(a, u, (size_t)n);
    ro->add(b, u, (size_t)n);
    TB_CHECK_MSG(same_bits(a, b, n), "add vals %d n %d", vals, n);
    free(x), free(w), free(a), free(b), free(u), free(qa), free(qb), free(acc);
}

TB_TEST(avx2_rowops_bit_identical) {
    if (!(tb_cpu_features() & TB_ISA_AVX2)) TB_SKIP("no AVX2 on this CPU");
    tb_rng r;
    tb_rng_seed(&r, 0x0b5);
    int cases = 0;
    for (int vals = 0; vals < VALS_COUNT; vals++) {
        for (int n = 1; n <= 70; n++, cases++) check_rows(&tb_rowops_avx2, tb_ref_rowops(), &r, vals, n);
        check_rows(&tb_rowops_avx2, tb_ref_rowops(), &r, vals, 2560);
        check_rows(&tb_rowops_avx2, tb_ref_rowops(), &r, vals, 6912);
        cases += 2;
    }
    /* ties: x = k + 0.5 with max 127 -> s = 1, so every element is an exact tie */
    float x[16];
    int8_t q[16];
    for (int i = 0; i < 16; i++) x[i] = (float)i - 7.5f;
    x[15] = 127.0f;
    TB_CHECK(tb_rowops_avx2.quantize(x, 16, q) == 1.0f);
    TB_CHECK(q[0] == -8 && q[1] == -6 && q[2] == -6 && q[7] == 0 && q[8] == 0 && q[9] == 2);
    printf("avx2 rowops: %d row cases bit-identical to the reference\n", cases);
}

/* The SIMD quantizers leave out the reference's clamps (rowops-avx2.c): |x * s| stays below
 * qhi + 1/2 because s is rounded from qhi / max |x|.  Rows whose elements all sit at or
 * just below their max, for maxima over the whole float range, put x * s as close to the
 * bound as it gets; both quantizers must still give the reference's codes and scale. */
TB_TEST(avx2_quantize_at_the_max) {
    if (!(tb_cpu_features() & TB_ISA_AVX2)) TB_SKIP("no AVX2 on this CPU");
    tb_rng r;
    tb_rng_seed(&r, 0x5ca1e);
    enum { N = 67 };
    float x[N];
    int8_t qa[N], qb[N];
    int differ = 0;
    for (int it = 0; it < 20000; it++) {
        const float m = ldexpf(1.0f + (float)tb_rng_below(&r, 1u << 23) / (float)(1u << 23), (int)tb_rng_below(&r, 250) - 125);
        for (int i = 0; i < N; i++) {
            float v = m;
            for (int k = (int)tb_rng_below(&r, 4); k > 0; k--) v = nextafterf(v, 0.0f); /* m, or 1-3 ulps below */
            x[i] = tb_rng_below(&r, 2) ? -v : v;
        }
        const float sa = tb_quantize_act(x, N, qa), sb = tb_rowops_avx2.quantize(x, N, qb);
        differ += f2u(sa) != f2u(sb) || memcmp(qa, qb, N);
        const float s4a = tb_quantize_act4(x, N, qa), s4b = tb_rowops_avx2.quantize4(x, N, qb);
        differ += f2u(s4a) != f2u(s4b) || memcmp(qa, qb, N);
    }
    TB_CHECK_EQ_INT(differ, 0);
}

TB_TEST(avx2_attention_bit_identical) {
    if (!(tb_cpu_features() & TB_ISA_AVX2)) TB_SKIP("no AVX2 on this CPU");
    tb_rng r;
    tb_rng_seed(&r, 0xa77);
    const int hds[] = {16, 48, 64, 128, 144, 256, 20};
    int cases = 0, avx512_cases = 0;
    for (size_t h = 0; h < sizeof hds / sizeof hds[0]; h++) {
        const int hd = hds[h];
        const size_t stride = (size_t)hd * 3 + 5; /* K/V rows interleaved with other heads */
        for (int n = 1; n <= 70; n += (n < 10 ? 1 : 7)) {
            const int g = 1 + (n + (int)h) % 5; /* 1..5 heads: 5 takes a group of 4 and one of 1 */
            float *q = malloc(sizeof(float) * hd * g), *kv = malloc(sizeof(float) * stride * n * 2);
            float *oa = malloc(sizeof(float) * hd * g), *ob = malloc(sizeof(float) * hd * g);
            float *sa = malloc(sizeof(float) * n), *sb = malloc(sizeof(float) * n * g);
            fill(&r, VALS_NORMAL, q, hd * g);
            fill(&r, n % 3 ? VALS_NORMAL : VALS_WIDE, kv, (int)(stride * n * 2));
            const float *k = kv, *v = kv + stride * n;
            const float scale = (float)(1.0 / sqrt((double)hd));
            for (int i = 0; i < g; i++) tb_ref_attn_head(q + i * hd, k, v, stride, n, hd, scale, oa + i * hd, sa);
            tb_attn_heads_avx2(q, g, k, v, stride, n, hd, scale, ob, sb);
            TB_CHECK_MSG(same_bits(oa, ob, hd * g), "attention hd %d n %d heads %d", hd, n, g);
            cases += g;
            if (tb_cpu_features() & TB_ISA_AVX512) {
                tb_attn_heads_avx512(q, g, k, v, stride, n, hd, scale, ob, sb);
                TB_CHECK_MSG(same_bits(oa, ob, hd * g), "attention avx512 hd %d n %d heads %d", hd, n, g);
                avx512_cases += g;
            }
            free(q), free(kv), free(oa), free(ob), free(sa), free(sb);
        }
    }
    printf("avx2 attention: %d heads bit-identical to the reference; avx512: %d (0 = no AVX-512 here)\n", cases,
           avx512_cases);
}

int main(void) { return tb_test_main(); }
