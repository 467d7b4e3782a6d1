/* test_ppl.c: harness/ppl.c against an independent computation.
 *
 * On the golden tiny GGUF (bitnet.cpp's file, 2B4T architecture scaled down), the
 * test evaluates each chunk itself in ONE forward batch per backend, computes
 * log-softmax, NLL, KL and argmax in plain double loops, and compares with
 * tb_ppl_run (which evaluates in two half-chunk calls and has its own scoring).
 * A perturbed backend (exact reference sums, plus a small deterministic integer
 * offset) gives a non-trivial KL; an exact wrapper of the reference must give
 * KL 0 and top-1 agreement 1.  Chunk-count edge cases are checked too.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bitlinear.h"
#include "forward.h"
#include "model.h"
#include "ppl.h"
#include "tb_test.h"

static const char *model_path(void) {
    static char buf[1024];
    const char *d = getenv("TERNBENCH_DATA");
#ifdef TB_DEFAULT_DATA_DIR
    if (!d || !*d) d = TB_DEFAULT_DATA_DIR;
#endif
    if (!d) return NULL;
    snprintf(buf, sizeof buf, "%s/golden/tiny-bitnet-i2_s.gguf", d);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

/* A backend computing the reference integer sums, optionally perturbed by
 * ((r + q[t][0]) % 3 - 1) * bump: a stand-in for an inexact kernel. */
typedef struct wrap {
    const tb_model *m;
    int bump;
    int8_t *row;   /* (max cols) scratch for tb_matmul_ref */
} wrap;

static int wrap_matmul(void *ctx, int layer, int which, const int8_t *q, int n_tok, int32_t *acc, tb_err *e) {
    (void)e;
    wrap *w = ctx;
    const tb_ternary *t = &w->m->layer[layer].lin[which];
    tb_matmul_ref(t, q, n_tok, acc, w->row);
    /* depends only on the token's own activations and the row, not on its place in the
     * batch, so one-batch and split evaluations perturb the same way */
    if (w->bump)
        for (int tt = 0; tt < n_tok; tt++)
            for (int r = 0; r < t->rows; r++)
                acc[(size_t)tt * t->rows + r] += ((r + (q[(size_t)tt * t->cols] & 0xff)) % 3 - 1) * w->bump;
    return 0;
}

TB_TEST(chunk_counts) {
    tb_err e = {{0}};
    TB_CHECK_EQ_INT(tb_ppl_n_chunks(1024, 512, 0, &e), 2);
    TB_CHECK_EQ_INT(tb_ppl_n_chunks(289077, 512, 0, &e), 564); /* wiki.test.raw with BOS */
    TB_CHECK_EQ_INT(tb_ppl_n_chunks(289077, 512, 10, &e), 10);
    TB_CHECK_EQ_INT(tb_ppl_n_chunks(1535, 512, 0, &e), 2); /* the tail that does not fill a chunk is dropped */
    e.msg[0] = 0;
    TB_CHECK(tb_ppl_n_chunks(1023, 512, 0, &e) < 0); /* shorter than 2 x ctx */
    TB_CHECK_MSG(strstr(e.msg, "1023") && strstr(e.msg, "1024"), "%s", e.msg);
    TB_CHECK(tb_ppl_n_chunks(0, 512, 0, &e) < 0);
    TB_CHECK(tb_ppl_n_chunks(100, 2, 0, &e) < 0); /* ctx too small to have a second half */
}

/* Everything tb_ppl_run reports, computed here from one-batch logits. */
typedef struct expect {
    double nll, nll2, kl, kl_max;
    long n, agree;
} expect;

TB_TEST(matches_independent_computation) {
    const char *mp = model_path();
    if (!mp) TB_SKIP("no golden/tiny-bitnet-i2_s.gguf under TERNBENCH_DATA");
    tb_model *m;
    tb_err e = {{0}};
    if (tb_model_load(mp, &m, &e)) {
        TB_CHECK_MSG(0, "%s", e.msg);
        return;
    }
    const int V = m->cfg.vocab, ctx = 16, n_chunks = 3, first = ctx / 2;
    /* tokens: BOS then a deterministic pseudo-random walk over the vocabulary (no
     * tokenizer involved); one extra partial chunk at the end must be ignored */
    size_t n_tok = (size_t)ctx * n_chunks + 5;
    int32_t *tok = malloc(n_tok * sizeof *tok);
    tb_rng r;
    tb_rng_seed(&r, 2024);
    tok[0] = 128000;
    for (size_t i = 1; i < n_tok; i++) tok[i] = (int32_t)tb_rng_below(&r, 50000);

    int max_cols = m->cfg.ffn > m->cfg.hidden ? m->cfg.ffn : m->cfg.hidden;
    wrap exact = {m, 0, malloc((size_t)max_cols)}, noisy = {m, 3, malloc((size_t)max_cols)};
    tb_backend be_exact = {"exact-wrap", &exact, wrap_matmul}, be_noisy = {"noisy-wrap", &noisy, wrap_matmul};
    const tb_backend *bes[3] = {NULL, &be_exact, &be_noisy};
    tb_ppl_result res[3];
    tb_ppl_opts o = {ctx, 0, 128000, NULL, NULL, 3};
    TB_CHECK_MSG(tb_ppl_run(m, tok, n_tok, bes, 3, &o, res, &e) == 0, "%s", e.msg);
    /* the scoring thread count does not change any number */
    tb_ppl_result res1[3];
    o.threads = 1;
    TB_CHECK_MSG(tb_ppl_run(m, tok, n_tok, bes, 3, &o, res1, &e) == 0, "%s", e.msg);
    for (int b = 0; b < 3; b++)
        TB_CHECK_MSG(res1[b].ppl == res[b].ppl && res1[b].ppl_err == res[b].ppl_err && res1[b].kl_mean == res[b].kl_mean &&
                         res1[b].kl_max == res[b].kl_max && res1[b].top1 == res[b].top1,
                     "backend %d: 1 vs 3 scoring threads differ", b);

    /* independent: one batch of ctx tokens per chunk and backend, all logits */
    tb_state *st;
    TB_CHECK(tb_state_new(m, ctx, ctx, &st, &e) == 0);
    float *lg[3];
    for (int b = 0; b < 3; b++) lg[b] = malloc((size_t)ctx * V * sizeof(float)); /* (ctx, vocab) */
    expect x[3];
    memset(x, 0, sizeof x);
    int32_t chunk[16];
    for (int c = 0; c < n_chunks; c++) {
        memcpy(chunk, tok + c * ctx, sizeof chunk);
        chunk[0] = 128000;
        for (int b = 0; b < 3; b++) {
            tb_state_reset(st);
            TB_CHECK(tb_forward(st, bes[b], chunk, ctx, 0, lg[b], true, &e) == 0);
        }
        for (int p = first; p <= ctx - 2; p++) {
            double logp[3][1]; /* log-prob of the target */
            int arg[3];
            for (int b = 0; b < 3; b++) {
                const float *row = lg[b] + (size_t)p * V;
                double mx = -INFINITY;
                arg[b] = 0;
                for (int v = 0; v < V; v++)
                    if (row[v] > mx) { mx = row[v]; arg[b] = v; }
                double s = 0;
                for (int v = 0; v < V; v++) s += exp(row[v] - mx);
                logp[b][0] = row[chunk[p + 1]] - mx - log(s);
                x[b].nll += -logp[b][0];
                x[b].nll2 += logp[b][0] * logp[b][0];
                x[b].n++;
            }
            /* KL(P_ref || P_b) via explicit probabilities */
            const float *r0 = lg[0] + (size_t)p * V;
            double m0 = -INFINITY, s0 = 0;
            for (int v = 0; v < V; v++) m0 = fmax(m0, r0[v]);
            for (int v = 0; v < V; v++) s0 += exp(r0[v] - m0);
            for (int b = 1; b < 3; b++) {
                const float *rb = lg[b] + (size_t)p * V;
                double mb = -INFINITY, sb = 0, kl = 0;
                for (int v = 0; v < V; v++) mb = fmax(mb, rb[v]);
                for (int v = 0; v < V; v++) sb += exp(rb[v] - mb);
                for (int v = 0; v < V; v++) {
                    double p0 = exp(r0[v] - m0) / s0, pb = exp(rb[v] - mb) / sb;
                    if (p0 > 0) kl += p0 * log(p0 / pb);
                }
                x[b].kl += kl;
                if (kl > x[b].kl_max) x[b].kl_max = kl;
                x[b].agree += arg[b] == arg[0];
            }
        }
    }
    for (int b = 0; b < 3; b++) {
        double n = (double)x[b].n, mean = x[b].nll / n;
        double err = sqrt((x[b].nll2 / n - mean * mean) / (n - 1));
        TB_CHECK_EQ_INT(res[b].n_scored, n_chunks * (ctx - 1 - first));
        TB_CHECK_EQ_INT(res[b].n_chunks, n_chunks);
        /* float logits from two different batchings and double sums in another order:
         * agreement to 1e-5 relative is far tighter than any scoring mistake (a
         * position off by one changes the PPL of this model by tens of percent) */
        TB_CHECK_NEAR(res[b].ppl, exp(mean), 1e-5 * exp(mean));
        TB_CHECK_NEAR(res[b].ppl_err, exp(mean) * err, 1e-4 * exp(mean) * err + 1e-9);
        if (b > 0) {
            TB_CHECK(res[b].has_kl);
            TB_CHECK_NEAR(res[b].kl_mean, x[b].kl / n, 1e-6 + 1e-4 * x[b].kl / n);
            TB_CHECK_NEAR(res[b].kl_max, x[b].kl_max, 1e-6 + 1e-4 * x[b].kl_max);
            TB_CHECK_NEAR(res[b].top1, x[b].agree / n, 1e-12);
        } else {
            TB_CHECK(!res[b].has_kl);
        }
        printf("info: backend %d: PPL %.4f +- %.4f, KL mean %.3g max %.3g, top-1 %.3f\n", b, res[b].ppl,
               res[b].ppl_err, res[b].kl_mean, res[b].kl_max, res[b].top1);
    }
    /* the exact wrapper is the reference: identical numbers, KL exactly 0 */
    TB_CHECK(res[1].ppl == res[0].ppl);
    TB_CHECK(res[1].kl_mean == 0 && res[1].kl_max == 0 && res[1].top1 == 1);
    /* the perturbation is visible, so the KL test above is not vacuous */
    TB_CHECK(res[2].kl_mean > 1e-7);

    /* a token outside the vocabulary is an error, not a crash */
    tok[3] = V + 7;
    e.msg[0] = 0;
    TB_CHECK(tb_ppl_run(m, tok, n_tok, bes, 1, &o, res, &e) < 0);
    TB_CHECK_MSG(strstr(e.msg, "vocabulary") != NULL, "%s", e.msg);
    /* too short */
    TB_CHECK(tb_ppl_run(m, tok, (size_t)2 * ctx - 1, bes, 1, &o, res, &e) < 0);

    for (int b = 0; b < 3; b++) free(lg[b]);
    tb_state_free(st);
    free(exact.row);
    free(noisy.row);
    free(tok);
    tb_model_free(m);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
