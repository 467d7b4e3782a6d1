/* test_energy.c: the modelled energy: operation counts of a hand-sized model
 * against a hand computation, and the published figures the model must
 * reproduce (2B4T report Table 1: LLaMA 3.2 1B 0.258 J, BitNet 2B4T 0.028 J). */
#include <string.h>

#include "energy.h"
#include "tb_test.h"

static tb_config hand(void) {
    tb_config c;
    memset(&c, 0, sizeof c);
    c.vocab = 10;
    c.hidden = 8;
    c.layers = 2;
    c.heads = 2;
    c.kv_heads = 1;
    c.head_dim = 4;
    c.ffn = 12;
    c.ctx = 64;
    return c;
}

TB_TEST(counts_by_hand) {
    tb_config c = hand();
    tb_energy_counts n;
    tb_err e;
    TB_CHECK(tb_energy_count(&c, 16, &n, &e) == 0);
    /* per layer: q 8x8=64, k 4x8=32, v 32, o 64, gate 12x8=96, up 96, down 96 -> 480 */
    TB_CHECK_EQ_INT((long long)n.lin_weights, 2 * 480);
    /* attention: 2 layers x (q.K 8*16 + p.V 8*16) = 512 */
    TB_CHECK_EQ_INT((long long)n.attn_macs, 512);
    TB_CHECK_EQ_INT((long long)n.lm_head_macs, 80);
    tb_energy_result r;
    TB_CHECK(tb_energy_model(&c, 16, 3, &tb_energy_7nm, &r, &e) == 0);
    /* ternary: 960 INT8 adds (0.007 pJ) + 512 FP16 mul+add (0.34+0.16) */
    double tern = (960 * 0.007 + 512 * 0.5) * 1e-12;
    double fp = (960 * 0.5 + 512 * 0.5) * 1e-12;
    TB_CHECK_NEAR(r.tern_j_token, tern, 1e-12 * tern);
    TB_CHECK_NEAR(r.fp16_j_token, fp, 1e-12 * fp);
    TB_CHECK_NEAR(r.tern_j_seq, 3 * tern, 1e-12 * tern);
    TB_CHECK_NEAR(r.lm_head_j_token, 80 * 0.5e-12, 1e-24);
    TB_CHECK_NEAR(r.ratio, fp / tern, 1e-9);
    /* bad inputs */
    TB_CHECK(tb_energy_model(&c, 0, 3, &tb_energy_7nm, &r, &e) < 0);
    TB_CHECK(tb_energy_model(&c, 16, 0, &tb_energy_7nm, &r, &e) < 0);
    c.ffn = 0;
    TB_CHECK(tb_energy_count(&c, 16, &n, &e) < 0);
}

TB_TEST(reproduces_published_table) {
    tb_err e;
    tb_energy_result r;
    /* BitNet b1.58 2B4T (docs/architecture.md §1); 2,084,044,800 non-embedding weights. */
    tb_config b;
    memset(&b, 0, sizeof b);
    b.vocab = 128256;
    b.hidden = 2560;
    b.layers = 30;
    b.heads = 20;
    b.kv_heads = 5;
    b.head_dim = 128;
    b.ffn = 6912;
    TB_CHECK(tb_energy_model(&b, 512, 512, &tb_energy_7nm, &r, &e) == 0);
    TB_CHECK_EQ_INT((long long)r.n.lin_weights, 2084044800LL);
    TB_CHECK_NEAR(r.tern_j_seq, 0.028, 0.0005); /* report: 0.028 J */
    /* LLaMA 3.2 1B: hidden 2048, 16 layers, 32/8 heads of 64, FFN 8192.  Report: 0.258 J. */
    tb_config l = b;
    l.hidden = 2048;
    l.layers = 16;
    l.heads = 32;
    l.kv_heads = 8;
    l.head_dim = 64;
    l.ffn = 8192;
    TB_CHECK(tb_energy_model(&l, 512, 512, &tb_energy_7nm, &r, &e) == 0);
    TB_CHECK_NEAR(r.fp16_j_seq, 0.258, 0.0005);
    TB_CHECK_NEAR(r.fp16_nj_param, 0.265, 0.001); /* FP baselines: ~0.265 nJ per parameter (energy.c) */
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
