/* test_numerics.c: the approximate numerics (docs/approximations.md) against their own
 * definitions, bit for bit, and the configuration registry's honesty.
 *
 *  - act4: tb_rowops_avx2.quantize4 == tb_quantize_act4 (codes and scale) on normal, wide,
 *    tie and zero rows; codes stay in [-8, 7] and the largest |x| maps to +-7;
 *  - the Q8 KV quantizer: |x - q*s| <= s/2 (plus one float rounding) and q in [-127, 127];
 *  - tb_ref_attn_head_kv over an f32 view is tb_ref_attn_head; tb_attn_head_kv_avx2 ==
 *    tb_ref_attn_head_kv for F16 and Q8 caches (1..70 positions, head_dim 16..256,
 *    strided), bit for bit;
 *  - on a synthetic model, for every registered configuration: the logits of the scalar
 *    path (no backend: the definitions) equal those of the SIMD runner bit for bit; the
 *    exact configuration's equal the state without numerics; every approximate one's
 *    differ from them (the approximation is really applied); tb_numcfg_exact is false
 *    exactly when some part is approximate.
 * The AVX2 parts skip (exit 77) on a CPU without AVX2.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tb_test.h"
#include "attention.h"
#include "bitlinear.h"
#include "forward.h"
#include "kernel.h"
#include "numcfg.h"
#include "rowops.h"
#include "runner.h"
#include "synth.h"

static bool same_bits(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof *a) == 0; }

static void fill(tb_rng *r, int kind, float *x, int n) {
    for (int i = 0; i < n; i++) {
        const double g = tb_rng_normal(r);
        x[i] = kind == 0   ? (float)g
               : kind == 1 ? (float)ldexp(g, (int)tb_rng_below(r, 60) - 30)
               : kind == 2 ? (float)((int)tb_rng_below(r, 15) - 7) + 0.5f /* ties when max = 7.5 */
                           : 0.0f;
    }
}

static bool have_avx2(void) { return (tb_cpu_features() & TB_ISA_AVX2) != 0; }

TB_TEST(act4_avx2_bit_identical_and_in_range) {
    if (!have_avx2()) TB_SKIP("no AVX2");
    tb_rng r;
    tb_rng_seed(&r, 11);
    static float x[6912];
    static int8_t qa[6912], qb[6912];
    const int ns[] = {1, 7, 8, 9, 31, 64, 100, 2560, 6912};
    for (int kind = 0; kind < 4; kind++)
        for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
            const int n = ns[k];
            fill(&r, kind, x, n);
            const float sa = tb_quantize_act4(x, n, qa), sb = tb_rowops_avx2.quantize4(x, n, qb);
            TB_CHECK_MSG(memcmp(&sa, &sb, 4) == 0 && !memcmp(qa, qb, (size_t)n), "kind %d n %d", kind, n);
            int lo = 0, hi = 0, imax = 0;
            for (int i = 0; i < n; i++) {
                lo = qa[i] < lo ? qa[i] : lo;
                hi = qa[i] > hi ? qa[i] : hi;
                if (fabsf(x[i]) > fabsf(x[imax])) imax = i;
            }
            TB_CHECK_MSG(lo >= -8 && hi <= 7, "kind %d n %d codes %d..%d", kind, n, lo, hi);
            if (fabsf(x[imax]) >= 1e-5f) /* below the 1e-5 floor of max |x| every code may be 0 */
                TB_CHECK_MSG(abs(qa[imax]) == 7, "kind %d n %d: max |x| -> %d", kind, n, qa[imax]);
        }
}

TB_TEST(kv_q8_quantizer_round_trip) {
    tb_rng r;
    tb_rng_seed(&r, 12);
    float x[256];
    int8_t q[256];
    for (int kind = 0; kind < 4; kind++) {
        fill(&r, kind, x, 256);
        const float s = tb_kv_quantize_q8(x, 256, q);
        for (int i = 0; i < 256; i++) {
            TB_CHECK(q[i] >= -127 && q[i] <= 127);
            const float back = (float)q[i] * s;
            TB_CHECK_MSG(fabsf(back - x[i]) <= 0.5f * s * (1.0f + 1e-6f) + 1e-30f, "kind %d i %d: %g vs %g (s %g)",
                         kind, i, (double)back, (double)x[i], (double)s);
        }
        if (kind == 3) TB_CHECK(s == 0.0f);
    }
}

/* n positions of K and V (kv_heads x hd, stored at stride) in each format */
typedef struct kvbuf {
    float *kf, *vf;
    uint16_t *kh, *vh;
    int8_t *kq, *vq;
    float *ks, *vs;
} kvbuf;

static void kv_fill(tb_rng *r, kvbuf *b, int n, int hd, size_t stride) {
    for (int j = 0; j < n; j++) {
        float *k = b->kf + (size_t)j * stride, *v = b->vf + (size_t)j * stride;
        fill(r, 0, k, hd);
        fill(r, 0, v, hd);
        for (int i = 0; i < hd; i++) {
            b->kh[(size_t)j * stride + i] = tb_f32_to_f16(k[i]);
            b->vh[(size_t)j * stride + i] = tb_f32_to_f16(v[i]);
        }
        b->ks[j] = tb_kv_quantize_q8(k, hd, b->kq + (size_t)j * stride);
        b->vs[j] = tb_kv_quantize_q8(v, hd, b->vq + (size_t)j * stride);
    }
}

TB_TEST(attention_over_compressed_caches) {
    enum { N = 70, HD = 256, STRIDE = 2 * HD };
    kvbuf b;
    b.kf = calloc((size_t)N * STRIDE, 4), b.vf = calloc((size_t)N * STRIDE, 4);
    b.kh = calloc((size_t)N * STRIDE, 2), b.vh = calloc((size_t)N * STRIDE, 2);
    b.kq = calloc((size_t)N * STRIDE, 1), b.vq = calloc((size_t)N * STRIDE, 1);
    b.ks = calloc(N, 4), b.vs = calloc(N, 4);
    float q[HD], o1[HD], o2[HD], s1[N], s2[N];
    tb_rng r;
    tb_rng_seed(&r, 13);
    for (int hd = 16; hd <= HD; hd *= 2)
        for (int n = 1; n <= N; n += 23) {
            kv_fill(&r, &b, n, hd, STRIDE);
            fill(&r, 0, q, hd);
            const float scale = 1.0f / sqrtf((float)hd);
            const tb_kv_view f32 = {.fmt = TB_KV_F32, .k = b.kf, .v = b.vf, .stride = STRIDE};
            tb_ref_attn_head(q, b.kf, b.vf, STRIDE, n, hd, scale, o1, s1);
            tb_ref_attn_head_kv(q, &f32, n, hd, scale, o2, s2);
            TB_CHECK_MSG(same_bits(o1, o2, (size_t)hd), "f32 view hd %d n %d", hd, n);
            const tb_kv_view views[2] = {
                {.fmt = TB_KV_F16, .k = b.kh, .v = b.vh, .stride = STRIDE},
                {.fmt = TB_KV_Q8, .k = b.kq, .v = b.vq, .ks = b.ks, .vs = b.vs, .stride = STRIDE, .sstride = 1}};
            for (int f = 0; f < 2; f++) {
                tb_ref_attn_head_kv(q, &views[f], n, hd, scale, o1, s1);
                TB_CHECK_MSG(!same_bits(o1, o2, (size_t)hd) || n == 1, "%s hd %d n %d: same as f32",
                             tb_kv_fmt_name(views[f].fmt), hd, n); /* (n = 1: out = v, may round back) */
                if (!have_avx2()) continue;
                tb_attn_head_kv_avx2(q, &views[f], n, hd, scale, o2, s2);
                TB_CHECK_MSG(same_bits(o1, o2, (size_t)hd), "%s avx2 hd %d n %d", tb_kv_fmt_name(views[f].fmt), hd, n);
            }
        }
    free(b.kf), free(b.vf), free(b.kh), free(b.vh), free(b.kq), free(b.vq), free(b.ks), free(b.vs);
    if (!have_avx2()) TB_SKIP("no AVX2: the SIMD half was not run");
}

/* ---- model level ------------------------------------------------------------------ */

static tb_model *model;

static int setup(void) {
    if (model) return 0;
    tb_synth_opts o;
    memset(&o, 0, sizeof o);
    if (tb_config_preset("tiny", &o.cfg) < 0) return -1;
    o.cfg.vocab = 1000;
    o.cfg.ctx = 64;
    o.seed = 9;
    o.format = TB_SYNTH_GGUF;
    char path[128];
    snprintf(path, sizeof path, "/tmp/tb_test_numerics_%d.gguf", (int)getpid());
    o.out = path;
    tb_err e;
    const int rc = tb_synth_write(&o, &e) < 0 || tb_model_load(path, &model, &e) < 0 ? -1 : 0;
    if (rc) fprintf(stderr, "setup: %s\n", e.msg);
    unlink(path);
    return rc;
}

enum { NTOK = 12 };

/* logits (NTOK, vocab) of a prefill of 8 tokens then 4 decoded one by one, under nx */
static int logits_of(const tb_backend *be, const tb_numerics *nx, float *out) {
    tb_state *st;
    tb_err e;
    if (tb_state_new(model, 32, 8, &st, &e) < 0) return -1;
    int32_t toks[NTOK];
    for (int i = 0; i < NTOK; i++) toks[i] = (int32_t)((i * 37 + 5) % model->cfg.vocab);
    const size_t V = (size_t)model->cfg.vocab;
    int rc = nx ? tb_state_set_numerics(st, nx, &e) : 0;
    if (!rc) rc = tb_forward(st, be, toks, 8, 0, out, true, &e);
    for (int i = 8; !rc && i < NTOK; i++) rc = tb_forward(st, be, toks + i, 1, i, out + (size_t)i * V, false, &e);
    if (rc) fprintf(stderr, "logits_of: %s\n", e.msg);
    tb_state_free(st);
    return rc;
}

TB_TEST(every_configuration_simd_equals_definition) {
    if (setup() < 0) {
        TB_CHECK(!"cannot build the synthetic model");
        return;
    }
    const size_t n = (size_t)NTOK * model->cfg.vocab;
    float *exact = malloc(n * 4), *a = malloc(n * 4), *b = malloc(n * 4);
    TB_CHECK(logits_of(NULL, NULL, exact) == 0);
    int ran = 0;
    for (int i = 0; i < tb_n_numcfgs; i++) {
        const tb_numcfg *c = &tb_numcfgs[i];
        const tb_kernel *best = tb_kernel_best(TB_ISA_ALL), *k = NULL, *def = NULL;
        tb_err e = {{0}};
        if (tb_numcfg_kernel(c, best, false, TB_ISA_ALL, &k, &e) < 0) {
            fprintf(stderr, "  %s: %s (not run)\n", c->name, e.msg);
            continue;
        }
        /* the scalar side: no backend, or the approximate kernel's defining portable kernel */
        if (k && k->defined_by) def = tb_kernel_find(k->defined_by);
        const bool parts_exact = c->head == TB_HEAD_EXACT && c->act_bits == 8 && c->kv == TB_KV_F32;
        TB_CHECK_MSG(tb_numcfg_exact(c, k) == (parts_exact && (!k || k->exact)), "%s: exact flag", c->name);
        tb_numcfg_run cr;
        tb_runner *rs = NULL, *rd = NULL;
        TB_CHECK_MSG(tb_numcfg_open(c, model, &cr, &e) == 0, "%s: %s", c->name, e.msg);
        TB_CHECK(tb_runner_new(model, k, 2, &rs, &e) == 0);
        if (def) TB_CHECK(tb_runner_new(model, def, 1, &rd, &e) == 0);
        if (def && rd) tb_runner_limit_isa(rd, 0); /* the definition end to end: plain C row hooks */
        const bool ok = rs && (!def || rd) && logits_of(rd ? tb_runner_backend(rd) : NULL, &cr.nx, a) == 0 &&
                        logits_of(tb_runner_backend(rs), &cr.nx, b) == 0;
        TB_CHECK_MSG(ok, "%s: a forward pass failed", c->name);
        if (ok) {
            ran++;
            TB_CHECK_MSG(same_bits(a, b, n), "%s (%s): SIMD logits differ from the definition's", c->name, k->name);
            if (tb_numcfg_exact(c, k)) TB_CHECK_MSG(same_bits(a, exact, n), "%s: exact but differs", c->name);
            else TB_CHECK_MSG(!same_bits(a, exact, n), "%s: approximate but identical to exact", c->name);
        }
        tb_runner_free(rs);
        tb_runner_free(rd);
        tb_numcfg_close(&cr);
    }
    TB_CHECK(ran >= 6);
    free(exact), free(a), free(b);
}

int main(void) {
    const int rc = tb_test_main();
    tb_model_free(model);
    return rc;
}
