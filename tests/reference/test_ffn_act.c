/* test_ffn_act.c: the FFN activation is a model property (tb_config.ffn_act).
 *
 * - SiLU (llama.cpp arch "bitnet"): the traced ffn_mid equals silu(g) * u recomputed
 *   in double from the traced ffn_in, and differs from relu(g)^2 * u;
 * - switching only the activation leaves everything before the first FFN bit-identical;
 * - an unknown activation value is refused by tb_state_new;
 * - loaders: a GGUF whose general.architecture is "bitnet" loads as SiLU, bitnet-b1.58
 *   as relu^2; HF hidden_act "silu" / "relu2" likewise, and GGUF and HF copies of one
 *   SiLU model give identical logits; HF hidden_act "gelu" or none is refused, naming
 *   config.json and the value. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitlinear.h"
#include "forward.h"
#include "gguf.h"
#include "models/models_util.h"
#include "tb_test.h"
#include "tiny_model.h"

/* ---- trace capture: ffn_in / ffn_mid per (layer, pos) ---------------------- */
#define MAXL 2
#define MAXP 6
#define MAXD 64
typedef struct {
    float in[MAXL][MAXP][MAXD], mid[MAXL][MAXP][MAXD];
    int n_in, n_mid;
} ffn_rec;

static void rec_fn(void *user, const char *name, int layer, int pos, const float *data, int n) {
    ffn_rec *r = user;
    if (layer < 0 || layer >= MAXL || pos < 0 || pos >= MAXP || n > MAXD) return;
    if (!strcmp(name, "ffn_in")) {
        memcpy(r->in[layer][pos], data, sizeof(float) * (size_t)n);
        r->n_in++;
    } else if (!strcmp(name, "ffn_mid")) {
        memcpy(r->mid[layer][pos], data, sizeof(float) * (size_t)n);
        r->n_mid++;
    }
}

static const int32_t toks[MAXP] = {3, 17, 42, 0, 49, 8};

/* Runs toks[0..n) in one batch; fills r (may be NULL) and logits (n, vocab). */
static int run(const tb_model *m, int n, ffn_rec *r, float *logits) {
    tb_state *st = NULL;
    tb_err e = {{0}};
    if (tb_state_new(m, n, n, &st, &e)) {
        fprintf(stderr, "tb_state_new: %s\n", e.msg);
        return -1;
    }
    if (r) tb_state_set_trace(st, rec_fn, r);
    int rc = tb_forward(st, NULL, toks, n, 0, logits, true, &e);
    if (rc) fprintf(stderr, "tb_forward: %s\n", e.msg);
    tb_state_free(st);
    return rc;
}

/* ---- the SiLU FFN against a hand computation ---------------------------------- */
TB_TEST(silu_ffn_by_hand) {
    tb_config c = tiny_config();
    c.ffn_act = TB_ACT_SILU;
    tiny_model *t = tiny_model_new(&c, 404, TB_F32, 1.0);
    const int n = MAXP;
    ffn_rec *r = calloc(1, sizeof *r);
    float *lg = malloc(sizeof(float) * (size_t)n * c.vocab);
    TB_CHECK_EQ_INT(run(&t->m, n, r, lg), 0);
    TB_CHECK_EQ_INT(r->n_in, c.layers * n);
    TB_CHECK_EQ_INT(r->n_mid, c.layers * n);
    float g[MAXD], u[MAXD];
    tb_err e = {{0}};
    double max_err = 0, max_relu = 0;
    int n_neg = 0, n_pos = 0, n_neg_nonzero = 0;
    for (int l = 0; l < c.layers; l++)
        for (int p = 0; p < n; p++) {
            /* gate and up recomputed from the traced ffn_in with the exact BitLinear */
            TB_CHECK_EQ_INT(tb_bitlinear_ref(&t->m.layer[l].lin[TB_LIN_GATE], r->in[l][p], g, &e), 0);
            TB_CHECK_EQ_INT(tb_bitlinear_ref(&t->m.layer[l].lin[TB_LIN_UP], r->in[l][p], u, &e), 0);
            for (int i = 0; i < c.ffn; i++) {
                const double gd = g[i];
                const double want = gd / (1.0 + exp(-gd)) * (double)u[i]; /* silu(g) * u */
                const double relu = gd > 0 ? gd * gd * u[i] : 0.0;
                const float got = r->mid[l][p][i];
                if (g[i] < 0) {
                    n_neg++;
                    n_neg_nonzero += got != 0.0f; /* SiLU lets negative gates through, relu does not */
                } else if (g[i] > 0) {
                    n_pos++;
                }
                max_err = fmax(max_err, fabs(got - want) / (1e-30 + fabs(want)));
                max_relu = fmax(max_relu, fabs(got - relu));
            }
        }
    TB_CHECK(n_neg > 10 && n_pos > 10); /* both signs of the gate were exercised */
    TB_CHECK(n_neg_nonzero > 10);
    /* silu exact in double then rounded to float, times u rounded to float: <= 2 * 2^-24 + tiny */
    TB_CHECK_MSG(max_err <= 2.5e-7, "max rel err %.3g", max_err);
    TB_CHECK_MSG(max_relu > 0.1, "relu^2 would only differ by %.3g", max_relu);
    free(r);
    free(lg);
    tiny_model_free(t);
}

/* ---- only the activation changes: same ffn_in at layer 0, different ffn_mid ---- */
TB_TEST(activation_switch_changes_only_the_ffn) {
    tb_config c = tiny_config();
    tiny_model *t = tiny_model_new(&c, 505, TB_F16, 1.0);
    const int n = 4;
    ffn_rec *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    float *la = malloc(sizeof(float) * (size_t)n * c.vocab), *lb = malloc(sizeof(float) * (size_t)n * c.vocab);
    TB_CHECK_EQ_INT(t->m.cfg.ffn_act, TB_ACT_RELU2); /* zero-initialised config: relu^2 */
    TB_CHECK_EQ_INT(run(&t->m, n, a, la), 0);
    t->m.cfg.ffn_act = TB_ACT_SILU;
    TB_CHECK_EQ_INT(run(&t->m, n, b, lb), 0);
    TB_CHECK(!memcmp(a->in[0], b->in[0], sizeof a->in[0])); /* attention of layer 0 is untouched */
    double d_mid = 0, d_logit = 0;
    for (int p = 0; p < n; p++)
        for (int i = 0; i < c.ffn; i++) d_mid = fmax(d_mid, fabs(a->mid[0][p][i] - b->mid[0][p][i]));
    for (int i = 0; i < n * c.vocab; i++) d_logit = fmax(d_logit, fabs(la[i] - lb[i]));
    TB_CHECK_MSG(d_mid > 0.1, "ffn_mid differs by %.3g only", d_mid);
    TB_CHECK_MSG(d_logit > 1e-3, "logits differ by %.3g only", d_logit);
    free(a);
    free(b);
    free(la);
    free(lb);
    tiny_model_free(t);
}

TB_TEST(unknown_activation_refused) {
    tb_config c = tiny_config();
    tiny_model *t = tiny_model_new(&c, 606, TB_F32, 1.0);
    const int bad[] = {2, -1, 99};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        t->m.cfg.ffn_act = bad[k];
        tb_state *st = (tb_state *)1;
        tb_err e = {{0}};
        TB_CHECK(tb_state_new(&t->m, 4, 1, &st, &e) < 0);
        TB_CHECK(st == NULL);
        TB_CHECK_MSG(strstr(e.msg, "FFN activation") != NULL, "message: %s", e.msg);
    }
    tiny_model_free(t);
}

/* ---- loaders ------------------------------------------------------------------ */
static tb_model *load_ok(const char *path) {
    tb_model *m = NULL;
    tb_err e = {{0}};
    if (tb_model_load(path, &m, &e) < 0) {
        fprintf(stderr, "load %s: %s\n", path, e.msg);
        return NULL;
    }
    return m;
}

/* general.architecture as written in the file, read back with the GGUF reader */
static int file_arch_is(const tb_model *m, const char *want) {
    tb_gguf_str a;
    if (!m->gguf || tb_gguf_get_str(m->gguf, "general.architecture", &a) < 0) return 0;
    return a.len == strlen(want) && !memcmp(a.p, want, a.len);
}

/* gr/gs: GGUF relu^2 / SiLU, hr/hs: HF relu^2 / SiLU of the same weights */
static void check_loaded(const tb_model *gr, const tb_model *gs, const tb_model *hr, const tb_model *hs,
                         const char *h_silu, int V) {
    /* GGUF: the arch string in the file decides */
    TB_CHECK(file_arch_is(gr, "bitnet-b1.58"));
    TB_CHECK(file_arch_is(gs, "bitnet"));
    TB_CHECK(!strcmp(gs->cfg.arch, "bitnet"));
    TB_CHECK_EQ_INT(gr->cfg.ffn_act, TB_ACT_RELU2);
    TB_CHECK_EQ_INT(gs->cfg.ffn_act, TB_ACT_SILU);
    /* HF: hidden_act decides */
    TB_CHECK_EQ_INT(hr->cfg.ffn_act, TB_ACT_RELU2);
    TB_CHECK_EQ_INT(hs->cfg.ffn_act, TB_ACT_SILU);
    {
        size_t n_cfg = 0;
        char p[1100];
        snprintf(p, sizeof p, "%s/config.json", h_silu);
        unsigned char *txt = slurp(p, &n_cfg);
        TB_CHECK(txt && memmem(txt, n_cfg, "\"hidden_act\": \"silu\"", 20) != NULL);
        free(txt);
    }

    /* the same weights: GGUF and HF SiLU models agree exactly, and differ from relu^2 */
    const int n = 3;
    float *l_gs = malloc(sizeof(float) * (size_t)n * V), *l_hs = malloc(sizeof(float) * (size_t)n * V);
    float *l_gr = malloc(sizeof(float) * (size_t)n * V);
    TB_CHECK_EQ_INT(run(gs, n, NULL, l_gs), 0);
    TB_CHECK_EQ_INT(run(hs, n, NULL, l_hs), 0);
    TB_CHECK_EQ_INT(run(gr, n, NULL, l_gr), 0);
    TB_CHECK(!memcmp(l_gs, l_hs, sizeof(float) * (size_t)n * V));
    double d = 0;
    for (int i = 0; i < n * V; i++) d = fmax(d, fabs(l_gs[i] - l_gr[i]));
    TB_CHECK_MSG(d > 1e-3, "SiLU and relu^2 logits differ by %.3g only", d);
    free(l_gs);
    free(l_hs);
    free(l_gr);
}

TB_TEST(loaders_set_the_activation) {
    tb_config relu = small_cfg(), silu = small_cfg();
    silu.ffn_act = TB_ACT_SILU;
    tb_err e = {{0}};
    const char *g_relu = tmp_path("relu.gguf"), *g_silu = tmp_path("silu.gguf");
    const char *h_relu = tmp_path("relu_hf"), *h_silu = tmp_path("silu_hf");
    TB_CHECK_MSG(synth_to(g_relu, relu, TB_SYNTH_GGUF, 7, NULL, &e) == 0, "%s", e.msg);
    TB_CHECK_MSG(synth_to(g_silu, silu, TB_SYNTH_GGUF, 7, NULL, &e) == 0, "%s", e.msg);
    TB_CHECK_MSG(synth_to(h_relu, relu, TB_SYNTH_HF, 7, NULL, &e) == 0, "%s", e.msg);
    TB_CHECK_MSG(synth_to(h_silu, silu, TB_SYNTH_HF, 7, NULL, &e) == 0, "%s", e.msg);

    tb_model *gr = load_ok(g_relu), *gs = load_ok(g_silu), *hr = load_ok(h_relu), *hs = load_ok(h_silu);
    TB_CHECK(gr && gs && hr && hs);
    if (gr && gs && hr && hs) check_loaded(gr, gs, hr, hs, h_silu, silu.vocab);
    tb_model_free(gr);
    tb_model_free(gs);
    tb_model_free(hr);
    tb_model_free(hs);
}

/* config.json of dir with `from` replaced by `to` (first occurrence) */
static int patch_config(const char *dir, const char *from, const char *to) {
    char p[1100];
    snprintf(p, sizeof p, "%s/config.json", dir);
    size_t n = 0;
    unsigned char *txt = slurp(p, &n);
    if (!txt) return -1;
    char *s = malloc(n + 1), *out = malloc(n + strlen(to) + 1);
    memcpy(s, txt, n);
    s[n] = 0;
    free(txt);
    char *q = strstr(s, from);
    int rc = -1;
    if (q) {
        size_t pre = (size_t)(q - s);
        memcpy(out, s, pre);
        strcpy(out + pre, to);
        strcat(out, q + strlen(from));
        rc = spit(p, out, strlen(out));
    }
    free(s);
    free(out);
    return rc;
}

static void expect_refused(const char *dir, const char *s1, const char *s2) {
    tb_model *m = (tb_model *)1;
    tb_err e = {{0}};
    TB_CHECK(tb_model_load(dir, &m, &e) < 0);
    TB_CHECK(m == NULL);
    TB_CHECK_MSG(strstr(e.msg, "config.json") && strstr(e.msg, "hidden_act") && strstr(e.msg, s1) &&
                     strstr(e.msg, s2) && !strchr(e.msg, '\n'),
                 "message: %s", e.msg);
}

TB_TEST(hf_other_activations_refused) {
    tb_err e = {{0}};
    const char *h = tmp_path("gelu_hf");
    TB_CHECK_MSG(synth_to(h, small_cfg(), TB_SYNTH_HF, 8, NULL, &e) == 0, "%s", e.msg);
    TB_CHECK_EQ_INT(patch_config(h, "\"hidden_act\": \"relu2\"", "\"hidden_act\": \"gelu\""), 0);
    expect_refused(h, "\"gelu\"", "relu2");
    TB_CHECK_EQ_INT(patch_config(h, "\"hidden_act\": \"gelu\"", "\"hidden_act\": \"SiLU\""), 0);
    expect_refused(h, "\"SiLU\"", "silu"); /* exact names only */
    TB_CHECK_EQ_INT(patch_config(h, "\"hidden_act\": \"SiLU\",", ""), 0);
    expect_refused(h, "nothing", "relu2"); /* absent */
}

int main(void) {
    int rc = tb_test_main();
    tmp_cleanup();
    return rc;
}
