/* test_synth.c: synthetic models round-trip through both file formats:
 * synth -> load gives exactly the generated codes and scales; the GGUF and HF
 * files of the same seed hold identical codes, scales, norms and embedding;
 * tokenizer metadata equals what bitnet.cpp's converter wrote into the golden
 * GGUF; the bf16 "online" master ternarizes as specified; bad shapes are refused. */
#include <math.h>

#include "gguf.h"
#include "model_internal.h"
#include "models_util.h"
#include "tb_test.h"

/* Every row of every linear equals the generator's codes; scales equal. */
static void check_against_generator(const tb_model *m, uint64_t seed) {
    const tb_config *c = &m->cfg;
    int32_t maxn = (c->ffn > c->hidden ? c->ffn : c->hidden);
    int8_t *want = malloc((size_t)maxn * (size_t)maxn), *row = malloc((size_t)maxn);
    for (int l = 0; l < c->layers; l++)
        for (int k = 0; k < TB_LIN_COUNT; k++) {
            const tb_ternary *t = &m->layer[l].lin[k];
            int32_t rows, cols;
            tb__lin_shape(c, k, &rows, &cols);
            TB_CHECK_EQ_INT(t->rows, rows);
            TB_CHECK_EQ_INT(t->cols, cols);
            float scale;
            tb_synth_codes(seed, tb_synth_index_lin(l, k), rows, cols, want, &scale);
            TB_CHECK(t->scale == scale);
            int bad = 0;
            for (int r = 0; r < rows; r++) {
                tb_ternary_row(t, r, row);
                bad += memcmp(row, want + (size_t)r * cols, (size_t)cols) != 0;
            }
            TB_CHECK_MSG(bad == 0, "%s: %d rows differ", t->name, bad);
        }
    free(want);
    free(row);
}

static void check_same_model(const tb_model *a, const tb_model *b) {
    const tb_config *c = &a->cfg;
    TB_CHECK_EQ_INT(a->cfg.hidden, b->cfg.hidden);
    TB_CHECK_EQ_INT(a->cfg.layers, b->cfg.layers);
    TB_CHECK_EQ_INT(a->cfg.heads, b->cfg.heads);
    TB_CHECK_EQ_INT(a->cfg.kv_heads, b->cfg.kv_heads);
    TB_CHECK_EQ_INT(a->cfg.head_dim, b->cfg.head_dim);
    TB_CHECK_EQ_INT(a->cfg.ffn, b->cfg.ffn);
    TB_CHECK_EQ_INT(a->cfg.vocab, b->cfg.vocab);
    TB_CHECK_EQ_INT(a->cfg.ctx, b->cfg.ctx);
    TB_CHECK_EQ_INT(a->cfg.bos, b->cfg.bos);
    TB_CHECK_EQ_INT(a->cfg.eos, b->cfg.eos);
    TB_CHECK(a->cfg.rope_theta == b->cfg.rope_theta);
    TB_CHECK(a->cfg.norm_eps == b->cfg.norm_eps);
    if (a->cfg.hidden != b->cfg.hidden || a->cfg.ffn != b->cfg.ffn || a->cfg.layers != b->cfg.layers ||
        a->cfg.vocab != b->cfg.vocab)
        return;
    int32_t maxn = (c->ffn > c->hidden ? c->ffn : c->hidden);
    int8_t *ra = malloc((size_t)maxn), *rb = malloc((size_t)maxn);
    for (int l = 0; l < c->layers; l++) {
        const tb_layer *A = &a->layer[l], *B = &b->layer[l];
        TB_CHECK(!memcmp(A->attn_norm, B->attn_norm, sizeof(float) * (size_t)c->hidden));
        TB_CHECK(!memcmp(A->attn_sub_norm, B->attn_sub_norm, sizeof(float) * (size_t)c->hidden));
        TB_CHECK(!memcmp(A->ffn_norm, B->ffn_norm, sizeof(float) * (size_t)c->hidden));
        TB_CHECK(!memcmp(A->ffn_sub_norm, B->ffn_sub_norm, sizeof(float) * (size_t)c->ffn));
        for (int k = 0; k < TB_LIN_COUNT; k++) {
            TB_CHECK(A->lin[k].scale == B->lin[k].scale);
            int bad = 0;
            for (int r = 0; r < A->lin[k].rows; r++) {
                tb_ternary_row(&A->lin[k], r, ra);
                tb_ternary_row(&B->lin[k], r, rb);
                bad += memcmp(ra, rb, (size_t)A->lin[k].cols) != 0;
            }
            TB_CHECK_MSG(bad == 0, "layer %d %s: %d rows differ", l, tb_lin_names[k], bad);
        }
    }
    TB_CHECK(!memcmp(a->output_norm, b->output_norm, sizeof(float) * (size_t)c->hidden));
    float *ea = malloc(sizeof(float) * (size_t)c->hidden), *eb = malloc(sizeof(float) * (size_t)c->hidden);
    int bad = 0;
    for (int t = 0; t < c->vocab; t++) {
        tb_model_embed_row(a, t, ea);
        tb_model_embed_row(b, t, eb);
        bad += memcmp(ea, eb, sizeof(float) * (size_t)c->hidden) != 0;
    }
    TB_CHECK_MSG(bad == 0, "%d embedding rows differ", bad);
    free(ra);
    free(rb);
    free(ea);
    free(eb);
}

static void roundtrip_both(tb_config cfg, uint64_t seed, const char *tag) {
    char g[64], h[64];
    snprintf(g, sizeof g, "%s.gguf", tag);
    snprintf(h, sizeof h, "%s_hf", tag);
    const char *gp = tmp_path(g), *hp = tmp_path(h);
    tb_err e;
    TB_CHECK_MSG(synth_to(gp, cfg, TB_SYNTH_GGUF, seed, NULL, &e) == 0, "%s", e.msg);
    TB_CHECK_MSG(synth_to(hp, cfg, TB_SYNTH_HF, seed, NULL, &e) == 0, "%s", e.msg);
    tb_model *mg = NULL, *mh = NULL;
    TB_CHECK_MSG(tb_model_load(gp, &mg, &e) == 0, "%s", e.msg);
    TB_CHECK_MSG(tb_model_load(hp, &mh, &e) == 0, "%s", e.msg);
    if (!mg || !mh) {
        tb_model_free(mg);
        tb_model_free(mh);
        return;
    }
    TB_CHECK(!strcmp(mg->format, "gguf-i2_s"));
    TB_CHECK(!strcmp(mh->format, "hf-packed"));
    TB_CHECK(!strcmp(mg->cfg.arch, "bitnet-b1.58"));
    TB_CHECK_EQ_INT(mg->embd_type, TB_F16);
    TB_CHECK_EQ_INT(mh->embd_type, TB_BF16);
    TB_CHECK_EQ_INT(mg->cfg.hidden, cfg.hidden);
    TB_CHECK_EQ_INT(mg->cfg.layers, cfg.layers);
    TB_CHECK_EQ_INT(mg->cfg.kv_heads, cfg.kv_heads);
    TB_CHECK_EQ_INT(mg->cfg.ffn, cfg.ffn);
    TB_CHECK_EQ_INT(mg->cfg.vocab, cfg.vocab);
    TB_CHECK(mg->cfg.rope_theta == cfg.rope_theta);
    TB_CHECK(mg->cfg.norm_eps == cfg.norm_eps);
    check_against_generator(mg, seed);
    check_against_generator(mh, seed);
    check_same_model(mg, mh);
    /* the ternary data of the GGUF stays in the mapping (no copy) */
    const tb_gguf_tensor *q = tb_gguf_find_tensor(mg->gguf, "blk.0.attn_q.weight");
    TB_CHECK(q && mg->layer[0].lin[TB_LIN_Q].data == q->data);
    tb_model_free(mg);
    tb_model_free(mh);
}

TB_TEST(tiny_preset_roundtrip_gguf_and_hf) {
    tb_config c;
    TB_CHECK_EQ_INT(tb_config_preset("tiny", &c), 0);
    roundtrip_both(c, 7, "tiny");
}

TB_TEST(custom_shape_roundtrip_gguf_and_hf) {
    roundtrip_both(small_cfg(), 12345, "small");
    tb_config c = small_cfg(); /* 3 heads, GQA 3:1, widths not powers of two that still fit both layouts */
    c.hidden = 192;
    c.heads = 3;
    c.kv_heads = 1;
    c.head_dim = 64;
    c.ffn = 320;
    c.layers = 1;
    roundtrip_both(c, 3, "odd");
}

TB_TEST(presets) {
    tb_config c;
    TB_CHECK_EQ_INT(tb_config_preset("2b4t", &c), 0);
    TB_CHECK_EQ_INT(c.hidden, 2560);
    TB_CHECK_EQ_INT(c.layers, 30);
    TB_CHECK_EQ_INT(c.heads, 20);
    TB_CHECK_EQ_INT(c.kv_heads, 5);
    TB_CHECK_EQ_INT(c.head_dim, 128);
    TB_CHECK_EQ_INT(c.ffn, 6912);
    TB_CHECK_EQ_INT(c.vocab, 128256);
    TB_CHECK_EQ_INT(c.ctx, 4096);
    TB_CHECK(c.rope_theta == 500000.0f);
    TB_CHECK(c.norm_eps == 1e-5f);
    TB_CHECK_EQ_INT(c.bos, 128000);
    TB_CHECK_EQ_INT(c.eos, 128001);
    TB_CHECK_EQ_INT(c.eot, 128009);
    /* docs/architecture.md §1: 2,084,044,800 ternary parameters */
    long long tern = 0;
    for (int k = 0; k < TB_LIN_COUNT; k++) {
        int32_t r, co;
        tb__lin_shape(&c, k, &r, &co);
        tern += (long long)r * co;
    }
    TB_CHECK_EQ_INT(tern * c.layers, 2084044800LL);
    TB_CHECK_EQ_INT((long long)c.vocab * c.hidden, 328335360LL);
    TB_CHECK_EQ_INT(tb_config_preset("tiny", &c), 0);
    TB_CHECK_EQ_INT(c.head_dim * c.heads, c.hidden);
    TB_CHECK_EQ_INT(tb_config_preset("nope", &c), -1);
}

TB_TEST(deterministic_and_seed_dependent) {
    tb_err e;
    const char *a = tmp_path("d1.gguf"), *b = tmp_path("d2.gguf"), *c = tmp_path("d3.gguf");
    TB_CHECK(synth_to(a, small_cfg(), TB_SYNTH_GGUF, 99, NULL, &e) == 0);
    TB_CHECK(synth_to(b, small_cfg(), TB_SYNTH_GGUF, 99, NULL, &e) == 0);
    TB_CHECK(synth_to(c, small_cfg(), TB_SYNTH_GGUF, 100, NULL, &e) == 0);
    size_t na, nb, nc;
    unsigned char *da = slurp(a, &na), *db = slurp(b, &nb), *dc = slurp(c, &nc);
    TB_CHECK(da && db && dc && na == nb && na == nc);
    if (da && db && dc && na == nb && na == nc) {
        TB_CHECK(!memcmp(da, db, na));
        TB_CHECK(memcmp(da, dc, na) != 0);
    }
    free(da);
    free(db);
    free(dc);
    /* per-tensor streams: a tensor's content does not depend on the model around it */
    int8_t x[128 * 128], y[128 * 128];
    float sx, sy;
    tb_synth_codes(5, tb_synth_index_lin(1, TB_LIN_UP), 128, 128, x, &sx);
    tb_synth_codes(5, tb_synth_index_lin(1, TB_LIN_UP), 128, 128, y, &sy);
    TB_CHECK(!memcmp(x, y, sizeof x) && sx == sy);
    tb_synth_codes(5, tb_synth_index_lin(1, TB_LIN_DOWN), 128, 128, y, &sy);
    TB_CHECK(memcmp(x, y, sizeof x) != 0);
}

/* The documented distributions, with tolerances of > 5 standard errors. */
TB_TEST(content_statistics) {
    tb_err e;
    tb_config c;
    tb_config_preset("tiny", &c);
    const char *p = tmp_path("stats.gguf");
    TB_CHECK(synth_to(p, c, TB_SYNTH_GGUF, 1, NULL, &e) == 0);
    tb_model *m;
    if (tb_model_load(p, &m, &e) < 0) {
        TB_CHECK_MSG(0, "%s", e.msg);
        return;
    }
    long n = 0, zeros = 0, plus = 0;
    int8_t row[1024];
    for (int l = 0; l < c.layers; l++)
        for (int k = 0; k < TB_LIN_COUNT; k++) {
            const tb_ternary *t = &m->layer[l].lin[k];
            TB_CHECK(t->scale >= 0.5f && t->scale <= 3.0f);
            for (int r = 0; r < t->rows; r++) {
                tb_ternary_row(t, r, row);
                for (int i = 0; i < t->cols; i++) {
                    n++;
                    zeros += row[i] == 0;
                    plus += row[i] == 1;
                }
            }
        }
    /* P(0) = 317/1024, P(+1) = 354/1024; n = 1.5M, se ~ 4e-4 */
    TB_CHECK_NEAR((double)zeros / n, 317.0 / 1024, 0.003);
    TB_CHECK_NEAR((double)plus / n, 354.0 / 1024, 0.003);
    for (int l = 0; l < c.layers; l++)
        for (int i = 0; i < c.ffn; i++) TB_CHECK(m->layer[l].ffn_sub_norm[i] >= 0.5f && m->layer[l].ffn_sub_norm[i] <= 1.5f);
    double s = 0, s2 = 0;
    float er[256];
    long ne = 0;
    for (int t = 0; t < c.vocab; t += 7) {
        tb_model_embed_row(m, t, er);
        for (int i = 0; i < c.hidden; i++) {
            s += er[i];
            s2 += (double)er[i] * er[i];
            ne++;
        }
    }
    /* the normal CDF at 1 and 2 sigma: 68.27% and 95.45% (bf16 rounding moves at most
     * ~0.2% across each boundary; se ~ 2e-4) */
    long in1 = 0, in2 = 0, nn = 0;
    for (int t = 3; t < c.vocab; t += 7) {
        tb_model_embed_row(m, t, er);
        for (int i = 0; i < c.hidden; i++, nn++) {
            in1 += fabsf(er[i]) < 0.08f;
            in2 += fabsf(er[i]) < 0.16f;
        }
    }
    TB_CHECK_NEAR((double)in1 / nn, 0.682689, 0.004);
    TB_CHECK_NEAR((double)in2 / nn, 0.954500, 0.004);
    double mean = s / ne, sd = sqrt(s2 / ne - mean * mean);
    TB_CHECK_NEAR(mean, 0.0, 0.001); /* se = 0.08/sqrt(4.7M) = 4e-5 */
    TB_CHECK_NEAR(sd, 0.08, 0.0008); /* bf16 rounding adds ~0.2% relative noise at most */
    tb_model_free(m);
}

/* The tokenizer metadata of a synthesized GGUF equals bitnet.cpp's (golden file). */
TB_TEST(tokenizer_metadata_matches_bitnet_cpp) {
    char tb[1024], gb[1024];
    const char *tok = data_file("llama3-tokenizer/tokenizer.json", tb, sizeof tb);
    const char *golden = data_file("golden/tiny-bitnet-i2_s.gguf", gb, sizeof gb);
    if (!tok || !golden) TB_SKIP("TERNBENCH_DATA (../shared/data) not available");
    tb_err e;
    tb_config c;
    tb_config_preset("tiny", &c);
    c.layers = 1;
    const char *p = tmp_path("tok.gguf"), *hp = tmp_path("tok_hf");
    TB_CHECK_MSG(synth_to(p, c, TB_SYNTH_GGUF, 1, tok, &e) == 0, "%s", e.msg);
    TB_CHECK_MSG(synth_to(hp, c, TB_SYNTH_HF, 1, tok, &e) == 0, "%s", e.msg);
    tb_gguf *a, *b;
    if (tb_gguf_open(p, &a, &e) < 0) {
        TB_CHECK_MSG(0, "%s", e.msg);
        return;
    }
    if (tb_gguf_open(golden, &b, &e) < 0) {
        TB_CHECK_MSG(0, "%s", e.msg);
        tb_gguf_close(a);
        return;
    }
    static const char *const arrs[] = {"tokenizer.ggml.tokens", "tokenizer.ggml.merges"};
    for (int k = 0; k < 2; k++) {
        const tb_gguf_kv *ka = tb_gguf_find(a, arrs[k]), *kb = tb_gguf_find(b, arrs[k]);
        TB_CHECK(ka && kb && ka->arr_n == kb->arr_n);
        if (!ka || !kb || ka->arr_n != kb->arr_n) continue;
        uint64_t bad = 0;
        for (uint64_t i = 0; i < ka->arr_n; i++) {
            tb_gguf_str sa, sb;
            TB_CHECK(tb_gguf_get_arr_str(a, arrs[k], i, &sa) == 0 && tb_gguf_get_arr_str(b, arrs[k], i, &sb) == 0);
            bad += sa.len != sb.len || memcmp(sa.p, sb.p, sa.len);
        }
        TB_CHECK_MSG(bad == 0, "%s: %llu entries differ", arrs[k], (unsigned long long)bad);
    }
    TB_CHECK_EQ_INT(tb_gguf_find(a, "tokenizer.ggml.tokens")->arr_n, 128256);
    TB_CHECK_EQ_INT(tb_gguf_find(a, "tokenizer.ggml.merges")->arr_n, 280147);
    uint32_t ta, tb2;
    uint64_t na, nb;
    const int32_t *va = tb_gguf_get_arr_data(a, "tokenizer.ggml.token_type", &ta, &na);
    const int32_t *vb = tb_gguf_get_arr_data(b, "tokenizer.ggml.token_type", &tb2, &nb);
    TB_CHECK(va && vb && ta == TB_GGUF_INT32 && tb2 == TB_GGUF_INT32 && na == nb);
    if (va && vb && na == nb) TB_CHECK(!memcmp(va, vb, na * 4));
    const float *sa = tb_gguf_get_arr_data(a, "tokenizer.ggml.scores", &ta, &na);
    const float *sb = tb_gguf_get_arr_data(b, "tokenizer.ggml.scores", &tb2, &nb);
    TB_CHECK(sa && sb && ta == TB_GGUF_FLOAT32 && tb2 == TB_GGUF_FLOAT32 && na == nb);
    if (sa && sb && na == nb) TB_CHECK(!memcmp(sa, sb, na * 4));
    /* the same metadata keys in the same order as bitnet.cpp, except the golden file's
     * general.name value and tokenizer.chat_template (which we do not write), then our
     * own two: ternbench.synth.version and .seed (docs/formats.md §1) */
    uint64_t ia = 0;
    for (uint64_t ib = 0; ib < b->n_kv; ib++) {
        if (b->kv[ib].key.len == 23 && !memcmp(b->kv[ib].key.p, "tokenizer.chat_template", 23)) continue;
        const tb_gguf_kv *x = &a->kv[ia < a->n_kv ? ia : 0], *y = &b->kv[ib];
        size_t skip = 10; /* "bitnet-25." vs "bitnet-b1.58." prefixes */
        int arch_key = y->key.len > skip && !memcmp(y->key.p, "bitnet-25.", skip);
        int same_key = arch_key ? x->key.len == y->key.len + 3 && !memcmp(x->key.p + 13, y->key.p + skip, y->key.len - skip)
                                : x->key.len == y->key.len && !memcmp(x->key.p, y->key.p, y->key.len);
        TB_CHECK_MSG(ia < a->n_kv && same_key && x->type == y->type, "metadata %llu: %.*s vs %.*s",
                     (unsigned long long)ib, (int)x->key.len, x->key.p, (int)y->key.len, y->key.p);
        ia++;
    }
    TB_CHECK_EQ_INT(ia + 2, a->n_kv);
    for (int k = 0; k < 2 && ia + 2 == a->n_kv; k++) {
        static const char *const own[] = {"ternbench.synth.version", "ternbench.synth.seed"};
        const tb_gguf_kv *x = &a->kv[ia + (uint64_t)k];
        TB_CHECK_MSG(x->key.len == strlen(own[k]) && !memcmp(x->key.p, own[k], x->key.len), "last keys: %.*s",
                     (int)x->key.len, x->key.p);
    }
    uint32_t version = 0;
    TB_CHECK(tb_gguf_get_u32(a, "ternbench.synth.version", &version) == 0 && version == TB_SYNTH_VERSION);
    static const char *const same[] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"};
    for (int k = 0; k < 2; k++) {
        uint32_t x = 1, y = 2;
        TB_CHECK(tb_gguf_get_u32(a, same[k], &x) == 0 && tb_gguf_get_u32(b, same[k], &y) == 0 && x == y);
    }
    tb_gguf_str s;
    TB_CHECK(tb_gguf_get_str(a, "tokenizer.ggml.model", &s) == 0 && s.len == 4 && !memcmp(s.p, "gpt2", 4));
    TB_CHECK(tb_gguf_find(a, "tokenizer.ggml.pre") == NULL);
    const tb_gguf_kv *bos = tb_gguf_find(a, "tokenizer.ggml.add_bos_token");
    TB_CHECK(bos && bos->type == TB_GGUF_BOOL && bos->value[0] == 1);
    uint32_t ft = 0;
    TB_CHECK(tb_gguf_get_u32(a, "general.file_type", &ft) == 0 && ft == 40);
    tb_gguf_close(a);
    tb_gguf_close(b);
    /* HF: tokenizer.json copied byte for byte and reported by the loader */
    tb_model *m;
    TB_CHECK_MSG(tb_model_load(hp, &m, &e) == 0, "%s", e.msg);
    if (m) {
        TB_CHECK(strstr(m->tokenizer_json, "tokenizer.json") != NULL);
        size_t n1, n2;
        unsigned char *d1 = slurp(tok, &n1), *d2 = slurp(m->tokenizer_json, &n2);
        TB_CHECK(d1 && d2 && n1 == n2 && !memcmp(d1, d2, n1));
        free(d1);
        free(d2);
        tb_model_free(m);
    }
}

TB_TEST(refuses_bad_shapes_and_leaves_nothing) {
    tb_err e;
    tb_config c = small_cfg();
    c.hidden = 24; /* q is 24 x 24 = 576 weights: not a multiple of 128 */
    c.heads = 2;
    c.kv_heads = 2;
    c.head_dim = 12;
    c.ffn = 48;
    const char *p = tmp_path("bad.gguf");
    TB_CHECK(synth_to(p, c, TB_SYNTH_GGUF, 1, NULL, &e) < 0);
    TB_CHECK_MSG(strstr(e.msg, "% 128") != NULL, "%s", e.msg);
    TB_CHECK(access(p, F_OK) != 0);
    TB_CHECK(access(tmp_path("bad.gguf.tmp"), F_OK) != 0);
    /* the same shape is fine for HF (rows % 4 == 0) ... */
    TB_CHECK_MSG(synth_to(tmp_path("ok24_hf"), c, TB_SYNTH_HF, 1, NULL, &e) == 0, "%s", e.msg);
    tb_model *m;
    TB_CHECK_MSG(tb_model_load(tmp_path("ok24_hf"), &m, &e) == 0, "%s", e.msg);
    tb_model_free(m);
    /* ... but 6 KV rows (head_dim 6) are not */
    c.hidden = 12;
    c.heads = 2;
    c.kv_heads = 1;
    c.head_dim = 6;
    c.ffn = 16;
    TB_CHECK(synth_to(tmp_path("bad_hf"), c, TB_SYNTH_HF, 1, NULL, &e) < 0);
    TB_CHECK_MSG(strstr(e.msg, "rows % 4") != NULL, "%s", e.msg);
    TB_CHECK(access(tmp_path("bad_hf"), F_OK) != 0);
    /* inconsistent heads */
    c = small_cfg();
    c.kv_heads = 3;
    TB_CHECK(synth_to(p, c, TB_SYNTH_GGUF, 1, NULL, &e) < 0);
    TB_CHECK_MSG(strstr(e.msg, "head") != NULL, "%s", e.msg);
    /* a tokenizer whose size is not the vocab, and a missing tokenizer file */
    char tb[1024];
    const char *tok = data_file("llama3-tokenizer/tokenizer.json", tb, sizeof tb);
    if (tok) {
        TB_CHECK(synth_to(p, small_cfg(), TB_SYNTH_GGUF, 1, tok, &e) < 0);
        TB_CHECK_MSG(strstr(e.msg, "--no-tokenizer") != NULL, "%s", e.msg);
        TB_CHECK(access(p, F_OK) != 0);
    }
    TB_CHECK(synth_to(p, small_cfg(), TB_SYNTH_GGUF, 1, "/nonexistent/tokenizer.json", &e) < 0);
    TB_CHECK_MSG(strstr(e.msg, "/nonexistent/tokenizer.json") != NULL, "%s", e.msg);
    TB_CHECK(access(p, F_OK) != 0);
}

/* Absmean ternarization: scale = mean|W|, code = clamp(rne(W/scale), -1, 1). */
TB_TEST(online_ternarization_rule) {
    /* mean|W| = 16/8 = 2: 1/2 = 0.5 -> 0 (half to even, not away), 7/2 = 3.5 -> clamp 1 */
    const float w[8] = {1, 7, 0, 0, -1, -7, 0, 0};
    uint16_t wb[8];
    for (int i = 0; i < 8; i++) wb[i] = tb_f32_to_bf16(w[i]);
    int8_t codes[8];
    float s = tb__ternarize_bf16(wb, 2, 4, codes);
    TB_CHECK(s == 2.0f);
    const int8_t want[8] = {0, 1, 0, 0, 0, -1, 0, 0};
    TB_CHECK(!memcmp(codes, want, 8));
    /* 1.5 -> 2 -> 1 and -2.5 -> -2 -> -1: mean|W| = (3+5+0+0)/4 = 2 */
    const float w2[4] = {3, -5, 0, 0};
    for (int i = 0; i < 4; i++) wb[i] = tb_f32_to_bf16(w2[i]);
    s = tb__ternarize_bf16(wb, 1, 4, codes);
    TB_CHECK(s == 2.0f && codes[0] == 1 && codes[1] == -1 && codes[2] == 0);
    /* all zero: the scale is clamped to 1e-5 */
    memset(wb, 0, sizeof wb);
    s = tb__ternarize_bf16(wb, 2, 4, codes);
    TB_CHECK(s == 1e-5f);
}

/* An HF bf16 master checkpoint (W = code * scale in bf16) loads as "hf-bf16-online"
 * with the same codes and scale = scale * (fraction of nonzero codes). */
TB_TEST(online_master_loads) {
    tb_err e;
    tb_config c = small_cfg();
    c.layers = 1;
    const char *src = tmp_path("online_src_hf");
    TB_CHECK(synth_to(src, c, TB_SYNTH_HF, 4, NULL, &e) == 0);
    tb_model *ref;
    if (tb_model_load(src, &ref, &e) < 0) {
        TB_CHECK_MSG(0, "%s", e.msg);
        return;
    }
    const char *dir = tmp_path("online_hf");
    mkdir(dir, 0777);
    /* config: the packed one with quantization_mode online */
    char cp[1100];
    snprintf(cp, sizeof cp, "%s/config.json", src);
    size_t n;
    char *cfg = (char *)slurp(cp, &n);
    char *q = cfg ? strstr(cfg, "\"offline\"") : NULL;
    TB_CHECK(q != NULL);
    if (!q) { free(cfg); tb_model_free(ref); return; }
    char out[4096];
    snprintf(out, sizeof out, "%.*s\"online\"%s", (int)(q - cfg), cfg, q + 9);
    snprintf(cp, sizeof cp, "%s/config.json", dir);
    TB_CHECK(spit(cp, out, strlen(out)) == 0);
    free(cfg);

    st_entry ent[64];
    int ne = 0;
    char names[64][96];
    void *bufs[64];
    int nb = 0;
    uint16_t *emb = malloc(sizeof(uint16_t) * (size_t)c.vocab * c.hidden);
    float row[512];
    for (int t = 0; t < c.vocab; t++) {
        tb_model_embed_row(ref, t, row);
        for (int i = 0; i < c.hidden; i++) emb[(size_t)t * c.hidden + i] = tb_f32_to_bf16(row[i]);
    }
    bufs[nb++] = emb;
    ent[ne++] = (st_entry){"model.embed_tokens.weight", "BF16", 2, {c.vocab, c.hidden}, emb, sizeof(uint16_t) * (size_t)c.vocab * c.hidden};
    const float *norms[5] = {ref->output_norm, ref->layer[0].attn_norm, ref->layer[0].attn_sub_norm, ref->layer[0].ffn_norm,
                             ref->layer[0].ffn_sub_norm};
    const char *nn[5] = {"model.norm.weight", "model.layers.0.input_layernorm.weight",
                         "model.layers.0.self_attn.attn_sub_norm.weight", "model.layers.0.post_attention_layernorm.weight",
                         "model.layers.0.mlp.ffn_sub_norm.weight"};
    for (int k = 0; k < 5; k++) {
        int len = k == 4 ? c.ffn : c.hidden;
        uint16_t *v = malloc(sizeof(uint16_t) * (size_t)len);
        for (int i = 0; i < len; i++) v[i] = tb_f32_to_bf16(norms[k][i]);
        bufs[nb++] = v;
        ent[ne++] = (st_entry){nn[k], "BF16", 1, {len, 0}, v, sizeof(uint16_t) * (size_t)len};
    }
    static const char *const hl[TB_LIN_COUNT] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                                 "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};
    double frac[TB_LIN_COUNT];
    for (int k = 0; k < TB_LIN_COUNT; k++) {
        const tb_ternary *t = &ref->layer[0].lin[k];
        uint16_t *v = malloc(sizeof(uint16_t) * (size_t)t->rows * t->cols);
        int8_t *r8 = malloc((size_t)t->cols);
        long nz = 0;
        for (int r = 0; r < t->rows; r++) {
            tb_ternary_row(t, r, r8);
            for (int i = 0; i < t->cols; i++) {
                v[(size_t)r * t->cols + i] = tb_f32_to_bf16((float)r8[i] * t->scale); /* scale is bf16-exact */
                nz += r8[i] != 0;
            }
        }
        frac[k] = (double)nz / ((double)t->rows * t->cols);
        free(r8);
        bufs[nb++] = v;
        snprintf(names[k], sizeof names[k], "model.layers.0.%s.weight", hl[k]);
        ent[ne++] = (st_entry){names[k], "BF16", 2, {t->rows, t->cols}, v, sizeof(uint16_t) * (size_t)t->rows * t->cols};
    }
    char sp[1100];
    snprintf(sp, sizeof sp, "%s/model.safetensors", dir);
    TB_CHECK(st_write(sp, ent, ne) == 0);
    for (int i = 0; i < nb; i++) free(bufs[i]);

    tb_model *m;
    TB_CHECK_MSG(tb_model_load(dir, &m, &e) == 0, "%s", e.msg);
    if (m) {
        TB_CHECK(!strcmp(m->format, "hf-bf16-online"));
        TB_CHECK_EQ_INT(m->layer[0].lin[0].layout, TB_TERN_CODES);
        int8_t ra[512], rb[512];
        for (int k = 0; k < TB_LIN_COUNT; k++) {
            const tb_ternary *a = &m->layer[0].lin[k], *b = &ref->layer[0].lin[k];
            /* mean|W| = scale * frac, rounded once to float */
            TB_CHECK_NEAR(a->scale, b->scale * frac[k], 1e-6 * b->scale);
            int bad = 0;
            for (int r = 0; r < a->rows; r++) {
                tb_ternary_row(a, r, ra);
                tb_ternary_row(b, r, rb);
                bad += memcmp(ra, rb, (size_t)a->cols) != 0;
            }
            TB_CHECK_MSG(bad == 0, "%s: %d rows differ", a->name, bad);
        }
        TB_CHECK(!memcmp(m->layer[0].ffn_sub_norm, ref->layer[0].ffn_sub_norm, sizeof(float) * (size_t)c.ffn));
        tb_model_free(m);
    }
    tb_model_free(ref);
}

int main(void) {
    int rc = tb_test_main();
    tmp_cleanup();
    return rc;
}
