/* fuzz_gguf.c: libFuzzer target for the GGUF reader (models/gguf.c) and the GGUF model
 * loader (models/model_load.c), with the tokenizer read from the GGUF metadata when the
 * file has one.  Seeds: small synthetic models (scripts/fuzz.sh makes them with
 * `ternbench synth`). */
#include <stdint.h>
#include <string.h>

#include "fuzz_model_common.h"
#include "fuzz_util.h"
#include "gguf.h"
#include "tokenizer.h"

/* The typed getters over every key, as the loaders and `info` use them. */
static void touch_metadata(tb_gguf *g) {
    for (uint64_t i = 0; i < g->n_kv; i++) {
        char key[128];
        const tb_gguf_kv *kv = &g->kv[i];
        size_t n = kv->key.len < sizeof key - 1 ? (size_t)kv->key.len : sizeof key - 1;
        memcpy(key, kv->key.p, n);
        key[n] = 0;
        if (memchr(key, 0, n)) continue; /* a key with a NUL cannot be looked up by C string */
        uint32_t u;
        float f;
        tb_gguf_str s;
        uint32_t at;
        uint64_t an;
        (void)tb_gguf_get_u32(g, key, &u);
        (void)tb_gguf_get_f32(g, key, &f);
        (void)tb_gguf_get_str(g, key, &s);
        (void)tb_gguf_get_arr_data(g, key, &at, &an);
        if (tb_gguf_get_arr_str(g, key, 0, &s) == 0 && kv->arr_n > 0)
            (void)tb_gguf_get_arr_str(g, key, kv->arr_n - 1, &s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write("model.gguf", data, size);
    tb_err e;
    tb_gguf *g = NULL;
    if (tb_gguf_open(path, &g, &e) == 0) {
        touch_metadata(g);
        for (uint64_t i = 0; i < g->n_tensors; i++) {
            const tb_gguf_tensor *t = &g->tensors[i];
            if (t->nbytes) {
                volatile uint8_t sink = t->data[0] ^ t->data[t->nbytes - 1];
                (void)sink;
            }
        }
        tb_gguf_close(g);
    } else if (!e.msg[0]) {
        __builtin_trap();
    }
    tb_model *m = NULL;
    if (tb_model_load(path, &m, &e) < 0) return 0;
    fz_touch_model(m);
    tb_tokenizer *t = NULL;
    if (m->gguf && tb_tokenizer_from_gguf(m->gguf, &t, &e) == 0) {
        int32_t *ids = NULL;
        size_t n = 0;
        if (tb_tokenize(t, "Hello world", 11, true, true, &ids, &n, &e) == 0) free(ids);
        tb_tokenizer_free(t);
    }
    tb_model_free(m);
    return 0;
}
