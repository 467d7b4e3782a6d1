/* test_fuzz.c: random-corruption loop over a small GGUF and a small HF
 * safetensors file.  Each mutated copy must either load (and then be usable:
 * every row decodes to -1/0/+1, every embedding row is readable) or fail with a
 * one-line message.  Crashes, hangs and sanitizer reports are the failures this
 * looks for (it runs in the ASan/UBSan build, suite 'sanitize').  Deterministic:
 * seed printed; set TB_FUZZ_ITERS to run longer. */
#include "models_util.h"
#include "tb_test.h"

static const uint64_t interesting[] = {0, 1, 2, 3, 4, 31, 32, 33, 127, 128, 255, 0x7fffffff, 0x80000000u,
                                       0xffffffffu, 1ull << 32, 1ull << 62, ~0ull};

static void mutate(tb_rng *r, unsigned char *d, size_t *n, size_t hot) {
    int kind = (int)tb_rng_below(r, 10);
    if (kind == 0) { /* truncate */
        *n = tb_rng_below(r, (uint32_t)*n);
        return;
    }
    int edits = 1 + (int)tb_rng_below(r, 4);
    for (int k = 0; k < edits; k++) {
        /* 80% of edits in the header region, where the lengths and offsets live */
        size_t span = tb_rng_below(r, 5) ? (hot < *n ? hot : *n) : *n;
        if (span < 8) continue;
        size_t at = tb_rng_below(r, (uint32_t)(span - 8));
        if (kind < 5) {
            d[at] ^= (unsigned char)(1u << tb_rng_below(r, 8));
        } else if (kind < 8) {
            uint64_t v = interesting[tb_rng_below(r, sizeof interesting / sizeof interesting[0])];
            int w = 1 << tb_rng_below(r, 4); /* 1, 2, 4, 8 bytes */
            memcpy(d + at, &v, (size_t)w);
        } else {
            d[at] = (unsigned char)tb_rng_below(r, 256);
        }
    }
}

/* Uses a loaded model the way a forward pass would. */
static int exercise(tb_model *m) {
    const tb_config *c = &m->cfg;
    int bad = 0;
    int8_t *row = malloc((size_t)(c->ffn > c->hidden ? c->ffn : c->hidden));
    for (int l = 0; l < c->layers; l++)
        for (int k = 0; k < TB_LIN_COUNT; k++) {
            const tb_ternary *t = &m->layer[l].lin[k];
            for (int rr = 0; rr < t->rows; rr++) {
                tb_ternary_row(t, rr, row);
                for (int i = 0; i < t->cols; i++) bad += row[i] < -1 || row[i] > 1;
            }
            bad += !(t->scale > 0);
        }
    float *er = malloc(sizeof(float) * (size_t)c->hidden);
    tb_model_embed_row(m, 0, er);
    tb_model_embed_row(m, c->vocab - 1, er);
    free(er);
    free(row);
    return bad;
}

static void fuzz_file(const char *good_path, const char *bad_path, const char *load_path, size_t hot, uint64_t seed,
                      int iters) {
    size_t n0;
    unsigned char *good = slurp(good_path, &n0);
    TB_CHECK(good != NULL);
    if (!good) return;
    unsigned char *d = malloc(n0);
    tb_rng r;
    tb_rng_seed(&r, seed);
    int loaded = 0, failed = 0;
    for (int it = 0; it < iters; it++) {
        size_t n = n0;
        memcpy(d, good, n0);
        mutate(&r, d, &n, hot);
        spit(bad_path, d, n);
        tb_model *m = (tb_model *)1;
        tb_err e;
        e.msg[0] = 0;
        if (tb_model_load(load_path, &m, &e) == 0) {
            loaded++;
            TB_CHECK_MSG(exercise(m) == 0, "seed %llu iteration %d: loaded model has bad codes/scales",
                         (unsigned long long)seed, it);
            tb_model_free(m);
        } else {
            failed++;
            TB_CHECK_MSG(m == NULL && e.msg[0] && !strchr(e.msg, '\n'), "seed %llu iteration %d: bad failure report",
                         (unsigned long long)seed, it);
        }
    }
    printf("  %s: %d mutants, %d loaded, %d rejected (seed %llu)\n", good_path, iters, loaded, failed,
           (unsigned long long)seed);
    free(d);
    free(good);
}

static int iters(void) {
    const char *s = getenv("TB_FUZZ_ITERS");
    return s && atoi(s) > 0 ? atoi(s) : 400;
}

TB_TEST(fuzz_gguf) {
    tb_err e;
    tb_config c = small_cfg();
    c.vocab = 64;
    c.bos = 62;
    c.eos = c.eot = 63;
    const char *good = tmp_path("fz_good.gguf");
    TB_CHECK_MSG(synth_to(good, c, TB_SYNTH_GGUF, 11, NULL, &e) == 0, "%s", e.msg);
    const char *bad = tmp_path("fz_bad.gguf");
    fuzz_file(good, bad, bad, 1600 /* header + tensor infos */, 20261124, iters());
}

TB_TEST(fuzz_safetensors) {
    tb_err e;
    tb_config c = small_cfg();
    c.vocab = 64;
    c.bos = 62;
    c.eos = c.eot = 63;
    c.layers = 1;
    const char *dir = tmp_path("fz_hf");
    TB_CHECK_MSG(synth_to(dir, c, TB_SYNTH_HF, 12, NULL, &e) == 0, "%s", e.msg);
    char good[1100], bad[1100];
    snprintf(good, sizeof good, "%s/model.safetensors.good", dir);
    snprintf(bad, sizeof bad, "%s/model.safetensors", dir);
    rename(bad, good);
    fuzz_file(good, bad, dir, 2200 /* JSON header */, 20261125, iters());
}

int main(void) {
    int rc = tb_test_main();
    tmp_cleanup();
    return rc;
}
