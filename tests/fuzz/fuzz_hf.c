/* fuzz_hf.c: libFuzzer target for the Hugging Face loader (models/model_hf.c): a
 * directory with config.json + model.safetensors.  One file is the fuzz input, the
 * other is fixed and valid: a small synthetic checkpoint written once at start-up with
 * tb_synth_write.  Built twice: FUZZ_HF_CONFIG=0 fuzzes model.safetensors (fuzz_safetensors),
 * FUZZ_HF_CONFIG=1 fuzzes config.json (fuzz_hf_config). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_model_common.h"
#include "fuzz_util.h"
#include "synth.h"

#ifndef FUZZ_HF_CONFIG
#define FUZZ_HF_CONFIG 0
#endif

static char dir[300];

/* The same small shape as the seeds scripts/fuzz.sh writes. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    tb_synth_opts o;
    memset(&o, 0, sizeof o);
    tb_config_preset("tiny", &o.cfg);
    o.cfg.hidden = 128;
    o.cfg.layers = 1;
    o.cfg.heads = 2;
    o.cfg.kv_heads = 1;
    o.cfg.head_dim = 64;
    o.cfg.ffn = 128;
    o.cfg.vocab = 64;
    o.cfg.ctx = 64;
    o.cfg.bos = 62;
    o.cfg.eos = o.cfg.eot = 63;
    o.seed = 1;
    o.format = TB_SYNTH_HF;
    snprintf(dir, sizeof dir, "%s/hf", fz_scratch());
    o.out = dir;
    tb_err e;
    if (tb_synth_write(&o, &e) < 0) {
        fprintf(stderr, "fuzz_hf: %s\n", e.msg);
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_write(FUZZ_HF_CONFIG ? "hf/config.json" : "hf/model.safetensors", data, size);
    tb_model *m = NULL;
    tb_err e;
    e.msg[0] = 0;
    if (tb_model_load(dir, &m, &e) < 0) {
        if (!e.msg[0]) __builtin_trap();
        return 0;
    }
    fz_touch_model(m);
    tb_model_free(m);
    return 0;
}
