/* test_lmhead.c: the LM head order and its SIMD version (tb_backend.lm_rows).
 *
 *  - tb_ref_lm_rows follows the documented order (32 float lanes, product rounded then
 *    added, tree +16 +8 +4 +2 +1),
 *    checked against an independent transcription of that order, and is accurate
 *    (within the bound of float-rounded products against the exact sum);
 *  - tb_lm_rows_avx2 equals tb_ref_lm_rows bit for bit for F16, BF16 and F32
 *    embeddings, hidden sizes with and without a tail (1..2560, e.g. 100, 129),
 *    n = 1..5 input rows, sub-ranges of rows and a padded output stride (cells
 *    outside the range stay untouched), on values of wide dynamic range (subnormal
 *    embeddings, products that underflow) and on model-like normal values;
 *  - through tb_forward: a backend with the hook gives the same logits as the NULL
 *    (reference) backend, TB_LM_UNHANDLED falls back to plain C, and a failing hook
 *    is a clear error.
 * The AVX2 parts skip (exit 77 when nothing else ran) on a CPU without AVX2.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../reference/tiny_model.h"
#include "../tb_test.h"
#include "bitlinear.h"
#include "forward.h"
#include "kernel.h"
#include "lmhead.h"

static const uint32_t MARK = 0x7fc0deadu; /* a NaN the code under test never writes */

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

/* A float with a random sign, mantissa and binary exponent in [-emax, emax]. */
static float wide_f32(tb_rng *r, int emax) {
    const uint32_t exp = (uint32_t)(127 - emax + (int)tb_rng_below(r, (uint32_t)(2 * emax + 1)));
    return u2f((uint32_t)(tb_rng_next(r) & 1) << 31 | exp << 23 | (uint32_t)(tb_rng_next(r) & 0x7fffffu));
}

/* An embedding (V, H) of type `type` in a malloc'd buffer.  wide: random bit patterns
 * (F16: every finite value incl. subnormals; BF16/F32: exponents within 2^+-60, some
 * zeros and subnormals), else N(0, 1) rounded to the type (cancellation-heavy dots). */
static void *make_embd(tb_rng *r, int type, int V, int H, bool wide) {
    const size_t n = (size_t)V * H;
    if (type == TB_F32) {
        float *e = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) {
            const uint32_t k = tb_rng_below(r, 20);
            e[i] = !wide ? (float)tb_rng_normal(r)
                   : k == 0 ? 0.0f
                   : k == 1 ? u2f((uint32_t)(tb_rng_next(r) & 0x807fffffu)) /* subnormal */
                            : wide_f32(r, 60);
        }
        return e;
    }
    uint16_t *e = malloc(n * sizeof(uint16_t));
    for (size_t i = 0; i < n; i++) {
        if (!wide) {
            const float v = (float)tb_rng_normal(r);
            e[i] = type == TB_F16 ? tb_f32_to_f16(v) : tb_f32_to_bf16(v);
        } else if (type == TB_F16) {
            uint16_t h;
            do h = (uint16_t)tb_rng_next(r);
            while (((h >> 10) & 0x1f) == 0x1f); /* finite only */
            e[i] = h;
        } else {
            const uint32_t k = tb_rng_below(r, 20);
            e[i] = k == 0 ? 0 : k == 1 ? (uint16_t)(tb_rng_next(r) & 0x807fu) : (uint16_t)(f2u(wide_f32(r, 60)) >> 16);
        }
    }
    return e;
}

/* Value sets: N(0,1); wide dynamic range; N(0,1) plus exactly cancelling huge pairs. */
enum { VAL_NORMAL, VAL_WIDE, VAL_CANCEL, VAL_COUNT };
static const char *val_name[VAL_COUNT] = {"normal", "wide", "cancel"};

/* x (n, H) for value set `vals`.  VAL_CANCEL: about H/12 random pairs (i, j) get x = +B at
 * i and -B at j in every row (B = 2^70) and the embedding element j a copy of element i
 * in every row, so each pair's products cancel exactly and the logit is the sum of the
 * small products that were not absorbed next to a huge partial sum: which ones are
 * depends on the summation order, so these logits expose any change of order. */
static float *make_x(tb_rng *r, int vals, int type, void *embd, int V, int H, int n) {
    float *x = malloc(sizeof(float) * (size_t)n * H); /* (n, H) */
    for (int i = 0; i < n * H; i++) x[i] = vals == VAL_WIDE ? wide_f32(r, 50) : (float)tb_rng_normal(r);
    if (vals == VAL_WIDE && H > 3) x[3] = 0.0f, x[1] = -x[1];
    if (vals != VAL_CANCEL || H < 2) return x;
    const size_t es = type == TB_F32 ? 4 : 2;
    for (int p = 0; p < H / 12 + 1; p++) {
        const int i = (int)tb_rng_below(r, (uint32_t)H), j = (int)tb_rng_below(r, (uint32_t)H);
        if (i == j) continue;
        for (int t = 0; t < n; t++) {
            x[(size_t)t * H + i] = 0x1p70f;
            x[(size_t)t * H + j] = -0x1p70f;
        }
        for (int v = 0; v < V; v++)
            memcpy((char *)embd + ((size_t)v * H + j) * es, (char *)embd + ((size_t)v * H + i) * es, es);
    }
    return x;
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

/* ---- the reference order --------------------------------------------------- */

/* The order of forward.h written out independently: lane j adds, in index order, the
 * float products of i = j, j+32, j+64, ... from 0; then t16 = l[j] + l[j+16],
 * t8 = t16[j] + t16[j+8], t4 = t8[j] + t8[j+4], t2 = t4[j] + t4[j+2], t2[0] + t2[1],
 * all in float. */
static float spec_dot(const float *e, const float *x, int H) {
    float l[32], t16[16], t8[8], t4[4], t2[2];
    for (int j = 0; j < 32; j++) {
        l[j] = 0.0f;
        for (int i = j; i < H; i += 32) {
            const float p = e[i] * x[i];
            l[j] = l[j] + p;
        }
    }
    for (int j = 0; j < 16; j++) t16[j] = l[j] + l[j + 16];
    for (int j = 0; j < 8; j++) t8[j] = t16[j] + t16[j + 8];
    for (int j = 0; j < 4; j++) t4[j] = t8[j] + t8[j + 4];
    for (int j = 0; j < 2; j++) t2[j] = t4[j] + t4[j + 2];
    return t2[0] + t2[1];
}

/* The previous order (4 lanes, (l0+l1)+(l2+l3)), only to show that bit comparisons
 * here do see a change of order. */
static float four_lane_dot(const float *e, const float *x, int H) {
    double l[4] = {0};
    for (int i = 0; i < H; i++) l[i & 3] += (double)(e[i] * x[i]);
    return (float)((l[0] + l[1]) + (l[2] + l[3]));
}

/* The same lanes and tree with fused multiply-adds: only to show that bit comparisons
 * here see whether the multiply-add is fused. */
static float fused_dot(const float *e, const float *x, int H) {
    float l[32] = {0};
    for (int i = 0; i < H; i++) l[i & 31] = fmaf(e[i], x[i], l[i & 31]);
    for (int w = 16; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) l[j] += l[j + w];
    return l[0];
}

TB_TEST(ref_order_and_accuracy) {
    tb_rng r;
    tb_rng_seed(&r, 0x1a4dull);
    const int Hs[] = {1, 15, 16, 17, 31, 32, 33, 100, 129, 2560};
    int order_differs = 0, fused_differs = 0, checked = 0;
    for (size_t hi = 0; hi < sizeof Hs / sizeof Hs[0]; hi++) {
        const int H = Hs[hi], V = 9, n = 2;
        for (int type = 0; type < 3 * VAL_COUNT; type++) {
            const int ty = type % 3 == 0 ? TB_F16 : type % 3 == 1 ? TB_BF16 : TB_F32, vals = type / 3;
            void *embd = make_embd(&r, ty, V, H, vals == VAL_WIDE);
            tb_model m = fake_model(ty, embd, V, H);
            float *x = make_x(&r, vals, ty, embd, V, H, n), *e = malloc(sizeof(float) * (size_t)H);
            float *out = malloc(sizeof(float) * (size_t)n * V);
            TB_CHECK_EQ_INT(tb_ref_lm_rows(&m, 0, V, x, n, out, (size_t)V), 0);
            for (int v = 0; v < V; v++) {
                for (int i = 0; i < H; i++) e[i] = embd_at(ty, embd, (size_t)v * H + i);
                for (int t = 0; t < n; t++) {
                    const float *xt = x + (size_t)t * H, got = out[(size_t)t * V + v];
                    TB_CHECK_MSG(f2u(got) == f2u(spec_dot(e, xt, H)), "type %d H %d row %d input %d: %.9g vs %.9g",
                                 ty, H, v, t, (double)got, (double)spec_dot(e, xt, H));
                    if (vals == VAL_CANCEL && f2u(got) != f2u(four_lane_dot(e, xt, H))) order_differs++;
                    if (f2u(got) != f2u(fused_dot(e, xt, H))) fused_differs++;
                    /* float accumulation: each product rounds by 2^-24 relative, each lane makes
                     * ceil(H/32) adds and the tree 5, each rounding by at most 2^-24 of a partial
                     * sum bounded by sum|p|, or by 2^-150 absolute where it is subnormal. */
                    double exact = 0, mag = 0;
                    for (int i = 0; i < H; i++) {
                        exact += (double)e[i] * (double)xt[i];
                        mag += fabs((double)e[i] * (double)xt[i]);
                    }
                    const double bound = mag * ((H + 31) / 32 + 6) * 0x1p-24 + (2 * H + 32) * 0x1p-149;
                    TB_CHECK_MSG(fabs((double)got - exact) <= bound, "type %d H %d: %.9g vs exact %.9g (bound %.3g)", ty,
                                 H, (double)got, exact, bound);
                    checked++;
                }
            }
            free(x);
            free(e);
            free(out);
            free(embd);
        }
    }
    /* The cancelling pairs must expose a change of order in some logits, and fusing the
     * multiply-add must change some logit. */
    printf("reference order: %d logits checked; %d of the 'cancel' ones differ from the old 4-lane order, "
           "%d logits differ from fused multiply-adds\n",
           checked, order_differs, fused_differs);
    TB_CHECK(order_differs > 0);
    TB_CHECK(fused_differs > 0);
}

/* ---- AVX2 against the reference, bit for bit ------------------------------ */

static bool have_avx2(void) { return (tb_cpu_features() & TB_ISA_AVX2) != 0; }

/* Runs both over rows [v0, v1) into (n, ldo) buffers filled with MARK; returns the
 * number of mismatching cells (bits), including cells outside the range. */
static int compare_once(const tb_model *m, int v0, int v1, const float *x, int n, size_t ldo, const char *what) {
    const size_t cells = (size_t)n * ldo;
    float *a = malloc(cells * sizeof(float)), *b = malloc(cells * sizeof(float));
    for (size_t i = 0; i < cells; i++) a[i] = b[i] = u2f(MARK);
    const int ra = tb_ref_lm_rows(m, v0, v1, x, n, a + v0, ldo);
    const int rb = tb_lm_rows_avx2(NULL, m, v0, v1, x, n, b + v0, ldo);
    TB_CHECK_EQ_INT(ra, 0);
    TB_CHECK_EQ_INT(rb, 0);
    int bad = 0;
    for (int t = 0; t < n; t++)
        for (size_t c = 0; c < ldo; c++) {
            const size_t i = (size_t)t * ldo + c;
            const bool inside = (int)c >= v0 && (int)c < v1;
            if (f2u(a[i]) != f2u(b[i]) || (inside ? f2u(b[i]) == MARK : f2u(b[i]) != MARK)) {
                if (bad < 3)
                    fprintf(stderr, "%s: input row %d vocab row %zu (range %d..%d): ref %.9g (%08x) avx2 %.9g (%08x)\n",
                            what, t, c, v0, v1, (double)a[i], f2u(a[i]), (double)b[i], f2u(b[i]));
                bad++;
            }
        }
    free(a);
    free(b);
    return bad;
}

TB_TEST(avx2_bit_identical) {
    if (!have_avx2()) TB_SKIP("this CPU has no AVX2 + F16C");
    tb_rng r;
    tb_rng_seed(&r, 0x5eedull);
    const int Hs[] = {1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 100, 129, 256, 2560};
    const int types[] = {TB_F16, TB_BF16, TB_F32};
    const char *tname[] = {"F16", "BF16", "F32"};
    int cases = 0;
    for (size_t hi = 0; hi < sizeof Hs / sizeof Hs[0]; hi++)
        for (int ti = 0; ti < 3; ti++)
            for (int vals = 0; vals < VAL_COUNT; vals++) {
                const int H = Hs[hi], V = 23, ty = types[ti];
                void *embd = make_embd(&r, ty, V, H, vals == VAL_WIDE);
                tb_model m = fake_model(ty, embd, V, H);
                float *x = make_x(&r, vals, ty, embd, V, H, 5); /* (5, H) */
                for (int n = 1; n <= 5; n++) {
                    char what[96];
                    snprintf(what, sizeof what, "%s H %d n %d %s", tname[ti], H, n, val_name[vals]);
                    /* all rows, exact stride; then a sub-range with a padded stride */
                    TB_CHECK_MSG(compare_once(&m, 0, V, x, n, (size_t)V, what) == 0, "%s (all rows)", what);
                    TB_CHECK_MSG(compare_once(&m, 5, 16, x, n, (size_t)V + 3, what) == 0, "%s (rows 5..16)", what);
                    cases += 2;
                }
                free(x);
                free(embd);
            }
    printf("avx2 lm_rows: %d cases bit-identical to tb_ref_lm_rows\n", cases);
}

TB_TEST(avx2_unhandled_type) {
    if (!have_avx2()) TB_SKIP("this CPU has no AVX2 + F16C");
    float e[4] = {1, 2, 3, 4}, x[4] = {1, 1, 1, 1}, out[1] = {0};
    tb_model m = fake_model(7 /* not an embedding type */, e, 1, 4);
    TB_CHECK_EQ_INT(tb_lm_rows_avx2(NULL, &m, 0, 1, x, 1, out, 1), TB_LM_UNHANDLED);
    TB_CHECK(out[0] == 0.0f);
}

/* ---- through tb_forward ---------------------------------------------------- */

typedef struct hook_ctx {
    int8_t *row;  /* scratch for tb_matmul_ref */
    const tb_model *m;
    int mode;     /* 0: AVX2 hook, 1: always TB_LM_UNHANDLED, 2: always -1 */
    int calls;
} hook_ctx;

static int hook_matmul(void *ctx, int layer, int which, const int8_t *q, int n_tok, int32_t *acc, tb_err *e) {
    (void)e;
    hook_ctx *h = ctx;
    tb_matmul_ref(&h->m->layer[layer].lin[which], q, n_tok, acc, h->row);
    return 0;
}

static int hook_lm_rows(void *ctx, const tb_model *m, int v0, int v1, const float *x, int n, float *out, size_t ldo) {
    hook_ctx *h = ctx;
    h->calls++; /* the fake thread pool below runs the parts one after another */
    if (h->mode == 1) return TB_LM_UNHANDLED;
    if (h->mode == 2) return -1;
    return tb_lm_rows_avx2(NULL, m, v0, v1, x, n, out, ldo);
}

/* three "threads", run in turn: exercises the split of vocabulary rows */
static void three_parts(void *ctx, void (*fn)(void *arg, int tid, int nth), void *arg) {
    (void)ctx;
    for (int t = 0; t < 3; t++) fn(arg, t, 3);
}

TB_TEST(forward_uses_hook_bit_identical) {
    if (!have_avx2()) TB_SKIP("this CPU has no AVX2 + F16C");
    /* hidden 20 = 5 heads x 4: a tail of 4 after one 16-block */
    tb_config c = tiny_config();
    c.hidden = 20;
    c.heads = 5;
    c.kv_heads = 1;
    c.vocab = 61;
    const int types[] = {TB_F16, TB_BF16, TB_F32};
    const int32_t toks[5] = {3, 17, 60, 0, 42};
    const int n = 5, V = c.vocab;
    for (int ti = 0; ti < 3; ti++) {
        tiny_model *t = tiny_model_new(&c, 11 + ti, (tb_ftype)types[ti], 1.0);
        tb_state *st = NULL;
        tb_err e = {{0}};
        TB_CHECK_MSG(tb_state_new(&t->m, 16, 8, &st, &e) == 0, "%s", e.msg);
        if (!st) {
            tiny_model_free(t);
            continue;
        }
        float *ref = malloc(sizeof(float) * (size_t)n * V), *got = malloc(sizeof(float) * (size_t)n * V);
        TB_CHECK_MSG(tb_forward(st, NULL, toks, n, 0, ref, true, &e) == 0, "%s", e.msg);
        hook_ctx h = {.row = malloc((size_t)c.ffn), .m = &t->m};
        tb_backend be = {.name = "hook", .ctx = &h, .matmul = hook_matmul, .parallel = three_parts,
                         .lm_rows = hook_lm_rows};
        for (int mode = 0; mode < 2; mode++) {
            h.mode = mode;
            h.calls = 0;
            memset(got, 0, sizeof(float) * (size_t)n * V);
            tb_state_reset(st);
            /* prefill of 5 rows with all logits (n = 5 path), then one decode step (n = 1 path) */
            TB_CHECK_MSG(tb_forward(st, &be, toks, n, 0, got, true, &e) == 0, "%s", e.msg);
            /* the parts run in turn, so thread 0 takes every grab: V/6 of what is left, down to the minimum */
            int grabs = 0;
            for (int v = 0, min = tb_lm_min_rows(V, 3); v < V; grabs++) v += (V - v) / 6 > min ? (V - v) / 6 : min;
            TB_CHECK_EQ_INT(h.calls, grabs);
            TB_CHECK(grabs > 3);
            TB_CHECK_MSG(memcmp(got, ref, sizeof(float) * (size_t)n * V) == 0, "type %d mode %d: prefill logits differ",
                         types[ti], mode);
            tb_state_reset(st);
            TB_CHECK_MSG(tb_forward(st, &be, toks, n - 1, 0, NULL, false, &e) == 0, "%s", e.msg);
            TB_CHECK_MSG(tb_forward(st, &be, toks + n - 1, 1, n - 1, got, false, &e) == 0, "%s", e.msg);
            TB_CHECK_MSG(memcmp(got, ref + (size_t)(n - 1) * V, sizeof(float) * (size_t)V) == 0,
                         "type %d mode %d: decode logits differ", types[ti], mode);
        }
        /* a failing hook is an error naming the LM head, not garbage logits */
        h.mode = 2;
        tb_state_reset(st);
        e.msg[0] = '\0';
        TB_CHECK(tb_forward(st, &be, toks, n, 0, got, true, &e) < 0);
        TB_CHECK_MSG(strstr(e.msg, "LM head") != NULL, "message: %s", e.msg);
        free(h.row);
        free(ref);
        free(got);
        tb_state_free(st);
        tiny_model_free(t);
    }
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
