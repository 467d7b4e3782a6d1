/* test_e2e.c: end-to-end measurement on a small synthetic model: the bytes per
 * token add up as documented, an exact kernel and the scalar reference give
 * bit-identical logits (so the same first token), the memory and rate fields are
 * filled, bad options are refused.  No speed is asserted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "runner.h"
#include "synth.h"
#include "tb_test.h"

static tb_model *model;
static char path[128];

static int setup(void) {
    if (model) return 0;
    tb_synth_opts o;
    memset(&o, 0, sizeof o);
    if (tb_config_preset("tiny", &o.cfg) < 0) return -1;
    o.cfg.vocab = 512; /* keep the LM head small: this test is about bookkeeping */
    o.cfg.bos = 1;
    o.cfg.eos = 2;
    o.cfg.eot = 3;
    o.cfg.ctx = 256;
    o.seed = 5;
    o.format = TB_SYNTH_GGUF;
    snprintf(path, sizeof path, "/tmp/tb_test_e2e_%d.gguf", (int)getpid());
    o.out = path;
    tb_err e;
    if (tb_synth_write(&o, &e) < 0 || tb_model_load(path, &model, &e) < 0) {
        fprintf(stderr, "setup: %s\n", e.msg);
        unlink(path);
        return -1;
    }
    unlink(path); /* mapped: the data stays until the model is freed */
    return 0;
}

TB_TEST(bytes_add_up_and_kernel_matches_reference) {
    if (setup() < 0) {
        TB_CHECK(!"cannot build the synthetic model");
        return;
    }
    const tb_kernel *k = tb_kernel_best(TB_ISA_ALL);
    TB_CHECK(k != NULL);
    if (!k) return;
    tb_e2e_opts o;
    memset(&o, 0, sizeof o);
    o.threads = 2;
    o.n_prompt = 8;
    o.n_decode = 4;
    o.seed = 3;
    o.bw_gbps = 10.0;
    tb_e2e_result rk, rr;
    tb_err e;
    TB_CHECK_MSG(tb_e2e_run(model, k, &o, &rk, &e) == 0, "%s", e.msg);
    TB_CHECK_MSG(tb_e2e_run(model, NULL, &o, &rr, &e) == 0, "%s", e.msg);
    TB_CHECK(!strcmp(rk.kernel, k->name) && !strcmp(rr.kernel, "ref"));
    TB_CHECK_EQ_INT(rk.first_token, rr.first_token); /* follows from the identical logits below */
    const tb_config *c = &model->cfg;
    /* KV: positions 9..12 read 2 x layers x kv_dim x pos x 4 bytes; mean pos = 10.5 */
    double kv = 2.0 * c->layers * c->kv_heads * c->head_dim * 10.5 * 4;
    TB_CHECK_NEAR(rk.kv_bytes_per_token, kv, 1e-9 * kv);
    TB_CHECK_NEAR(rk.lm_head_bytes, (double)c->vocab * c->hidden * 2, 0); /* F16 embedding */
    TB_CHECK_NEAR(rr.weight_bytes, (double)tb_model_ternary_bytes(model), 0);
    TB_CHECK(rk.weight_bytes > 0);
    TB_CHECK_NEAR(rk.bytes_per_token, rk.weight_bytes + rk.lm_head_bytes + rk.kv_bytes_per_token, 1e-6);
    TB_CHECK(rk.decode_tok_s > 0 && rk.prefill_tok_s > 0 && rk.n_decode == 4 && rk.n_prompt == 8);
    TB_CHECK_NEAR(rk.achieved_gbps, rk.bytes_per_token * rk.decode_tok_s / 1e9, 1e-9 * rk.achieved_gbps);
    TB_CHECK_NEAR(rk.roofline_frac, rk.achieved_gbps / 10.0, 1e-12);
    TB_CHECK(rk.ms_per_token_min <= rk.ms_per_token_median && rk.ms_per_token_median <= rk.ms_per_token_max);
    TB_CHECK(rk.rss_bytes > 0 && rk.hwm_bytes >= rk.rss_bytes);
}

/* Logits of n_prompt prefill tokens and 4 decode steps (N = n_prompt + 4 rows of vocab)
 * through kernel k's runner on 2 threads (be NULL: the reference). */
static void forward_logits(const tb_backend *be, int n_prompt, float *out) {
    const int V = model->cfg.vocab, N = n_prompt + 4;
    int32_t toks[80];
    for (int i = 0; i < N; i++) toks[i] = (int32_t)((i * 37 + 5) % V);
    tb_state *st = NULL;
    tb_err e;
    TB_CHECK_MSG(tb_state_new(model, N, n_prompt, &st, &e) == 0, "%s", e.msg);
    TB_CHECK(st && tb_forward(st, be, toks, n_prompt, 0, out, true, &e) == 0);
    for (int p = n_prompt; p < N && st; p++)
        TB_CHECK(tb_forward(st, be, toks + p, 1, p, out + (size_t)p * V, false, &e) == 0);
    tb_state_free(st);
}

/* the logits behind first_token: every exact kernel's are bit-identical to the
 * reference's, not merely the same argmax, for a prefill of 8 tokens and one of 70 (two
 * blocks of 32 and 6 more: a kernel with batch_tokens splits them over the 2 threads,
 * each thread prepping its own), each followed by 4 decode steps */
TB_TEST(exact_kernel_logits_identical) {
    if (setup() < 0) {
        TB_CHECK(!"cannot build the synthetic model");
        return;
    }
    const int V = model->cfg.vocab, prompts[2] = {8, 70};
    for (int pi = 0; pi < 2; pi++) {
        const int N = prompts[pi] + 4;
        float *lr = calloc((size_t)N * V, sizeof *lr), *lk = calloc((size_t)N * V, sizeof *lk); /* (N, vocab) */
        forward_logits(NULL, prompts[pi], lr);
        double a0 = 0, a1 = 0; /* every position was written (a zero buffer would compare equal) */
        for (int i = 0; i < V; i++) a0 += fabs(lr[i]), a1 += fabs(lr[(size_t)(N - 1) * V + i]);
        TB_CHECK(a0 > 0 && a1 > 0);
        int ran = 0;
        for (int ki = 0; ki < tb_n_kernels; ki++) {
            const tb_kernel *k = tb_kernels[ki];
            if (!k->exact || k->on_device || (k->isa & ~tb_cpu_features())) continue;
            tb_runner *run = NULL;
            tb_err e;
            TB_CHECK_MSG(tb_runner_new(model, k, 2, &run, &e) == 0, "%s", e.msg);
            if (!run) continue;
            memset(lk, 0, sizeof *lk * (size_t)N * V);
            forward_logits(tb_runner_backend(run), prompts[pi], lk);
            TB_CHECK_MSG(memcmp(lr, lk, sizeof *lr * (size_t)N * V) == 0, "%s, prefill %d: logits differ from the reference",
                         k->name, prompts[pi]);
            tb_runner_free(run);
            ran++;
        }
        TB_CHECK(ran >= 1); /* the scalar kernels run everywhere */
        free(lr);
        free(lk);
    }
}

TB_TEST(bad_options) {
    if (setup() < 0) return;
    tb_e2e_opts o;
    memset(&o, 0, sizeof o);
    o.threads = 1;
    o.n_prompt = 8;
    o.n_decode = 0;
    tb_e2e_result r;
    tb_err e;
    TB_CHECK(tb_e2e_run(model, NULL, &o, &r, &e) < 0);
    o.n_decode = 4;
    o.n_prompt = 300; /* > ctx 256 */
    TB_CHECK(tb_e2e_run(model, NULL, &o, &r, &e) < 0 && strstr(e.msg, "context"));
    o.n_prompt = 8;
    o.threads = 0;
    TB_CHECK(tb_e2e_run(model, NULL, &o, &r, &e) < 0);
}

int main(void) {
    int rc = tb_test_main();
    tb_model_free(model);
    return rc;
}
