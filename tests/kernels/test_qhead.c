/* test_qhead.c: the quantized LM heads (reference/qhead.h, issue #11).
 *
 *  - formats: tb_head_fmt_name, the sizes (blocks, row_bytes) and the bytes per token:
 *    Q8ROW = vocab * (32 * blocks + 4), Q4BLK = vocab * blocks * 18; errors for a bad
 *    embedding type or format;
 *  - quantization, transcribed here independently from qhead.h: the stored scales are
 *    exactly f32(amax / 127) (Q8ROW) and f16(amax / 7) (Q4BLK), the x quantization
 *    (q, dx) is exactly the documented one, nibbles and int8 in range, padding zero; and
 *    the round trip: every dequantized weight within half a step of the embedding value
 *    (bounds derived at round_trip below);
 *  - tb_qhead_rows_ref follows the documented order bit for bit (an independent float
 *    transcription), and is within a derived bound of the exact (double) sum
 *    sum_i deq(w_i) * deq(q_i) of the same quantized values;
 *  - tb_qhead_rows_avx2 equals tb_qhead_rows_ref bit for bit (NaN: both NaN) for Q8ROW
 *    and Q4BLK, F16/BF16/F32 embeddings, hidden 1, 32, 33, 100, 256, 2560, n = 1, 2, 3, 5,
 *    row ranges of odd length and offset with a padded output stride (cells outside stay
 *    untouched), a zero row, rows with one huge value, tiny rows (subnormal f16 scales),
 *    x with zero blocks, zeros and huge values; skipped (exit 77) without AVX2.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tb_test.h"
#include "kernel.h"
#include "qhead-simd.h"
#include "qhead.h"

static const uint32_t MARK = 0x7fc0deadu; /* a NaN the code under test never writes */
static const double U = 0x1p-24;          /* float unit roundoff */

static uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static float u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static bool same(float a, float b) { return f2u(a) == f2u(b) || (isnan(a) && isnan(b)); }

static const int TYPES[3] = {TB_F16, TB_BF16, TB_F32};
static const char *TNAME[3] = {"F16", "BF16", "F32"};

static uint16_t to_type16(int type, float v) { return type == TB_F16 ? tb_f32_to_f16(v) : tb_f32_to_bf16(v); }

/* An embedding (V, H) of `type`, N(0,1) * 0.05 (2B4T-like), with special rows (V >= 8):
 * 0 all zero; 1 one huge value (30000, representable in every type); 2 tiny values
 * (|e| ~ 1e-6: Q4BLK's f16 scales subnormal); 3 values of both signs at the block maximum;
 * 4 (only when extreme) one value 1e30 for BF16/F32 (Q4BLK: f16 scale inf). */
static void *make_embd(tb_rng *r, int type, int V, int H, bool extreme) {
    const size_t n = (size_t)V * H, es = type == TB_F32 ? 4 : 2;
    void *e = malloc(n * es);
    for (int v = 0; v < V; v++)
        for (int i = 0; i < H; i++) {
            float x = (float)(0.05 * tb_rng_normal(r));
            if (v == 0) x = 0.0f;
            if (v == 1) x = i == H / 3 ? (i & 1 ? -30000.0f : 30000.0f) : x;
            if (v == 2) x *= 2e-5f;
            if (v == 3) x = (i % 5 == 0) ? (i & 2 ? 0.25f : -0.25f) : x;
            if (v == 4 && extreme && type != TB_F16 && i == H / 2) x = 1e30f;
            const size_t k = (size_t)v * H + i;
            if (type == TB_F32)
                ((float *)e)[k] = x;
            else
                ((uint16_t *)e)[k] = to_type16(type, x);
        }
    return e;
}

static float embd_at(int type, const void *e, size_t i) {
    if (type == TB_F16) return tb_f16_to_f32(((const uint16_t *)e)[i]);
    if (type == TB_BF16) return tb_bf16_to_f32(((const uint16_t *)e)[i]);
    return ((const float *)e)[i];
}

static tb_model fake_model(int type, const void *embd, int V, int H) {
    tb_model m;
    memset(&m, 0, sizeof m);
    m.cfg.vocab = V;
    m.cfg.hidden = H;
    m.embd_type = (tb_ftype)type;
    m.embd = embd;
    return m;
}

/* x (n, H): N(0,1) (model-like: the output-normed state), or with extremes: a block of
 * zeros, scattered zeros, huge values (1e30, 3e38) and tiny ones. */
static float *make_x(tb_rng *r, int n, int H, bool extreme) {
    float *x = malloc(sizeof(float) * (size_t)n * H);
    for (int t = 0; t < n; t++)
        for (int i = 0; i < H; i++) {
            float v = (float)tb_rng_normal(r);
            if (extreme) {
                const uint32_t k = tb_rng_below(r, 16);
                if (i >= 32 && i < 64) v = 0.0f;               /* a whole zero block (H > 32) */
                else if (k == 0) v = 0.0f;
                else if (k == 1 && t == 1) v = (i & 1) ? 1e30f : -3e38f;
                else if (k == 2) v *= 1e-30f;
            }
            x[(size_t)t * H + i] = v;
        }
    return x;
}

/* ---- formats, sizes, errors ------------------------------------------------- */

TB_TEST(formats_and_bytes) {
    TB_CHECK(strcmp(tb_head_fmt_name(TB_HEAD_EXACT), "exact") == 0);
    TB_CHECK(strcmp(tb_head_fmt_name(TB_HEAD_Q8ROW), "q8row") == 0);
    TB_CHECK(strcmp(tb_head_fmt_name(TB_HEAD_Q4BLK), "q4blk") == 0);
    tb_rng r;
    tb_rng_seed(&r, 0xb17e5ull);
    const int Hs[] = {1, 31, 32, 33, 100, 2560};
    for (size_t hi = 0; hi < sizeof Hs / sizeof Hs[0]; hi++) {
        const int H = Hs[hi], V = 11, nb = (H + 31) / 32;
        void *embd = make_embd(&r, TB_F16, V, H, false);
        tb_model m = fake_model(TB_F16, embd, V, H);
        tb_qhead *h8 = NULL, *h4 = NULL;
        tb_err e = {{0}};
        TB_CHECK_MSG(tb_qhead_new(&m, TB_HEAD_Q8ROW, &h8, &e) == 0, "%s", e.msg);
        TB_CHECK_MSG(tb_qhead_new(&m, TB_HEAD_Q4BLK, &h4, &e) == 0, "%s", e.msg);
        if (h8 && h4) {
            TB_CHECK_EQ_INT(h8->blocks, nb);
            TB_CHECK_EQ_INT(h4->blocks, nb);
            TB_CHECK_EQ_INT(h8->row_bytes, 32 * nb);
            TB_CHECK_EQ_INT(h4->row_bytes, 16 * nb);
            TB_CHECK(h8->bytes == (double)V * (32 * nb + 4));
            TB_CHECK(h4->bytes == (double)V * nb * 18);
            TB_CHECK(h8->row_scale && !h8->blk_scale && h4->blk_scale && !h4->row_scale);
            TB_CHECK(((uintptr_t)h8->w & 63) == 0 && ((uintptr_t)h4->w & 63) == 0);
        }
        tb_qhead_free(h8);
        tb_qhead_free(h4);
        free(embd);
    }
    /* 2B4T: 128256 x 2560 -> Q8ROW 1.125 + 4/2560 bytes per weight, Q4BLK 0.5625 */
    printf("2B4T head bytes per token: Q8ROW %.1f MB, Q4BLK %.1f MB (exact F16 %.1f MB)\n",
           128256.0 * (2560 + 4) / 1e6, 128256.0 * 80 * 18 / 1e6, 128256.0 * 2560 * 2 / 1e6);
    /* errors */
    float f[4] = {1, 2, 3, 4};
    tb_model bad = fake_model(7, f, 1, 4);
    tb_qhead *h = (tb_qhead *)&r;
    tb_err e = {{0}};
    TB_CHECK(tb_qhead_new(&bad, TB_HEAD_Q8ROW, &h, &e) < 0);
    TB_CHECK(h == NULL);
    TB_CHECK_MSG(strstr(e.msg, "embedding type") != NULL, "message: %s", e.msg);
    tb_model good = fake_model(TB_F32, f, 1, 4);
    e.msg[0] = '\0';
    TB_CHECK(tb_qhead_new(&good, TB_HEAD_EXACT, &h, &e) < 0);
    TB_CHECK_MSG(strstr(e.msg, "format") != NULL, "message: %s", e.msg);
    tb_qhead_free(NULL);
    /* the dispatcher */
    TB_CHECK(tb_qhead_rows_best(0) == NULL);
#if defined(__x86_64__) || defined(__i386__)
    TB_CHECK(tb_qhead_rows_best(TB_ISA_AVX2) == tb_qhead_rows_avx2);
#endif
}

/* ---- quantization, independently -------------------------------------------- */

/* qhead.h's x quantization written out here: q (32*nb), dx (nb). */
static void spec_quantize_x(const float *x, int H, int8_t *q, float *dx) {
    const int nb = (H + 31) / 32;
    memset(q, 0, (size_t)nb * 32);
    for (int b = 0; b < nb; b++) {
        float amax = 0.0f;
        for (int i = 32 * b; i < H && i < 32 * b + 32; i++) amax = fmaxf(amax, fabsf(x[i]));
        dx[b] = amax / 127.0f;
        if (amax == 0.0f) continue;
        const float inv = 127.0f / amax;
        for (int i = 32 * b; i < H && i < 32 * b + 32; i++) {
            const float p = x[i] * inv, k = rintf(p);
            q[i] = isnan(k) ? 0 : k > 127.0f ? 127 : k < -127.0f ? -127 : (int8_t)k;
        }
    }
}

/* w_i of row v (decoded here from the stored bytes), and its block scale */
static int wt(const tb_qhead *h, int v, int i) {
    const uint8_t *w = h->w + (size_t)v * h->row_bytes;
    if (h->fmt == TB_HEAD_Q8ROW) return (int8_t)w[i];
    const uint8_t byte = w[(i / 32) * 16 + (i % 32) % 16];
    return ((i % 32) < 16 ? (byte & 0x0f) : (byte >> 4)) - 8;
}
static float wscale(const tb_qhead *h, int v, int b) {
    return h->fmt == TB_HEAD_Q8ROW ? h->row_scale[v] : tb_f16_to_f32(h->blk_scale[(size_t)v * h->blocks + b]);
}

/* Round trip (qhead.h's rules, u = 2^-24, no clamping reached as argued):
 *  Q8ROW: w = rint(e * inv), inv = fl(127 / amax) = (127 / amax)(1 + d1), the product
 *    rounded (1 + d2), dw = fl(amax / 127) = (amax / 127)(1 + d3), |d| <= u.  With
 *    |w - e*inv(1+d2)| <= 1/2:  |e - dw*w| <= dw/2 + (amax/127) * 127 * 4u = dw/2 + 4u*amax
 *    (to first order; we allow 8u*amax).
 *  Q4BLK: df = f16(amax / 7); when amax / 7 is a normal f16 (>= 2^-14) df is within
 *    2^-11 relative of amax / 7, so |e / df| <= 7 * (1 + 2^-10) < 7.5: never clamped,
 *    w = rint(fl(e / df)) and |e - df*w| <= df/2 + 7.01 u df (we allow 8u*df).  Where
 *    df is a subnormal f16 (absolute rounding error <= 2^-25) the ratio can pass 7.5 and
 *    clamp to 7 / -8: then |e - df*w| <= |e| - 7 df (checked as such); df == 0 (amax / 7
 *    below 2^-25) gives w = 0 and error |e|.  Also: the stored scales are exactly these,
 *    nibbles are 0..15 (w in [-8, 7]), and padding is w = 0. */
TB_TEST(round_trip) {
    tb_rng r;
    tb_rng_seed(&r, 0x7e57ull);
    const int Hs[] = {1, 32, 33, 100, 256, 2560};
    double worst[2] = {0, 0}; /* max |e - deq| / step over the normal-scale cases */
    long checked = 0;
    for (size_t hi = 0; hi < sizeof Hs / sizeof Hs[0]; hi++)
        for (int ti = 0; ti < 3; ti++) {
            const int H = Hs[hi], V = 9, ty = TYPES[ti];
            void *embd = make_embd(&r, ty, V, H, false);
            tb_model m = fake_model(ty, embd, V, H);
            for (int f = 0; f < 2; f++) {
                const tb_head_fmt fmt = f ? TB_HEAD_Q4BLK : TB_HEAD_Q8ROW;
                tb_qhead *h = NULL;
                tb_err e = {{0}};
                TB_CHECK_MSG(tb_qhead_new(&m, fmt, &h, &e) == 0, "%s", e.msg);
                if (!h) continue;
                const int nb = h->blocks;
                for (int v = 0; v < V; v++) {
                    float ramax = 0.0f;
                    for (int i = 0; i < H; i++) ramax = fmaxf(ramax, fabsf(embd_at(ty, embd, (size_t)v * H + i)));
                    if (fmt == TB_HEAD_Q8ROW) TB_CHECK(f2u(h->row_scale[v]) == f2u(ramax / 127.0f));
                    for (int b = 0; b < nb; b++) {
                        float bamax = 0.0f;
                        for (int i = 32 * b; i < H && i < 32 * b + 32; i++)
                            bamax = fmaxf(bamax, fabsf(embd_at(ty, embd, (size_t)v * H + i)));
                        if (fmt == TB_HEAD_Q4BLK)
                            TB_CHECK(h->blk_scale[(size_t)v * nb + b] == tb_f32_to_f16(bamax / 7.0f));
                        const double step = wscale(h, v, b), amax = fmt == TB_HEAD_Q8ROW ? ramax : bamax;
                        for (int i = 32 * b; i < 32 * b + 32; i++) {
                            const int w = wt(h, v, i);
                            if (i >= H) {
                                TB_CHECK_MSG(w == 0, "padding weight %d of row %d is %d", i, v, w);
                                continue;
                            }
                            TB_CHECK(fmt == TB_HEAD_Q8ROW ? (w >= -127 && w <= 127) : (w >= -8 && w <= 7));
                            const double ei = embd_at(ty, embd, (size_t)v * H + i), err = fabs(ei - step * w);
                            double bound;
                            if (fmt == TB_HEAD_Q8ROW)
                                bound = step / 2 + 8 * U * amax;
                            else if (step >= 0x1p-14)
                                bound = step / 2 + 8 * U * step;
                            else if (step == 0)
                                bound = fabs(ei);
                            else
                                bound = fmax(step / 2 + 8 * U * step, fabs(ei) - 7 * step + 8 * U * fabs(ei));
                            TB_CHECK_MSG(err <= bound, "%s %s H %d row %d i %d: e %.9g deq %.9g (step %.6g, bound %.6g)",
                                         tb_head_fmt_name(fmt), TNAME[ti], H, v, i, ei, step * w, step, bound);
                            if (step > 0 && (fmt == TB_HEAD_Q8ROW || step >= 0x1p-14) && err / step > worst[f])
                                worst[f] = err / step;
                            checked++;
                        }
                    }
                }
                tb_qhead_free(h);
            }
            free(embd);
        }
    printf("round trip: %ld weights; worst |e - deq| / step: Q8ROW %.6f, Q4BLK %.6f\n", checked, worst[0],
           worst[1]);
    TB_CHECK(worst[0] <= 0.5 + 1e-5 && worst[1] <= 0.5 + 1e-5);
    /* the x quantization is qhead.h's, bit for bit (values incl. zeros, huge, tiny) */
    for (size_t hi = 0; hi < sizeof Hs / sizeof Hs[0]; hi++) {
        const int H = Hs[hi], nb = (H + 31) / 32;
        tb_qhead hh = {0}; /* the x quantization reads only hidden and blocks */
        hh.hidden = H, hh.blocks = nb, hh.fmt = TB_HEAD_Q8ROW;
        float *x = make_x(&r, 3, H, true), *dx = malloc(sizeof(float) * nb), *dx2 = malloc(sizeof(float) * nb);
        int8_t *q = malloc((size_t)nb * 32), *q2 = malloc((size_t)nb * 32);
        for (int t = 0; t < 3; t++) {
            memset(q, 0x55, (size_t)nb * 32);
            tb_qhead_quantize_x(&hh, x + (size_t)t * H, q, dx);
            spec_quantize_x(x + (size_t)t * H, H, q2, dx2);
            TB_CHECK_MSG(memcmp(q, q2, (size_t)nb * 32) == 0, "H %d input %d: q differs", H, t);
            for (int b = 0; b < nb; b++) TB_CHECK(f2u(dx[b]) == f2u(dx2[b]));
        }
        free(x), free(dx), free(dx2), free(q), free(q2);
    }
}

/* ---- the definition ---------------------------------------------------------- */

/* qhead.h's dot product written out here, in float: lanes m = 0..7 over blocks in order,
 * l[m] = l[m] + (float)isum * s_b with s_b = fl(dw_b * dx_b); t4[j] = l[j] + l[j+4];
 * t2[j] = t4[j] + t4[j+2]; t2[0] + t2[1]. */
static float spec_dot(const tb_qhead *h, int v, const int8_t *q, const float *dx, bool fused) {
    float l[8] = {0}, t4[4], t2[2];
    for (int b = 0; b < h->blocks; b++) {
        const float s = wscale(h, v, b) * dx[b];
        for (int m = 0; m < 8; m++) {
            int isum = 0;
            for (int k = 0; k < 4; k++) isum += wt(h, v, 32 * b + 4 * m + k) * q[32 * b + 4 * m + k];
            if (fused)
                l[m] = fmaf((float)isum, s, l[m]);
            else {
                const float p = (float)isum * s;
                l[m] = l[m] + p;
            }
        }
    }
    for (int j = 0; j < 4; j++) t4[j] = l[j] + l[j + 4];
    for (int j = 0; j < 2; j++) t2[j] = t4[j] + t4[j + 2];
    return t2[0] + t2[1];
}

/* Against the exact sum: each term isum * dw_b * dx_b is computed as fl(isum * fl(dw_b * dx_b))
 * (2 roundings: (1 + d)^2), then added in its lane (at most nb adds: hidden/32 per lane,
 * hidden/32 * 8 terms in all) and through the 3 tree levels, so each term is multiplied
 * by at most nb + 5 factors (1 + d), |d| <= u = 2^-24:
 *   |logit - sum_i deq(w_i) deq(q_i)| <= gamma(nb + 5) * sum_i |deq(w_i) deq(q_i)|,
 *   gamma(k) = k u / (1 - k u),
 * plus (8 nb + 8) * 2^-149 if partial results fall in the subnormal range.  (Relative to
 * |logit| itself the error is unbounded under cancellation; the bound is relative to the
 * sum of magnitudes.) */
TB_TEST(ref_definition) {
    tb_rng r;
    tb_rng_seed(&r, 0xdef1ull);
    const int Hs[] = {1, 32, 33, 100, 256, 2560};
    long checked = 0;
    int fused_differs = 0;
    double worst = 0; /* max |err| / bound */
    for (size_t hi = 0; hi < sizeof Hs / sizeof Hs[0]; hi++)
        for (int ti = 0; ti < 3; ti++)
            for (int f = 0; f < 2; f++) {
                const int H = Hs[hi], V = 9, n = 3, ty = TYPES[ti], nb = (H + 31) / 32;
                const tb_head_fmt fmt = f ? TB_HEAD_Q4BLK : TB_HEAD_Q8ROW;
                void *embd = make_embd(&r, ty, V, H, false);
                tb_model m = fake_model(ty, embd, V, H);
                tb_qhead *h = NULL;
                tb_err e = {{0}};
                TB_CHECK_MSG(tb_qhead_new(&m, fmt, &h, &e) == 0, "%s", e.msg);
                float *x = make_x(&r, n, H, false), *out = malloc(sizeof(float) * (size_t)n * V);
                int8_t *q = malloc((size_t)nb * 32);
                float *dx = malloc(sizeof(float) * nb);
                if (h) TB_CHECK_EQ_INT(tb_qhead_rows_ref(h, 0, V, x, n, out, (size_t)V), 0);
                for (int t = 0; h && t < n; t++) {
                    spec_quantize_x(x + (size_t)t * H, H, q, dx);
                    for (int v = 0; v < V; v++) {
                        const float got = out[(size_t)t * V + v], want = spec_dot(h, v, q, dx, false);
                        TB_CHECK_MSG(f2u(got) == f2u(want), "%s %s H %d row %d input %d: %.9g vs spec %.9g",
                                     tb_head_fmt_name(fmt), TNAME[ti], H, v, t, (double)got, (double)want);
                        fused_differs += f2u(got) != f2u(spec_dot(h, v, q, dx, true));
                        double exact = 0, mag = 0;
                        for (int i = 0; i < H; i++) {
                            const double p = (double)wt(h, v, i) * wscale(h, v, i / 32) * ((double)q[i] * dx[i / 32]);
                            exact += p;
                            mag += fabs(p);
                        }
                        const double k = nb + 5, bound = k * U / (1 - k * U) * mag + (8.0 * nb + 8) * 0x1p-149;
                        const double err = fabs((double)got - exact);
                        TB_CHECK_MSG(err <= bound, "%s %s H %d row %d: %.9g vs exact %.9g (bound %.3g)",
                                     tb_head_fmt_name(fmt), TNAME[ti], H, v, (double)got, exact, bound);
                        if (bound > 0 && err / bound > worst) worst = err / bound;
                        checked++;
                    }
                }
                free(x), free(out), free(q), free(dx), free(embd);
                tb_qhead_free(h);
            }
    printf("definition: %ld logits = the spec transcription; worst error / bound vs exact %.3f; "
           "%d logits differ with fused multiply-adds\n",
           checked, worst, fused_differs);
    TB_CHECK(fused_differs > 0); /* the bit comparison sees a fused multiply-add */
}

/* ---- AVX2 against the definition, bit for bit ------------------------------- */

static int compare_once(const tb_qhead *h, int v0, int v1, const float *x, int n, size_t ldo, const char *what) {
    const size_t cells = (size_t)n * ldo;
    float *a = malloc(cells * sizeof(float)), *b = malloc(cells * sizeof(float));
    for (size_t i = 0; i < cells; i++) a[i] = b[i] = u2f(MARK);
    TB_CHECK_EQ_INT(tb_qhead_rows_ref(h, v0, v1, x, n, a + v0, ldo), 0);
    TB_CHECK_EQ_INT(tb_qhead_rows_avx2(h, v0, v1, x, n, b + v0, ldo), 0);
    int bad = 0;
    for (int t = 0; t < n; t++)
        for (size_t c = 0; c < ldo; c++) {
            const size_t i = (size_t)t * ldo + c;
            const bool inside = (int)c >= v0 && (int)c < v1;
            if (!same(a[i], b[i]) || (inside ? f2u(b[i]) == MARK : f2u(b[i]) != MARK)) {
                if (bad < 3)
                    fprintf(stderr, "%s: input %d row %zu (range %d..%d): ref %.9g (%08x) avx2 %.9g (%08x)\n", what, t,
                            c, v0, v1, (double)a[i], f2u(a[i]), (double)b[i], f2u(b[i]));
                bad++;
            }
        }
    free(a);
    free(b);
    return bad;
}

TB_TEST(avx2_bit_identical) {
    if (!(tb_cpu_features() & TB_ISA_AVX2)) TB_SKIP("this CPU has no AVX2 + F16C");
    tb_rng r;
    tb_rng_seed(&r, 0xa5a2ull);
    const int Hs[] = {1, 32, 33, 100, 256, 2560};
    const int ranges[][2] = {{0, 23}, {5, 16}, {3, 4}, {1, 22}, {7, 14}};
    int cases = 0, nan_cells = 0;
    for (size_t hi = 0; hi < sizeof Hs / sizeof Hs[0]; hi++)
        for (int ti = 0; ti < 3; ti++)
            for (int ext = 0; ext < 2; ext++) {
                const int H = Hs[hi], V = 23, ty = TYPES[ti];
                void *embd = make_embd(&r, ty, V, H, ext);
                tb_model m = fake_model(ty, embd, V, H);
                float *x = make_x(&r, 5, H, ext); /* (5, H) */
                for (int f = 0; f < 2; f++) {
                    const tb_head_fmt fmt = f ? TB_HEAD_Q4BLK : TB_HEAD_Q8ROW;
                    tb_qhead *h = NULL;
                    tb_err e = {{0}};
                    TB_CHECK_MSG(tb_qhead_new(&m, fmt, &h, &e) == 0, "%s", e.msg);
                    if (!h) continue;
                    const int ns[] = {1, 2, 3, 5};
                    for (size_t ni = 0; ni < 4; ni++)
                        for (size_t ri = 0; ri < sizeof ranges / sizeof ranges[0]; ri++) {
                            const int n = ns[ni], v0 = ranges[ri][0], v1 = ranges[ri][1];
                            const size_t ldo = ri ? (size_t)V + 3 : (size_t)V;
                            char what[128];
                            snprintf(what, sizeof what, "%s %s H %d n %d %s rows %d..%d", tb_head_fmt_name(fmt),
                                     TNAME[ti], H, n, ext ? "extreme" : "normal", v0, v1);
                            const int bad = compare_once(h, v0, v1, x, n, ldo, what);
                            TB_CHECK_MSG(bad == 0, "%s: %d cells differ", what, bad);
                            cases += bad == 0;
                        }
                    /* how many logits are NaN (only the extreme cases: f16 scale inf, 0 * inf) */
                    float *o = malloc(sizeof(float) * 5 * V);
                    tb_qhead_rows_avx2(h, 0, V, x, 5, o, (size_t)V);
                    for (int i = 0; i < 5 * V; i++) nan_cells += isnan(o[i]);
                    free(o);
                    tb_qhead_free(h);
                }
                free(x);
                free(embd);
            }
    printf("avx2 qhead: %d cases bit-identical to tb_qhead_rows_ref (%d NaN logits among the extreme ones)\n", cases,
           nan_cells);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
