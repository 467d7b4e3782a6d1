/* test_formats.c: the same synthetic model written as a bitnet.cpp-style GGUF (I2_S,
 * F16 embedding, F32 norms) and as an HF packed checkpoint (uint8 packed along the
 * output dim, BF16 embedding and norms) must give IDENTICAL logits.
 *
 * Why exact: tb_synth rounds every float to bf16 precision, so both files hold the
 * same numbers (bf16 values are exactly representable in F16/F32 here); the ternary
 * codes are the same; the forward pass and its order of operations are the same code.
 * Any difference means a loader decoded a layout, a scale or a shape differently. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forward.h"
#include "model.h"
#include "synth.h"
#include "tb_test.h"

static int eval(const char *path, const int32_t *toks, int n, float *logits, tb_model **keep) {
    tb_err e = {{0}};
    tb_model *m = NULL;
    tb_state *st = NULL;
    int rc = tb_model_load(path, &m, &e);
    if (!rc) rc = tb_state_new(m, n, n, &st, &e);
    if (!rc) rc = tb_forward(st, NULL, toks, n, 0, logits, true, &e);
    if (rc) fprintf(stderr, "%s: %s\n", path, e.msg);
    tb_state_free(st);
    *keep = m;
    return rc;
}

TB_TEST(gguf_and_hf_give_identical_logits) {
    tb_synth_opts o = {0};
    TB_CHECK_EQ_INT(tb_config_preset("tiny", &o.cfg), 0);
    /* a small vocab and context keep the test fast; the rest is the preset */
    o.cfg.vocab = 1000;
    o.cfg.ctx = 64;
    o.seed = 20260;
    char gguf[256], hf[256];
    snprintf(gguf, sizeof gguf, "/tmp/tb_ref_formats_%d.gguf", (int)getpid());
    snprintf(hf, sizeof hf, "/tmp/tb_ref_formats_%d_hf", (int)getpid());
    tb_err e = {{0}};
    o.format = TB_SYNTH_GGUF;
    o.out = gguf;
    int rc = tb_synth_write(&o, &e);
    if (rc) fprintf(stderr, "synth gguf: %s\n", e.msg);
    TB_CHECK_EQ_INT(rc, 0);
    o.format = TB_SYNTH_HF;
    o.out = hf;
    rc = tb_synth_write(&o, &e);
    if (rc) fprintf(stderr, "synth hf: %s\n", e.msg);
    TB_CHECK_EQ_INT(rc, 0);

    enum { N = 6 };
    const int32_t toks[N] = {1, 999, 500, 7, 7, 123};
    const size_t cnt = (size_t)N * o.cfg.vocab;
    float *a = malloc(sizeof(float) * cnt), *b = malloc(sizeof(float) * cnt);
    tb_model *ma = NULL, *mb = NULL;
    TB_CHECK_EQ_INT(eval(gguf, toks, N, a, &ma), 0);
    TB_CHECK_EQ_INT(eval(hf, toks, N, b, &mb), 0);
    if (ma && mb) {
        TB_CHECK(strcmp(ma->format, mb->format) != 0); /* really two different loaders */
        TB_CHECK_EQ_INT(ma->embd_type, TB_F16);
        TB_CHECK_EQ_INT(mb->embd_type, TB_BF16);
        TB_CHECK_EQ_INT(ma->cfg.layers, mb->cfg.layers);
        size_t ndiff = 0;
        for (size_t i = 0; i < cnt; i++) ndiff += memcmp(&a[i], &b[i], sizeof(float)) != 0;
        TB_CHECK_MSG(ndiff == 0, "%zu of %zu logits differ between %s and %s", ndiff, cnt, ma->format, mb->format);
        /* and the logits are not degenerate */
        float lo = a[0], hi = a[0];
        for (size_t i = 0; i < cnt; i++) {
            lo = a[i] < lo ? a[i] : lo;
            hi = a[i] > hi ? a[i] : hi;
        }
        TB_CHECK(hi - lo > 0.1f);
    }
    tb_model_free(ma);
    tb_model_free(mb);
    free(a);
    free(b);
    remove(gguf);
    char p[512];
    snprintf(p, sizeof p, "%s/config.json", hf);
    remove(p);
    snprintf(p, sizeof p, "%s/model.safetensors", hf);
    remove(p);
    snprintf(p, sizeof p, "%s/tokenizer.json", hf);
    remove(p);
    rmdir(hf);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }
